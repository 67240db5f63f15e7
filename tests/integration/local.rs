//! Answers from zones served in-process: no network, exact TTLs, RFC 2308 negatives.

use std::time::{Duration, Instant};

use hickory_proto::op::ResponseCode;
use hickory_proto::rr::{LowerName, RecordType};

use crate::harness::*;

// A name in a local TLD zone is answered in-process (docs/resolution.md "How a name is resolved"
// 3): data, RA set, AA cleared (RFC 1035 §4.1.1: altroot is not the authority a
// client asked), TTL as written. The answer needs no network; the only packets are
// those of the background collision check (docs/resolution.md 7: only `<tld>. NS` to later
// roots; a claim is not preceded by priming), here `geek. NS` to the ICANN root.
// The test waits until that check has recorded its finding, so it does not depend
// on whether the check ran before the assertion.
#[tokio::test]
async fn local_answer_has_resolver_flags_and_zone_ttl() {
    let (w, a) = standard("").await;
    let m = a.query("www.geek.", RecordType::A).await;
    assert_eq!(m.metadata.response_code, ResponseCode::NoError);
    assert_resolver_flags(&m);
    assert_eq!(lines(&m.answers), vec!["www.geek. 3600 A 192.0.2.1"]);
    assert!(m.authorities.is_empty());
    let geek = LowerName::new(&name("geek."));
    let t = Instant::now();
    while !a.router().collisions_seen().contains_key(&geek) {
        assert!(
            t.elapsed() < Duration::from_secs(5),
            "the collision check never finished"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    assert_eq!(
        a.router().collisions_seen().get(&geek),
        Some(&vec!["alt".to_string()])
    );
    let all: Vec<String> = w
        .all_seen()
        .iter()
        .map(|(server, s)| format!("{server}: {} {}", s.name, s.qtype))
        .collect();
    assert_eq!(all, vec!["root: geek. NS"]);
}

// NXDOMAIN carries the zone's SOA with TTL min(SOA TTL, MINIMUM) (RFC 2308 §3).
#[tokio::test]
async fn nxdomain_and_nodata_carry_soa_with_negative_ttl() {
    let (_w, a) = standard("").await;
    let m = a.query("nothing.geek.", RecordType::A).await;
    assert_eq!(m.metadata.response_code, ResponseCode::NXDomain);
    assert_resolver_flags(&m);
    assert!(m.answers.is_empty());
    assert_eq!(m.authorities.len(), 1);
    assert_eq!(m.authorities[0].record_type(), RecordType::SOA);
    assert_eq!(m.authorities[0].ttl, 120);

    let m = a.query("www.geek.", RecordType::MX).await;
    assert_eq!(m.metadata.response_code, ResponseCode::NoError);
    assert!(m.answers.is_empty());
    assert_eq!(m.authorities[0].record_type(), RecordType::SOA);
    assert_eq!(m.authorities[0].name, name("geek."));
}

// A CNAME inside the alt root is followed; the chain is in the answer in order.
#[tokio::test]
async fn cname_within_alt_root_is_followed() {
    let (_w, a) = standard("").await;
    let m = a.query("wiki.geek.", RecordType::AAAA).await;
    assert_eq!(
        lines(&m.answers),
        vec![
            "wiki.geek. 3600 CNAME www.geek.",
            "www.geek. 3600 AAAA 2001:db8::1"
        ]
    );
    // Asking for the CNAME itself does not follow it.
    let m = a.query("wiki.geek.", RecordType::CNAME).await;
    assert_eq!(lines(&m.answers), vec!["wiki.geek. 3600 CNAME www.geek."]);
}

// Wildcards synthesise the query name (RFC 4592).
#[tokio::test]
async fn wildcard_synthesises_owner() {
    let (_w, a) = standard("").await;
    let m = a.query("alice.users.geek.", RecordType::A).await;
    assert_eq!(
        lines(&m.answers),
        vec!["alice.users.geek. 3600 A 192.0.2.3"]
    );
    let m = a.query("users.geek.", RecordType::A).await;
    assert_eq!(
        m.metadata.response_code,
        ResponseCode::NoError,
        "empty non-terminal is NODATA"
    );
    assert!(m.answers.is_empty());
}

// The alternate root zone itself answers for "." and its own names.
#[tokio::test]
async fn root_zone_apex() {
    let (_w, a) = standard("").await;
    let m = a.query(".", RecordType::SOA).await;
    assert_eq!(m.answers.len(), 1);
    assert_eq!(m.answers[0].name, name("."));
    assert_eq!(m.answers[0].ttl, 86400);
}

// CNAME loops and chains longer than `max-cname-chain` (11) end in SERVFAIL.
#[tokio::test]
async fn cname_loop_and_long_chain_are_servfail() {
    let (_w, a) = standard("").await;
    let m = a.query("loopa.geek.", RecordType::A).await;
    assert_eq!(m.metadata.response_code, ResponseCode::ServFail);
    let m = a.query("c0.geek.", RecordType::A).await;
    assert_eq!(
        m.metadata.response_code,
        ResponseCode::ServFail,
        "20 links > 11"
    );
    let m = a.query("c8.geek.", RecordType::A).await;
    assert_eq!(
        m.metadata.response_code,
        ResponseCode::ServFail,
        "12 links > 11"
    );
    let m = a.query("c9.geek.", RecordType::A).await;
    assert_eq!(
        m.metadata.response_code,
        ResponseCode::NoError,
        "11 links are fine"
    );
    assert_eq!(m.answers.len(), 12);
}
