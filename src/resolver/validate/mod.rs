//! DNSSEC validation inside each root (issue 15): the engine side of
//! [`crate::dnssec`]. Each root with trust anchors validates what it answers under
//! its own anchors only, over DS and DNSKEY RRsets fetched from its own servers (as
//! any other question of that root: through its cache, on the question's budget and
//! deadline).
//!
//! The chain of trust is walked down from the closest anchor one label at a time
//! toward the zone that signed the data, as Unbound's validator does when it does not
//! know the cuts: a DS query for each name on the way gives either a DS RRset (a
//! signed child zone: its DNSKEY RRset is fetched and checked against it), a proven
//! NODATA (no cut there: the same keys go on; or a cut without DS: everything below is
//! insecure), or a failure. Every step's result is kept per root in [`KeyCache`] for
//! as long as the records it rests on, a bogus one for [`BOGUS_TTL`] (Unbound's
//! `val-bogus-ttl`), so a warm walk costs hash lookups, not queries or signatures.
//! Whole link outcomes found secure or insecure are remembered by a hash of their
//! records ([`Memo`]), so a cached answer is not verified again.

//!
//! Parts: the chain walk and its key states ([`walk`]), remembered results
//! ([`memo`]), RFC 8198 proofs ([`aggressive`]); here, a link's validation.

mod aggressive;
mod memo;
mod walk;

pub use aggressive::Aggressive;
pub use memo::Memo;
pub use walk::{BOGUS_TTL, KeyCache, KeyState};

use hickory_proto::dnssec::rdata::{DNSSECRData, DS};
use hickory_proto::op::ResponseCode;
use hickory_proto::rr::{Name, RData, Record, RecordType};

use super::Resolver;
use super::classify;
use super::drive::Ctx;
use super::iter::Outcome;
use crate::dnssec::{Denials, Ede, RrsetOutcome, Security, Settings, Why};

/// The DS RDATA among `records` owned by `name`.
pub(super) fn ds_of<'r>(records: &'r [Record], name: &Name) -> Vec<&'r DS> {
    records
        .iter()
        .filter(|r| r.name == *name)
        .filter_map(|r| match &r.data {
            RData::DNSSEC(DNSSECRData::DS(d)) => Some(d),
            _ => None,
        })
        .collect()
}

/// An RRset's records and the RRSIGs over it, apart.
pub(super) fn split(set: &[Record]) -> (Vec<Record>, Vec<Record>) {
    set.iter()
        .cloned()
        .partition(|r| classify::covers(r).is_none())
}

pub(super) fn lowest_ttl(records: &[Record]) -> u32 {
    records.iter().map(|r| r.ttl).min().unwrap_or(0)
}

pub(super) fn bogus(ede: Ede, zone: &Name, reason: String) -> Security {
    Security::Bogus(Why::new(ede, zone, reason))
}

impl Resolver {
    /// Does root `ri` validate (it has trust anchors)?
    /// (`Root::anchors` holds only non-empty anchor sets: see `Resolver::new`.)
    pub(super) fn validates(&self, ri: usize) -> bool {
        self.roots.get(ri).is_some_and(|r| r.anchors.is_some())
    }

    /// Counts one link's validation result in root `ri` (the metrics and the
    /// status page); a bogus one's reason is kept as the root's last.
    pub(super) fn count_security(&self, ri: usize, s: &Security) {
        use crate::stats::labels as l;
        let slot = match s {
            Security::Secure => l::SECURITY_SECURE,
            Security::Insecure(_) => l::SECURITY_INSECURE,
            Security::Bogus(_) => l::SECURITY_BOGUS,
            Security::Indeterminate(_) => l::SECURITY_INDETERMINATE,
        };
        self.stats.dnssec(ri, slot);
        if let Security::Bogus(why) = s {
            self.stats
                .last_bogus(ri, self.clock.now(), || why.to_string());
        }
    }

