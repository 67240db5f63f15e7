//! The validator on zones signed by others: `tests/fixtures/dnssec/` (made by
//! `make.sh` with BIND's dnssec-signzone and ldns-signzone; signatures valid
//! 2020–2070 unless a case says otherwise) and a cut of the signed 2020 ICANN root.
//! Each failure case asserts the exact result and its EDE.

use hickory_proto::dnssec::rdata::{DNSKEY, DNSSECRData, DS, NSEC};
use hickory_proto::dnssec::{DigestType, Verifier};
use hickory_proto::rr::{Name, RData, Record, RecordType};

use super::*;

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

//------------ Chain of trust ------------------------------------------------

#[test]
fn root_tld_leaf_chain_is_secure_to_an_a_record() {
    let (tld_records, outcome) = tld("tld.", "tld.zone");
    let tld_keys = secure(outcome);
    let leaf_ds = rrset(&tld_records, "leaf.tld.", RecordType::DS);
    assert!(matches!(
        verify_rrset(
            &leaf_ds,
            &sigs(&tld_records, "leaf.tld.", RecordType::DS),
            &tld_keys,
            &now()
        ),
        RrsetOutcome::Secure { .. }
    ));
    let leaf = fixture("leaf.tld.zone");
    let leaf_keys = secure_keys("leaf.tld.", &leaf, &ds_of(&leaf_ds), &now());
    assert_eq!(leaf_keys.keys.len(), 2, "KSK and ZSK are both zone keys");
    let www = rrset(&leaf, "www.leaf.tld.", RecordType::A);
    assert_eq!(
        verify_rrset(
            &www,
            &sigs(&leaf, "www.leaf.tld.", RecordType::A),
            &leaf_keys,
            &now()
        ),
        RrsetOutcome::Secure {
            ttl: 3600,
            wildcard: None
        }
    );
}

#[test]
fn ttl_is_capped_by_the_original_ttl_and_the_signature_expiry() {
    let (tld_records, outcome) = tld("tld.", "tld.zone");
    let keys = secure(outcome);
    let mut www = rrset(&tld_records, "www.tld.", RecordType::A);
    www[0].ttl = 86_400;
    let s = sigs(&tld_records, "www.tld.", RecordType::A);
    assert!(matches!(
        verify_rrset(&www, &s, &keys, &now()),
        RrsetOutcome::Secure { ttl: 3600, .. }
    ));
    // 100 s before the 2070-01-01 expiry.
    let late = Settings::at(u64::from(text::time("20700101000000").unwrap()) - 100);
    assert!(matches!(
        verify_rrset(&www, &s, &keys, &late),
        RrsetOutcome::Secure { ttl: 100, .. }
    ));
}

#[test]
fn a_wrong_ds_digest_leaves_no_key_to_trust() {
    let (_, outcome) = tld("wrongds.", "wrongds.zone");
    let why = bogus_keys(outcome);
    assert_eq!(why.ede, Ede::DnskeyMissing, "{why}");
    assert_eq!(why.zone, n("wrongds."));
}

#[test]
fn expired_signatures_are_bogus_beyond_the_skew() {
    let (_, outcome) = tld("expired.", "expired.zone");
    let why = bogus_keys(outcome);
    assert_eq!(why.ede, Ede::SignatureExpired, "{why}");
    assert_eq!(ede_code(why.ede), 7);
    // Within Unbound's skew (a tenth of the ten-year period, capped at a day) the
    // same signatures still hold: 12 hours after expiry yes, 25 hours no.
    let expiry = u64::from(text::time("20200101000000").unwrap());
    let records = fixture("expired.zone");
    let root = fixture("root.zone");
    let ds = ds_of(&rrset(&root, "expired.", RecordType::DS));
    let at = |secs| {
        validate_dnskeys(
            &n("expired."),
            &records,
            Trust::ds(&ds),
            &Settings::at(secs),
        )
    };
    assert!(matches!(at(expiry + 12 * 3600), KeysOutcome::Secure(_)));
    assert_eq!(
        bogus_keys(at(expiry + 25 * 3600)).ede,
        Ede::SignatureExpired
    );
}

