//! One root's cache of what its servers said (DESIGN §4.5, §4.6).
//!
//! Each root has its own [`Cache`]: every entry is filed under its root, so a record
//! learned while resolving in one root can never answer a name routed to another.
//! Entries are
//! RRsets, NODATA for a name and type, NXDOMAIN for a name (RFC 2308, TTL from the
//! SOA that came with it), and the parent side of delegations (the NS names and glue
//! a referral gave, kept apart from the child's own NS set so that either can stand
//! in when the other's servers fail).
//!
//! Entries carry a [`Trust`] (RFC 2181 §5.4.1): glue and referral NS sets help
//! iteration but are never handed to clients, and never overwrite better data.
//! Expiry follows the wall clock (Unix seconds passed in by the caller). Past expiry
//! an entry is kept for the `serve-stale` window, for [`Cache::get_stale`] only.
//!
//! All roots' caches live in one [`Store`] bounded in bytes (three quarters of
//! `[cache] max-size`), each entry filed under its root: a busy root may use what
//! the quiet ones do not, and the bound holds for the whole process. Eviction is
//! quick_cache's (S3-FIFO-like: entries seen once go first). Entries are kept in
//! wire form ([`compact`]): a cached A record costs about 170 bytes, not 700.

use std::net::IpAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use hickory_proto::rr::{LowerName, Name, RData, Record, RecordType};

use crate::config::CacheConfig;

mod compact;
mod entry;
pub use compact::is_denial;
use entry::{Entry, Stored};

/// TTL of answers served stale (RFC 8767 §4 recommends 30 s).
pub const STALE_TTL: u32 = 30;

/// How much a cached RRset may be believed (RFC 2181 §5.4.1, lowest first).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Trust {
    /// Addresses from the additional section of a referral.
    Glue,
    /// The NS set of a referral (the parent's copy).
    Referral,
    /// The zone's own NS set from the authority section of its server's answer
    /// (and addresses that came with it): the child's side, for iteration only
    /// (RFC 2181 §5.4.1 ranks it below answer data).
    Authority,
    /// The answer section (or a negative answer) of a reply without AA from a
    /// server asked about the zone: handed to clients, replaced by authoritative
    /// data (RFC 2181 §5.4.1 ranks it below).
    NonAuth,
    /// The answer section of an authoritative (or forwarder's) reply.
    Answer,
}

/// The parent side of a zone cut: the NS names a referral gave, and the glue.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Delegation {
    pub ns: Vec<Name>,
    pub glue: Vec<(Name, IpAddr)>,
}

#[derive(Clone, Debug)]
pub enum Data {
    Records(Vec<Record>),
    /// NODATA: the SOA, and the proof that came with it (the SOA's RRSIGs, NSEC
    /// or NSEC3 records and theirs), handed to DNSSEC-aware clients.
    NoData(Option<Record>, Vec<Record>),
    /// NXDOMAIN, as [`Data::NoData`].
    NxDomain(Option<Record>, Vec<Record>),
    Delegation(Delegation),
}

#[derive(Clone, Debug, Hash, PartialEq, Eq)]
pub enum Key {
    Set(LowerName, RecordType),
    NxDomain(LowerName),
    Delegation(LowerName),
}

impl Key {
    fn parts(&self) -> (u8, u16, &LowerName) {
        match self {
            Key::Set(n, t) => (compact::SET, u16::from(*t), n),
            Key::NxDomain(n) => (compact::NXDOMAIN, 0, n),
            Key::Delegation(n) => (compact::DELEGATION, 0, n),
        }
    }
}

/// A hit: the data with TTLs lowered to what is left (or [`STALE_TTL`] when stale).
#[derive(Clone, Debug)]
pub struct Hit {
    pub data: Data,
    pub trust: Trust,
    pub stale: bool,
}

/// How TTLs are clamped, for the cache and for clients alike (so a first answer
/// looks like every cached one after it).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TtlRules {
    pub min: u32,
    pub max: u32,
    pub negative_max: u32,
    /// Seconds past expiry an entry may still be served stale (0: never).
    pub stale: u32,
}

impl TtlRules {
    pub fn new(cfg: &CacheConfig) -> TtlRules {
        let secs = |d: std::time::Duration| u32::try_from(d.as_secs()).unwrap_or(u32::MAX);
        TtlRules {
            min: secs(cfg.min_ttl),
            max: secs(cfg.max_ttl),
            negative_max: secs(cfg.negative_max_ttl),
            stale: secs(cfg.serve_stale),
        }
    }

