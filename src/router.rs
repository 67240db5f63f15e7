//! Which root answers a name (DESIGN §4.1, §4.2, §4.4, §4.8), and the CNAME chain
//! across roots.
//!
//! [`Router::route`] is the one place that decides: special-use names first (they
//! never leave the machine), then a `pin`, then the first root that has the TLD, with
//! the collision policy applied when more than one root has it.
//! [`Router::resolve`] follows CNAMEs link by link, routing each link by its own TLD.

use std::collections::{HashMap, HashSet};
use std::future::Future;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::pin::Pin;
use std::sync::{Arc, RwLock};

use hickory_proto::op::ResponseCode;
use hickory_proto::rr::rdata::{A, AAAA, MX, SOA, TXT};
use hickory_proto::rr::{LowerName, Name, RData, Record, RecordType};

use crate::config::Policy;
use crate::names::SPECIAL_TLDS;
use crate::resolve::{Engine, Outcome, Source, ZoneSnapshot, with_snapshot};

/// CNAME links followed before SERVFAIL (DESIGN §4.4).
pub const MAX_CNAME_CHAIN: usize = 16;
/// TTL of controlled-interruption and special-use answers.
const LOCAL_TTL: u32 = 3600;

//------------ Resolution ----------------------------------------------------

/// The whole answer to a client's question.
#[derive(Clone, Debug)]
pub struct Resolution {
    pub rcode: ResponseCode,
    pub answers: Vec<Record>,
    /// The SOA of a negative answer.
    pub authority: Vec<Record>,
    /// The root that answered the last link ("local" for special-use names,
    /// "interrupt" for controlled interruption).
    pub root: String,
    /// Where the answer came from: the most expensive source of any link.
    pub source: Source,
    pub reason: Option<String>,
}

impl Resolution {
    pub fn servfail(root: &str, reason: impl Into<String>) -> Resolution {
        Resolution {
            rcode: ResponseCode::ServFail,
            answers: Vec::new(),
            authority: Vec::new(),
            root: root.to_string(),
            source: Source::Network,
            reason: Some(reason.into()),
        }
    }
}

/// Where a name goes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Route {
    /// Answered here without any root (special-use names).
    Local,
    /// The controlled-interruption answer (a colliding TLD under `interrupt`).
    Interrupt,
    /// The root at this index.
    Root(usize),
}

//------------ Router ---------------------------------------------------------

pub struct Router {
    pub roots: Vec<Engine>,
    policy: Policy,
    /// TLD → root index.
    pin: HashMap<LowerName, usize>,
    /// TLDs already reported as collisions, with the roots that have them.
    collisions: RwLock<HashMap<LowerName, Vec<String>>>,
}

impl Router {
    pub fn new(roots: Vec<Engine>, policy: Policy, pin: HashMap<LowerName, usize>) -> Router {
        Router {
            roots,
            policy,
            pin,
            collisions: RwLock::new(HashMap::new()),
        }
    }

