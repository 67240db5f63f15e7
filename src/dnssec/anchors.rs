//! Trust anchors of one root: DS or DNSKEY records at the root or at any name below
//! it, and negative trust anchors (RFC 7646). IANA's root KSKs are built in.

use std::collections::BTreeMap;

use hickory_proto::dnssec::rdata::{DNSKEY, DNSSECRData, DS};
use hickory_proto::dnssec::{Algorithm, DigestType};
use hickory_proto::rr::{Name, RData, Record};

use super::keys::Trust;

/// IANA's root trust anchors as (key tag, algorithm, digest type, SHA-256 digest in
/// hex), from <https://data.iana.org/root-anchors/root-anchors.xml>: KSK-2017 (20326)
/// and KSK-2024 (38696). A unit test recomputes both from the root DNSKEYs in
/// `shared/data/icann/root.zone`.
pub const ROOT_ANCHORS: [(u16, u8, u8, &str); 2] = [
    (
        20326,
        8,
        2,
        "E06D44B80B8F1D39A95C0B0D7C65D08458E880409BBC683457104237C7F8EC8D",
    ),
    (
        38696,
        8,
        2,
        "683D2D0ACB8C9B712A1948B27F741219298D0A450D612C483AF444A4C0FB2B16",
    ),
];

/// Why a record cannot be an anchor.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum AnchorError {
    #[error("{0} {1} is not a trust anchor: only DS and DNSKEY records are")]
    NotAnchorType(String, String),
    #[error("{0} is outside this root's namespace {1}")]
    OutsideRoot(String, String),
}

/// One root's anchors. Empty means validation is off for that root.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TrustAnchors {
    /// The root's namespace: every anchor is at or below it (`.` for a whole root).
    apex: Name,
    ds: BTreeMap<Name, Vec<DS>>,
    dnskeys: BTreeMap<Name, Vec<DNSKEY>>,
    negative: Vec<Name>,
}

impl TrustAnchors {
    /// No anchors (validation off), for names at or below `apex`.
    pub fn new(apex: Name) -> TrustAnchors {
        TrustAnchors {
            apex: apex.to_lowercase(),
            ..TrustAnchors::default()
        }
    }

    /// IANA's root KSKs ([`ROOT_ANCHORS`]) as DS records at `.`.
    pub fn icann() -> TrustAnchors {
        let mut anchors = TrustAnchors::new(Name::root());
        for (tag, alg, digest_type, hex) in ROOT_ANCHORS {
            // The constants above are hex written by hand; a test checks them.
            let digest = data_encoding::HEXUPPER
                .decode(hex.as_bytes())
                .unwrap_or_default();
            anchors.ds.entry(Name::root()).or_default().push(DS::new(
                tag,
                Algorithm::from_u8(alg),
                DigestType::from(digest_type),
                digest,
            ));
        }
        anchors
    }

    /// Adds a DS or DNSKEY record as an anchor at its owner.
    pub fn add(&mut self, record: &Record) -> Result<(), AnchorError> {
        let owner = record.name.to_lowercase();
        if !self.apex.zone_of(&owner) {
            return Err(AnchorError::OutsideRoot(
                owner.to_string(),
                self.apex.to_string(),
            ));
        }
        match &record.data {
            RData::DNSSEC(DNSSECRData::DS(ds)) => {
                self.ds.entry(owner).or_default().push(ds.clone())
            }
            RData::DNSSEC(DNSSECRData::DNSKEY(key)) => {
                self.dnskeys.entry(owner).or_default().push(key.clone())
            }
            _ => {
                return Err(AnchorError::NotAnchorType(
                    owner.to_string(),
                    record.record_type().to_string(),
                ));
            }
        }
        Ok(())
    }

    /// Adds a negative trust anchor: `name` and everything below it is answered as
    /// insecure (RFC 7646), whatever its signatures say.
    pub fn add_negative(&mut self, name: Name) -> Result<(), AnchorError> {
        let name = name.to_lowercase();
        if !self.apex.zone_of(&name) {
            return Err(AnchorError::OutsideRoot(
                name.to_string(),
                self.apex.to_string(),
            ));
        }
        self.negative.push(name);
        Ok(())
    }

    /// Whether there is no positive anchor (validation off for this root).
    pub fn is_empty(&self) -> bool {
        self.ds.is_empty() && self.dnskeys.is_empty()
    }

    /// The names anchors are at.
    pub fn owners(&self) -> impl Iterator<Item = &Name> {
        let mut all: Vec<&Name> = self.ds.keys().chain(self.dnskeys.keys()).collect();
        all.sort();
        all.dedup();
        all.into_iter()
    }

    /// The negative trust anchors.
    pub fn negative(&self) -> &[Name] {
        &self.negative
    }

    /// The closest anchor at or above `name`: where the chain of trust for `name`
    /// starts, and what vouches for that name's DNSKEY RRset. `None`: no anchor
    /// covers `name` (its answers are indeterminate, RFC 4033 §5).
    pub fn anchor_for(&self, name: &Name) -> Option<(Name, Trust<'_>)> {
        let mut n = name.to_lowercase();
        loop {
            let ds = self.ds.get(&n).map(Vec::as_slice).unwrap_or(&[]);
            let dnskeys = self.dnskeys.get(&n).map(Vec::as_slice).unwrap_or(&[]);
            if !ds.is_empty() || !dnskeys.is_empty() {
                return Some((n, Trust { ds, dnskeys }));
            }
            if n.is_root() {
                return None;
            }
            n = n.base_name();
        }
    }

    /// Whether `name` is at or below a negative trust anchor.
    pub fn is_negative(&self, name: &Name) -> bool {
        self.negative.iter().any(|n| n.zone_of(name))
    }
}
