//! Acceptance rules for replies (issue 7, Build §5; issue 14): a reply is taken only
//! when its ID, question, class and source match what was sent; from a server asked
//! as an authority, an answer without AA is taken (as Unbound and Knot Resolver
//! take it), a negative answer without AA only with the zone's SOA; records for
//! other roots' TLDs are never cached or served. A lone server breaking a rule →
//! SERVFAIL in time; beside a good server → the good server's answer.

use std::time::Duration;

use hickory_proto::op::ResponseCode;
use hickory_proto::rr::RecordType;

use crate::harness::*;
use crate::world::{Behaviour, EVIL, World};
use crate::worlds::*;

/// `behaviour` alone for lone.com (SERVFAIL in time, EDE one of `codes`) and beside
/// a good server for pair.com (the good answer); nothing of it cached.
async fn not_believed(behaviour: Behaviour, codes: &[&str]) -> World {
    let (w, a) = start(fault_world(behaviour)).await;
    let (m, took) = timed(&a, "www.pair.com.", RecordType::A).await;
    assert!(
        asked(&w, "bad-pair").contains(&"www.pair.com. A".to_string()),
        "the bad server was not asked: {:?}",
        asked(&w, "bad-pair")
    );
    assert_answer(&m, took, &[&good_pair()[0]]);
    let (lone, took) = timed(&a, "www.lone.com.", RecordType::A).await;
    assert_servfail_in_time(&lone, took);
    let (m, took) = timed(&a, "www.lone.com.", RecordType::A).await;
    assert_servfail_in_time(&m, took);
    assert_nothing_wrong_cached(&a).await;
    assert_ede(&lone, codes);
    w
}

// A reply with another ID (a blind spoofing attempt), and nothing else.
#[tokio::test]
async fn reply_with_another_id() {
    not_believed(Behaviour::WrongId, &["timeout"]).await;
}

// A wrong-ID reply first, then the right one: the right one is taken (the wrong one
// does not end the wait).
#[tokio::test]
async fn wrong_id_then_the_right_reply() {
    let (_w, a) = start(fault_world(Behaviour::WrongIdThenRight)).await;
    let (m, took) = timed(&a, "www.lone.com.", RecordType::A).await;
    assert_answer(&m, took, &[&format!("www.lone.com. 300 A {BAD_A}")]);
    assert!(took < Duration::from_secs(1), "{took:?}");
}

// The same ID, but another name in the question section.
#[tokio::test]
async fn reply_for_another_question() {
    not_believed(Behaviour::WrongQuestion, &["timeout"]).await;
}

// The same ID and name, but class CH.
#[tokio::test]
async fn reply_of_another_class() {
    not_believed(Behaviour::WrongClass, &["timeout"]).await;
}

// The correct reply, but from another port of the server's address (the spoofed
// replies were really sent: the test would pass without them).
#[tokio::test]
async fn reply_from_another_port() {
    let w = not_believed(Behaviour::OtherPort, &["timeout"]).await;
    assert!(
        w.server("bad-lone").spoofed() > 0,
        "no spoofed reply was sent"
    );
}

// The correct reply, but from another address (REVIEW: this passed without
// testing anything when the spoofer could not bind; now it checks the spoofed
// replies were sent).
#[tokio::test]
async fn reply_from_another_address() {
    let w = not_believed(Behaviour::OtherAddress, &["timeout"]).await;
    assert!(
        w.server("bad-lone").spoofed() > 0,
        "no spoofed reply was sent"
    );
    assert!(
        w.server("bad-pair").spoofed() > 0,
        "no spoofed reply was sent"
    );
}

// An answer without AA from a server asked as an authority for the zone: taken,
// as real servers and load balancers that leave AA clear are (issue 14).
#[tokio::test]
async fn answer_without_aa_from_an_authority_is_taken() {
    let (w, a) = start(fault_world(Behaviour::NonAaAnswer)).await;
    let (m, took) = timed(&a, "www.lone.com.", RecordType::A).await;
    assert_answer(&m, took, &[&format!("www.lone.com. 300 A {BAD_A}")]);
    assert!(!w.server("bad-lone").seen().is_empty());
    // Cached like any answer: the second ask does not reach the server.
    let before = w.server("bad-lone").seen().len();
    let (m, took) = timed(&a, "www.lone.com.", RecordType::A).await;
    assert_answer(&m, took, &[&format!("www.lone.com. 300 A {BAD_A}")]);
    assert_eq!(w.server("bad-lone").seen().len(), before);
}

// NXDOMAIN without AA but with the zone's SOA from a server asked as an authority:
// taken (Unbound's and Knot Resolver's rule), with the SOA and its negative TTL.
#[tokio::test]
async fn nxdomain_without_aa_with_the_soa_is_taken() {
    let (w, a) = start(fault_world(Behaviour::NonAaNxdomain)).await;
    let m = a.query("www.lone.com.", RecordType::A).await;
    assert_eq!(m.metadata.response_code, ResponseCode::NXDomain);
    assert_resolver_flags(&m);
    assert_eq!(m.authorities.len(), 1, "{:?}", lines(&m.authorities));
    assert_eq!(m.authorities[0].record_type(), RecordType::SOA);
    assert_eq!(m.authorities[0].name, name("lone.com."));
    assert!(!w.server("bad-lone").seen().is_empty());
}

