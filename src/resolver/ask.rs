//! The resolver's front door: a client's question, answered at once from local
//! zones and caches when possible, else by one shared, budgeted resolution.

use std::sync::Arc;

use futures::FutureExt;
use hickory_proto::rr::{LowerName, Name, RecordType};
use tokio::time::Instant;

use super::answer::{Answer, Route};
use super::failure::Failure;
use super::links::{Links, Next};
use super::special;
use super::{Resolver, Snapshot};

/// The resolver's own deadline is this much shorter than `query-timeout`, so a
/// stale answer or a SERVFAIL with its reason reaches the client in time.
const MARGIN: std::time::Duration = std::time::Duration::from_millis(100);

impl Resolver {
    pub(super) fn self_arc(&self) -> Option<Arc<Resolver>> {
        self.me.upgrade()
    }

    /// The answer if it needs no network and no waiting: special-use names, local
    /// zones, cached data, along the whole chain. `None`: call [`Resolver::answer`].
    /// `cd`: the client set CD (RFC 4035 §3.2.2), and gets data unvalidated.
    pub fn answer_now(&self, name: &Name, qtype: RecordType, cd: bool) -> Option<Answer> {
        let snap = self.zones.load();
        self.chain_now(&snap, name, qtype, None, cd)
    }

    fn chain_now(
        &self,
        snap: &Snapshot,
        name: &Name,
        qtype: RecordType,
        first_root: Option<usize>,
        cd: bool,
    ) -> Option<Answer> {
        let mut links = Links::new(name, self.limits.max_cname_chain);
        let mut cur = name.clone();
        loop {
            let route = self.route_now(snap, &cur, links.root(first_root))?;
            links.routed_until(self.route_valid_until(&cur, route));
            let outcome = match route {
                Route::Local => special::special_answer(&cur, qtype),
                Route::Interrupt => special::interruption_answer(&cur, qtype),
                Route::Unrouted => return None,
                Route::Root(i) => self.link_now(i, snap, &cur, qtype)?,
            };
            // A validating root's link is answered here only when its validation
            // is remembered; else the full path validates it.
            let secure = match route {
                Route::Root(i) if !cd && self.validates(i) => {
                    let secure = self.remembered(i, &cur, qtype, &outcome)?;
                    self.stats.dnssec(
                        i,
                        if secure {
                            crate::stats::labels::SECURITY_SECURE
                        } else {
                            crate::stats::labels::SECURITY_INSECURE
                        },
                    );
                    secure
                }
                _ => false,
            };
            match links.add(route, outcome, secure) {
                Next::Done(a) => return Some(a),
                Next::Follow(target) => cur = target,
                // Limits and loops: the full path reports them.
                Next::Fail(_) => return None,
            }
        }
    }

    /// Answers a client's question. Joins the resolution of the same question if
    /// one is on its way; else starts one, if fewer than `max-resolutions` are
    /// running (else SERVFAIL at once: never an unbounded queue).
    pub async fn answer(&self, name: &Name, qtype: RecordType) -> Answer {
        if let Some(a) = self.answer_now(name, qtype, false) {
            return a;
        }
        self.shared(None, name, qtype, false).await
    }

    /// As [`Resolver::answer`], for a caller that just found
    /// [`Resolver::answer_now`] had nothing: straight to the shared resolution.
    pub async fn answer_from_network(&self, name: &Name, qtype: RecordType, cd: bool) -> Answer {
        self.shared(None, name, qtype, cd).await
    }

    /// Answers a question as root `root` sees it (`compare`): the name resolved in
    /// that root whatever the precedence says (special-use names still answered
    /// here), the later links of a chain routed as `serve` routes them.
    pub async fn answer_in(&self, root: usize, name: &Name, qtype: RecordType) -> Answer {
        self.answer_in_checked(root, name, qtype, false).await
    }

    /// As [`Resolver::answer_in`]; with `cd`, the data as the servers gave it,
    /// not validated (RFC 4035 §3.2.2), for checking it under other keys.
    pub async fn answer_in_checked(
        &self,
        root: usize,
        name: &Name,
        qtype: RecordType,
        cd: bool,
    ) -> Answer {
        let snap = self.zones.load();
        if let Some(a) = self.chain_now(&snap, name, qtype, Some(root), cd) {
            return a;
        }
        drop(snap);
        self.shared(Some(root), name, qtype, cd).await
    }

    async fn shared(
        &self,
        first_root: Option<usize>,
        name: &Name,
        qtype: RecordType,
        cd: bool,
    ) -> Answer {
        let Some(this) = self.self_arc() else {
            return Answer::fail(
                Route::Unrouted,
                Failure::Internal {
                    what: "the resolver is shutting down",
                },
            );
        };
        let key = (first_root, LowerName::new(name), qtype, cd);
        let n = name.clone();
        let flight = self.flights.join_or_start(key, || {
            let permit = self.resolutions.clone().try_acquire_owned().ok()?;
            Some(
                async move {
                    let _permit = permit;
                    this.resolve_fresh(&n, qtype, first_root, cd).await
                }
                .boxed(),
            )
        });
        match flight {
            Some(f) => f.await,
            None => {
                let limit = self.limits.max_resolutions;
                self.busy.warn(
                    self.clock.now(),
                    format_args!("max-resolutions = {limit} reached: answering SERVFAIL"),
                );
                Answer::fail(
                    Route::Unrouted,
                    Failure::Busy {
                        what: "max-resolutions",
                        limit,
                    },
                )
            }
        }
    }

    async fn resolve_fresh(
        &self,
        name: &Name,
        qtype: RecordType,
        first_root: Option<usize>,
        cd: bool,
    ) -> Answer {
        let deadline = Instant::now() + self.query_timeout.saturating_sub(MARGIN).max(MARGIN);
        let mut ctx = self.ctx(deadline);
        ctx.cd = cd;
        // The chain checks the deadline before every query; this is the backstop
        // for a wait that does not (a shared claim, a priming in progress).
        let safety = deadline + MARGIN / 2;
        match tokio::time::timeout_at(safety, self.chain(&mut ctx, name, qtype, first_root)).await {
            Ok(a) => a,
            Err(_) => Answer::fail(Route::Unrouted, Failure::Deadline),
        }
    }
}
