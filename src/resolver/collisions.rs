//! Collision findings: which roots have a TLD, as the background checks and
//! routing learn it — bounded (LRU) and forgotten on reload; and the first-come
//! choice among the roots that have one ([`super::since`]).

use std::num::NonZeroUsize;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use hickory_proto::rr::{LowerName, Name};
use lru::LruCache;

use super::iter::Kind;
use super::{Resolver, Snapshot, since};

/// TLDs whose collision findings are remembered (LRU).
pub(super) const COLLISION_TLDS: usize = 10_000;
/// Background collision checks running at once.
const MAX_CHECKS: usize = 16;
#[derive(Clone, Debug)]
pub(super) enum Seen {
    Checking,
    /// The roots that have the TLD, in order.
    Known(Vec<usize>),
    RetryAfter(u64),
}

/// Collision findings by TLD: bounded, forgotten on reload.
pub struct Collisions {
    map: Mutex<LruCache<LowerName, Seen>>,
    pub(super) running: AtomicUsize,
}

impl Default for Collisions {
    fn default() -> Self {
        Collisions {
            map: Mutex::new(LruCache::new(
                NonZeroUsize::new(COLLISION_TLDS).unwrap_or(NonZeroUsize::MIN),
            )),
            running: AtomicUsize::new(0),
        }
    }
}

impl Collisions {
    pub(super) fn lock(&self) -> std::sync::MutexGuard<'_, LruCache<LowerName, Seen>> {
        self.map.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub fn forget(&self) {
        self.lock().clear();
    }

    /// Starts a check unless one ran, runs, or failed recently. True: go ahead.
    pub(super) fn begin(&self, tld: &LowerName, now: u64) -> bool {
        let mut map = self.lock();
        match map.peek(tld) {
            Some(Seen::Checking | Seen::Known(_)) => return false,
            Some(Seen::RetryAfter(t)) if now < *t => return false,
            _ => {}
        }
        if self.running.load(Ordering::Relaxed) >= MAX_CHECKS {
            return false;
        }
        self.running.fetch_add(1, Ordering::Relaxed);
        map.put(tld.clone(), Seen::Checking);
        true
    }

    pub(super) fn end(&self, tld: LowerName, seen: Seen) {
        self.running.fetch_sub(1, Ordering::Relaxed);
        self.record(tld, seen);
    }

    /// Records a finding; true when it is news (not known before).
    pub(super) fn record(&self, tld: LowerName, seen: Seen) -> bool {
        let mut map = self.lock();
        let news = !matches!(map.peek(&tld), Some(Seen::Known(_)));
        map.put(tld, seen);
        news
    }
}

impl Resolver {
    /// Root `i`'s claim date on `tld` ([`since`]): the config's `since`, the
    /// history, or a zones root's SOA serial read as a date.
    pub fn claim_date(
        &self,
        snap: &Snapshot,
        i: usize,
        tld: &LowerName,
    ) -> Option<since::ClaimDate> {
        if let Some(d) = self.dates.configured(i, tld) {
            return Some(d);
        }
        if !matches!(self.roots.get(i)?.kind, Kind::Zones) {
            return None;
        }
        let set = snap.get(i)?.as_ref()?;
        let zone = set
            .get(tld)
            .or_else(|| set.get(&LowerName::new(&Name::root())))?;
        let serial = zone.serial();
        Some(since::ClaimDate {
            date: since::Date::from_serial(serial)?,
            source: since::Source::Serial(serial),
        })
    }

    /// The first-come winner among the roots `having` the TLD (in root order),
    /// and the words saying which dates decided.
    pub fn first_come(
        &self,
        snap: &Snapshot,
        tld: &LowerName,
        having: &[usize],
    ) -> (usize, String) {
        let dated: Vec<(usize, Option<since::ClaimDate>)> = having
            .iter()
            .map(|&i| (i, self.claim_date(snap, i, tld)))
            .collect();
        let names: Vec<String> = self.roots.iter().map(|r| r.name.clone()).collect();
        since::pick(&dated, &names)
    }

    /// [`Resolver::first_come`] on the zones served now.
    pub fn first_come_now(&self, tld: &LowerName, having: &[usize]) -> (usize, String) {
        let snap = self.zones.load();
        self.first_come(&snap, tld, having)
    }
}