    /// The DNSSEC security of `answer` (to `name`/`qtype`, as any root gave it)
    /// under root `under`'s trust anchors, with the chain of trust fetched from
    /// `under`'s own servers (`compare --dnssec`: an alternate root's answer checked
    /// against the ICANN root's keys, and the other way round). Indeterminate when
    /// `under` has no anchors, or the answer failed without data.
    pub async fn security_under(
        &self,
        under: usize,
        name: &Name,
        qtype: RecordType,
        answer: &super::Answer,
    ) -> Security {
        if !self.validates(under) {
            return Security::Indeterminate(Why::new(
                Ede::DnssecIndeterminate,
                name,
                format!(
                    "root {} has no trust anchor",
                    self.roots.get(under).map_or("?", |r| r.name.as_str())
                ),
            ));
        }
        if answer.failure.is_some() {
            return Security::Indeterminate(Why::new(
                Ede::DnssecIndeterminate,
                name,
                "the answer failed: nothing to check",
            ));
        }
        let mut authority = answer.authority.clone();
        let soa_at = authority
            .iter()
            .position(|r| r.record_type() == RecordType::SOA);
        let soa = soa_at.map(|i| authority.remove(i));
        let o = Outcome {
            rcode: answer.rcode,
            records: answer.answers.clone(),
            soa,
            proof: authority,
            next: None,
            source: answer.source,
        };
        let deadline = tokio::time::Instant::now() + self.query_timeout;
        let mut ctx = self.ctx(deadline);
        self.validate(&mut ctx, under, name, qtype, &o).await
    }

    /// What [`Resolver::validate`] found for this outcome before, if it is
    /// remembered: `Some(true)` secure, `Some(false)` insecure. For answers that
    /// must not wait (bogus ones go the full way, which fails them at once).
    pub(super) fn remembered(
        &self,
        ri: usize,
        name: &Name,
        qtype: RecordType,
        o: &Outcome,
    ) -> Option<bool> {
        let root = self.roots.get(ri)?;
        match root
            .memo
            .get(root.memo.key(name, qtype, o), self.clock.now())?
        {
            Security::Secure => Some(true),
            Security::Insecure(_) | Security::Indeterminate(_) => Some(false),
            Security::Bogus(_) => None,
        }
    }

    /// The security of one link's outcome in root `ri` (which validates).
    pub(super) async fn validate(
        &self,
        ctx: &mut Ctx,
        ri: usize,
        name: &Name,
        qtype: RecordType,
        o: &Outcome,
    ) -> Security {
        let root = &self.roots[ri];
        let now = self.clock.now();
        let key = root.memo.key(name, qtype, o);
        if let Some(s) = root.memo.get(key, now) {
            return s;
        }
        let settings = Settings::at(now);
        let (security, ttl) = if o.records.is_empty() {
            self.validate_negative(ctx, ri, name, qtype, o, &settings)
                .await
        } else {
            self.validate_positive(ctx, ri, o, &settings).await
        };
        match &security {
            Security::Secure | Security::Insecure(_) => {
                root.memo.put(key, security.clone(), ttl, now)
            }
            // Bogus is kept a while (Unbound's val-bogus-ttl), so asking again does
            // not cost signature checks each time; a fetch that failed is not.
            Security::Bogus(w) if w.ede != Ede::DnssecIndeterminate => {
                root.memo.put(key, security.clone(), BOGUS_TTL, now)
            }
            _ => {}
        }
        security
    }

