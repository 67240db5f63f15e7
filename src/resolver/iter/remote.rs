//! Asking remote servers: the next address or NS-name lookup at the current cut,
//! and what their replies (referrals, minimised answers, priming) change.
use std::net::{IpAddr, SocketAddr};

use hickory_proto::op::{Message, Query, ResponseCode};
use hickory_proto::rr::{LowerName, Name, Record, RecordType};

use super::*;
use crate::resolver::classify::Standing;
use crate::resolver::cut::Fallback;
use crate::resolver::failure::Lame;

impl Iteration {
    //--- Remote servers

    /// The question to ask at this cut: minimised (RFC 9156) or the real one.
    pub(super) fn question(&self, cut: &Cut) -> (Name, RecordType, bool) {
        match self.mode {
            Mode::Claim => return (self.name.clone(), RecordType::NS, false),
            Mode::Prime => return (Name::root(), RecordType::NS, false),
            Mode::Answer => {}
        }
        let nl = self.name.num_labels();
        let k = minimised_labels(
            cut.zone.num_labels(),
            self.next_labels,
            nl,
            self.minimised_sent,
        );
        if self.qmin && k < nl {
            (self.name.trim_to(k as usize), RecordType::NS, true)
        } else {
            (self.name.clone(), self.qtype, false)
        }
    }

    pub(super) fn ask_cut(&mut self, mut cut: Cut, view: &View<'_>) -> Option<Step> {
        if let Some(ip) = cut.next_address(view.infra, view.now) {
            if cut.sent >= view.limits.max_queries_per_zone {
                return self.fail(Failure::Budget {
                    which: Budget::QueriesPerZone,
                    limit: view.limits.max_queries_per_zone,
                });
            }
            let (sname, stype, minimised) = self.question(&cut);
            let server = SocketAddr::new(ip, view.params.port_for(&cut.zone));
            cut.asked.push(ip);
            cut.sent += 1;
            if minimised {
                self.minimised_sent += 1;
            }
            self.source = Source::Network;
            self.asked = Some(Asked {
                sname: sname.clone(),
                stype,
                minimised,
                server,
            });
            self.state = State::Remote(Box::new(cut));
            return Some(Step::Send {
                server,
                query: Query::query(sname, stype),
                rd: false,
                upstream: None,
            });
        }
        if let Some(i) = cut.next_lookup() {
            cut.glueless_left -= 1;
            cut.servers[i].state = Addresses::LookingUp;
            let name = cut.servers[i].name.clone();
            self.state = State::Remote(Box::new(cut));
            return Some(Step::NeedAddresses { name });
        }
        // No server did better than the reply kept as a last resort: take it.
        if let Some(fb) = cut.fallback.take() {
            let asked = Asked {
                sname: fb.sname,
                stype: fb.stype,
                minimised: fb.minimised,
                server: fb.server,
            };
            self.asked = Some(asked.clone());
            self.take_reply(cut, &asked, fb.reply, Trust::NonAuth, view);
            return None;
        }
        // Every server failed the minimised question: ask the real one (relaxed
        // minimisation, RFC 9156 §2.3), once more around the same servers.
        if self.qmin && self.asked.as_ref().is_some_and(|a| a.minimised) {
            self.qmin = false;
            cut.restart();
            self.state = State::Remote(Box::new(cut));
            return None;
        }
        if cut.servers.iter().any(|s| s.state == Addresses::Unknown)
            && cut.servers.iter().all(|s| s.addrs.is_empty())
        {
            return self.fail(Failure::Budget {
                which: Budget::GluelessNs,
                limit: view.limits.max_glueless_ns,
            });
        }
        self.fail(cut.failure())
    }

    /// The addresses of the NS name last asked for, or why there are none.
    pub fn on_addresses(&mut self, result: Result<Vec<IpAddr>, Failure>, view: &View<'_>) {
        let State::Remote(cut) = &mut self.state else {
            return;
        };
        let Some(i) = cut
            .servers
            .iter()
            .position(|s| s.state == Addresses::LookingUp)
        else {
            return;
        };
        match result {
            Ok(addrs) => {
                let rules = view.rules(&cut.zone);
                let addrs = cut.filter(addrs, rules);
                let s = &mut cut.servers[i];
                s.state = if addrs.is_empty() {
                    Addresses::Failed
                } else {
                    Addresses::Known
                };
                s.addrs = addrs;
            }
            // Limits the whole client question shares end it here too.
            Err(f @ (Failure::Budget { .. } | Failure::Deadline | Failure::Local { .. })) => {
                self.state = State::Failed(f);
            }
            Err(f) => {
                cut.servers[i].state = Addresses::Failed;
                cut.lookup_failure = Some(f);
            }
        }
    }

