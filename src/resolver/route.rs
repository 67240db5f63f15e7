//! Which root answers a name (DESIGN §4.1, §4.2, §4.8), and the one rule for "does
//! root R have TLD T" that `serve`, `compare` and `collisions` all use.
//!
//! Order: special-use names never leave the machine; a `pin` decides alone; else
//! the first root that has the TLD, the last root taking whatever no earlier one
//! has. When an earlier root cannot say (its servers fail), nobody answers: a later
//! root's answer could be the other tree's (fail closed). On top, the collision
//! policy: under `first` a background check of the later roots logs a collision
//! once; under `interrupt` the later roots must be known before answering.

use std::sync::atomic::Ordering;

use futures::FutureExt;
use hickory_proto::rr::{LowerName, Name, RecordType};
use tokio::time::Instant;

use super::answer::Route;
use super::collisions::Seen;
use super::drive::{Ctx, claimed};
use super::failure::Failure;
use super::iter::{Kind, Mode};
use super::{Resolver, Snapshot};
use crate::config::Policy;
use crate::names::{has_special_tld, under_localhost};

/// A failed background check is not tried again for this long (seconds).
const CHECK_RETRY: u64 = 30;

/// What one root says about one TLD, and how that was known.
#[derive(Clone, Debug)]
pub struct Claim {
    /// `Err`: the root could not be asked.
    pub has: Result<bool, Failure>,
    pub how: String,
}

/// Where routing stands for a name.
pub(super) enum Decision {
    Go(Route),
    /// Root `i`'s claim on the TLD is needed first.
    Need(usize),
}

impl Resolver {
    /// TLDs checked so far: TLD → the names of the roots that have it (more than
    /// one: a collision).
    pub fn collisions_seen(&self) -> std::collections::HashMap<LowerName, Vec<String>> {
        let map = self.collisions.lock();
        map.iter()
            .filter_map(|(t, s)| match s {
                Seen::Known(roots) => Some((
                    t.clone(),
                    roots.iter().map(|&i| self.roots[i].name.clone()).collect(),
                )),
                _ => None,
            })
            .collect()
    }

    //--- Claims

    /// Does root `ri` have `tld`, as far as known without asking anyone? Zones
    /// roots by their files, forward roots by their `tlds`, hints roots and a
    /// catch-all forward root by what their cache learned from asking.
    fn known_claim(&self, snap: &Snapshot, ri: usize, tld: &LowerName, now: u64) -> Option<bool> {
        let root = &self.roots[ri];
        match &root.kind {
            Kind::Zones => Some(snap.get(ri)?.as_ref().is_some_and(|z| z.has_tld(tld))),
            Kind::Forward(_) if !root.tlds.is_empty() => Some(root.tlds.contains(tld)),
            _ => {
                let name = Name::from(tld);
                let mut it =
                    super::iter::Iteration::new(&name, RecordType::NS, Mode::Claim, 0, false);
                let policy = self.addresses.load();
                // A claim only asks the root's own servers: no glue to judge.
                match it.next(&self.view(ri, snap, &policy, now, &|_| false)) {
                    super::iter::Step::Done(o) => Some(claimed(&o)),
                    _ => None,
                }
            }
        }
    }

    /// Asks root `ri` whether it has `tld` (`<tld>. NS` to its root servers, or to
    /// its upstream), once for everyone asking at the same time. The question that
    /// starts the ask pays for it from `ctx` (budget and deadline); without a
    /// question (the background collision check, `compare`) it gets a budget and
    /// `query-timeout` of its own.
    async fn ask_claim(
        &self,
        ctx: Option<&mut Ctx>,
        ri: usize,
        tld: &LowerName,
    ) -> Result<bool, Failure> {
        let snap = self.zones.load_full();
        if let Some(known) = self.known_claim(&snap, ri, tld, self.clock.now()) {
            return Ok(known);
        }
        let Some(this) = self.self_arc() else {
            return Err(Failure::Internal {
                what: "the resolver is shutting down",
            });
        };
        let mut own;
        let ctx = match ctx {
            Some(c) => c,
            None => {
                own = self.ctx(Instant::now() + self.query_timeout);
                &mut own
            }
        };
        let mut child = ctx.child();
        let t = tld.clone();
        let mut started = false;
        let flight = self.claims.join_or_start((ri, tld.clone()), || {
            started = true;
            Some(
                async move {
                    let name = Name::from(&t);
                    let r = this
                        .link(&mut child, ri, &name, RecordType::NS, Mode::Claim)
                        .await
                        .map(|o| claimed(&o));
                    (r, child.spent())
                }
                .boxed(),
            )
        });
        let Some(f) = flight else {
            return Err(Failure::Internal {
                what: "a claim could not start",
            });
        };
        match tokio::time::timeout_at(ctx.deadline, f).await {
            Ok((r, spent)) => {
                if started {
                    ctx.absorb(spent);
                }
                r
            }
            Err(_) => Err(Failure::Deadline),
        }
    }

