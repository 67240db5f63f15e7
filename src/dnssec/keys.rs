//! A zone's DNSKEY RRset against what vouches for it (RFC 4035 §5.2): the parent's
//! DS RRset or a trust anchor. A DS picks a key by key tag, algorithm and digest; that
//! key must have the zone-key bit, must not be revoked (RFC 5011 §2.1), and must sign
//! the DNSKEY RRset. Then every zone key in the set may sign the zone's data.

use hickory_proto::dnssec::rdata::{DNSKEY, DNSSECRData, DS};
use hickory_proto::dnssec::{DigestType, Verifier};
use hickory_proto::rr::{Name, RData, Record, RecordType};

use super::rrsig::{RrsetOutcome, sigs_for, verify_rrset};
use super::{Ede, Settings, Why};

/// What vouches for a zone's keys: the parent's validated DS RRset, or the DS and
/// DNSKEY trust anchors at the zone's name.
#[derive(Clone, Copy, Debug, Default)]
pub struct Trust<'a> {
    pub ds: &'a [DS],
    pub dnskeys: &'a [DNSKEY],
}

impl<'a> Trust<'a> {
    pub fn ds(ds: &'a [DS]) -> Trust<'a> {
        Trust { ds, dnskeys: &[] }
    }

    pub fn dnskeys(dnskeys: &'a [DNSKEY]) -> Trust<'a> {
        Trust { ds: &[], dnskeys }
    }
}

/// A zone's validated keys: those with the zone-key bit, not revoked, of an
/// algorithm we verify.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ZoneKeys {
    pub zone: Name,
    pub keys: Vec<DNSKEY>,
    /// How long the DNSKEY RRset may be kept (see [`RrsetOutcome::Secure`]).
    pub ttl: u32,
}

/// What [`validate_dnskeys`] found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum KeysOutcome {
    Secure(ZoneKeys),
    /// Every DS (or anchor) names an algorithm or digest type we cannot verify:
    /// the zone is treated as unsigned (RFC 4035 §5.2, RFC 6840 §5.2).
    Insecure(Why),
    Bogus(Why),
}

/// The DS records of `owner` among `records` (a DS RRset verified with
/// [`super::verify_rrset`] under the parent's keys), for [`Trust::ds`].
pub fn ds_set(records: &[Record], owner: &Name) -> Vec<DS> {
    records
        .iter()
        .filter(|r| r.name == *owner)
        .filter_map(|r| match &r.data {
            RData::DNSSEC(DNSSECRData::DS(d)) => Some(d.clone()),
            _ => None,
        })
        .collect()
}

/// The DNSKEY RDATA of `record`, if it is one.
fn as_dnskey(record: &Record) -> Option<&DNSKEY> {
    match &record.data {
        RData::DNSSEC(DNSSECRData::DNSKEY(k)) => Some(k),
        _ => None,
    }
}

/// Digest types by strength: with a SHA-256 DS present a SHA-1 DS is ignored
/// (RFC 4509 §3, as Unbound's `val_favorite_ds_algo`).
fn digest_rank(d: DigestType) -> u8 {
    match d {
        DigestType::SHA1 => 1,
        DigestType::SHA256 => 2,
        DigestType::SHA384 => 3,
        _ => 0,
    }
}

