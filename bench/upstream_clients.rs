//! Encrypted upstream clients side by side (bench/upstream-clients.sh): altroot's
//! own DoT, DoH and DoQ clients (src/resolver/encrypted/) against hickory-net
//! 0.26's (DoT: `tls_client_connect` + `DnsMultiplexer`, which keeps SNI; DoH:
//! `HttpsClientStream`; DoQ: `QuicClientStream`), each over one connection to the
//! same upstream, asked distinct names (never cached anywhere) by `WORKERS`
//! questions in flight for `SECS` seconds. Prints one Markdown row per transport:
//! answers per CPU-second of this process (the client's cost; the upstream runs
//! in its own process) and answers per second.
//!
//!   upstream-clients DOT_ADDR DOH_ADDR DOQ_ADDR CA_PEM NAME SECS   (ONLY=DoT|DoH|DoQ: one row)

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

const WORKERS: usize = 64;

fn cpu_seconds() -> f64 {
    // SAFETY: getrusage writes into the struct we pass and has no other effect.
    let mut u: libc::rusage = unsafe { std::mem::zeroed() };
    unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut u) };
    let t = |v: libc::timeval| v.tv_sec as f64 + v.tv_usec as f64 / 1e6;
    t(u.ru_utime) + t(u.ru_stime)
}

type Ask = Arc<dyn Fn(Query) -> futures::future::BoxFuture<'static, bool> + Send + Sync>;

/// Runs `ask` from WORKERS tasks for `secs`; (answers per CPU-second, answers per second).
async fn measure(ask: Ask, secs: u64, tag: &'static str) -> (f64, f64) {
    // Warm up: the connection is opened before the clock starts.
    let warm = tokio::time::timeout(Duration::from_secs(10), ask(question(tag, u64::MAX))).await;
    if !matches!(warm, Ok(true)) {
        eprintln!("{tag}: the first question got no answer ({warm:?})");
    }
    let stop = Arc::new(AtomicBool::new(false));
    let done = Arc::new(AtomicU64::new(0));
    let failed = Arc::new(AtomicU64::new(0));
    let seq = Arc::new(AtomicU64::new(0));
    let (cpu0, t0) = (cpu_seconds(), Instant::now());
    let mut tasks = Vec::new();
    for _ in 0..WORKERS {
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
    let f = failed.load(Ordering::Relaxed);
    if f > 0 {
        eprintln!("{tag}: {f} questions failed");
    }
    (n / cpu, n / wall)
}

fn question(tag: &str, n: u64) -> Query {
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
                .with_max_active_requests(WORKERS * 2);
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
        let tag: &'static str = Box::leak(format!("o{}", label.to_lowercase()).into_boxed_str());
        let (oc, oq) = measure(ours(up, &ca), secs, tag).await;
        let tag: &'static str = Box::leak(format!("h{}", label.to_lowercase()).into_boxed_str());
        let (hc, hq) = measure(hickory(up, tls.clone()).await, secs, tag).await;
        println!(
            "| {label} | {oc:.0} | {hc:.0} | {:.2} | {oq:.0} / {hq:.0} |",
            oc / hc
        );
    }
}
