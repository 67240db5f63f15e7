//! Serving the signed fixture zones (tests/fixtures/dnssec-zones/, made by
//! ldns-signzone and dnssec-signzone): which RRSIGs, NSEC and NSEC3 records go
//! with each kind of answer. NSEC3 owners were checked with `ldns-nsec3-hash -t 0
//! -s cafe` (nope.opt. is ij139ud0…, insecure.opt. lde9p1vt…, opt. n2kg5ak4…).

use std::path::Path;

use hickory_proto::dnssec::rdata::DNSSECRData;
use hickory_proto::rr::{LowerName, Name, RData, Record, RecordType};

use crate::zones::reader::read_str;
use crate::zones::zone::{Lookup, Zone};

const SEC: &str = include_str!("../../tests/fixtures/dnssec-zones/zones/sec.zone");
const OPT: &str = include_str!("../../tests/fixtures/dnssec-zones/zones/opt.zone");
const PLAIN: &str = include_str!("../../tests/fixtures/dnssec-zones/zones/plain.sec.zone");

fn zone(origin: &str, text: &str) -> Zone {
    let o = Name::from_ascii(origin).unwrap();
    let p = read_str(text, Path::new("t.zone"), &o).unwrap();
    let (z, problems) = Zone::build(&o, p).unwrap();
    assert!(problems.iter().all(|p| !p.is_error()), "{problems:?}");
    z
}

/// A record as `owner TYPE`, `owner RRSIG(covered)`.
fn short(r: &Record) -> String {
    match &r.data {
        RData::DNSSEC(DNSSECRData::RRSIG(s)) => {
            format!("{} RRSIG({})", r.name, s.input().type_covered)
        }
        _ => format!("{} {}", r.name, r.record_type()),
    }
}

fn shorts(rs: &[Record]) -> Vec<String> {
    rs.iter().map(short).collect()
}

/// (kind, answer, proof) of one lookup.
fn ask(z: &Zone, qname: &str, qtype: RecordType) -> (&'static str, Vec<String>, Vec<String>) {
    let (l, proof) = z.lookup_with_proof(&Name::from_ascii(qname).unwrap(), qtype);
    let (kind, answer) = match &l {
        Lookup::Answer(r) => ("answer", shorts(r)),
        Lookup::NoData { soa } => ("nodata", vec![short(soa)]),
        Lookup::NxDomain { soa } => ("nxdomain", vec![short(soa)]),
        Lookup::Referral { ns, .. } => ("referral", shorts(ns)),
        Lookup::NameTooLong { dname } => ("yxdomain", vec![short(dname)]),
    };
    (kind, answer, shorts(&proof))
}

fn v(items: &[&str]) -> Vec<String> {
    items.iter().map(|s| s.to_string()).collect()
}

#[test]
fn nsec_zone_answers_carry_their_rrsigs() {
    let z = zone("sec.", SEC);
    let (kind, answer, proof) = ask(&z, "www.sec.", RecordType::A);
    assert_eq!(kind, "answer");
    assert_eq!(answer, v(&["www.sec. A", "www.sec. RRSIG(A)"]));
    assert!(proof.is_empty());
    // The RRSIG has the TTL of the set it covers, not the smallest of all the
    // RRSIGs at the name (the NSEC's is 300).
    let Lookup::Answer(r) = z.lookup(&Name::from_ascii("www.sec.").unwrap(), RecordType::A) else {
        panic!()
    };
    assert_eq!((r[0].ttl, r[1].ttl), (3600, 3600));
    let (_, answer, _) = ask(&z, "alias.sec.", RecordType::A);
    assert_eq!(answer, v(&["alias.sec. CNAME", "alias.sec. RRSIG(CNAME)"]));
    let (_, answer, _) = ask(&z, "sec.", RecordType::DNSKEY);
    assert_eq!(
        answer,
        v(&["sec. DNSKEY", "sec. DNSKEY", "sec. RRSIG(DNSKEY)"])
    );
    // The DNAME is signed, the CNAME made from it is not (RFC 6672 §5.3.1).
    let (_, answer, _) = ask(&z, "x.old.sec.", RecordType::A);
    assert_eq!(
        answer,
        v(&[
            "old.sec. DNAME",
            "old.sec. RRSIG(DNAME)",
            "x.old.sec. CNAME"
        ])
    );
}

