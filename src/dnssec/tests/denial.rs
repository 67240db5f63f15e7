//! Denial of existence: NSEC, NSEC3, opt-out, iterations, RFC 8198.

use super::*;

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

/// leaf.tld.'s records and its keys, secure under tld.'s DS.
fn leaf_zone() -> (Vec<Record>, ZoneKeys) {
    let (tld_records, _) = tld("tld.", "tld.zone");
    let leaf = fixture("leaf.tld.zone");
    let keys = secure_keys(
        "leaf.tld.",
        &leaf,
        &ds_of(&rrset(&tld_records, "leaf.tld.", RecordType::DS)),
        &now(),
    );
    (leaf, keys)
}

/// The wildcard `*.leaf.tld.`'s A RRset and its RRSIGs as a server sends them
/// for `name`.
fn wildcard_answer(leaf: &[Record], name: &str) -> (Vec<Record>, Vec<Record>) {
    let as_name = |rs: Vec<Record>| -> Vec<Record> {
        rs.into_iter()
            .map(|mut r| {
                r.name = n(name);
                r
            })
            .collect()
    };
    (
        as_name(rrset(leaf, "*.leaf.tld.", RecordType::A)),
        as_name(sigs(leaf, "*.leaf.tld.", RecordType::A)),
    )
}

#[test]
fn nsec_wildcard_answer_needs_no_closer_match() {
    let (leaf, keys) = leaf_zone();
    let (answer, answer_sigs) = wildcard_answer(&leaf, "x.leaf.tld.");
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

// A wildcard's RRSIG signs the same bytes whatever name it answers: checked
// once, then remembered (rrsig.rs `checked`). A changed record is still checked,
// and still fails; so does a signature past its validity, remembered or not.
#[test]
fn a_wildcards_signature_is_checked_once_for_all_its_names() {
    let (leaf, keys) = leaf_zone();
    let answer = |name: &str| wildcard_answer(&leaf, name);
    let secure = |o: RrsetOutcome| {
        matches!(
            o,
            RrsetOutcome::Secure {
                wildcard: Some(_),
                ..
            }
        )
    };
    let (a, s) = answer("first.leaf.tld.");
    assert!(secure(verify_rrset(&a, &s, &keys, &now())));
    let before = crate::dnssec::checked::operations();
    for name in ["second.leaf.tld.", "a.b.leaf.tld.", "third.leaf.tld."] {
        let (a, s) = answer(name);
        assert!(secure(verify_rrset(&a, &s, &keys, &now())), "{name}");
    }
    assert_eq!(
        crate::dnssec::checked::operations(),
        before,
        "the same signed data is not checked again"
    );
    // Another address under the same signature: checked, and bogus.
    let (mut a, s) = answer("fourth.leaf.tld.");
    if let Some(r) = a.first_mut() {
        r.data = RData::A("203.0.113.99".parse().unwrap());
    }
    assert!(matches!(
        verify_rrset(&a, &s, &keys, &now()),
        RrsetOutcome::Bogus(_)
    ));
    assert_eq!(crate::dnssec::checked::operations(), before + 1);
    // Long after the signature expired, the remembered check does not save it.
    let (a, s) = answer("fifth.leaf.tld.");
    let later = Settings::at(now().now + 100 * 365 * 86_400);
    assert!(matches!(
        verify_rrset(&a, &s, &keys, &later),
        RrsetOutcome::Bogus(_)
    ));
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
