//! One RRset and its RRSIGs under a zone's validated keys (RFC 4035 §5.3): the
//! RRSIG's fields checked one by one, then the signature itself (hickory's
//! `Verifier::verify_rrsig`, which checks the cryptography only).

use hickory_proto::dnssec::rdata::{DNSKEY, DNSSECRData, RRSIG};
use hickory_proto::dnssec::{PublicKey, TBS, Verifier};
use hickory_proto::rr::{Name, RData, Record, RecordType};

use super::keys::ZoneKeys;
use super::{Ede, Settings, Why};

/// What [`verify_rrset`] found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RrsetOutcome {
    Secure {
        /// The TTL to keep it for: the records' own, capped by the RRSIG's original
        /// TTL and by the time left until the signature expires.
        ttl: u32,
        /// Set when the RRset was synthesised from a wildcard (the RRSIG's labels
        /// field is smaller than the owner's label count): the wildcard's name, e.g.
        /// `*.example.` for `www.example.`. The answer then also needs the proof that
        /// no closer name exists ([`super::Denials::wildcard_answer`]).
        wildcard: Option<Name>,
    },
    Bogus(Why),
}

/// The RRSIG RDATA of `record`, if it is one.
pub(super) fn as_rrsig(record: &Record) -> Option<&RRSIG> {
    match &record.data {
        RData::DNSSEC(DNSSECRData::RRSIG(sig)) => Some(sig),
        _ => None,
    }
}

/// Verifies `rrset` (the records of one owner and type; other records are ignored)
/// with the RRSIGs among `sigs` that cover it, under `keys`. Secure as soon as one
/// RRSIG verifies (RFC 4035 §5.3.3); otherwise the most telling failure: a signature
/// out of its validity period before a bad signature, before a signature by a key the
/// zone does not have, before no signature at all.
pub fn verify_rrset(
    rrset: &[Record],
    sigs: &[Record],
    keys: &ZoneKeys,
    settings: &Settings,
) -> RrsetOutcome {
    let Some(first) = rrset.first() else {
        return RrsetOutcome::Bogus(Why::new(Ede::DnssecBogus, &keys.zone, "empty RRset"));
    };
    let owner = &first.name;
    let rtype = first.record_type();
    let mut records: Vec<&Record> = rrset
        .iter()
        .filter(|r| r.name == *owner && r.record_type() == rtype)
        .collect();
    // The TTL to keep it for counts a repeat's TTL too; the signed data does not.
    let least_ttl = records.iter().map(|r| r.ttl).min().unwrap_or(0);
    dedup_data(&mut records);
    // For messages only: not formatted on the way to a good signature.
    let what = || format!("{owner} {rtype}");
    let mut worst: Option<(u8, Why)> = None;
    let mut fail = |rank: u8, ede: Ede, reason: String| {
        if worst.as_ref().is_none_or(|(r, _)| rank > *r) {
            worst = Some((rank, Why::new(ede, &keys.zone, reason)));
        }
    };
    for sig in sigs.iter().filter(|s| s.name == *owner) {
        let Some(rrsig) = as_rrsig(sig) else { continue };
        let input = rrsig.input();
        if input.type_covered != rtype {
            continue;
        }
        if input.signer_name != keys.zone {
            fail(
                1,
                Ede::DnssecBogus,
                format!(
                    "RRSIG over {} is signed by {}, not by the zone {}",
                    what(),
                    input.signer_name,
                    keys.zone
                ),
            );
            continue;
        }
        if !keys.zone.zone_of(owner) {
            fail(
                1,
                Ede::DnssecBogus,
                format!("{} is outside its signer {}", what(), keys.zone),
            );
            continue;
        }
        let owner_labels = owner.num_labels();
        if input.num_labels > owner_labels {
            fail(
                1,
                Ede::DnssecBogus,
                format!(
                    "RRSIG over {} has labels {} but the owner has {owner_labels}",
                    what(),
                    input.num_labels
                ),
            );
            continue;
        }
        if input.num_labels < keys.zone.num_labels() {
            // A wildcard above the signer's own apex (Knot Resolver refuses it too).
            fail(
                1,
                Ede::DnssecBogus,
                format!(
                    "RRSIG over {} has labels {}, fewer than its signer {} has",
                    what(),
                    input.num_labels,
                    keys.zone
                ),
            );
            continue;
        }
        let key_matches: Vec<_> = keys
            .keys
            .iter()
            .filter(|k| k.algorithm() == input.algorithm)
            .filter(|k| key_tag(k) == input.key_tag)
            .collect();
        if key_matches.is_empty() {
            fail(
                2,
                Ede::DnskeyMissing,
                format!(
                    "RRSIG over {} is by key {} algorithm {}, which {} does not have",
                    what(),
                    input.key_tag,
                    input.algorithm,
                    keys.zone
                ),
            );
            continue;
        }
        if let Err((ede, reason)) = within_validity(input, settings) {
            fail(4, ede, format!("RRSIG over {} {reason}", what()));
            continue;
        }
        // The data the signature covers: for a wildcard's expansion, the
        // wildcard's own name (RFC 4035 §5.3.2), so every name it answers signs
        // the same bytes.
        let Ok(tbs) = TBS::from_input(owner, first.dns_class, input, records.iter().copied())
        else {
            fail(
                3,
                Ede::DnssecBogus,
                format!("RRSIG over {} cannot be checked", what()),
            );
            continue;
        };
        let verified = key_matches.iter().any(|k| {
            // Guarded: hickory panics in debug builds on algorithms it cannot verify.
            k.algorithm().is_supported() && super::checked::verify(k, tbs.as_ref(), rrsig.sig())
        });
        if !verified {
            fail(
                3,
                Ede::DnssecBogus,
                format!(
                    "RRSIG over {} by key {} does not verify",
                    what(),
                    input.key_tag
                ),
            );
            continue;
        }
        let wildcard = (input.num_labels < owner_labels).then(|| {
            owner
                .trim_to(usize::from(input.num_labels))
                .prepend_label("*")
                .unwrap_or_else(|_| owner.clone())
        });
        let left = input
            .sig_expiration
            .get()
            .wrapping_sub(settings.serial_now());
        // Past expiry but within the skew: keep it briefly, not for a negative time.
        let left = if (left as i32) < 0 { 0 } else { left };
        let ttl = least_ttl.min(input.original_ttl).min(left);
        return RrsetOutcome::Secure { ttl, wildcard };
    }
    RrsetOutcome::Bogus(match worst {
        Some((_, why)) => why,
        None => Why::new(
            Ede::RrsigsMissing,
            &keys.zone,
            format!("no RRSIG over {}", what()),
        ),
    })
}

