//! The resolver engine: every root, and the one place that drives resolutions.
//!
//! A client question goes through [`Resolver::answer`]:
//! 1. `route` decides who answers the name: special-use names here, a `pin`, else
//!    the first root that has the TLD (one rule for `serve`, `compare` and
//!    `collisions`: [`Resolver::claim`]), with the collision policy on top. When an
//!    earlier root cannot say whether it has the TLD, nobody answers (fail closed).
//! 2. [`iter::Iteration`] is one link's resolution in one root, stepped without I/O:
//!    "ask server S question Q", "need the addresses of N", done or failed.
//! 3. `drive` steps it: sends through [`transport`] (within the address
//!    [`policy`] and the [`failure::Budget`]s), resolves NS names through routing
//!    (any root), stores what was learned in the root's [`cache`], and follows CNAME
//!    and DNAME links, each through routing again.
//!
//! Around that: answers that need no network ([`Resolver::answer_now`]) never wait
//! for anything; identical questions share one resolution (`flights`), which is
//! cancelled when nobody waits any longer; at most `max-resolutions` talk to the
//! network at once.

pub mod answer;
mod ask;
pub mod cache;
pub mod classify;
mod collisions;
mod cut;
mod drive;
pub mod encrypted;
pub mod failure;
mod flights;
pub mod infra;
pub mod iter;
mod links;
pub mod policy;
pub mod random;
pub mod ready;
mod route;
pub mod since;
mod special;
pub mod transport;
pub mod validate;

use std::collections::HashSet;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use arc_swap::ArcSwap;
use hickory_proto::rr::{LowerName, Name, RecordType};
use tokio::sync::Semaphore;

pub use answer::{Answer, Route, Source, rcode_str};
pub use failure::Failure;
pub use iter::{Kind, Params};
pub use route::Claim;

use crate::clock::Clock;
use crate::config::{Config, LimitsConfig, Policy};
use crate::zones::ZoneSet;
use cache::Cache;
use flights::Flights;
use infra::Infra;
use policy::AddressPolicy;
use transport::Transport;

/// What the engine takes from the world: the clock TTLs follow, randomness (query
/// IDs, NS order) and the network. [`Env::default`] is the real ones; the scenario
/// harness and the fuzzer pass a fixed clock, a seeded generator and a
/// [`transport::Script`], and replay runs exactly.
#[derive(Clone, Default)]
pub struct Env {
    pub clock: Arc<Clock>,
    pub random: random::Random,
    pub net: transport::Net,
}

/// Every zones root's zone set as loaded now, by root index.
pub type Snapshot = Vec<Option<Arc<ZoneSet>>>;

/// One root: how it answers, its settings, and what it has learned.
pub struct Root {
    pub name: String,
    pub kind: Kind,
    pub params: Params,
    /// A forward root's `tlds` (empty: it takes every TLD, and is the last root).
    pub tlds: HashSet<LowerName>,
    pub cache: Cache,
    pub infra: Infra,
    /// Where this root's chains of trust start (none: it does not validate).
    pub anchors: Option<Arc<crate::dnssec::TrustAnchors>>,
    /// Its validated keys and cuts, and its validated answers.
    pub keys: validate::KeyCache,
    pub memo: validate::Memo,
    /// RRsets whose signatures were checked, so the same RRset is not checked again.
    pub verified: crate::dnssec::VerifyMemo,
    /// Validated NSEC/NSEC3 proofs per zone, for RFC 8198 answers.
    pub aggressive: validate::Aggressive,
    /// Wall-clock second before which priming is not tried again after a failure.
    prime_retry: AtomicU64,
}

/// What a root is built from.
pub struct RootSetup {
    pub name: String,
    pub kind: Kind,
    pub params: Params,
    pub tlds: HashSet<LowerName>,
    pub zones: Option<Arc<ZoneSet>>,
    /// Its trust anchors (none, or empty: it does not validate).
    pub anchors: Option<Arc<crate::dnssec::TrustAnchors>>,
}

/// Key of a shared client resolution: the root forced for the first link (for
/// `compare`), the name, the type, and CD (unvalidated answers are not shared with
/// clients that want validation).
type FlightKey = (Option<usize>, LowerName, RecordType, bool);

