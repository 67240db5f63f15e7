//! The chain of trust and the RRSIG checks: DS to DNSKEY to RRset, validity
//! periods, key tags, repeats, algorithms and digests that cannot be checked.

use super::*;

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
fn a_record_repeated_with_another_ttl_does_not_break_the_signature() {
    // Each DNSKEY again with a TTL one higher: ordered by TTL first, the repeats
    // are not next to their twins, and the signed data must still hold each once.
    let (tld_records, outcome) = tld("tld.", "tld.zone");
    let keys = secure(outcome);
    let mut dnskeys = rrset(&tld_records, "tld.", RecordType::DNSKEY);
    assert_eq!(dnskeys.len(), 2);
    let repeats: Vec<Record> = dnskeys
        .iter()
        .map(|r| {
            let mut r = r.clone();
            r.ttl += 1;
            r
        })
        .collect();
    dnskeys.extend(repeats);
    assert!(matches!(
        verify_rrset(
            &dnskeys,
            &sigs(&tld_records, "tld.", RecordType::DNSKEY),
            &keys,
            &now()
        ),
        RrsetOutcome::Secure { .. }
    ));
}

#[test]
fn key_tags_as_hickory_computes_them() {
    // RSA/SHA-256, ECDSA P-256 and Ed25519 keys signed by BIND and ldns, and the
    // 2020 root's RSA keys.
    let mut seen = 0;
    for file in ["root.zone", "tld.zone", "leaf.tld.zone", "icann-2020.zone"] {
        for r in fixture(file) {
            if let RData::DNSSEC(DNSSECRData::DNSKEY(k)) = &r.data {
                assert_eq!(
                    rrsig::key_tag(k),
                    k.calculate_key_tag().unwrap(),
                    "{file}: {r}"
                );
                seen += 1;
            }
        }
    }
    assert!(seen >= 6, "only {seen} keys");
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