fn ede_code(e: Ede) -> u16 {
    e.code()
}

#[test]
fn signatures_not_yet_valid_are_bogus() {
    let (_, outcome) = tld("future.", "future.zone");
    let why = bogus_keys(outcome);
    assert_eq!(why.ede, Ede::SignatureNotYetValid, "{why}");
    assert_eq!(why.ede.code(), 8);
}

#[test]
fn a_missing_rrsig_is_bogus() {
    let (tld_records, outcome) = tld("tld.", "tld.zone");
    let keys = secure(outcome);
    let www = rrset(&tld_records, "www.tld.", RecordType::A);
    let why = bogus_rrset(verify_rrset(&www, &[], &keys, &now()));
    assert_eq!(why.ede, Ede::RrsigsMissing);
    assert_eq!(why.ede.code(), 10);
    // An RRSIG over another type does not count either.
    let other = sigs(&tld_records, "www.tld.", RecordType::NSEC);
    assert_eq!(
        bogus_rrset(verify_rrset(&www, &other, &keys, &now())).ede,
        Ede::RrsigsMissing
    );
}

#[test]
fn a_repeated_record_does_not_break_the_signature() {
    let (tld_records, outcome) = tld("tld.", "tld.zone");
    let keys = secure(outcome);
    let mut www = rrset(&tld_records, "www.tld.", RecordType::A);
    www.push(www[0].clone());
    assert!(matches!(
        verify_rrset(
            &www,
            &sigs(&tld_records, "www.tld.", RecordType::A),
            &keys,
            &now()
        ),
        RrsetOutcome::Secure { .. }
    ));
}

#[test]
fn a_changed_record_fails_its_signature() {
    let (tld_records, outcome) = tld("tld.", "tld.zone");
    let keys = secure(outcome);
    let mut www = rrset(&tld_records, "www.tld.", RecordType::A);
    www[0].data = RData::A("192.0.2.99".parse().unwrap());
    let why = bogus_rrset(verify_rrset(
        &www,
        &sigs(&tld_records, "www.tld.", RecordType::A),
        &keys,
        &now(),
    ));
    assert_eq!(why.ede, Ede::DnssecBogus);
}

#[test]
fn a_signature_by_another_zone_is_bogus() {
    let (root, root_keys) = root_keys();
    let (tld_records, _) = tld("tld.", "tld.zone");
    // www.tld. A signed by tld., offered under the root's keys.
    let www = rrset(&tld_records, "www.tld.", RecordType::A);
    let why = bogus_rrset(verify_rrset(
        &www,
        &sigs(&tld_records, "www.tld.", RecordType::A),
        &root_keys,
        &now(),
    ));
    assert_eq!(why.ede, Ede::DnssecBogus);
    assert!(why.reason.contains("not by the zone ."), "{why}");
    drop(root);
}

#[test]
fn an_rrsig_claiming_a_wildcard_above_its_zone_is_bogus() {
    let (tld_records, outcome) = tld("tld.", "tld.zone");
    let keys = secure(outcome);
    let www = rrset(&tld_records, "www.tld.", RecordType::A);
    let mut s = sigs(&tld_records, "www.tld.", RecordType::A);
    assert_eq!(
        signer_of(&s, &n("www.tld."), RecordType::A),
        Some(n("tld."))
    );
    if let RData::DNSSEC(DNSSECRData::RRSIG(sig)) = &s[0].data {
        let mut input = sig.input().clone();
        input.num_labels = 0;
        s[0].data = RData::DNSSEC(DNSSECRData::RRSIG(
            hickory_proto::dnssec::rdata::RRSIG::from_sig(input, sig.sig().to_vec()),
        ));
    }
    let why = bogus_rrset(verify_rrset(&www, &s, &keys, &now()));
    assert_eq!(why.ede, Ede::DnssecBogus);
    assert!(why.reason.contains("fewer than its signer"), "{why}");
}

