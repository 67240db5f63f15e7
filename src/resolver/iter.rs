//! One question's resolution in one root, as a value that is stepped without I/O.
//!
//! [`Iteration::next`] says what to do: ask server S question Q ([`Step::Send`]),
//! find the addresses of name N ([`Step::NeedAddresses`]), or it is done
//! ([`Step::Done`], [`Step::Fail`]). The driver ([`super::drive`]) does the sending,
//! the nested lookups, the routing between roots and the caching, and feeds what
//! happened back with [`Iteration::on_reply`] and [`Iteration::on_addresses`]. What
//! the machine learned for the cache is drained with [`Iteration::take_writes`].
//! Reads of zones, cache and server statistics come in through a [`View`].
//!
//! Iteration keeps a current zone cut: a zone served in-process (walked at once, no
//! network), or remote servers. It starts at the deepest local zone or cached cut
//! above the name (for a hints root, the primed root servers or the hints), asks
//! minimised questions (RFC 9156 §2.3) unless that fails, and follows referrals
//! strictly downward. An answer is one link: the data, or a CNAME / DNAME whose
//! target the driver routes and resolves as the next link (each link may belong to
//! another root).

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use hickory_proto::op::{Message, Query, ResponseCode};
use hickory_proto::rr::{LowerName, Name, RData, Record, RecordType};

use super::answer::Source;
use super::cache::{Cache, Data, Delegation, Key, Trust};
use super::classify::{self, Reply};
use super::cut::{AddrRules, Addresses, Cut, cached_ns};
use super::failure::{Budget, Failure, ServerError};
use super::infra::Infra;
use super::policy::AddressPolicy;
use crate::config::LimitsConfig;
use crate::zones::hints::RootServer;
use crate::zones::{Lookup, Zone, ZoneSet};

/// RFC 9156 §2.3: at most this many minimised questions per name…
const MAX_MINIMISE_COUNT: usize = 10;
/// …the first this many one label at a time, the rest in larger steps.
const MINIMISE_ONE_LAB: usize = 4;

//------------ Inputs and outputs ---------------------------------------------

/// How a root finds its answers.
#[derive(Debug)]
pub enum Kind {
    /// In-process zones (the set itself comes with each [`View`]).
    Zones,
    /// Iterate from root hints.
    Hints(Vec<RootServer>),
    /// Ask recursive upstreams.
    Forward(Vec<SocketAddr>),
}

/// A root's settings the machine applies.
#[derive(Clone, Debug)]
pub struct Params {
    pub port: u16,
    pub qmin: bool,
    pub ipv6: bool,
    pub allow_loopback: bool,
}

/// What the machine may read.
pub struct View<'a> {
    pub kind: &'a Kind,
    pub params: &'a Params,
    pub zones: Option<&'a ZoneSet>,
    pub cache: &'a Cache,
    pub infra: &'a Infra,
    pub policy: &'a AddressPolicy,
    pub limits: &'a LimitsConfig,
    /// Wall-clock seconds.
    pub now: u64,
}

impl View<'_> {
    fn rules(&self) -> AddrRules<'_> {
        AddrRules {
            ipv6: self.params.ipv6,
            allow_loopback: self.params.allow_loopback,
            port: self.params.port,
            policy: self.policy,
        }
    }
}

/// What to do next.
#[derive(Debug)]
pub enum Step {
    /// Ask `server` the question (RD set for forwarders).
    Send {
        server: SocketAddr,
        query: Query,
        rd: bool,
    },
    /// Find the addresses of this NS name (in whatever root owns it), then call
    /// [`Iteration::on_addresses`].
    NeedAddresses {
        name: Name,
    },
    Done(Box<Outcome>),
    Fail(Failure),
}

/// What one root says about one name: one link of the answer.
#[derive(Clone, Debug)]
pub struct Outcome {
    pub rcode: ResponseCode,
    /// This link's records: the data; or a CNAME; or a DNAME and the CNAME
    /// synthesised from it; or (from a forwarder) a chain within the name's TLD.
    pub records: Vec<Record>,
    /// With a negative answer: the SOA, TTL as clients see it (RFC 2308).
    pub soa: Option<Record>,
    /// The CNAME target still to resolve, if the answer continues elsewhere.
    pub next: Option<Name>,
    pub source: Source,
}

