//! Iteration through the fake ICANN hierarchy: root → TLD → leaf, caching, qname
//! minimisation, bailiwick, lame/silent/TCP-only servers and loops.

use std::time::{Duration, Instant};

use hickory_proto::op::ResponseCode;
use hickory_proto::rr::RecordType;

use crate::harness::*;

// root → com → example.com, answer relayed with the leaf's TTL and RA/no AA.
#[tokio::test]
async fn resolves_through_three_levels() {
    let (w, a) = standard("").await;
    let m = a.query("www.example.com.", RecordType::A).await;
    assert_eq!(m.metadata.response_code, ResponseCode::NoError);
    assert_resolver_flags(&m);
    assert_eq!(
        lines(&m.answers),
        vec!["www.example.com. 600 A 203.0.113.10"]
    );
    // One priming question (RFC 8109), then one minimised question per level.
    assert_eq!(asked(&w, "root"), vec![". NS", "com. NS"]);
    assert_eq!(w.server("com").seen().len(), 1);
    assert_eq!(w.server("example.com").seen().len(), 1);
}

// The second query is answered from the cache: no new upstream query, TTL lower or equal.
#[tokio::test]
async fn positive_answers_are_cached() {
    let (w, a) = standard("").await;
    a.query("www.example.com.", RecordType::A).await;
    let before = w.total_queries();
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let m = a.query("www.example.com.", RecordType::A).await;
    assert_eq!(w.total_queries(), before, "answered from cache");
    assert_eq!(m.answers.len(), 1);
    assert!(
        m.answers[0].ttl < 600 && m.answers[0].ttl >= 597,
        "TTL counts down: {}",
        m.answers[0].ttl
    );
    // A sibling name reuses the cached delegation: only the leaf is asked.
    a.query("alias.example.com.", RecordType::A).await;
    assert_eq!(asked(&w, "root"), vec![". NS", "com. NS"]);
    assert_eq!(w.server("com").seen().len(), 1);
}

// NXDOMAIN and NODATA from a leaf: SOA in authority with min(TTL, MINIMUM), cached.
#[tokio::test]
async fn negative_answers_are_cached_with_soa_ttl() {
    let (w, a) = standard("").await;
    let m = a.query("nope.example.com.", RecordType::A).await;
    assert_eq!(m.metadata.response_code, ResponseCode::NXDomain);
    assert_resolver_flags(&m);
    assert_eq!(m.authorities.len(), 1);
    assert_eq!(m.authorities[0].record_type(), RecordType::SOA);
    assert_eq!(m.authorities[0].ttl, 60, "min(SOA TTL 300, MINIMUM 60)");
    let leaf = w.server("example.com").seen().len();
    let m = a.query("nope.example.com.", RecordType::A).await;
    assert_eq!(m.metadata.response_code, ResponseCode::NXDomain);
    assert_eq!(
        w.server("example.com").seen().len(),
        leaf,
        "NXDOMAIN came from cache"
    );

    let m = a.query("www.example.com.", RecordType::TXT).await;
    assert_eq!(m.metadata.response_code, ResponseCode::NoError);
    assert!(m.answers.is_empty());
    assert_eq!(m.authorities[0].record_type(), RecordType::SOA);
    let leaf = w.server("example.com").seen().len();
    a.query("www.example.com.", RecordType::TXT).await;
    assert_eq!(
        w.server("example.com").seen().len(),
        leaf,
        "NODATA came from cache"
    );
}

// A name that the ICANN root does not have.
#[tokio::test]
async fn nxdomain_from_the_root() {
    let (_w, a) = standard("").await;
    let m = a.query("www.nosuchtld.", RecordType::A).await;
    assert_eq!(m.metadata.response_code, ResponseCode::NXDomain);
    assert_eq!(m.authorities[0].name, name("."));
}

// Wildcards and CNAMEs on a remote leaf.
#[tokio::test]
async fn remote_wildcard_and_cname() {
    let (_w, a) = standard("").await;
    // The fake leaf expands only the immediate parent's wildcard, so two labels
    // below it are NXDOMAIN there: relayed as such, with the leaf's SOA.
    let m = a.query("a.b.wild.example.com.", RecordType::A).await;
    assert_eq!(m.metadata.response_code, ResponseCode::NXDomain);
    assert_eq!(m.authorities[0].name, name("example.com."));
    let m = a.query("x.wild.example.com.", RecordType::A).await;
    assert_eq!(
        lines(&m.answers),
        vec!["x.wild.example.com. 300 A 203.0.113.99"]
    );
    let m = a.query("alias.example.com.", RecordType::A).await;
    assert_eq!(
        lines(&m.answers),
        vec![
            "alias.example.com. 300 CNAME www.example.com.",
            "www.example.com. 600 A 203.0.113.10"
        ]
    );
}