    /// The one rule: does root `ri` have `tld`, and how is that known.
    pub async fn claim(&self, ri: usize, tld: &Name) -> Claim {
        let ltld = LowerName::new(tld);
        let root = &self.roots[ri];
        let has = self.ask_claim(None, ri, &ltld).await;
        let how = match (&root.kind, &has) {
            (Kind::Zones, _) => {
                let z = self.zones(ri);
                match z.as_ref().and_then(|z| z.get(&ltld)) {
                    Some(zone) => format!(
                        "zone file {}",
                        zone.files
                            .first()
                            .map(|p| p.display().to_string())
                            .unwrap_or_default()
                    ),
                    None if has == Ok(true) => "in its root.zone".into(),
                    None => "no zone file, not in its root.zone".into(),
                }
            }
            (Kind::Forward(_), _) if !root.tlds.is_empty() => {
                format!(
                    "{} its tlds list",
                    if has == Ok(true) { "in" } else { "not in" }
                )
            }
            (Kind::Forward(_), Ok(_)) => "asked its upstream".into(),
            (Kind::Hints(_), Ok(_)) => match self
                .zones(ri)
                .and_then(|z| z.get(&LowerName::new(&Name::root())).map(|r| r.serial()))
            {
                Some(serial) => format!("its copy of its root zone, serial {serial}"),
                None => "asked its root servers".into(),
            },
            (_, Err(f)) => format!("could not be asked: {f}"),
        };
        Claim { has, how }
    }

    //--- Routing

    /// Decides with what is known: `known` holds claims learned while routing this
    /// name (they may not be cacheable).
    pub(super) fn decide(
        &self,
        snap: &Snapshot,
        name: &Name,
        tld: &LowerName,
        first_root: Option<usize>,
        known: &[(usize, bool)],
        now: u64,
    ) -> Decision {
        if name.is_root() {
            return Decision::Go(Route::Root(first_root.unwrap_or(0)));
        }
        let tld = tld.clone();
        // 1. Special-use names never leave the machine.
        if under_localhost(name) {
            return Decision::Go(Route::Local);
        }
        if has_special_tld(name) {
            let own = (0..self.roots.len()).find(|&i| {
                matches!(self.roots[i].kind, Kind::Zones)
                    && snap
                        .get(i)
                        .and_then(|z| z.as_ref())
                        .is_some_and(|z| z.has_tld(&tld))
            });
            return Decision::Go(own.map_or(Route::Local, Route::Root));
        }
        // 2. compare's forced root, then a pin, decide alone.
        if let Some(i) = first_root.or_else(|| self.pin.get(&tld).copied()) {
            return Decision::Go(Route::Root(i));
        }
        let has = |i: usize| {
            known
                .iter()
                .find(|(j, _)| *j == i)
                .map(|(_, h)| *h)
                .or_else(|| self.known_claim(snap, i, &tld, now))
        };
        // 3. The first root that has the TLD; the last one takes the rest.
        let last = self.roots.len() - 1;
        let mut winner = last;
        for i in 0..last {
            match has(i) {
                Some(true) => {
                    winner = i;
                    break;
                }
                Some(false) => {}
                None => return Decision::Need(i),
            }
        }
        // 4. Under `first-come`, every root that has the TLD is known first, and
        // the oldest claim wins (unknown dates and ties: root order).
        if self.policy == Policy::FirstCome && winner < last {
            let mut having = vec![winner];
            for j in winner + 1..=last {
                match has(j) {
                    Some(true) => having.push(j),
                    Some(false) => {}
                    None => return Decision::Need(j),
                }
            }
            return Decision::Go(Route::Root(self.first_come(snap, &tld, &having).0));
        }
        // 5. Under `interrupt`, a TLD another root has too is interrupted.
        if self.policy == Policy::Interrupt && winner < last {
            for j in winner + 1..=last {
                match has(j) {
                    Some(true) => return Decision::Go(Route::Interrupt),
                    Some(false) => {}
                    None => return Decision::Need(j),
                }
            }
        }
        Decision::Go(Route::Root(winner))
    }