/// Keeps the first of the records with the same data, in place. The signed data
/// holds each record once (RFC 2181 §5, RFC 4034 §6.3): a server or a cache that
/// repeats one, with whatever TTL, must not break the signature (as Unbound).
/// Pairwise up to `PAIRWISE` records, comparing the parsed data (no allocation);
/// above it sorted by the data's encoding, made once per record, so a large RRset
/// costs n log n, not n².
fn dedup_data(records: &mut Vec<&Record>) {
    const PAIRWISE: usize = 16;
    if records.len() <= PAIRWISE {
        let mut kept = 0;
        for i in 0..records.len() {
            let r = records[i];
            if !records[..kept].iter().any(|k| k.data == r.data) {
                records[kept] = r;
                kept += 1;
            }
        }
        records.truncate(kept);
    } else {
        use hickory_proto::serialize::binary::BinEncodable;
        records.sort_by_cached_key(|r| r.data.to_bytes().unwrap_or_default());
        records.dedup_by(|a, b| a.data == b.data);
    }
}

/// The key tag of `key` (RFC 4034 Appendix B) over its RDATA as it would be
/// encoded, without encoding it: hickory's `calculate_key_tag` builds the RDATA in
/// a fresh 512-octet buffer on every call, and a signature check asks it of every
/// key of the zone.
pub(super) fn key_tag(key: &DNSKEY) -> u16 {
    // The octets at even offsets count 256 times, those at odd ones once: the
    // flags, the protocol (3) and the algorithm, then the public key (at offset 4,
    // so its own parity holds). Summed apart, the loop vectorises.
    let flags = key.flags().to_be_bytes();
    let mut even = u32::from(flags[0]) + 3;
    let mut odd = u32::from(flags[1]) + u32::from(u8::from(key.algorithm()));
    let mut pairs = key.public_key().public_bytes().chunks_exact(2);
    for pair in &mut pairs {
        even += u32::from(pair[0]);
        odd += u32::from(pair[1]);
    }
    if let [last] = pairs.remainder() {
        even += u32::from(*last);
    }
    // At most 32,768 octets of 255 at each parity: no overflow in 32 bits.
    let mut ac = (even << 8) + odd;
    ac += ac >> 16;
    (ac & 0xffff) as u16
}

