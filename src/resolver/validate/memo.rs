//! Link outcomes already validated, remembered per root.

use std::hash::{BuildHasher, Hash, Hasher};
use std::num::NonZeroUsize;
use std::sync::Mutex;

use hickory_proto::rr::{LowerName, Name, Record, RecordType};
use lru::LruCache;

use super::super::iter::Outcome;
use crate::dnssec::Security;

/// Validated link outcomes remembered per root.
const MEMO_ENTRIES: usize = 100_000;

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
    pub(super) fn key(&self, name: &Name, qtype: RecordType, o: &Outcome) -> u64 {
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

    pub(super) fn get(&self, key: u64, now: u64) -> Option<Security> {
        let mut m = self.map.lock().unwrap_or_else(|p| p.into_inner());
        match m.get(&key) {
            Some((s, until)) if *until > now => Some(s.clone()),
            _ => None,
        }
    }

    pub(super) fn put(&self, key: u64, security: Security, ttl: u32, now: u64) {
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
