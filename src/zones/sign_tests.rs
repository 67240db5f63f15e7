//! Signing a zone with altroot's own keys: every authoritative RRset signed
//! (checked with hickory's verifier, not with the signer's own code), glue and
//! delegation NS not, one NSEC chain over the right names, DS for the folder's
//! child zones, the DNSKEY RRset by the KSK, pre-signed zones refused.

use std::path::Path;

use hickory_proto::dnssec::rdata::{DNSSECRData, RRSIG};
use hickory_proto::dnssec::{Algorithm, Verifier};
use hickory_proto::rr::{DNSClass, Name, RData, Record, RecordType};

use super::*;
use crate::zones::keys::{self, KeyAlgorithm};
use crate::zones::reader::read_str;

const ROOT: &str = "\
. 300 IN SOA a.root. admin.root. 7 1800 900 604800 300
. 86400 IN NS a.root.
a.root. 86400 IN A 192.0.2.1
geek. 86400 IN NS ns.geek.
ns.geek. 86400 IN A 192.0.2.53
ext. 86400 IN NS ns.ext.
ns.ext. 86400 IN A 192.0.2.54
*.wild.root. 300 IN TXT \"hi\"
Mixed.Root. 300 IN MX 10 Mail.Example.NET.
b.c.root. 300 IN A 192.0.2.9
";

fn keys_for(alg: KeyAlgorithm) -> (tempfile::TempDir, SigningKeys) {
    let d = tempfile::tempdir().unwrap();
    keys::generate(d.path(), alg, false).unwrap();
    let k = keys::read(d.path()).unwrap().unwrap();
    (d, k)
}

fn unsigned(origin: &Name, text: &str) -> Zone {
    let p = read_str(text, Path::new("t.zone"), origin).unwrap();
    let (z, problems) = Zone::build(origin, p).unwrap();
    assert!(problems.is_empty(), "{problems:?}");
    z
}

fn sign(text: &str, children: &[&str], alg: KeyAlgorithm) -> (Zone, SigningKeys, Vec<Problem>) {
    let (_d, keys) = keys_for(alg);
    let z = unsigned(&Name::root(), text);
    let kids: Vec<Name> = children
        .iter()
        .map(|c| Name::from_ascii(c).unwrap())
        .collect();
    let (signed, warnings) = sign_zone(&z, &keys, &kids, 1_800_000_000).unwrap();
    (signed, keys, warnings)
}

fn rrsig(r: &Record) -> Option<&RRSIG> {
    match &r.data {
        RData::DNSSEC(DNSSECRData::RRSIG(s)) => Some(s),
        _ => None,
    }
}

/// (owner, type) of every RRset, and each RRSIG's (owner, type covered).
type Sets = Vec<(Name, RecordType)>;

fn sets_and_sigs(records: &[Record]) -> (Sets, Sets) {
    let mut sets: Vec<(Name, RecordType)> = records
        .iter()
        .filter(|r| r.record_type() != RecordType::RRSIG)
        .map(|r| (r.name.clone(), r.record_type()))
        .collect();
    sets.dedup();
    let sigs = records
        .iter()
        .filter_map(|r| Some((r.name.clone(), rrsig(r)?.input().type_covered)))
        .collect();
    (sets, sigs)
}

fn n(s: &str) -> Name {
    Name::from_ascii(s).unwrap()
}

#[test]
fn every_authoritative_rrset_is_signed_and_verifies() {
    for alg in [KeyAlgorithm::EcdsaP256, KeyAlgorithm::Ed25519] {
        let (z, keys, warnings) = sign(ROOT, &["geek.", "new."], alg);
        assert!(warnings.is_empty(), "{warnings:?}");
        let records = z.records();
        let (sets, sigs) = sets_and_sigs(&records);
        for (owner, t) in &sets {
            let glue = owner == &n("ns.geek.") || owner == &n("ns.ext.");
            let delegation_ns = *t == RecordType::NS && !owner.is_root();
            let want = !(glue || delegation_ns);
            assert_eq!(
                sigs.contains(&(owner.clone(), *t)),
                want,
                "{owner} {t}: signed should be {want}"
            );
        }
        // Each RRSIG verifies under its key (hickory's verifier: canonical
        // form, order and wildcard labels done independently of the signer).
        for r in &records {
            let Some(sig) = rrsig(r) else { continue };
            let i = sig.input();
            let key = match i.type_covered {
                RecordType::DNSKEY => &keys.ksk,
                _ => &keys.zsk,
            };
            assert_eq!(i.key_tag, key.tag);
            assert_eq!(i.algorithm, alg.dnssec());
            assert_eq!(i.signer_name, Name::root());
            let wire_expect = u32::try_from(1_800_000_000u64 + VALIDITY).unwrap();
            assert_eq!(i.sig_expiration.get(), wire_expect);
            assert_eq!(i.sig_inception.get(), 1_800_000_000 - 3600);
            key.dnskey
                .verify_rrsig(&r.name, DNSClass::IN, sig, records.iter())
                .unwrap_or_else(|e| panic!("{} {}: {e}", r.name, i.type_covered));
        }
        let wild = records
            .iter()
            .filter_map(|r| rrsig(r).filter(|_| r.name == n("*.wild.root.")))
            .find(|s| s.input().type_covered == RecordType::TXT)
            .unwrap();
        assert_eq!(
            wild.input().num_labels,
            2,
            "a wildcard's labels leave out the *"
        );
        let _ = Algorithm::ED25519;
    }
}

