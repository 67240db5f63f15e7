//! The driver: the one place that sends, caches and routes. It steps an
//! [`Iteration`] — sending what it asks to send, resolving the NS names it needs
//! (through routing, in whatever root owns them), storing what it learned — and
//! follows the links of an answer (CNAME, DNAME), each through routing again. Every
//! question carries a [`Ctx`]: its deadline and budgets, shared by its nested
//! lookups and links, and the stack of lookups in progress (a name server that
//! needs itself is a loop, not a hang).
//!
//! Who checks which limit (each in one place):
//! - the machine ([`Iteration`]) checks the limits on its own state: queries to
//!   one zone cut (`max-queries-per-zone`), referrals of one link
//!   (`max-referrals`), glueless NS names per cut (`max-glueless-ns`);
//! - the question's [`Ctx`], here, checks what the whole question shares:
//!   upstream queries (`max-upstream-queries`, [`Resolver::charge`]), NS-name
//!   lookups that found nothing and nesting depth (`ns_addresses`), chain length
//!   (`Links`), and the deadline (before each query; every wait below is bounded
//!   by it);
//! - the front end bounds how long a client waits (`query-timeout` from the
//!   datagram's arrival) and how many wait; `max-resolutions` bounds how many
//!   resolutions run (`ask.rs`).
//!
//! Replays: the machine takes its randomness from a seed the driver draws from
//! the resolver's [`super::random::Random`], its time from the view, and reads the
//! root's live cache; with a seeded generator, a fixed clock, a scripted network
//! and questions asked one at a time on one thread (the scenario harness), a run
//! replays exactly.

use std::net::IpAddr;
use std::sync::Arc;

use futures::FutureExt;
use futures::future::BoxFuture;
use hickory_proto::op::ResponseCode;
use hickory_proto::rr::{LowerName, Name, RecordType};
use tokio::time::Instant;

use super::answer::{Answer, Route, Source};
use super::cache::{self, Cache};
use super::cut::addr_of;
use super::failure::{Budget, Failure, ServerError};
use super::iter::{self, Iteration, Kind, Mode, Outcome, Step, View, Write};
use super::links::{Links, Next};
use super::special;
use super::{Resolver, Snapshot};
use crate::dnssec::Security;

/// One client question's shared state: the zones and cache generations it
/// started on, its deadline and budgets, and the lookups in progress. The work a
/// question causes — nested lookups, links, the TLD claims and the priming it
/// waits for — runs on this one budget and deadline ([`Ctx::child`] hands a
/// shared claim or priming what is left, [`Ctx::absorb`] charges back what it
/// spent).
pub(super) struct Ctx {
    pub snap: Arc<Snapshot>,
    /// Each root's cache generation when the question started: what it learns is
    /// written only while the generation holds (a reload empties the cache and
    /// moves the generation on; a resolution on the old zones must not write
    /// back into the new).
    pub gens: Vec<u64>,
    pub deadline: Instant,
    /// Upstream queries this question may send (`max-upstream-queries`, less what
    /// its parent question had spent), and sent so far.
    pub max_queries: usize,
    pub queries: usize,
    /// NS-name lookups that may give no address, and that gave none.
    pub max_failed_ns: usize,
    pub failed_ns: usize,
    /// Nesting depth of NS-name lookups.
    pub depth: usize,
    /// (name, type) lookups in progress, outermost first.
    pub stack: Vec<(LowerName, RecordType)>,
    /// The client set CD (RFC 4035 §3.2.2): its answer is not validated.
    pub cd: bool,
}

/// What a shared piece of work (a claim, a priming) spent of the budget of the
/// question that started it.
#[derive(Clone, Copy, Debug, Default)]
pub(super) struct Spent {
    pub queries: usize,
    pub failed_ns: usize,
}

impl Ctx {
    /// The budget and deadline left to this question, for work it starts and
    /// waits for.
    pub fn child(&self) -> Ctx {
        Ctx {
            snap: self.snap.clone(),
            gens: self.gens.clone(),
            deadline: self.deadline,
            max_queries: self.max_queries.saturating_sub(self.queries),
            queries: 0,
            max_failed_ns: self.max_failed_ns.saturating_sub(self.failed_ns),
            failed_ns: 0,
            depth: self.depth,
            stack: self.stack.clone(),
            cd: self.cd,
        }
    }

