//! Resolution behaviours that an outside recursion test suite checks (issue 7,
//! "Resolution behaviours" 1–8): parent and child NS sets, bad and missing glue under
//! QNAME minimisation, name-server cycles, DNAME, TTLs and the wall clock, AAAA-only
//! lameness, answers of another type, and no speculative queries.

use std::net::IpAddr;
use std::time::Duration;

use hickory_proto::op::{Message, ResponseCode};
use hickory_proto::rr::RecordType;

use crate::harness::*;
use crate::world::{Behaviour, Lame, Spec, World, dname_target, spec};
use crate::worlds::*;

/// The names (without types: minimised questions may use NS or A) a server was
/// asked, leaving out priming (`.`).
fn names(w: &World, server: &str) -> Vec<String> {
    w.server(server)
        .seen()
        .iter()
        .filter(|s| !s.name.is_root())
        .map(|s| s.name.to_string())
        .collect()
}

/// The answer section as lines; a DNAME shows its target.
fn answer_lines(m: &Message) -> Vec<String> {
    m.answers
        .iter()
        .map(|r| match dname_target(r) {
            Some(t) => format!("{} {} DNAME {}", r.name, r.ttl, t),
            None => format!("{} {} {} {}", r.name, r.ttl, r.record_type(), r.data),
        })
        .collect()
}

//------------ 1. Parent and child NS sets ------------------------------------------

// zone.com: the parent (com) names ns-p.zone.com (a working server); the child's
// own apex NS set names only ns-c.zone.com, a server that is lame, fails or sends
// garbage. Once the child's set and its address are known (a client asked for
// both), the resolver must fall back to the parent's server when the child's fails:
// never SERVFAIL while a working server remains. The parent's server answers after
// 450 ms, slower than the rank of a server never heard from (376 ms): otherwise its
// fast loopback RTT puts it first and the child's server is never asked at all.
#[tokio::test]
async fn failing_child_ns_set_falls_back_to_the_parents_servers() {
    for bad in [
        Behaviour::Refused,
        Behaviour::Servfail,
        Behaviour::Garbage,
        Behaviour::UpwardReferral,
    ] {
        let (w, a) = start(|b| {
            let zone = format!(
                "@ SOA ns-c.zone.com. h.example. 1 1 1 1 60
@ NS ns-c.zone.com.
ns-c A {c}
ns-p A {p}
www A 203.0.113.5
other A 203.0.113.6",
                c = ip(b, 6),
                p = ip(b, 5)
            );
            let mut v = base(
                b,
                &format!("zone NS ns-p.zone\nns-p.zone A {}", ip(b, 5)),
                "",
            );
            v.push(spec(
                "parent-named",
                ip(b, 5),
                &[("zone.com.", &zone)],
                Behaviour::Slow(450),
            ));
            v.push(spec("child-named", ip(b, 6), &[("zone.com.", &zone)], bad));
            v
        })
        .await;
        let m = a.query("zone.com.", RecordType::NS).await;
        assert_eq!(
            lines(&m.answers),
            vec!["zone.com. 300 NS ns-c.zone.com."],
            "{bad:?}"
        );
        let m = a.query("ns-c.zone.com.", RecordType::A).await;
        assert_eq!(addrs(&m), vec![ip(w.block, 6)], "{bad:?}");
        for (n, want) in [("www", "203.0.113.5"), ("other", "203.0.113.6")] {
            let (m, took) = timed(&a, &format!("{n}.zone.com."), RecordType::A).await;
            assert_eq!(
                m.metadata.response_code,
                ResponseCode::NoError,
                "{bad:?} {n}"
            );
            assert_addrs(&m, took, &[want]);
        }
        // The fallback was taken: the child's server was asked first, and failed.
        let child = names(&w, "child-named");
        for n in ["www.zone.com.", "other.zone.com."] {
            assert!(child.iter().any(|c| c == n), "{bad:?}: {child:?}");
        }
    }
}

