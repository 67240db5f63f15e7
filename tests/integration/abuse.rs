//! Serve-stale (issue 7 §8, RFC 8767) and the abuse basics (§9): response rate
//! limiting with slip, RFC 8482 minimal ANY, zone transfers refused by default, UPDATE NOTIMP.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use hickory_proto::op::{Message, OpCode, ResponseCode};
use hickory_proto::rr::RecordType;
use tokio::net::UdpSocket;

use crate::harness::*;

//------------ Serve-stale -------------------------------------------------------

// With serve-stale = "1d": once an answer has expired and its servers are gone, the
// expired answer is served with TTL 30 and Extended DNS Error 3 (Stale Answer),
// within query-timeout; past the window it is SERVFAIL.
#[tokio::test]
async fn expired_answers_are_served_stale_while_the_servers_are_down() {
    let (mut w, a) = standard("[cache]\nserve-stale = \"1d\"\n").await;
    let m = a.query("www.example.com.", RecordType::A).await;
    assert_eq!(
        lines(&m.answers),
        vec!["www.example.com. 600 A 203.0.113.10"]
    );
    w.stop("example.com").await;
    a.service.clock().advance(Duration::from_secs(700));
    let t = Instant::now();
    let m = a.query("www.example.com.", RecordType::A).await;
    assert!(t.elapsed() < Duration::from_secs(3), "{:?}", t.elapsed());
    assert_eq!(
        m.metadata.response_code,
        ResponseCode::NoError,
        "{:?}",
        ede(&m)
    );
    assert_eq!(
        lines(&m.answers),
        vec!["www.example.com. 30 A 203.0.113.10"]
    );
    assert_eq!(ede(&m).map(|(c, _)| c), Some(3));
    assert_resolver_flags(&m);
    // A name never seen has nothing stale to serve.
    let m = a.query("alias.example.com.", RecordType::A).await;
    assert_eq!(m.metadata.response_code, ResponseCode::ServFail);
    // Past the window: SERVFAIL.
    a.service.clock().advance(Duration::from_secs(86_400));
    let m = a.query("www.example.com.", RecordType::A).await;
    assert_eq!(m.metadata.response_code, ResponseCode::ServFail);
    // When the servers are back, the fresh answer replaces the stale one.
    w.start_again("example.com").await;
    let m = a.query("www.example.com.", RecordType::A).await;
    assert_eq!(
        lines(&m.answers),
        vec!["www.example.com. 600 A 203.0.113.10"]
    );
}

// Off by default: an expired answer is never served.
#[tokio::test]
async fn serve_stale_is_off_by_default() {
    let (mut w, a) = standard("").await;
    a.query("www.example.com.", RecordType::A).await;
    w.stop("example.com").await;
    a.service.clock().advance(Duration::from_secs(700));
    let m = a.query("www.example.com.", RecordType::A).await;
    assert_eq!(m.metadata.response_code, ResponseCode::ServFail);
    assert!(m.answers.is_empty());
}

//------------ Rate limiting -------------------------------------------------------

/// Sends `n` queries for a local name from one socket without waiting, then
/// collects replies for a moment: (full answers, TC slips).
async fn burst(server: SocketAddr, n: usize) -> (usize, usize) {
    let sock = UdpSocket::bind("127.0.0.6:0").await.unwrap();
    sock.connect(server).await.unwrap();
    for _ in 0..n {
        let q = make_query("www.geek.", RecordType::A, Some(1232));
        sock.send(&q.to_vec().unwrap()).await.unwrap();
    }
    let (mut full, mut slipped) = (0, 0);
    let mut buf = vec![0u8; 4096];
    while let Ok(Ok(len)) =
        tokio::time::timeout(Duration::from_millis(300), sock.recv(&mut buf)).await
    {
        let m = Message::from_vec(&buf[..len]).unwrap();
        if m.metadata.truncation && m.answers.is_empty() {
            slipped += 1;
        } else if m.answers.len() == 1 {
            full += 1;
        }
    }
    (full, slipped)
}

// rate-limit = 5 per second per /24 with slip 2: a burst of 40 gets about 5 full
// answers, about half of the rest as empty TC=1 replies (a real client retries over
// TCP), and the rest dropped. TCP is not limited. Off by default.
#[tokio::test]
async fn rate_limit_drops_and_slips_over_udp_only() {
    let (_w, a) = standard("[limits]\nrate-limit = 5\n").await;
    let (full, slipped) = burst(a.addr, 40).await;
    assert!((1..=8).contains(&full), "{full} full answers");
    let dropped = 40 - full - slipped;
    assert!(
        slipped >= 10 && dropped >= 10,
        "{slipped} slipped, {dropped} dropped"
    );
    let m = send_tcp(a.addr, &make_query("www.geek.", RecordType::A, Some(1232))).await;
    assert_eq!(m.answers.len(), 1, "TCP is not rate limited");

    let (_w, a) = standard("").await;
    let (full, slipped) = burst(a.addr, 40).await;
    assert_eq!((full, slipped), (40, 0));
}

//------------ ANY, transfers, UPDATE ------------------------------------------

// RFC 8482: ANY gets one RRset, from local zones and from remote servers alike.
#[tokio::test]
async fn any_gets_one_rrset() {
    let (_w, a) = standard("").await;
    for n in ["www.geek.", "www.example.com."] {
        let m = a.query(n, RecordType::ANY).await;
        assert_eq!(m.metadata.response_code, ResponseCode::NoError, "{n}");
        assert!(!m.answers.is_empty(), "{n}");
        let t = m.answers[0].record_type();
        assert!(
            m.answers.iter().all(|r| r.record_type() == t),
            "{n}: {:?}",
            lines(&m.answers)
        );
    }
}

// Without a `[transfer]` table nobody may transfer: AXFR and IXFR are REFUSED
// over UDP and TCP (transfer.rs has the rest); UPDATE (RFC 2136) is NOTIMP.
#[tokio::test]
async fn transfers_are_refused_and_update_is_not_implemented() {
    let (_w, a) = standard("").await;
    for t in [RecordType::AXFR, RecordType::IXFR] {
        let q = make_query("geek.", t, Some(1232));
        assert_eq!(
            send_udp(a.addr, &q).await.metadata.response_code,
            ResponseCode::Refused
        );
        assert_eq!(
            send_tcp(a.addr, &q).await.metadata.response_code,
            ResponseCode::Refused
        );
    }
    let mut u = make_query("geek.", RecordType::SOA, None);
    u.metadata.op_code = OpCode::Update;
    let m = send_udp(a.addr, &u).await;
    assert_eq!(m.metadata.response_code, ResponseCode::NotImp);
    assert_eq!(m.metadata.op_code, OpCode::Update);
}
