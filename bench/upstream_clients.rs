//! Encrypted upstream clients side by side (bench/upstream-clients.sh): altroot's
//! own DoT, DoH and DoQ clients (src/resolver/encrypted/) against hickory-net
//! 0.26's (DoT: `tls_client_connect` + `DnsMultiplexer`, which keeps SNI; DoH:
//! `HttpsClientStream`; DoQ: `QuicClientStream`), each over one connection to the
//! same upstream, asked distinct names (never cached anywhere) by `IN_FLIGHT`
//! (64) questions in flight for `SECS` seconds each, in two halves (ours, hickory's,
//! hickory's, ours). Prints one Markdown row per transport:
//! answers per CPU-second of this process (the client's cost; the upstream runs
//! in its own process) and answers per second.
//!
//!   upstream-clients DOT_ADDR DOH_ADDR DOQ_ADDR CA_PEM NAME SECS   (ONLY=DoT|DoH|DoQ: one row)
//!
//! `load` mode is a load generator for a listener (bench/encrypted.sh's DoQ row,
//! which no Debian tool can ask): altroot's own DoT or DoQ client over CONNS
//! connections, `IN_FLIGHT` questions in flight, the names of NAMES_FILE ("name
//! type" lines, A asked) round and round; prints "answers seconds".
//!
//!   upstream-clients load dot|doq ADDR CA_PEM NAME SECS NAMES_FILE CONNS

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use altroot::config::{CaFile, Transport, Upstream};
use altroot::resolver::encrypted::{Via, forwarders};
use hickory_net::proto::op::{DnsRequest, DnsRequestOptions, Message, Query};
use hickory_net::proto::rr::{Name, RecordType};
use hickory_net::runtime::TokioRuntimeProvider;
use hickory_net::xfer::{DnsExchange, DnsHandle, FirstAnswer};

/// Questions in flight: `IN_FLIGHT` from the environment, else 64.
fn workers() -> usize {
    std::env::var("IN_FLIGHT")
        .ok()
        .and_then(|v| v.parse().ok())
        .filter(|&n| n > 0)
        .unwrap_or(64)
}

fn cpu_seconds() -> f64 {
    // SAFETY: getrusage writes into the struct we pass and has no other effect.
    let mut u: libc::rusage = unsafe { std::mem::zeroed() };
    unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut u) };
    let t = |v: libc::timeval| v.tv_sec as f64 + v.tv_usec as f64 / 1e6;
    t(u.ru_utime) + t(u.ru_stime)
}

/// Loopback's UDP datagrams and TCP segments so far, both directions, whoever
/// sent them (/proc/net/snmp): with the upstream the only other talker, their
/// growth per answer is what one answer costs on the wire.
fn packets() -> u64 {
    let snmp = std::fs::read_to_string("/proc/net/snmp").unwrap_or_default();
    let mut lines = snmp.lines();
    let mut total = 0;
    while let (Some(head), Some(vals)) = (lines.next(), lines.next()) {
        let (Some(("Udp" | "Tcp", head)), Some((_, vals))) =
            (head.split_once(": "), vals.split_once(": "))
        else {
            continue;
        };
        for (k, v) in head.split(' ').zip(vals.split(' ')) {
            if matches!(k, "InDatagrams" | "OutDatagrams" | "InSegs" | "OutSegs") {
                total += v.parse::<u64>().unwrap_or(0);
            }
        }
    }
    total
}

type Ask = Arc<dyn Fn(Query) -> futures::future::BoxFuture<'static, bool> + Send + Sync>;

/// Runs `ask` from `workers()` tasks for `secs`: (answers, CPU seconds, wall seconds).
async fn measure(ask: Ask, secs: u64, tag: &'static str) -> (f64, f64, f64) {
    // Warm up: the connection is opened before the clock starts.
    let warm = tokio::time::timeout(Duration::from_secs(10), ask(question(tag, u64::MAX))).await;
    if !matches!(warm, Ok(true)) {
        eprintln!("{tag}: the first question got no answer ({warm:?})");
    }
    let stop = Arc::new(AtomicBool::new(false));
    let done = Arc::new(AtomicU64::new(0));
    let failed = Arc::new(AtomicU64::new(0));
    let seq = Arc::new(AtomicU64::new(0));
    let (cpu0, t0, p0) = (cpu_seconds(), Instant::now(), packets());
    let mut tasks = Vec::new();
    for _ in 0..workers() {
        let (ask, stop, done, failed, seq) = (
            ask.clone(),
            stop.clone(),
            done.clone(),
            failed.clone(),
            seq.clone(),
        );
        tasks.push(tokio::spawn(async move {
            while !stop.load(Ordering::Relaxed) {
                let n = seq.fetch_add(1, Ordering::Relaxed);
                if ask(question(tag, n)).await {
                    done.fetch_add(1, Ordering::Relaxed);
                } else {
                    failed.fetch_add(1, Ordering::Relaxed);
                }
            }
        }));
    }
    tokio::time::sleep(Duration::from_secs(secs)).await;
    stop.store(true, Ordering::Relaxed);
    for t in tasks {
        let _ = t.await;
    }
    let (cpu, wall) = (cpu_seconds() - cpu0, t0.elapsed().as_secs_f64());
    let n = done.load(Ordering::Relaxed) as f64;
    eprintln!(
        "{tag}: {:.2} packets (UDP datagrams + TCP segments, both ways) per answer",
        (packets() - p0) as f64 / n.max(1.0)
    );
    let f = failed.load(Ordering::Relaxed);
    if f > 0 {
        eprintln!("{tag}: {f} questions failed");
    }
    (n, cpu, wall)
}

