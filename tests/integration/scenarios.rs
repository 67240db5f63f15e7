//! Adversarial resolver scenarios, in the style of an outside recursive-resolver
//! conformance suite: referrals and glue, CNAMEs, lame and broken servers, timeouts,
//! negative caching and TTLs. Each test builds its own small ICANN-like world
//! (root → com/net/org → leaves) and an altroot with only a hints root in front of it.

use std::net::IpAddr;
use std::time::{Duration, Instant};

use altroot::resolver::cache::Key;
use hickory_proto::op::ResponseCode;
use hickory_proto::rr::{LowerName, RData, RecordType};

use crate::harness::*;
use crate::world::{Behaviour, Spec, World, spec};
// The same root, leaf zones and start as the other iterating tests: a world's
// root → com/net/org, SOA TTL 300 / MINIMUM 60 (negative TTL 60), and an altroot
// whose only root iterates from the world's root.
use crate::worlds::{self, COM, NET, ORG, ROOT, leaf_zone, root_spec, start};

//------------ Worlds ------------------------------------------------------------

fn ip(b: [u8; 3], h: u8) -> IpAddr {
    World::ip(b, h)
}

fn tld_host(tld: &str) -> u8 {
    match tld {
        "com" => COM,
        "net" => NET,
        "org" => ORG,
        _ => unreachable!(),
    }
}

fn tld_spec(b: [u8; 3], tld: &'static str, body: &str, behaviour: Behaviour) -> Spec {
    let h = tld_host(tld);
    let z = format!(
        "@ SOA ns.nic.{tld}. h.example. 1 1800 900 604800 900
@ NS ns.nic.{tld}.
ns.nic.{tld}. A {}
{body}",
        ip(b, h)
    );
    spec(tld, ip(b, h), &[(&format!("{tld}."), &z)], behaviour)
}

/// Root and three TLD servers with the given extra TLD zone content.
fn base(b: [u8; 3], com: &str, net: &str, org: &str) -> Vec<Spec> {
    vec![
        root_spec(b),
        tld_spec(b, "com", com, Behaviour::Normal),
        tld_spec(b, "net", net, Behaviour::Normal),
        tld_spec(b, "org", org, Behaviour::Normal),
    ]
}

fn leaf(name: &'static str, ip: IpAddr, origin: &str, body: &str, behaviour: Behaviour) -> Spec {
    spec(name, ip, &[(origin, &leaf_zone(origin, body))], behaviour)
}

fn ok(m: &hickory_proto::op::Message) {
    assert_eq!(
        m.metadata.response_code,
        ResponseCode::NoError,
        "{:?}",
        lines(&m.answers)
    );
    assert_resolver_flags(m);
}

//------------ Referrals and glue ------------------------------------------------

// The com server hands out an address for an NS name in net (outside com): that glue
// must be ignored, and ns.provider.net resolved through net instead. The "glue"
// address is a server with a bogus copy of the zone.
#[tokio::test]
async fn out_of_bailiwick_glue_is_ignored_and_the_ns_resolved_separately() {
    let (w, a) = start(|b| {
        let mut v = base(
            b,
            &format!(
                "victim NS ns.provider.net.\nns.provider.net. A {}",
                ip(b, 9)
            ),
            &format!("provider NS ns1.provider\nns1.provider A {}", ip(b, 5)),
            "",
        );
        v.push(leaf(
            "provider.net",
            ip(b, 5),
            "provider.net.",
            &format!("ns A {}", ip(b, 6)),
            Behaviour::Normal,
        ));
        v.push(leaf(
            "victim.com",
            ip(b, 6),
            "victim.com.",
            "www A 203.0.113.1",
            Behaviour::Normal,
        ));
        v.push(leaf(
            "evil",
            ip(b, 9),
            "victim.com.",
            "www A 198.51.100.66",
            Behaviour::Normal,
        ));
        v
    })
    .await;
    let m = a.query("www.victim.com.", RecordType::A).await;
    ok(&m);
    assert_eq!(lines(&m.answers), vec!["www.victim.com. 300 A 203.0.113.1"]);
    assert!(
        w.server("evil").seen().is_empty(),
        "out-of-bailiwick glue was used: {:?}",
        asked(&w, "evil")
    );
    assert!(asked(&w, "provider.net").contains(&"ns.provider.net. A".to_string()));
}

// Sibling glue: alpha.com's NS lives in beta.com, and com (authoritative for both)
// gives its address. Inside the asked zone, so usable.
#[tokio::test]
async fn sibling_glue_is_used() {
    let (_w, a) = start(|b| {
        let mut v = base(
            b,
            &format!("alpha NS ns.beta\nbeta NS ns.beta\nns.beta A {}", ip(b, 5)),
            "",
            "",
        );
        v.push(worlds::leaf(
            "alpha+beta",
            ip(b, 5),
            &[("alpha.com.", "www A 203.0.113.2"), ("beta.com.", "")],
            Behaviour::Normal,
        ));
        v
    })
    .await;
    let m = a.query("www.alpha.com.", RecordType::A).await;
    ok(&m);
    assert_eq!(lines(&m.answers), vec!["www.alpha.com. 300 A 203.0.113.2"]);
}

// One NS with glue (silent), one glueless (resolvable in net): the answer comes from
// the glueless one, within query-timeout.
#[tokio::test]
async fn glued_silent_ns_and_glueless_good_ns() {
    let (w, a) = start(|b| {
        let mut v = base(
            b,
            &format!(
                "mixed NS ns1.mixed\nns1.mixed A {}\nmixed NS ns.provider.net.",
                ip(b, 7)
            ),
            &format!("provider NS ns1.provider\nns1.provider A {}", ip(b, 5)),
            "",
        );
        v.push(leaf(
            "provider.net",
            ip(b, 5),
            "provider.net.",
            &format!("ns A {}", ip(b, 6)),
            Behaviour::Normal,
        ));
        v.push(leaf(
            "mixed.com",
            ip(b, 6),
            "mixed.com.",
            "www A 203.0.113.3",
            Behaviour::Normal,
        ));
        v.push(spec("silent", ip(b, 7), &[], Behaviour::Silent));
        v
    })
    .await;
    let t = Instant::now();
    let m = a.query("www.mixed.com.", RecordType::A).await;
    ok(&m);
    assert_eq!(lines(&m.answers), vec!["www.mixed.com. 300 A 203.0.113.3"]);
    assert!(t.elapsed() < Duration::from_secs(3), "{:?}", t.elapsed());
    assert!(!w.server("mixed.com").seen().is_empty());
}

