//! RFC 8198: validated NSEC/NSEC3 proofs kept per zone and root.

use std::num::NonZeroUsize;
use std::sync::Mutex;

use hickory_proto::op::ResponseCode;
use hickory_proto::rr::{LowerName, Name, Record, RecordType};
use lru::LruCache;

use super::super::Resolver;
use super::super::classify;
use super::super::iter::Outcome;
use crate::dnssec::{Denials, Settings};

/// Records of one zone's proofs kept per zone.
const PROOF_RECORDS: usize = 1_000;
/// Zones whose proofs are kept, per root.
const PROOF_ZONES: usize = 10_000;

/// RFC 8198 (aggressive use of DNSSEC-validated cache, on as in Unbound): the NSEC
/// and NSEC3 records of validated negative answers, per zone, with the zone's SOA.
/// A question they already prove absent is answered from them, validated, without
/// asking the zone's servers.
pub struct Aggressive {
    map: Mutex<LruCache<LowerName, ZoneProofs>>,
}

#[derive(Default)]
struct ZoneProofs {
    zone: Name,
    /// The SOA and its RRSIGs, until when.
    soa: Vec<(Record, u64)>,
    /// NSEC/NSEC3 records and their RRSIGs, each until when.
    records: Vec<(Record, u64)>,
}

impl Default for Aggressive {
    fn default() -> Self {
        Aggressive {
            map: Mutex::new(LruCache::new(
                NonZeroUsize::new(PROOF_ZONES).unwrap_or(NonZeroUsize::MIN),
            )),
        }
    }
}

impl Aggressive {
    fn lock(&self) -> std::sync::MutexGuard<'_, LruCache<LowerName, ZoneProofs>> {
        self.map.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Keeps what a validated negative answer of `zone` proved, for `ttl` seconds.
    pub(super) fn learn(&self, zone: &Name, soa: &[Record], proof: &[Record], ttl: u32, now: u64) {
        if ttl == 0 {
            return;
        }
        let until = now + u64::from(ttl);
        let mut m = self.lock();
        let key = LowerName::new(zone);
        if m.get(&key).is_none() {
            m.put(
                key.clone(),
                ZoneProofs {
                    zone: zone.clone(),
                    ..ZoneProofs::default()
                },
            );
        }
        let Some(e) = m.get_mut(&key) else { return };
        e.soa = soa.iter().map(|r| (r.clone(), until)).collect();
        e.records.retain(|(_, u)| *u > now);
        for r in proof
            .iter()
            .filter(|r| crate::resolver::cache::is_denial(r))
        {
            let at = e.records.iter().position(|(x, _)| {
                x.name == r.name && x.record_type() == r.record_type() && x.data == r.data
            });
            match at {
                Some(i) => e.records[i].1 = until,
                None if e.records.len() < PROOF_RECORDS => e.records.push((r.clone(), until)),
                None => {}
            }
        }
    }

    /// The proven NXDOMAIN or NODATA for `name`/`qtype`, from the proofs of the
    /// closest zone above it that has any.
    fn answer(&self, name: &Name, qtype: RecordType, settings: &Settings) -> Option<Outcome> {
        let now = settings.now;
        let mut m = self.lock();
        let e = (0..=name.num_labels())
            .rev()
            .find_map(|l| {
                let key = LowerName::new(&name.trim_to(usize::from(l)));
                m.contains(&key).then_some(key)
            })
            .and_then(|k| m.get_mut(&k))?;
        e.records.retain(|(_, u)| *u > now);
        let left = |u: u64| u32::try_from(u.saturating_sub(now)).unwrap_or(u32::MAX);
        let soa = e
            .soa
            .iter()
            .find(|(r, u)| r.record_type() == RecordType::SOA && *u > now)?;
        let ttl = e
            .records
            .iter()
            .map(|(_, u)| left(*u))
            .chain([left(soa.1)])
            .min()
            .unwrap_or(0);
        let nsec: Vec<Record> = e.records.iter().map(|(r, _)| r.clone()).collect();
        let denials = Denials::from_validated(&e.zone, &nsec, settings);
        let rcode = match denials.deny(name, qtype)? {
            crate::dnssec::Denied::NxDomain => ResponseCode::NXDomain,
            crate::dnssec::Denied::NoData => ResponseCode::NoError,
        };
        let bearing = denials.bearing_on(name);
        let with_ttl = |r: &Record| {
            let mut r = r.clone();
            r.ttl = ttl;
            r
        };
        let mut proof: Vec<Record> = e
            .soa
            .iter()
            .filter(|(r, _)| r.record_type() != RecordType::SOA)
            .map(|(r, _)| with_ttl(r))
            .collect();
        proof.extend(
            nsec.iter()
                .filter(|r| {
                    let t = classify::covers(r).unwrap_or(r.record_type());
                    bearing.iter().any(|(o, bt)| *o == r.name && *bt == t)
                })
                .map(with_ttl),
        );
        Some(Outcome {
            rcode,
            records: Vec::new(),
            soa: Some(with_ttl(&soa.0)),
            proof,
            next: None,
            source: crate::resolver::Source::Cache,
        })
    }

    pub fn clear(&self) {
        self.lock().clear();
    }
}

impl Resolver {
    /// RFC 8198: a negative answer for `name`/`qtype` in root `ri` proven by
    /// validated NSEC/NSEC3 records already held, if there is one (secure).
    pub(in crate::resolver) fn aggressive_answer(
        &self,
        ri: usize,
        name: &Name,
        qtype: RecordType,
    ) -> Option<Outcome> {
        let root = self.roots.get(ri)?;
        if root.anchors.as_ref().is_some_and(|a| a.is_negative(name)) {
            return None;
        }
        root.aggressive
            .answer(name, qtype, &Settings::at(self.clock.now()))
    }
}