impl Outcome {
    fn negative(rcode: ResponseCode, soa: Option<Record>, source: Source) -> Outcome {
        Outcome {
            rcode,
            records: Vec::new(),
            soa,
            next: None,
            source,
        }
    }
}

/// What the machine learned, for the driver to store in this root's cache.
#[derive(Debug)]
pub enum Write {
    Rrset(Vec<Record>, Trust),
    Negative(LowerName, Option<RecordType>, Box<Record>),
    Delegation(Name, Delegation, u32),
}

/// What the question is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// A client's question (or a link, or an NS name's address).
    Answer,
    /// "Does this root have the TLD?": one `<tld>. NS` question to the root's top
    /// servers (hints root) or upstream (forward root); NOERROR means yes.
    Claim,
    /// RFC 8109 priming: `. NS` to the hints, to learn the current root servers.
    Prime,
}

//------------ Iteration ------------------------------------------------------

#[derive(Debug)]
enum State {
    Start,
    Remote(Box<Cut>),
    Forward { next: usize },
    Done(Box<Outcome>),
    Failed(Failure),
    Finished,
}

/// The question last sent.
#[derive(Clone, Debug)]
struct Asked {
    sname: Name,
    stype: RecordType,
    minimised: bool,
    server: SocketAddr,
}

#[derive(Debug)]
pub struct Iteration {
    name: Name,
    lname: LowerName,
    qtype: RecordType,
    mode: Mode,
    /// Nesting depth of this lookup (0: a client question): fewer glueless NS names
    /// may be looked up the deeper it is.
    depth: usize,
    state: State,
    referrals: usize,
    /// QNAME minimisation: still on, labels of the next minimised name (0: one below
    /// the cut), minimised questions sent so far.
    qmin: bool,
    next_labels: u8,
    minimised_sent: usize,
    asked: Option<Asked>,
    source: Source,
    writes: Vec<Write>,
    /// The last forwarder failure.
    forward_error: Option<Failure>,
}

impl Iteration {
    /// `depth` counts nested name-server lookups above this one (0: a client's).
    pub fn new(name: &Name, qtype: RecordType, mode: Mode, depth: usize, qmin: bool) -> Iteration {
        Iteration {
            name: name.clone(),
            lname: LowerName::new(name),
            qtype,
            mode,
            depth,
            state: State::Start,
            referrals: 0,
            qmin: qmin && mode == Mode::Answer && qtype != RecordType::DS,
            next_labels: 0,
            minimised_sent: 0,
            asked: None,
            source: Source::Local,
            writes: Vec::new(),
            forward_error: None,
        }
    }

    /// What the machine learned since the last call, for the cache.
    pub fn take_writes(&mut self) -> Vec<Write> {
        std::mem::take(&mut self.writes)
    }

    /// The next step. After `Send` or `NeedAddresses`, feed the result in before
    /// calling again; `Done` and `Fail` are final.
    pub fn next(&mut self, view: &View<'_>) -> Step {
        // Local delegations and restarts change the state without a step to take;
        // bounded, so a zone set that delegates in circles cannot spin.
        for _ in 0..view.limits.max_referrals + 8 {
            let step = match std::mem::replace(&mut self.state, State::Finished) {
                State::Start => self.start(view),
                State::Remote(cut) => self.ask_cut(*cut, view),
                State::Forward { next } => self.ask_forwarder(next, view),
                State::Done(o) => Some(Step::Done(o)),
                State::Failed(f) => Some(Step::Fail(f)),
                State::Finished => Some(Step::Fail(Failure::Loop {
                    what: "resolution stepped after it finished".into(),
                })),
            };
            if let Some(s) = step {
                return s;
            }
        }
        self.state = State::Finished;
        Step::Fail(Failure::Loop {
            what: format!("delegations loop above {}", self.name),
        })
    }