// The child lists a larger NS set (ns1 + ns2, ns2 silent) in the authority section of
// its answers than the parent's referral (ns1). The answer works, later queries keep
// working, the child's own NS set is what `big.com NS` returns, and the silent
// server is never needed.
#[tokio::test]
async fn child_answers_with_a_larger_ns_set_in_authority() {
    let (w, a) = start(|b| {
        let mut v = base(
            b,
            &format!("big NS ns1.big\nns1.big A {}", ip(b, 5)),
            "",
            "",
        );
        v.push(leaf(
            "big.com",
            ip(b, 5),
            "big.com.",
            &format!(
                "@ NS ns2\nns1 A {}\nns2 A {}\nwww A 203.0.113.4\nwww2 A 203.0.113.5",
                ip(b, 5),
                ip(b, 7)
            ),
            Behaviour::WithAuthority,
        ));
        v.push(spec("silent", ip(b, 7), &[], Behaviour::Silent));
        v
    })
    .await;
    let m = a.query("www.big.com.", RecordType::A).await;
    ok(&m);
    assert_eq!(lines(&m.answers), vec!["www.big.com. 300 A 203.0.113.4"]);
    let m = a.query("www2.big.com.", RecordType::A).await;
    assert_eq!(lines(&m.answers), vec!["www2.big.com. 300 A 203.0.113.5"]);
    let m = a.query("big.com.", RecordType::NS).await;
    ok(&m);
    let mut ns = lines(&m.answers);
    ns.sort();
    assert_eq!(
        ns,
        vec![
            "big.com. 300 NS ns1.big.com.",
            "big.com. 300 NS ns2.big.com."
        ]
    );
    let m = a.query("nope.big.com.", RecordType::A).await;
    assert_eq!(m.metadata.response_code, ResponseCode::NXDomain);
    assert!(w.server("silent").seen().is_empty());
}

// Glue is believed only for the referral's NS names (RFC 2181 §5.4.1; docs/resolution.md "How a
// name is resolved" 3): a referral's additional section carries, besides the NS
// glue, an address for an ordinary name below the cut (occluded parent data). A
// first query for another name brings that referral; the planted address must not
// be in the cache afterwards, and a later query for exactly the planted name is
// asked of victim.com's server and gets its answer.
#[tokio::test]
async fn extra_non_glue_addresses_in_a_referral_are_ignored() {
    let (w, a) = start(|b| {
        let mut v = vec![
            root_spec(b),
            tld_spec(
                b,
                "com",
                &format!(
                    "victim NS ns1.victim\nns1.victim A {}\nwww.victim A 198.51.100.66",
                    ip(b, 5)
                ),
                Behaviour::ExtraGlue,
            ),
            tld_spec(b, "net", "", Behaviour::Normal),
            tld_spec(b, "org", "", Behaviour::Normal),
        ];
        v.push(leaf(
            "victim.com",
            ip(b, 5),
            "victim.com.",
            "www A 203.0.113.15",
            Behaviour::Normal,
        ));
        v
    })
    .await;
    let m = a.query("other.victim.com.", RecordType::A).await;
    assert_eq!(m.metadata.response_code, ResponseCode::NXDomain);
    assert!(
        asked(&w, "com").contains(&"victim.com. NS".to_string()),
        "the referral with the extra address was received: {:?}",
        asked(&w, "com")
    );
    let key = Key::Set(LowerName::new(&name("www.victim.com.")), RecordType::A);
    let cached = a.service.resolver.roots[0]
        .cache
        .get(&key, a.service.clock().now());
    assert!(cached.is_none(), "non-glue address cached: {cached:?}");
    let m = a.query("www.victim.com.", RecordType::A).await;
    ok(&m);
    assert_eq!(
        lines(&m.answers),
        vec!["www.victim.com. 300 A 203.0.113.15"]
    );
    assert!(asked(&w, "victim.com").contains(&"www.victim.com. A".to_string()));
}

// A delegation whose only NS is inside the child, without glue: unresolvable,
// SERVFAIL within query-timeout.
#[tokio::test]
async fn in_child_ns_without_glue_is_servfail_bounded() {
    let (w, a) = start(|b| base(b, "noglue NS ns1.noglue", "", "")).await;
    let t = Instant::now();
    let m = a.query("www.noglue.com.", RecordType::A).await;
    assert_eq!(m.metadata.response_code, ResponseCode::ServFail);
    assert_resolver_flags(&m);
    assert!(
        t.elapsed() <= Duration::from_millis(3300),
        "{:?}",
        t.elapsed()
    );
    assert!(w.total_queries() < 60, "{} queries", w.total_queries());
}

// The com server also serves example.com (common for hosting providers). Asked the
// minimised `example.com. NS`, it answers authoritatively from the child zone, with
// no addresses in additional (as BIND with minimal-responses does). The child's NS
// (ns1.example.com) must still be reachable: the glue from the referral is never
// seen, so the resolver must use the servers it asked or ask again in full.
#[tokio::test]
async fn parent_and_child_on_one_server_with_minimal_responses() {
    let (_w, a) = start(|b| {
        let mut v = base(b, "", "", "");
        v[1] = spec(
            "com",
            ip(b, COM),
            &[
                (
                    "com.",
                    &format!(
                        "@ SOA ns.nic.com. h.example. 1 1800 900 604800 900
@ NS ns.nic.com.
ns.nic.com. A {com}
example NS ns1.example
ns1.example A {com}",
                        com = ip(b, COM)
                    ),
                ),
                (
                    "example.com.",
                    &leaf_zone(
                        "example.com.",
                        &format!("ns1 A {}\nwww A 203.0.113.20", ip(b, COM)),
                    ),
                ),
            ],
            Behaviour::Normal,
        );
        v
    })
    .await;
    let t = Instant::now();
    let m = a.query("www.example.com.", RecordType::A).await;
    ok(&m);
    assert_eq!(
        lines(&m.answers),
        vec!["www.example.com. 300 A 203.0.113.20"]
    );
    assert!(t.elapsed() < Duration::from_secs(3));
}

