//! The counters summed at one moment, read by name.

use super::Layout;
use super::labels::{PROTOCOLS, RCODES, REASONS, RTT_BUCKETS, SECURITY, SOURCES, UPSTREAM};

/// The counters at one moment.
pub struct Snapshot {
    layout: Layout,
    cells: Vec<u64>,
    /// Per root: when its last answer failed, and why.
    pub last_failure: Vec<Option<(u64, String)>>,
    /// Per root: when a link was last found bogus, and why.
    pub last_bogus: Vec<Option<(u64, String)>>,
}

impl Snapshot {
    pub(super) fn new(
        layout: Layout,
        cells: Vec<u64>,
        last_failure: Vec<Option<(u64, String)>>,
        last_bogus: Vec<Option<(u64, String)>>,
    ) -> Snapshot {
        Snapshot {
            layout,
            cells,
            last_failure,
            last_bogus,
        }
    }

    fn at(&self, i: usize) -> u64 {
        self.cells.get(i).copied().unwrap_or(0)
    }

    pub fn routes(&self) -> usize {
        self.layout.routes
    }

    pub fn roots(&self) -> usize {
        self.layout.roots
    }

    /// Queries answered for a route, by protocol and source slot.
    pub fn queries(&self, route: usize, proto: usize, source: usize) -> u64 {
        let (p, s) = (PROTOCOLS.len(), SOURCES.len());
        self.at(self.layout.queries + (route * p + proto) * s + source)
    }

    /// Queries answered for a route, all protocols and sources.
    pub fn route_total(&self, route: usize) -> u64 {
        let mut n = 0;
        for p in 0..PROTOCOLS.len() {
            for s in 0..SOURCES.len() {
                n += self.queries(route, p, s);
            }
        }
        n
    }

    /// Queries of a route answered from one source slot, all protocols.
    pub fn source_total(&self, route: usize, source: usize) -> u64 {
        (0..PROTOCOLS.len())
            .map(|p| self.queries(route, p, source))
            .sum()
    }

    pub fn rcode(&self, route: usize, rcode: usize) -> u64 {
        self.at(self.layout.rcodes + route * RCODES + rcode)
    }

    /// By query-type slot; the slot after the last listed type is "other".
    pub fn qtype(&self, slot: usize) -> u64 {
        self.at(self.layout.qtypes + slot)
    }

    pub fn failures(&self, route: usize, reason: usize) -> u64 {
        self.at(self.layout.failures + route * REASONS.len() + reason)
    }

    pub fn limit(&self, slot: usize) -> u64 {
        self.at(self.layout.limits + slot)
    }

    pub fn upstream(&self, root: usize, result: usize) -> u64 {
        self.at(self.layout.upstream + root * UPSTREAM.len() + result)
    }

    /// Round trips of root `root`: the count in each bucket (not cumulative; the
    /// last is past the last bound, +Inf), the count and the sum in seconds.
    pub fn rtt(&self, root: usize) -> (Vec<u64>, u64, f64) {
        let base = self.layout.rtt + root * (RTT_BUCKETS.len() + 1);
        let buckets: Vec<u64> = (0..=RTT_BUCKETS.len()).map(|b| self.at(base + b)).collect();
        let n = buckets.iter().sum();
        let sum = self.at(self.layout.rtt_sum + root) as f64 / 1e6;
        (buckets, n, sum)
    }

    /// Links of root `root` validated with a result (slot in [`SECURITY`]).
    pub fn dnssec(&self, root: usize, result: usize) -> u64 {
        if root >= self.layout.roots {
            return 0;
        }
        self.at(self.layout.dnssec + root * SECURITY.len() + result)
    }

    /// Unix second of root `root`'s last upstream reply (0: none yet).
    pub fn last_ok(&self, root: usize) -> u64 {
        self.at(self.layout.last_ok + root)
    }
}