// The reverse: the parent names ns-p.zone.com; the child's apex NS set (learned from
// an answer to `zone.com. NS`) names ns.childhost.net, another working server. When
// the parent-named server turns lame, the child's set keeps the zone answering.
#[tokio::test]
async fn lame_parent_named_servers_child_ns_set_works() {
    let (w, a) = start(|b| {
        let zone = "@ SOA ns.childhost.net. h.example. 1 1 1 1 60
@ NS ns.childhost.net.
www A 203.0.113.5
other A 203.0.113.6";
        let mut v = base(
            b,
            &format!("zone NS ns-p.zone\nns-p.zone A {}", ip(b, 5)),
            &format!("childhost NS ns.childhost\nns.childhost A {}", ip(b, 7)),
        );
        v.push(spec(
            "parent-named",
            ip(b, 5),
            &[("zone.com.", zone)],
            Behaviour::Normal,
        ));
        // The child-named server serves childhost.net and zone.com.
        let ch = leaf_zone("childhost.net.", &format!("ns A {}", ip(b, 7)));
        v.push(spec(
            "child-named",
            ip(b, 7),
            &[("childhost.net.", &ch), ("zone.com.", zone)],
            Behaviour::Normal,
        ));
        v
    })
    .await;
    let m = a.query("zone.com.", RecordType::NS).await;
    assert_eq!(
        lines(&m.answers),
        vec!["zone.com. 300 NS ns.childhost.net."]
    );
    let (m, took) = timed(&a, "www.zone.com.", RecordType::A).await;
    assert_addrs(&m, took, &["203.0.113.5"]);

    w.set_behaviour("parent-named", Behaviour::Refused);
    let (m, took) = timed(&a, "other.zone.com.", RecordType::A).await;
    assert_addrs(&m, took, &["203.0.113.6"]);
    assert!(
        names(&w, "child-named").contains(&"other.zone.com.".to_string()),
        "{:?}",
        asked(&w, "child-named")
    );
}

//------------ 2. Bad and missing glue under QNAME minimisation ---------------------

/// victim.com: `glue` decides its delegation in com. provider.net (on host 8) holds
/// ns.provider.net → host 6, victim.com's server; host 9 ("evil") holds a bogus copy
/// of victim.com and provider.net.
fn glue_world(b: [u8; 3], delegation: &str) -> Vec<Spec> {
    let mut v = base(
        b,
        delegation,
        &format!("provider NS ns1.provider\nns1.provider A {}", ip(b, 8)),
    );
    v.push(leaf(
        "provider",
        ip(b, 8),
        &[("provider.net.", &format!("ns A {}", ip(b, 6)))],
        Behaviour::Normal,
    ));
    v.push(leaf(
        "victim",
        ip(b, 6),
        &[("victim.com.", "www A 203.0.113.1")],
        Behaviour::Normal,
    ));
    v.push(leaf(
        "evil",
        ip(b, 9),
        &[
            ("victim.com.", "www A 198.51.100.66"),
            ("provider.net.", &format!("ns A {}", ip(b, 9))),
        ],
        Behaviour::Normal,
    ));
    v
}

/// With QNAME minimisation (the default) each server sees no more labels than it
/// needs: the root one, the TLD servers two.
fn assert_minimised(w: &World) {
    for (s, most) in [("root", 1), ("com", 2), ("net", 2)] {
        for n in names(w, s) {
            let labels = n.trim_end_matches('.').split('.').count();
            assert!(labels <= most, "{s} was asked {n}: {:?}", asked(w, s));
        }
    }
}

// com's referral for victim.com names ns.provider.net with an address for it (glue
// outside com: not com's to give). The address must never be asked; the name is
// resolved through net instead.
#[tokio::test]
async fn out_of_bailiwick_glue_is_never_asked_under_qmin() {
    let (w, a) = start(|b| {
        glue_world(
            b,
            &format!(
                "victim NS ns.provider.net.\nns.provider.net. A {}",
                ip(b, 9)
            ),
        )
    })
    .await;
    let (m, took) = timed(&a, "www.victim.com.", RecordType::A).await;
    assert_answer(&m, took, &["www.victim.com. 300 A 203.0.113.1"]);
    assert!(
        w.server("evil").seen().is_empty(),
        "{:?}",
        asked(&w, "evil")
    );
    assert_eq!(names(&w, "provider"), vec!["ns.provider.net."]);
    assert_eq!(asked(&w, "victim"), vec!["www.victim.com. A"]);
    assert_minimised(&w);
    // The bogus address never became ns.provider.net's.
    let m = a.query("ns.provider.net.", RecordType::A).await;
    assert_eq!(addrs(&m), vec![ip(w.block, 6)]);
}