#[test]
fn a_dnskey_rrset_signed_only_by_the_zsk_is_bogus() {
    let records = fixture("tld.zone");
    let ds = ds_set(&fixture("root.zone"), &n("tld."));
    // Leave out the RRSIG over DNSKEY by the key the DS names.
    let kept: Vec<Record> = records
        .iter()
        .filter(|r| {
            !rrsig::as_rrsig(r).is_some_and(|s| {
                s.input().type_covered == RecordType::DNSKEY && s.input().key_tag == ds[0].key_tag()
            })
        })
        .cloned()
        .collect();
    assert_eq!(kept.len() + 1, records.len());
    let why = bogus_keys(validate_dnskeys(&n("tld."), &kept, Trust::ds(&ds), &now()));
    assert_eq!(why.ede, Ede::DnssecBogus, "{why}");
    assert!(why.reason.contains("not signed by a key its DS"), "{why}");
}

#[test]
fn keys_of_an_algorithm_hickory_cannot_verify_never_reach_it() {
    // hickory's verifier debug_asserts on Ed448; a ZoneKeys built by hand with such
    // a key must give a plain bogus, not a panic.
    let records = fixture("ed448.zone");
    let keys = ZoneKeys {
        zone: n("ed448."),
        keys: records
            .iter()
            .filter_map(|r| match &r.data {
                RData::DNSSEC(DNSSECRData::DNSKEY(k)) => Some(k.clone()),
                _ => None,
            })
            .collect(),
        ttl: 0,
    };
    assert_eq!(keys.keys.len(), 2);
    let www = rrset(&records, "www.ed448.", RecordType::A);
    let why = bogus_rrset(verify_rrset(
        &www,
        &sigs(&records, "www.ed448.", RecordType::A),
        &keys,
        &now(),
    ));
    assert_eq!(why.ede, Ede::DnssecBogus);
}

#[test]
fn an_rrsig_with_inception_after_expiration_is_bogus() {
    let (tld_records, outcome) = tld("tld.", "tld.zone");
    let keys = secure(outcome);
    let www = rrset(&tld_records, "www.tld.", RecordType::A);
    let mut s = sigs(&tld_records, "www.tld.", RecordType::A);
    if let RData::DNSSEC(DNSSECRData::RRSIG(sig)) = &s[0].data {
        let mut input = sig.input().clone();
        std::mem::swap(&mut input.sig_inception, &mut input.sig_expiration);
        s[0].data = RData::DNSSEC(DNSSECRData::RRSIG(
            hickory_proto::dnssec::rdata::RRSIG::from_sig(input, sig.sig().to_vec()),
        ));
    }
    let why = bogus_rrset(verify_rrset(&www, &s, &keys, &now()));
    assert_eq!(why.ede, Ede::DnssecBogus);
    assert!(why.reason.contains("after its expiration"), "{why}");
}

#[test]
fn key_rollover_either_ds_alone_is_enough() {
    let records = fixture("rollover.zone");
    for file in ["rollover.old.ds", "rollover.new.ds"] {
        let ds = ds_of(&fixture(file));
        assert_eq!(ds.len(), 1);
        let keys = secure_keys("rollover.", &records, &ds, &now());
        assert_eq!(keys.keys.len(), 3, "two KSKs and a ZSK");
    }
    let (_, outcome) = tld("rollover.", "rollover.zone");
    secure(outcome);
}

#[test]
fn an_unsupported_algorithm_makes_the_zone_insecure() {
    let (_, outcome) = tld("ed448.", "ed448.zone");
    let KeysOutcome::Insecure(why) = outcome else {
        panic!("expected insecure: {outcome:?}");
    };
    assert_eq!(why.ede, Ede::UnsupportedDnskeyAlgorithm);
    assert_eq!(why.ede.code(), 1);
}