/// Checks `zone`'s DNSKEY RRset — the DNSKEY records owned by `zone` among `records`,
/// with the RRSIGs over them also taken from `records` — against `trust`.
pub fn validate_dnskeys(
    zone: &Name,
    records: &[Record],
    trust: Trust<'_>,
    settings: &Settings,
) -> KeysOutcome {
    let bogus = |ede, reason: String| KeysOutcome::Bogus(Why::new(ede, zone, reason));
    let insecure = |ede, reason: String| KeysOutcome::Insecure(Why::new(ede, zone, reason));

    // What vouches, restricted to what we can check.
    let favourite = trust
        .ds
        .iter()
        .filter(|d| d.algorithm().is_supported())
        .map(|d| digest_rank(d.digest_type()))
        .max()
        .unwrap_or(0);
    let usable_ds: Vec<&DS> = trust
        .ds
        .iter()
        .filter(|d| d.algorithm().is_supported() && digest_rank(d.digest_type()) == favourite)
        .filter(|_| favourite > 0)
        .collect();
    let usable_anchor_keys: Vec<&DNSKEY> = trust
        .dnskeys
        .iter()
        .filter(|k| k.algorithm().is_supported() && !k.revoke())
        .collect();
    if trust.ds.is_empty() && trust.dnskeys.is_empty() {
        return bogus(
            Ede::DnssecBogus,
            format!("nothing vouches for the keys of {zone} (no DS, no anchor)"),
        );
    }
    if usable_ds.is_empty() && usable_anchor_keys.is_empty() {
        let algorithms_ok = trust
            .ds
            .iter()
            .map(|d| d.algorithm())
            .chain(trust.dnskeys.iter().map(|k| k.algorithm()))
            .any(|a| a.is_supported());
        return if algorithms_ok && !trust.ds.is_empty() {
            insecure(
                Ede::UnsupportedDsDigestType,
                format!(
                    "every DS for {zone} has a digest type we cannot check ({})",
                    list(trust.ds.iter().map(|d| u8::from(d.digest_type())))
                ),
            )
        } else if algorithms_ok {
            bogus(
                Ede::DnssecBogus,
                format!("every trust anchor key for {zone} is revoked"),
            )
        } else {
            insecure(
                Ede::UnsupportedDnskeyAlgorithm,
                format!(
                    "every DS or anchor for {zone} has an algorithm we cannot verify ({})",
                    list(
                        trust
                            .ds
                            .iter()
                            .map(|d| u8::from(d.algorithm()))
                            .chain(trust.dnskeys.iter().map(|k| u8::from(k.algorithm())))
                    )
                ),
            )
        };
    }

    let dnskeys: Vec<Record> = records
        .iter()
        .filter(|r| r.name == *zone && as_dnskey(r).is_some())
        .cloned()
        .collect();
    if dnskeys.is_empty() {
        return bogus(Ede::DnskeyMissing, format!("no DNSKEY RRset for {zone}"));
    }

    // The keys the DS set or the anchors point at.
    let mut entry_keys = Vec::new();
    let mut no_zone_bit = None;
    let mut revoked = None;
    for key in dnskeys.iter().filter_map(as_dnskey) {
        let Ok(tag) = key.calculate_key_tag() else {
            continue;
        };
        let by_ds = usable_ds.iter().any(|d| {
            d.key_tag() == tag
                && d.algorithm() == key.algorithm()
                && key
                    .to_digest(zone, d.digest_type())
                    .is_ok_and(|h| h.as_ref() == d.digest())
        });
        let by_anchor = usable_anchor_keys
            .iter()
            .any(|a| a.algorithm() == key.algorithm() && a.public_key() == key.public_key());
        if !(by_ds || by_anchor) {
            continue;
        }
        if !key.zone_key() {
            no_zone_bit = Some(tag);
        } else if key.revoke() {
            revoked = Some(tag);
        } else {
            entry_keys.push(key.clone());
        }
    }
    if entry_keys.is_empty() {
        if let Some(tag) = no_zone_bit {
            return bogus(
                Ede::NoZoneKeyBitSet,
                format!("DNSKEY {tag} of {zone} matches its DS but has no zone-key bit"),
            );
        }
        if let Some(tag) = revoked {
            return bogus(
                Ede::DnssecBogus,
                format!("DNSKEY {tag} of {zone} matches its DS but is revoked"),
            );
        }
        return bogus(
            Ede::DnskeyMissing,
            format!(
                "no DNSKEY of {zone} matches its DS or anchor (key tags {})",
                list(
                    usable_ds.iter().map(|d| d.key_tag()).chain(
                        usable_anchor_keys
                            .iter()
                            .filter_map(|k| k.calculate_key_tag().ok())
                    )
                )
            ),
        );
    }

    // One of them must sign the DNSKEY RRset.
    let entry = ZoneKeys {
        zone: zone.clone(),
        keys: entry_keys,
        ttl: 0,
    };
    let sigs: Vec<Record> = sigs_for(records, zone, RecordType::DNSKEY)
        .cloned()
        .collect();
    match verify_rrset(&dnskeys, &sigs, &entry, settings) {
        RrsetOutcome::Secure { ttl, .. } => KeysOutcome::Secure(ZoneKeys {
            zone: zone.clone(),
            keys: dnskeys
                .iter()
                .filter_map(as_dnskey)
                .filter(|k| k.zone_key() && !k.revoke() && k.algorithm().is_supported())
                .cloned()
                .collect(),
            ttl,
        }),
        RrsetOutcome::Bogus(mut why) => {
            if why.ede == Ede::DnskeyMissing {
                // An RRSIG by a key that is in the set but not vouched for.
                why.ede = Ede::DnssecBogus;
                why.reason = format!(
                    "the DNSKEY RRset of {zone} is not signed by a key its DS or anchor names: {}",
                    why.reason
                );
            }
            KeysOutcome::Bogus(why)
        }
    }
}

fn list<T: ToString>(items: impl Iterator<Item = T>) -> String {
    items.map(|i| i.to_string()).collect::<Vec<_>>().join(", ")
}
