//! Ready answers (issue 8): a reply kept in wire form and patched for each client
//! (ID, RD/CD, the question's case, TC for its buffer, TTLs). Each test asks once
//! through the full path, checks the answer became ready, then asks again the
//! way another client would and compares the two replies field by field.

use std::net::SocketAddr;
use std::time::Duration;

use hickory_proto::op::{Message, ResponseCode};
use hickory_proto::rr::RecordType;

use crate::harness::*;

/// Asks `q` and returns the reply with the number of ready answers after it.
async fn ask(a: &Altroot, q: &Message) -> (Message, usize) {
    let m = send_udp(a.addr, q).await;
    (m, a.router().ready().len())
}

/// The parts of a reply that must not depend on the path it took.
fn shape(m: &Message) -> (ResponseCode, bool, bool, bool, Vec<String>, Vec<String>) {
    (
        m.metadata.response_code,
        m.metadata.recursion_available,
        m.metadata.authoritative,
        m.metadata.truncation,
        lower(lines(&m.answers)),
        lower(lines(&m.authorities)),
    )
}

/// Owner names follow the question's case (they point at it): compare without.
fn lower(lines: Vec<String>) -> Vec<String> {
    lines.into_iter().map(|l| l.to_ascii_lowercase()).collect()
}

// ID, RD, the question's 0x20 case, CNAME chains, and local TTLs: a ready hit is
// the full path's reply, patched for the client that asked.
#[tokio::test]
async fn a_ready_hit_is_the_full_reply_patched_for_its_client() {
    let (_w, a) = standard("").await;
    for (qname, qtype) in [
        ("www.geek.", RecordType::A),
        ("wiki.geek.", RecordType::A), // CNAME www, then www's address
        ("nope.geek.", RecordType::A), // NXDOMAIN with the SOA
        ("www.geek.", RecordType::MX), // NODATA with the SOA
    ] {
        let before = a.router().ready().len();
        let (first, after) = ask(&a, &make_query(qname, qtype, Some(1232))).await;
        assert_eq!(after, before + 1, "{qname} {qtype} was not made ready");
        let mixed: String = qname
            .chars()
            .enumerate()
            .map(|(i, c)| {
                if i % 2 == 0 {
                    c.to_ascii_uppercase()
                } else {
                    c
                }
            })
            .collect();
        let mut q = make_query(&mixed, qtype, Some(1232));
        q.metadata.id = first.metadata.id.wrapping_add(7);
        q.metadata.recursion_desired = false;
        let (hit, again) = ask(&a, &q).await;
        assert_eq!(again, after, "the second ask was a hit, not a new entry");
        assert_eq!(hit.metadata.id, q.metadata.id, "{qname}: ID");
        assert!(!hit.metadata.recursion_desired, "{qname}: RD echoed");
        assert_eq!(
            hit.queries[0].name().to_string(),
            mixed,
            "{qname}: question case kept"
        );
        assert_eq!(shape(&hit), shape(&first), "{qname} {qtype}");
    }
    // The NXDOMAIN carries its SOA with the negative TTL (min of SOA TTL, MINIMUM).
    let (nx, _) = ask(&a, &make_query("nope.geek.", RecordType::A, Some(1232))).await;
    assert_eq!(nx.metadata.response_code, ResponseCode::NXDomain);
    assert_eq!(nx.authorities.len(), 1);
    assert_eq!(nx.authorities[0].ttl, 120);
}