// A DS record lives on the parent side of a cut (RFC 4035 §3.1.4.1): its NODATA must
// come from com (SOA com.), also after the child's delegation is cached.
#[tokio::test]
async fn ds_is_asked_of_the_parent_side() {
    let (w, a) = start(|b| {
        let mut v = base(
            b,
            &format!(
                "one NS ns1.one\nns1.one A {h}\ntwo NS ns1.two\nns1.two A {h}",
                h = ip(b, 5)
            ),
            "",
            "",
        );
        v.push(worlds::leaf(
            "one+two",
            ip(b, 5),
            &[
                ("one.com.", "www A 203.0.113.21"),
                ("two.com.", "www A 203.0.113.22"),
            ],
            Behaviour::Normal,
        ));
        v
    })
    .await;
    let m = a.query("one.com.", RecordType::DS).await;
    ok(&m);
    assert!(m.answers.is_empty());
    assert_eq!(m.authorities.len(), 1);
    assert_eq!(
        m.authorities[0].name,
        name("com."),
        "fresh DS: {:?}",
        lines(&m.authorities)
    );

    let m = a.query("www.two.com.", RecordType::A).await;
    ok(&m);
    let m = a.query("two.com.", RecordType::DS).await;
    ok(&m);
    assert!(m.answers.is_empty());
    assert_eq!(
        m.authorities.first().map(|r| r.name.clone()),
        Some(name("com.")),
        "DS after the delegation was cached: {:?}",
        lines(&m.authorities)
    );
    assert!(asked(&w, "com").contains(&"two.com. DS".to_string()));
    assert!(!asked(&w, "one+two").iter().any(|q| q.ends_with(" DS")));
}

//------------ Lame and broken servers --------------------------------------------

// One NS answers every question with a non-authoritative referral to an unrelated
// zone (sideways), one is good: the good one answers and the sideways target (a
// server with a bogus copy) is never asked. With only the sideways one: SERVFAIL.
#[tokio::test]
async fn sideways_referral_is_lame() {
    let (w, a) = start(|b| {
        let mut v = base(
            b,
            &format!(
                "side NS ns1.side\nns1.side A {s}\nside NS ns2.side\nns2.side A {g}
sideonly NS ns1.sideonly\nns1.sideonly A {s}",
                s = ip(b, 8),
                g = ip(b, 5)
            ),
            "",
            "",
        );
        v.push(leaf(
            "side.com",
            ip(b, 5),
            "side.com.",
            "www A 203.0.113.10",
            Behaviour::Normal,
        ));
        v.push(leaf(
            "sideways",
            ip(b, 8),
            "example.net.",
            &format!("@ NS ns.example.net.\nns A {}", ip(b, 9)),
            Behaviour::SidewaysReferral,
        ));
        v.push(worlds::leaf(
            "bogus",
            ip(b, 9),
            &[
                ("side.com.", "www A 198.51.100.66"),
                ("sideonly.com.", "www A 198.51.100.66"),
                ("example.net.", ""),
            ],
            Behaviour::Normal,
        ));
        v
    })
    .await;
    let m = a.query("www.side.com.", RecordType::A).await;
    ok(&m);
    assert_eq!(lines(&m.answers), vec!["www.side.com. 300 A 203.0.113.10"]);
    let t = Instant::now();
    let m = a.query("www.sideonly.com.", RecordType::A).await;
    assert_eq!(m.metadata.response_code, ResponseCode::ServFail);
    assert!(t.elapsed() <= Duration::from_millis(3300));
    assert!(!w.server("sideways").seen().is_empty());
    assert!(
        w.server("bogus").seen().is_empty(),
        "{:?}",
        asked(&w, "bogus")
    );
}

// A server that answers NOERROR, AA=0 and nothing else is a last resort: skipped
// while another server answers; when it is the only server, its empty answer is
// taken as NODATA (Unbound accepts it after trying the others), never cached.
#[tokio::test]
async fn non_authoritative_empty_answer_is_the_last_resort() {
    let (_w, a) = start(|b| {
        let mut v = base(
            b,
            &format!(
                "empty NS ns1.empty\nns1.empty A {e}\nempty NS ns2.empty\nns2.empty A {g}
emptyonly NS ns1.emptyonly\nns1.emptyonly A {e}",
                e = ip(b, 8),
                g = ip(b, 5)
            ),
            "",
            "",
        );
        v.push(leaf(
            "empty.com",
            ip(b, 5),
            "empty.com.",
            "www A 203.0.113.23",
            Behaviour::Normal,
        ));
        v.push(spec("nonaa", ip(b, 8), &[], Behaviour::EmptyNonAa));
        v
    })
    .await;
    let m = a.query("www.empty.com.", RecordType::A).await;
    ok(&m);
    assert_eq!(lines(&m.answers), vec!["www.empty.com. 300 A 203.0.113.23"]);
    let m = a.query("www.emptyonly.com.", RecordType::A).await;
    ok(&m);
    assert!(m.answers.is_empty(), "{:?}", lines(&m.answers));
    assert!(m.authorities.is_empty(), "{:?}", lines(&m.authorities));
}

// The leaf answers NXDOMAIN for the empty non-terminal dept.example.com that QNAME
// minimisation asks about: relaxed minimisation asks the full name and gets the data.
#[tokio::test]
async fn nxdomain_for_empty_non_terminal_under_qmin() {
    let (w, a) = start(|b| {
        let mut v = base(
            b,
            &format!("example NS ns1.example\nns1.example A {}", ip(b, 5)),
            "",
            "",
        );
        v.push(leaf(
            "example.com",
            ip(b, 5),
            "example.com.",
            "host.dept A 203.0.113.11",
            Behaviour::NxdomainEnt,
        ));
        v
    })
    .await;
    let m = a.query("host.dept.example.com.", RecordType::A).await;
    ok(&m);
    assert_eq!(
        lines(&m.answers),
        vec!["host.dept.example.com. 300 A 203.0.113.11"]
    );
    assert!(
        asked(&w, "example.com").contains(&"host.dept.example.com. A".to_string()),
        "{:?}",
        asked(&w, "example.com")
    );
}