#[test]
fn an_unsupported_ds_digest_makes_the_zone_insecure() {
    let records = fixture("tld.zone");
    let root = fixture("root.zone");
    let real = ds_of(&rrset(&root, "tld.", RecordType::DS));
    let gost = DS::new(
        real[0].key_tag(),
        real[0].algorithm(),
        DigestType::from(3),
        vec![0; 32],
    );
    let outcome = validate_dnskeys(
        &n("tld."),
        &records,
        Trust::ds(std::slice::from_ref(&gost)),
        &now(),
    );
    let KeysOutcome::Insecure(why) = outcome else {
        panic!("expected insecure: {outcome:?}");
    };
    assert_eq!(why.ede, Ede::UnsupportedDsDigestType);
    assert_eq!(why.ede.code(), 2);
    // Beside a DS we can check, the unknown one is ignored.
    let both = [gost, real[0].clone()];
    assert!(matches!(
        validate_dnskeys(&n("tld."), &records, Trust::ds(&both), &now()),
        KeysOutcome::Secure(_)
    ));
}

#[test]
fn a_ds_matching_a_key_without_the_zone_bit_is_bogus() {
    let records = fixture("tld.zone");
    // The KSK with its zone-key bit cleared, and a DS made for exactly that key.
    let zone = n("tld.");
    let mut changed = records.clone();
    let mut ds = Vec::new();
    for r in changed.iter_mut() {
        if let RData::DNSSEC(DNSSECRData::DNSKEY(k)) = &r.data
            && k.secure_entry_point()
        {
            let key = DNSKEY::with_flags(1, k.public_key().clone());
            let digest = key.to_digest(&zone, DigestType::SHA256).unwrap();
            ds.push(DS::new(
                key.calculate_key_tag().unwrap(),
                key.algorithm(),
                DigestType::SHA256,
                digest.as_ref().to_vec(),
            ));
            r.data = RData::DNSSEC(DNSSECRData::DNSKEY(key));
        }
    }
    let why = bogus_keys(validate_dnskeys(&zone, &changed, Trust::ds(&ds), &now()));
    assert_eq!(why.ede, Ede::NoZoneKeyBitSet, "{why}");
    assert_eq!(why.ede.code(), 11);
}

#[test]
fn no_dnskey_rrset_is_dnskey_missing() {
    let root = fixture("root.zone");
    let ds = ds_of(&rrset(&root, "tld.", RecordType::DS));
    let why = bogus_keys(validate_dnskeys(&n("tld."), &[], Trust::ds(&ds), &now()));
    assert_eq!(why.ede, Ede::DnskeyMissing);
    assert_eq!(why.ede.code(), 9);
}

#[test]
fn a_dnskey_anchor_works_like_a_ds() {
    let records = fixture("tld.zone");
    let ksk: Vec<DNSKEY> = records
        .iter()
        .filter_map(|r| match &r.data {
            RData::DNSSEC(DNSSECRData::DNSKEY(k)) if k.secure_entry_point() => Some(k.clone()),
            _ => None,
        })
        .collect();
    assert!(matches!(
        validate_dnskeys(&n("tld."), &records, Trust::dnskeys(&ksk), &now()),
        KeysOutcome::Secure(_)
    ));
    let mut anchors = TrustAnchors::new(Name::root());
    for r in records
        .iter()
        .filter(|r| r.record_type() == RecordType::DNSKEY)
    {
        anchors.add(r).unwrap();
    }
    let (at, trust) = anchors.anchor_for(&n("www.leaf.tld.")).unwrap();
    assert_eq!(at, n("tld."));
    assert!(matches!(
        validate_dnskeys(&at, &records, trust, &now()),
        KeysOutcome::Secure(_)
    ));
}

//------------ NSEC ------------------------------------------------------------

#[test]
fn nsec_nxdomain_needs_the_name_and_the_wildcard_covered() {
    let (records, outcome) = tld("tld.", "tld.zone");
    let keys = secure(outcome);
    assert_eq!(
        all_denials(&records, &keys).nxdomain(&n("nope.tld.")),
        Security::Secure
    );
    // Only the NSEC covering nope.tld. (nods.tld. -> ns.tld.): *.tld. is not covered.
    let only = Denials::verify(
        &with_sigs(&records, "nods.tld.", RecordType::NSEC),
        &keys,
        &now(),
    )
    .unwrap();
    let s = only.nxdomain(&n("nope.tld."));
    assert!(s.is_bogus());
    assert_eq!(ede(&s), Some(Ede::NsecMissing));
    assert_eq!(Ede::NsecMissing.code(), 12);
    // An existing name is not NXDOMAIN.
    assert_eq!(
        ede(&all_denials(&records, &keys).nxdomain(&n("www.tld."))),
        Some(Ede::NsecMissing)
    );
}

