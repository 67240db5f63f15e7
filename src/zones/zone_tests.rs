//! [`Zone::lookup`]: answers, referrals, wildcards and DNAME redirection.

use std::path::Path;

use super::*;
use crate::zones::build::unchecked;
use crate::zones::dname::dname_target;
use crate::zones::reader::read_str;
use hickory_proto::rr::RData;
use hickory_proto::rr::rdata::CNAME;

fn zone(origin: &str, text: &str) -> Zone {
    let o = Name::from_ascii(origin).unwrap();
    let p = read_str(text, Path::new("t.zone"), &o).unwrap();
    Zone::build(&o, p).unwrap().0
}

const GEEK: &str = "$TTL 300\n@ SOA ns1 host 1 3600 600 86400 60\n@ NS ns1\nns1 A 192.0.2.53\nwww A 192.0.2.1\nalias CNAME www\n*.wild TXT \"w\"\na.b.c A 192.0.2.9\nsub NS ns.sub\nns.sub A 192.0.2.54\n";

/// The apex of every DNAME test zone: out-of-zone name servers, so that nothing
/// needs to live below an apex DNAME.
const APEX: &str = "$TTL 300\n@ SOA ns.example. host 1 3600 600 86400 60\n@ NS ns.example.\n";

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

/// The answer's records as `owner TTL TYPE target`, DNAME targets decoded.
fn shown(l: &Lookup) -> Vec<String> {
    let Lookup::Answer(records) = l else {
        panic!("{l:?}")
    };
    records
        .iter()
        .map(|r| {
            let data = match &r.data {
                RData::CNAME(CNAME(t)) => t.to_string(),
                d => dname_target(d).map_or_else(|| d.to_string(), |t| t.to_string()),
            };
            format!("{} {} {} {data}", r.name, r.ttl, r.record_type())
        })
        .collect()
}

#[test]
fn below_a_dname_the_answer_is_the_dname_and_a_synthesised_cname() {
    let z = zone("geek.", &format!("{APEX}old 77 DNAME new.example.\n"));
    // The CNAME is owned by the name as asked, case kept, with the DNAME's TTL.
    let got = shown(&z.lookup(&n("WWW.Old.geek."), RecordType::A));
    assert_eq!(
        got,
        [
            "old.geek. 77 DNAME new.example.",
            "WWW.Old.geek. 77 CNAME WWW.new.example."
        ]
    );
    let got = shown(&z.lookup(&n("a.b.old.geek."), RecordType::MX));
    assert_eq!(got[1], "a.b.old.geek. 77 CNAME a.b.new.example.");
    // Every type is redirected, DNAME and CNAME included.
    for t in [RecordType::DNAME, RecordType::CNAME, RecordType::ANY] {
        assert_eq!(shown(&z.lookup(&n("x.old.geek."), t)).len(), 2, "{t}");
    }
}

#[test]
fn the_dname_owner_itself_is_not_redirected() {
    let text = format!("{APEX}old DNAME new.example.\nold TXT \"here\"\n");
    let z = zone("geek.", &text);
    assert_eq!(
        shown(&z.lookup(&n("old.geek."), RecordType::DNAME)),
        ["old.geek. 300 DNAME new.example."]
    );
    assert_eq!(
        shown(&z.lookup(&n("old.geek."), RecordType::TXT)),
        ["old.geek. 300 TXT here"]
    );
    assert!(matches!(
        z.lookup(&n("old.geek."), RecordType::A),
        Lookup::NoData { .. }
    ));
}

#[test]
fn a_dname_at_the_apex_redirects_everything_below_it() {
    let z = zone("geek.", &format!("{APEX}@ DNAME other.example.\n"));
    let got = shown(&z.lookup(&n("www.geek."), RecordType::A));
    assert_eq!(got[1], "www.geek. 300 CNAME www.other.example.");
    assert!(matches!(
        z.lookup(&n("geek."), RecordType::SOA),
        Lookup::Answer(r) if r.len() == 1
    ));
}

#[test]
fn a_substitution_over_255_octets_is_name_too_long() {
    let l63 = "a".repeat(63);
    let text = format!("{APEX}d 50 DNAME {l63}.{l63}.{l63}.\n");
    let z = zone("geek.", &text);
    // The target takes 193 octets; "<label>." adds the label and its length octet.
    let fits = format!("{}.d.geek.", "b".repeat(60));
    assert!(matches!(
        z.lookup(&n(&fits), RecordType::A),
        Lookup::Answer(_)
    ));
    let over = format!("{}.{}.d.geek.", "b".repeat(40), "c".repeat(21));
    match z.lookup(&n(&over), RecordType::A) {
        Lookup::NameTooLong { dname } => {
            assert_eq!(dname.name, n("d.geek."));
            assert_eq!(dname.ttl, 50);
            assert_eq!(
                dname_target(&dname.data),
                Some(n(&format!("{l63}.{l63}.{l63}.")))
            );
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn no_wildcard_matches_below_a_dname() {
    let text = format!("{APEX}* TXT \"wild\"\nd DNAME t.example.\n");
    let z = zone("geek.", &text);
    let got = shown(&z.lookup(&n("x.d.geek."), RecordType::TXT));
    assert_eq!(got[1], "x.d.geek. 300 CNAME x.t.example.");
    // Beside the DNAME the wildcard still answers.
    let got = shown(&z.lookup(&n("x.e.geek."), RecordType::TXT));
    assert_eq!(got, ["x.e.geek. 300 TXT wild"]);
}

// Zones `check` refuses (data below a cut or a DNAME), to pin the order of
// RFC 1034 §4.3.2 step 3: from the apex down, the first cut or DNAME wins.
#[test]
fn the_first_cut_or_dname_from_the_apex_down_wins() {
    let o = n("geek.");
    let z = unchecked(
        &o,
        &format!("{APEX}sub NS ns.example.\nx.sub DNAME t.example.\nsub DNAME u.example.\n"),
    );
    for q in ["a.x.sub.geek.", "a.sub.geek."] {
        match z.lookup(&n(q), RecordType::A) {
            Lookup::Referral { cut, .. } => assert_eq!(cut, n("sub.geek."), "{q}"),
            other => panic!("{q}: {other:?}"),
        }
    }
    let z = unchecked(
        &o,
        &format!("{APEX}d DNAME t.example.\nsub.d NS ns.example.\n"),
    );
    let got = shown(&z.lookup(&n("a.sub.d.geek."), RecordType::A));
    assert_eq!(got[1], "a.sub.d.geek. 300 CNAME a.sub.t.example.");
}