    fn done(&mut self, o: Outcome) -> Option<Step> {
        self.state = State::Done(Box::new(o));
        None
    }

    fn fail(&mut self, f: Failure) -> Option<Step> {
        self.state = State::Failed(f);
        None
    }

    //--- Start

    fn start(&mut self, view: &View<'_>) -> Option<Step> {
        if self.mode == Mode::Answer
            && let Some(o) = cached_answer(view.cache, &self.name, self.qtype, view.now)
        {
            return self.done(o);
        }
        if self.mode == Mode::Claim
            && let Some(o) = cached_claim(view.cache, &self.lname, view.now)
        {
            return self.done(o);
        }
        match view.kind {
            Kind::Forward(_) => {
                self.state = State::Forward { next: 0 };
                None
            }
            Kind::Zones | Kind::Hints(_) => self.start_iterating(view),
        }
    }

    /// The deepest local zone or cached cut at or above the name; else the root.
    fn start_iterating(&mut self, view: &View<'_>) -> Option<Step> {
        let parent_side = self.qtype == RecordType::DS;
        let mut n = self.name.clone();
        let mut at_name = true;
        loop {
            let ln = LowerName::new(&n);
            if let Some(z) = view.zones.and_then(|zs| zs.get(&ln)) {
                return self.walk_local(z.clone(), view);
            }
            let skip = std::mem::replace(&mut at_name, false) && parent_side;
            if !skip
                && self.mode == Mode::Answer
                && let Some((ns, glue)) = cached_ns(view.cache, &ln, view.now)
            {
                let cut = self.cut(n.clone(), ns, &glue, view);
                if cut.servers.iter().any(|s| !s.addrs.is_empty()) {
                    self.state = State::Remote(Box::new(cut));
                    return None;
                }
            }
            if n.is_root() {
                break;
            }
            n = n.base_name();
        }
        match view.kind {
            Kind::Hints(hints) => {
                let cut = self.root_cut(hints, view);
                self.state = State::Remote(Box::new(cut));
                None
            }
            // A zones root without a zone for the name (and no root.zone).
            _ => self.done(Outcome::negative(
                ResponseCode::NXDomain,
                None,
                Source::Local,
            )),
        }
    }

    /// The root's servers: primed (a cached `. NS` set) when known, else the hints.
    fn root_cut(&self, hints: &[RootServer], view: &View<'_>) -> Cut {
        let root = Name::root();
        if self.mode != Mode::Prime
            && let Some((ns, glue)) = cached_ns(view.cache, &LowerName::new(&root), view.now)
        {
            let cut = self.cut(root.clone(), ns, &glue, view);
            if cut.servers.iter().any(|s| !s.addrs.is_empty()) {
                return cut;
            }
        }
        let ns = hints.iter().map(|h| h.name.clone()).collect();
        let glue: Vec<(Name, IpAddr)> = hints
            .iter()
            .flat_map(|h| h.addrs.iter().map(|a| (h.name.clone(), *a)))
            .collect();
        self.cut(root, ns, &glue, view)
    }

    fn cut(&self, zone: Name, ns: Vec<Name>, glue: &[(Name, IpAddr)], view: &View<'_>) -> Cut {
        // BIND 9.21 and Unbound's target-fetch-policy: 3, 2, 1 lookups by depth.
        let glueless = match view.limits.max_glueless_ns {
            0 => 0,
            n => n.saturating_sub(self.depth).max(1),
        };
        Cut::new(
            zone,
            ns,
            glue,
            view.cache,
            view.now,
            view.rules(),
            (view.limits.max_ns_per_zone, glueless),
        )
    }