    /// Until when a route decided now for `name` holds: the earliest expiry of the
    /// claims it rests on (those learned from a root's servers and cached with
    /// their TTL); zones roots, `tlds` lists, pins and special-use names hold as
    /// long as the zones (a reload empties the ready answers anyway).
    pub(super) fn route_valid_until(&self, name: &Name, route: Route) -> u64 {
        let Route::Root(winner) = route else {
            return u64::MAX;
        };
        if self.roots.len() == 1 || name.is_root() || has_special_tld(name) {
            return u64::MAX;
        }
        let tld = super::classify::tld_of(name);
        if self.pin.contains_key(&tld) {
            return u64::MAX;
        }
        // Every root asked before the winner (their "no"), the winner (its "yes"),
        // and under `interrupt` the later ones too (their "no").
        let last = match self.policy {
            Policy::Interrupt | Policy::FirstCome => self.roots.len() - 1,
            Policy::First => winner.min(self.roots.len() - 2),
        };
        (0..=last)
            .filter_map(|i| self.claim_expires(i, &tld))
            .min()
            .unwrap_or(u64::MAX)
    }

    /// When root `ri`'s cached claim on `tld` expires; `None` when it does not
    /// come from the cache (zones roots, `tlds` lists).
    fn claim_expires(&self, ri: usize, tld: &LowerName) -> Option<u64> {
        let root = &self.roots[ri];
        match &root.kind {
            Kind::Zones => None,
            Kind::Forward(_) if !root.tlds.is_empty() => None,
            _ => {
                let c = &root.cache;
                let now = self.clock.now();
                [
                    super::cache::Key::NxDomain(tld.clone()),
                    super::cache::Key::Delegation(tld.clone()),
                    super::cache::Key::Set(tld.clone(), RecordType::NS),
                ]
                .iter()
                .filter_map(|k| c.expires(k, now))
                .max()
            }
        }
    }

    /// Routes without the network, or `None` when a root must be asked first.
    pub(super) fn route_now(
        &self,
        snap: &Snapshot,
        name: &Name,
        first_root: Option<usize>,
    ) -> Option<Route> {
        let now = self.clock.now();
        let tld = super::classify::tld_of(name);
        match self.decide(snap, name, &tld, first_root, &[], now) {
            Decision::Go(r) => {
                self.after_routing(snap, name, tld, r, now, first_root.is_some());
                Some(r)
            }
            Decision::Need(_) => None,
        }
    }

    /// Routes a name, asking roots about its TLD as needed. `Err` carries the
    /// failure (fail closed) and the route it concerns.
    pub(super) async fn route(
        &self,
        ctx: &mut Ctx,
        name: &Name,
        first_root: Option<usize>,
    ) -> Result<Route, (Route, Failure)> {
        let mut known: Vec<(usize, bool)> = Vec::new();
        let tld = super::classify::tld_of(name);
        for _ in 0..=self.roots.len() {
            let now = self.clock.now();
            match self.decide(&ctx.snap, name, &tld, first_root, &known, now) {
                Decision::Go(r) => {
                    self.after_routing(&ctx.snap, name, tld, r, now, first_root.is_some());
                    return Ok(r);
                }
                Decision::Need(i) => match self.ask_claim(Some(ctx), i, &tld).await {
                    Ok(has) => known.push((i, has)),
                    Err(cause) => {
                        return Err((Route::Root(i), self.unknown(i, &tld, cause)));
                    }
                },
            }
        }
        Err((
            Route::Unrouted,
            Failure::Internal {
                what: "routing did not settle",
            },
        ))
    }