// QNAME minimisation (RFC 9156): the root and the TLD see only the labels they need.
#[tokio::test]
async fn qname_minimisation_hides_the_full_name_from_parents() {
    let (w, a) = standard("").await;
    a.query("www.example.com.", RecordType::A).await;
    assert_eq!(asked(&w, "root"), vec![". NS", "com. NS"]);
    assert_eq!(asked(&w, "com"), vec!["example.com. NS"]);
    // An empty non-terminal on the way (sub.example.com) costs one more label, then works.
    let m = a.query("empty.sub.example.com.", RecordType::TXT).await;
    assert_eq!(m.answers.len(), 1);
}

// With minimisation off, every server sees the full name.
#[tokio::test]
async fn qname_minimisation_can_be_turned_off() {
    let (w, a) = standard_cfg(|_, c| {
        c.replace(
            "hints = \"hints.txt\"",
            "hints = \"hints.txt\"\nqname-minimisation = false",
        )
    })
    .await;
    a.query("www.example.com.", RecordType::A).await;
    assert_eq!(asked(&w, "root"), vec![". NS", "www.example.com. A"]);
}

// A delegation whose servers are REFUSED, an upward referral, or silent, plus one
// good server: the good one answers, within the query timeout.
#[tokio::test]
async fn lame_and_silent_servers_are_skipped() {
    let (w, a) = standard("").await;
    let t = Instant::now();
    let m = a.query("www.mixed.com.", RecordType::A).await;
    assert_eq!(m.metadata.response_code, ResponseCode::NoError);
    assert_eq!(lines(&m.answers), vec!["www.mixed.com. 300 A 203.0.113.20"]);
    assert!(
        t.elapsed() < Duration::from_secs(3),
        "within query-timeout: {:?}",
        t.elapsed()
    );
    assert!(!w.server("silent").seen().is_empty() || !w.server("lame").seen().is_empty());
}

// Only lame servers: SERVFAIL, not a hang.
#[tokio::test]
async fn lame_only_delegation_is_servfail() {
    let (_w, a) = standard("").await;
    let m = a.query("www.lame.com.", RecordType::A).await;
    assert_eq!(m.metadata.response_code, ResponseCode::ServFail);
    assert_resolver_flags(&m);
    let m = a.query("www.upward.com.", RecordType::A).await;
    assert_eq!(m.metadata.response_code, ResponseCode::ServFail);
}

// A server that never answers: SERVFAIL within query-timeout (3 s here).
#[tokio::test]
async fn unreachable_server_is_servfail_within_timeout() {
    let (_w, a) = standard("").await;
    let t = Instant::now();
    let m = a.query("www.silent.com.", RecordType::A).await;
    let took = t.elapsed();
    assert_eq!(m.metadata.response_code, ResponseCode::ServFail);
    assert!(took <= Duration::from_millis(3300), "took {took:?}");
}

// A server that answers only over TCP (TC=1 over UDP): retried over TCP.
#[tokio::test]
async fn truncated_answer_is_retried_over_tcp() {
    let (w, a) = standard("").await;
    let m = a.query("www.tcponly.com.", RecordType::A).await;
    assert_eq!(
        lines(&m.answers),
        vec!["www.tcponly.com. 300 A 203.0.113.30"]
    );
    let seen = w.server("tcponly").seen();
    assert!(
        seen.iter().any(|s| !s.tcp) && seen.iter().any(|s| s.tcp),
        "{seen:?}"
    );
}

// A delegation with no glue: the NS name is resolved first (in another TLD).
#[tokio::test]
async fn glueless_delegation() {
    let (_w, a) = standard("").await;
    let m = a.query("www.glueless.com.", RecordType::A).await;
    assert_eq!(
        lines(&m.answers),
        vec!["www.glueless.com. 300 A 203.0.113.50"]
    );
}

// Two zones whose name servers live in each other, with no glue: SERVFAIL, bounded.
#[tokio::test]
async fn glueless_loop_is_servfail() {
    let (_w, a) = standard("").await;
    let t = Instant::now();
    let m = a.query("www.loop.com.", RecordType::A).await;
    assert_eq!(m.metadata.response_code, ResponseCode::ServFail);
    assert!(t.elapsed() <= Duration::from_millis(3300));
}

// A cached answer of one root never answers a name routed to another: the ICANN
// root learns (and caches) its www.biz first; a client still gets the alt root's.
#[tokio::test]
async fn roots_do_not_share_cache() {
    let (w, a) = standard("").await;
    let o = a
        .router()
        .answer_in(1, &name("www.biz."), RecordType::A)
        .await;
    assert_eq!(lines(&o.answers), vec!["www.biz. 300 A 203.0.113.60"]);
    let before = w.server("icann-biz-web").seen().len();
    assert!(before >= 1, "the ICANN side was really asked");
    let m = a.query("www.biz.", RecordType::A).await;
    assert_eq!(lines(&m.answers), vec!["www.biz. 3600 A 192.0.2.10"]);
    // …and asking ICANN again comes from its own cache, not from the alt root's.
    let o = a
        .router()
        .answer_in(1, &name("www.biz."), RecordType::A)
        .await;
    assert!(
        lines(&o.answers)[0].ends_with(" A 203.0.113.60"),
        "{:?}",
        o.answers
    );
    assert_eq!(w.server("icann-biz-web").seen().len(), before);
}