#[test]
fn dnskey_ds_and_nsec_chain() {
    let (z, keys, _) = sign(ROOT, &["geek.", "new."], KeyAlgorithm::EcdsaP256);
    let records = z.records();
    let of = |owner: &str, t: RecordType| -> Vec<&Record> {
        records
            .iter()
            .filter(|r| r.name == n(owner) && r.record_type() == t)
            .collect()
    };
    let dnskeys = of(".", RecordType::DNSKEY);
    assert_eq!(dnskeys.len(), 2);
    // DS for both child zones: at the delegation geek. and at new., which the
    // root zone does not have otherwise. Each covers the KSK.
    for child in ["geek.", "new."] {
        let ds = of(child, RecordType::DS);
        assert_eq!(ds.len(), 1, "{child}");
        let RData::DNSSEC(DNSSECRData::DS(ds)) = &ds[0].data else {
            panic!()
        };
        assert!(ds.covers(&n(child), &keys.ksk.dnskey).unwrap());
    }
    assert!(of("ext.", RecordType::DS).is_empty(), "ext. is not ours");
    // The chain: every authoritative name and delegation, glue and ENTs not.
    let mut chain: Vec<(String, String, String)> = records
        .iter()
        .filter_map(|r| match &r.data {
            RData::DNSSEC(DNSSECRData::NSEC(x)) => Some((
                r.name.to_string(),
                x.next_domain_name().to_string(),
                x.type_bit_maps()
                    .map(|t| t.to_string())
                    .collect::<Vec<_>>()
                    .join(" "),
            )),
            _ => None,
        })
        .collect();
    chain.sort_by_key(|a| n(&a.0));
    let want = [
        (".", "ext.", "NS SOA RRSIG NSEC DNSKEY"),
        ("ext.", "geek.", "NS RRSIG NSEC"),
        ("geek.", "new.", "NS DS RRSIG NSEC"),
        ("new.", "root.", "DS RRSIG NSEC"),
        ("root.", "a.root.", "RRSIG NSEC"),
        ("a.root.", "b.c.root.", "A RRSIG NSEC"),
        ("b.c.root.", "mixed.root.", "A RRSIG NSEC"),
        ("mixed.root.", "*.wild.root.", "MX RRSIG NSEC"),
        ("*.wild.root.", ".", "TXT RRSIG NSEC"),
    ];
    let got: Vec<(&str, &str, &str)> = chain
        .iter()
        .map(|(a, b, c)| (a.as_str(), b.as_str(), c.as_str()))
        .collect();
    // root. is an empty non-terminal: not in the chain.
    let want: Vec<_> = want.into_iter().filter(|w| w.0 != "root.").collect();
    let mut want = want;
    want[3].1 = "a.root.";
    assert_eq!(got, want);
    assert_eq!(
        z.resign_at(),
        Some(1_800_000_000 + VALIDITY - RESIGN_BEFORE)
    );
}

#[test]
fn signed_zone_answers_with_proofs() {
    let (z, _, _) = sign(ROOT, &["geek."], KeyAlgorithm::EcdsaP256);
    let (l, proof) = z.lookup_with_proof(&n("nope."), RecordType::A);
    assert!(matches!(l, crate::zones::Lookup::NxDomain { .. }));
    let kinds: Vec<String> = proof
        .iter()
        .map(|r| format!("{} {}", r.name, r.record_type()))
        .collect();
    // The NSEC covering nope. (geek. → root. ) and the one covering *. (the
    // apex's), with the SOA and their RRSIGs.
    assert_eq!(
        kinds,
        [". RRSIG", "geek. NSEC", "geek. RRSIG", ". NSEC", ". RRSIG"]
    );
    assert!(kinds.contains(&"geek. NSEC".to_string()), "{kinds:?}");
    assert!(kinds.contains(&". RRSIG".to_string()), "{kinds:?}");
    // A DS query at the delegation is answered with the DS and its RRSIG.
    let (l, _) = z.lookup_with_proof(&n("geek."), RecordType::DS);
    let crate::zones::Lookup::Answer(a) = l else {
        panic!("{l:?}")
    };
    assert_eq!(a.len(), 2);
}

#[test]
fn a_presigned_zone_is_refused_at_its_line() {
    let (_d, keys) = keys_for(KeyAlgorithm::EcdsaP256);
    let text = format!("{ROOT}. 300 IN NSEC a.root. NS SOA RRSIG NSEC\n");
    let p = read_str(&text, Path::new("t.zone"), &Name::root()).unwrap();
    let (z, _warnings) = Zone::build(&Name::root(), p).unwrap();
    let e = sign_zone(&z, &keys, &[], 1_800_000_000).unwrap_err();
    assert_eq!(e.len(), 1);
    assert_eq!(e[0].line, 11, "{e:?}");
    assert!(
        e[0].message.contains(". NSEC: this zone is signed already"),
        "{e:?}"
    );
}

#[test]
fn child_zones_get_their_ds_in_the_closest_parent() {
    let o = |s: &str| n(s);
    let all = [o("."), o("geek."), o("a.geek."), o("b.x.geek."), o("web.")];
    let got = children_of(&all);
    let of = |p: &str| {
        got.iter()
            .find(|(x, _)| *x == o(p))
            .map(|(_, c)| c.iter().map(|c| c.to_string()).collect::<Vec<_>>())
            .unwrap()
    };
    assert_eq!(of("."), ["geek.", "web."]);
    assert_eq!(of("geek."), ["a.geek.", "b.x.geek."]);
    assert!(of("a.geek.").is_empty());
}