// The leaf answers SERVFAIL to NS queries but A queries correctly (a known broken
// middlebox/server pattern): minimisation must fall back to the full name.
#[tokio::test]
async fn servfail_for_ns_queries_at_the_leaf_falls_back_to_full_name() {
    let (w, a) = start(|b| {
        let mut v = base(
            b,
            &format!("example NS ns1.example\nns1.example A {}", ip(b, 5)),
            "",
            "",
        );
        v.push(leaf(
            "example.com",
            ip(b, 5),
            "example.com.",
            "host.dept A 203.0.113.12",
            Behaviour::ServfailNs,
        ));
        v
    })
    .await;
    let m = a.query("host.dept.example.com.", RecordType::A).await;
    assert_eq!(
        m.metadata.response_code,
        ResponseCode::NoError,
        "asked: {:?}",
        asked(&w, "example.com")
    );
    assert_eq!(
        lines(&m.answers),
        vec!["host.dept.example.com. 300 A 203.0.113.12"]
    );
    assert!(asked(&w, "example.com").contains(&"dept.example.com. NS".to_string()));
}

// The same breakage one level up: the TLD server SERVFAILs the minimised
// `example.com. NS`, but gives the referral for the full question.
#[tokio::test]
async fn servfail_for_ns_queries_at_the_tld_falls_back_to_full_name() {
    let (w, a) = start(|b| {
        let mut v = vec![
            root_spec(b),
            tld_spec(
                b,
                "com",
                &format!("example NS ns1.example\nns1.example A {}", ip(b, 5)),
                Behaviour::ServfailNs,
            ),
            tld_spec(b, "net", "", Behaviour::Normal),
            tld_spec(b, "org", "", Behaviour::Normal),
        ];
        v.push(leaf(
            "example.com",
            ip(b, 5),
            "example.com.",
            "www A 203.0.113.24",
            Behaviour::Normal,
        ));
        v
    })
    .await;
    let m = a.query("www.example.com.", RecordType::A).await;
    assert_eq!(
        m.metadata.response_code,
        ResponseCode::NoError,
        "com was asked: {:?}",
        asked(&w, "com")
    );
    assert_eq!(
        lines(&m.answers),
        vec!["www.example.com. 300 A 203.0.113.24"]
    );
    assert!(asked(&w, "com").contains(&"example.com. NS".to_string()));
}

// TC=1 over UDP, and TCP connections closed at once: SERVFAIL quickly when it is the
// only server; the other server answers when there is one.
#[tokio::test]
async fn tcp_only_server_that_closes_tcp() {
    let (w, a) = start(|b| {
        let mut v = base(
            b,
            &format!(
                "closer NS ns1.closer\nns1.closer A {c}
half NS ns1.half\nns1.half A {c}\nhalf NS ns2.half\nns2.half A {g}",
                c = ip(b, 8),
                g = ip(b, 5)
            ),
            "",
            "",
        );
        v.push(leaf(
            "half.com",
            ip(b, 5),
            "half.com.",
            "www A 203.0.113.25",
            Behaviour::Normal,
        ));
        v.push(worlds::leaf(
            "closer",
            ip(b, 8),
            &[
                ("closer.com.", "www A 203.0.113.26"),
                ("half.com.", "www A 203.0.113.25"),
            ],
            Behaviour::TcpClose,
        ));
        v
    })
    .await;
    let t = Instant::now();
    let m = a.query("www.closer.com.", RecordType::A).await;
    assert_eq!(m.metadata.response_code, ResponseCode::ServFail);
    assert_resolver_flags(&m);
    assert!(
        t.elapsed() <= Duration::from_millis(3300),
        "{:?}",
        t.elapsed()
    );
    assert!(!w.server("closer").seen().is_empty());
    let m = a.query("www.half.com.", RecordType::A).await;
    ok(&m);
    assert_eq!(lines(&m.answers), vec!["www.half.com. 300 A 203.0.113.25"]);
}

//------------ CNAMEs --------------------------------------------------------------

// A CNAME into a delegated sub-zone of the same zone, on another server.
#[tokio::test]
async fn cname_into_a_delegated_subzone() {
    let (_w, a) = start(|b| {
        let mut v = base(
            b,
            &format!("example NS ns1.example\nns1.example A {}", ip(b, 5)),
            "",
            "",
        );
        v.push(leaf(
            "example.com",
            ip(b, 5),
            "example.com.",
            &format!(
                "alias CNAME www.sub\nsub NS ns1.sub\nns1.sub A {}",
                ip(b, 6)
            ),
            Behaviour::Normal,
        ));
        v.push(leaf(
            "sub.example.com",
            ip(b, 6),
            "sub.example.com.",
            "www A 203.0.113.6",
            Behaviour::Normal,
        ));
        v
    })
    .await;
    let m = a.query("alias.example.com.", RecordType::A).await;
    ok(&m);
    assert_eq!(
        lines(&m.answers),
        vec![
            "alias.example.com. 300 CNAME www.sub.example.com.",
            "www.sub.example.com. 300 A 203.0.113.6"
        ]
    );
}

// The parent chases its CNAME itself and adds stale data it holds below the cut to
// sub.example.com. The child is authoritative for www.sub.example.com: its answer,
// not the parent's occluded copy, must reach the client. (RFC 2181 §5.4.1 ranking;
// stricter than some resolvers.)
#[tokio::test]
async fn parent_chasing_cname_below_its_cut_does_not_override_the_child() {
    let (_w, a) = start(|b| {
        let mut v = base(
            b,
            &format!("example NS ns1.example\nns1.example A {}", ip(b, 5)),
            "",
            "",
        );
        v.push(leaf(
            "example.com",
            ip(b, 5),
            "example.com.",
            &format!(
                "alias CNAME www.sub\nsub NS ns1.sub\nns1.sub A {}\nwww.sub A 198.51.100.66",
                ip(b, 6)
            ),
            Behaviour::ChaseCname,
        ));
        v.push(leaf(
            "sub.example.com",
            ip(b, 6),
            "sub.example.com.",
            "www A 203.0.113.6",
            Behaviour::Normal,
        ));
        v
    })
    .await;
    let m = a.query("alias.example.com.", RecordType::A).await;
    ok(&m);
    assert_eq!(
        lines(&m.answers),
        vec![
            "alias.example.com. 300 CNAME www.sub.example.com.",
            "www.sub.example.com. 300 A 203.0.113.6"
        ]
    );
}

