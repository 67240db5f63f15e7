//! Counters for the metrics endpoint and the status page, kept without shared
//! writes on the answer path.
//!
//! Every thread that counts gets a shard of its own: a flat array of `AtomicU64`
//! that only that thread writes (a plain load and store, no locked instruction,
//! no cache line shared with another writer). A scrape sums the shards. The
//! dimensions are small fixed sets indexed by number — the root (or `local`,
//! `interrupt`, `none`), the protocol, where the answer came from, the rcode, a
//! bucket of the query type, the failure's code — so a query costs four
//! increments and no allocation. This module knows none of the resolver's types:
//! callers map their values to slots ([`labels`] has the label of every slot).
//!
//! Around the counters: per-root health (the last upstream reply, the last failed
//! answer and why) and the queries-per-root series the status page charts
//! ([`series`]).

pub mod labels;
pub mod series;
mod snapshot;

pub use snapshot::Snapshot;

use std::cell::RefCell;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use labels::{
    LIMITS, PROTOCOLS, QTYPES, RCODES, REASONS, RTT_BUCKETS, SECURITY, SOURCES, UPSTREAM,
};

//------------ Layout -----------------------------------------------------------

/// Where each counter family starts in a shard.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Layout {
    pub(crate) roots: usize,
    /// `roots` + `local`, `interrupt`, `none`.
    pub(crate) routes: usize,
    pub(crate) queries: usize,
    pub(crate) rcodes: usize,
    pub(crate) qtypes: usize,
    pub(crate) failures: usize,
    pub(crate) limits: usize,
    pub(crate) upstream: usize,
    pub(crate) rtt: usize,
    pub(crate) rtt_sum: usize,
    pub(crate) dnssec: usize,
    pub(crate) last_ok: usize,
    pub(crate) len: usize,
}

impl Layout {
    fn new(roots: usize) -> Layout {
        let routes = roots + 3;
        let queries = 0;
        let rcodes = queries + routes * PROTOCOLS.len() * SOURCES.len();
        let qtypes = rcodes + routes * RCODES;
        let failures = qtypes + QTYPES.len() + 1;
        let limits = failures + routes * REASONS.len();
        let upstream = limits + LIMITS.len();
        let rtt = upstream + roots * UPSTREAM.len();
        let rtt_sum = rtt + roots * (RTT_BUCKETS.len() + 1);
        let dnssec = rtt_sum + roots;
        let last_ok = dnssec + roots * SECURITY.len();
        Layout {
            roots,
            routes,
            queries,
            rcodes,
            qtypes,
            failures,
            limits,
            upstream,
            rtt,
            rtt_sum,
            dnssec,
            last_ok,
            len: last_ok + roots,
        }
    }
}

/// Cells before and after a shard's counters, so two shards' counters never share
/// a cache line even when their allocations are neighbours.
const PAD: usize = 8;

struct Shard {
    cells: Box<[AtomicU64]>,
    /// Written by one thread only (its owner): plain load and store suffice.
    owned: bool,
}

impl Shard {
    fn new(len: usize, owned: bool) -> Shard {
        Shard {
            cells: (0..len + 2 * PAD).map(|_| AtomicU64::new(0)).collect(),
            owned,
        }
    }

    #[inline]
    fn add(&self, i: usize, n: u64) {
        if let Some(c) = self.cells.get(i + PAD) {
            if self.owned {
                c.store(c.load(Ordering::Relaxed).wrapping_add(n), Ordering::Relaxed);
            } else {
                c.fetch_add(n, Ordering::Relaxed);
            }
        }
    }

    #[inline]
    fn set_max(&self, i: usize, v: u64) {
        if let Some(c) = self.cells.get(i + PAD) {
            c.fetch_max(v, Ordering::Relaxed);
        }
    }

    fn get(&self, i: usize) -> u64 {
        self.cells
            .get(i + PAD)
            .map_or(0, |c| c.load(Ordering::Relaxed))
    }
}

//------------ Stats ------------------------------------------------------------

thread_local! {
    /// This thread's shard of each live [`Stats`] (one in a normal process; tests
    /// run many), by the instance's id.
    static SHARDS: RefCell<Vec<(u64, Arc<Shard>)>> = const { RefCell::new(Vec::new()) };
}

