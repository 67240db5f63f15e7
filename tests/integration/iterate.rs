//! Iteration through the fake ICANN hierarchy: root → TLD → leaf, caching, qname
//! minimisation, bailiwick, lame/silent/TCP-only servers and loops.

use std::time::{Duration, Instant};

use altroot::resolver::cache::{Data, Hit, Key};
use hickory_proto::op::ResponseCode;
use hickory_proto::rr::{LowerName, RecordType};

use crate::harness::*;
use crate::world::World;

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

// RFC 1035 §3.2.1 / RFC 2181 §8: a cached RRset is served with the TTL that is left,
// counted on the wall clock, and only until it runs out. The second query is
// answered from the cache (no upstream query) with the TTL lowered by the time that
// passed (the service's clock moved 100 s); a sibling name reuses the cached
// delegation; past the TTL the leaf is asked again and the full TTL comes back.
#[tokio::test]
async fn positive_answers_are_cached() {
    let (w, a) = standard("").await;
    let m = a.query("www.example.com.", RecordType::A).await;
    assert_eq!(
        lines(&m.answers),
        vec!["www.example.com. 600 A 203.0.113.10"]
    );
    let before = w.total_queries();
    a.service.clock().advance(Duration::from_secs(100));
    let m = a.query("www.example.com.", RecordType::A).await;
    assert_eq!(w.total_queries(), before, "answered from cache");
    assert_eq!(m.answers.len(), 1);
    // 500, or 499 if a wall-clock second began between the two queries.
    assert!(
        (499..=500).contains(&m.answers[0].ttl),
        "TTL counts down with the clock: {}",
        m.answers[0].ttl
    );
    // A sibling name reuses the cached delegation (TTL 300): only the leaf is asked.
    a.query("alias.example.com.", RecordType::A).await;
    assert_eq!(asked(&w, "root"), vec![". NS", "com. NS"]);
    assert_eq!(w.server("com").seen().len(), 1);
    // 600 s after the first answer it has expired: the leaf is asked again.
    let leaf = w.server("example.com").seen().len();
    a.service.clock().advance(Duration::from_secs(500));
    let m = a.query("www.example.com.", RecordType::A).await;
    assert_eq!(
        lines(&m.answers),
        vec!["www.example.com. 600 A 203.0.113.10"]
    );
    assert_eq!(
        w.server("example.com").seen().len(),
        leaf + 1,
        "expired: asked again"
    );
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
    // The leaf's NXDOMAIN (no wildcard at the closest encloser, example.com.) is
    // relayed as such, with the leaf's SOA.
    let m = a.query("a.b.nothere.example.com.", RecordType::A).await;
    assert_eq!(m.metadata.response_code, ResponseCode::NXDomain);
    assert_eq!(m.authorities[0].name, name("example.com."));
    // `*.wild` answers one label below and more (RFC 4592: b.wild does not exist).
    for n in ["x.wild.example.com.", "a.b.wild.example.com."] {
        let m = a.query(n, RecordType::A).await;
        assert_eq!(lines(&m.answers), vec![format!("{n} 300 A 203.0.113.99")]);
    }
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
        edit(
            &c,
            "hints = \"hints.txt\"",
            "hints = \"hints.txt\"\nqname-minimisation = false",
        )
    })
    .await;
    a.query("www.example.com.", RecordType::A).await;
    assert_eq!(asked(&w, "root"), vec![". NS", "www.example.com. A"]);
}

