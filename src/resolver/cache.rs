//! One root's cache of what its servers said (DESIGN §4.5, §4.6).
//!
//! Each root owns one [`Cache`]; nothing is shared between roots, so a record learned
//! while resolving in one root can never answer a name routed to another. Entries are
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
//! quick_cache's (S3-FIFO-like: entries seen once go first).

use std::net::IpAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use hickory_proto::rr::{LowerName, Name, RData, Record, RecordType};

use crate::config::CacheConfig;

/// TTL of answers served stale (RFC 8767 §4 recommends 30 s).
pub const STALE_TTL: u32 = 30;

/// How much a cached RRset may be believed (RFC 2181 §5.4.1, lowest first).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Trust {
    /// Addresses from the additional section of a referral.
    Glue,
    /// The NS set of a referral (the parent's copy).
    Referral,
    /// Later links of a CNAME chain in an authoritative answer: authoritative only
    /// for the query name, so never handed to clients.
    Chained,
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
    NoData(Option<Record>),
    NxDomain(Option<Record>),
    Delegation(Delegation),
}

#[derive(Clone, Debug, Hash, PartialEq, Eq)]
pub enum Key {
    Set(LowerName, RecordType),
    NxDomain(LowerName),
    Delegation(LowerName),
}

struct Entry {
    data: Data,
    trust: Trust,
    /// Unix seconds.
    expires: u64,
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
        ttl.min(self.max).max(self.min)
    }

    /// The negative TTL of an SOA (RFC 2308 §5: min(SOA TTL, MINIMUM)).
    pub fn negative(&self, soa: &Record) -> u32 {
        let minimum = match &soa.data {
            RData::SOA(s) => s.minimum,
            _ => 0,
        };
        soa.ttl.min(minimum).min(self.negative_max).max(self.min)
    }

    /// The SOA as clients see it with a negative answer.
    pub fn negative_soa(&self, soa: &Record) -> Record {
        let mut s = soa.clone();
        s.ttl = self.negative(soa);
        s
    }
}

/// A fast hash with a per-process random seed (names come from the network).
type Hasher = foldhash::fast::RandomState;

/// What an entry costs beyond the records it holds (key, slot, Arc, expiry).
const ENTRY_OVERHEAD: u64 = 160;
/// What one record costs (hickory's `Record`, with its owner name inline).
const RECORD_BYTES: u64 = std::mem::size_of::<Record>() as u64;

#[derive(Clone)]
struct ByBytes;

impl quick_cache::Weighter<(u8, Key), Arc<Entry>> for ByBytes {
    fn weight(&self, _key: &(u8, Key), e: &Arc<Entry>) -> u64 {
        let records = match &e.data {
            Data::Records(r) => r.len() as u64,
            Data::NoData(s) | Data::NxDomain(s) => u64::from(s.is_some()),
            Data::Delegation(d) => (d.ns.len() + d.glue.len()) as u64,
        };
        ENTRY_OVERHEAD + records * RECORD_BYTES
    }
}

/// Every root's entries, bounded in bytes.
pub struct Store {
    map: quick_cache::sync::Cache<(u8, Key), Arc<Entry>, ByBytes, Hasher>,
}

