//! Bounded concurrency (issue 7 §3): a cap on resolutions at once (past it SERVFAIL
//! at once), a cap per client, bounded TCP connections and idle time, resolutions
//! cancelled when nobody waits, and the flood: while 10,000 distinct uncached names
//! go to a silent upstream, another client keeps getting local and cached answers
//! fast, memory stays bounded, and afterwards everything answers normally.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use hickory_proto::op::{Message, ResponseCode};
use hickory_proto::rr::RecordType;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpStream, UdpSocket};

use crate::harness::*;
use crate::world::{Behaviour, Spec, World};
use crate::worlds::*;

const SILENT: u8 = 40;
const SILENT2: u8 = 41;
const SLOW: u8 = 42;

/// `silent.com` served by a silent server (every name under it a cache miss that
/// waits), `two.com` by two silent servers, `slow.com` by a server that answers
/// after 600 ms, and good.net.
fn world(b: [u8; 3]) -> Vec<Spec> {
    let com = format!(
        "silent NS ns1.silent\nns1.silent A {s}\ntwo NS ns1.two\nns1.two A {s}\ntwo NS ns2.two\nns2.two A {s2}\nslow NS ns1.slow\nns1.slow A {slow}",
        s = ip(b, SILENT),
        s2 = ip(b, SILENT2),
        slow = ip(b, SLOW)
    );
    let mut v = base(b, &com, "");
    v.push(good_spec(b, &[]));
    v.push(leaf(
        "silent",
        ip(b, SILENT),
        &[("silent.com.", "* A 203.0.113.40")],
        Behaviour::Silent,
    ));
    v.push(leaf(
        "silent2",
        ip(b, SILENT2),
        &[("two.com.", "www A 203.0.113.41")],
        Behaviour::Silent,
    ));
    v.push(leaf(
        "slow",
        ip(b, SLOW),
        &[("slow.com.", "www A 203.0.113.42")],
        Behaviour::Slow(600),
    ));
    v
}