    /// A positive TTL as served and cached.
    pub fn positive(&self, ttl: u32) -> u32 {
        sane(ttl).min(self.max).max(self.min)
    }

    /// The negative TTL of an SOA (RFC 2308 §5: min(SOA TTL, MINIMUM)).
    pub fn negative(&self, soa: &Record) -> u32 {
        let minimum = match &soa.data {
            RData::SOA(s) => s.minimum,
            _ => 0,
        };
        sane(soa.ttl)
            .min(sane(minimum))
            .min(self.negative_max)
            .max(self.min)
    }

    /// The SOA as clients see it with a negative answer.
    pub fn negative_soa(&self, soa: &Record) -> Record {
        let mut s = soa.clone();
        s.ttl = self.negative(soa);
        s
    }
}

/// A TTL as received: one with the top bit set is zero (RFC 2181 §8: a TTL is
/// at most 2^31 - 1; a larger value "should be treated as if the entire value
/// received was zero"), not the largest TTL there is.
pub fn sane(ttl: u32) -> u32 {
    if ttl & 0x8000_0000 != 0 { 0 } else { ttl }
}

/// What an entry costs beyond its own bytes (the Arc, the map slot, allocators).
const OVERHEAD: u64 = 48;

#[derive(Clone)]
struct ByBytes;

impl quick_cache::Weighter<u64, Arc<Entry>> for ByBytes {
    fn weight(&self, _key: &u64, e: &Arc<Entry>) -> u64 {
        e.bytes() as u64 + OVERHEAD
    }
}

/// Every root's entries, bounded in bytes.
pub struct Store {
    map: quick_cache::sync::Cache<u64, Arc<Entry>, ByBytes, compact::Hasher>,
    hasher: compact::Hasher,
}

impl Store {
    pub fn new(bytes: u64) -> Arc<Store> {
        let bytes = bytes.max(256 * 1024);
        Arc::new(Store {
            map: quick_cache::sync::Cache::with(
                (bytes / 192) as usize,
                bytes,
                ByBytes,
                compact::Hasher::default(),
                Default::default(),
            ),
            hasher: compact::Hasher::default(),
        })
    }

    /// Bytes held now.
    pub fn weight(&self) -> u64 {
        self.map.weight()
    }

    /// Entries and bytes per root index, for metrics. Walks the whole store (about
    /// 0.1 s per million entries), so it is for scrapes, never for queries.
    pub fn usage(&self, roots: usize) -> Vec<(u64, u64)> {
        let mut out = vec![(0, 0); roots];
        for (k, e) in self.map.iter() {
            if let Some(u) = out.get_mut(usize::from(e.root)) {
                u.0 += 1;
                u.1 += quick_cache::Weighter::weight(&ByBytes, &k, &e);
            }
        }
        out
    }
}

/// One root's view of the store.
pub struct Cache {
    store: Arc<Store>,
    root: u8,
    /// False until something is stored (and again after `clear`): lets the roots
    /// that rarely cache anything (zones roots) skip the lookup.
    used: AtomicBool,
    /// True once a DNAME is stored (until `clear`): only then are a name's
    /// ancestors looked up for one.
    dnames: AtomicBool,
    /// Moves on with every `clear`: writes on behalf of a resolution that started
    /// before it are dropped ([`Cache::writer`]).
    generation: AtomicU64,
    pub rules: TtlRules,
}

/// Writes into a cache on behalf of a resolution that started at `generation`:
/// dropped once the cache has been emptied since (a reload), also when the
/// emptying happens in the middle of a write.
pub struct Writer<'a> {
    cache: &'a Cache,
    generation: u64,
}

