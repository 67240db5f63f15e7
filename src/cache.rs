//! The per-root cache of what upstream servers said (DESIGN §4.5, §4.6).
//!
//! Each root owns one [`Cache`]; nothing is shared between roots, so a record learned
//! while resolving in one root can never answer a name routed to another.
//! Entries are RRsets, NODATA for a name and type, or NXDOMAIN for a name (RFC 2308,
//! with the TTL taken from the SOA that came with the negative answer). Entries carry
//! a [`Trust`] level so that glue and referral NS sets help iteration but are never
//! handed to clients as answers, and never overwrite an authoritative answer.
//! The cache is an LRU bounded by `max-entries`; TTLs are capped by `max-ttl` and
//! `negative-max-ttl`. Time is `tokio::time::Instant`, so tests can pause it.

use std::num::NonZeroUsize;
use std::sync::Mutex;
use std::time::Duration;

use hickory_proto::rr::{LowerName, Record, RecordType};
use lru::LruCache;
use tokio::time::Instant;

use crate::config::CacheConfig;

/// How much a cached RRset may be believed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Trust {
    /// Addresses from the additional section of a referral.
    Glue,
    /// The NS set of a referral (the parent's copy).
    Referral,
    /// Later links of a CNAME chain in an authoritative answer: authoritative only
    /// for the query name (RFC 2181 §5.4.1), so never handed to clients.
    Chained,
    /// The answer section of an authoritative (or forwarder's) reply.
    Answer,
}

#[derive(Clone, Debug)]
pub enum Data {
    Records(Vec<Record>),
    NoData(Option<Record>),
    NxDomain(Option<Record>),
}

#[derive(Clone, Debug, Hash, PartialEq, Eq)]
struct Key {
    name: LowerName,
    /// `None` is the name-wide NXDOMAIN entry.
    rtype: Option<RecordType>,
}

struct Entry {
    data: Data,
    trust: Trust,
    expires: Instant,
}

pub struct Cache {
    inner: Mutex<LruCache<Key, Entry>>,
    /// False until something is stored (and again after `clear`): lets the roots
    /// that rarely cache anything (zones roots) skip the lock.
    used: std::sync::atomic::AtomicBool,
    max_ttl: u32,
    negative_max_ttl: u32,
}

/// A hit: the data with TTLs lowered by the time spent in the cache.
#[derive(Clone, Debug)]
pub struct Hit {
    pub data: Data,
    pub trust: Trust,
}

