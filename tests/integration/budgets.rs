//! Budgets (issue 7 §2, `[limits]`): every limit on the work one client question may
//! cause, each tested by counting what the fake servers were asked. The NXNS attack
//! (CVE-2020-8616, CVE-2020-12662) is the first: a referral to hundreds of glueless
//! name servers must cost a handful of queries, not hundreds.

use std::collections::BTreeSet;

use hickory_proto::op::ResponseCode;
use hickory_proto::rr::RecordType;

use crate::harness::*;
use crate::world::{Behaviour, Spec, World};
use crate::worlds::*;

/// A world whose com zone delegates `attack.com` to `n` glueless NS names under
/// `victim.net` (served by one server that says NXDOMAIN for them all, as in the
/// NXNS paper), plus `extra` com lines.
fn nxns_world(n: usize, extra: &'static str) -> impl Fn([u8; 3]) -> Vec<Spec> {
    move |b| {
        let mut com = String::new();
        for i in 0..n {
            com.push_str(&format!("attack NS ns{i}.victim.net.\n"));
        }
        com.push_str(extra);
        let net = format!("victim NS ns.victim\nns.victim A {}", ip(b, 20));
        let mut v = base(b, &com, &net);
        v.push(good_spec(b, &[]));
        v.push(leaf(
            "victim",
            ip(b, 20),
            &[("victim.net.", &format!("ns A {}", ip(b, 20)))],
            Behaviour::Normal,
        ));
        v
    }
}

// NXNS: a referral listing 200 glueless NS names. altroot looks up at most
// `max-glueless-ns` (3) of them, one question each to the victim, then SERVFAIL with
// the budget named: 9 upstream queries in all (priming; com; attack.com over UDP,
// truncated, and again over TCP; net and victim.net's delegation; three NS names),
// where the old engine sent hundreds.
#[tokio::test]
async fn nxns_referral_to_200_glueless_names_costs_a_handful_of_queries() {
    let (w, a) = start(nxns_world(200, "")).await;
    let (m, took) = timed(&a, "www.attack.com.", RecordType::A).await;
    assert_servfail_in_time(&m, took);
    assert_ede(&m, &["budget"]);
    assert!(
        ede(&m).unwrap().1.contains("max-glueless-ns = 3"),
        "{:?}",
        ede(&m)
    );
    let victim: Vec<String> = asked(&w, "victim");
    assert_eq!(victim.len(), 3, "{victim:?}");
    assert!(
        w.total_queries() <= 9,
        "{} upstream queries: {:?}",
        w.total_queries(),
        w.all_seen()
    );
    // A flood of such names costs the victim at most three questions each.
    for i in 0..5 {
        a.query(&format!("x{i}.attack.com."), RecordType::A).await;
    }
    assert!(
        asked(&w, "victim").len() <= 3 + 5 * 3,
        "{:?}",
        asked(&w, "victim")
    );
}

// With max-glueless-ns = 1, one lookup only; with 0, none at all.
#[tokio::test]
async fn max_glueless_ns_is_the_configured_number() {
    let (w, a) = start_cfg(nxns_world(20, ""), "", "[limits]\nmax-glueless-ns = 1").await;
    let m = a.query("www.attack.com.", RecordType::A).await;
    assert_eq!(m.metadata.response_code, ResponseCode::ServFail);
    assert_ede(&m, &["budget"]);
    assert!(
        ede(&m).unwrap().1.contains("max-glueless-ns = 1"),
        "{:?}",
        ede(&m)
    );
    assert_eq!(asked(&w, "victim").len(), 1, "{:?}", asked(&w, "victim"));
    let (w, a) = start_cfg(nxns_world(20, ""), "", "[limits]\nmax-glueless-ns = 0").await;
    let m = a.query("www.attack.com.", RecordType::A).await;
    assert_eq!(m.metadata.response_code, ResponseCode::ServFail);
    // The budget, not some other failure (an unreachable victim also asks it nothing).
    assert_ede(&m, &["budget"]);
    assert!(
        ede(&m).unwrap().1.contains("max-glueless-ns = 0"),
        "{:?}",
        ede(&m)
    );
    assert!(asked(&w, "victim").is_empty());
}