// EDNS: the client's buffer decides TC on every hit, whoever made the answer
// ready; without EDNS the limit is 512 and the reply has no OPT; DO is echoed as
// the full path does. mid.geek: six 100-byte TXT records, ~700 bytes.
#[tokio::test]
async fn a_ready_hit_follows_each_clients_edns() {
    let mut zone = String::from(
        "$TTL 300\n@ SOA ns.geek. h.geek. 1 1 1 1 60\n@ NS ns\nns A 192.0.2.53\nwww AAAA 2001:db8::1\n",
    );
    for i in 0..6 {
        zone.push_str(&format!("mid TXT \"{i}{}\"\n", "x".repeat(99)));
    }
    let config =
        "[server]\nlisten = [\"127.0.0.1:0\"]\n[[root]]\nname = \"alt\"\nzones = \"zones\"\n";
    let a = Altroot::start(config, &[("zones/geek.zone", zone)]).await;
    let big = |edns| make_query("mid.geek.", RecordType::TXT, edns);
    let n = a.router().ready().len();
    let first = send_udp(a.addr, &big(Some(1232))).await;
    assert!(!first.metadata.truncation && first.answers.len() == 6);
    assert_eq!(a.router().ready().len(), n + 1);
    // Each later ask is a hit on that one entry, not a new one.
    let hits = |what: &str| assert_eq!(a.router().ready().len(), n + 1, "{what}: a new entry");
    let small = send_udp(a.addr, &big(Some(512))).await;
    hits("512");
    assert!(small.metadata.truncation, "512-byte buffer: TC");
    assert!(small.answers.len() < 6);
    assert!(small.edns.is_some(), "OPT kept");
    let none = send_udp(a.addr, &big(None)).await;
    hits("no EDNS");
    assert!(none.metadata.truncation, "no EDNS: 512, TC");
    assert!(none.edns.is_none(), "no OPT without EDNS");
    let again = send_udp(a.addr, &big(Some(1232))).await;
    hits("1232 again");
    assert_eq!(lower(lines(&again.answers)), lower(lines(&first.answers)));
    assert!(
        !again.metadata.truncation,
        "a small buffer before does not stick"
    );
    // TCP is never truncated.
    let tcp = send_tcp(a.addr, &big(Some(512))).await;
    hits("TCP");
    assert_eq!(tcp.answers.len(), 6);
    assert!(!tcp.metadata.truncation);

    // DO: a hit answers it as the full path did for the first asker with DO.
    let mut q = make_query("www.geek.", RecordType::AAAA, Some(1232));
    if let Some(e) = q.edns.as_mut() {
        e.set_dnssec_ok(true);
    }
    let first = send_udp(a.addr, &q).await;
    assert_eq!(a.router().ready().len(), n + 2, "www.geek. AAAA made ready");
    let hit = send_udp(a.addr, &q).await;
    assert_eq!(a.router().ready().len(), n + 2, "the DO ask again: a hit");
    let dok = |m: &Message| m.edns.as_ref().map(|e| e.flags().dnssec_ok);
    assert_eq!(dok(&hit), dok(&first), "DO as the full path answers it");
    assert_eq!(shape(&hit), shape(&first));
}

// Answers from the network: made ready when asked again (served from the
// cache), and a hit counts their TTLs down by the wall clock.
#[tokio::test]
async fn ready_network_answers_count_their_ttls_down() {
    let (_w, a) = standard("").await;
    let ask_www = || a.query("www.example.com.", RecordType::A);
    let first = ask_www().await;
    assert_eq!(first.metadata.response_code, ResponseCode::NoError);
    let ttl0 = first.answers[0].ttl;
    let n = a.router().ready().len();
    let second = ask_www().await; // from the cache: now made ready
    assert_eq!(a.router().ready().len(), n + 1);
    let third = ask_www().await; // a ready hit
    assert_eq!(shape(&third), shape(&second));
    a.service.clock().advance(Duration::from_secs(40));
    let later = ask_www().await;
    assert_eq!(lines(&later.answers).len(), lines(&first.answers).len());
    assert!(
        later
            .answers
            .iter()
            .all(|r| r.ttl <= ttl0 - 40 && r.ttl + 42 >= ttl0),
        "TTLs {:?} after 40 s, first {ttl0}",
        later.answers.iter().map(|r| r.ttl).collect::<Vec<_>>()
    );
    // Past its TTL it is not served from the ready store (nor the cache).
    a.service
        .clock()
        .advance(Duration::from_secs(u64::from(ttl0)));
    let expired = ask_www().await;
    assert_eq!(expired.metadata.response_code, ResponseCode::NoError);
    let data = |m: &Message| {
        m.answers
            .iter()
            .map(|r| r.data.to_string())
            .collect::<Vec<_>>()
    };
    assert_eq!(
        data(&expired),
        data(&first),
        "the same answers, fetched again"
    );
    assert!(expired.answers.iter().all(|r| r.ttl > ttl0 - 5));
}

// The allow list is checked before the ready store: a client outside it gets
// REFUSED even for an answer that is ready.
#[tokio::test]
async fn the_allow_list_comes_before_ready_answers() {
    let (_w, a) = standard_cfg(|_, c| {
        edit(
            &c,
            "listen = [\"127.0.0.1:0\"]",
            "listen = [\"0.0.0.0:0\"]\nallow = [\"127.0.0.1/32\"]",
        )
    })
    .await;
    let server: SocketAddr = format!("127.0.0.1:{}", a.addr.port()).parse().unwrap();
    let q = make_query("www.geek.", RecordType::A, Some(1232));
    let ok = send_udp(server, &q).await;
    assert_eq!(lines(&ok.answers), vec!["www.geek. 3600 A 192.0.2.1"]);
    assert!(!a.router().ready().is_empty());
    let other: SocketAddr = "127.0.0.2:0".parse().unwrap();
    let refused = send_udp_from(other, server, &q).await.expect("an answer");
    assert_eq!(refused.metadata.response_code, ResponseCode::Refused);
    assert!(refused.answers.is_empty());
}