#[test]
fn nsec_zone_denials() {
    let z = zone("sec.", SEC);
    // NXDOMAIN: the NSEC covering the name, and the one covering *.sec.
    let (kind, _, proof) = ask(&z, "nope.sec.", RecordType::A);
    assert_eq!(kind, "nxdomain");
    assert_eq!(
        proof,
        v(&[
            "sec. RRSIG(SOA)",
            "new.sec. NSEC",
            "new.sec. RRSIG(NSEC)",
            "sec. NSEC",
            "sec. RRSIG(NSEC)"
        ])
    );
    // NODATA: the NSEC at the name.
    let (kind, _, proof) = ask(&z, "www.sec.", RecordType::MX);
    assert_eq!(kind, "nodata");
    assert_eq!(
        proof,
        v(&["sec. RRSIG(SOA)", "www.sec. NSEC", "www.sec. RRSIG(NSEC)"])
    );
    // An empty non-terminal: the NSEC covering it.
    let (kind, _, proof) = ask(&z, "b.c.sec.", RecordType::A);
    assert_eq!(kind, "nodata");
    assert_eq!(proof[1], "big.sec. NSEC");
}

#[test]
fn nsec_zone_wildcards() {
    let z = zone("sec.", SEC);
    // Expansion: the NSEC proving no closer name (here the wildcard's own).
    let (kind, answer, proof) = ask(&z, "x.y.wild.sec.", RecordType::TXT);
    assert_eq!(kind, "answer");
    assert_eq!(
        answer,
        v(&["x.y.wild.sec. TXT", "x.y.wild.sec. RRSIG(TXT)"])
    );
    assert_eq!(proof, v(&["*.wild.sec. NSEC", "*.wild.sec. RRSIG(NSEC)"]));
    // Wildcard NODATA: the same NSEC also says the wildcard has no MX.
    let (kind, _, proof) = ask(&z, "x.wild.sec.", RecordType::MX);
    assert_eq!(kind, "nodata");
    assert_eq!(
        proof,
        v(&[
            "sec. RRSIG(SOA)",
            "*.wild.sec. NSEC",
            "*.wild.sec. RRSIG(NSEC)"
        ])
    );
}

#[test]
fn nsec_zone_delegations() {
    let z = zone("sec.", SEC);
    // DS at a cut is the parent's: answered here, signed.
    let (kind, answer, _) = ask(&z, "child.sec.", RecordType::DS);
    assert_eq!(kind, "answer");
    assert_eq!(answer, v(&["child.sec. DS", "child.sec. RRSIG(DS)"]));
    let (kind, _, proof) = ask(&z, "www.child.sec.", RecordType::A);
    assert_eq!(kind, "referral");
    assert_eq!(proof, v(&["child.sec. DS", "child.sec. RRSIG(DS)"]));
    // Insecure: the NSEC at the cut shows NS and no DS.
    let (kind, _, proof) = ask(&z, "plain.sec.", RecordType::DS);
    assert_eq!(kind, "nodata");
    assert_eq!(
        proof,
        v(&[
            "sec. RRSIG(SOA)",
            "plain.sec. NSEC",
            "plain.sec. RRSIG(NSEC)"
        ])
    );
    let (kind, _, proof) = ask(&z, "www.plain.sec.", RecordType::A);
    assert_eq!(kind, "referral");
    assert_eq!(proof, v(&["plain.sec. NSEC", "plain.sec. RRSIG(NSEC)"]));
}