// max-failed-ns-lookups: after this many NS-name lookups that gave no address, no
// more are tried for the question.
#[tokio::test]
async fn max_failed_ns_lookups_stops_further_lookups() {
    let (w, a) = start_cfg(
        nxns_world(20, ""),
        "",
        "[limits]\nmax-failed-ns-lookups = 2",
    )
    .await;
    let m = a.query("www.attack.com.", RecordType::A).await;
    assert_eq!(m.metadata.response_code, ResponseCode::ServFail);
    assert_ede(&m, &["budget"]);
    assert!(
        ede(&m).unwrap().1.contains("max-failed-ns-lookups = 2"),
        "{:?}",
        ede(&m)
    );
    assert_eq!(asked(&w, "victim").len(), 2, "{:?}", asked(&w, "victim"));
}

/// `n` glued NS names for lone.com, each on its own REFUSED server.
fn many_servers(n: u8) -> impl Fn([u8; 3]) -> Vec<Spec> {
    move |b| {
        let mut com = String::new();
        for i in 0..n {
            com.push_str(&format!(
                "lone NS ns{i}.lone\nns{i}.lone A {}\n",
                ip(b, 100 + i)
            ));
        }
        let mut v = base(b, &com, "");
        v.push(good_spec(b, &[]));
        for i in 0..n {
            let name: &'static str = Box::leak(format!("refused{i}").into_boxed_str());
            v.push(leaf(name, ip(b, 100 + i), &[], Behaviour::Refused));
        }
        v
    }
}

fn servers_asked(w: &World, n: u8) -> BTreeSet<String> {
    (0..n)
        .filter(|i| !w.server(&format!("refused{i}")).seen().is_empty())
        .map(|i| format!("refused{i}"))
        .collect()
}

// max-ns-per-zone (13): of a delegation to 20 servers, at most 13 are considered.
#[tokio::test]
async fn at_most_13_name_servers_of_a_delegation_are_considered() {
    let (w, a) = start(many_servers(20)).await;
    let (m, took) = timed(&a, "www.lone.com.", RecordType::A).await;
    assert_servfail_in_time(&m, took);
    let asked = servers_asked(&w, 20);
    assert_eq!(asked.len(), 13, "{asked:?}");
}

// max-queries-per-zone: the servers of one cut get at most this many queries.
#[tokio::test]
async fn max_queries_per_zone_caps_one_cut() {
    let (w, a) = start_cfg(many_servers(10), "", "[limits]\nmax-queries-per-zone = 4").await;
    let m = a.query("www.lone.com.", RecordType::A).await;
    assert_eq!(m.metadata.response_code, ResponseCode::ServFail);
    assert_ede(&m, &["budget"]);
    assert!(
        ede(&m).unwrap().1.contains("max-queries-per-zone = 4"),
        "{:?}",
        ede(&m)
    );
    let total: usize = (0..10)
        .map(|i| w.server(&format!("refused{i}")).seen().len())
        .sum();
    assert_eq!(total, 4);
}

/// A world where www.deep.good.net needs referrals root → net → good.net →
/// deep.good.net.
fn deep_world(b: [u8; 3]) -> Vec<Spec> {
    let mut v = base(b, "", "");
    v.push(good_spec(b, &[]));
    // good.net delegates deep.good.net back to the same server, which serves it too.
    let last = v.len() - 1;
    v[last] = leaf(
        "good",
        ip(b, GOOD),
        &[(
            "good.net.",
            &format!(
                "ns A {}\nwww A 203.0.113.2\ndeep NS ns.deep\nns.deep A {}",
                ip(b, GOOD),
                ip(b, 21)
            ),
        )],
        Behaviour::Normal,
    );
    v.push(leaf(
        "deep",
        ip(b, 21),
        &[(
            "deep.good.net.",
            &format!("ns1 A {}\nwww A 203.0.113.21", ip(b, 21)),
        )],
        Behaviour::Normal,
    ));
    v
}

// max-upstream-queries: the whole question — the priming it starts included
// (issue 14: shared work is charged to the question that starts it) — may send at
// most this many; past it SERVFAIL, and no more are sent.
#[tokio::test]
async fn max_upstream_queries_caps_the_whole_question() {
    let (w, a) = start(deep_world).await;
    let m = a.query("www.deep.good.net.", RecordType::A).await;
    assert_eq!(
        addrs(&m),
        vec!["203.0.113.21".parse::<std::net::IpAddr>().unwrap()]
    );
    let full = w.total_queries();
    assert!(full >= 5, "{:?}", w.all_seen());

    let (w, a) = start_cfg(
        deep_world,
        "",
        &format!("[limits]\nmax-upstream-queries = {}", full - 1),
    )
    .await;
    let m = a.query("www.deep.good.net.", RecordType::A).await;
    assert_eq!(m.metadata.response_code, ResponseCode::ServFail);
    assert_ede(&m, &["budget"]);
    assert!(
        ede(&m).unwrap().1.contains("max-upstream-queries"),
        "{:?}",
        ede(&m)
    );
    assert_eq!(w.total_queries(), full - 1, "{:?}", w.all_seen());
}