    /// Answers from a zone served in-process; a referral out of it continues with
    /// our own zone for the child if we have one, else with the child's servers.
    fn walk_local(&mut self, zone: Arc<Zone>, view: &View<'_>) -> Option<Step> {
        let mut zone = zone;
        for _ in 0..=view.limits.max_referrals {
            let outcome = match zone.lookup(&self.name, self.qtype) {
                Lookup::Answer(records) => self.local_answer(records),
                Lookup::NoData { soa } => {
                    Outcome::negative(ResponseCode::NoError, Some(soa), self.source)
                }
                Lookup::NxDomain { soa } => {
                    Outcome::negative(ResponseCode::NXDomain, Some(soa), self.source)
                }
                Lookup::NameTooLong { dname } => Outcome {
                    rcode: ResponseCode::YXDomain,
                    records: vec![dname],
                    soa: None,
                    next: None,
                    source: self.source,
                },
                Lookup::Referral { cut, ns, glue } => {
                    if let Some(z) = view.zones.and_then(|zs| zs.get(&LowerName::new(&cut))) {
                        zone = z.clone();
                        continue;
                    }
                    if self.mode == Mode::Claim {
                        return self.done(Outcome::negative(
                            ResponseCode::NoError,
                            None,
                            self.source,
                        ));
                    }
                    self.referrals += 1;
                    let c = self.cut(cut, ns_names(&ns), &glue_pairs(&glue), view);
                    self.state = State::Remote(Box::new(c));
                    return None;
                }
            };
            return self.done(outcome);
        }
        self.fail(Failure::Loop {
            what: format!("local delegations loop above {}", self.name),
        })
    }

    fn local_answer(&self, mut records: Vec<Record>) -> Outcome {
        if self.qtype == RecordType::ANY {
            // RFC 8482: one RRset is enough.
            if let Some(first) = records.first().map(|r| r.record_type()) {
                records.retain(|r| r.record_type() == first);
            }
        }
        let next = chain_target(&self.name, self.qtype, &records);
        Outcome {
            rcode: ResponseCode::NoError,
            records,
            soa: None,
            next,
            source: self.source,
        }
    }

    //--- Remote servers

