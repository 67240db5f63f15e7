//! Faulty upstreams (issue 7, Build §7): one fake-server behaviour each, as the only
//! server of a zone (SERVFAIL within `query-timeout`, with an Extended DNS Error
//! naming the cause) and beside a good server of the same zone (the good server's
//! answer). Afterwards nothing wrong is cached: the same questions get the same
//! answers, other names of the root resolve, the faulty servers' data never shows.

use std::time::Duration;

use hickory_proto::op::{Message, ResponseCode};
use hickory_proto::rr::RecordType;

use crate::harness::*;
use crate::world::{Behaviour, World};
use crate::worlds::*;

/// The faulty `behaviour` alone for lone.com and beside a good server for pair.com;
/// the lone SERVFAIL's EDE must carry one of `codes`.
async fn lone_fails_pair_works(behaviour: Behaviour, codes: &[&str]) -> (World, Altroot) {
    let (w, a) = start(fault_world(behaviour)).await;

    // Beside a good server: the faulty one (the only one known without a lookup)
    // is asked first, then the good one answers.
    let (m, took) = timed(&a, "www.pair.com.", RecordType::A).await;
    assert!(
        asked(&w, "bad-pair").contains(&"www.pair.com. A".to_string()),
        "the faulty server was not asked: {:?}",
        asked(&w, "bad-pair")
    );
    assert_answer(&m, took, &[&good_pair()[0]]);

    // Alone: SERVFAIL in time, and again for the same question.
    let (lone, took) = timed(&a, "www.lone.com.", RecordType::A).await;
    assert_servfail_in_time(&lone, took);
    assert!(!w.server("bad-lone").seen().is_empty());
    let (m, took) = timed(&a, "www.lone.com.", RecordType::A).await;
    assert_servfail_in_time(&m, took);

    assert_nothing_wrong_cached(&a).await;
    assert_ede(&lone, codes);
    (w, a)
}

// A server that never answers (UDP or TCP).
#[tokio::test]
async fn silent_server() {
    lone_fails_pair_works(Behaviour::Silent, &["timeout"]).await;
}

// A server that answers after 300 ms, well within one try: its answer is taken,
// and cached (the second question does not reach it).
#[tokio::test]
async fn slow_server_within_one_try_is_answered() {
    let (w, a) = start(fault_world(Behaviour::Slow(300))).await;
    let (m, took) = timed(&a, "www.lone.com.", RecordType::A).await;
    assert_answer(&m, took, &[&format!("www.lone.com. 300 A {BAD_A}")]);
    assert!(took >= Duration::from_millis(300), "{took:?}");
    let before = w.server("bad-lone").seen().len();
    let (m, took) = timed(&a, "www.lone.com.", RecordType::A).await;
    assert_eq!(addrs(&m), vec![BAD_A.parse::<std::net::IpAddr>().unwrap()]);
    assert!(
        took < Duration::from_millis(200),
        "from the cache: {took:?}"
    );
    assert_eq!(w.server("bad-lone").seen().len(), before);
}

// A server that answers after 5 s, longer than query-timeout: SERVFAIL in time
// alone, the good server beside it.
#[tokio::test]
async fn far_too_slow_server() {
    lone_fails_pair_works(Behaviour::Slow(5000), &["timeout"]).await;
}

// SERVFAIL to every question.
#[tokio::test]
async fn servfail_server() {
    lone_fails_pair_works(Behaviour::Servfail, &["servfail"]).await;
}

// REFUSED to every question (a lame delegation in the REFUSED way).
#[tokio::test]
async fn refused_server() {
    lone_fails_pair_works(Behaviour::Refused, &["refused"]).await;
}

// Undecodable bytes that start with the query's ID and QR: the reply is read and
// rejected as bogus at once (ignoring it would end as a timeout instead).
#[tokio::test]
async fn garbage_with_the_query_id() {
    lone_fails_pair_works(Behaviour::Garbage, &["bogus"]).await;
}

// Random bytes with another ID: not ours, ignored; the wait ends in a timeout.
#[tokio::test]
async fn garbage_random_bytes() {
    lone_fails_pair_works(Behaviour::GarbageOtherId, &["timeout"]).await;
}

// A correct reply cut in the middle of a record, TC not set: our ID, not a
// message: bogus.
#[tokio::test]
async fn truncated_message_without_tc() {
    lone_fails_pair_works(Behaviour::Truncated, &["bogus"]).await;
}

// TC=1 over UDP and TCP connections refused: the answer cannot be had; the
// refusal is what is reported.
#[tokio::test]
async fn tc_set_but_tcp_refused() {
    lone_fails_pair_works(Behaviour::TcNoTcp, &["unreachable"]).await;
}

// TC=1 over UDP; over TCP half an answer, then a reset. TCP was tried, and the
// reset is what is reported.
#[tokio::test]
async fn tcp_reset_mid_answer() {
    let (w, _a) = lone_fails_pair_works(Behaviour::TcpReset, &["unreachable"]).await;
    let seen = w.server("bad-lone").seen();
    assert!(seen.iter().any(|s| s.tcp), "TCP never tried: {seen:?}");
}

// A lame delegation: an upward referral (to the root) instead of an answer.
#[tokio::test]
async fn lame_delegation_upward_referral() {
    lone_fails_pair_works(Behaviour::UpwardReferral, &["lame"]).await;
}

