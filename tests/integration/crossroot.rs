//! CNAME chains that cross roots, and delegations from the alternate root to servers
//! outside altroot and back into altroot's own zones (DESIGN §4.3, §4.4).

use std::time::{Duration, Instant};

use hickory_proto::op::ResponseCode;
use hickory_proto::rr::{LowerName, RecordType};

use crate::harness::*;
use crate::world::World;

/// The ICANN root may hear about an alt TLD only as `<tld>. NS`: the background check
/// that finds collisions under policy "first" (docs/resolution.md "How a name is resolved" 7;
/// besides its own priming, `. NS`). Never a full name. Waits (bounded) until the
/// checks of `tlds` have recorded their findings, so whatever they send has been
/// sent, then asserts on everything the ICANN root saw.
async fn assert_only_tld_checks(w: &World, a: &Altroot, tlds: &[&str]) {
    for tld in tlds {
        let key = LowerName::new(&name(tld));
        let t = Instant::now();
        while !a.router().collisions_seen().contains_key(&key) {
            assert!(
                t.elapsed() < Duration::from_secs(5),
                "the collision check of {tld} never finished"
            );
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        assert!(
            asked(w, "root").contains(&format!("{tld} NS")),
            "{:?}",
            asked(w, "root")
        );
    }
    for s in w.server("root").seen() {
        assert!(
            s.name.num_labels() <= 1 && s.qtype == RecordType::NS,
            "the ICANN root saw more than a TLD check: {s:?}"
        );
    }
}

// alt name → ICANN name: the second link is resolved in the ICANN world.
#[tokio::test]
async fn cname_from_alt_into_icann() {
    let (w, a) = standard("").await;
    let m = a.query("toicann.geek.", RecordType::A).await;
    assert_eq!(m.metadata.response_code, ResponseCode::NoError);
    assert_resolver_flags(&m);
    assert_eq!(
        lines(&m.answers),
        vec![
            "toicann.geek. 3600 CNAME www.example.com.",
            "www.example.com. 600 A 203.0.113.10"
        ]
    );
    assert_eq!(w.server("example.com").seen().len(), 1);
}

// ICANN name → alt name: the leaf's CNAME target is answered by our geek zone, never
// by asking the ICANN root about geek.
#[tokio::test]
async fn cname_from_icann_into_alt() {
    let (w, a) = standard("").await;
    let m = a.query("togeek.example.com.", RecordType::A).await;
    assert_eq!(
        lines(&m.answers),
        vec![
            "togeek.example.com. 300 CNAME www.geek.",
            "www.geek. 3600 A 192.0.2.1"
        ]
    );
    let leaked: Vec<_> = w
        .all_seen()
        .into_iter()
        .filter(|(n, s)| s.name.to_string().ends_with("geek.") && n != "root")
        .collect();
    assert!(
        leaked.is_empty(),
        "only the ICANN root may hear of geek: {leaked:?}"
    );
    assert_only_tld_checks(&w, &a, &["geek."]).await;
}

// A loop across roots (x.geek → cross.example.com → x.geek) ends in SERVFAIL.
#[tokio::test]
async fn cname_loop_across_roots_is_servfail() {
    let (_w, a) = standard("").await;
    let m = a.query("x.geek.", RecordType::A).await;
    assert_eq!(m.metadata.response_code, ResponseCode::ServFail);
}

// A CNAME chain ending in NXDOMAIN keeps the chain and the NXDOMAIN (RFC 6604),
// with the SOA of the zone where the chain ended.
#[tokio::test]
async fn chain_ending_in_nxdomain() {
    let (_w, a) = standard("").await;
    let m = a.query("dangling.example.com.", RecordType::A).await;
    assert_eq!(m.metadata.response_code, ResponseCode::NXDomain);
    assert_eq!(
        lines(&m.answers),
        vec!["dangling.example.com. 300 CNAME nothere.example.org."]
    );
    assert_eq!(m.authorities.len(), 1);
    assert_eq!(m.authorities[0].name, name("example.org."));
    // NODATA at the end of a chain: CNAME kept, SOA in authority.
    let m = a.query("toorg.example.com.", RecordType::MX).await;
    assert_eq!(m.metadata.response_code, ResponseCode::NoError);
    assert_eq!(
        lines(&m.answers),
        vec!["toorg.example.com. 300 CNAME www.example.org."]
    );
    assert_eq!(m.authorities[0].record_type(), RecordType::SOA);
}

// root.zone delegates pirate to a server outside altroot; altroot follows the
// referral (with the glue from root.zone) and caches what it learns in the alt root.
#[tokio::test]
async fn alt_root_delegation_to_an_outside_server() {
    let (w, a) = standard("").await;
    let m = a.query("www.pirate.", RecordType::A).await;
    assert_eq!(m.metadata.response_code, ResponseCode::NoError);
    assert_resolver_flags(&m);
    assert_eq!(lines(&m.answers), vec!["www.pirate. 300 A 198.51.100.77"]);
    assert_eq!(w.server("pirate").seen().len(), 1);
    assert_only_tld_checks(&w, &a, &["pirate."]).await;
    let m = a.query("www.pirate.", RecordType::A).await;
    assert_eq!(m.answers.len(), 1);
    assert_eq!(
        w.server("pirate").seen().len(),
        1,
        "second answer from the alt root's cache"
    );
    assert!(!a.router().roots[0].cache.is_empty());
    let m = a.query("nope.pirate.", RecordType::A).await;
    assert_eq!(m.metadata.response_code, ResponseCode::NXDomain);
}

// A sub-delegation inside a local TLD zone (lab.geek) to an outside server.
#[tokio::test]
async fn sub_delegation_from_a_local_zone() {
    let (w, a) = standard("").await;
    let m = a.query("deep.lab.geek.", RecordType::A).await;
    assert_eq!(
        lines(&m.answers),
        vec!["deep.lab.geek. 300 A 198.51.100.99"]
    );
    assert_eq!(w.server("lab.geek").seen().len(), 1);
}

// The outside pirate server delegates home.pirate, which altroot serves itself from
// home.pirate.zone: answered in-process, the delegation's own address never dialled
// (our own zones are the deepest known cut, so iteration starts there).
#[tokio::test]
async fn delegation_back_into_our_own_zone() {
    let (w, a) = standard("").await;
    let m = a.query("www.home.pirate.", RecordType::A).await;
    assert_eq!(m.metadata.response_code, ResponseCode::NoError);
    assert_eq!(
        lines(&m.answers),
        vec!["www.home.pirate. 3600 A 192.0.2.200"]
    );
    let seen: Vec<String> = w
        .all_seen()
        .iter()
        .filter(|(n, _)| n != "root")
        .map(|(n, s)| format!("{n} {}", s.name))
        .collect();
    assert!(seen.is_empty(), "{seen:?}");
    assert_only_tld_checks(&w, &a, &["pirate."]).await;
}