// The server chases its CNAME into another zone it also holds a stale copy of
// (other.net, really delegated elsewhere): the target must be resolved separately.
#[tokio::test]
async fn cname_target_data_from_another_zone_is_resolved_again() {
    let (w, a) = start(|b| {
        let mut v = base(
            b,
            &format!("example NS ns1.example\nns1.example A {}", ip(b, 5)),
            &format!("other NS ns1.other\nns1.other A {}", ip(b, 6)),
            "",
        );
        v.push(worlds::leaf(
            "example.com",
            ip(b, 5),
            &[
                ("example.com.", "alias CNAME www.other.net."),
                ("other.net.", "www A 198.51.100.66"),
            ],
            Behaviour::ChaseCname,
        ));
        v.push(leaf(
            "other.net",
            ip(b, 6),
            "other.net.",
            "www A 203.0.113.27",
            Behaviour::Normal,
        ));
        v
    })
    .await;
    let m = a.query("alias.example.com.", RecordType::A).await;
    ok(&m);
    assert_eq!(
        lines(&m.answers),
        vec![
            "alias.example.com. 300 CNAME www.other.net.",
            "www.other.net. 300 A 203.0.113.27"
        ]
    );
    assert!(!w.server("other.net").seen().is_empty());
}

// a.one.com → b.two.net → c.three.org, each zone on its own server.
#[tokio::test]
async fn cname_chain_across_three_zones_on_three_servers() {
    let (w, a) = start(|b| {
        let mut v = base(
            b,
            &format!("one NS ns1.one\nns1.one A {}", ip(b, 5)),
            &format!("two NS ns1.two\nns1.two A {}", ip(b, 6)),
            &format!("three NS ns1.three\nns1.three A {}", ip(b, 7)),
        );
        v.push(leaf(
            "one",
            ip(b, 5),
            "one.com.",
            "a CNAME b.two.net.",
            Behaviour::Normal,
        ));
        v.push(leaf(
            "two",
            ip(b, 6),
            "two.net.",
            "b CNAME c.three.org.",
            Behaviour::Normal,
        ));
        v.push(leaf(
            "three",
            ip(b, 7),
            "three.org.",
            "c A 203.0.113.7",
            Behaviour::Normal,
        ));
        v
    })
    .await;
    let m = a.query("a.one.com.", RecordType::A).await;
    ok(&m);
    assert_eq!(
        lines(&m.answers),
        vec![
            "a.one.com. 300 CNAME b.two.net.",
            "b.two.net. 300 CNAME c.three.org.",
            "c.three.org. 300 A 203.0.113.7"
        ]
    );
    for s in ["one", "two", "three"] {
        assert_eq!(w.server(s).seen().len(), 1, "{s}: {:?}", asked(&w, s));
    }
    // Cached: the whole chain again without any query.
    let before = w.total_queries();
    let m = a.query("a.one.com.", RecordType::A).await;
    assert_eq!(m.answers.len(), 3);
    assert_eq!(w.total_queries(), before);
}

// A CNAME whose target's only server never answers: SERVFAIL within query-timeout.
#[tokio::test]
async fn cname_whose_target_times_out() {
    let (_w, a) = start(|b| {
        let mut v = base(
            b,
            &format!("example NS ns1.example\nns1.example A {}", ip(b, 5)),
            &format!("dead NS ns1.dead\nns1.dead A {}", ip(b, 7)),
            "",
        );
        v.push(leaf(
            "example.com",
            ip(b, 5),
            "example.com.",
            "alias CNAME www.dead.net.",
            Behaviour::Normal,
        ));
        v.push(spec("silent", ip(b, 7), &[], Behaviour::Silent));
        v
    })
    .await;
    let t = Instant::now();
    let m = a.query("alias.example.com.", RecordType::A).await;
    assert_eq!(m.metadata.response_code, ResponseCode::ServFail);
    assert_resolver_flags(&m);
    assert!(
        t.elapsed() <= Duration::from_millis(3300),
        "{:?}",
        t.elapsed()
    );
}

// a.loopa.com → b.loopb.net → a.loopa.com: SERVFAIL, few queries.
#[tokio::test]
async fn cname_loop_across_two_remote_zones() {
    let (w, a) = start(|b| {
        let mut v = base(
            b,
            &format!("loopa NS ns1.loopa\nns1.loopa A {}", ip(b, 5)),
            &format!("loopb NS ns1.loopb\nns1.loopb A {}", ip(b, 6)),
            "",
        );
        v.push(leaf(
            "loopa",
            ip(b, 5),
            "loopa.com.",
            "a CNAME b.loopb.net.",
            Behaviour::Normal,
        ));
        v.push(leaf(
            "loopb",
            ip(b, 6),
            "loopb.net.",
            "b CNAME a.loopa.com.",
            Behaviour::Normal,
        ));
        v
    })
    .await;
    let t = Instant::now();
    let m = a.query("a.loopa.com.", RecordType::A).await;
    assert_eq!(m.metadata.response_code, ResponseCode::ServFail);
    assert!(t.elapsed() < Duration::from_secs(3));
    assert!(w.total_queries() < 20, "{} queries", w.total_queries());
}

// 11 CNAME links on a remote server are followed (`max-cname-chain`, as Unbound and
// BIND); 12 are SERVFAIL.
#[tokio::test]
async fn remote_cname_chain_limit_is_11_links() {
    let (_w, a) = start(|b| {
        let mut body = String::new();
        for i in 0..12 {
            body.push_str(&format!("l{i} CNAME l{}\n", i + 1));
        }
        body.push_str("l12 A 203.0.113.17\n");
        let mut v = base(
            b,
            &format!("chain NS ns1.chain\nns1.chain A {}", ip(b, 5)),
            "",
            "",
        );
        v.push(leaf(
            "chain",
            ip(b, 5),
            "chain.com.",
            &body,
            Behaviour::Normal,
        ));
        v
    })
    .await;
    let m = a.query("l1.chain.com.", RecordType::A).await;
    ok(&m);
    assert_eq!(m.answers.len(), 12, "11 CNAMEs and the A");
    let m = a.query("l0.chain.com.", RecordType::A).await;
    assert_eq!(m.metadata.response_code, ResponseCode::ServFail);
}