/// Whether `now` is inside the signature's validity period, widened by Unbound's
/// skew: a tenth of the period, clamped to `[skew_min, skew_max]`.
fn within_validity(
    input: &hickory_proto::dnssec::rdata::SigInput,
    settings: &Settings,
) -> Result<(), (Ede, String)> {
    let inception = input.sig_inception.get();
    let expiration = input.sig_expiration.get();
    let now = settings.serial_now();
    let period = expiration.wrapping_sub(inception);
    if (period as i32) < 0 {
        return Err((
            Ede::DnssecBogus,
            format!("has its inception {inception} after its expiration {expiration}"),
        ));
    }
    let skew = (period / 10).clamp(settings.skew_min, settings.skew_max.max(settings.skew_min));
    let early = inception.wrapping_sub(now) as i32;
    if early > 0 && early as u32 > skew {
        return Err((
            Ede::SignatureNotYetValid,
            format!("is not valid before {} (now {now})", time_text(inception)),
        ));
    }
    let late = now.wrapping_sub(expiration) as i32;
    if late > 0 && late as u32 > skew {
        return Err((
            Ede::SignatureExpired,
            format!("expired at {} (now {now})", time_text(expiration)),
        ));
    }
    Ok(())
}

/// An RRSIG time as written in zone files (YYYYMMDDHHmmSS), for messages.
fn time_text(t: u32) -> String {
    let secs = u64::from(t);
    let days = secs / 86_400;
    let rem = secs % 86_400;
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}{m:02}{d:02}{:02}{:02}{:02}",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

/// The zone whose keys `owner`/`rtype` should be verified with: the signer name of
/// the first RRSIG over it among `records` (the engine fetches that zone's DNSKEY
/// RRset; [`verify_rrset`] then checks that every detail agrees).
pub fn signer_of(records: &[Record], owner: &Name, rtype: RecordType) -> Option<Name> {
    sigs_for(records, owner, rtype)
        .filter_map(as_rrsig)
        .map(|s| s.input().signer_name.clone())
        .next()
}

/// `RecordType::RRSIG` records among `records` that cover `rtype` at `owner`.
pub(super) fn sigs_for<'a>(
    records: &'a [Record],
    owner: &'a Name,
    rtype: RecordType,
) -> impl Iterator<Item = &'a Record> + 'a {
    records.iter().filter(move |r| {
        r.name == *owner && as_rrsig(r).is_some_and(|s| s.input().type_covered == rtype)
    })
}

/// RRsets already verified, by a hash of the zone, its key tags, the records and
/// the RRSIGs: the same RRset with the same signatures under the same keys is not
/// verified again until the TTL [`verify_rrset`] gave runs out. (Unbound keeps the
/// same in its RRset cache's security status.) A wildcard-expanded answer's NSEC
/// is the same for every name it covers: without this, each cold name under a
/// wildcard costs two signature checks instead of one.
pub struct VerifyMemo {
    map: std::sync::Mutex<lru::LruCache<u64, (u64, Option<Name>)>>,
    hasher: foldhash::fast::RandomState,
}

impl VerifyMemo {
    pub fn new(entries: usize) -> VerifyMemo {
        VerifyMemo {
            map: std::sync::Mutex::new(lru::LruCache::new(
                std::num::NonZeroUsize::new(entries).unwrap_or(std::num::NonZeroUsize::MIN),
            )),
            hasher: foldhash::fast::RandomState::default(),
        }
    }