#[test]
fn a_forged_nsec_fails_its_signature() {
    let (records, outcome) = tld("tld.", "tld.zone");
    let keys = secure(outcome);
    // nods.tld. NSEC stretched to cover www2.tld. too: its RRSIG no longer verifies.
    let mut section = with_sigs(&records, "nods.tld.", RecordType::NSEC);
    for r in section.iter_mut() {
        if let RData::DNSSEC(DNSSECRData::NSEC(nsec)) = &r.data {
            let types: Vec<RecordType> = nsec.type_bit_maps().collect();
            r.data = RData::DNSSEC(DNSSECRData::NSEC(NSEC::new(n("zzz.tld."), types)));
        }
    }
    let why = Denials::verify(&section, &keys, &now()).unwrap_err();
    assert_eq!(why.ede, Ede::DnssecBogus, "{why}");
    // Without its RRSIG, a forged NSEC is no proof either.
    section.retain(|r| r.record_type() == RecordType::NSEC);
    let why = Denials::verify(&section, &keys, &now()).unwrap_err();
    assert_eq!(why.ede, Ede::RrsigsMissing, "{why}");
}

#[test]
fn nsec_nodata_and_empty_non_terminals() {
    let (tld_records, outcome) = tld("tld.", "tld.zone");
    let tld_keys = secure(outcome);
    let leaf = fixture("leaf.tld.zone");
    let leaf_keys = secure_keys(
        "leaf.tld.",
        &leaf,
        &ds_of(&rrset(&tld_records, "leaf.tld.", RecordType::DS)),
        &now(),
    );
    let d = all_denials(&leaf, &leaf_keys);
    assert_eq!(
        d.nodata(&n("www.leaf.tld."), RecordType::AAAA),
        Security::Secure
    );
    // The parent's NSECs beside the child's are left out, not held against it.
    let mut mixed = with_sigs(&tld_records, "leaf.tld.", RecordType::NSEC);
    mixed.extend(with_sigs(&leaf, "www.leaf.tld.", RecordType::NSEC));
    let m = Denials::verify(&mixed, &leaf_keys, &now()).unwrap();
    assert_eq!(
        m.nodata(&n("www.leaf.tld."), RecordType::AAAA),
        Security::Secure
    );
    assert!(m.nodata(&n("leaf.tld."), RecordType::DS).is_bogus());
    assert_eq!(
        d.nodata(&n("b.leaf.tld."), RecordType::A),
        Security::Secure,
        "ENT"
    );
    assert_eq!(
        ede(&d.nodata(&n("www.leaf.tld."), RecordType::A)),
        Some(Ede::NsecMissing)
    );
    // A CNAME owner has no NODATA: the CNAME should have come.
    assert_eq!(
        ede(&d.nodata(&n("alias.leaf.tld."), RecordType::A)),
        Some(Ede::NsecMissing)
    );
    // *.sub.leaf.tld. is an empty non-terminal (a.*.sub.leaf.tld. exists): it
    // matches q.sub.leaf.tld., which has no data of any type and is no NXDOMAIN.
    assert_eq!(
        d.nodata(&n("q.sub.leaf.tld."), RecordType::AAAA),
        Security::Secure
    );
    assert_eq!(
        ede(&d.nxdomain(&n("q.sub.leaf.tld."))),
        Some(Ede::NsecMissing)
    );
    assert_eq!(
        ede(&d.nxdomain(&n("*.sub.leaf.tld."))),
        Some(Ede::NsecMissing)
    );
    assert_eq!(
        d.deny(&n("q.sub.leaf.tld."), RecordType::A),
        Some(Denied::NoData)
    );
    // Wildcard NODATA: q.leaf.tld. does not exist, *.leaf.tld. has no AAAA.
    assert_eq!(
        d.nodata(&n("q.leaf.tld."), RecordType::AAAA),
        Security::Secure
    );
    assert_eq!(
        ede(&d.nodata(&n("q.leaf.tld."), RecordType::A)),
        Some(Ede::NsecMissing)
    );
    // The parent's NSEC at a delegation proves no DS, but nothing about other types.
    // (Unbound calls such a NODATA insecure: the name is in an unsigned child.)
    let t = all_denials(&tld_records, &tld_keys);
    assert!(matches!(
        t.nodata(&n("nods.tld."), RecordType::A),
        Security::Insecure(_)
    ));
    assert_eq!(
        ede(&t.nodata(&n("leaf.tld."), RecordType::A)),
        Some(Ede::NsecMissing)
    );
}