impl Store {
    pub fn new(bytes: u64) -> Arc<Store> {
        let bytes = bytes.max(256 * 1024);
        Arc::new(Store {
            map: quick_cache::sync::Cache::with(
                (bytes / 512) as usize,
                bytes,
                ByBytes,
                Hasher::default(),
                Default::default(),
            ),
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
            if let Some(u) = out.get_mut(usize::from(k.0)) {
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
    pub rules: TtlRules,
}

impl Cache {
    pub fn new(store: Arc<Store>, root: usize, cfg: &CacheConfig) -> Cache {
        Cache {
            store,
            root: u8::try_from(root).unwrap_or(u8::MAX),
            used: AtomicBool::new(false),
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
        let k = (self.root, key.clone());
        let entry = self.store.map.get(&k)?;
        if entry.expires + u64::from(self.rules.stale) <= now {
            self.store.map.remove(&k);
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
            data: with_ttl(&entry.data, left),
            trust: entry.trust,
            stale,
        })
    }

    /// Stores `data` for `ttl` seconds unless better data is already there. TTL 0 is
    /// never stored (RFC 1035 §3.2.1: use only for the transaction in progress).
    pub fn put(&self, key: Key, data: Data, ttl: u32, trust: Trust, now: u64) {
        if ttl == 0 {
            return;
        }
        let mut expires = now + u64::from(ttl);
        let k = (self.root, key);
        self.used.store(true, Ordering::Relaxed);
        if let Some(old) = self.store.map.peek(&k)
            && old.expires > now
        {
            if old.trust > trust {
                return;
            }
            // A replacing NS set never extends the life of the one it replaces (the
            // "ghost domain" attack: a deleted zone kept alive by its own servers).
            if matches!(k.1, Key::Set(_, RecordType::NS) | Key::Delegation(_)) {
                expires = expires.min(old.expires);
            }
        }
        let entry = Entry {
            data,
            trust,
            expires,
        };
        self.store.map.insert(k, Arc::new(entry));
    }

    /// Stores an RRset (all records share owner and type) with the lowest TTL.
    pub fn put_rrset(&self, records: Vec<Record>, trust: Trust, now: u64) {
        let Some(first) = records.first() else {
            return;
        };
        let key = Key::Set(LowerName::new(&first.name), first.record_type());
        let ttl = self
            .rules
            .positive(records.iter().map(|r| r.ttl).min().unwrap_or(0));
        self.put(key, Data::Records(records), ttl, trust, now);
    }

    /// Stores NODATA for `rtype`, or NXDOMAIN when `rtype` is `None`. Without an SOA
    /// nothing is stored (RFC 2308 §5: "SHOULD NOT be cached").
    pub fn put_negative(
        &self,
        name: &LowerName,
        rtype: Option<RecordType>,
        soa: Option<&Record>,
        now: u64,
    ) {
        let Some(soa) = soa else { return };
        let ttl = self.rules.negative(soa);
        let soa = self.rules.negative_soa(soa);
        let (key, data) = match rtype {
            Some(t) => (Key::Set(name.clone(), t), Data::NoData(Some(soa))),
            None => (Key::NxDomain(name.clone()), Data::NxDomain(Some(soa))),
        };
        self.put(key, data, ttl, Trust::Answer, now);
    }

    /// Stores the parent side of a cut.
    pub fn put_delegation(&self, zone: &Name, d: Delegation, ttl: u32, now: u64) {
        let ttl = self.rules.positive(ttl);
        self.put(
            Key::Delegation(LowerName::new(zone)),
            Data::Delegation(d),
            ttl,
            Trust::Referral,
            now,
        );
    }

    /// Forgets this root's entries.
    pub fn clear(&self) {
        let root = self.root;
        self.store.map.retain(|k, _| k.0 != root);
        self.used.store(false, Ordering::Relaxed);
    }

    /// This root's entries (walks the store: for tests and tools).
    pub fn len(&self) -> usize {
        self.store
            .map
            .iter()
            .filter(|(k, _)| k.0 == self.root)
            .count()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

fn with_ttl(data: &Data, ttl: u32) -> Data {
    let fix = |r: &Record| {
        let mut r = r.clone();
        r.ttl = ttl;
        r
    };
    match data {
        Data::Records(rs) => Data::Records(rs.iter().map(fix).collect()),
        Data::NoData(soa) => Data::NoData(soa.as_ref().map(fix)),
        Data::NxDomain(soa) => Data::NxDomain(soa.as_ref().map(fix)),
        Data::Delegation(d) => Data::Delegation(d.clone()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use hickory_proto::rr::rdata::{A, NS, SOA};
    use std::time::Duration;

    fn cfg(_entries: usize) -> CacheConfig {
        CacheConfig {
            max_size: 1 << 20,
            max_ttl: Duration::from_secs(100),
            negative_max_ttl: Duration::from_secs(30),
            ..Default::default()
        }
    }

    fn a(name: &str, ttl: u32) -> Record {
        Record::from_rdata(
            Name::from_ascii(name).unwrap(),
            ttl,
            RData::A(A::new(192, 0, 2, 1)),
        )
    }

    fn soa(ttl: u32, minimum: u32) -> Record {
        let n = Name::from_ascii("example.").unwrap();
        Record::from_rdata(
            n.clone(),
            ttl,
            RData::SOA(SOA::new(n.clone(), n, 1, 1, 1, 1, minimum)),
        )
    }

    fn ln(s: &str) -> LowerName {
        LowerName::new(&Name::from_ascii(s).unwrap())
    }

    fn ttl_of(h: Hit) -> u32 {
        match h.data {
            Data::Records(r) => r[0].ttl,
            Data::NxDomain(Some(s)) | Data::NoData(Some(s)) => s.ttl,
            other => panic!("{other:?}"),
        }
    }

    const T0: u64 = 1_000_000;

    #[test]
    fn ttl_counts_down_with_the_wall_clock_and_expires() {
        let c = Cache::standalone(&cfg(10));
        c.put_rrset(vec![a("www.example.", 10)], Trust::Answer, T0);
        let key = Key::Set(ln("www.example."), RecordType::A);
        assert_eq!(ttl_of(c.get(&key, T0 + 4).unwrap()), 6);
        assert!(c.get(&key, T0 + 10).is_none());
    }

    #[test]
    fn ttls_are_capped_and_raised() {
        let c = Cache::standalone(&cfg(10));
        c.put_rrset(vec![a("www.example.", 1_000_000)], Trust::Answer, T0);
        let key = Key::Set(ln("www.example."), RecordType::A);
        assert_eq!(ttl_of(c.get(&key, T0).unwrap()), 100);
        // SOA TTL 600, MINIMUM 20 → 20; a MINIMUM over the cap → 30.
        c.put_negative(&ln("a.example."), None, Some(&soa(600, 20)), T0);
        c.put_negative(&ln("b.example."), None, Some(&soa(600, 900)), T0);
        assert_eq!(
            ttl_of(c.get(&Key::NxDomain(ln("a.example.")), T0).unwrap()),
            20
        );
        assert_eq!(
            ttl_of(c.get(&Key::NxDomain(ln("b.example.")), T0).unwrap()),
            30
        );
        // TTL 0 is not stored; with min-ttl 5 it is, for 5 s.
        c.put_rrset(vec![a("zero.example.", 0)], Trust::Answer, T0);
        assert!(
            c.get(&Key::Set(ln("zero.example."), RecordType::A), T0)
                .is_none()
        );
        let c = Cache::standalone(&CacheConfig {
            min_ttl: Duration::from_secs(5),
            ..cfg(10)
        });
        c.put_rrset(vec![a("zero.example.", 0)], Trust::Answer, T0);
        let key = Key::Set(ln("zero.example."), RecordType::A);
        assert_eq!(ttl_of(c.get(&key, T0).unwrap()), 5);
        assert!(c.get(&key, T0 + 5).is_none());
    }

    #[test]
    fn glue_never_overwrites_an_answer() {
        let c = Cache::standalone(&cfg(2));
        c.put_rrset(vec![a("ns.example.", 50)], Trust::Answer, T0);
        c.put_rrset(vec![a("ns.example.", 50)], Trust::Glue, T0);
        let key = Key::Set(ln("ns.example."), RecordType::A);
        assert_eq!(c.get(&key, T0).unwrap().trust, Trust::Answer);
    }

    // The bound is in bytes, for all roots together; each root clears only its own.
    #[test]
    fn bounded_in_bytes_across_roots() {
        let store = Store::new(256 * 1024);
        let config = cfg(0);
        let (one, two) = (
            Cache::new(store.clone(), 0, &config),
            Cache::new(store.clone(), 1, &config),
        );
        for i in 0..5_000 {
            one.put_rrset(vec![a(&format!("n{i}.example."), 50)], Trust::Answer, T0);
        }
        assert!(store.weight() <= 256 * 1024, "{}", store.weight());
        assert!(one.len() < 5_000 && one.len() > 100, "{}", one.len());
        two.put_rrset(vec![a("two.example.", 50)], Trust::Answer, T0);
        one.clear();
        assert_eq!(one.len(), 0);
        assert_eq!(two.len(), 1);
    }

    #[test]
    fn stale_entries_only_for_get_stale_within_the_window() {
        let c = Cache::standalone(&CacheConfig {
            serve_stale: Duration::from_secs(60),
            ..cfg(10)
        });
        c.put_rrset(vec![a("www.example.", 10)], Trust::Answer, T0);
        let key = Key::Set(ln("www.example."), RecordType::A);
        assert!(c.get_stale(&key, T0 + 5).is_none(), "fresh is not stale");
        assert!(c.get(&key, T0 + 20).is_none());
        let h = c.get_stale(&key, T0 + 20).unwrap();
        assert!(h.stale);
        assert_eq!(ttl_of(h), STALE_TTL);
        assert!(c.get_stale(&key, T0 + 70).is_none(), "past the window");
        // Without serve-stale nothing is kept past expiry.
        let c = Cache::standalone(&cfg(10));
        c.put_rrset(vec![a("www.example.", 10)], Trust::Answer, T0);
        assert!(c.get_stale(&key, T0 + 20).is_none());
    }

    #[test]
    fn a_replacing_ns_set_never_lives_longer() {
        let c = Cache::standalone(&cfg(10));
        let ns = |ttl| {
            Record::from_rdata(
                Name::from_ascii("ghost.example.").unwrap(),
                ttl,
                RData::NS(NS(Name::from_ascii("ns.ghost.example.").unwrap())),
            )
        };
        c.put_rrset(vec![ns(50)], Trust::Referral, T0);
        c.put_rrset(vec![ns(100)], Trust::Answer, T0 + 40);
        let key = Key::Set(ln("ghost.example."), RecordType::NS);
        assert_eq!(ttl_of(c.get(&key, T0 + 40).unwrap()), 10);
        assert!(c.get(&key, T0 + 50).is_none());
    }
}