pub struct Resolver {
    /// Itself, for the resolutions it starts (they outlive the caller's borrow).
    me: std::sync::Weak<Resolver>,
    pub roots: Vec<Root>,
    zones: ArcSwap<Snapshot>,
    policy: Policy,
    /// TLD → root index.
    pin: std::collections::HashMap<LowerName, usize>,
    limits: LimitsConfig,
    addresses: ArcSwap<AddressPolicy>,
    transport: Transport,
    clock: Arc<Clock>,
    query_timeout: Duration,
    flights: Flights<FlightKey, Answer>,
    claims: Flights<(usize, LowerName), (Result<bool, Failure>, drive::Spent)>,
    primes: Flights<usize, drive::Spent>,
    /// Resolutions allowed to talk to the network at once.
    resolutions: Arc<Semaphore>,
    collisions: collisions::Collisions,
    busy: LogLimiter,
    /// One log line a second for bogus answers (and a count of the rest).
    bogus_log: LogLimiter,
    /// Replies kept in wire form for the front end's hot path.
    ready: ready::ReadyCache,
    /// Counters for metrics and the status page (per-thread shards).
    stats: Arc<crate::stats::Stats>,
    random: random::Random,
    /// NOTIFYs received for the zones roots take by transfer, for their refreshers.
    notices: Arc<crate::xfrin::Notices>,
    /// Claim dates from the config and the history (`policy = "first-come"`).
    dates: since::Dates,
}

impl Resolver {
    pub fn new(config: &Config, roots: Vec<RootSetup>, env: Env) -> Arc<Resolver> {
        let Env { clock, random, net } = env;
        let timeout = config.server.query_timeout;
        // A silent server must leave time to try others within the client's limit.
        let try_max = (timeout / 4).clamp(Duration::from_millis(200), Duration::from_millis(1500));
        let snapshot: Snapshot = roots.iter().map(|r| r.zones.clone()).collect();
        // Three quarters of max-size for the roots' caches, a quarter for ready answers.
        let store = cache::Store::new(config.cache.max_size / 4 * 3);
        let n_roots = roots.len();
        let roots: Vec<Root> = roots
            .into_iter()
            .enumerate()
            .map(|(i, r)| Root {
                name: r.name,
                kind: r.kind,
                params: r.params,
                tlds: r.tlds,
                cache: Cache::new(store.clone(), i, &config.cache),
                infra: Infra::new(try_max),
                anchors: r.anchors.filter(|a| !a.is_empty()),
                keys: validate::KeyCache::default(),
                memo: validate::Memo::default(),
                verified: crate::dnssec::VerifyMemo::new(100_000),
                aggressive: validate::Aggressive::default(),
                prime_retry: AtomicU64::new(0),
            })
            .collect();
        let pin = config
            .collisions
            .pin
            .iter()
            .filter_map(|(tld, root)| {
                let i = roots.iter().position(|r| &r.name == root)?;
                let n = Name::from_ascii(format!("{tld}.")).ok()?;
                Some((LowerName::new(&n), i))
            })
            .collect();
        Arc::new_cyclic(|me| Resolver {
            me: me.clone(),
            roots,
            zones: ArcSwap::from_pointee(snapshot),
            policy: config.collisions.policy,
            pin,
            limits: config.limits.clone(),
            addresses: ArcSwap::from_pointee(AddressPolicy::new(
                config.server.upstream_deny.clone(),
                config.server.listen.clone(),
            )),
            transport: Transport::new(transport::MAX_SOCKETS, net, random.clone()),
            clock,
            query_timeout: timeout,
            flights: Flights::default(),
            claims: Flights::default(),
            primes: Flights::default(),
            resolutions: Arc::new(Semaphore::new(config.limits.max_resolutions)),
            collisions: collisions::Collisions::default(),
            busy: LogLimiter::default(),
            bogus_log: LogLimiter::default(),
            ready: ready::ReadyCache::new(config.cache.max_size / 4),
            stats: Arc::new(crate::stats::Stats::new(n_roots)),
            random,
            notices: Arc::new(crate::xfrin::Notices::from_config(config)),
            dates: since::Dates {
                since: config
                    .roots
                    .iter()
                    .map(|rc| {
                        rc.since
                            .iter()
                            .filter_map(|(t, d)| {
                                let n = Name::from_ascii(format!("{t}.")).ok()?;
                                Some((LowerName::new(&n), *d))
                            })
                            .collect()
                    })
                    .collect(),
                icann: config
                    .roots
                    .iter()
                    .map(crate::config::RootConfig::is_icann)
                    .collect(),
            },
        })
    }