static NEXT_ID: AtomicU64 = AtomicU64::new(1);

/// One query as counted: every field is a slot number (see [`labels`]).
#[derive(Clone, Copy, Debug)]
pub struct QuerySlots {
    /// A root's index, or [`Stats::local`], [`Stats::interrupt`], [`Stats::none`].
    pub route: usize,
    pub proto: usize,
    pub source: usize,
    pub rcode: usize,
    pub qtype: usize,
}

/// The counters of one resolver.
pub struct Stats {
    id: u64,
    layout: Layout,
    /// Every shard ever handed to a thread (kept when the thread ends: its counts
    /// stay in the sums).
    shards: Mutex<Vec<Arc<Shard>>>,
    /// For a thread whose thread-locals are gone (it is ending): shared, atomic adds.
    fallback: Arc<Shard>,
    /// Per root: when its last answer failed, and why (cold path only).
    last_failure: Vec<Mutex<Option<(u64, String)>>>,
    /// Per root: when its last link was found bogus, and why (cold path only).
    last_bogus: Vec<Mutex<Option<(u64, String)>>>,
    /// Panics caught in the work of one query, by protocol slot (each one a bug:
    /// a shared atomic is cheap enough).
    panics: [AtomicU64; PROTOCOLS.len()],
    pub series: series::Series,
}

impl Stats {
    pub fn new(roots: usize) -> Stats {
        let layout = Layout::new(roots);
        Stats {
            id: NEXT_ID.fetch_add(1, Ordering::Relaxed),
            layout,
            shards: Mutex::new(Vec::new()),
            fallback: Arc::new(Shard::new(layout.len, false)),
            last_failure: (0..roots).map(|_| Mutex::new(None)).collect(),
            last_bogus: (0..roots).map(|_| Mutex::new(None)).collect(),
            panics: Default::default(),
            series: series::Series::new(layout.routes),
        }
    }

    /// Runs `f` on this thread's shard, making one the first time.
    #[inline]
    fn with(&self, f: impl FnOnce(&Shard)) {
        let mut f = Some(f);
        let done = SHARDS
            .try_with(|s| {
                let Ok(list) = s.try_borrow() else {
                    return false;
                };
                if let Some((_, shard)) = list.iter().find(|(id, _)| *id == self.id) {
                    if let Some(f) = f.take() {
                        f(shard);
                    }
                    return true;
                }
                drop(list);
                let shard = Arc::new(Shard::new(self.layout.len, true));
                self.shards
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .push(shard.clone());
                let Ok(mut list) = s.try_borrow_mut() else {
                    return false;
                };
                // Shards of instances that are gone are held by this list alone.
                list.retain(|(_, s)| Arc::strong_count(s) > 1);
                list.push((self.id, shard.clone()));
                if let Some(f) = f.take() {
                    f(&shard);
                }
                true
            })
            .unwrap_or(false);
        if !done && let Some(f) = f.take() {
            f(&self.fallback);
        }
    }

    pub fn roots(&self) -> usize {
        self.layout.roots
    }

    /// Route slots: every root, then these three.
    pub fn routes(&self) -> usize {
        self.layout.routes
    }

    /// Answered here without any root (special-use names).
    pub fn local(&self) -> usize {
        self.layout.roots
    }

    /// The controlled-interruption answer.
    pub fn interrupt(&self) -> usize {
        self.layout.roots + 1
    }

    /// Not routed: rejected requests, busy, deadline.
    pub fn none(&self) -> usize {
        self.layout.roots + 2
    }

    //--- Counting

    /// One answered query.
    #[inline]
    pub fn query(&self, q: QuerySlots) {
        let l = self.layout;
        let route = q.route.min(l.routes - 1);
        let (p, s) = (PROTOCOLS.len(), SOURCES.len());
        self.with(|sh| {
            sh.add(l.queries + (route * p + q.proto % p) * s + q.source % s, 1);
            sh.add(l.rcodes + route * RCODES + q.rcode.min(RCODES - 1), 1);
            sh.add(l.qtypes + q.qtype.min(QTYPES.len()), 1);
        });
    }