    fn unknown(&self, ri: usize, tld: &LowerName, cause: Failure) -> Failure {
        let f = Failure::RootUnknown {
            root: self.roots[ri].name.clone(),
            tld: Name::from(tld),
            cause: Box::new(cause),
        };
        self.busy.warn(self.clock.now(), format_args!("{f}"));
        f
    }

    /// After a routing decision: record an `interrupt` collision (logged once), or
    /// under `first` start the background check of the later roots. `forced`: the
    /// route is `compare`'s (`first_root`), which says nothing about who has the TLD.
    fn after_routing(
        &self,
        snap: &Snapshot,
        name: &Name,
        tld: LowerName,
        route: Route,
        now: u64,
        forced: bool,
    ) {
        // Special-use TLDs never reach another root, not even to ask about them.
        if has_special_tld(name) {
            return;
        }
        match (self.policy, route) {
            (Policy::Interrupt, Route::Interrupt) => {
                let roots: Vec<usize> = (0..self.roots.len())
                    .filter(|&i| self.known_claim(snap, i, &tld, now) == Some(true))
                    .collect();
                self.found(tld, roots, None);
            }
            (Policy::FirstCome, Route::Root(w)) if !forced && !self.pin.contains_key(&tld) => {
                let roots: Vec<usize> = (0..self.roots.len())
                    .filter(|&i| self.known_claim(snap, i, &tld, now) == Some(true))
                    .collect();
                if roots.len() > 1 {
                    let (_, why) = self.first_come(snap, &tld, &roots);
                    self.found_with(tld, roots, Some(w), Some(why));
                }
            }
            (Policy::First, Route::Root(w))
                if (w + 1 < self.roots.len() || forced && self.roots.len() > 1)
                    && !self.pin.contains_key(&tld)
                    && !name.is_root()
                    && self.collisions.begin(&tld, now) =>
            {
                self.spawn_check(tld, (!forced).then_some(w));
            }
            _ => {}
        }
    }

    /// Records which roots have a TLD and logs a collision the first time.
    fn found(&self, tld: LowerName, roots: Vec<usize>, winner: Option<usize>) {
        self.found_with(tld, roots, winner, None);
    }

    fn found_with(
        &self,
        tld: LowerName,
        roots: Vec<usize>,
        winner: Option<usize>,
        why: Option<String>,
    ) {
        let line = (roots.len() > 1).then(|| {
            let names: Vec<&str> = roots.iter().map(|&i| self.roots[i].name.as_str()).collect();
            names.join(",")
        });
        if self.collisions.record(tld.clone(), Seen::Known(roots))
            && let Some(line) = line
        {
            let winner = winner.map_or("interrupt", |w| self.roots[w].name.as_str());
            match why {
                Some(why) => {
                    tracing::warn!(tld = %tld, roots = %line, winner, policy = %self.policy, decided = %why, "collision: more than one root has this TLD")
                }
                None => {
                    tracing::warn!(tld = %tld, roots = %line, winner, policy = %self.policy, "collision: more than one root has this TLD")
                }
            }
        }
    }

    /// Asks the roots after the winner whether they have the TLD too, in the
    /// background (this query never waits for it). Without a winner (a route
    /// `compare` forced) every root is asked, the forced one included.
    fn spawn_check(&self, tld: LowerName, winner: Option<usize>) {
        let Some(this) = self.self_arc() else { return };
        tokio::spawn(async move {
            let mut having: Vec<usize> = winner.into_iter().collect();
            let mut failed = false;
            for j in winner.map_or(0, |w| w + 1)..this.roots.len() {
                match this.ask_claim(None, j, &tld).await {
                    Ok(true) => having.push(j),
                    Ok(false) => {}
                    Err(_) => failed = true,
                }
            }
            if failed {
                this.collisions
                    .end(tld, Seen::RetryAfter(this.clock.now() + CHECK_RETRY));
            } else {
                this.collisions.running.fetch_sub(1, Ordering::Relaxed);
                // Under `first` the first root that has it wins.
                let winner = having.first().copied();
                this.found(tld, having, winner);
            }
        });
    }
}

#[cfg(test)]
#[path = "route_tests.rs"]
mod tests;