// Bailiwick (DESIGN §4.5): records a server adds outside the zone it was asked about
// are dropped, whether they name an ICANN zone or an alt-root name.
#[tokio::test]
async fn out_of_bailiwick_records_are_ignored() {
    let (_w, a) = standard("").await;
    let m = a.query("www.poison.com.", RecordType::A).await;
    assert_eq!(
        lines(&m.answers),
        vec!["www.poison.com. 300 A 203.0.113.66"]
    );
    let m = a.query("www.example.org.", RecordType::A).await;
    assert_eq!(
        lines(&m.answers),
        vec!["www.example.org. 300 A 203.0.113.40"]
    );
    let m = a.query("www.geek.", RecordType::A).await;
    assert_eq!(lines(&m.answers), vec!["www.geek. 3600 A 192.0.2.1"]);
    let m = a.query("www.example.com.", RecordType::A).await;
    assert_eq!(
        lines(&m.answers),
        vec!["www.example.com. 600 A 203.0.113.10"]
    );
}

// A server that predates EDNS answers FORMERR to an OPT record: asked again without.
#[tokio::test]
async fn server_without_edns_is_asked_again_plainly() {
    let (w, a) = standard("").await;
    let m = a.query("www.oldserver.com.", RecordType::A).await;
    assert_eq!(
        lines(&m.answers),
        vec!["www.oldserver.com. 300 A 203.0.113.33"]
    );
    assert!(w.server("noedns").seen().len() >= 2);
}

// A delegation whose only name server has an IPv6 address: used when the root says
// `ipv6 = true`, unusable (SERVFAIL, no packet sent) when it does not.
#[tokio::test]
async fn ipv6_servers_only_when_enabled() {
    let w = crate::world::World::start(|b| {
        let mut specs = standard_world(b);
        specs.push(crate::world::spec(
            "v6",
            "::1".parse().unwrap(),
            &[("v6only.com.", "@ SOA ns1.v6only.com. h.example. 1 1 1 1 60\n@ NS ns1.v6only.com.\nns1 AAAA ::1\nwww A 203.0.113.6")],
            crate::world::Behaviour::Normal,
        ));
        specs
    })
    .await;
    let mut files = alt_zones(&w);
    files.push(("hints.txt", hints(&w)));
    let a = Altroot::start(&config(&w, ""), &files).await;
    let m = a.query("www.v6only.com.", RecordType::A).await;
    assert_eq!(m.metadata.response_code, ResponseCode::ServFail);
    assert!(w.server("v6").seen().is_empty());

    let cfg = config(&w, "").replace(
        "hints = \"hints.txt\"",
        "hints = \"hints.txt\"\nipv6 = true",
    );
    let a = Altroot::start(&cfg, &files).await;
    let m = a.query("www.v6only.com.", RecordType::A).await;
    assert_eq!(lines(&m.answers), vec!["www.v6only.com. 300 A 203.0.113.6"]);
    assert_eq!(w.server("v6").seen().len(), 1);
}

// Many clients asking the same uncached question at once cause one resolution.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_identical_questions_share_one_resolution() {
    let (w, a) = standard("").await;
    let addr = a.addr;
    let asks: Vec<_> = (0..20)
        .map(|_| tokio::spawn(async move { query(addr, "www.example.com.", RecordType::A).await }))
        .collect();
    for t in asks {
        let m = t.await.unwrap();
        assert_eq!(
            addrs(&m),
            vec!["203.0.113.10".parse::<std::net::IpAddr>().unwrap()]
        );
    }
    assert_eq!(
        w.server("example.com").seen().len(),
        1,
        "{:?}",
        w.server("example.com").seen()
    );
    assert_eq!(asked(&w, "root"), vec![". NS", "com. NS"]);
}

// A server that timed out is tried last for a while: the second question to the
// same delegation does not wait for it again.
#[tokio::test]
async fn a_silent_server_is_tried_last_afterwards() {
    let (w, a) = standard("").await;
    // mixed.com: silent, lame (REFUSED), upward, good. The first query pays for the
    // silent one (and marks it down); the next, for another name, does not.
    a.query("www.mixed.com.", RecordType::A).await;
    let silent_before = w.server("silent").seen().len();
    let t = Instant::now();
    let m = a.query("other.mixed.com.", RecordType::A).await;
    assert_eq!(m.metadata.response_code, ResponseCode::NXDomain);
    assert_eq!(
        w.server("silent").seen().len(),
        silent_before,
        "the silent server was skipped"
    );
    assert!(
        t.elapsed() < Duration::from_millis(700),
        "{:?}",
        t.elapsed()
    );
}
