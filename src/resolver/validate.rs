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

use std::hash::{BuildHasher, Hash, Hasher};
use std::num::NonZeroUsize;
use std::sync::{Arc, Mutex};

use futures::FutureExt;
use futures::future::BoxFuture;
use hickory_proto::dnssec::rdata::{DNSSECRData, DS};
use hickory_proto::op::ResponseCode;
use hickory_proto::rr::{LowerName, Name, RData, Record, RecordType};
use lru::LruCache;

use super::Resolver;
use super::classify;
use super::drive::Ctx;
use super::iter::{Mode, Outcome};
use crate::dnssec::{
    Denials, Ede, KeysOutcome, RrsetOutcome, Security, Settings, Trust, Why, ZoneKeys,
    validate_dnskeys,
};

/// How long a bogus result is kept (Unbound's `val-bogus-ttl`).
pub const BOGUS_TTL: u32 = 60;
/// Key states kept per root.
const KEY_ENTRIES: usize = 10_000;
/// Validated link outcomes remembered per root.
const MEMO_ENTRIES: usize = 100_000;

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

/// Link outcomes already validated (secure, insecure, or bogus for [`BOGUS_TTL`]
/// unless the failure was a fetch that may work next time), by a hash of the name,
/// type, rcode and records (not the proof of a positive answer, which the cache
/// does not keep: a wildcard answer validated with its proof stays secure when it
/// comes back from the cache without it).
pub struct Memo {
    map: Mutex<LruCache<u64, (Security, u64)>>,
    hasher: foldhash::fast::RandomState,
}

impl Default for Memo {
    fn default() -> Self {
        Memo {
            map: Mutex::new(LruCache::new(
                NonZeroUsize::new(MEMO_ENTRIES).unwrap_or(NonZeroUsize::MIN),
            )),
            hasher: foldhash::fast::RandomState::default(),
        }
    }
}

impl Memo {
    fn key(&self, name: &Name, qtype: RecordType, o: &Outcome) -> u64 {
        let mut h = self.hasher.build_hasher();
        LowerName::new(name).hash(&mut h);
        u16::from(qtype).hash(&mut h);
        u16::from(o.rcode).hash(&mut h);
        let mut add = |r: &Record| {
            LowerName::new(&r.name).hash(&mut h);
            u16::from(r.record_type()).hash(&mut h);
            if let Ok(b) = hickory_proto::serialize::binary::BinEncodable::to_bytes(&r.data) {
                b.hash(&mut h);
            }
        };
        o.records.iter().for_each(&mut add);
        if o.records.is_empty() {
            o.soa.iter().chain(o.proof.iter()).for_each(&mut add);
        }
        h.finish()
    }

    fn get(&self, key: u64, now: u64) -> Option<Security> {
        let mut m = self.map.lock().unwrap_or_else(|p| p.into_inner());
        match m.get(&key) {
            Some((s, until)) if *until > now => Some(s.clone()),
            _ => None,
        }
    }

    fn put(&self, key: u64, security: Security, ttl: u32, now: u64) {
        if ttl > 0 {
            self.map
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .put(key, (security, now + u64::from(ttl)));
        }
    }

    pub fn clear(&self) {
        self.map.lock().unwrap_or_else(|p| p.into_inner()).clear();
    }
}

/// The DS RDATA among `records` owned by `name`.
fn ds_of<'r>(records: &'r [Record], name: &Name) -> Vec<&'r DS> {
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
fn split(set: &[Record]) -> (Vec<Record>, Vec<Record>) {
    set.iter()
        .cloned()
        .partition(|r| classify::covers(r).is_none())
}

fn lowest_ttl(records: &[Record]) -> u32 {
    records.iter().map(|r| r.ttl).min().unwrap_or(0)
}

fn bogus(ede: Ede, zone: &Name, reason: String) -> Security {
    Security::Bogus(Why::new(ede, zone, reason))
}

impl Resolver {
    /// Does root `ri` validate (it has trust anchors)?
    pub(super) fn validates(&self, ri: usize) -> bool {
        self.roots
            .get(ri)
            .is_some_and(|r| r.anchors.as_ref().is_some_and(|a| !a.is_empty()))
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
    fn learn(&self, zone: &Name, soa: &[Record], proof: &[Record], ttl: u32, now: u64) {
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
        for r in proof.iter().filter(|r| super::cache::is_denial(r)) {
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
            source: super::Source::Cache,
        })
    }

    pub fn clear(&self) {
        self.lock().clear();
    }
}

impl Resolver {
    /// RFC 8198: a negative answer for `name`/`qtype` in root `ri` proven by
    /// validated NSEC/NSEC3 records already held, if there is one (secure).
    pub(super) fn aggressive_answer(
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