impl Writer<'_> {
    /// Stores an RRset (all records share owner and type) with the lowest TTL.
    pub fn put_rrset(&self, records: Vec<Record>, trust: Trust, now: u64) {
        let Some(first) = records.first() else {
            return;
        };
        let c = self.cache;
        let key = Key::Set(LowerName::new(&first.name), first.record_type());
        let ttl = c
            .rules
            .positive(records.iter().map(|r| r.ttl).min().unwrap_or(0));
        c.put_at(
            key,
            Data::Records(records),
            ttl,
            trust,
            now,
            self.generation,
        );
    }

    /// Stores NODATA for `rtype`, or NXDOMAIN when `rtype` is `None`, with the
    /// proof that came with it (kept as long as the SOA). Without an SOA nothing is
    /// stored (RFC 2308 §5: "SHOULD NOT be cached").
    pub fn put_negative(
        &self,
        name: &LowerName,
        rtype: Option<RecordType>,
        soa: Option<&Record>,
        proof: &[Record],
        trust: Trust,
        now: u64,
    ) {
        let Some(soa) = soa else { return };
        let c = self.cache;
        let ttl = c.rules.negative(soa);
        let soa = c.rules.negative_soa(soa);
        let proof = proof.to_vec();
        let (key, data) = match rtype {
            Some(t) => (Key::Set(name.clone(), t), Data::NoData(Some(soa), proof)),
            None => (
                Key::NxDomain(name.clone()),
                Data::NxDomain(Some(soa), proof),
            ),
        };
        c.put_at(key, data, ttl, trust, now, self.generation);
    }

    /// Stores the parent side of a cut.
    pub fn put_delegation(&self, zone: &Name, d: Delegation, ttl: u32, now: u64) {
        let c = self.cache;
        let ttl = c.rules.positive(ttl);
        c.put_at(
            Key::Delegation(LowerName::new(zone)),
            Data::Delegation(d),
            ttl,
            Trust::Referral,
            now,
            self.generation,
        );
    }
}

impl Cache {
    pub fn new(store: Arc<Store>, root: usize, cfg: &CacheConfig) -> Cache {
        Cache {
            store,
            root: u8::try_from(root).unwrap_or(u8::MAX),
            used: AtomicBool::new(false),
            dnames: AtomicBool::new(false),
            generation: AtomicU64::new(0),
            rules: TtlRules::new(cfg),
        }
    }

    /// The store this root's entries live in (shared by every root).
    pub fn store(&self) -> &Arc<Store> {
        &self.store
    }

    /// A cache with a store of its own (tests, tools).
    pub fn standalone(cfg: &CacheConfig) -> Cache {
        Cache::new(Store::new(cfg.max_size), 0, cfg)
    }

    fn find(&self, key: &Key) -> Option<(u64, Arc<Entry>)> {
        let (kind, rtype, name) = key.parts();
        let h = compact::hash(&self.store.hasher, self.root, kind, rtype, name);
        let e = self.store.map.get(&h)?;
        e.is(self.root, kind, rtype, name).then_some((h, e))
    }

    /// Is there a fresh entry? (Without decoding it, as [`Cache::get`] does.)
    pub fn has(&self, key: &Key, now: u64) -> bool {
        self.used.load(Ordering::Relaxed) && self.find(key).is_some_and(|(_, e)| e.expires > now)
    }

    /// When a fresh entry expires (Unix seconds).
    pub fn expires(&self, key: &Key, now: u64) -> Option<u64> {
        if !self.used.load(Ordering::Relaxed) {
            return None;
        }
        self.find(key).map(|(_, e)| e.expires).filter(|&t| t > now)
    }

    /// A fresh entry.
    pub fn get(&self, key: &Key, now: u64) -> Option<Hit> {
        self.lookup(key, now, false)
    }

    /// An entry past its expiry but inside the serve-stale window, with TTL 30.
    pub fn get_stale(&self, key: &Key, now: u64) -> Option<Hit> {
        if self.rules.stale == 0 {
            return None;
        }
        self.lookup(key, now, true)
    }

    fn lookup(&self, key: &Key, now: u64, stale: bool) -> Option<Hit> {
        if !self.used.load(Ordering::Relaxed) {
            return None;
        }
        let (h, entry) = self.find(key)?;
        if entry.expires + u64::from(self.rules.stale) <= now {
            self.store.map.remove(&h);
            return None;
        }
        let fresh = entry.expires > now;
        if fresh == stale {
            return None;
        }
        let left = if fresh {
            u32::try_from(entry.expires - now).unwrap_or(u32::MAX)
        } else {
            STALE_TTL
        };
        Some(Hit {
            data: entry.data(left),
            trust: entry.trust,
            stale,
        })
    }

