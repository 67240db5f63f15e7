//! Trust anchors: negative anchors, namespace, the built-in root KSKs.

use super::*;

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