// com's referral for victim.com names ns.provider.net without any address: it is
// looked up (A only), then victim.com's server is asked once.
#[tokio::test]
async fn missing_glue_is_looked_up_under_qmin() {
    let (w, a) = start(|b| glue_world(b, "victim NS ns.provider.net.")).await;
    let (m, took) = timed(&a, "www.victim.com.", RecordType::A).await;
    assert_answer(&m, took, &["www.victim.com. 300 A 203.0.113.1"]);
    assert_eq!(asked(&w, "provider"), vec!["ns.provider.net. A"]);
    assert_eq!(asked(&w, "victim"), vec!["www.victim.com. A"]);
    assert!(w.server("evil").seen().is_empty());
    assert_minimised(&w);
}

//------------ 3. Name-server cycles ----------------------------------------------

// victim.com's NS set: ns1.victim.com (inside the zone it serves, no glue: it can
// only be found by asking victim.com itself) and ns.provider.net (works). Answered
// quickly, with a small number of queries and no query to any server about
// ns1.victim.com beyond what the cycle needs to be noticed.
#[tokio::test]
async fn ns_cycle_beside_a_working_ns_name() {
    let (w, a) =
        start(|b| glue_world(b, "victim NS ns1.victim.com.\nvictim NS ns.provider.net.")).await;
    let (m, took) = timed(&a, "www.victim.com.", RecordType::A).await;
    assert_answer(&m, took, &["www.victim.com. 300 A 203.0.113.1"]);
    assert!(took < Duration::from_secs(1), "{took:?}");
    let n = w.total_queries();
    assert!(n <= 10, "{n} queries: {:?}", w.all_seen());
    let (m, took) = timed(&a, "other.victim.com.", RecordType::A).await;
    assert_eq!(m.metadata.response_code, ResponseCode::NXDomain);
    assert!(took < Duration::from_secs(1), "{took:?}");
}

//------------ 4. DNAME ----------------------------------------------------------

/// victim.com (served with `behaviour`) has `old DNAME new.provider.net.`;
/// provider.net has www.new and mail.new.
fn dname_world(behaviour: Behaviour) -> impl Fn([u8; 3]) -> Vec<Spec> {
    move |b| {
        let mut v = base(
            b,
            &format!("victim NS ns1.victim\nns1.victim A {}", ip(b, 6)),
            &format!("provider NS ns1.provider\nns1.provider A {}", ip(b, 8)),
        );
        v.push(leaf(
            "victim",
            ip(b, 6),
            &[(
                "victim.com.",
                "old DNAME new.provider.net.\nwww A 203.0.113.1",
            )],
            behaviour,
        ));
        v.push(leaf(
            "provider",
            ip(b, 8),
            &[(
                "provider.net.",
                "www.new A 203.0.113.77\nmail.new A 203.0.113.78",
            )],
            Behaviour::Normal,
        ));
        v
    }
}