// Answers padded with an unrelated in-zone record and a record of another type for
// the asked name: the client gets only what it asked, nothing extra is cached.
#[tokio::test]
async fn unrelated_answer_records_are_dropped() {
    let (w, a) = start(|b| {
        let mut v = base(
            b,
            &format!("example NS ns1.example\nns1.example A {}", ip(b, 5)),
            "",
            "",
        );
        v.push(leaf(
            "example.com",
            ip(b, 5),
            "example.com.",
            "www A 203.0.113.8\nintruder A 203.0.113.9",
            Behaviour::ExtraAnswers,
        ));
        v
    })
    .await;
    let m = a.query("www.example.com.", RecordType::A).await;
    ok(&m);
    assert_eq!(
        lines(&m.answers),
        vec!["www.example.com. 300 A 203.0.113.8"]
    );
    let m = a.query("intruder.example.com.", RecordType::A).await;
    ok(&m);
    assert_eq!(
        lines(&m.answers),
        vec!["intruder.example.com. 300 A 203.0.113.9"]
    );
    let m = a.query("www.example.com.", RecordType::TXT).await;
    ok(&m);
    assert!(m.answers.is_empty(), "{:?}", lines(&m.answers));
    assert!(asked(&w, "example.com").contains(&"www.example.com. TXT".to_string()));
}

//------------ Caching and TTLs -------------------------------------------------------

// RFC 2308 §5: NODATA is cached for the negative TTL, min(SOA TTL, MINIMUM) = 60,
// counted down on the wall clock (the service's clock moves 2 s) and served from
// the cache with the SOA's TTL lowered, and asked again once it has run out;
// NXDOMAIN covers every type of the name
// (RFC 2308 §5, "the name does not exist").
#[tokio::test]
async fn nodata_is_cached_and_its_ttl_counts_down() {
    let (w, a) = start(|b| {
        let mut v = base(
            b,
            &format!("example NS ns1.example\nns1.example A {}", ip(b, 5)),
            "",
            "",
        );
        v.push(leaf(
            "example.com",
            ip(b, 5),
            "example.com.",
            "www A 203.0.113.30",
            Behaviour::Normal,
        ));
        v
    })
    .await;
    let m = a.query("www.example.com.", RecordType::TXT).await;
    ok(&m);
    assert!(m.answers.is_empty());
    assert_eq!(m.authorities.len(), 1);
    assert_eq!(m.authorities[0].record_type(), RecordType::SOA);
    assert_eq!(m.authorities[0].ttl, 60);
    let leaf_before = w.server("example.com").seen().len();
    a.service.clock().advance(Duration::from_secs(2));
    let m = a.query("www.example.com.", RecordType::TXT).await;
    ok(&m);
    assert_eq!(
        w.server("example.com").seen().len(),
        leaf_before,
        "from cache"
    );
    // 58, or 57 if a wall-clock second began between the two queries.
    let ttl = m.authorities[0].ttl;
    assert!((57..=58).contains(&ttl), "TTL counts down: {ttl}");
    // Past the negative TTL the leaf is asked again.
    a.service.clock().advance(Duration::from_secs(60));
    let m = a.query("www.example.com.", RecordType::TXT).await;
    ok(&m);
    assert_eq!(m.authorities[0].ttl, 60);
    assert_eq!(
        w.server("example.com").seen().len(),
        leaf_before + 1,
        "expired: asked again"
    );
    // NXDOMAIN is for every type.
    let m = a.query("nope.example.com.", RecordType::A).await;
    assert_eq!(m.metadata.response_code, ResponseCode::NXDomain);
    let n = w.server("example.com").seen().len();
    let m = a.query("nope.example.com.", RecordType::AAAA).await;
    assert_eq!(m.metadata.response_code, ResponseCode::NXDomain);
    assert_eq!(w.server("example.com").seen().len(), n);
}

// TTL 0 answers and negative answers with MINIMUM 0 are used once, never cached.
#[tokio::test]
async fn ttl_zero_is_not_cached() {
    let (w, a) = start(|b| {
        let mut v = base(
            b,
            &format!("example NS ns1.example\nns1.example A {}", ip(b, 5)),
            &format!("zero NS ns1.zero\nns1.zero A {}", ip(b, 6)),
            "",
        );
        v.push(leaf(
            "example.com",
            ip(b, 5),
            "example.com.",
            "zero 0 A 203.0.113.13",
            Behaviour::Normal,
        ));
        v.push(spec(
            "zero.net",
            ip(b, 6),
            &[(
                "zero.net.",
                "@ SOA ns1.zero.net. h.example. 1 1 1 1 0\n@ NS ns1.zero.net.",
            )],
            Behaviour::Normal,
        ));
        v
    })
    .await;
    for round in 0..2 {
        let m = a.query("zero.example.com.", RecordType::A).await;
        ok(&m);
        assert_eq!(
            lines(&m.answers),
            vec!["zero.example.com. 0 A 203.0.113.13"]
        );
        assert_eq!(
            w.server("example.com").seen().len(),
            round + 1,
            "{:?}",
            asked(&w, "example.com")
        );
    }
    for round in 0..2 {
        let m = a.query("nope.zero.net.", RecordType::A).await;
        assert_eq!(m.metadata.response_code, ResponseCode::NXDomain);
        assert_eq!(m.authorities[0].ttl, 0);
        assert_eq!(w.server("zero.net").seen().len(), round + 1);
    }
}

// Negative TTL = min(SOA TTL, MINIMUM), capped at one hour.
#[tokio::test]
async fn negative_ttl_is_min_of_soa_ttl_and_minimum_capped_at_one_hour() {
    let (_w, a) = start(|b| {
        let mut v = base(
            b,
            &format!("capped NS ns1.capped\nns1.capped A {}", ip(b, 5)),
            &format!("low NS ns1.low\nns1.low A {}", ip(b, 6)),
            "",
        );
        v.push(spec(
            "capped",
            ip(b, 5),
            &[(
                "capped.com.",
                "@ 86400 SOA ns1.capped.com. h.example. 1 1 1 1 86400\n@ NS ns1.capped.com.\nwww A 203.0.113.31",
            )],
            Behaviour::Normal,
        ));
        v.push(spec(
            "low",
            ip(b, 6),
            &[(
                "low.net.",
                "@ 30 SOA ns1.low.net. h.example. 1 1 1 1 600\n@ NS ns1.low.net.\nwww A 203.0.113.32",
            )],
            Behaviour::Normal,
        ));
        v
    })
    .await;
    let m = a.query("nope.capped.com.", RecordType::A).await;
    assert_eq!(m.metadata.response_code, ResponseCode::NXDomain);
    assert_eq!(m.authorities[0].ttl, 3600);
    let m = a.query("www.capped.com.", RecordType::TXT).await;
    ok(&m);
    assert_eq!(m.authorities[0].ttl, 3600);
    let m = a.query("www.low.net.", RecordType::TXT).await;
    ok(&m);
    assert_eq!(m.authorities[0].ttl, 30);
}