    /// Collisions seen so far: TLD → roots that have it, in order.
    pub fn collisions_seen(&self) -> HashMap<LowerName, Vec<String>> {
        self.collisions
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// Forgets which TLDs collide (after a zone reload changed what a root has).
    pub fn forget_collisions(&self) {
        self.collisions
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .clear();
    }

    /// Answers a client's question: routes each CNAME link by its TLD.
    /// The whole query sees one snapshot of the zones (atomic reloads).
    pub async fn resolve(self: &Arc<Self>, name: &Name, qtype: RecordType) -> Resolution {
        with_snapshot(self.snapshot(), self.resolve_depth(name, qtype, 0)).await
    }

    /// Every zones root's zones as loaded now.
    pub fn snapshot(&self) -> ZoneSnapshot {
        Arc::new(self.roots.iter().map(Engine::live_zones).collect())
    }

    /// Answers a question as root `root` sees it, for `compare`: the name is
    /// resolved in that root whatever the precedence says (special-use names are
    /// still answered locally), and the links of a CNAME chain after it are routed
    /// as `serve` routes them.
    pub async fn resolve_in(
        self: &Arc<Self>,
        root: usize,
        name: &Name,
        qtype: RecordType,
    ) -> Resolution {
        with_snapshot(
            self.snapshot(),
            self.resolve_chain(name, qtype, 0, Some(root)),
        )
        .await
    }

    pub(crate) async fn resolve_depth(
        self: &Arc<Self>,
        name: &Name,
        qtype: RecordType,
        depth: usize,
    ) -> Resolution {
        self.resolve_chain(name, qtype, depth, None).await
    }

    async fn resolve_chain(
        self: &Arc<Self>,
        name: &Name,
        qtype: RecordType,
        depth: usize,
        first_root: Option<usize>,
    ) -> Resolution {
        let mut answers: Vec<Record> = Vec::new();
        let mut cur = name.clone();
        let mut seen = HashSet::new();
        let mut source = Source::Local;
        let mut root_name = String::new();
        for _ in 0..=MAX_CNAME_CHAIN {
            if !seen.insert(LowerName::new(&cur)) {
                return Resolution::servfail(&root_name, format!("CNAME loop at {cur}"));
            }
            let mut route = self.route(&cur).await;
            if let Some(i) = first_root.filter(|_| answers.is_empty() && route != Route::Local) {
                route = Route::Root(i);
            }
            let outcome = match route {
                Route::Local => {
                    root_name = "local".into();
                    special_answer(&cur, qtype)
                }
                Route::Interrupt => {
                    root_name = "interrupt".into();
                    interruption_answer(&cur, qtype)
                }
                Route::Root(i) => {
                    let engine = &self.roots[i];
                    root_name = engine.name.clone();
                    engine.resolve(self, &cur, qtype, depth).await
                }
            };
            source = source.max(outcome.source);
            if outcome.rcode == ResponseCode::ServFail {
                let mut r = Resolution::servfail(&root_name, outcome.reason.unwrap_or_default());
                r.source = source;
                return r;
            }
            let target = match outcome.records.first().map(|r| &r.data) {
                Some(RData::CNAME(c)) if qtype != RecordType::CNAME && qtype != RecordType::ANY => {
                    Some(c.0.clone())
                }
                _ => None,
            };
            answers.extend(outcome.records);
            match target {
                Some(t) => cur = t,
                None => {
                    return Resolution {
                        rcode: outcome.rcode,
                        answers,
                        authority: outcome.soa.into_iter().collect(),
                        root: root_name,
                        source,
                        reason: None,
                    };
                }
            }
        }
        Resolution::servfail(
            &root_name,
            format!("CNAME chain from {name} longer than {MAX_CNAME_CHAIN}"),
        )
    }

    /// Addresses of a name-server name, resolved through whatever root owns it.
    /// (Boxed as `dyn Future + Send`: it recurses back into the engines.)
    pub fn addresses<'a>(
        self: &'a Arc<Self>,
        name: &'a Name,
        ipv6: bool,
        depth: usize,
    ) -> Pin<Box<dyn Future<Output = Vec<IpAddr>> + Send + 'a>> {
        Box::pin(async move {
            let mut out = Vec::new();
            let mut types = vec![RecordType::A];
            if ipv6 {
                types.push(RecordType::AAAA);
            }
            for t in types {
                let r = self.resolve_depth(name, t, depth).await;
                out.extend(r.answers.iter().filter_map(|r| match &r.data {
                    RData::A(a) => Some(IpAddr::V4(a.0)),
                    RData::AAAA(a) => Some(IpAddr::V6(a.0)),
                    _ => None,
                }));
            }
            out
        })
    }

    /// Decides which root (or none) answers `name`.
    pub async fn route(self: &Arc<Self>, name: &Name) -> Route {
        if name.is_root() {
            return Route::Root(0);
        }
        let tld = name.trim_to(1);
        let ltld = LowerName::new(&tld);
        // The TLD as text, without allocating on this per-query path.
        let last = name.iter().next_back().unwrap_or_default();
        let tld_str = std::str::from_utf8(last).unwrap_or("");
        let is = |s: &str| tld_str.eq_ignore_ascii_case(s);

        // 1. Special-use names never leave the machine.
        if is("localhost") {
            return Route::Local;
        }
        if SPECIAL_TLDS.iter().any(|s| is(s)) {
            return self
                .roots
                .iter()
                .position(|r| r.zones().is_some_and(|z| z.has_tld(&ltld)))
                .map_or(Route::Local, Route::Root);
        }

        // 2. A pin decides alone.
        if let Some(&i) = self.pin.get(&ltld) {
            return Route::Root(i);
        }

        // 3. The first root that has the TLD; the last one catches the rest.
        let last = self.roots.len() - 1;
        let mut winner = None;
        for (i, root) in self.roots.iter().enumerate() {
            if i == last || root.has_tld(self, &tld).await == Some(true) {
                winner = Some(i);
                break;
            }
        }
        let winner = winner.unwrap_or(last);

        match self.policy {
            Policy::Interrupt => {
                if self.collides(&tld, winner).await {
                    return Route::Interrupt;
                }
            }
            Policy::First => {
                if winner < last && !self.already_checked(&ltld) {
                    // Find out in the background whether a later root has it too, to
                    // log and count the collision; this query never waits for it.
                    let me = self.clone();
                    let tld = tld.clone();
                    tokio::spawn(async move {
                        me.collides(&tld, winner).await;
                    });
                }
            }
        }
        Route::Root(winner)
    }

    fn already_checked(&self, tld: &LowerName) -> bool {
        self.collisions
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .contains_key(tld)
    }

    /// Does any root other than `winner` have `tld`? Records and logs the answer once.
    async fn collides(self: &Arc<Self>, tld: &Name, winner: usize) -> bool {
        let ltld = LowerName::new(tld);
        if let Some(roots) = self
            .collisions
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .get(&ltld)
        {
            return roots.len() > 1;
        }
        let mut having = Vec::new();
        for (i, root) in self.roots.iter().enumerate() {
            if i == winner || root.has_tld(self, tld).await == Some(true) {
                having.push(root.name.clone());
            }
        }
        if having.len() > 1 {
            tracing::warn!(
                tld = %ltld,
                roots = %having.join(","),
                winner = %self.roots[winner].name,
                policy = ?self.policy,
                "collision: more than one root has this TLD"
            );
        }
        let collides = having.len() > 1;
        self.collisions
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .insert(ltld, having);
        collides
    }
}

