//! Upstream address policy (issue 7, Build §4 and resolution behaviour 9): never
//! query 127.0.0.0/8, ::1, 0.0.0.0/8, multicast, link-local or IPv4-mapped
//! addresses unless the root allows loopback; never a name under `localhost.`; never
//! altroot's own listen address.
//!
//! Some of these tests put addresses outside loopback (224.0.0.1, 169.254.1.1) into
//! referrals. An engine that obeys the policy sends nothing there; one that does not
//! would send a packet off the machine, so run these on a machine without a route
//! out, or in a network namespace (`unshare -rn`), while the policy is being built.

use std::net::IpAddr;
use std::time::Duration;

use hickory_proto::rr::RecordType;

use crate::harness::*;
use crate::world::{Behaviour, Spec, World};
use crate::worlds::*;

/// A fake server on 127.0.0.1 at the world's port, holding lone.com and pair.com
/// with [`BAD_A`]: whatever a wrongly allowed address or name leads to (0.0.0.0
/// and ::ffff:127.0.0.1 reach it), it sees and answers.
fn trap() -> Spec {
    leaf(
        "trap",
        "127.0.0.1".parse().unwrap(),
        &[
            ("lone.com.", &format!("www A {BAD_A}")),
            ("pair.com.", &format!("www A {BAD_A}")),
        ],
        Behaviour::Normal,
    )
}

/// lone.com delegated only to `ns` (with `glue`, if any: zone-file lines for com);
/// pair.com to the same plus ns.good.net.; the trap on 127.0.0.1.
fn policy_world(ns: &str, glue: &str) -> impl Fn([u8; 3]) -> Vec<Spec> {
    let (ns, glue) = (ns.to_string(), glue.to_string());
    move |b| {
        let com = format!("lone NS {ns}\npair NS {ns}\npair NS ns.good.net.\n{glue}");
        let mut v = base(b, &com, "");
        v.push(good_spec(b, &[("pair.com.", &format!("www A {GOOD_A}"))]));
        v.push(trap());
        v
    }
}

/// lone.com: SERVFAIL in time with the EDE `codes`; pair.com: the good server's
/// answer; the trap saw nothing.
async fn never_asked(w: &World, a: &Altroot, what: &str, codes: &[&str]) {
    let (m, took) = timed(a, "www.pair.com.", RecordType::A).await;
    assert_addrs(&m, took, &[GOOD_A]);
    let (lone, took) = timed(a, "www.lone.com.", RecordType::A).await;
    assert_servfail_in_time(&lone, took);
    let (m, took) = timed(a, "www.lone.com.", RecordType::A).await;
    assert_servfail_in_time(&m, took);
    let (m, took) = timed(a, "www.good.net.", RecordType::A).await;
    assert_addrs(&m, took, &["203.0.113.2"]);
    let (m, took) = timed(a, "www.pair.com.", RecordType::A).await;
    assert_addrs(&m, took, &[GOOD_A]);
    assert!(
        w.server("trap").seen().is_empty(),
        "{what}: a query reached 127.0.0.1: {:?}",
        asked(w, "trap")
    );
    assert_ede(&lone, codes);
}

// A hints root whose servers are on loopback, without `allow-loopback-upstream`:
// refused at start-up, naming the hints line, the denied range and the fix, and
// its root server sees no packet. (The same world with the key set answers, so
// the world itself works.)
#[tokio::test]
async fn loopback_hints_root_needs_allow_loopback_upstream() {
    let (w, allowed) = start(fault_world(Behaviour::Normal)).await;
    let m = allowed.query("www.good.net.", RecordType::A).await;
    assert_eq!(addrs(&m), vec!["203.0.113.2".parse::<IpAddr>().unwrap()]);
    let before = w.total_queries();

    // Without the key the configured servers are refused at start-up, with the
    // reason and the fix: the operator learns at once, not from SERVFAILs.
    let cfg = edit(
        &hints_config(&w, "", ""),
        "allow-loopback-upstream = true\n",
        "",
    );
    assert!(!cfg.contains("allow-loopback"));
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("hints.txt"), hints(&w)).unwrap();
    let path = dir.path().join("altroot.toml");
    std::fs::write(&path, &cfg).unwrap();
    let config = altroot::config::Config::load(&path).unwrap();
    let err = altroot::service::Service::new(config)
        .err()
        .expect("refused at start-up");
    let text = err.to_string();
    assert!(text.contains("hints.txt:1: error:"), "{text}");
    assert!(text.contains("is in upstream-deny (127.0.0.0/8)"), "{text}");
    assert!(text.contains("allow-loopback-upstream = true"), "{text}");
    assert_eq!(w.total_queries(), before, "{:?}", w.all_seen());
}