/// The names of `load` mode (cached at the server): asked round and round.
static CACHED: std::sync::OnceLock<Vec<Query>> = std::sync::OnceLock::new();

fn question(tag: &str, n: u64) -> Query {
    if let Some(qs) = CACHED.get().filter(|qs| !qs.is_empty()) {
        return qs[(n % qs.len() as u64) as usize].clone();
    }
    let name = Name::from_ascii(format!("q{n}.{tag}.cold.example.")).expect("a name");
    Query::query(name, RecordType::A)
}

fn ours(up: &Upstream, ca: &CaFile) -> Ask {
    let mut f = forwarders(std::slice::from_ref(up), Some(ca)).expect("our client");
    let fw = Arc::new(f.remove(0));
    Arc::new(move |q: Query| {
        let fw = fw.clone();
        Box::pin(async move {
            let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
            let r = match &fw.via {
                Via::Tls(c) => c.query(&q, true, deadline).await,
                Via::Https(c) => c.query(&q, true, deadline).await,
                Via::Quic(c) => c.query(&q, true, deadline).await,
                Via::Plain => return false,
            };
            match r {
                Ok(r) => !r.message.answers.is_empty(),
                Err(e) => {
                    static SHOWN: AtomicBool = AtomicBool::new(false);
                    if !SHOWN.swap(true, Ordering::Relaxed) {
                        eprintln!("altroot's client: {e}");
                    }
                    false
                }
            }
        })
    })
}

fn hickory_ask(x: DnsExchange<TokioRuntimeProvider>) -> Ask {
    Arc::new(move |q: Query| {
        let x = x.clone();
        Box::pin(async move {
            let mut m = Message::query();
            m.metadata.recursion_desired = true;
            m.add_query(q);
            let r = x
                .send(DnsRequest::new(m, DnsRequestOptions::default()))
                .first_answer()
                .await;
            match r {
                Ok(r) => !r.answers.is_empty(),
                Err(e) => {
                    static SHOWN: AtomicBool = AtomicBool::new(false);
                    if !SHOWN.swap(true, Ordering::Relaxed) {
                        eprintln!("hickory-net's client: {e}");
                    }
                    // (a failure that comes at once must not spin the workers)
                    tokio::task::yield_now().await;
                    false
                }
            }
        })
    })
}