    /// The question to ask at this cut: minimised (RFC 9156) or the real one.
    fn question(&self, cut: &Cut) -> (Name, RecordType, bool) {
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

    fn ask_cut(&mut self, mut cut: Cut, view: &View<'_>) -> Option<Step> {
        if let Some(ip) = cut.next_address(view.infra, view.now) {
            if cut.sent >= view.limits.max_queries_per_zone {
                return self.fail(Failure::Budget {
                    which: Budget::QueriesPerZone,
                    limit: view.limits.max_queries_per_zone,
                });
            }
            let (sname, stype, minimised) = self.question(&cut);
            let server = SocketAddr::new(ip, view.params.port);
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
            });
        }
        if let Some(i) = cut.next_lookup() {
            cut.glueless_left -= 1;
            cut.servers[i].state = Addresses::LookingUp;
            let name = cut.servers[i].name.clone();
            self.state = State::Remote(Box::new(cut));
            return Some(Step::NeedAddresses { name });
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
                let addrs = cut.filter(addrs, view.rules());
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

    fn server_replied(
        &mut self,
        mut cut: Cut,
        asked: &Asked,
        result: Result<Message, ServerError>,
        view: &View<'_>,
    ) {
        let reply =
            result.and_then(|m| classify::classify(&cut.zone, &asked.sname, asked.stype, m));
        let reply = match reply {
            Ok(r) => r,
            Err(e) => {
                cut.last_error = Some((asked.server, e));
                self.state = State::Remote(Box::new(cut));
                return;
            }
        };
        match (self.mode, reply) {
            (
                _,
                Reply::Referral {
                    cut: child,
                    ns,
                    glue,
                },
            ) => {
                self.referred(child, ns, glue, view);
            }
            (Mode::Claim, Reply::NxDomain { soa }) => {
                if let Some(s) = &soa {
                    self.writes.push(Write::Negative(
                        self.lname.clone(),
                        None,
                        Box::new(s.clone()),
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
                self.primed(&m, view);
                self.done(Outcome::negative(
                    ResponseCode::NoError,
                    None,
                    Source::Network,
                ));
            }
            (Mode::Prime, _) => {
                let e = ServerError::Lame("no root NS set in the priming reply".into());
                cut.last_error = Some((asked.server, e));
                self.state = State::Remote(Box::new(cut));
            }
            (Mode::Answer, r) if asked.minimised => self.minimised_reply(cut, asked, r, view),
            (Mode::Answer, Reply::Answer(m)) => {
                let o = self.take_answer(&cut.zone, &m, view);
                self.done(o);
            }
            (Mode::Answer, Reply::NoData { soa }) => {
                let o = self.negative(ResponseCode::NoError, soa, view);
                self.done(o);
            }
            (Mode::Answer, Reply::NxDomain { soa }) => {
                let o = self.negative(ResponseCode::NXDomain, soa, view);
                self.done(o);
            }
        }
    }

    /// A referral to `child`: remember both the delegation and the NS RRset, then
    /// continue there (in our own zone for it, if we serve one).
    fn referred(&mut self, child: Name, ns: Vec<Record>, glue: Vec<Record>, view: &View<'_>) {
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
        if let Some((known, _)) = cached_ns(view.cache, &LowerName::new(&child), view.now) {
            let mut all = known;
            all.extend(names);
            names = all;
        }
        let c = self.cut(child, names, &glue_pairs(&glue), view);
        self.state = State::Remote(Box::new(c));
    }

    fn remember_referral(&mut self, child: &Name, ns: &[Record], glue: &[Record]) {
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
    fn primed(&mut self, m: &Message, _view: &View<'_>) {
        let root = Name::root();
        let ns: Vec<Record> = m
            .answers
            .iter()
            .filter(|r| r.name == root && r.record_type() == RecordType::NS)
            .cloned()
            .collect();
        let glue = classify::glue_for(&root, &ns, &m.additionals);
        self.writes.push(Write::Rrset(ns, Trust::Answer));
        for set in classify::group(glue) {
            self.writes.push(Write::Rrset(set, Trust::Glue));
        }
    }

    /// A reply to a minimised question (RFC 9156 §3).
    fn minimised_reply(&mut self, mut cut: Cut, asked: &Asked, reply: Reply, view: &View<'_>) {
        match reply {
            // Referrals are taken before minimised replies are looked at.
            Reply::Referral { .. } => {}
            Reply::Answer(m) => {
                let ns: Vec<Record> = m
                    .answers
                    .iter()
                    .filter(|r| r.name == asked.sname && r.record_type() == RecordType::NS)
                    .cloned()
                    .collect();
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
                self.writes.push(Write::Rrset(ns.clone(), Trust::Answer));
                self.next_labels = 0;
                let mut child =
                    self.cut(asked.sname.clone(), ns_names(&ns), &glue_pairs(&glue), view);
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

    //--- Taking answers

    /// One TTL per RRset, the lowest (RFC 2181 §5.2), clamped: the first answer
    /// looks like every cached one after it. Only records inside `zone`.
    fn answer_sets(&self, zone: &Name, m: &Message, view: &View<'_>) -> Vec<Vec<Record>> {
        let mut sets = classify::group(
            m.answers
                .iter()
                .filter(|r| r.dns_class == hickory_proto::rr::DNSClass::IN && zone.zone_of(&r.name))
                .cloned(),
        );
        for set in &mut sets {
            let ttl = view
                .cache
                .rules
                .positive(set.iter().map(|r| r.ttl).min().unwrap_or(0));
            for r in set.iter_mut() {
                r.ttl = ttl;
            }
        }
        sets
    }

    /// An authoritative answer. RFC 2181 §5.4.1: AA covers the query name only, so
    /// only its link is taken; the driver asks for each later link itself (a stale
    /// copy the server holds below a cut it hides never reaches clients).
    fn take_answer(&mut self, zone: &Name, m: &Message, view: &View<'_>) -> Outcome {
        let sets = self.answer_sets(zone, m, view);
        let rcode = m.metadata.response_code;
        let soa = classify::negative_soa(zone, &m.authorities);
        self.take_link(&sets, rcode, soa, view)
    }

    /// The link for the asked name from answer RRsets, with its cache writes.
    fn take_link(
        &mut self,
        sets: &[Vec<Record>],
        rcode: ResponseCode,
        soa: Option<Record>,
        view: &View<'_>,
    ) -> Outcome {
        let source = Source::Network;
        let cacheable = self.qtype != RecordType::ANY;
        let (records, next, rcode) = match classify::take(sets, &self.name, self.qtype) {
            classify::Taken::Data(set) => {
                if cacheable {
                    self.writes.push(Write::Rrset(set.clone(), Trust::Answer));
                }
                (set, None, ResponseCode::NoError)
            }
            classify::Taken::Cname { set, target } => {
                self.writes.push(Write::Rrset(set.clone(), Trust::Answer));
                let next = (self.qtype != RecordType::CNAME).then_some(target);
                (set, next, rcode)
            }
            classify::Taken::Dname {
                dname,
                cname,
                target,
            } => {
                self.writes.push(Write::Rrset(dname.clone(), Trust::Answer));
                let mut records = dname;
                records.push(*cname);
                (records, Some(target), ResponseCode::NoError)
            }
            classify::Taken::TooLong { dname } => (dname, None, ResponseCode::YXDomain),
            classify::Taken::Nothing => {
                return self.negative(
                    if rcode == ResponseCode::NXDomain {
                        ResponseCode::NXDomain
                    } else {
                        ResponseCode::NoError
                    },
                    soa,
                    view,
                );
            }
        };
        // A chain that ends in NXDOMAIN keeps its rcode (RFC 6604); the link's own
        // answer is NOERROR unless the chain goes no further.
        let rcode = if next.is_some() {
            ResponseCode::NoError
        } else {
            rcode
        };
        Outcome {
            rcode,
            records,
            soa: None,
            next,
            source,
        }
    }

    /// NODATA or NXDOMAIN for the asked name, cached with its SOA (RFC 2308).
    fn negative(&mut self, rcode: ResponseCode, soa: Option<Record>, view: &View<'_>) -> Outcome {
        if let Some(s) = &soa
            && self.qtype != RecordType::ANY
        {
            let rtype = (rcode == ResponseCode::NoError).then_some(self.qtype);
            self.writes.push(Write::Negative(
                self.lname.clone(),
                rtype,
                Box::new(s.clone()),
            ));
        }
        let soa = soa.map(|s| view.cache.rules.negative_soa(&s));
        Outcome::negative(rcode, soa, Source::Network)
    }

    //--- Forwarders

    fn ask_forwarder(&mut self, next: usize, view: &View<'_>) -> Option<Step> {
        let Kind::Forward(upstreams) = view.kind else {
            return self.fail(Failure::Loop {
                what: "forwarding in a root that does not forward".into(),
            });
        };
        let Some(server) = upstreams.get(next).copied() else {
            let f = self.forward_error.take().unwrap_or(Failure::Unreachable {
                zone: Name::root(),
                why: "no upstream".into(),
            });
            return self.fail(f);
        };
        if let Err(why) = view.policy.check(server, view.params.allow_loopback) {
            self.forward_error = Some(Failure::Denied {
                zone: Name::root(),
                why,
            });
            self.state = State::Forward { next: next + 1 };
            return None;
        }
        let qtype = match self.mode {
            Mode::Claim => RecordType::NS,
            _ => self.qtype,
        };
        self.source = Source::Network;
        self.asked = Some(Asked {
            sname: self.name.clone(),
            stype: qtype,
            minimised: false,
            server,
        });
        self.state = State::Forward { next };
        Some(Step::Send {
            server,
            query: Query::query(self.name.clone(), qtype),
            rd: true,
        })
    }

    /// A forwarder's reply is its resolved view: NOERROR and NXDOMAIN are taken as
    /// they are; the chain is kept as far as it stays in the asked name's TLD (a link
    /// into another TLD is routed, and may belong to another root).
    fn forwarder_replied(
        &mut self,
        next: usize,
        asked: &Asked,
        result: Result<Message, ServerError>,
        view: &View<'_>,
    ) {
        let root = Name::root();
        let m = match result {
            Err(e) => {
                self.forward_error = Some(Failure::from_server(&root, asked.server, &e));
                self.state = State::Forward { next: next + 1 };
                return;
            }
            Ok(m) => m,
        };
        match m.metadata.response_code {
            ResponseCode::NoError | ResponseCode::NXDomain => {}
            ResponseCode::Refused => {
                self.forward_error = Some(Failure::Refused {
                    server: asked.server,
                });
                self.state = State::Forward { next: next + 1 };
                return;
            }
            rcode => {
                self.forward_error = Some(Failure::ServFail {
                    server: asked.server,
                    rcode,
                });
                self.state = State::Forward { next: next + 1 };
                return;
            }
        }
        let o = if self.mode == Mode::Claim {
            self.claim_from_forwarder(&m)
        } else {
            self.forwarded_chain(&m, view)
        };
        self.done(o);
    }

    fn claim_from_forwarder(&mut self, m: &Message) -> Outcome {
        let rcode = m.metadata.response_code;
        let soa = classify::negative_soa(&Name::root(), &m.authorities);
        if rcode == ResponseCode::NXDomain
            && let Some(s) = &soa
        {
            self.writes.push(Write::Negative(
                self.lname.clone(),
                None,
                Box::new(s.clone()),
            ));
        }
        if rcode == ResponseCode::NoError {
            let ns: Vec<Record> = m
                .answers
                .iter()
                .filter(|r| r.name == self.name && r.record_type() == RecordType::NS)
                .cloned()
                .collect();
            self.writes.push(Write::Rrset(ns, Trust::Answer));
        }
        Outcome::negative(rcode, None, Source::Network)
    }

    fn forwarded_chain(&mut self, m: &Message, view: &View<'_>) -> Outcome {
        let tld = classify::tld_of(&self.name);
        let sets = self.answer_sets(&Name::root(), m, view);
        let rcode = m.metadata.response_code;
        let soa = classify::negative_soa(&Name::root(), &m.authorities);
        let mut out = self.take_link(&sets, rcode, soa.clone(), view);
        // Follow the chain while it stays in this TLD (same routing, same root).
        let mut seen = vec![self.lname.clone()];
        while let Some(target) = out.next.clone() {
            if classify::tld_of(&target) != tld || seen.contains(&LowerName::new(&target)) {
                break;
            }
            seen.push(LowerName::new(&target));
            let mut link = Iteration::new(&target, self.qtype, Mode::Answer, self.depth, false);
            let o = link.take_link(&sets, rcode, soa.clone(), view);
            self.writes.append(&mut link.writes);
            if o.records.is_empty() && o.rcode == ResponseCode::NoError && o.soa.is_none() {
                // The forwarder did not include this link: resolve it on its own.
                break;
            }
            out.records.extend(o.records);
            out.rcode = o.rcode;
            out.soa = o.soa;
            out.next = o.next;
        }
        out
    }
}

//------------ Helpers ----------------------------------------------------------

/// A cached answer a client may see (trust Answer): NXDOMAIN for the name, the
/// RRset, a CNAME, or NODATA.
pub fn cached_answer(cache: &Cache, name: &Name, qtype: RecordType, now: u64) -> Option<Outcome> {
    if qtype == RecordType::ANY {
        return None;
    }
    let ln = LowerName::new(name);
    if let Some(h) = cache.get(&Key::NxDomain(ln.clone()), now)
        && let Data::NxDomain(soa) = h.data
    {
        return Some(Outcome::negative(
            ResponseCode::NXDomain,
            soa,
            Source::Cache,
        ));
    }
    let mut types = vec![qtype];
    if qtype != RecordType::CNAME {
        types.push(RecordType::CNAME);
    }
    for t in types {
        let Some(h) = cache.get(&Key::Set(ln.clone(), t), now) else {
            continue;
        };
        if h.trust < Trust::Answer {
            continue;
        }
        match h.data {
            Data::Records(r) => {
                let next = chain_target(name, qtype, &r);
                return Some(Outcome {
                    rcode: ResponseCode::NoError,
                    records: r,
                    soa: None,
                    next,
                    source: Source::Cache,
                });
            }
            Data::NoData(soa) if t == qtype => {
                return Some(Outcome::negative(ResponseCode::NoError, soa, Source::Cache));
            }
            _ => {}
        }
    }
    None
}

/// A stale answer for a failed question (RFC 8767), TTLs 30.
pub fn stale_answer(cache: &Cache, name: &Name, qtype: RecordType, now: u64) -> Option<Outcome> {
    if qtype == RecordType::ANY {
        return None;
    }
    let ln = LowerName::new(name);
    if let Some(h) = cache.get_stale(&Key::NxDomain(ln.clone()), now)
        && let Data::NxDomain(soa) = h.data
    {
        return Some(Outcome::negative(
            ResponseCode::NXDomain,
            soa,
            Source::Stale,
        ));
    }
    for t in [qtype, RecordType::CNAME] {
        let Some(h) = cache.get_stale(&Key::Set(ln.clone(), t), now) else {
            continue;
        };
        if h.trust < Trust::Answer {
            continue;
        }
        match h.data {
            Data::Records(r) => {
                let next = chain_target(name, qtype, &r);
                return Some(Outcome {
                    rcode: ResponseCode::NoError,
                    records: r,
                    soa: None,
                    next,
                    source: Source::Stale,
                });
            }
            Data::NoData(soa) if t == qtype => {
                return Some(Outcome::negative(ResponseCode::NoError, soa, Source::Stale));
            }
            _ => {}
        }
    }
    None
}

/// What the cache knows of a TLD claim: an NXDOMAIN for the TLD means no; its
/// delegation or NS set means yes.
fn cached_claim(cache: &Cache, tld: &LowerName, now: u64) -> Option<Outcome> {
    if cache.get(&Key::NxDomain(tld.clone()), now).is_some() {
        return Some(Outcome::negative(
            ResponseCode::NXDomain,
            None,
            Source::Cache,
        ));
    }
    let has = cache.get(&Key::Delegation(tld.clone()), now).is_some()
        || cache
            .get(&Key::Set(tld.clone(), RecordType::NS), now)
            .is_some();
    has.then(|| Outcome::negative(ResponseCode::NoError, None, Source::Cache))
}

/// The CNAME target that continues an answer: a CNAME owned by `name` (a
/// synthesised one after a DNAME too), unless the CNAME itself was asked for.
pub fn chain_target(name: &Name, qtype: RecordType, records: &[Record]) -> Option<Name> {
    if qtype == RecordType::CNAME || qtype == RecordType::ANY {
        return None;
    }
    records.iter().find_map(|r| match &r.data {
        RData::CNAME(c) if r.name == *name => Some(c.0.clone()),
        _ => None,
    })
}

fn ns_names(ns: &[Record]) -> Vec<Name> {
    ns.iter()
        .filter_map(|r| match &r.data {
            RData::NS(n) => Some(n.0.clone()),
            _ => None,
        })
        .collect()
}

fn glue_pairs(glue: &[Record]) -> Vec<(Name, IpAddr)> {
    glue.iter()
        .filter_map(|r| super::cut::addr_of(r).map(|a| (r.name.clone(), a)))
        .collect()
}

/// How many labels of the name to show in the next minimised question (RFC 9156
/// §2.3): one more than is known (the cut, or an empty non-terminal seen), one label
/// at a time for the first questions, then in steps that reach the full name within
/// `MAX_MINIMISE_COUNT` questions — so a 34-label ip6.arpa name needs ten, not 34.
pub fn minimised_labels(zone_labels: u8, next_labels: u8, name_labels: u8, sent: usize) -> u8 {
    let known = zone_labels.max(next_labels.saturating_sub(1));
    let left = name_labels.saturating_sub(known) as usize;
    let step = if sent < MINIMISE_ONE_LAB {
        1
    } else {
        let rounds = MAX_MINIMISE_COUNT.saturating_sub(sent).max(1);
        left.div_ceil(rounds).max(1)
    };
    let k = known as usize + step;
    k.min(name_labels as usize) as u8
}