// max-ttl (1 day by default) caps what the cache keeps; a client should not be
// told a longer TTL on the first answer than on the next one.
#[tokio::test]
async fn long_ttl_is_capped_on_the_first_answer_too() {
    let (_w, a) = start(|b| {
        let mut v = base(
            b,
            &format!("example NS ns1.example\nns1.example A {}", ip(b, 5)),
            "",
            "",
        );
        v.push(leaf(
            "example.com",
            ip(b, 5),
            "example.com.",
            "long 604800 A 203.0.113.16",
            Behaviour::Normal,
        ));
        v
    })
    .await;
    let first = a.query("long.example.com.", RecordType::A).await;
    ok(&first);
    let second = a.query("long.example.com.", RecordType::A).await;
    assert!(
        second.answers[0].ttl <= 86400,
        "{:?}",
        lines(&second.answers)
    );
    assert!(
        first.answers[0].ttl <= 86400,
        "first answer {:?}, cached answer {:?}",
        lines(&first.answers),
        lines(&second.answers)
    );
}

//------------ Data relayed intact ----------------------------------------------------

// MX, SRV, TXT (several strings), AAAA and CAA come back exactly as the server
// holds them.
#[tokio::test]
async fn record_types_are_relayed_intact() {
    let (_w, a) = start(|b| {
        let mut v = base(
            b,
            &format!("example NS ns1.example\nns1.example A {}", ip(b, 5)),
            "",
            "",
        );
        v.push(leaf(
            "example.com",
            ip(b, 5),
            "example.com.",
            "@ MX 10 mail\n@ MX 20 mail2.example.net.\n_sip._tcp SRV 10 60 5060 sip
txt TXT \"hello world\" \"second string\"\nv6 AAAA 2001:db8::abcd\ncaa CAA 0 issue \"ca.example\"",
            Behaviour::Normal,
        ));
        v
    })
    .await;
    let m = a.query("example.com.", RecordType::MX).await;
    ok(&m);
    let mut mx = lines(&m.answers);
    mx.sort();
    assert_eq!(
        mx,
        vec![
            "example.com. 300 MX 10 mail.example.com.",
            "example.com. 300 MX 20 mail2.example.net."
        ]
    );
    let m = a.query("_sip._tcp.example.com.", RecordType::SRV).await;
    ok(&m);
    assert_eq!(
        lines(&m.answers),
        vec!["_sip._tcp.example.com. 300 SRV 10 60 5060 sip.example.com."]
    );
    let m = a.query("txt.example.com.", RecordType::TXT).await;
    ok(&m);
    match &m.answers[..] {
        [r] => match &r.data {
            RData::TXT(t) => {
                let parts: Vec<&[u8]> = t.txt_data.iter().map(|s| &s[..]).collect();
                assert_eq!(parts, vec![&b"hello world"[..], &b"second string"[..]]);
            }
            other => panic!("{other:?}"),
        },
        other => panic!("{other:?}"),
    }
    let m = a.query("v6.example.com.", RecordType::AAAA).await;
    ok(&m);
    assert_eq!(
        lines(&m.answers),
        vec!["v6.example.com. 300 AAAA 2001:db8::abcd"]
    );
    let m = a.query("caa.example.com.", RecordType::CAA).await;
    ok(&m);
    assert_eq!(m.answers.len(), 1, "{:?}", lines(&m.answers));
    assert_eq!(m.answers[0].record_type(), RecordType::CAA);
}

// A ~2000-byte TXT RRset on a remote server: fetched over TCP (the server truncates
// at our 1232), whole to a TCP client, TC=1 to UDP clients (without EDNS: 512).
#[tokio::test]
async fn large_txt_whole_over_tcp_truncated_over_udp() {
    let (w, a) = start(|b| {
        let mut body = String::new();
        for i in 0..8 {
            body.push_str(&format!("big TXT \"{i}{}\"\n", "x".repeat(249)));
        }
        let mut v = base(
            b,
            &format!("example NS ns1.example\nns1.example A {}", ip(b, 5)),
            "",
            "",
        );
        v.push(leaf(
            "example.com",
            ip(b, 5),
            "example.com.",
            &body,
            Behaviour::Normal,
        ));
        v
    })
    .await;
    let m = send_tcp(
        a.addr,
        &make_query("big.example.com.", RecordType::TXT, Some(1232)),
    )
    .await;
    ok(&m);
    assert!(!m.metadata.truncation);
    assert_eq!(m.answers.len(), 8);
    let total: usize = m
        .answers
        .iter()
        .map(|r| match &r.data {
            RData::TXT(t) => t.txt_data.iter().map(|s| s.len()).sum(),
            _ => 0,
        })
        .sum();
    assert_eq!(total, 2000);
    assert!(w.server("example.com").seen().iter().any(|s| s.tcp));

    let m = send_udp(
        a.addr,
        &make_query("big.example.com.", RecordType::TXT, None),
    )
    .await;
    assert!(m.metadata.truncation, "no EDNS: TC=1");
    assert!(m.to_vec().unwrap().len() <= 512);
    let m = send_udp(
        a.addr,
        &make_query("big.example.com.", RecordType::TXT, Some(1232)),
    )
    .await;
    assert!(m.metadata.truncation, "EDNS 1232: TC=1");
}

//------------ Names ----------------------------------------------------------------

