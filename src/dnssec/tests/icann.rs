//! Real data: the signed ICANN root zone of 2020-02-01 (serial 2020020102), cut to
//! the records these tests need by `tests/fixtures/dnssec/make.sh`, validated from
//! the built-in KSK-2017 anchor (20326) at a time inside its signatures' validity.

use super::*;

/// 2020-02-05 12:00 UTC: the cut's RRSIGs run from 2020-02-01 to 2020-02-14 (the
/// DNSKEY RRset's, by the KSK, from 2020-01-31 to 2020-02-21).
fn in_2020() -> Settings {
    Settings::at(u64::from(text::time("20200205120000").unwrap()))
}

fn root() -> (Vec<Record>, ZoneKeys) {
    let records = fixture("icann-2020.zone");
    let anchors = TrustAnchors::icann();
    let (at, trust) = anchors.anchor_for(&n("geek.")).unwrap();
    assert_eq!(at, Name::root());
    match validate_dnskeys(&at, &records, trust, &in_2020()) {
        KeysOutcome::Secure(keys) => (records, keys),
        other => panic!("the 2020 root's DNSKEY RRset: {other:?}"),
    }
}

#[test]
fn the_2020_root_validates_under_ksk_2017() {
    let (records, keys) = root();
    assert_eq!(keys.keys.len(), 2, "KSK 20326 and the ZSK 33853");
    for (owner, rtype) in [
        (".", RecordType::SOA),
        (".", RecordType::NS),
        ("com.", RecordType::DS),
        ("org.", RecordType::DS),
        ("net.", RecordType::DS),
    ] {
        let set = rrset(&records, owner, rtype);
        assert!(!set.is_empty(), "{owner} {rtype}");
        let got = verify_rrset(&set, &sigs(&records, owner, rtype), &keys, &in_2020());
        assert!(
            matches!(got, RrsetOutcome::Secure { .. }),
            "{owner} {rtype}: {got:?}"
        );
    }
    // In March the DNSKEY RRset's signature has expired (beyond the day of skew).
    let late = Settings::at(u64::from(text::time("20200301000000").unwrap()));
    let anchors = TrustAnchors::icann();
    let (_, trust) = anchors.anchor_for(&Name::root()).unwrap();
    let KeysOutcome::Bogus(why) = validate_dnskeys(&Name::root(), &records, trust, &late) else {
        panic!("expired in March");
    };
    assert_eq!(why.ede, Ede::SignatureExpired);
}

#[test]
fn the_2020_root_proves_geek_and_zz_do_not_exist() {
    let (records, keys) = root();
    let mut section = with_sigs(&records, "gea.", RecordType::NSEC);
    section.extend(with_sigs(&records, ".", RecordType::NSEC));
    section.extend(with_sigs(&records, "zw.", RecordType::NSEC));
    let d = Denials::verify(&section, &keys, &in_2020()).unwrap();
    assert_eq!(d.nxdomain(&n("geek.")), Security::Secure);
    assert_eq!(d.nxdomain(&n("www.geek.")), Security::Secure);
    assert_eq!(d.nxdomain(&n("zz.")), Security::Secure);
    // ae. had no DS in 2020: an unsigned delegation.
    let ae = Denials::verify(
        &with_sigs(&records, "ae.", RecordType::NSEC),
        &keys,
        &in_2020(),
    )
    .unwrap();
    assert_eq!(ae.no_ds(&n("ae.")), Security::Secure);
    // com. has a DS.
    assert!(d.nxdomain(&n("com.")).is_bogus());
}

#[test]
fn a_tampered_2020_proof_is_bogus() {
    let (records, keys) = root();
    // gea. NSEC gent. stretched to hide "gq." (and anything up to "zz."): the RRSIG fails.
    let mut section = with_sigs(&records, "gea.", RecordType::NSEC);
    for r in section.iter_mut() {
        if let RData::DNSSEC(DNSSECRData::NSEC(nsec)) = &r.data {
            let types: Vec<RecordType> = nsec.type_bit_maps().collect();
            r.data = RData::DNSSEC(DNSSECRData::NSEC(NSEC::new(n("zz."), types)));
        }
    }
    section.extend(with_sigs(&records, ".", RecordType::NSEC));
    let why = Denials::verify(&section, &keys, &in_2020()).unwrap_err();
    assert_eq!(why.ede, Ede::DnssecBogus, "{why}");
    assert_eq!(why.zone, Name::root());
    // A tampered DS for com. fails too.
    let mut ds = rrset(&records, "com.", RecordType::DS);
    if let RData::DNSSEC(DNSSECRData::DS(d)) = &ds[0].data {
        let mut digest = d.digest().to_vec();
        digest[0] ^= 1;
        ds[0].data = RData::DNSSEC(DNSSECRData::DS(DS::new(
            d.key_tag(),
            d.algorithm(),
            d.digest_type(),
            digest,
        )));
    }
    let got = verify_rrset(
        &ds,
        &sigs(&records, "com.", RecordType::DS),
        &keys,
        &in_2020(),
    );
    assert_eq!(
        match got {
            RrsetOutcome::Bogus(w) => w.ede,
            other => panic!("{other:?}"),
        },
        Ede::DnssecBogus
    );
}