async fn dname_is_followed(behaviour: Behaviour) {
    let (w, a) = start(dname_world(behaviour)).await;
    let (m, took) = timed(&a, "www.old.victim.com.", RecordType::A).await;
    assert_eq!(m.metadata.response_code, ResponseCode::NoError);
    assert_resolver_flags(&m);
    assert!(took < IN_TIME);
    assert_eq!(
        answer_lines(&m),
        vec![
            "old.victim.com. 300 DNAME new.provider.net.",
            "www.old.victim.com. 300 CNAME www.new.provider.net.",
            "www.new.provider.net. 300 A 203.0.113.77",
        ],
        "{behaviour:?}"
    );
    assert!(asked(&w, "victim").contains(&"www.old.victim.com. A".to_string()));
    // Another name below the DNAME (the DNAME may come from the cache).
    let m = a.query("mail.old.victim.com.", RecordType::A).await;
    let types: Vec<RecordType> = m.answers.iter().map(|r| r.record_type()).collect();
    assert_eq!(
        types,
        vec![RecordType::DNAME, RecordType::CNAME, RecordType::A]
    );
    assert_eq!(addrs(&m), vec!["203.0.113.78".parse::<IpAddr>().unwrap()]);
    assert_eq!(m.answers[1].name, name("mail.old.victim.com."));
}

// RFC 6672 from a remote authority: the client gets the DNAME, the CNAME synthesised
// for the asked name, and the target's data.
#[tokio::test]
async fn dname_from_a_remote_authority_is_followed() {
    dname_is_followed(Behaviour::Normal).await;
}

// A server that sends the DNAME without the synthesised CNAME: the resolver
// synthesises it (RFC 6672 §3.4) and answers the same.
#[tokio::test]
async fn dname_without_cname_is_followed() {
    dname_is_followed(Behaviour::DnameNoCname).await;
}

//------------ 5. TTLs and the wall clock -------------------------------------------

/// victim.com on host 6: `zero 0 A` and `www A` (TTL 300).
fn ttl_world(b: [u8; 3]) -> Vec<Spec> {
    let mut v = base(
        b,
        &format!("victim NS ns1.victim\nns1.victim A {}", ip(b, 6)),
        "",
    );
    v.push(leaf(
        "victim",
        ip(b, 6),
        &[("victim.com.", "zero 0 A 203.0.113.5\nwww A 203.0.113.1")],
        Behaviour::Normal,
    ));
    v
}

fn count(w: &World, server: &str, line: &str) -> usize {
    asked(w, server).iter().filter(|l| *l == line).count()
}

// A TTL 0 answer is answered (NOERROR, TTL 0), and not cached: the next question
// reaches the server again (RFC 1035 §3.2.1).
#[tokio::test]
async fn ttl_zero_is_answered_and_not_cached() {
    let (w, a) = start(ttl_world).await;
    for i in 1..=2 {
        let (m, took) = timed(&a, "zero.victim.com.", RecordType::A).await;
        assert_answer(&m, took, &["zero.victim.com. 0 A 203.0.113.5"]);
        assert_eq!(count(&w, "victim", "zero.victim.com. A"), i);
    }
}

// `[cache] min-ttl = "5s"` raises TTL 0 to 5, for the client and the cache; after
// 5 s of wall-clock time the answer is fetched again.
#[tokio::test]
async fn min_ttl_raises_short_ttls_and_caches_them() {
    let (w, a) = start_cfg(ttl_world, "", "[cache]\nmin-ttl = \"5s\"").await;
    let (m, took) = timed(&a, "zero.victim.com.", RecordType::A).await;
    assert_answer(&m, took, &["zero.victim.com. 5 A 203.0.113.5"]);
    let m = a.query("zero.victim.com.", RecordType::A).await;
    assert_eq!(addrs(&m), vec!["203.0.113.5".parse::<IpAddr>().unwrap()]);
    assert!(
        m.answers[0].ttl <= 5 && m.answers[0].ttl >= 4,
        "{:?}",
        lines(&m.answers)
    );
    assert_eq!(count(&w, "victim", "zero.victim.com. A"), 1, "cached");
    a.service.clock().advance(Duration::from_secs(6));
    let m = a.query("zero.victim.com.", RecordType::A).await;
    assert_eq!(lines(&m.answers), vec!["zero.victim.com. 5 A 203.0.113.5"]);
    assert_eq!(count(&w, "victim", "zero.victim.com. A"), 2, "expired");
}