#[test]
fn nsec_wildcard_answer_needs_no_closer_match() {
    let (tld_records, _) = tld("tld.", "tld.zone");
    let leaf = fixture("leaf.tld.zone");
    let keys = secure_keys(
        "leaf.tld.",
        &leaf,
        &ds_of(&rrset(&tld_records, "leaf.tld.", RecordType::DS)),
        &now(),
    );
    // The wildcard's A RRset as a server sends it for x.leaf.tld.
    let rename = |rs: Vec<Record>| -> Vec<Record> {
        rs.into_iter()
            .map(|mut r| {
                r.name = n("x.leaf.tld.");
                r
            })
            .collect()
    };
    let answer = rename(rrset(&leaf, "*.leaf.tld.", RecordType::A));
    let answer_sigs = rename(sigs(&leaf, "*.leaf.tld.", RecordType::A));
    let RrsetOutcome::Secure {
        wildcard: Some(w), ..
    } = verify_rrset(&answer, &answer_sigs, &keys, &now())
    else {
        panic!("a wildcard answer verifies and says so");
    };
    assert_eq!(w, n("*.leaf.tld."));
    let d = all_denials(&leaf, &keys);
    assert_eq!(d.wildcard_answer(&n("x.leaf.tld."), &w), Security::Secure);
    // www.leaf.tld. exists: an answer for it may not come from the wildcard.
    assert_eq!(
        ede(&d.wildcard_answer(&n("www.leaf.tld."), &w)),
        Some(Ede::NsecMissing)
    );
}

#[test]
fn nsec_unsigned_delegations() {
    let (root, root_keys) = root_keys();
    let d = all_denials(&root, &root_keys);
    assert_eq!(d.no_ds(&n("unsigned.")), Security::Secure);
    // tld. has a DS: its NSEC says so.
    assert_eq!(ede(&d.no_ds(&n("tld."))), Some(Ede::NsecMissing));
    let (tld_records, outcome) = tld("tld.", "tld.zone");
    let t = all_denials(&tld_records, &secure(outcome));
    assert_eq!(t.no_ds(&n("nods.tld.")), Security::Secure);
    assert_eq!(ede(&t.no_ds(&n("leaf.tld."))), Some(Ede::NsecMissing));
    // The child apex NSEC (SOA in the bitmap) proves nothing about the child's DS.
    let leaf = fixture("leaf.tld.zone");
    let leaf_keys = secure_keys(
        "leaf.tld.",
        &leaf,
        &ds_of(&rrset(&tld_records, "leaf.tld.", RecordType::DS)),
        &now(),
    );
    assert!(
        all_denials(&leaf, &leaf_keys)
            .no_ds(&n("leaf.tld."))
            .is_bogus()
    );
}

#[test]
fn nsec_aggressive_use_of_cached_records() {
    let (records, outcome) = tld("tld.", "tld.zone");
    let keys = secure(outcome);
    let cached: Vec<Record> = records
        .iter()
        .filter(|r| r.record_type() == RecordType::NSEC)
        .cloned()
        .collect();
    let d = Denials::from_validated(&keys.zone, &cached, &now());
    assert_eq!(
        d.deny(&n("nope.tld."), RecordType::A),
        Some(Denied::NxDomain)
    );
    assert_eq!(
        d.deny(&n("deeper.nope.tld."), RecordType::A),
        Some(Denied::NxDomain)
    );
    assert_eq!(
        d.deny(&n("www.tld."), RecordType::AAAA),
        Some(Denied::NoData)
    );
    assert_eq!(d.deny(&n("www.tld."), RecordType::A), None);
    // Below a delegation the parent's records say nothing.
    assert_eq!(d.deny(&n("x.leaf.tld."), RecordType::A), None);
}