    /// A failed answer: its route, the failure's code (slot in [`labels::REASONS`]),
    /// and the limit that refused it, if one did (slot in [`labels::LIMITS`]).
    pub fn failure(&self, route: usize, reason: usize, limit: Option<usize>) {
        let l = self.layout;
        let route = route.min(l.routes - 1);
        self.with(|sh| {
            sh.add(
                l.failures + route * REASONS.len() + reason.min(REASONS.len() - 1),
                1,
            );
            if let Some(i) = limit {
                sh.add(l.limits + i.min(LIMITS.len() - 1), 1);
            }
        });
    }

    /// Remembers why root `root`'s last answer failed (never waits for the lock).
    pub fn last_failure(&self, root: usize, now: u64, why: impl FnOnce() -> String) {
        if let Some(m) = self.last_failure.get(root)
            && let Ok(mut slot) = m.try_lock()
        {
            *slot = Some((now, why()));
        }
    }

    /// One link validated in root `root` (or recalled as validated): its
    /// result's slot in [`labels::SECURITY`].
    #[inline]
    pub fn dnssec(&self, root: usize, result: usize) {
        let l = self.layout;
        if root >= l.roots {
            return;
        }
        self.with(|sh| {
            sh.add(
                l.dnssec + root * SECURITY.len() + result.min(SECURITY.len() - 1),
                1,
            )
        });
    }

    /// Remembers why root `root`'s last bogus link was bogus (never waits for
    /// the lock).
    pub fn last_bogus(&self, root: usize, now: u64, why: impl FnOnce() -> String) {
        if let Some(m) = self.last_bogus.get(root)
            && let Ok(mut slot) = m.try_lock()
        {
            *slot = Some((now, why()));
        }
    }

    /// A limit's refusal that is not an answer's failure (rate limiting).
    pub fn refused(&self, limit: usize) {
        let l = self.layout;
        self.with(|sh| sh.add(l.limits + limit.min(LIMITS.len() - 1), 1));
    }

    /// A panic caught in the work of one query over protocol slot `proto`.
    pub fn panicked(&self, proto: usize) {
        if let Some(c) = self.panics.get(proto) {
            c.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Panics caught over protocol slot `proto` (see [`Stats::panicked`]).
    pub fn panics(&self, proto: usize) -> u64 {
        self.panics
            .get(proto)
            .map_or(0, |c| c.load(Ordering::Relaxed))
    }

    /// One query to a server of root `root`: how it went (slot in
    /// [`labels::UPSTREAM`]) and, for a reply, the round trip.
    pub fn upstream(&self, root: usize, result: usize, rtt: Option<Duration>, now: u64) {
        let l = self.layout;
        if root >= l.roots {
            return;
        }
        self.with(|sh| {
            sh.add(
                l.upstream + root * UPSTREAM.len() + result.min(UPSTREAM.len() - 1),
                1,
            );
            if let Some(rtt) = rtt {
                let secs = rtt.as_secs_f64();
                let b = RTT_BUCKETS
                    .iter()
                    .position(|&le| secs <= le)
                    .unwrap_or(RTT_BUCKETS.len());
                sh.add(l.rtt + root * (RTT_BUCKETS.len() + 1) + b, 1);
                let micros = u64::try_from(rtt.as_micros()).unwrap_or(u64::MAX);
                sh.add(l.rtt_sum + root, micros);
                sh.set_max(l.last_ok + root, now);
            }
        });
    }

    //--- Reading

    /// Every counter summed over the shards, now.
    pub fn snapshot(&self) -> Snapshot {
        let l = self.layout;
        let mut cells = vec![0u64; l.len];
        let shards = self
            .shards
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone();
        for sh in shards.iter().chain(std::iter::once(&self.fallback)) {
            for (i, c) in cells.iter_mut().enumerate() {
                let v = sh.get(i);
                if i >= l.last_ok {
                    *c = (*c).max(v);
                } else {
                    *c = c.wrapping_add(v);
                }
            }
        }
        let last_failure = self
            .last_failure
            .iter()
            .map(|m| m.lock().unwrap_or_else(|p| p.into_inner()).clone())
            .collect();
        let last_bogus = self
            .last_bogus
            .iter()
            .map(|m| m.lock().unwrap_or_else(|p| p.into_inner()).clone())
            .collect();
        Snapshot::new(l, cells, last_failure, last_bogus)
    }
}

#[cfg(test)]
#[path = "tests.rs"]
mod tests;