    pub fn spent(&self) -> Spent {
        Spent {
            queries: self.queries,
            failed_ns: self.failed_ns,
        }
    }

    /// Charges this question with what work it started spent.
    pub fn absorb(&mut self, s: Spent) {
        self.queries += s.queries;
        self.failed_ns += s.failed_ns;
    }
}

impl Resolver {
    /// What the resolution machine may read of root `ri` now; `foreign` says
    /// which names belong to other roots ([`Resolver::elsewhere`]).
    pub(super) fn view<'a>(
        &'a self,
        ri: usize,
        snap: &'a Snapshot,
        policy: &'a super::policy::AddressPolicy,
        now: u64,
        foreign: &'a dyn Fn(&Name) -> bool,
    ) -> View<'a> {
        let root = &self.roots[ri];
        View {
            kind: &root.kind,
            params: &root.params,
            zones: snap.get(ri).and_then(|z| z.as_deref()),
            cache: &root.cache,
            infra: &root.infra,
            policy,
            limits: &self.limits,
            now,
            foreign,
        }
    }

    /// Does `name` belong to a root other than `ri`, as routing knows now (no
    /// network, no side effects)? Not known counts as another. A special-use name
    /// that no root serves belongs to none: what a zone says of it is all there is.
    pub(super) fn elsewhere(&self, snap: &Snapshot, ri: usize, name: &Name) -> bool {
        if self.roots.len() == 1 {
            return false;
        }
        let tld = super::classify::tld_of(name);
        match self.decide(snap, name, &tld, None, &[], self.clock.now()) {
            super::route::Decision::Go(Route::Root(i)) => i != ri,
            super::route::Decision::Go(Route::Local) => false,
            _ => true,
        }
    }

    /// A question's context, starting now: the cache generations first, then the
    /// zones (a reload swaps the zones, then empties the caches: read in this
    /// order, a question never pairs old zones with a new generation).
    pub(super) fn ctx(&self, deadline: Instant) -> Ctx {
        let gens = self.roots.iter().map(|r| r.cache.generation()).collect();
        Ctx {
            snap: self.zones.load_full(),
            gens,
            deadline,
            max_queries: self.limits.max_upstream_queries,
            queries: 0,
            max_failed_ns: self.limits.max_failed_ns_lookups,
            failed_ns: 0,
            depth: 0,
            stack: Vec::new(),
            cd: false,
        }
    }

    /// Stores what an iteration learned in root `ri`'s cache, unless the cache was
    /// emptied since the question started (`gen`).
    pub(super) fn apply(&self, cache: &Cache, generation: u64, writes: Vec<Write>, now: u64) {
        let w = cache.writer(generation);
        for x in writes {
            match x {
                Write::Rrset(set, trust) => w.put_rrset(set, trust, now),
                Write::Negative(name, rtype, soa, proof, trust) => {
                    w.put_negative(&name, rtype, Some(&soa), &proof, trust, now)
                }
                Write::Delegation(zone, d, ttl) => w.put_delegation(&zone, d, ttl, now),
            }
        }
    }

    /// One step of the question's budget: an upstream query.
    pub(super) fn charge(&self, ctx: &mut Ctx) -> Result<(), Failure> {
        if Instant::now() >= ctx.deadline {
            return Err(Failure::Deadline);
        }
        ctx.queries += 1;
        if ctx.queries > ctx.max_queries {
            return Err(Failure::Budget {
                which: Budget::UpstreamQueries,
                limit: self.limits.max_upstream_queries,
            });
        }
        Ok(())
    }

    /// The link of `name` in root `ri`, without the network: an answer from local
    /// zones or the cache, or `None`.
    pub(super) fn link_now(
        &self,
        ri: usize,
        snap: &Snapshot,
        name: &Name,
        qtype: RecordType,
    ) -> Option<Outcome> {
        let root = self.roots.get(ri)?;
        let policy = self.addresses.load();
        let foreign = |n: &Name| self.elsewhere(snap, ri, n);
        let view = self.view(ri, snap, &policy, self.clock.now(), &foreign);
        let mut it = Iteration::new(name, qtype, Mode::Answer, 0, root.params.qmin);
        match it.next(&view) {
            Step::Done(o) => Some(*o),
            _ => None,
        }
    }

    /// Resolves one link (`mode` Answer), a TLD claim or priming in root `ri`.
    pub(super) fn link<'a>(
        &'a self,
        ctx: &'a mut Ctx,
        ri: usize,
        name: &'a Name,
        qtype: RecordType,
        mode: Mode,
    ) -> BoxFuture<'a, Result<Outcome, Failure>> {
        async move {
            if mode == Mode::Answer && matches!(self.roots[ri].kind, Kind::Hints(_)) {
                self.ensure_primed(ctx, ri).await;
            }
            let root = &self.roots[ri];
            let policy = self.addresses.load_full();
            let snap = ctx.snap.clone();
            let generation = ctx.gens.get(ri).copied().unwrap_or(u64::MAX);
            let foreign = |n: &Name| self.elsewhere(&snap, ri, n);
            let mut it = Iteration::new(name, qtype, mode, ctx.depth, root.params.qmin)
                .with_seed(self.random.u64());
            loop {
                let now = self.clock.now();
                let step = it.next(&self.view(ri, &snap, &policy, now, &foreign));
                self.apply(&root.cache, generation, it.take_writes(), now);
                match step {
                    Step::Done(o) => return Ok(*o),
                    Step::Fail(f) => return Err(f),
                    Step::Send {
                        server,
                        query,
                        rd,
                        upstream,
                    } => {
                        self.charge(ctx)?;
                        let try_for = root.infra.try_timeout(server.ip(), now);
                        let until = (Instant::now() + try_for).min(ctx.deadline);
                        // A forward root's upstream may be encrypted: its own client.
                        let via = match (&root.kind, upstream) {
                            (Kind::Forward(f), Some(i)) => f.get(i).map(|f| &f.via),
                            _ => None,
                        };
                        let res = match via {
                            Some(v) => v.query(&self.transport, server, &query, rd, until).await,
                            None => self.transport.query(server, &query, rd, until).await,
                        };
                        let now = self.clock.now();
                        match &res {
                            Ok(r) => root.infra.record_rtt(server.ip(), r.rtt, now),
                            Err(ServerError::Timeout | ServerError::Unreachable(_)) => {
                                root.infra.record_timeout(server.ip(), now)
                            }
                            Err(_) => {}
                        }
                        self.count_upstream(ri, &res, now);
                        let view = self.view(ri, &snap, &policy, now, &foreign);
                        it.on_reply(res.map(|r| r.message), &view);
                        self.apply(&root.cache, generation, it.take_writes(), now);
                    }
                    Step::NeedAddresses { name: ns } => {
                        let r = self.ns_addresses(ctx, ri, &ns).await;
                        let view = self.view(ri, &snap, &policy, self.clock.now(), &foreign);
                        it.on_addresses(r, &view);
                    }
                }
            }
        }
        .boxed()
    }

    /// The addresses of an NS name, resolved in whatever root owns it (A, and AAAA
    /// when the asking root uses IPv6). Bounded by nesting depth and by how many
    /// NS-name lookups may come back empty; a name already being looked up on this
    /// path is a loop.
    fn ns_addresses<'a>(
        &'a self,
        ctx: &'a mut Ctx,
        asking: usize,
        ns: &'a Name,
    ) -> BoxFuture<'a, Result<Vec<IpAddr>, Failure>> {
        async move {
            if ctx.depth >= self.limits.max_depth {
                return Err(Failure::Budget {
                    which: Budget::Depth,
                    limit: self.limits.max_depth,
                });
            }
            if ctx.failed_ns >= ctx.max_failed_ns {
                return Err(Failure::Budget {
                    which: Budget::FailedNsLookups,
                    limit: self.limits.max_failed_ns_lookups,
                });
            }
            let mut types = vec![RecordType::A];
            if self.roots[asking].params.ipv6 {
                types.push(RecordType::AAAA);
            }
            let ipv6 = types.contains(&RecordType::AAAA);
            let mut out = Vec::new();
            let mut last = None;
            let mut owner = None;
            ctx.depth += 1;
            for t in types {
                let key = (LowerName::new(ns), t);
                if ctx.stack.contains(&key) {
                    last = Some(Failure::Loop {
                        what: format!("name server {ns} is needed to find itself"),
                    });
                    continue;
                }
                ctx.stack.push(key);
                let a = self.chain(ctx, ns, t, None).await;
                ctx.stack.pop();
                if let Route::Root(i) = a.route {
                    owner = Some(i);
                }
                match a.failure {
                    Some(f) => last = Some(f),
                    None => out.extend(
                        a.answers
                            .iter()
                            .filter(|r| r.record_type() == t)
                            .filter_map(addr_of),
                    ),
                }
            }
            ctx.depth -= 1;
            // The parent side's addresses stand behind the child's: the glue a
            // referral gave for the name, which the child's own answer may have
            // replaced (a renumbering half done, a child zone that is broken).
            // Unbound keeps them as parent-side addresses for the same reason.
            if let Some(root) = owner.and_then(|i| self.roots.get(i)) {
                let now = self.clock.now();
                for ip in super::cut::parent_side(&root.cache, ns, now, ipv6) {
                    if !out.contains(&ip) {
                        out.push(ip);
                    }
                }
            }
            if out.is_empty() {
                ctx.failed_ns += 1;
                return Err(last.unwrap_or(Failure::Unreachable {
                    zone: ns.clone(),
                    why: format!("name server {ns} has no address"),
                }));
            }
            Ok(out)
        }
        .boxed()
    }

    /// Resolves a name link by link: each link routed by its own TLD, CNAME and
    /// DNAME targets followed up to `max-cname-chain`, loops ended. `first_root`
    /// forces the root of the first link (`compare`).
    pub(super) fn chain<'a>(
        &'a self,
        ctx: &'a mut Ctx,
        name: &'a Name,
        qtype: RecordType,
        first_root: Option<usize>,
    ) -> BoxFuture<'a, Answer> {
        async move {
            let mut links = Links::new(name, self.limits.max_cname_chain);
            let mut cur = name.clone();
            loop {
                let route = match self.route(ctx, &cur, links.root(first_root)).await {
                    Ok(r) => r,
                    Err((r, f)) => return failed(r, f, links.source),
                };
                links.routed_until(self.route_valid_until(&cur, route));
                // RFC 8198: a name or type that validated proofs already deny is
                // answered from them (secure) without asking.
                let early = match route {
                    Route::Root(i) if ctx.depth == 0 && !ctx.cd && self.validates(i) => {
                        self.aggressive_answer(i, &cur, qtype)
                    }
                    _ => None,
                };
                if let Some(o) = early {
                    if let Route::Root(i) = route {
                        self.count_security(i, &Security::Secure);
                    }
                    match links.add(route, o, true) {
                        Next::Done(a) => return a,
                        Next::Follow(target) => {
                            cur = target;
                            continue;
                        }
                        Next::Fail(f) => return failed(route, f, links.source),
                    }
                }
                let outcome = match self.link_outcome(ctx, route, &cur, qtype).await {
                    Ok(o) => o,
                    Err(f) => return failed(route, f, links.source),
                };
                // A client's own chain is validated in each link's root (the
                // lookups of name-server addresses are not: RFC 4035 §4.2 leaves
                // them to the answers they lead to).
                let secure = match route {
                    Route::Root(i) if ctx.depth == 0 && !ctx.cd && self.validates(i) => {
                        let security = self.validate(ctx, i, &cur, qtype, &outcome).await;
                        self.count_security(i, &security);
                        match security {
                            Security::Secure => true,
                            Security::Bogus(why) => {
                                let root = self.roots[i].name.clone();
                                self.bogus_log.warn(
                                    self.clock.now(),
                                    format_args!(
                                        "DNSSEC bogus: root={root} zone={} name={cur} type={qtype}: {} ({})",
                                        why.zone, why.reason, why.ede
                                    ),
                                );
                                let f = Failure::Dnssec {
                                    root,
                                    why: Box::new(why),
                                };
                                return failed(route, f, links.source);
                            }
                            Security::Insecure(_) | Security::Indeterminate(_) => false,
                        }
                    }
                    _ => false,
                };
                match links.add(route, outcome, secure) {
                    Next::Done(a) => return a,
                    Next::Follow(target) => cur = target,
                    Next::Fail(f) => return failed(route, f, links.source),
                }
            }
        }
        .boxed()
    }

    /// One link by its route; a failed link may be answered stale (RFC 8767).
    async fn link_outcome(
        &self,
        ctx: &mut Ctx,
        route: Route,
        name: &Name,
        qtype: RecordType,
    ) -> Result<Outcome, Failure> {
        match route {
            Route::Local => Ok(special::special_answer(name, qtype)),
            Route::Interrupt => Ok(special::interruption_answer(name, qtype)),
            Route::Unrouted => Err(Failure::Internal {
                what: "a link without a route",
            }),
            Route::Root(i) => match self.link(ctx, i, name, qtype, Mode::Answer).await {
                Ok(o) => Ok(o),
                Err(f) => self.stale(i, name, qtype, &f).ok_or(f),
            },
        }
    }

    /// An expired answer for a failed link, when serve-stale allows it.
    fn stale(&self, ri: usize, name: &Name, qtype: RecordType, f: &Failure) -> Option<Outcome> {
        if !f.allows_stale() {
            return None;
        }
        let root = self.roots.get(ri)?;
        let o = iter::stale_answer(&root.cache, name, qtype, self.clock.now())?;
        tracing::debug!(root = %root.name, %name, "serving stale ({f})");
        Some(o)
    }

    /// Primes a hints root once (RFC 8109): one `. NS` question, shared by every
    /// query that arrives meanwhile; afterwards the root's NS set is cached for its
    /// TTL. A failure leaves the hints in use and is not retried for a minute. The
    /// question that starts it pays for it (budget and deadline); the others wait
    /// for it within their own deadline.
    async fn ensure_primed(&self, ctx: &mut Ctx, ri: usize) {
        let root = &self.roots[ri];
        let now = self.clock.now();
        let key = cache::Key::Set(LowerName::new(&Name::root()), RecordType::NS);
        if root.cache.has(&key, now)
            || now < root.prime_retry.load(std::sync::atomic::Ordering::Relaxed)
        {
            return;
        }
        let Some(this) = self.self_arc() else { return };
        let mut child = ctx.child();
        let mut started = false;
        let flight = self.primes.join_or_start(ri, || {
            started = true;
            Some(
                async move {
                    let root = Name::root();
                    let r = this.link(&mut child, ri, &root, RecordType::NS, Mode::Prime).await;
                    if let Err(f) = r {
                        let r = &this.roots[ri];
                        tracing::debug!(root = %r.name, "priming failed, using the hints as given: {f}");
                        r.prime_retry
                            .store(this.clock.now() + 60, std::sync::atomic::Ordering::Relaxed);
                    }
                    child.spent()
                }
                .boxed(),
            )
        });
        if let Some(f) = flight
            && let Ok(spent) = tokio::time::timeout_at(ctx.deadline, f).await
            && started
        {
            ctx.absorb(spent);
        }
    }
}

impl Resolver {
    /// Counts one upstream query for the metrics (per-thread counters).
    fn count_upstream(
        &self,
        ri: usize,
        res: &Result<super::transport::Reply, ServerError>,
        now: u64,
    ) {
        use crate::stats::labels as l;
        let (slot, rtt) = match res {
            Ok(r) => (l::UPSTREAM_REPLY, Some(r.rtt)),
            Err(ServerError::Timeout) => (l::UPSTREAM_TIMEOUT, None),
            Err(ServerError::Unreachable(_)) => (l::UPSTREAM_UNREACHABLE, None),
            Err(ServerError::Local(_)) => (l::UPSTREAM_LOCAL, None),
            Err(_) => (l::UPSTREAM_ERROR, None),
        };
        self.stats.upstream(ri, slot, rtt, now);
    }
}

fn failed(route: Route, f: Failure, source: Source) -> Answer {
    Answer {
        source: source.max(Source::Network),
        ..Answer::fail(route, f)
    }
}

/// The NOERROR/NXDOMAIN outcome of a claim: does the root have the TLD?
pub(super) fn claimed(o: &Outcome) -> bool {
    o.rcode != ResponseCode::NXDomain
}
