//! The validator on zones signed by others: `tests/fixtures/dnssec/` (made by
//! `make.sh` with BIND's dnssec-signzone and ldns-signzone; signatures valid
//! 2020–2070 unless a case says otherwise) and a cut of the signed 2020 ICANN root.
//! Each failure case asserts the exact result and its EDE.

use hickory_proto::dnssec::rdata::{DNSKEY, DNSSECRData, DS, NSEC};
use hickory_proto::dnssec::{DigestType, Verifier};
use hickory_proto::rr::{Name, RData, Record, RecordType};

use super::*;

mod anchors;
mod chain;
mod denial;
mod icann;
mod text;

use text::name;

/// A fixture's records, read by the zones reader.
fn fixture(file: &str) -> Vec<Record> {
    let path = format!(
        "{}/tests/fixtures/dnssec/{file}",
        env!("CARGO_MANIFEST_DIR")
    );
    let parsed = crate::zones::read(std::path::Path::new(&path), &Name::root())
        .unwrap_or_else(|e| panic!("{path}: {e:?}"));
    parsed.records.into_iter().map(|l| l.record).collect()
}

/// 2026-12-01, inside the fixtures' 2020–2070 validity.
fn now() -> Settings {
    Settings::at(u64::from(text::time("20261201000000").unwrap()))
}

fn n(s: &str) -> Name {
    name(s).unwrap()
}

/// The records of `owner`/`rtype` (not RRSIGs).
fn rrset(records: &[Record], owner: &str, rtype: RecordType) -> Vec<Record> {
    let owner = n(owner);
    records
        .iter()
        .filter(|r| r.name == owner && r.record_type() == rtype)
        .cloned()
        .collect()
}

/// The RRSIGs over `owner`/`rtype`.
fn sigs(records: &[Record], owner: &str, rtype: RecordType) -> Vec<Record> {
    let owner = n(owner);
    rrsig::sigs_for(records, &owner, rtype).cloned().collect()
}

/// An RRset and its RRSIGs, as a section of a response holds them.
fn with_sigs(records: &[Record], owner: &str, rtype: RecordType) -> Vec<Record> {
    let mut v = rrset(records, owner, rtype);
    v.extend(sigs(records, owner, rtype));
    v
}

fn ds_of(records: &[Record]) -> Vec<DS> {
    records
        .iter()
        .filter_map(|r| match &r.data {
            RData::DNSSEC(DNSSECRData::DS(d)) => Some(d.clone()),
            _ => None,
        })
        .collect()
}

fn secure_keys(zone: &str, records: &[Record], ds: &[DS], at: &Settings) -> ZoneKeys {
    match validate_dnskeys(&n(zone), records, Trust::ds(ds), at) {
        KeysOutcome::Secure(k) => k,
        other => panic!("keys of {zone}: {other:?}"),
    }
}

/// The root of the fixture world, validated from `anchor.ds`.
fn root_keys() -> (Vec<Record>, ZoneKeys) {
    let root = fixture("root.zone");
    let anchor = ds_of(&fixture("anchor.ds"));
    let keys = secure_keys(".", &root, &anchor, &now());
    (root, keys)
}

/// A TLD's records and keys, its DS RRset verified in the root first.
fn tld(zone: &str, file: &str) -> (Vec<Record>, KeysOutcome) {
    let (root, root_keys) = root_keys();
    let ds_rrset = rrset(&root, zone, RecordType::DS);
    assert!(
        matches!(
            verify_rrset(
                &ds_rrset,
                &sigs(&root, zone, RecordType::DS),
                &root_keys,
                &now()
            ),
            RrsetOutcome::Secure { .. }
        ),
        "DS {zone} in the root"
    );
    let records = fixture(file);
    let outcome = validate_dnskeys(
        &n(zone),
        &records,
        Trust::ds(&ds_set(&root, &n(zone))),
        &now(),
    );
    (records, outcome)
}

fn secure(outcome: KeysOutcome) -> ZoneKeys {
    match outcome {
        KeysOutcome::Secure(k) => k,
        other => panic!("expected secure keys: {other:?}"),
    }
}

fn bogus_keys(outcome: KeysOutcome) -> Why {
    match outcome {
        KeysOutcome::Bogus(w) => w,
        other => panic!("expected bogus keys: {other:?}"),
    }
}

fn bogus_rrset(outcome: RrsetOutcome) -> Why {
    match outcome {
        RrsetOutcome::Bogus(w) => w,
        other => panic!("expected a bogus RRset: {other:?}"),
    }
}

fn ede(s: &Security) -> Option<Ede> {
    s.why().map(|w| w.ede)
}

/// Every NSEC/NSEC3 RRset of `zone` with its RRSIGs: a server may send any subset,
/// and the proofs must pick what they need.
fn all_denials(records: &[Record], keys: &ZoneKeys) -> Denials {
    let section: Vec<Record> = records
        .iter()
        .filter(|r| {
            matches!(r.record_type(), RecordType::NSEC | RecordType::NSEC3)
                || rrsig::as_rrsig(r).is_some_and(|s| {
                    matches!(s.input().type_covered, RecordType::NSEC | RecordType::NSEC3)
                })
        })
        .cloned()
        .collect();
    Denials::verify(&section, keys, &now()).expect("the zone's NSEC/NSEC3 verify")
}