    /// The reply to the last `Send`, or why there is none.
    pub fn on_reply(&mut self, result: Result<Message, ServerError>, view: &View<'_>) {
        let Some(asked) = self.asked.clone() else {
            return;
        };
        match std::mem::replace(&mut self.state, State::Finished) {
            State::Forward { next } => self.forwarder_replied(next, &asked, result, view),
            State::Remote(cut) => self.server_replied(*cut, &asked, result, view),
            other => self.state = other,
        }
    }

    pub(super) fn server_replied(
        &mut self,
        mut cut: Cut,
        asked: &Asked,
        result: Result<Message, ServerError>,
        view: &View<'_>,
    ) {
        let classified =
            result.and_then(|m| classify::classify(&cut.zone, &asked.sname, asked.stype, m));
        let (reply, standing) = match classified {
            Ok(r) => r,
            Err(e) => {
                cut.last_error = Some((asked.server, e));
                self.state = State::Remote(Box::new(cut));
                return;
            }
        };
        let trust = match standing {
            Standing::Take(t) => t,
            Standing::LastResort(why) => {
                // Another server may do better; keep the first such reply.
                if cut.fallback.is_none() {
                    cut.fallback = Some(Box::new(Fallback {
                        sname: asked.sname.clone(),
                        stype: asked.stype,
                        minimised: asked.minimised,
                        server: asked.server,
                        reply,
                    }));
                }
                cut.last_error = Some((asked.server, ServerError::Lame(why)));
                self.state = State::Remote(Box::new(cut));
                return;
            }
        };
        self.take_reply(cut, asked, reply, trust, view);
    }

    /// Takes a reply that may be believed with `trust`.
    pub(super) fn take_reply(
        &mut self,
        mut cut: Cut,
        asked: &Asked,
        reply: Reply,
        trust: Trust,
        view: &View<'_>,
    ) {
        self.trust = trust;
        match (self.mode, reply) {
            (
                _,
                Reply::Referral {
                    cut: child,
                    ns,
                    glue,
                },
            ) => {
                self.referred(child, ns, glue, cut.expires, view);
            }
            (Mode::Claim, Reply::NxDomain { soa, proof }) => {
                if let Some(s) = &soa {
                    self.writes.push(Write::Negative(
                        self.lname.clone(),
                        None,
                        Box::new(s.clone()),
                        proof,
                        trust,
                    ));
                }
                self.done(Outcome::negative(
                    ResponseCode::NXDomain,
                    soa,
                    Source::Network,
                ));
            }
            (Mode::Claim, _) => {
                self.done(Outcome::negative(
                    ResponseCode::NoError,
                    None,
                    Source::Network,
                ));
            }
            (Mode::Prime, Reply::Answer(m)) => {
                self.primed(&m);
                self.done(Outcome::negative(
                    ResponseCode::NoError,
                    None,
                    Source::Network,
                ));
            }
            (Mode::Prime, _) => {
                let e = ServerError::Lame(Lame::NoPrimingSet);
                cut.last_error = Some((asked.server, e));
                self.state = State::Remote(Box::new(cut));
            }
            (Mode::Answer, r) if asked.minimised => self.minimised_reply(cut, asked, r, view),
            (Mode::Answer, Reply::Answer(m)) => {
                let o = self.take_answer(&cut, &m, view);
                self.done(o);
            }
            (Mode::Answer, Reply::NoData { soa, proof }) => {
                let o = self.negative(ResponseCode::NoError, soa, proof, view);
                self.done(o);
            }
            (Mode::Answer, Reply::NxDomain { soa, proof }) => {
                let o = self.negative(ResponseCode::NXDomain, soa, proof, view);
                self.done(o);
            }
        }
    }

    /// A referral to `child`: remember both the delegation and the NS RRset, then
    /// continue there (in our own zone for it, if we serve one).
    pub(super) fn referred(
        &mut self,
        child: Name,
        ns: Vec<Record>,
        glue: Vec<Record>,
        parent_expires: u64,
        view: &View<'_>,
    ) {
        // No longer than the cut that gave it (the ghost-domain fix).
        let (ns, glue) = capped(ns, glue, parent_expires, view.now);
        if self.mode == Mode::Claim {
            // The root zone's servers delegate the TLD: the root has it.
            self.remember_referral(&child, &ns, &glue);
            self.done(Outcome::negative(
                ResponseCode::NoError,
                None,
                Source::Network,
            ));
            return;
        }
        self.referrals += 1;
        if self.referrals > view.limits.max_referrals {
            self.fail(Failure::Budget {
                which: Budget::Referrals,
                limit: view.limits.max_referrals,
            });
            return;
        }
        self.remember_referral(&child, &ns, &glue);
        self.next_labels = 0;
        if let Some(z) = view.zones.and_then(|zs| zs.get(&LowerName::new(&child))) {
            // Back into our own zones: walk_local only ever sets the state.
            let _ = self.walk_local(z.clone(), view);
            return;
        }
        let mut names = ns_names(&ns);
        // The child's own NS set, if an earlier answer taught it, goes first.
        if let Some(known) = cached_ns(view.cache, &LowerName::new(&child), view.now) {
            let mut all = known.names;
            all.extend(names);
            names = all;
        }
        let ttl = ns.iter().map(|r| r.ttl).min().unwrap_or(0);
        let mut c = self.cut(child, names, &glue_pairs(&glue), view);
        c.expires = expiry(view.now, ttl, parent_expires);
        self.state = State::Remote(Box::new(c));
    }