// Cache expiry follows the wall clock: moving it 100 s on leaves a 300 s answer
// cached with TTL ≤ 200; past 300 s it is fetched again.
#[tokio::test]
async fn cache_expiry_follows_the_wall_clock() {
    let (w, a) = start(ttl_world).await;
    let m = a.query("www.victim.com.", RecordType::A).await;
    assert_eq!(lines(&m.answers), vec!["www.victim.com. 300 A 203.0.113.1"]);
    a.service.clock().advance(Duration::from_secs(100));
    let m = a.query("www.victim.com.", RecordType::A).await;
    assert_eq!(addrs(&m), vec!["203.0.113.1".parse::<IpAddr>().unwrap()]);
    let ttl = m.answers[0].ttl;
    assert!((195..=200).contains(&ttl), "TTL {ttl} after 100 s");
    assert_eq!(count(&w, "victim", "www.victim.com. A"), 1, "cached");
    a.service.clock().advance(Duration::from_secs(201));
    let m = a.query("www.victim.com.", RecordType::A).await;
    assert_eq!(lines(&m.answers), vec!["www.victim.com. 300 A 203.0.113.1"]);
    assert_eq!(count(&w, "victim", "www.victim.com. A"), 2, "expired");
}

//------------ 6. Lame for AAAA only -----------------------------------------------

const LAME_KINDS: [(Lame, &str); 3] = [
    (Lame::Refused, "refused"),
    (Lame::Servfail, "servfail"),
    (Lame::UpwardReferral, "lame"),
];

// pair.com: a server that answers A but is lame for AAAA (REFUSED, SERVFAIL or an
// upward referral), asked first, beside a good server: AAAA comes from the good one.
#[tokio::test]
async fn aaaa_lame_server_beside_a_good_one() {
    for (kind, _) in LAME_KINDS {
        let (w, a) = start(fault_world(Behaviour::LameForAaaa(kind))).await;
        let (m, took) = timed(&a, "www.pair.com.", RecordType::AAAA).await;
        assert!(
            asked(&w, "bad-pair").contains(&"www.pair.com. AAAA".to_string()),
            "{kind:?}"
        );
        assert_answer(&m, took, &["www.pair.com. 300 AAAA 2001:db8::1"]);
    }
}

// The same server alone: AAAA is SERVFAIL (in time), while A keeps working from the
// same server, before and after.
#[tokio::test]
async fn aaaa_lame_server_alone() {
    for (kind, code) in LAME_KINDS {
        let (_w, a) = start(fault_world(Behaviour::LameForAaaa(kind))).await;
        let (aaaa, took) = timed(&a, "www.lone.com.", RecordType::AAAA).await;
        assert_servfail_in_time(&aaaa, took);
        let (m, took) = timed(&a, "www.lone.com.", RecordType::A).await;
        assert_answer(&m, took, &[&format!("www.lone.com. 300 A {BAD_A}")]);
        let (m, took) = timed(&a, "www.lone.com.", RecordType::AAAA).await;
        assert_servfail_in_time(&m, took);
        let (m, took) = timed(&a, "www.lone.com.", RecordType::A).await;
        assert_addrs(&m, took, &[BAD_A]);
        assert_ede(&aaaa, &[code, "lame"]);
    }
}

//------------ 7. An answer of another type ----------------------------------------

// To an A question, an authoritative answer section holding only a TXT RRset for the
// name (no CNAME): NODATA (NOERROR, empty answer), not SERVFAIL; the TXT is not
// relayed.
#[tokio::test]
async fn answer_of_another_type_is_nodata() {
    let (_w, a) = start(fault_world(Behaviour::OtherTypeAnswer)).await;
    let (m, took) = timed(&a, "www.lone.com.", RecordType::A).await;
    assert_eq!(m.metadata.response_code, ResponseCode::NoError);
    assert_resolver_flags(&m);
    assert!(m.answers.is_empty(), "{:?}", lines(&m.answers));
    assert!(took < IN_TIME);
    let (m, took) = timed(&a, "www.lone.com.", RecordType::AAAA).await;
    assert_addrs(&m, took, &["2001:db8::66"]);
}

//------------ 8. No speculative queries -------------------------------------------