fn soa_for(zone: &Name) -> Record {
    let rname = Name::from_ascii("nobody.invalid.").unwrap_or_else(|_| Name::root());
    Record::from_rdata(
        zone.clone(),
        LOCAL_TTL,
        RData::SOA(SOA::new(
            zone.clone(),
            rname,
            1,
            3600,
            1200,
            604_800,
            LOCAL_TTL,
        )),
    )
}

/// RFC 6761 answers: `localhost` and names below it are loopback; the other special
/// TLDs do not exist.
fn special_answer(name: &Name, qtype: RecordType) -> Outcome {
    let tld = name.trim_to(1);
    let is_localhost = name
        .iter()
        .next_back()
        .is_some_and(|l| l.eq_ignore_ascii_case(b"localhost"));
    let rec = |data: RData| Record::from_rdata(name.clone(), LOCAL_TTL, data);
    let (rcode, records) = if is_localhost {
        let r = match qtype {
            RecordType::A => vec![rec(RData::A(A(Ipv4Addr::LOCALHOST)))],
            RecordType::AAAA => vec![rec(RData::AAAA(AAAA(Ipv6Addr::LOCALHOST)))],
            _ => vec![],
        };
        (ResponseCode::NoError, r)
    } else {
        (ResponseCode::NXDomain, vec![])
    };
    let soa = records.is_empty().then(|| soa_for(&tld));
    Outcome {
        rcode,
        records,
        soa,
        source: Source::Local,
        reason: None,
    }
}

/// ICANN's controlled interruption (name-collision framework, 2014): 127.0.53.53 and
/// a note saying why, for every name in a colliding TLD.
fn interruption_answer(name: &Name, qtype: RecordType) -> Outcome {
    let tld = name.trim_to(1);
    let rec = |data: RData| Record::from_rdata(name.clone(), LOCAL_TTL, data);
    let records = match qtype {
        RecordType::A => vec![rec(RData::A(A(Ipv4Addr::new(127, 0, 53, 53))))],
        RecordType::AAAA => vec![rec(RData::AAAA(AAAA(
            Ipv4Addr::new(127, 0, 53, 53).to_ipv6_mapped(),
        )))],
        RecordType::TXT => vec![rec(RData::TXT(TXT::new(vec![format!(
            "Your DNS configuration needs immediate attention: {tld} is in more than one root (altroot collisions policy = interrupt)"
        )])))],
        RecordType::MX => {
            let target = tld
                .prepend_label("your-dns-needs-immediate-attention")
                .unwrap_or_else(|_| tld.clone());
            vec![rec(RData::MX(MX::new(10, target)))]
        }
        _ => vec![],
    };
    let soa = records.is_empty().then(|| soa_for(&tld));
    Outcome {
        rcode: ResponseCode::NoError,
        records,
        soa,
        source: Source::Local,
        reason: None,
    }
}
