//! The copy's checks against fake roots signed by ldns-signzone with a ZONEMD
//! (tests/fixtures/rootcopy/make.sh), so the digest and the signatures are checked
//! against an independent implementation.

use std::path::{Path, PathBuf};

use std::str::FromStr;

use hickory_proto::rr::Name;

use super::*;
use crate::zones::read_trust_anchors;

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/rootcopy")
        .join(name)
}

fn anchors(file: &str) -> TrustAnchors {
    let mut a = TrustAnchors::new(Name::root());
    for l in read_trust_anchors(&fixture(file)).expect("anchor file") {
        a.add(&l.record).expect("anchor");
    }
    a
}

/// The records as written, and the SOA serial.
fn records(file: &str) -> (u32, Vec<Record>) {
    let parsed = crate::zones::read(&fixture(file), &Name::root()).expect("reads");
    let recs: Vec<Record> = parsed.records.into_iter().map(|l| l.record).collect();
    let serial = recs
        .iter()
        .find_map(|r| match &r.data {
            RData::SOA(soa) => Some(soa.serial),
            _ => None,
        })
        .expect("SOA");
    (serial, recs)
}

/// 2026-12-06, inside the fixtures' signature window (2020–2070).
const NOW: u64 = 1_796_000_000;

#[test]
fn zonemd_of_an_ldns_signed_root_matches() {
    for f in ["root.zone", "root2.zone"] {
        let (serial, recs) = records(f);
        zonemd::verify(&Name::root(), serial, &recs).unwrap_or_else(|e| panic!("{f}: {e}"));
    }
}

#[test]
fn zonemd_refuses_a_changed_record() {
    let (serial, recs) = records("tampered.zone");
    let e = zonemd::verify(&Name::root(), serial, &recs).unwrap_err();
    assert!(e.contains("does not match"), "{e}");
}

#[test]
fn zonemd_refuses_a_zone_without_one_or_of_another_serial() {
    let (serial, recs) = records("nozonemd.zone");
    assert!(
        zonemd::verify(&Name::root(), serial, &recs)
            .unwrap_err()
            .contains("no ZONEMD")
    );
    let (serial, recs) = records("root.zone");
    let e = zonemd::verify(&Name::root(), serial + 1, &recs).unwrap_err();
    assert!(e.contains("not the SOA serial"), "{e}");
}

#[test]
fn dnssec_of_the_copy_verifies_under_its_anchor_only() {
    let (_, recs) = records("root.zone");
    let n = verify_dnssec(&recs, &anchors("anchor.ds"), NOW).expect("secure");
    // SOA, NS, DNSKEY, ZONEMD, NSEC at the apex; DS and NSEC of alpha., NSEC of
    // beta. and test., NSEC of the glue owners a.root.test.? (not: under test.).
    assert!(n >= 8, "{n}");
    let e = verify_dnssec(&recs, &anchors("other.ds"), NOW).unwrap_err();
    assert!(e.contains("DNSKEY"), "{e}");
    let e = verify_dnssec(&recs, &TrustAnchors::new(Name::root()), NOW).unwrap_err();
    assert!(e.contains("no trust anchor"), "{e}");
}

#[test]
fn load_checks_what_verify_says() {
    let a = anchors("anchor.ds");
    let now = crate::clock::unix_now();
    let c = load(&fixture("root.zone"), Verify::Default, &a, now).expect("verifies");
    assert_eq!((c.serial, c.verified), (2026120601, "ZONEMD and DNSSEC"));
    assert!(
        c.set
            .has_tld(&hickory_proto::rr::LowerName::from_str("alpha.").unwrap())
    );
    let e = load(&fixture("tampered.zone"), Verify::Default, &a, now)
        .err()
        .unwrap();
    assert!(e.contains("ZONEMD"), "{e}");
    // Without a ZONEMD: refused unless only DNSSEC is asked for.
    assert!(load(&fixture("nozonemd.zone"), Verify::Default, &a, now).is_err());
    load(&fixture("nozonemd.zone"), Verify::Dnssec, &a, now).expect("DNSSEC only");
    let c = load(&fixture("tampered.zone"), Verify::None, &a, now).expect("unchecked");
    assert_eq!(c.verified, "nothing");
}

#[test]
fn load_refuses_a_copy_past_its_expire() {
    let a = anchors("anchor.ds");
    let c = load(
        &fixture("root.zone"),
        Verify::Default,
        &a,
        crate::clock::unix_now(),
    )
    .unwrap();
    // SOA expire of the fixture is 604800 s.
    assert_eq!(c.expires, c.fetched + 604800);
    let e = load(&fixture("root.zone"), Verify::Default, &a, c.expires)
        .err()
        .unwrap();
    assert!(e.contains("past its SOA expire"), "{e}");
}

/// RFC 8976 Appendix A.1, the simple EXAMPLE zone.
#[test]
fn zonemd_of_rfc8976_example_a1() {
    let text = "example. 86400 IN SOA ns1 admin 2018031900 1800 900 604800 86400\n\
        example. 86400 IN NS ns1\n\
        example. 86400 IN NS ns2\n\
        example. 86400 IN ZONEMD 2018031900 1 1 c68090d90a7aed716bc459f9340e3d7c1370d4d24b7e2fc3a1ddc0b9a87153b9a9713b3c9ae5cc27777f98b8e730044c\n\
        ns1 3600 IN A 203.0.113.63\n\
        ns2 3600 IN AAAA 2001:db8::63\n";
    let origin = Name::from_str("example.").unwrap();
    let parsed = crate::zones::read_str(text, Path::new("a1.zone"), &origin).unwrap();
    let recs: Vec<Record> = parsed.records.iter().map(|l| l.record.clone()).collect();
    let d = zonemd::digest(&origin, &recs).unwrap();
    assert_eq!(d[..4], [0xc6, 0x80, 0x90, 0xd9]);
    zonemd::verify(&origin, 2018031900, &recs).unwrap();
}