// victim.com has a glued working server (ns1.victim.com) and two glueless NS names
// (ns.provider.net, ns.other.org): the glueless names are never looked up, and each
// server is asked exactly what the answer needs.
#[tokio::test]
async fn no_lookups_of_glueless_names_while_a_glued_server_works() {
    let (w, a) = start(|b| {
        let mut v = glue_world(
            b,
            &format!(
                "victim NS ns1.victim\nns1.victim A {}\nvictim NS ns.provider.net.\nvictim NS ns.other.org.",
                ip(b, 6)
            ),
        );
        v.retain(|s| s.name != "org");
        v.push(tld_spec(b, "org", &format!("other NS ns.other\nns.other A {}", ip(b, 9))));
        v
    })
    .await;
    for _ in 0..2 {
        let (m, took) = timed(&a, "www.victim.com.", RecordType::A).await;
        assert_addrs(&m, took, &["203.0.113.1"]);
    }
    assert_eq!(names(&w, "root"), vec!["com."]);
    assert_eq!(names(&w, "com"), vec!["victim.com."]);
    assert_eq!(asked(&w, "victim"), vec!["www.victim.com. A"]);
    for s in ["net", "org", "provider", "evil"] {
        assert!(w.server(s).seen().is_empty(), "{s}: {:?}", asked(&w, s));
    }
}

// With `ipv6 = false` (the default) no AAAA question is sent for name-server
// addresses, and an IPv6-only root server of the hints (listed first) is never
// asked, neither for priming nor for anything else.
#[tokio::test]
async fn no_aaaa_lookups_and_no_ipv6_servers_without_ipv6() {
    let w = World::start(|b| {
        let mut v = glue_world(b, "victim NS ns.provider.net.");
        let root = root_spec(b);
        v.push(spec(
            "root6",
            "::1".parse().unwrap(),
            &[(".", &root.zones[0].1)],
            Behaviour::Normal,
        ));
        v
    })
    .await;
    let hints = format!(
        ". 3600000 NS v6.root-servers.net.
. 3600000 NS a.root-servers.net.
v6.root-servers.net. 3600000 AAAA ::1
a.root-servers.net. 3600000 A {}
",
        ip(w.block, ROOT)
    );
    let a = Altroot::start(&hints_config(&w, "", ""), &[("hints.txt", hints)]).await;
    let (m, took) = timed(&a, "www.victim.com.", RecordType::A).await;
    assert_answer(&m, took, &["www.victim.com. 300 A 203.0.113.1"]);
    assert!(
        w.server("root6").seen().is_empty(),
        "{:?}",
        asked(&w, "root6")
    );
    let aaaa: Vec<_> = w
        .all_seen()
        .into_iter()
        .filter(|(_, s)| s.qtype == RecordType::AAAA)
        .collect();
    assert!(aaaa.is_empty(), "{aaaa:?}");
}

// A hints root is primed with exactly one `. NS` query to its root servers however
// many client questions come (RFC 8109), and primed again only once the NS set's TTL
// (300 s here) has run out.
#[tokio::test]
async fn one_priming_query_per_hints_root() {
    let (w, a) = start(fault_world(Behaviour::Normal)).await;
    let primes = |w: &World| count(w, "root", ". NS");
    for n in [
        "www.good.net.",
        "www.pair.com.",
        "x.good.net.",
        "www.lone.com.",
        "y.org.",
    ] {
        a.query(n, RecordType::A).await;
    }
    assert_eq!(primes(&w), 1, "{:?}", asked(&w, "root"));
    a.service.clock().advance(Duration::from_secs(200));
    a.query("z.good.net.", RecordType::A).await;
    assert_eq!(primes(&w), 1, "within the NS TTL");
    a.service.clock().advance(Duration::from_secs(101));
    for n in ["www.good.net.", "v.org.", "w.org."] {
        a.query(n, RecordType::A).await;
    }
    assert_eq!(primes(&w), 2, "{:?}", asked(&w, "root"));
    let m = a.query("www.good.net.", RecordType::A).await;
    assert_eq!(addrs(&m), vec!["203.0.113.2".parse::<IpAddr>().unwrap()]);
}