    fn key(&self, rrset: &[Record], sigs: &[Record], keys: &ZoneKeys) -> u64 {
        use hickory_proto::serialize::binary::BinEncodable;
        use std::hash::{BuildHasher, Hash, Hasher};
        let mut h = self.hasher.build_hasher();
        keys.zone.to_lowercase().hash(&mut h);
        for k in &keys.keys {
            key_tag(k).hash(&mut h);
        }
        for r in rrset.iter().chain(sigs) {
            r.name.to_lowercase().hash(&mut h);
            u16::from(r.record_type()).hash(&mut h);
            r.ttl.hash(&mut h);
            if let Ok(b) = r.data.to_bytes() {
                b.hash(&mut h);
            }
        }
        h.finish()
    }

    /// [`verify_rrset`], or what it found for the same input before.
    pub fn verify(
        &self,
        rrset: &[Record],
        sigs: &[Record],
        keys: &ZoneKeys,
        settings: &Settings,
    ) -> RrsetOutcome {
        let key = self.key(rrset, sigs, keys);
        {
            let mut m = self.map.lock().unwrap_or_else(|p| p.into_inner());
            if let Some((until, wildcard)) = m.get(&key)
                && *until > settings.now
            {
                return RrsetOutcome::Secure {
                    ttl: u32::try_from(*until - settings.now).unwrap_or(u32::MAX),
                    wildcard: wildcard.clone(),
                };
            }
        }
        let out = verify_rrset(rrset, sigs, keys, settings);
        if let RrsetOutcome::Secure { ttl, wildcard } = &out
            && *ttl > 0
        {
            self.map
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .put(key, (settings.now + u64::from(*ttl), wildcard.clone()));
        }
        out
    }

    pub fn clear(&self) {
        self.map.lock().unwrap_or_else(|p| p.into_inner()).clear();
    }
}

#[cfg(test)]
mod unit {
    use super::{dedup_data, time_text};
    use hickory_proto::rr::{Name, RData, Record};

    /// `count` A records under one owner, addresses `i % distinct`, TTL `i`.
    fn a_records(count: u8, distinct: u8) -> Vec<Record> {
        let owner = Name::from_ascii("www.example.").unwrap();
        (0..count)
            .map(|i| {
                Record::from_rdata(
                    owner.clone(),
                    u32::from(i),
                    RData::A(std::net::Ipv4Addr::new(192, 0, 2, i % distinct).into()),
                )
            })
            .collect()
    }

    #[test]
    fn key_tags_of_every_length_as_hickory_computes_them() {
        use hickory_proto::dnssec::rdata::DNSKEY;
        use hickory_proto::dnssec::{Algorithm, PublicKeyBuf};
        // Odd and even lengths, octets up to 255, both flag words.
        for len in 1..=300usize {
            let bytes: Vec<u8> = (0..len).map(|i| (i * 37 + len) as u8 | 0x80).collect();
            for flags in [256, 257] {
                let key = DNSKEY::with_flags(
                    flags,
                    PublicKeyBuf::new(bytes.clone(), Algorithm::RSASHA256),
                );
                assert_eq!(
                    super::key_tag(&key),
                    key.calculate_key_tag().unwrap(),
                    "{len} octets"
                );
            }
        }
    }

    #[test]
    fn repeated_records_are_kept_once_small_and_large() {
        // 12 records of 5 addresses goes pairwise; 40 of 7 by the sorted encoding.
        for (count, distinct) in [(12, 5), (40, 7), (3, 3), (1, 1)] {
            let records = a_records(count, distinct);
            let mut refs: Vec<&Record> = records.iter().collect();
            dedup_data(&mut refs);
            let mut data: Vec<_> = refs.iter().map(|r| r.data.clone()).collect();
            data.sort_by_key(|d| format!("{d}"));
            data.dedup();
            assert_eq!(refs.len(), usize::from(distinct), "{count} of {distinct}");
            assert_eq!(data.len(), usize::from(distinct), "{count} of {distinct}");
        }
    }

    #[test]
    fn rrsig_times_print_as_in_zone_files() {
        assert_eq!(time_text(0), "19700101000000");
        assert_eq!(time_text(1_581_696_000), "20200214160000");
    }
}