    async fn validate_positive(
        &self,
        ctx: &mut Ctx,
        ri: usize,
        o: &Outcome,
        settings: &Settings,
    ) -> (Security, u32) {
        let mut insecure: Option<Why> = None;
        let mut ttl = u32::MAX;
        let sets = classify::group(o.records.iter().cloned());
        for set in &sets {
            let (data, sigs) = split(set);
            let Some(first) = data.first() else {
                // Signatures alone (a question for type RRSIG): nothing to prove.
                continue;
            };
            // RFC 6672 §5.3.1: a CNAME synthesised from a DNAME is unsigned; the
            // DNAME's signature stands for it.
            if first.record_type() == RecordType::CNAME
                && sigs.is_empty()
                && sets.iter().any(|s| {
                    s[0].record_type() == RecordType::DNAME && s[0].name.zone_of(&first.name)
                })
            {
                continue;
            }
            let signer = sigs
                .iter()
                .find_map(|s| match &s.data {
                    RData::DNSSEC(DNSSECRData::RRSIG(r)) => Some(r.input().signer_name.clone()),
                    _ => None,
                })
                .filter(|s| s.zone_of(&first.name))
                .unwrap_or_else(|| first.name.clone());
            let keys = match self.zone_keys(ctx, ri, &signer).await {
                Ok(k) => k,
                Err(Security::Insecure(w)) => {
                    insecure.get_or_insert(w);
                    ttl = ttl.min(lowest_ttl(&data));
                    continue;
                }
                Err(other) => return (other, 0),
            };
            if sigs.is_empty() {
                return (
                    bogus(
                        Ede::RrsigsMissing,
                        &keys.zone,
                        format!(
                            "{} {} has no RRSIG in the signed zone {}",
                            first.name,
                            first.record_type(),
                            keys.zone
                        ),
                    ),
                    0,
                );
            }
            match self.roots[ri]
                .verified
                .verify(&data, &sigs, &keys, settings)
            {
                RrsetOutcome::Bogus(w) => return (Security::Bogus(w), 0),
                RrsetOutcome::Secure { ttl: t, wildcard } => {
                    ttl = ttl.min(t);
                    if let Some(w) = wildcard {
                        let proved = match Denials::verify_with(
                            &o.proof,
                            &keys,
                            settings,
                            Some(&self.roots[ri].verified),
                        ) {
                            Ok(d) => d.wildcard_answer(&first.name, &w),
                            Err(why) => Security::Bogus(why),
                        };
                        match proved {
                            Security::Secure => {}
                            Security::Insecure(w) => {
                                insecure.get_or_insert(w);
                            }
                            other => return (other, 0),
                        }
                    }
                }
            }
        }
        let ttl = if ttl == u32::MAX { 0 } else { ttl };
        match insecure {
            Some(w) => (Security::Insecure(w), ttl),
            None => (Security::Secure, ttl),
        }
    }

    async fn validate_negative(
        &self,
        ctx: &mut Ctx,
        ri: usize,
        name: &Name,
        qtype: RecordType,
        o: &Outcome,
        settings: &Settings,
    ) -> (Security, u32) {
        // The zone that denies: its SOA's owner, else the name's own zone.
        let zone = o
            .soa
            .as_ref()
            .map(|s| s.name.clone())
            .filter(|z| z.zone_of(name))
            .unwrap_or_else(|| name.clone());
        let keys = match self.zone_keys(ctx, ri, &zone).await {
            Ok(k) => k,
            Err(Security::Insecure(w)) => {
                let ttl = o.soa.as_ref().map_or(0, |s| s.ttl);
                return (Security::Insecure(w), ttl);
            }
            Err(other) => return (other, 0),
        };
        let Some(soa) = &o.soa else {
            return (
                bogus(
                    Ede::NsecMissing,
                    &keys.zone,
                    format!("negative answer for {name} {qtype} without SOA"),
                ),
                0,
            );
        };
        let mut ttl = soa.ttl;
        let soa_sigs: Vec<Record> = o
            .proof
            .iter()
            .filter(|r| r.name == soa.name && classify::covers(r) == Some(RecordType::SOA))
            .cloned()
            .collect();
        match self.roots[ri]
            .verified
            .verify(std::slice::from_ref(soa), &soa_sigs, &keys, settings)
        {
            RrsetOutcome::Bogus(w) => return (Security::Bogus(w), 0),
            RrsetOutcome::Secure { ttl: t, .. } => ttl = ttl.min(t),
        }
        let denials =
            match Denials::verify_with(&o.proof, &keys, settings, Some(&self.roots[ri].verified)) {
                Ok(d) => d,
                Err(w) => return (Security::Bogus(w), 0),
            };
        if !denials.is_empty() {
            ttl = ttl.min(denials.ttl());
        }
        let proved = if o.rcode == ResponseCode::NXDomain {
            denials.nxdomain(name)
        } else {
            denials.nodata(name, qtype)
        };
        if proved.is_secure() {
            let mut soa_set = vec![soa.clone()];
            soa_set.extend(soa_sigs.iter().cloned());
            self.roots[ri]
                .aggressive
                .learn(&keys.zone, &soa_set, &o.proof, ttl, settings.now);
        }
        (proved, ttl)
    }
}