//------------ NSEC3 -----------------------------------------------------------

#[test]
fn nsec3_proofs() {
    let (records, outcome) = tld("nsec3.", "nsec3.zone");
    let keys = secure(outcome);
    let d = all_denials(&records, &keys);
    assert_eq!(d.nxdomain(&n("nope.nsec3.")), Security::Secure);
    assert_eq!(d.nxdomain(&n("a.b.nope.nsec3.")), Security::Secure);
    // A name 25 labels below the zone is still proven; one of 100 labels would
    // need more NSEC3 hashes than one proof may compute (a hostile zone's CPU
    // sink): bogus, not thousands of SHA-1 rounds.
    let deep = |labels: usize| n(&format!("{}nope.nsec3.", "x.".repeat(labels - 1)));
    assert_eq!(d.nxdomain(&deep(25)), Security::Secure);
    assert!(d.nxdomain(&deep(100)).is_bogus());
    assert!(d.nxdomain(&n("www.nsec3.")).is_bogus());
    assert_eq!(
        d.nodata(&n("www.nsec3."), RecordType::AAAA),
        Security::Secure
    );
    assert_eq!(
        ede(&d.nodata(&n("www.nsec3."), RecordType::A)),
        Some(Ede::NsecMissing)
    );
    // wild.nsec3. is an empty non-terminal with its own NSEC3.
    assert_eq!(d.nodata(&n("wild.nsec3."), RecordType::A), Security::Secure);
    // Wildcard NODATA and a wildcard answer under *.wild.nsec3.
    assert_eq!(
        d.nodata(&n("x.wild.nsec3."), RecordType::AAAA),
        Security::Secure
    );
    assert_eq!(
        d.wildcard_answer(&n("x.wild.nsec3."), &n("*.wild.nsec3.")),
        Security::Secure
    );
    // Delegations: nods.nsec3. has no DS, signed.nsec3. has one.
    assert_eq!(d.no_ds(&n("nods.nsec3.")), Security::Secure);
    assert_eq!(ede(&d.no_ds(&n("signed.nsec3."))), Some(Ede::NsecMissing));
    // Without the NSEC3 matching the closest encloser (the apex), no NXDOMAIN proof.
    let apex_nsec3 = records
        .iter()
        .find(|r| match &r.data {
            RData::DNSSEC(DNSSECRData::NSEC3(x)) => x.type_set().contains(RecordType::SOA),
            _ => false,
        })
        .map(|r| r.name.clone())
        .unwrap();
    let without_apex: Vec<Record> = records
        .iter()
        .filter(|r| r.name != apex_nsec3)
        .cloned()
        .collect();
    let partial = all_denials(&without_apex, &keys);
    assert!(!partial.is_empty());
    for q in ["nope.nsec3.", "a.nsec3.", "zzz.nsec3."] {
        assert_eq!(ede(&partial.nxdomain(&n(q))), Some(Ede::NsecMissing), "{q}");
    }
    // Aggressive use: the cached chain denies on its own.
    let cached: Vec<Record> = records
        .iter()
        .filter(|r| r.record_type() == RecordType::NSEC3)
        .cloned()
        .collect();
    let c = Denials::from_validated(&keys.zone, &cached, &now());
    assert_eq!(
        c.deny(&n("nope.nsec3."), RecordType::A),
        Some(Denied::NxDomain)
    );
    assert_eq!(
        c.deny(&n("www.nsec3."), RecordType::TXT),
        Some(Denied::NoData)
    );
}