impl Cache {
    pub fn new(cfg: &CacheConfig) -> Cache {
        let cap = NonZeroUsize::new(cfg.max_entries.max(1)).unwrap_or(NonZeroUsize::MIN);
        Cache {
            inner: Mutex::new(LruCache::new(cap)),
            used: std::sync::atomic::AtomicBool::new(false),
            max_ttl: secs(cfg.max_ttl),
            negative_max_ttl: secs(cfg.negative_max_ttl),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, LruCache<Key, Entry>> {
        // A panic while holding this lock cannot leave an entry half-written, so a
        // poisoned lock is still safe to use.
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn get(&self, key: &Key) -> Option<Hit> {
        if !self.used.load(std::sync::atomic::Ordering::Relaxed) {
            return None;
        }
        let now = Instant::now();
        let mut map = self.lock();
        let entry = map.get(key)?;
        if entry.expires <= now {
            map.pop(key);
            return None;
        }
        let left = (entry.expires - now).as_secs() as u32;
        let fix = |r: &Record| {
            let mut r = r.clone();
            r.ttl = left;
            r
        };
        let data = match &entry.data {
            Data::Records(rs) => Data::Records(rs.iter().map(fix).collect()),
            Data::NoData(soa) => Data::NoData(soa.as_ref().map(fix)),
            Data::NxDomain(soa) => Data::NxDomain(soa.as_ref().map(fix)),
        };
        Some(Hit {
            data,
            trust: entry.trust,
        })
    }

    /// The RRset (or NODATA) for a name and type.
    pub fn get_rrset(&self, name: &LowerName, rtype: RecordType) -> Option<Hit> {
        self.get(&Key {
            name: name.clone(),
            rtype: Some(rtype),
        })
    }

    /// The NXDOMAIN entry for a name.
    pub fn get_nxdomain(&self, name: &LowerName) -> Option<Hit> {
        self.get(&Key {
            name: name.clone(),
            rtype: None,
        })
    }

    fn put(&self, key: Key, data: Data, ttl: u32, trust: Trust) {
        if ttl == 0 {
            return;
        }
        let expires = Instant::now() + Duration::from_secs(u64::from(ttl));
        let mut map = self.lock();
        self.used.store(true, std::sync::atomic::Ordering::Relaxed);
        if let Some(old) = map.peek(&key)
            && old.trust > trust
            && old.expires > Instant::now()
        {
            return;
        }
        map.put(
            key,
            Entry {
                data,
                trust,
                expires,
            },
        );
    }

    /// A positive TTL as this cache would keep it (capped at `max-ttl`).
    pub fn cap_ttl(&self, ttl: u32) -> u32 {
        ttl.min(self.max_ttl)
    }

    /// Stores an RRset (all records share owner and type).
    pub fn put_rrset(&self, records: Vec<Record>, trust: Trust) {
        let Some(first) = records.first() else {
            return;
        };
        let key = Key {
            name: LowerName::new(&first.name),
            rtype: Some(first.record_type()),
        };
        let ttl = records
            .iter()
            .map(|r| r.ttl)
            .min()
            .unwrap_or(0)
            .min(self.max_ttl);
        self.put(key, Data::Records(records), ttl, trust);
    }

    /// Stores a NODATA answer, or an NXDOMAIN when `rtype` is `None`. Returns the SOA
    /// as clients should see it: TTL lowered to the negative TTL.
    pub fn put_negative(
        &self,
        name: &LowerName,
        rtype: Option<RecordType>,
        soa: Option<Record>,
    ) -> Option<Record> {
        // RFC 2308 §5: the negative TTL is min(SOA TTL, SOA MINIMUM); with no SOA the
        // answer is not cached at all (§5: "SHOULD NOT be cached").
        let soa = soa?;
        let minimum = match &soa.data {
            hickory_proto::rr::RData::SOA(s) => s.minimum,
            _ => 0,
        };
        let ttl = soa.ttl.min(minimum).min(self.negative_max_ttl);
        let mut soa = soa;
        soa.ttl = ttl;
        let data = match rtype {
            Some(_) => Data::NoData(Some(soa.clone())),
            None => Data::NxDomain(Some(soa.clone())),
        };
        self.put(
            Key {
                name: name.clone(),
                rtype,
            },
            data,
            ttl,
            Trust::Answer,
        );
        Some(soa)
    }

    pub fn clear(&self) {
        let mut map = self.lock();
        map.clear();
        self.used.store(false, std::sync::atomic::Ordering::Relaxed);
    }

    pub fn len(&self) -> usize {
        self.lock().len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

fn secs(d: Duration) -> u32 {
    u32::try_from(d.as_secs()).unwrap_or(u32::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;
    use hickory_proto::rr::rdata::{A, SOA};
    use hickory_proto::rr::{Name, RData};

    fn cfg(n: usize) -> CacheConfig {
        CacheConfig {
            max_entries: n,
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

    #[tokio::test(start_paused = true)]
    async fn ttl_counts_down_and_expires() {
        let c = Cache::new(&cfg(10));
        c.put_rrset(vec![a("www.example.", 10)], Trust::Answer);
        tokio::time::advance(Duration::from_secs(4)).await;
        match c
            .get_rrset(&ln("www.example."), RecordType::A)
            .unwrap()
            .data
        {
            Data::Records(r) => assert_eq!(r[0].ttl, 6),
            other => panic!("{other:?}"),
        }
        tokio::time::advance(Duration::from_secs(6)).await;
        assert!(c.get_rrset(&ln("www.example."), RecordType::A).is_none());
    }

    #[tokio::test(start_paused = true)]
    async fn ttls_are_capped() {
        let c = Cache::new(&cfg(10));
        c.put_rrset(vec![a("www.example.", 1_000_000)], Trust::Answer);
        match c
            .get_rrset(&ln("www.example."), RecordType::A)
            .unwrap()
            .data
        {
            Data::Records(r) => assert_eq!(r[0].ttl, 100),
            other => panic!("{other:?}"),
        }
        // SOA TTL 600, MINIMUM 20 → 20; a MINIMUM over the cap → 30.
        c.put_negative(&ln("a.example."), None, Some(soa(600, 20)));
        c.put_negative(&ln("b.example."), None, Some(soa(600, 900)));
        let ttl = |n: &str| match c.get_nxdomain(&ln(n)).unwrap().data {
            Data::NxDomain(Some(s)) => s.ttl,
            other => panic!("{other:?}"),
        };
        assert_eq!(ttl("a.example."), 20);
        assert_eq!(ttl("b.example."), 30);
    }

    #[tokio::test(start_paused = true)]
    async fn glue_never_overwrites_an_answer_and_lru_bounds() {
        let c = Cache::new(&cfg(2));
        c.put_rrset(vec![a("ns.example.", 50)], Trust::Answer);
        c.put_rrset(vec![a("ns.example.", 50)], Trust::Glue);
        assert_eq!(
            c.get_rrset(&ln("ns.example."), RecordType::A)
                .unwrap()
                .trust,
            Trust::Answer
        );
        c.put_rrset(vec![a("b.example.", 50)], Trust::Answer);
        c.put_rrset(vec![a("c.example.", 50)], Trust::Answer);
        assert_eq!(c.len(), 2);
        assert!(c.get_rrset(&ln("ns.example."), RecordType::A).is_none());
    }
}