// max-referrals: a name three delegations down fails with max-referrals = 2.
#[tokio::test]
async fn max_referrals_caps_the_depth_of_delegations() {
    let (_w, a) = start_cfg(deep_world, "", "[limits]\nmax-referrals = 2").await;
    let m = a.query("www.deep.good.net.", RecordType::A).await;
    assert_eq!(m.metadata.response_code, ResponseCode::ServFail);
    assert_ede(&m, &["budget"]);
    assert!(
        ede(&m).unwrap().1.contains("max-referrals = 2"),
        "{:?}",
        ede(&m)
    );
    // A name two delegations down still resolves, on an altroot of its own: after
    // the deep question the cuts are cached and it would need no referral at all.
    // (Nor can it come first on the same one: referrals are counted from the
    // closest cached cut, so the deep name would then need only one.)
    let (_w, a) = start_cfg(deep_world, "", "[limits]\nmax-referrals = 2").await;
    let m = a.query("www.good.net.", RecordType::A).await;
    assert_eq!(m.metadata.response_code, ResponseCode::NoError, "{m:?}");
    assert_eq!(
        addrs(&m),
        vec!["203.0.113.2".parse::<std::net::IpAddr>().unwrap()]
    );
}

/// a.com's NS is glueless (ns.b.org.), b.org's NS is glueless too (ns.c.net.), and
/// c.net's is glued: resolving www.a.com nests two name-server lookups.
fn nested_world(b: [u8; 3]) -> Vec<Spec> {
    let mut v = base(
        b,
        "a NS ns.b.org.",
        &format!("c NS ns.c\nns.c A {}", ip(b, 30)),
    );
    let org = v.iter().position(|s| s.name == "org").unwrap();
    v[org] = tld_spec(b, "org", "b NS ns.c.net.");
    v.push(good_spec(b, &[]));
    v.push(leaf(
        "abc",
        ip(b, 30),
        &[
            ("a.com.", "www A 203.0.113.30"),
            ("b.org.", &format!("ns A {}", ip(b, 30))),
            ("c.net.", &format!("ns A {}", ip(b, 30))),
        ],
        Behaviour::Normal,
    ));
    v
}

// max-depth: two nested NS-name lookups resolve with the default (4) and with
// max-depth = 2, and fail with max-depth = 1, naming the budget.
#[tokio::test]
async fn max_depth_caps_nested_name_server_lookups() {
    let (_w, a) = start(nested_world).await;
    let m = a.query("www.a.com.", RecordType::A).await;
    assert_eq!(
        addrs(&m),
        vec!["203.0.113.30".parse::<std::net::IpAddr>().unwrap()]
    );
    let (_w, a) = start_cfg(nested_world, "", "[limits]\nmax-depth = 2").await;
    let m = a.query("www.a.com.", RecordType::A).await;
    assert_eq!(m.metadata.response_code, ResponseCode::NoError);
    let (_w, a) = start_cfg(nested_world, "", "[limits]\nmax-depth = 1").await;
    let m = a.query("www.a.com.", RecordType::A).await;
    assert_eq!(m.metadata.response_code, ResponseCode::ServFail);
    assert_ede(&m, &["budget"]);
    assert!(
        ede(&m).unwrap().1.contains("max-depth = 1"),
        "{:?}",
        ede(&m)
    );
}

// max-cname-chain as configured: 2 links resolve, 3 are SERVFAIL.
#[tokio::test]
async fn max_cname_chain_is_the_configured_number() {
    let (_w, a) = standard_cfg(|_, c| format!("{c}\n[limits]\nmax-cname-chain = 2\n")).await;
    let m = a.query("c18.geek.", RecordType::A).await;
    assert_eq!(m.metadata.response_code, ResponseCode::NoError);
    assert_eq!(m.answers.len(), 3);
    let m = a.query("c17.geek.", RecordType::A).await;
    assert_eq!(m.metadata.response_code, ResponseCode::ServFail);
    assert_ede(&m, &["budget"]);
}
