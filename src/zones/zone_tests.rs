//! [`Zone::lookup`]: answers, referrals and wildcards.

use std::path::Path;

use super::*;
use crate::zones::reader::read_str;

fn zone(origin: &str, text: &str) -> Zone {
    let o = Name::from_ascii(origin).unwrap();
    let p = read_str(text, Path::new("t.zone"), &o).unwrap();
    Zone::build(&o, p).unwrap().0
}

const GEEK: &str = "$TTL 300\n@ SOA ns1 host 1 3600 600 86400 60\n@ NS ns1\nns1 A 192.0.2.53\nwww A 192.0.2.1\nalias CNAME www\n*.wild TXT \"w\"\na.b.c A 192.0.2.9\nsub NS ns.sub\nns.sub A 192.0.2.54\n";

fn n(s: &str) -> Name {
    Name::from_ascii(s).unwrap()
}

fn ln(s: &str) -> LowerName {
    LowerName::new(&n(s))
}

#[test]
fn answers_nodata_nxdomain_and_ent() {
    let z = zone("geek.", GEEK);
    assert!(matches!(z.lookup(&ln("www.geek."), RecordType::A), Lookup::Answer(r) if r.len() == 1));
    assert!(matches!(
        z.lookup(&ln("www.geek."), RecordType::MX),
        Lookup::NoData { .. }
    ));
    assert!(matches!(
        z.lookup(&ln("b.c.geek."), RecordType::A),
        Lookup::NoData { .. }
    ));
    match z.lookup(&ln("nope.geek."), RecordType::A) {
        Lookup::NxDomain { soa } => assert_eq!(soa.ttl, 60, "SOA TTL capped at MINIMUM"),
        other => panic!("{other:?}"),
    }
}

#[test]
fn cname_and_wildcard() {
    let z = zone("geek.", GEEK);
    match z.lookup(&ln("alias.geek."), RecordType::A) {
        Lookup::Answer(r) => assert_eq!(r[0].record_type(), RecordType::CNAME),
        other => panic!("{other:?}"),
    }
    match z.lookup(&ln("x.y.wild.geek."), RecordType::TXT) {
        Lookup::Answer(r) => assert_eq!(r[0].name, n("x.y.wild.geek.")),
        other => panic!("{other:?}"),
    }
}

#[test]
fn referral_carries_glue() {
    let z = zone("geek.", GEEK);
    match z.lookup(&ln("deep.sub.geek."), RecordType::A) {
        Lookup::Referral { cut, ns, glue } => {
            assert_eq!(cut, n("sub.geek."));
            assert_eq!(ns.len(), 1);
            assert_eq!(glue.len(), 1);
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn answers_keep_the_case_asked() {
    let z = zone("geek.", GEEK);
    match z.lookup(&n("WwW.GEEK."), RecordType::A) {
        Lookup::Answer(r) => assert_eq!(r[0].name.to_string(), "WwW.GEEK."),
        other => panic!("{other:?}"),
    }
}