    pub(super) fn remember_referral(&mut self, child: &Name, ns: &[Record], glue: &[Record]) {
        let ttl = ns.iter().map(|r| r.ttl).min().unwrap_or(0);
        self.writes.push(Write::Delegation(
            child.clone(),
            Delegation {
                ns: ns_names(ns),
                glue: glue_pairs(glue),
            },
            ttl,
        ));
        self.writes.push(Write::Rrset(ns.to_vec(), Trust::Referral));
        for set in classify::group(glue.iter().cloned()) {
            self.writes.push(Write::Rrset(set, Trust::Glue));
        }
    }

    /// The priming reply: the root's NS set and every address given for it.
    pub(super) fn primed(&mut self, m: &Message) {
        let root = Name::root();
        let ns = classify::ns_rrset(&m.answers, &root);
        let glue = classify::glue_for(&root, &ns, &m.additionals);
        self.writes.push(Write::Rrset(ns, Trust::Answer));
        for set in classify::group(glue) {
            self.writes.push(Write::Rrset(set, Trust::Glue));
        }
    }

    /// A reply to a minimised question (RFC 9156 §3).
    pub(super) fn minimised_reply(
        &mut self,
        mut cut: Cut,
        asked: &Asked,
        reply: Reply,
        view: &View<'_>,
    ) {
        match reply {
            // Referrals are taken before minimised replies are looked at.
            Reply::Referral { .. } => {}
            Reply::Answer(m) => {
                let ns = classify::ns_rrset(&m.answers, &asked.sname);
                if ns.is_empty() {
                    // A CNAME at an intermediate name, or garbage: ask the real question.
                    self.qmin = false;
                    cut.restart();
                    self.state = State::Remote(Box::new(cut));
                    return;
                }
                // The same servers are authoritative for the child too: a cut at the
                // minimised name whose servers are the child's NS names and, as a
                // fallback, the servers that just answered.
                let glue = classify::glue_for(&cut.zone, &ns, &m.additionals);
                let (ns, glue) = capped(ns, glue, cut.expires, view.now);
                self.writes.push(Write::Rrset(ns.clone(), self.trust));
                self.next_labels = 0;
                let ttl = ns.iter().map(|r| r.ttl).min().unwrap_or(0);
                let mut child =
                    self.cut(asked.sname.clone(), ns_names(&ns), &glue_pairs(&glue), view);
                child.expires = expiry(view.now, ttl, cut.expires);
                for s in cut.servers.drain(..) {
                    if !child.servers.iter().any(|c| c.name == s.name) {
                        child.servers.push(s);
                    }
                }
                child.sent = cut.sent;
                self.state = State::Remote(Box::new(child));
            }
            Reply::NoData { .. } => {
                // An empty non-terminal, or a name in the same zone: one label more.
                self.next_labels = asked.sname.num_labels() + 1;
                cut.restart();
                self.state = State::Remote(Box::new(cut));
            }
            Reply::NxDomain { .. } => {
                // Relaxed minimisation (RFC 9156 §2.3): some servers answer NXDOMAIN
                // for empty non-terminals, so ask the full name.
                self.qmin = false;
                cut.restart();
                self.state = State::Remote(Box::new(cut));
            }
        }
    }
}

/// An NS set and its glue with TTLs no longer than the cut they came from has
/// left (`parent_expires`, Unix seconds).
pub(super) fn capped(
    mut ns: Vec<Record>,
    mut glue: Vec<Record>,
    parent_expires: u64,
    now: u64,
) -> (Vec<Record>, Vec<Record>) {
    if parent_expires != u64::MAX {
        let left = u32::try_from(parent_expires.saturating_sub(now)).unwrap_or(u32::MAX);
        for r in ns.iter_mut().chain(glue.iter_mut()) {
            r.ttl = r.ttl.min(left);
        }
    }
    (ns, glue)
}

/// When a cut learned now with `ttl` expires, no later than its parent.
pub(super) fn expiry(now: u64, ttl: u32, parent_expires: u64) -> u64 {
    (now + u64::from(ttl)).min(parent_expires)
}
