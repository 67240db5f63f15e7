//! The chain of trust walked down from a root's anchor (see the parent module).

use std::num::NonZeroUsize;
use std::sync::{Arc, Mutex};

use futures::FutureExt;
use futures::future::BoxFuture;
use hickory_proto::dnssec::rdata::DS;
use hickory_proto::op::ResponseCode;
use hickory_proto::rr::{LowerName, Name, Record, RecordType};
use lru::LruCache;

use super::super::Resolver;
use super::super::classify;
use super::super::drive::Ctx;
use super::super::iter::Mode;
use super::{ds_of, lowest_ttl, split};
use crate::dnssec::{
    Denials, Ede, KeysOutcome, RrsetOutcome, Security, Settings, Trust, Why, ZoneKeys,
    validate_dnskeys,
};

/// How long a bogus result is kept (Unbound's `val-bogus-ttl`).
pub const BOGUS_TTL: u32 = 60;
/// Key states kept per root.
const KEY_ENTRIES: usize = 10_000;

/// What the walk knows about one name of a root.
#[derive(Clone, Debug)]
pub enum KeyState {
    /// A zone apex with validated keys.
    Secure(Arc<ZoneKeys>),
    /// Not a zone cut (a proven DS NODATA for a name inside its zone): the keys of
    /// the closest enclosing zone apply.
    Inside,
    /// An unsigned delegation (or one signed with what we cannot verify), or below
    /// a negative trust anchor: everything at and below it is insecure.
    Insecure(Why),
    Bogus(Why),
}

/// Per-root results of the walk, by name, with their expiry.
pub struct KeyCache {
    map: Mutex<LruCache<LowerName, (KeyState, u64)>>,
}

impl Default for KeyCache {
    fn default() -> Self {
        KeyCache {
            map: Mutex::new(LruCache::new(
                NonZeroUsize::new(KEY_ENTRIES).unwrap_or(NonZeroUsize::MIN),
            )),
        }
    }
}

impl KeyCache {
    fn lock(&self) -> std::sync::MutexGuard<'_, LruCache<LowerName, (KeyState, u64)>> {
        self.map.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub fn get(&self, name: &Name, now: u64) -> Option<KeyState> {
        let mut m = self.lock();
        let key = LowerName::new(name);
        match m.get(&key) {
            Some((s, until)) if *until > now => Some(s.clone()),
            Some(_) => {
                m.pop(&key);
                None
            }
            None => None,
        }
    }

    fn put(&self, name: &Name, state: KeyState, ttl: u32, now: u64) {
        if ttl == 0 {
            return;
        }
        self.lock()
            .put(LowerName::new(name), (state, now + u64::from(ttl)));
    }

    /// Forgets everything (the root's zones were reloaded).
    pub fn clear(&self) {
        self.lock().clear();
    }
}