/// Glue for the only (lone.com) or first (pair.com) NS name pointing at `addr`:
/// never asked, even with `ipv6 = true` (so AAAA glue would be usable) and loopback
/// allowed. Alone: SERVFAIL in time; beside ns.good.net: its answer. Nothing reaches
/// 127.0.0.1, where 0.0.0.0 and ::ffff:127.0.0.1 would arrive.
async fn denied_glue(addr: &str, rtype: &str) {
    let (w, a) = start_cfg(
        policy_world("ns1.denied.com.", &format!("ns1.denied {rtype} {addr}")),
        "ipv6 = true",
        "",
    )
    .await;
    never_asked(&w, &a, addr, &["denied"]).await;
}

// "This network" (0.0.0.0/8): Linux delivers it to this host.
#[tokio::test]
async fn glue_this_network_is_never_asked() {
    denied_glue("0.0.0.0", "A").await;
}

// Multicast (224.0.0.0/4).
#[tokio::test]
async fn glue_multicast_is_never_asked() {
    denied_glue("224.0.0.1", "A").await;
}

// Link-local (169.254.0.0/16).
#[tokio::test]
async fn glue_link_local_is_never_asked() {
    denied_glue("169.254.1.1", "A").await;
}

// An IPv4-mapped IPv6 address (::ffff:0:0/96) of loopback: allowing loopback for
// the root does not open the IPv4-mapped range.
#[tokio::test]
async fn glue_ipv4_mapped_loopback_is_never_asked() {
    denied_glue("::ffff:127.0.0.1", "AAAA").await;
}

// An NS name under `localhost.` (which altroot itself answers 127.0.0.1 / ::1) never
// becomes an upstream target, even with loopback allowed for the root.
#[tokio::test]
async fn ns_names_under_localhost_are_never_targets() {
    let (w, a) = start(policy_world("ns.localhost.", "")).await;
    never_asked(&w, &a, "ns.localhost.", &["denied", "unreachable"]).await;
}

// A delegation to altroot's own listen address and port: SERVFAIL in time, no
// query loop (altroot stays quick for other names right after), and the good
// server beside it answers.
#[tokio::test]
async fn delegation_to_altroots_own_address_is_refused() {
    let w = World::start(|b| {
        let com = "self NS ns1.self\nns1.self A 127.0.0.1\nselfpair NS ns1.self\nselfpair NS ns.good.net.";
        let mut v = base(b, com, "");
        v.push(good_spec(b, &[("selfpair.com.", "www A 203.0.113.4")]));
        v
    })
    .await;
    let cfg = edit(
        &hints_config(&w, "", ""),
        "listen = [\"127.0.0.1:0\"]",
        &format!("listen = [\"127.0.0.1:{}\"]", w.port),
    );
    let a = Altroot::start(&cfg, &[("hints.txt", hints(&w))]).await;
    assert_eq!(a.addr, format!("127.0.0.1:{}", w.port).parse().unwrap());

    let (m, took) = timed(&a, "www.self.com.", RecordType::A).await;
    assert_servfail_in_time(&m, took);
    let (g, took) = timed(&a, "www.good.net.", RecordType::A).await;
    assert_addrs(&g, took, &["203.0.113.2"]);
    assert!(
        took < Duration::from_millis(500),
        "busy after the loop: {took:?}"
    );
    let (p, took) = timed(&a, "www.selfpair.com.", RecordType::A).await;
    assert_addrs(&p, took, &["203.0.113.4"]);
    let (again, took) = timed(&a, "www.self.com.", RecordType::A).await;
    assert_servfail_in_time(&again, took);
    assert_ede(&m, &["denied", "loop"]);
}