    /// The generation now (see [`Cache::writer`]).
    pub fn generation(&self) -> u64 {
        self.generation.load(Ordering::SeqCst)
    }

    /// Writes for a resolution that started at `generation`.
    pub fn writer(&self, generation: u64) -> Writer<'_> {
        Writer {
            cache: self,
            generation,
        }
    }

    /// Stores `data` for `ttl` seconds unless better data is already there. TTL 0 is
    /// never stored (RFC 1035 §3.2.1: use only for the transaction in progress).
    pub fn put(&self, key: Key, data: Data, ttl: u32, trust: Trust, now: u64) {
        self.put_at(key, data, ttl, trust, now, self.generation())
    }

    fn put_at(&self, key: Key, data: Data, ttl: u32, trust: Trust, now: u64, generation: u64) {
        let current = || self.generation.load(Ordering::SeqCst) == generation;
        if ttl == 0 || !current() {
            return;
        }
        let mut expires = now + u64::from(ttl);
        self.used.store(true, Ordering::Relaxed);
        if matches!(key, Key::Set(_, RecordType::DNAME)) {
            self.dnames.store(true, Ordering::Relaxed);
        }
        if let Some((_, old)) = self.find(&key)
            && old.expires > now
        {
            if old.trust > trust {
                return;
            }
            // A replacing NS set never extends the life of the one it replaces (the
            // "ghost domain" attack: a deleted zone kept alive by its own servers).
            if matches!(key, Key::Set(_, RecordType::NS) | Key::Delegation(_)) {
                expires = expires.min(old.expires);
            }
        }
        let neg = |soa: Option<Record>, proof: Vec<Record>| {
            let all: Vec<Record> = soa.into_iter().chain(proof).collect();
            (!all.is_empty())
                .then(|| compact::encode_records(&all))
                .flatten()
        };
        let (data, stored) = match data {
            Data::Records(rs) => match compact::encode_set(&rs) {
                Some(b) => (Some(b), Stored::Set),
                None => return,
            },
            Data::NoData(s, p) => (neg(s, p), Stored::NoData),
            Data::NxDomain(s, p) => (neg(s, p), Stored::NxDomain),
            Data::Delegation(d) => (None, Stored::Delegation(Box::new(d))),
        };
        let (kind, rtype, name) = key.parts();
        let h = compact::hash(&self.store.hasher, self.root, kind, rtype, name);
        let Some(entry) = Entry::new((self.root, kind, rtype), name, data, stored, trust, expires)
        else {
            return;
        };
        self.store.map.insert(h, Arc::new(entry));
        // Emptied meanwhile: `clear` moves the generation on before it empties, so
        // this write either went before the emptying or is taken back here.
        if !current() {
            self.store.map.remove(&h);
        }
    }

    /// Stores an RRset now (see [`Writer::put_rrset`]).
    pub fn put_rrset(&self, records: Vec<Record>, trust: Trust, now: u64) {
        self.writer(self.generation())
            .put_rrset(records, trust, now)
    }

    /// Stores a negative answer now (see [`Writer::put_negative`]).
    pub fn put_negative(
        &self,
        name: &LowerName,
        rtype: Option<RecordType>,
        soa: Option<&Record>,
        proof: &[Record],
        trust: Trust,
        now: u64,
    ) {
        self.writer(self.generation())
            .put_negative(name, rtype, soa, proof, trust, now)
    }

    /// Stores the parent side of a cut now (see [`Writer::put_delegation`]).
    pub fn put_delegation(&self, zone: &Name, d: Delegation, ttl: u32, now: u64) {
        self.writer(self.generation())
            .put_delegation(zone, d, ttl, now)
    }

    /// Forgets this root's entries.
    pub fn clear(&self) {
        self.generation.fetch_add(1, Ordering::SeqCst);
        let root = self.root;
        self.store.map.retain(|_, e| e.root != root);
        self.used.store(false, Ordering::Relaxed);
        self.dnames.store(false, Ordering::Relaxed);
    }

    /// Has a DNAME been stored (since the last `clear`)?
    pub fn holds_dnames(&self) -> bool {
        self.dnames.load(Ordering::Relaxed)
    }

    /// This root's entries (walks the store: for tests and tools).
    pub fn len(&self) -> usize {
        self.store
            .map
            .iter()
            .filter(|(_, e)| e.root == self.root)
            .count()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests;