// Upper-case query names: answered, the question echoed as asked, and the cache
// shared with the lower-case spelling.
#[tokio::test]
async fn upper_case_query_names() {
    let (w, a) = start(|b| {
        let mut v = base(
            b,
            &format!("example NS NS1.EXAMPLE\nns1.example A {}", ip(b, 5)),
            "",
            "",
        );
        v.push(leaf(
            "example.com",
            ip(b, 5),
            "example.com.",
            "www A 203.0.113.40",
            Behaviour::Normal,
        ));
        v
    })
    .await;
    let m = a.query("WWW.EXAMPLE.COM.", RecordType::A).await;
    ok(&m);
    assert_eq!(m.queries[0].name().to_string(), "WWW.EXAMPLE.COM.");
    assert_eq!(addrs(&m), vec!["203.0.113.40".parse::<IpAddr>().unwrap()]);
    let before = w.total_queries();
    let m = a.query("www.Example.com.", RecordType::A).await;
    ok(&m);
    assert_eq!(addrs(&m), vec!["203.0.113.40".parse::<IpAddr>().unwrap()]);
    assert_eq!(w.total_queries(), before, "same name, same cache entry");
    let m = a.query("NOPE.example.COM.", RecordType::A).await;
    assert_eq!(m.metadata.response_code, ResponseCode::NXDomain);
}

fn deep_name(labels: usize) -> String {
    (1..=labels).map(|i| format!("l{i}.")).collect()
}

// A name with 20 labels (18 below example.com), existing and not.
#[tokio::test]
async fn name_with_20_labels() {
    let deep = deep_name(18);
    let (_w, a) = {
        let deep = deep.clone();
        start(move |b| {
            let mut v = base(
                b,
                &format!("example NS ns1.example\nns1.example A {}", ip(b, 5)),
                "",
                "",
            );
            v.push(leaf(
                "example.com",
                ip(b, 5),
                "example.com.",
                &format!("{deep}example.com. A 203.0.113.41"),
                Behaviour::Normal,
            ));
            v
        })
        .await
    };
    let q = format!("{deep}example.com.");
    assert_eq!(name(&q).num_labels(), 20);
    let m = a.query(&q, RecordType::A).await;
    ok(&m);
    assert_eq!(lines(&m.answers), vec![format!("{q} 300 A 203.0.113.41")]);
    let m = a.query(&format!("x.{q}"), RecordType::A).await;
    assert_eq!(m.metadata.response_code, ResponseCode::NXDomain);
    let m = a
        .query(&format!("{}example.com.", deep_name(19)), RecordType::A)
        .await;
    assert_eq!(m.metadata.response_code, ResponseCode::NXDomain);
}

// A name with 40 labels that exists: QNAME minimisation must not turn the many
// empty non-terminals above it into a SERVFAIL (RFC 9156 §2.3 limits the number of
// minimised queries for this reason).
#[tokio::test]
async fn name_with_40_labels() {
    let deep = deep_name(38);
    let (_w, a) = {
        let deep = deep.clone();
        start(move |b| {
            let mut v = base(
                b,
                &format!("example NS ns1.example\nns1.example A {}", ip(b, 5)),
                "",
                "",
            );
            v.push(leaf(
                "example.com",
                ip(b, 5),
                "example.com.",
                &format!("{deep}example.com. A 203.0.113.42"),
                Behaviour::Normal,
            ));
            v
        })
        .await
    };
    let q = format!("{deep}example.com.");
    assert_eq!(name(&q).num_labels(), 40);
    let m = a.query(&q, RecordType::A).await;
    assert_eq!(m.metadata.response_code, ResponseCode::NoError);
    assert_eq!(lines(&m.answers), vec![format!("{q} 300 A 203.0.113.42")]);
}

// A reverse lookup for an IPv6 address: 34 labels (32 nibbles + ip6.arpa), the
// everyday case of a very deep name. Here arpa delegates 8.b.d.0.1.0.0.2.ip6.arpa
// (2001:db8::/32) directly; the 24 nibbles below that cut are empty non-terminals.
#[tokio::test]
async fn ipv6_reverse_ptr_lookup() {
    const ZONE: &str = "8.b.d.0.1.0.0.2.ip6.arpa.";
    let ptr = format!("1.{}{ZONE}", "0.".repeat(23));
    let (w, a) = {
        let ptr = ptr.clone();
        start(move |b| {
            let root = format!(
                "@ SOA a.root-servers.net. nstld.example. 1 1800 900 604800 86400
@ NS a.root-servers.net.
a.root-servers.net. A {}
arpa. NS ns.nic.arpa.
ns.nic.arpa. A {}",
                ip(b, ROOT),
                ip(b, 2)
            );
            let arpa = format!(
                "@ SOA ns.nic.arpa. h.example. 1 1800 900 604800 900
@ NS ns.nic.arpa.
ns.nic.arpa. A {}
{ZONE} NS ns1.rev.arpa.
ns1.rev.arpa. A {}",
                ip(b, 2),
                ip(b, 5)
            );
            vec![
                spec("root", ip(b, ROOT), &[(".", &root)], Behaviour::Normal),
                spec("arpa", ip(b, 2), &[("arpa.", &arpa)], Behaviour::Normal),
                leaf(
                    "rev",
                    ip(b, 5),
                    ZONE,
                    &format!("{ptr} PTR host.example.com."),
                    Behaviour::Normal,
                ),
            ]
        })
        .await
    };
    assert_eq!(name(&ptr).num_labels(), 34);
    let m = a.query(&ptr, RecordType::PTR).await;
    assert_eq!(
        m.metadata.response_code,
        ResponseCode::NoError,
        "{} queries sent",
        w.total_queries()
    );
    assert_eq!(
        lines(&m.answers),
        vec![format!("{ptr} 300 PTR host.example.com.")]
    );
}

// An RRset whose records carry different TTLs (RFC 2181 §5.2: treat as the lowest).
// The client should not see two TTLs for one RRset, first or cached.
#[tokio::test]
async fn rrset_with_mixed_ttls_is_reported_with_one_ttl() {
    let (_w, a) = start(|b| {
        let mut v = base(
            b,
            &format!("example NS ns1.example\nns1.example A {}", ip(b, 5)),
            "",
            "",
        );
        v.push(leaf(
            "example.com",
            ip(b, 5),
            "example.com.",
            "mixed 100 A 203.0.113.51\nmixed 200 A 203.0.113.52",
            Behaviour::Normal,
        ));
        v
    })
    .await;
    for round in ["first", "cached"] {
        let m = a.query("mixed.example.com.", RecordType::A).await;
        ok(&m);
        assert_eq!(m.answers.len(), 2);
        let ttls: Vec<u32> = m.answers.iter().map(|r| r.ttl).collect();
        assert!(
            ttls.iter().all(|t| *t == ttls[0] && *t <= 100),
            "{round} answer: {:?}",
            lines(&m.answers)
        );
    }
}