impl Resolver {
    /// The validated keys of the zone `target` is in (or is the apex of), walking
    /// down from the closest anchor; `Err` with why not: insecure (an unsigned
    /// delegation on the way, an algorithm we cannot verify, a negative anchor),
    /// bogus, or indeterminate (no anchor covers it).
    pub(super) fn zone_keys<'a>(
        &'a self,
        ctx: &'a mut Ctx,
        ri: usize,
        target: &'a Name,
    ) -> BoxFuture<'a, Result<Arc<ZoneKeys>, Security>> {
        async move {
            let root = &self.roots[ri];
            let Some(anchors) = root.anchors.clone() else {
                return Err(Security::Indeterminate(Why::new(
                    Ede::DnssecIndeterminate,
                    target,
                    "this root has no trust anchor",
                )));
            };
            if anchors.is_negative(target) {
                return Err(Security::Insecure(Why::new(
                    Ede::DnssecIndeterminate,
                    target,
                    format!("{target} is under a negative trust anchor"),
                )));
            }
            let Some((apex, trust)) = anchors.anchor_for(target) else {
                return Err(Security::Indeterminate(Why::new(
                    Ede::DnssecIndeterminate,
                    target,
                    format!("no trust anchor of root {} covers {target}", root.name),
                )));
            };
            let now = self.clock.now();
            let mut keys = match root.keys.get(&apex, now) {
                Some(state) => state,
                None => {
                    let (ds, dnskeys) = (trust.ds.to_vec(), trust.dnskeys.to_vec());
                    let trust = Trust {
                        ds: &ds,
                        dnskeys: &dnskeys,
                    };
                    let (state, ttl) = self.fetch_keys(ctx, ri, &apex, trust).await;
                    root.keys.put(&apex, state.clone(), ttl, now);
                    state
                }
            };
            let mut current = match keys {
                KeyState::Secure(ref k) => k.clone(),
                KeyState::Insecure(w) => return Err(Security::Insecure(w)),
                KeyState::Bogus(w) => return Err(Security::Bogus(w)),
                KeyState::Inside => {
                    return Err(Security::Bogus(Why::new(
                        Ede::DnssecBogus,
                        &apex,
                        "a trust anchor's name is not a zone",
                    )));
                }
            };
            for labels in apex.num_labels() + 1..=target.num_labels() {
                let n = target.trim_to(usize::from(labels));
                keys = match root.keys.get(&n, now) {
                    Some(state) => state,
                    None => {
                        let (state, ttl) = self.step_down(ctx, ri, &n, &current).await;
                        root.keys.put(&n, state.clone(), ttl, now);
                        state
                    }
                };
                match keys {
                    KeyState::Secure(ref k) => current = k.clone(),
                    KeyState::Inside => {}
                    KeyState::Insecure(w) => return Err(Security::Insecure(w)),
                    KeyState::Bogus(w) => return Err(Security::Bogus(w)),
                }
            }
            Ok(current)
        }
        .boxed()
    }

    /// `zone`'s DNSKEY RRset, fetched and checked against `trust`.
    async fn fetch_keys(
        &self,
        ctx: &mut Ctx,
        ri: usize,
        zone: &Name,
        trust: Trust<'_>,
    ) -> (KeyState, u32) {
        let settings = Settings::at(self.clock.now());
        let o = match self
            .link(ctx, ri, zone, RecordType::DNSKEY, Mode::Answer)
            .await
        {
            Ok(o) => o,
            Err(f) => {
                // Not kept: the next question tries again.
                return (
                    KeyState::Bogus(Why::new(
                        Ede::DnskeyMissing,
                        zone,
                        format!("the DNSKEY RRset of {zone} could not be fetched: {f}"),
                    )),
                    0,
                );
            }
        };
        if !o
            .records
            .iter()
            .any(|r| r.record_type() == RecordType::DNSKEY)
        {
            return (
                KeyState::Bogus(Why::new(
                    Ede::DnskeyMissing,
                    zone,
                    format!("{zone} has no DNSKEY RRset"),
                )),
                BOGUS_TTL,
            );
        }
        match validate_dnskeys(zone, &o.records, trust, &settings) {
            KeysOutcome::Secure(k) => {
                let ttl = k.ttl;
                (KeyState::Secure(Arc::new(k)), ttl)
            }
            KeysOutcome::Insecure(w) => (KeyState::Insecure(w), lowest_ttl(&o.records)),
            KeysOutcome::Bogus(w) => (KeyState::Bogus(w), BOGUS_TTL),
        }
    }

    /// What the DS question for `n` says, under the keys of the zone above it.
    async fn step_down(
        &self,
        ctx: &mut Ctx,
        ri: usize,
        n: &Name,
        parent: &Arc<ZoneKeys>,
    ) -> (KeyState, u32) {
        let settings = Settings::at(self.clock.now());
        let bad = |ede, reason: String| {
            (
                KeyState::Bogus(Why::new(ede, &parent.zone, reason)),
                BOGUS_TTL,
            )
        };
        let o = match self.link(ctx, ri, n, RecordType::DS, Mode::Answer).await {
            Ok(o) => o,
            Err(f) => {
                return (
                    KeyState::Bogus(Why::new(
                        Ede::DnssecIndeterminate,
                        n,
                        format!("the DS RRset of {n} could not be fetched: {f}"),
                    )),
                    0,
                );
            }
        };
        let ds_set: Vec<Record> = o
            .records
            .iter()
            .filter(|r| {
                r.name == *n
                    && (r.record_type() == RecordType::DS
                        || classify::covers(r) == Some(RecordType::DS))
            })
            .cloned()
            .collect();
        if !ds_of(&ds_set, n).is_empty() {
            let (data, sigs) = split(&ds_set);
            let ttl = match self.roots[ri]
                .verified
                .verify(&data, &sigs, parent, &settings)
            {
                RrsetOutcome::Bogus(w) => return (KeyState::Bogus(w), BOGUS_TTL),
                RrsetOutcome::Secure { ttl, .. } => ttl,
            };
            let ds: Vec<DS> = ds_of(&data, n).into_iter().cloned().collect();
            let (state, key_ttl) = self.fetch_keys(ctx, ri, n, Trust::ds(&ds)).await;
            return (state, key_ttl.min(ttl));
        }
        if o.records
            .iter()
            .any(|r| r.record_type() == RecordType::CNAME && r.name == *n)
        {
            // An alias is never a zone cut.
            return (KeyState::Inside, lowest_ttl(&o.records));
        }
        if !o.records.is_empty() {
            return bad(
                Ede::DnssecBogus,
                format!("the DS question for {n} was answered with other data"),
            );
        }
        // NODATA or NXDOMAIN: it must be proven, under the parent's keys.
        let Some(soa) = &o.soa else {
            return bad(
                Ede::NsecMissing,
                format!("no DS for {n}, and no signed proof of that"),
            );
        };
        let soa_sigs: Vec<Record> = o
            .proof
            .iter()
            .filter(|r| r.name == soa.name && classify::covers(r) == Some(RecordType::SOA))
            .cloned()
            .collect();
        if let RrsetOutcome::Bogus(w) =
            self.roots[ri]
                .verified
                .verify(std::slice::from_ref(soa), &soa_sigs, parent, &settings)
        {
            return (KeyState::Bogus(w), BOGUS_TTL);
        }
        let denials =
            match Denials::verify_with(&o.proof, parent, &settings, Some(&self.roots[ri].verified))
            {
                Ok(d) => d,
                Err(w) => return (KeyState::Bogus(w), BOGUS_TTL),
            };
        let ttl = soa.ttl.min(if denials.is_empty() {
            soa.ttl
        } else {
            denials.ttl()
        });
        if o.rcode == ResponseCode::NXDomain {
            return match denials.nxdomain(n) {
                // Nothing exists at or below n: the parent's keys sign the denial.
                Security::Secure => (KeyState::Inside, ttl),
                Security::Insecure(w) => (KeyState::Insecure(w), ttl),
                Security::Bogus(w) | Security::Indeterminate(w) => (KeyState::Bogus(w), BOGUS_TTL),
            };
        }
        match denials.nodata(n, RecordType::DS) {
            Security::Secure => match denials.delegation_at(n) {
                Some(true) => (
                    KeyState::Insecure(Why::new(
                        Ede::DnssecIndeterminate,
                        n,
                        format!("{n} is an unsigned delegation (no DS in {})", parent.zone),
                    )),
                    ttl,
                ),
                _ => (KeyState::Inside, ttl),
            },
            Security::Insecure(w) => (KeyState::Insecure(w), ttl),
            Security::Bogus(w) | Security::Indeterminate(w) => (KeyState::Bogus(w), BOGUS_TTL),
        }
    }
}