// Delegation loop: loop.com's only NS is ns.loop.net. and loop.net's only NS is
// ns.loop.com., neither with glue. SERVFAIL in time with few queries; beside it,
// pairloop.com (ns.loop.net. and ns.good.net.) is answered by the good server.
#[tokio::test]
async fn glueless_delegation_loop() {
    let (w, a) = start(|b| {
        let mut v = base(
            b,
            "loop NS ns.loop.net.\npairloop NS ns.loop.net.\npairloop NS ns.good.net.",
            "loop NS ns.loop.com.",
        );
        v.push(good_spec(b, &[("pairloop.com.", "www A 203.0.113.3")]));
        v
    })
    .await;
    let (m, took) = timed(&a, "www.loop.com.", RecordType::A).await;
    assert_servfail_in_time(&m, took);
    let n = w.total_queries();
    assert!(
        n <= 20,
        "{n} upstream queries for a two-zone loop: {:?}",
        w.all_seen()
    );
    let (again, took) = timed(&a, "www.loop.com.", RecordType::A).await;
    assert_servfail_in_time(&again, took);

    let (p, took) = timed(&a, "www.pairloop.com.", RecordType::A).await;
    assert_answer(&p, took, &["www.pairloop.com. 300 A 203.0.113.3"]);
    let (g, took) = timed(&a, "www.good.net.", RecordType::A).await;
    assert_addrs(&g, took, &["203.0.113.2"]);
    assert_ede(&m, &["loop", "budget"]);
}

// CNAME loop across two servers: a.one.com → b.two.net → a.one.com. SERVFAIL in
// time, each server asked only a few times; the same again (nothing half-cached);
// a CNAME in the same zones that does end still resolves.
#[tokio::test]
async fn cname_loop_across_two_servers() {
    let (w, a) = start(|b| {
        let mut v = base(
            b,
            &format!("one NS ns1.one\nns1.one A {}", ip(b, 20)),
            &format!("two NS ns1.two\nns1.two A {}", ip(b, 21)),
        );
        v.push(leaf(
            "one",
            ip(b, 20),
            &[(
                "one.com.",
                "a CNAME b.two.net.\nok CNAME end.two.net.\nwww A 203.0.113.20",
            )],
            Behaviour::Normal,
        ));
        v.push(leaf(
            "two",
            ip(b, 21),
            &[("two.net.", "b CNAME a.one.com.\nend A 203.0.113.21")],
            Behaviour::Normal,
        ));
        v
    })
    .await;
    let (m, took) = timed(&a, "a.one.com.", RecordType::A).await;
    assert_servfail_in_time(&m, took);
    for s in ["one", "two"] {
        let n = w.server(s).seen().len();
        assert!(n <= 4, "{s} asked {n} times: {:?}", asked(&w, s));
    }
    let (again, took) = timed(&a, "a.one.com.", RecordType::A).await;
    assert_servfail_in_time(&again, took);
    let (ok, took) = timed(&a, "ok.one.com.", RecordType::A).await;
    assert_answer(
        &ok,
        took,
        &[
            "ok.one.com. 300 CNAME end.two.net.",
            "end.two.net. 300 A 203.0.113.21",
        ],
    );
    assert_ede(&m, &["loop"]);
}

// An answer larger than the client's buffer (a ~2,400-byte TXT RRset on a remote
// server, fetched upstream over TCP): over UDP the client gets TC=1 in a reply that
// fits its buffer (512 without EDNS or with EDNS 512, 1232 with EDNS 1232), with
// the question and RA; over TCP it gets the whole RRset.
#[tokio::test]
async fn answer_larger_than_the_client_buffer() {
    let mut body = String::new();
    for i in 0..20 {
        body.push_str(&format!("big TXT \"{i:02} {}\"\n", "x".repeat(100)));
    }
    let (w, a) = start(|b| {
        let mut v = base(
            b,
            &format!("large NS ns1.large\nns1.large A {}", ip(b, 20)),
            "",
        );
        v.push(leaf(
            "large",
            ip(b, 20),
            &[("large.com.", &body)],
            Behaviour::Normal,
        ));
        v
    })
    .await;
    for (edns, limit) in [(Some(512), 512), (Some(1232), 1232), (None, 512)] {
        let q = make_query("big.large.com.", RecordType::TXT, edns);
        let raw = raw_udp_from(
            "127.0.0.1:0".parse().unwrap(),
            a.addr,
            &q.to_vec().unwrap(),
            IN_TIME,
        )
        .await
        .unwrap_or_else(|| panic!("no UDP answer (EDNS {edns:?})"));
        assert!(
            raw.len() <= limit,
            "{} bytes for a {limit}-byte buffer",
            raw.len()
        );
        let m = Message::from_vec(&raw).unwrap();
        assert!(m.metadata.truncation, "TC=1 (EDNS {edns:?})");
        assert_eq!(m.metadata.response_code, ResponseCode::NoError);
        assert_eq!(m.queries, q.queries);
        assert_eq!(m.metadata.id, q.metadata.id);
        assert_resolver_flags(&m);
        assert!(m.answers.len() < 20);
    }
    assert!(
        w.server("large").seen().iter().any(|s| s.tcp),
        "fetched upstream over TCP"
    );
    let m = send_tcp(
        a.addr,
        &make_query("big.large.com.", RecordType::TXT, Some(512)),
    )
    .await;
    assert!(!m.metadata.truncation);
    assert_eq!(m.answers.len(), 20);
    assert_resolver_flags(&m);
    assert!(
        m.answers
            .iter()
            .all(|r| r.ttl == m.answers[0].ttl && r.ttl <= 300)
    );
}
