//! One question's resolution in one root, as a value that is stepped without I/O.
//!
//! [`Iteration::next`] says what to do: ask server S question Q ([`Step::Send`]),
//! find the addresses of name N ([`Step::NeedAddresses`]), or it is done
//! ([`Step::Done`], [`Step::Fail`]). The driver (`resolver::drive`) does the sending,
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

use hickory_proto::op::{Query, ResponseCode};
use hickory_proto::rr::{LowerName, Name, Record, RecordType};

use super::answer::Source;
use super::cache::{Cache, Data, Delegation, Key, Trust};
use super::classify::{self, Reply};
use super::cut::{AddrRules, Addresses, Bounds, Cut, cached_ns};
pub use super::encrypted::Forwarder;
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

mod forward;
mod lookup;
mod remote;
mod take;

use super::cut::ns_names;
pub use lookup::{cached_answer, chain_target, minimised_labels, stale_answer};
use lookup::{cached_claim, glue_pairs};

//------------ Inputs and outputs ---------------------------------------------

/// How a root finds its answers.
#[derive(Debug)]
pub enum Kind {
    /// In-process zones (the set itself comes with each [`View`]).
    Zones,
    /// Iterate from root hints.
    Hints(Vec<RootServer>),
    /// Ask recursive upstreams (in clear text or encrypted: the driver's business).
    Forward(Vec<Forwarder>),
}

/// A root's settings the machine applies.
#[derive(Clone, Debug)]
pub struct Params {
    /// The servers' port.
    pub port: u16,
    /// The root zone's servers' port (a hints root's `root-port`).
    pub root_port: u16,
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
    /// Does this name belong to another root (as routing knows now; not known is
    /// another)? Its glue and cached addresses in this root are not used: it is
    /// looked up in its own root, like any NS name ([`Step::NeedAddresses`]).
    pub foreign: &'a dyn Fn(&Name) -> bool,
}

impl Params {
    /// The port the servers of `zone` are asked on: `root_port` for the root
    /// zone's, `port` for every other.
    pub fn port_for(&self, zone: &Name) -> u16 {
        if zone.is_root() {
            self.root_port
        } else {
            self.port
        }
    }
}

impl View<'_> {
    /// The address rules for the servers of `zone` (their port included).
    fn rules(&self, zone: &Name) -> AddrRules<'_> {
        AddrRules {
            ipv6: self.params.ipv6,
            allow_loopback: self.params.allow_loopback,
            port: self.params.port_for(zone),
            policy: self.policy,
            foreign: self.foreign,
        }
    }
}

/// What to do next.
#[derive(Debug)]
pub enum Step {
    /// Ask `server` the question (RD set for forwarders). `upstream` is the index
    /// of a forward root's upstream, whose transport (clear text, TLS, HTTPS) the
    /// driver knows; `None` for servers found by iteration (always clear text).
    Send {
        server: SocketAddr,
        query: Query,
        rd: bool,
        upstream: Option<usize>,
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
    /// What goes in the authority section beside the SOA for a DNSSEC-aware client:
    /// a negative answer's proof (the SOA's RRSIGs, NSEC/NSEC3 records and theirs,
    /// TTLs as the SOA's), or a wildcard answer's; from upstream servers, the cache,
    /// or a signed local zone (`Zone::lookup_with_proof`).
    pub proof: Vec<Record>,
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
            proof: Vec::new(),
            next: None,
            source,
        }
    }

    /// The same negative answer with its proof.
    fn with_proof(mut self, proof: Vec<Record>) -> Outcome {
        self.proof = proof;
        self
    }
}

/// What the machine learned, for the driver to store in this root's cache.
#[derive(Debug)]
pub enum Write {
    Rrset(Vec<Record>, Trust),
    /// A negative answer: name, the type (NODATA) or none (NXDOMAIN), the SOA, the
    /// proof that came with it ([`classify::negative_proof`]).
    Negative(
        LowerName,
        Option<RecordType>,
        Box<Record>,
        Vec<Record>,
        Trust,
    ),
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
    /// How far the reply being taken may be believed (authoritative or not).
    trust: Trust,
    /// State of the machine's own random sequence (large NS sets are sampled),
    /// seeded by the driver: the same seed and inputs replay the same steps.
    random: u64,
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
            trust: Trust::Answer,
            random: 0,
        }
    }

    /// Seeds the machine's random sequence (the driver draws the seed from the
    /// resolver's [`crate::resolver::random::Random`]).
    pub fn with_seed(mut self, seed: u64) -> Iteration {
        self.random = seed;
        self
    }

    /// The next number of the machine's sequence.
    fn draw(&mut self) -> u64 {
        super::random::splitmix64(&mut self.random)
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
                State::Finished => Some(Step::Fail(Failure::Internal {
                    what: "a resolution stepped after it finished",
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
            // DS at a zone's apex is the parent's (RFC 4035 §3.1.4.1).
            let local = match view.zones {
                Some(zs) if at_name && parent_side => zs.for_ds(&ln),
                Some(zs) => zs.get(&ln),
                None => None,
            };
            if let Some(z) = local {
                return self.walk_local(z.clone(), view);
            }
            let skip = std::mem::replace(&mut at_name, false) && parent_side;
            if !skip
                && self.mode == Mode::Answer
                && let Some(known) = cached_ns(view.cache, &ln, view.now)
            {
                let mut cut = self.cut(n.clone(), known.names, &known.glue, view);
                if !n.is_root() {
                    cut.expires = known.expires;
                }
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
    fn root_cut(&mut self, hints: &[RootServer], view: &View<'_>) -> Cut {
        let root = Name::root();
        if self.mode != Mode::Prime
            && let Some(known) = cached_ns(view.cache, &LowerName::new(&root), view.now)
        {
            let cut = self.cut(root.clone(), known.names, &known.glue, view);
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

    fn cut(&mut self, zone: Name, ns: Vec<Name>, glue: &[(Name, IpAddr)], view: &View<'_>) -> Cut {
        // BIND 9.21 and Unbound's target-fetch-policy: 3, 2, 1 lookups by depth.
        let glueless = match view.limits.max_glueless_ns {
            0 => 0,
            n => n.saturating_sub(self.depth).max(1),
        };
        let rules = view.rules(&zone);
        Cut::new(
            zone,
            ns,
            glue,
            view.cache,
            view.now,
            rules,
            Bounds {
                max_ns: view.limits.max_ns_per_zone,
                glueless,
                shuffle: self.draw(),
            },
        )
    }

    /// Answers from a zone served in-process; a referral out of it continues with
    /// our own zone for the child if we have one, else with the child's servers.
    fn walk_local(&mut self, zone: Arc<Zone>, view: &View<'_>) -> Option<Step> {
        let mut zone = zone;
        for _ in 0..=view.limits.max_referrals {
            let (lookup, proof) = zone.lookup_with_proof(&self.name, self.qtype);
            let outcome = match lookup {
                Lookup::Answer(records) => Outcome {
                    proof,
                    ..self.local_answer(records)
                },
                Lookup::NoData { soa } => Outcome {
                    proof,
                    ..Outcome::negative(ResponseCode::NoError, Some(soa), self.source)
                },
                Lookup::NxDomain { soa } => Outcome {
                    proof,
                    ..Outcome::negative(ResponseCode::NXDomain, Some(soa), self.source)
                },
                Lookup::NameTooLong { dname } => Outcome {
                    rcode: ResponseCode::YXDomain,
                    records: vec![dname],
                    soa: None,
                    proof: Vec::new(),
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
            proof: Vec::new(),
            next,
            source: self.source,
        }
    }
}

#[cfg(test)]
mod tests;