    /// Where the front end files the NOTIFYs it receives, and the refreshers
    /// take them from.
    pub fn notices(&self) -> &Arc<crate::xfrin::Notices> {
        &self.notices
    }

    /// altroot's own listen addresses, as bound: never an upstream target.
    pub fn add_own_addresses(&self, addrs: &[SocketAddr]) {
        let mut p = (**self.addresses.load()).clone();
        p.add_own(addrs);
        self.addresses.store(Arc::new(p));
    }

    pub fn clock(&self) -> &Arc<Clock> {
        &self.clock
    }

    pub fn query_timeout(&self) -> Duration {
        self.query_timeout
    }

    pub fn limits(&self) -> &LimitsConfig {
        &self.limits
    }

    /// The zones of root `i` as served now.
    /// The root a `pin` sends this TLD (a label) to, if any.
    pub fn pinned(&self, tld: &str) -> Option<String> {
        let n = Name::from_ascii(format!("{tld}.")).ok()?;
        let i = *self.pin.get(&LowerName::new(&n))?;
        self.roots.get(i).map(|r| r.name.clone())
    }

    /// Every root's zones as served now.
    pub fn zones_snapshot(&self) -> Arc<Snapshot> {
        self.zones.load_full()
    }

    pub fn zones(&self, i: usize) -> Option<Arc<ZoneSet>> {
        self.zones.load().get(i).cloned().flatten()
    }

    /// Swaps in a new zone set for root `i` (callers serialise reloads), empties
    /// that root's cache and forgets collision findings: nothing derived from the
    /// old data is served after the swap.
    pub fn swap_zones(&self, i: usize, set: Arc<ZoneSet>) {
        self.set_zones(i, Some(set));
    }

    /// Stops serving root `i`'s zones (a hints root's root copy past its expire):
    /// it asks its servers again, with an empty cache.
    pub fn drop_zones(&self, i: usize) {
        self.set_zones(i, None);
    }

    fn set_zones(&self, i: usize, set: Option<Arc<ZoneSet>>) {
        let mut snap: Snapshot = (**self.zones.load()).clone();
        if let Some(slot) = snap.get_mut(i) {
            *slot = set;
        }
        self.zones.store(Arc::new(snap));
        if let Some(r) = self.roots.get(i) {
            r.cache.clear();
            r.keys.clear();
            r.memo.clear();
            r.verified.clear();
            r.aggressive.clear();
        }
        self.collisions.forget();
        self.ready.clear();
    }

    /// The counters behind the metrics and the status page.
    pub fn stats(&self) -> &Arc<crate::stats::Stats> {
        &self.stats
    }

    /// Replies kept in wire form (the front end's hot path).
    pub fn ready(&self) -> &ready::ReadyCache {
        &self.ready
    }

    pub fn root_index(&self, name: &str) -> Option<usize> {
        self.roots.iter().position(|r| r.name == name)
    }

    /// Shared resolutions in flight now (for tests).
    pub fn in_flight(&self) -> usize {
        self.flights.len()
    }
}

/// Logs a repeated warning at most once per second, with how many were suppressed.
#[derive(Default)]
struct LogLimiter {
    last: AtomicU64,
    suppressed: AtomicU64,
}

impl LogLimiter {
    fn warn(&self, now: u64, what: std::fmt::Arguments<'_>) {
        let last = self.last.load(Ordering::Relaxed);
        if now > last
            && self
                .last
                .compare_exchange(last, now, Ordering::Relaxed, Ordering::Relaxed)
                .is_ok()
        {
            let n = self.suppressed.swap(0, Ordering::Relaxed);
            tracing::warn!("{what} ({n} more in the last second)");
        } else {
            self.suppressed.fetch_add(1, Ordering::Relaxed);
        }
    }
}
