//! Special-use names (RFC 6761, 6762, 7686, 9476) are answered here and never sent to
//! any root's servers (DESIGN §4.1).

use hickory_proto::op::ResponseCode;
use hickory_proto::rr::RecordType;

use crate::harness::*;

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
    assert_eq!(
        w.total_queries(),
        0,
        "no packet reached any fake server: {:?}",
        w.all_seen()
    );
}

// A zones root may define a special-use TLD explicitly; then it is served from there
// (and still never sent to the ICANN root).
#[tokio::test]
async fn a_zones_root_may_define_test_and_alt() {
    let w = crate::world::World::start(standard_world).await;
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
    let cfg = config(&w, "").replace(
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
    assert_eq!(w.total_queries(), 0);
}