/// An alt zones root with a small local zone, then the world's root.
fn config(w: &World, extra: &str) -> String {
    format!(
        "[server]
listen = [\"127.0.0.1:0\"]
query-timeout = \"3s\"
{extra}
[[root]]
name = \"alt\"
zones = \"zones\"

{}",
        icann_root(w)
    )
}

/// The world and an altroot on [`config`]: `extra` ends `[server]` or starts a table
/// of its own (`[limits]\n...`).
async fn start_with(extra: &str) -> (World, Altroot) {
    let w = World::start(world).await;
    let files = vec![
        (
            "zones/geek.zone",
            "$TTL 300\n@ SOA ns.geek. h.geek. 1 1 1 1 60\n@ NS ns.geek.\nns A 192.0.2.53\nwww A 192.0.2.1\n".to_string(),
        ),
        ("hints.txt", hints(&w)),
    ];
    let a = Altroot::start(&config(&w, extra), &files).await;
    (w, a)
}

/// The resident set size of this process (the altroot under test runs in it).
/// Fails when it cannot be read: 0 before and after would pass any bound.
fn query_bytes(name: &str, qtype: RecordType) -> Vec<u8> {
    make_query(name, qtype, Some(1232)).to_vec().unwrap()
}

/// Sends `names` from `local` without waiting for answers, 100 every 20 ms (5,000
/// a second: far past every per-client bound, yet not so fast that the kernel drops
/// datagrams before altroot sees them — that would test the socket buffer, not
/// altroot); counts replies and how many were SERVFAIL with a `busy:` Extended DNS
/// Error, until none came for `wait`.
async fn blast(
    local: &str,
    server: SocketAddr,
    names: Vec<String>,
    wait: Duration,
) -> (usize, usize) {
    let sock = Arc::new(UdpSocket::bind(local).await.unwrap());
    sock.connect(server).await.unwrap();
    let replies = Arc::new(AtomicUsize::new(0));
    let busy = Arc::new(AtomicUsize::new(0));
    let (s, r, b) = (sock.clone(), replies.clone(), busy.clone());
    let reader = tokio::spawn(async move {
        let mut buf = vec![0u8; 4096];
        while let Ok(Ok(n)) = tokio::time::timeout(wait, s.recv(&mut buf)).await {
            r.fetch_add(1, Ordering::Relaxed);
            if let Ok(m) = Message::from_vec(&buf[..n])
                && ede(&m).is_some_and(|(_, t)| t.starts_with("busy:"))
            {
                b.fetch_add(1, Ordering::Relaxed);
            }
        }
    });
    for (i, n) in names.iter().enumerate() {
        let _ = sock.send(&query_bytes(n, RecordType::A)).await;
        if i % 100 == 99 {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
    let _ = reader.await;
    (
        replies.load(Ordering::Relaxed),
        busy.load(Ordering::Relaxed),
    )
}

// The flood: 10,000 distinct names under a silent server from one client. At most
// `max-per-client` (200) resolutions run; the rest are answered SERVFAIL "busy".
// Meanwhile another client's local and cached questions are all answered, and
// afterwards a new question resolves normally. (How fast, and how much memory it
// takes, is measured by bench/flood.sh: times and sizes depend on the machine.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn flood_of_uncached_names_does_not_starve_other_clients() {
    let (w, a) = start_with("").await;
    let cached = a.query("www.good.net.", RecordType::A).await;
    assert_eq!(cached.metadata.response_code, ResponseCode::NoError);

    let server = a.addr;
    let names: Vec<String> = (0..10_000).map(|i| format!("f{i}.silent.com.")).collect();
    let flood = tokio::spawn(blast("127.0.0.2:0", server, names, Duration::from_secs(1)));

    // The other client, on another address: local and cached answers during the flood.
    let good_local: SocketAddr = "127.0.0.3:0".parse().unwrap();
    let mut peak_flights = 0;
    let mut asked = 0;
    // Bounded by the flood (its sender and reader end) and by a count.
    while !flood.is_finished() && asked < 100_000 {
        for (name, want) in [("www.geek.", "192.0.2.1"), ("www.good.net.", "203.0.113.2")] {
            let m = send_udp_from(
                good_local,
                server,
                &make_query(name, RecordType::A, Some(1232)),
            )
            .await
            .expect("answered");
            assert_eq!(addrs(&m), vec![want.parse::<std::net::IpAddr>().unwrap()]);
            asked += 1;
        }
        peak_flights = peak_flights.max(a.router().in_flight());
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let (replies, busy) = flood.await.unwrap();
    assert!(asked >= 10, "the good client asked {asked} times");
    assert!(peak_flights <= 200, "{peak_flights} resolutions at once");
    assert!(busy > 0, "the cap was never reached: {replies} replies");
    // Each resolution asks the lone silent server once and gives up: never more
    // questions than resolutions that were let run.
    assert!(
        asked_silent(&w) <= 10_000 - busy,
        "the silent server got {} questions, {busy} of 10,000 were busy",
        asked_silent(&w)
    );

    // After the flood everything answers normally.
    let deadline = Instant::now() + Duration::from_secs(5);
    while a.router().in_flight() > 0 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(a.router().in_flight(), 0);
    let m = a.query("www.good.net.", RecordType::AAAA).await;
    assert_eq!(
        m.metadata.response_code,
        ResponseCode::NoError,
        "{:?}",
        ede(&m)
    );
}

fn asked_silent(w: &World) -> usize {
    w.server("silent").seen().len()
}

// max-resolutions: past it, a new question gets SERVFAIL at once (EDE "busy"),
// never a queue; exactly that many reach the network.
#[tokio::test]
async fn max_resolutions_answers_servfail_at_once() {
    let (w, a) = start_with("[limits]\nmax-resolutions = 5\n").await;
    let t = Instant::now();
    let names: Vec<String> = (0..20).map(|i| format!("m{i}.silent.com.")).collect();
    let (replies, busy) = blast("127.0.0.1:0", a.addr, names, Duration::from_millis(300)).await;
    assert_eq!(busy, 15, "{replies} replies within 300 ms, {busy} busy");
    assert!(t.elapsed() < Duration::from_secs(1));
    // The five that run reach the silent server (after finding its delegation),
    // each once: waited for (at most 2 s, within the 3 s query-timeout), then exact.
    let deadline = Instant::now() + Duration::from_secs(2);
    while asked_silent(&w) < 5 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(asked_silent(&w), 5, "{:?}", asked(&w, "silent"));
    let m = send_udp(
        a.addr,
        &make_query("n.silent.com.", RecordType::A, Some(1232)),
    )
    .await;
    let (_, text) = ede(&m).unwrap();
    assert!(text.starts_with("busy: max-resolutions = 5"), "{text}");
    assert_eq!(asked_silent(&w), 5, "{:?}", asked(&w, "silent"));
}

// max-per-client: one client's questions in flight are capped; another client is
// not affected.
#[tokio::test]
async fn max_per_client_caps_one_address_only() {
    let (_w, a) = start_with("[limits]\nmax-per-client = 3\n").await;
    let names: Vec<String> = (0..10).map(|i| format!("p{i}.silent.com.")).collect();
    let (_, busy) = blast("127.0.0.4:0", a.addr, names, Duration::from_millis(300)).await;
    assert_eq!(busy, 7);
    let m = send_udp_from(
        "127.0.0.5:0".parse().unwrap(),
        a.addr,
        &make_query("www.good.net.", RecordType::A, Some(1232)),
    )
    .await
    .unwrap();
    assert_eq!(
        addrs(&m),
        vec!["203.0.113.2".parse::<std::net::IpAddr>().unwrap()]
    );
}

// A resolution nobody waits for any more is dropped: its next try (the second
// silent server, after the first try's time limit) never happens. The control: a
// resolution of another name of the same zone, started once the first one's try
// is out and still waited for, makes its second try; once it has, the dropped
// one's would have been made too.
#[tokio::test]
async fn a_resolution_nobody_waits_for_is_cancelled() {
    let (w, a) = start_with("").await;
    a.query("www.good.net.", RecordType::A).await; // primed, com known
    let asked_for = |n: &str| {
        ["silent", "silent2"]
            .iter()
            .flat_map(|s| w.server(s).seen())
            .filter(|q| q.name.to_string().eq_ignore_ascii_case(n))
            .count()
    };
    let r = a.router().clone();
    let dropped = tokio::spawn(async move {
        let (n, wait) = (name("www.two.com."), Duration::from_millis(300));
        tokio::time::timeout(wait, r.answer(&n, RecordType::A))
            .await
            .is_err()
    });
    let t = Instant::now();
    while asked_for("www.two.com.") == 0 {
        assert!(
            t.elapsed() < Duration::from_secs(5),
            "the first try never went out"
        );
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    let r2 = a.router().clone();
    let control =
        tokio::spawn(async move { r2.answer(&name("ctl.two.com."), RecordType::A).await });
    assert!(dropped.await.unwrap(), "the client gave up");
    while asked_for("ctl.two.com.") < 2 {
        assert!(
            t.elapsed() < Duration::from_secs(5),
            "the control never made its second try"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(asked_for("www.two.com."), 1, "only the first try was sent");
    assert_eq!(
        a.router().in_flight(),
        1,
        "no waiter, no flight; the control's"
    );
    control.abort();
}

// …but while another client still waits, it goes on: the first gives up, the
// second gets the answer, and the server was asked once.
#[tokio::test]
async fn a_resolution_another_client_joined_goes_on() {
    let (w, a) = start_with("").await;
    a.query("www.good.net.", RecordType::A).await;
    let r = a.router().clone();
    let n = name("www.slow.com.");
    let quitter = tokio::time::timeout(Duration::from_millis(100), r.answer(&n, RecordType::A));
    let stayer = r.answer(&n, RecordType::A);
    let (q, s) = tokio::join!(quitter, stayer);
    assert!(q.is_err());
    assert_eq!(s.rcode, ResponseCode::NoError, "{:?}", s.failure);
    assert_eq!(w.server("slow").seen().len(), 1);
}

async fn tcp_query(s: &mut TcpStream, name: &str) -> Option<Message> {
    let bytes = query_bytes(name, RecordType::A);
    let mut framed = (bytes.len() as u16).to_be_bytes().to_vec();
    framed.extend_from_slice(&bytes);
    s.write_all(&framed).await.ok()?;
    let mut len = [0u8; 2];
    tokio::time::timeout(Duration::from_secs(5), s.read_exact(&mut len))
        .await
        .ok()?
        .ok()?;
    let mut buf = vec![0u8; u16::from_be_bytes(len) as usize];
    s.read_exact(&mut buf).await.ok()?;
    Message::from_vec(&buf).ok()
}

/// Waits until the server closes `s` (read gives EOF or an error); how long it took.
async fn closed_within(s: &mut TcpStream, limit: Duration) -> Option<Duration> {
    let t = Instant::now();
    let mut b = [0u8; 64];
    loop {
        match tokio::time::timeout(limit.saturating_sub(t.elapsed()), s.read(&mut b)).await {
            Err(_) => return None,
            Ok(Ok(0)) | Ok(Err(_)) => return Some(t.elapsed()),
            Ok(Ok(_)) => continue,
        }
    }
}

// tcp-clients: past the limit a new connection is closed at once; idle connections
// are closed after tcp-idle-timeout; a slow sender (one byte at a time) cannot keep
// one open; a freed place takes a new connection.
#[tokio::test]
async fn tcp_connections_and_idle_time_are_bounded() {
    let (_w, a) = start_with("tcp-clients = 2\ntcp-idle-timeout = \"500ms\"\n").await;
    let mut c1 = TcpStream::connect(a.addr).await.unwrap();
    let mut c2 = TcpStream::connect(a.addr).await.unwrap();
    // Both are served…
    assert!(tcp_query(&mut c1, "www.geek.").await.is_some());
    assert!(tcp_query(&mut c2, "www.geek.").await.is_some());
    // …a third is closed at once.
    let mut c3 = TcpStream::connect(a.addr).await.unwrap();
    let t = closed_within(&mut c3, Duration::from_secs(2)).await;
    assert!(t.is_some_and(|t| t < Duration::from_millis(300)), "{t:?}");
    // Idle connections go after the idle time.
    let t = closed_within(&mut c1, Duration::from_secs(3)).await;
    assert!(t.is_some_and(|t| t < Duration::from_millis(1000)), "{t:?}");
    drop(c2);
    // A slow sender: a frame dribbled one byte per 100 ms is cut off.
    let mut slow = TcpStream::connect(a.addr).await.unwrap();
    let bytes = query_bytes("www.geek.", RecordType::A);
    let mut framed = (bytes.len() as u16).to_be_bytes().to_vec();
    framed.extend_from_slice(&bytes);
    let t = Instant::now();
    let mut cut = false;
    for b in framed {
        if slow.write_all(&[b]).await.is_err() {
            cut = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
        if t.elapsed() > Duration::from_secs(3) {
            break;
        }
    }
    if !cut {
        cut = closed_within(&mut slow, Duration::from_millis(100))
            .await
            .is_some();
    }
    assert!(
        cut && t.elapsed() < Duration::from_secs(2),
        "slow sender held on {:?}",
        t.elapsed()
    );
    // Places were freed: a new connection is served.
    let mut c4 = TcpStream::connect(a.addr).await.unwrap();
    let m = tcp_query(&mut c4, "www.geek.").await.expect("served");
    assert_eq!(m.metadata.response_code, ResponseCode::NoError);
}