#[test]
fn nsec3_opt_out_makes_unsigned_delegations_insecure() {
    let (records, outcome) = tld("optout.", "optout.zone");
    let keys = secure(outcome);
    let d = all_denials(&records, &keys);
    let s = d.no_ds(&n("insecure.optout."));
    assert!(matches!(s, Security::Insecure(_)), "{s:?}");
    // NXDOMAIN inside an opt-out span is insecure too (Unbound), and never used
    // aggressively (RFC 8198 §6).
    assert!(matches!(
        d.nxdomain(&n("nope.optout.")),
        Security::Insecure(_)
    ));
    assert_eq!(d.deny(&n("nope.optout."), RecordType::A), None);
    // A name with its own NSEC3 is still proven.
    assert_eq!(
        d.nodata(&n("www.optout."), RecordType::AAAA),
        Security::Secure
    );
}

#[test]
fn nsec3_iterations_above_the_limit_are_insecure() {
    let (records, outcome) = tld("iter.", "iter.zone");
    let keys = secure(outcome);
    let d = all_denials(&records, &keys);
    let s = d.nxdomain(&n("nope.iter."));
    let Security::Insecure(why) = &s else {
        panic!("expected insecure: {s:?}");
    };
    assert_eq!(why.ede, Ede::UnsupportedNsec3Iterations);
    assert_eq!(why.ede.code(), 27);
    assert_eq!(d.deny(&n("nope.iter."), RecordType::A), None);
    // With a higher limit the same proof holds.
    let mut lax = now();
    lax.nsec3_max_iterations = 200;
    let d = Denials::verify(
        &records
            .iter()
            .filter(|r| {
                r.record_type() == RecordType::NSEC3
                    || rrsig::as_rrsig(r)
                        .is_some_and(|s| s.input().type_covered == RecordType::NSEC3)
            })
            .cloned()
            .collect::<Vec<_>>(),
        &keys,
        &lax,
    )
    .unwrap();
    assert_eq!(d.nxdomain(&n("nope.iter.")), Security::Secure);
}

//------------ Anchors ---------------------------------------------------------

#[test]
fn negative_trust_anchors_cover_names_below() {
    let mut a = TrustAnchors::icann();
    a.add_negative(n("tld.")).unwrap();
    assert!(a.is_negative(&n("www.leaf.tld.")));
    assert!(a.is_negative(&n("tld.")));
    assert!(!a.is_negative(&n("nsec3.")));
    assert_eq!(
        a.anchor_for(&n("www.example.")).map(|(n, _)| n),
        Some(Name::root())
    );
}

#[test]
fn anchors_outside_the_root_namespace_are_refused() {
    let mut a = TrustAnchors::new(n("alt."));
    let ds = fixture("anchor.ds");
    assert_eq!(
        a.add(&ds[0]),
        Err(AnchorError::OutsideRoot(".".into(), "alt.".into()))
    );
    assert!(a.add_negative(n("example.")).is_err());
    assert!(a.add_negative(n("x.alt.")).is_ok());
    assert!(a.is_empty());
    assert!(a.anchor_for(&n("x.alt.")).is_none());
}

#[test]
fn builtin_root_anchors_match_the_root_ksks() {
    let keys = fixture("icann-root-keys.zone");
    assert_eq!(keys.len(), 2);
    let anchors = TrustAnchors::icann();
    let (at, trust) = anchors.anchor_for(&n("com.")).unwrap();
    assert_eq!(at, Name::root());
    let mut tags = Vec::new();
    for r in &keys {
        let RData::DNSSEC(DNSSECRData::DNSKEY(k)) = &r.data else {
            panic!("not a DNSKEY");
        };
        let tag = k.calculate_key_tag().unwrap();
        let digest = k.to_digest(&Name::root(), DigestType::SHA256).unwrap();
        let ds = trust
            .ds
            .iter()
            .find(|d| d.key_tag() == tag)
            .unwrap_or_else(|| panic!("no built-in anchor for key {tag}"));
        assert_eq!(ds.digest(), digest.as_ref(), "key {tag}");
        assert_eq!(ds.algorithm(), k.algorithm());
        assert!(ds.covers(&Name::root(), k).unwrap());
        tags.push(tag);
    }
    tags.sort();
    assert_eq!(tags, [20326, 38696]);
}