/// The standard world with `server`'s behaviour replaced by `PoisonOtherRoots`, and
/// an altroot with the alt root (geek, biz) before the icann root.
async fn poisoned(server: &str) -> (World, Altroot) {
    let server = server.to_string();
    let w = World::start(move |b| {
        let mut specs = standard_world(b);
        for s in specs.iter_mut().filter(|s| s.name == server) {
            s.behaviour = Behaviour::PoisonOtherRoots;
        }
        specs
    })
    .await;
    let mut files = alt_zones(&w);
    files.push(("hints.txt", hints(&w)));
    let a = Altroot::start(&config(&w, ""), &files).await;
    (w, a)
}

/// After poisoning: the alt root's own data for geek and biz, nothing of 6.6.6.6 in
/// any client answer nor in either root's view of those names (compare).
async fn other_roots_unharmed(a: &Altroot) {
    for (name, want) in [
        ("www.geek.", "www.geek. 3600 A 192.0.2.1"),
        ("www.biz.", "www.biz. 3600 A 192.0.2.10"),
    ] {
        let m = a.query(name, RecordType::A).await;
        assert_eq!(lines(&m.answers), vec![want]);
        assert_never(&m, EVIL);
    }
    let m = a.query("geek.", RecordType::NS).await;
    assert_eq!(lines(&m.answers), vec!["geek. 3600 NS ns.geek."]);
    // ns.evil. is in no root: NXDOMAIN from the ICANN root, not the planted address.
    let m = a.query("ns.evil.", RecordType::A).await;
    assert_eq!(m.metadata.response_code, ResponseCode::NXDomain);
    assert_never(&m, EVIL);

    // Each root's own view, as `compare` shows it.
    let names: Vec<_> = ["www.geek.", "www.biz.", "ns.evil.", "geek."]
        .iter()
        .map(|n| name(n))
        .collect();
    let rows = altroot::commands::compare::compare(
        a.router(),
        &[0, 1],
        names,
        &[RecordType::A, RecordType::NS],
        Duration::from_secs(3),
        4,
        false,
        &|| {},
    )
    .await;
    for row in &rows {
        for cell in &row.cells {
            for r in &cell.records {
                assert!(
                    !r.data.to_string().contains(EVIL) && !r.data.to_string().contains("evil"),
                    "{} {} in root {}: {} {} {}",
                    row.name,
                    row.qtype,
                    cell.root,
                    r.name,
                    r.record_type(),
                    r.data
                );
            }
        }
    }
    let icann_www_geek = rows
        .iter()
        .find(|r| r.name == name("www.geek.") && r.qtype == RecordType::A)
        .and_then(|r| r.cells.iter().find(|c| c.root == "icann"))
        .unwrap();
    assert_eq!(icann_www_geek.rcode, ResponseCode::NXDomain);
}

// A leaf server (poison.com) adds to every reply records for the alternate root's
// TLDs in all three sections: geek./biz. NS ns.evil., ns.evil. A 6.6.6.6,
// www.geek./www.biz. A 6.6.6.6. The client gets poison.com's own answer only, and
// afterwards every root still has its own data.
#[tokio::test]
async fn other_roots_tlds_from_a_leaf_are_never_cached_or_served() {
    let (w, a) = poisoned("poison").await;
    let m = a.query("www.poison.com.", RecordType::A).await;
    assert_eq!(
        lines(&m.answers),
        vec!["www.poison.com. 300 A 203.0.113.66"]
    );
    assert_never(&m, EVIL);
    assert!(!w.server("poison").seen().is_empty());
    other_roots_unharmed(&a).await;
    let m = a.query("www.poison.com.", RecordType::A).await;
    assert_eq!(
        addrs(&m),
        vec!["203.0.113.66".parse::<std::net::IpAddr>().unwrap()]
    );
    assert_never(&m, EVIL);
}

// The same from a TLD server (com): its referrals carry the other roots' TLD NS
// sets and addresses. Names under com still resolve, and the alt root is unharmed.
#[tokio::test]
async fn other_roots_tlds_from_a_tld_server_are_never_cached_or_served() {
    let (w, a) = poisoned("com").await;
    let m = a.query("www.example.com.", RecordType::A).await;
    assert_eq!(
        lines(&m.answers),
        vec!["www.example.com. 600 A 203.0.113.10"]
    );
    assert_never(&m, EVIL);
    let m = a.query("www.poison.com.", RecordType::A).await;
    assert_eq!(
        addrs(&m),
        vec!["203.0.113.66".parse::<std::net::IpAddr>().unwrap()]
    );
    assert!(!w.server("com").seen().is_empty());
    other_roots_unharmed(&a).await;
}

// The same from the ICANN root server itself, which is authoritative for every
// name: its referrals and answers carry NS sets and addresses for the alternate
// root's TLDs (geek., biz.). Bailiwick alone would let them in; the cross-root rule
// must not. Names under com still resolve, and the alt root is unharmed.
#[tokio::test]
async fn other_roots_tlds_from_the_root_server_are_never_cached_or_served() {
    let (w, a) = poisoned("root").await;
    let m = a.query("www.example.com.", RecordType::A).await;
    assert_eq!(
        lines(&m.answers),
        vec!["www.example.com. 600 A 203.0.113.10"]
    );
    assert_never(&m, EVIL);
    assert!(!w.server("root").seen().is_empty());
    other_roots_unharmed(&a).await;
    // Asked directly, the ICANN root's poisoned copy never reaches a client: the
    // routing sends geek. to the alt root.
    let m = a.query("ns.evil.", RecordType::A).await;
    assert_never(&m, EVIL);
}