async fn hickory(up: &Upstream, tls: Arc<rustls::ClientConfig>) -> Ask {
    let p = TokioRuntimeProvider::default();
    match &up.transport {
        Transport::Tls { name } => {
            let mut c = (*tls).clone();
            c.alpn_protocols = vec![b"dot".to_vec()];
            let sni = rustls::pki_types::ServerName::try_from(name.clone()).expect("a name");
            let (stream, handle) =
                hickory_net::tls::tls_client_connect(up.addr, sni, Arc::new(c), p.clone());
            let stream = stream.await.expect("hickory DoT connects");
            // hickory's default is 32 in flight; as many as our workers.
            let mux = hickory_net::DnsMultiplexer::new(stream, handle)
                .with_max_active_requests(workers() * 2);
            let (x, bg) = DnsExchange::<TokioRuntimeProvider>::from_stream(mux);
            tokio::spawn(bg);
            hickory_ask(x)
        }
        Transport::Https { name, path } => {
            // (not `.exchange()`: it hands the connection's task to a handle that it
            // then drops, which aborts the task: every question "receiver was canceled")
            let s = hickory_net::h2::HttpsClientStream::builder(tls, p)
                .build(up.addr, Arc::from(name.as_str()), Arc::from(path.as_str()))
                .await
                .expect("hickory DoH connects");
            let (x, bg) = DnsExchange::<TokioRuntimeProvider>::from_stream(s);
            tokio::spawn(bg);
            hickory_ask(x)
        }
        Transport::Quic { name } => {
            let s = hickory_net::quic::QuicClientStream::builder()
                .crypto_config((*tls).clone())
                .build(up.addr, Arc::from(name.as_str()))
                .await
                .expect("hickory DoQ connects");
            let (x, bg) = DnsExchange::<TokioRuntimeProvider>::from_stream(s);
            tokio::spawn(bg);
            hickory_ask(x)
        }
        Transport::Plain => unreachable!("encrypted upstreams only"),
    }
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let a: Vec<String> = std::env::args().collect();
    if a.get(1).map(String::as_str) == Some("load") {
        return load(&a[2..]).await;
    }
    let [_, dot, doh, doq, ca, name, secs] = &a[..] else {
        eprintln!("usage: upstream-clients DOT_ADDR DOH_ADDR DOQ_ADDR CA_PEM NAME SECS");
        std::process::exit(2);
    };
    let secs: u64 = secs.parse().expect("SECS");
    let ca = CaFile {
        path: ca.into(),
        line: 0,
    };
    let tls = {
        let roots = altroot::tls::load_ca(&ca.path).expect("CA");
        let c = rustls::ClientConfig::builder_with_provider(altroot::tls::provider())
            .with_safe_default_protocol_versions()
            .expect("TLS")
            .with_root_certificates(roots)
            .with_no_client_auth();
        Arc::new(c)
    };
    let addr = |s: &str| s.parse::<SocketAddr>().expect("an address");
    let ups = [
        (
            "DoT",
            Upstream {
                addr: addr(dot),
                transport: Transport::Tls { name: name.clone() },
            },
        ),
        (
            "DoH",
            Upstream {
                addr: addr(doh),
                transport: Transport::Https {
                    name: name.clone(),
                    path: "/dns-query".into(),
                },
            },
        ),
        (
            "DoQ",
            Upstream {
                addr: addr(doq),
                transport: Transport::Quic { name: name.clone() },
            },
        ),
    ];
    println!(
        "| upstream | altroot's client answers/CPU-s | hickory-net's answers/CPU-s | ours / hickory | answers/s ours / hickory |"
    );
    println!("|---|---|---|---|---|");
    let only = std::env::var("ONLY").unwrap_or_default();
    for (label, up) in ups.iter().filter(|(l, _)| only.is_empty() || only == *l) {
        // Ours, hickory's, hickory's, ours (half the time each): a load from
        // elsewhere on the machine that grows or shrinks during the row weighs on
        // both alike.
        let (o, h) = (ours(up, &ca), hickory(up, tls.clone()).await);
        let mut sum = [(0.0, 0.0, 0.0); 2];
        for (i, turn) in [0, 1, 1, 0].into_iter().enumerate() {
            let ask = if turn == 0 { o.clone() } else { h.clone() };
            let kind = ["o", "h"][turn];
            let tag: &'static str =
                Box::leak(format!("{kind}{}{i}", label.to_lowercase()).into_boxed_str());
            let (n, cpu, wall) = measure(ask, secs.div_ceil(2), tag).await;
            sum[turn].0 += n;
            sum[turn].1 += cpu;
            sum[turn].2 += wall;
        }
        let [(on, ocpu, owall), (hn, hcpu, hwall)] = sum;
        let (oc, oq, hc, hq) = (on / ocpu, on / owall, hn / hcpu, hn / hwall);
        println!(
            "| {label} | {oc:.0} | {hc:.0} | {:.2} | {oq:.0} / {hq:.0} |",
            oc / hc
        );
    }
}

/// `load MODE ADDR CA_PEM NAME SECS NAMES_FILE CONNS`: see the top of the file.
async fn load(a: &[String]) {
    let [mode, addr, ca, name, secs, names, conns] = a else {
        eprintln!("usage: upstream-clients load dot|doq ADDR CA_PEM NAME SECS NAMES_FILE CONNS");
        std::process::exit(2);
    };
    let qs: Vec<Query> = std::fs::read_to_string(names)
        .expect("NAMES_FILE")
        .lines()
        .filter_map(|l| l.split_whitespace().next())
        .map(|n| {
            let mut n = Name::from_ascii(n).expect("a name");
            n.set_fqdn(true);
            Query::query(n, RecordType::A)
        })
        .collect();
    CACHED.set(qs).expect("set once");
    let transport = match mode.as_str() {
        "dot" => Transport::Tls { name: name.clone() },
        "doq" => Transport::Quic { name: name.clone() },
        _ => panic!("load mode: dot or doq"),
    };
    let up = Upstream {
        addr: addr.parse().expect("ADDR"),
        transport,
    };
    let ca = CaFile {
        path: ca.into(),
        line: 0,
    };
    let conns: usize = conns.parse().expect("CONNS");
    let asks: Vec<Ask> = (0..conns.max(1)).map(|_| ours(&up, &ca)).collect();
    let turn = Arc::new(AtomicU64::new(0));
    let ask: Ask = Arc::new(move |q: Query| {
        let i = turn.fetch_add(1, Ordering::Relaxed) as usize % asks.len();
        asks[i](q)
    });
    // Open every connection before the clock starts.
    for _ in 0..conns {
        let _ = tokio::time::timeout(Duration::from_secs(10), ask(question("", 0))).await;
    }
    let (n, _cpu, wall) = measure(ask, secs.parse().expect("SECS"), "load").await;
    println!("{n:.0} {wall:.3}");
}
