//! Special-use names (RFC 6761, 6762, 7686, 9476) are answered here and never sent to
//! any root's servers (DESIGN §4.1).

use std::time::{Duration, Instant};

use hickory_proto::op::ResponseCode;
use hickory_proto::rr::{LowerName, RecordType};

use crate::harness::*;
use crate::world::World;

/// The barrier before a "nothing was sent" claim: asks www.geek (an alt-root name,
/// whose background collision check sends `geek. NS` to the ICANN root) and waits,
/// bounded, until that check has recorded its finding. A check wrongly started for
/// an earlier (special-use) name began before it and has had its round trip too.
/// Then the only packet any fake server saw is that one, and geek is the only TLD
/// a collision check looked at.
async fn assert_nothing_sent_but_the_geek_check(w: &World, a: &Altroot) {
    a.query("www.geek.", RecordType::A).await;
    let geek = LowerName::new(&name("geek."));
    let t = Instant::now();
    while !a.router().collisions_seen().contains_key(&geek) {
        assert!(
            t.elapsed() < Duration::from_secs(5),
            "the collision check of geek never finished"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let all: Vec<String> = w
        .all_seen()
        .iter()
        .map(|(server, s)| format!("{server}: {} {}", s.name, s.qtype))
        .collect();
    assert_eq!(
        all,
        vec!["root: geek. NS"],
        "no other packet reached any fake server"
    );
    let checked: Vec<String> = a
        .router()
        .collisions_seen()
        .keys()
        .map(ToString::to_string)
        .collect();
    assert_eq!(checked, vec!["geek."]);
}

// RFC 6761 §6.3 (localhost: loopback addresses, answered here), §6.4 (invalid:
// NXDOMAIN), RFC 6762 §22 (local), RFC 7686 §2 (onion), RFC 6761 §6.2 (test), RFC
// 9476 (alt): answered by altroot itself, with a SOA for negative caching, and no
// packet about them leaves the machine, not even a collision check.
#[tokio::test]
async fn special_use_names_never_leave_the_machine() {
    let (w, a) = standard("").await;
    let m = a.query("localhost.", RecordType::A).await;
    assert_eq!(lines(&m.answers), vec!["localhost. 3600 A 127.0.0.1"]);
    assert_resolver_flags(&m);
    let m = a.query("db.localhost.", RecordType::AAAA).await;
    assert_eq!(lines(&m.answers), vec!["db.localhost. 3600 AAAA ::1"]);
    let m = a.query("localhost.", RecordType::MX).await;
    assert_eq!(m.metadata.response_code, ResponseCode::NoError);
    assert!(m.answers.is_empty());

    for n in [
        "x.invalid.",
        "x.onion.",
        "printer.local.",
        "x.test.",
        "foo.alt.",
        "invalid.",
        "onion.",
    ] {
        for t in [RecordType::A, RecordType::AAAA, RecordType::TXT] {
            let m = a.query(n, t).await;
            assert_eq!(m.metadata.response_code, ResponseCode::NXDomain, "{n} {t}");
            assert_resolver_flags(&m);
            assert_eq!(m.authorities.len(), 1, "{n}: SOA for negative caching");
        }
    }
    assert_nothing_sent_but_the_geek_check(&w, &a).await;
}

// A zones root may define a special-use TLD explicitly (`special-use`); then it is
// served from there, and still never sent to the ICANN root, not even as a
// collision check (docs/resolution.md "How a name is resolved" 1: only that root is asked).
#[tokio::test]
async fn a_zones_root_may_define_test_and_alt() {
    let w = World::start(standard_world).await;
    let mut files = alt_zones(&w);
    files.push(("hints.txt", hints(&w)));
    files.push((
        "zones/test.zone",
        "$TTL 60\n@ SOA ns.test. h.test. 1 1 1 1 60\n@ NS ns.test.\nns A 127.0.0.1\nwww A 192.0.2.77\n".into(),
    ));
    files.push((
        "zones/alt.zone",
        "$TTL 60\n@ SOA ns.alt. h.alt. 1 1 1 1 60\n@ NS ns.alt.\nns A 127.0.0.1\nwww A 192.0.2.78\n".into(),
    ));
    let cfg = edit(
        &config(&w, ""),
        "zones = \"zones\"",
        "zones = \"zones\"\nspecial-use = [\"test\"]",
    );
    let a = Altroot::start(&cfg, &files).await;
    let m = a.query("www.test.", RecordType::A).await;
    assert_eq!(lines(&m.answers), vec!["www.test. 60 A 192.0.2.77"]);
    let m = a.query("www.alt.", RecordType::A).await;
    assert_eq!(lines(&m.answers), vec!["www.alt. 60 A 192.0.2.78"]);
    let m = a.query("x.onion.", RecordType::A).await;
    assert_eq!(m.metadata.response_code, ResponseCode::NXDomain);
    assert_nothing_sent_but_the_geek_check(&w, &a).await;
}