// RFC 1034 §5.3.3 (step 4: a server failure or bizarre contents → the next server):
// a server that does not answer, answers REFUSED or gives an upward referral is
// lame for the zone, and the resolver goes on to the next server of the delegation. mixed.com's referral lists silent, lame (REFUSED),
// upward and the good server, in that order, and servers never asked before are
// tried in the referral's order: each bad one is asked the question once (no
// retries within one resolution), then the good one answers, within query-timeout.
#[tokio::test]
async fn lame_and_silent_servers_are_skipped() {
    let (w, a) = standard("").await;
    let t = Instant::now();
    let m = a.query("www.mixed.com.", RecordType::A).await;
    let took = t.elapsed();
    assert_eq!(m.metadata.response_code, ResponseCode::NoError);
    assert_resolver_flags(&m);
    assert_eq!(lines(&m.answers), vec!["www.mixed.com. 300 A 203.0.113.20"]);
    assert!(
        took < Duration::from_secs(3),
        "within query-timeout: {took:?}"
    );
    for server in ["silent", "lame", "upward", "example.com"] {
        assert_eq!(asked(&w, server), vec!["www.mixed.com. A"], "{server}");
    }
    // The silent server's one try was waited out (a quarter of query-timeout).
    assert!(took >= Duration::from_millis(700), "{took:?}");
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

/// The standard world with `edit` applied to its servers, and an altroot in front of
/// it with the standard alt zones changed by `files` and the config by `cfg`.
async fn edited_world(
    edit: impl Fn([u8; 3], &mut Vec<crate::world::Spec>),
    files: impl FnOnce(&World, &mut Vec<(&'static str, String)>),
    cfg: impl FnOnce(&World, String) -> String,
) -> (World, Altroot) {
    let w = World::start(|b| {
        let mut specs = standard_world(b);
        edit(b, &mut specs);
        specs
    })
    .await;
    let mut f = alt_zones(&w);
    f.push(("hints.txt", hints(&w)));
    files(&w, &mut f);
    let a = Altroot::start(&cfg(&w, config(&w, "")), &f).await;
    (w, a)
}

/// The A records root `root` has cached for `n` (any trust), as "name addr".
fn cached_a(a: &Altroot, root: usize, n: &str) -> Vec<String> {
    let key = Key::Set(LowerName::new(&name(n)), RecordType::A);
    let now = a.service.clock().now();
    match a.service.resolver.roots[root].cache.get(&key, now) {
        Some(Hit {
            data: Data::Records(r),
            ..
        }) => r.iter().map(|r| format!("{} {}", r.name, r.data)).collect(),
        _ => Vec::new(),
    }
}

// Each root has its own cache (docs/resolution.md "How a name is resolved" 5): a name two roots
// answer from the network is cached per root, and a root's cached answer never
// answers a name routed to another root. Here both roots reach biz. over the network
// (the alt root's root.zone delegates biz. to an outside server instead of serving a
// biz.zone): the ICANN root learns and caches its www.biz first, then a client (biz is
// routed to the alt root) gets the alt root's www.biz, learned from its own server;
// asked again, each root answers from its own cache.
#[tokio::test]
async fn roots_do_not_share_cache() {
    const ALT_BIZ: u8 = 20;
    let (w, a) = edited_world(
        |b, specs| {
            specs.push(crate::world::spec(
                "alt-biz",
                World::ip(b, ALT_BIZ),
                &[(
                    "biz.",
                    &format!(
                        "@ SOA ns1.nic.biz. h.biz. 1 1 1 1 60\n@ NS ns1.nic.biz.\nns1.nic A {}\nwww A 192.0.2.10",
                        World::ip(b, ALT_BIZ)
                    ),
                )],
                crate::world::Behaviour::Normal,
            ))
        },
        |w, files| {
            files.retain(|(p, _)| *p != "zones/biz.zone");
            let root = files.iter_mut().find(|(p, _)| *p == "zones/root.zone").unwrap();
            root.1.push_str(&format!(
                "biz. NS ns1.nic.biz.\nns1.nic.biz. A {}\n",
                World::ip(w.block, ALT_BIZ)
            ));
        },
        |_, c| c,
    )
    .await;
    let o = a
        .router()
        .answer_in(1, &name("www.biz."), RecordType::A)
        .await;
    assert_eq!(lines(&o.answers), vec!["www.biz. 300 A 203.0.113.60"]);
    assert_eq!(asked(&w, "icann-biz-web"), vec!["www.biz. A"]);
    assert_eq!(cached_a(&a, 1, "www.biz."), vec!["www.biz. 203.0.113.60"]);
    assert_eq!(cached_a(&a, 0, "www.biz."), Vec::<String>::new());

    let m = a.query("www.biz.", RecordType::A).await;
    assert_eq!(lines(&m.answers), vec!["www.biz. 300 A 192.0.2.10"]);
    assert_eq!(
        asked(&w, "alt-biz"),
        vec!["www.biz. A"],
        "learned by the alt root"
    );
    assert_eq!(cached_a(&a, 0, "www.biz."), vec!["www.biz. 192.0.2.10"]);
    assert_eq!(cached_a(&a, 1, "www.biz."), vec!["www.biz. 203.0.113.60"]);

    // Again: each from its own cache, no server asked.
    let o = a
        .router()
        .answer_in(1, &name("www.biz."), RecordType::A)
        .await;
    assert_eq!(addrs_of(&o.answers), vec!["203.0.113.60"]);
    let m = a.query("www.biz.", RecordType::A).await;
    assert_eq!(addrs_of(&m.answers), vec!["192.0.2.10"]);
    assert_eq!(w.server("icann-biz-web").seen().len(), 1);
    assert_eq!(w.server("alt-biz").seen().len(), 1);
}

fn addrs_of(records: &[hickory_proto::rr::Record]) -> Vec<String> {
    records.iter().map(|r| r.data.to_string()).collect()
}

// Bailiwick (RFC 2181 §5.4.1, docs/resolution.md "How a name is resolved" 3): a server is
// believed only about the zone it was asked about, and glue only for the referral's
// NS names inside that zone. poison.com's server adds to every reply records for
// names outside poison.com: www.example.org and www.geek (an alt-root name) A
// 6.6.6.6 and a DNAME com. → geek. in the answer section, ns.example.org and
// a.gtld.com A 6.6.6.6 in the additional section. Here poison.com also has
// alias CNAME www.example.org, where the planted DNAME (above poison.com, so not
// the server's to give) would redirect the chain into geek. if believed; and it
// delegates deleg.poison.com to ns.example.org, so the planted ns.example.org
// address comes as glue of a referral that must be followed: a resolver without
// the filter would ask 6.6.6.6 (the config denies every address but loopback, so no
// packet can leave the machine) instead of the real ns.example.org. None of the
// planted records may enter either root's cache, and later queries for exactly the
// planted names get the real data.
#[tokio::test]
async fn out_of_bailiwick_records_are_ignored() {
    let (w, a) = edited_world(
        |_, specs| {
            for s in specs.iter_mut() {
                match s.name {
                    "poison" => s.zones[0]
                        .1
                        .push_str("\nalias CNAME www.example.org.\ndeleg NS ns.example.org.\n"),
                    "example.org" => s.zones.push((
                        "deleg.poison.com.".into(),
                        "@ SOA ns.example.org. h.example. 1 1 1 1 60\n@ NS ns.example.org.\nwww A 203.0.113.67".into(),
                    )),
                    _ => {}
                }
            }
        },
        |_, _| {},
        |_, c| {
            edit(
                &c,
                "query-timeout = \"3s\"",
                "query-timeout = \"3s\"\nupstream-deny = [\"0.0.0.0/0\", \"::/0\"]",
            )
        },
    )
    .await;
    let planted = [
        "www.example.org.",
        "ns.example.org.",
        "a.gtld.com.",
        "www.geek.",
    ];
    let m = a.query("www.poison.com.", RecordType::A).await;
    assert_eq!(
        lines(&m.answers),
        vec!["www.poison.com. 300 A 203.0.113.66"]
    );
    let m = a.query("alias.poison.com.", RecordType::A).await;
    assert_eq!(
        lines(&m.answers),
        vec![
            "alias.poison.com. 300 CNAME www.example.org.",
            "www.example.org. 300 A 203.0.113.40"
        ]
    );
    let m = a.query("www.deleg.poison.com.", RecordType::A).await;
    assert_eq!(
        lines(&m.answers),
        vec!["www.deleg.poison.com. 300 A 203.0.113.67"]
    );
    assert!(
        asked(&w, "poison").contains(&"deleg.poison.com. NS".to_string()),
        "the poisoned referral was received: {:?}",
        asked(&w, "poison")
    );
    // …and followed to the real ns.example.org (the only server of that zone).
    assert!(
        asked(&w, "example.org").contains(&"www.deleg.poison.com. A".to_string()),
        "{:?}",
        asked(&w, "example.org")
    );
    for n in planted {
        for root in [0, 1] {
            let c = cached_a(&a, root, n);
            assert!(
                c.iter().all(|l| !l.contains("6.6.6.6")),
                "root {root} cached planted data: {c:?}"
            );
        }
    }
    let dname = Key::Set(LowerName::new(&name("com.")), RecordType::DNAME);
    let now = a.service.clock().now();
    for root in [0, 1] {
        let c = a.service.resolver.roots[root].cache.get(&dname, now);
        assert!(c.is_none(), "root {root} cached the planted DNAME: {c:?}");
    }
    let real = [
        ("www.example.org.", "203.0.113.40".to_string()),
        (
            "ns.example.org.",
            World::ip(w.block, host::EXAMPLE_ORG).to_string(),
        ),
        ("a.gtld.com.", World::ip(w.block, host::COM).to_string()),
        ("www.geek.", "192.0.2.1".to_string()),
    ];
    for (n, want) in real {
        let m = a.query(n, RecordType::A).await;
        assert_eq!(addrs_of(&m.answers), vec![want], "{n}");
    }
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
    let w = World::start(|b| {
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

    let cfg = edit(
        &config(&w, ""),
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

// `root-port` (issue 17): the root server listens on a port of its own (as hsd's
// does, 5349 beside TLD servers on 53), the servers below on the world's. With
// `root-port` the root (hints and primed set) is asked there and the TLD servers
// on `port`; without it, the root is asked on `port`, where nobody listens.
#[tokio::test]
async fn root_servers_on_their_own_port() {
    use crate::worlds::{base, good_spec, root_spec};
    let w = World::start(|b| {
        let mut v = base(b, "", "");
        v[0] = root_spec(b).on_own_port();
        v.push(good_spec(b, &[]));
        v
    })
    .await;
    let root_port = w.server("root").addr().port();
    assert_ne!(root_port, w.port);
    let cfg = |keys: &str| {
        format!(
            "[server]\nlisten = [\"127.0.0.1:0\"]\nquery-timeout = \"2s\"\n\n{}{keys}",
            icann_root(&w)
        )
    };
    let a = Altroot::start(
        &cfg(&format!("root-port = {root_port}\n")),
        &[("hints.txt", hints(&w))],
    )
    .await;
    let m = a.query("www.good.net.", RecordType::A).await;
    assert_eq!(
        (m.metadata.response_code, lines(&m.answers)),
        (
            ResponseCode::NoError,
            vec!["www.good.net. 300 A 203.0.113.2".to_string()]
        )
    );
    assert_eq!(asked(&w, "root"), vec![". NS", "net. NS"]);
    assert_eq!(asked(&w, "net"), vec!["good.net. NS"]);
    a.stop().await;
    // Without root-port nothing answers on the world's port at the root's address.
    let a = Altroot::start(&cfg(""), &[("hints.txt", hints(&w))]).await;
    let m = a.query("www.good.net.", RecordType::A).await;
    assert_eq!(m.metadata.response_code, ResponseCode::ServFail);
    assert_eq!(asked(&w, "root"), vec![". NS", "net. NS"]);
}