#[test]
fn nsec3_zone_denials_and_opt_out() {
    let z = zone("opt.", OPT);
    const APEX: &str = "n2kg5ak4t5i4ef0ga3pj403mle6kuaps.opt.";
    // NXDOMAIN: closest encloser (the apex), next closer (nope.opt., hash
    // ij139ud0… covered by fm6hc0ba…), and the wildcard *.opt. covered.
    let (kind, _, proof) = ask(&z, "nope.opt.", RecordType::A);
    assert_eq!(kind, "nxdomain");
    assert_eq!(proof[0], "opt. RRSIG(SOA)");
    assert_eq!(proof[1], format!("{APEX} NSEC3"));
    assert_eq!(proof[3], "fm6hc0ba08qva956kqc9v8na5spu7k4t.opt. NSEC3");
    assert!(proof.len() >= 5 && proof.len() % 2 == 1, "{proof:?}");
    // NODATA: the NSEC3 matching www.opt. (fm6hc0ba… is its hash).
    let (kind, _, proof) = ask(&z, "www.opt.", RecordType::MX);
    assert_eq!(kind, "nodata");
    assert_eq!(
        proof[1..],
        v(&[
            "fm6hc0ba08qva956kqc9v8na5spu7k4t.opt. NSEC3",
            "fm6hc0ba08qva956kqc9v8na5spu7k4t.opt. RRSIG(NSEC3)"
        ])
    );
    // Opt-out: insecure.opt. has no NSEC3; its DS is denied by the closest
    // provable encloser (the apex) and an opt-out NSEC3 covering the name.
    let (kind, _, proof) = ask(&z, "insecure.opt.", RecordType::DS);
    assert_eq!(kind, "nodata");
    assert_eq!(proof[1], format!("{APEX} NSEC3"));
    assert_eq!(proof[3], "jo90k8tge6nkq0nu4tp1r861i4m9sefa.opt. NSEC3");
    let (kind, _, referral_proof) = ask(&z, "www.insecure.opt.", RecordType::A);
    assert_eq!(kind, "referral");
    assert_eq!(referral_proof, proof[1..]);
    // Secure delegation: the DS.
    let (_, answer, _) = ask(&z, "secure.opt.", RecordType::DS);
    assert_eq!(answer, v(&["secure.opt. DS", "secure.opt. RRSIG(DS)"]));
}

#[test]
fn nsec3_records_are_not_names_of_the_zone() {
    let z = zone("opt.", OPT);
    // A query for a hashed owner is NXDOMAIN like any name the zone lacks.
    let (kind, _, _) = ask(
        &z,
        "n2kg5ak4t5i4ef0ga3pj403mle6kuaps.opt.",
        RecordType::NSEC3,
    );
    assert_eq!(kind, "nxdomain");
    // Wildcard expansion: the NSEC3 covering the next closer name only.
    let (kind, _, proof) = ask(&z, "x.wild.opt.", RecordType::TXT);
    assert_eq!(kind, "answer");
    assert_eq!(
        proof,
        v(&[
            "pfnqidl1b8mplsehrd0gmkc5ejbrnksm.opt. NSEC3",
            "pfnqidl1b8mplsehrd0gmkc5ejbrnksm.opt. RRSIG(NSEC3)"
        ])
    );
    assert!(!z.is_cut(&LowerName::new(
        &Name::from_ascii("n2kg5ak4t5i4ef0ga3pj403mle6kuaps.opt.").unwrap()
    )));
}

#[test]
fn unsigned_zones_add_nothing() {
    let z = zone("plain.sec.", PLAIN);
    assert!(z.signed.is_none());
    for (q, t) in [
        ("www.plain.sec.", RecordType::A),
        ("x.plain.sec.", RecordType::A),
    ] {
        let (l, proof) = z.lookup_with_proof(&Name::from_ascii(q).unwrap(), t);
        assert!(proof.is_empty() && proof.capacity() == 0, "{l:?}");
    }
}

#[test]
fn canonical_order_is_rfc_4034() {
    use super::canonical_cmp;
    // RFC 4034 §6.1's example, in order (lowercased, as the store keeps names).
    let names: [&[&[u8]]; 9] = [
        &[b"example"],
        &[b"a", b"example"],
        &[b"yljkjljk", b"a", b"example"],
        &[b"z", b"a", b"example"],
        &[b"zabc", b"a", b"example"],
        &[b"z", b"example"],
        &[b"\x01", b"z", b"example"],
        &[b"*", b"z", b"example"],
        &[b"\xc8", b"z", b"example"],
    ];
    let wires: Vec<Vec<u8>> = names
        .iter()
        .map(|labels| {
            let mut w = Vec::new();
            for l in *labels {
                w.push(l.len() as u8);
                w.extend_from_slice(l);
            }
            w.push(0);
            w
        })
        .collect();
    for w in wires.windows(2) {
        assert_eq!(
            canonical_cmp(&w[0], &w[1]),
            std::cmp::Ordering::Less,
            "{w:?}"
        );
    }
}
