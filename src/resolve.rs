//! The resolver engine of one root: iterative resolution from a root (in-process
//! zones or root hints), or forwarding to recursive upstreams (DESIGN §4.3–4.7).
//!
//! An engine answers one question about one name — the asked type or that name's
//! CNAME — and never follows a CNAME itself: following is the router's job, because
//! each link of a chain may belong to another root (DESIGN §4.4).
//!
//! Iteration keeps a current zone cut and its servers, which are either a zone we
//! serve in-process ([`At::Local`]) or remote name servers ([`At::Remote`]). Local
//! zones are asked directly, so a delegation that leads back into our own zones is
//! answered without any network. Remote replies are classified strictly:
//! records are believed only inside the zone the server was asked about (bailiwick);
//! a referral must lead strictly downward toward the name; anything else is treated
//! as a lame server and the next server is tried.

use std::collections::{HashMap, HashSet};
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use hickory_proto::op::{Message, Query, ResponseCode};
use hickory_proto::rr::{LowerName, Name, RData, Record, RecordType};

use crate::cache::{Cache, Data, Trust};
use crate::config::RootConfig;
use crate::router::Router;
use crate::transport;
use crate::zones::hints::RootServer;
use crate::zones::{Lookup, SharedZones, Zone, ZoneSet};

/// Referrals followed for one question before giving up (loops end here).
const MAX_STEPS: usize = 32;
/// Nested resolutions of name-server names (glueless delegations) before giving up.
pub const MAX_DEPTH: usize = 4;
/// Servers tried for one step.
const MAX_TRIES_PER_STEP: usize = 8;
/// RFC 9156 §2.3: at most this many minimised questions per name…
const MAX_MINIMISE_COUNT: usize = 10;
/// …the first this many one label at a time, the rest in larger steps.
const MINIMISE_ONE_LAB: usize = 4;
/// How long a server that timed out is tried only after the others.
const DOWN_FOR: Duration = Duration::from_secs(60);

//------------ Outcome ---------------------------------------------------------

/// Where an answer came from, for the query log.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Source {
    /// In-process zones or a synthesised answer: no cache, no network.
    Local,
    /// This root's cache.
    Cache,
    /// At least one server was asked.
    Network,
}

impl Source {
    pub fn as_str(self) -> &'static str {
        match self {
            Source::Local => "local",
            Source::Cache => "hit",
            Source::Network => "miss",
        }
    }
}

/// What one root says about one name and type.
#[derive(Clone, Debug)]
pub struct Outcome {
    pub rcode: ResponseCode,
    /// Records owned by the asked name: the asked type, or its CNAME.
    pub records: Vec<Record>,
    /// With a negative answer: the SOA of the zone that gave it (RFC 2308).
    pub soa: Option<Record>,
    pub source: Source,
    /// Why a SERVFAIL happened (for the log).
    pub reason: Option<String>,
}

impl Outcome {
    fn answer(records: Vec<Record>, source: Source) -> Outcome {
        Outcome {
            rcode: ResponseCode::NoError,
            records,
            soa: None,
            source,
            reason: None,
        }
    }

    fn negative(rcode: ResponseCode, soa: Option<Record>, source: Source) -> Outcome {
        Outcome {
            rcode,
            records: Vec::new(),
            soa,
            source,
            reason: None,
        }
    }

    pub fn servfail(reason: impl Into<String>) -> Outcome {
        Outcome {
            rcode: ResponseCode::ServFail,
            records: Vec::new(),
            soa: None,
            source: Source::Network,
            reason: Some(reason.into()),
        }
    }
}

//------------ Engine ----------------------------------------------------------

pub enum Kind {
    /// In-process zones; the lock is swapped whole on reload.
    Zones(SharedZones),
    Hints(Vec<RootServer>),
    Forward {
        upstreams: Vec<SocketAddr>,
        tlds: HashSet<LowerName>,
    },
}

/// Every zones root's zone set as one query found it, by root index. A query runs
/// inside [`with_snapshot`], so all its steps — each CNAME link, each nested
/// name-server lookup — see the same zones even when a reload swaps them meanwhile.
pub type ZoneSnapshot = Arc<Vec<Option<Arc<ZoneSet>>>>;

tokio::task_local! {
    static SNAPSHOT: ZoneSnapshot;
}

/// Runs `fut` with `snap` as the zones every engine sees.
pub async fn with_snapshot<F: std::future::Future>(snap: ZoneSnapshot, fut: F) -> F::Output {
    SNAPSHOT.scope(snap, fut).await
}

pub struct Engine {
    pub name: String,
    /// This root's position in the router (its slot in a [`ZoneSnapshot`]).
    pub index: usize,
    pub kind: Kind,
    pub cache: Cache,
    port: u16,
    qmin: bool,
    ipv6: bool,
    /// Time limit for one query to one server.
    try_timeout: Duration,
    /// Time limit for one whole resolution (the client's `query-timeout`).
    limit: Duration,
    /// Resolutions on their way, so that many clients asking the same uncached
    /// question at once cause one resolution, not many.
    inflight: std::sync::Mutex<HashMap<(LowerName, RecordType, usize), Pending>>,
    /// Servers that timed out or refused the connection, until when they count as
    /// down (tried last).
    down: std::sync::Mutex<HashMap<IpAddr, tokio::time::Instant>>,
}

/// A resolution others may wait for.
type Pending = futures::future::Shared<futures::future::BoxFuture<'static, Outcome>>;

#[derive(Clone, Debug)]
struct NsServer {
    name: Name,
    addrs: Vec<IpAddr>,
}

enum At {
    Local(Arc<Zone>),
    Remote { zone: Name, servers: Vec<NsServer> },
}

/// A remote server's reply, classified.
enum Reply {
    /// Data (or a CNAME) for the name asked.
    Answer(Message),
    Referral {
        cut: Name,
        ns: Vec<Record>,
        glue: Vec<Record>,
    },
    NoData(Option<Record>),
    NxDomain(Option<Record>),
}

impl Engine {
    pub fn new(
        index: usize,
        cfg: &RootConfig,
        kind: Kind,
        cache: Cache,
        query_timeout: Duration,
    ) -> Engine {
        // A silent server must leave time to try others within the client's limit.
        let try_timeout =
            (query_timeout / 4).clamp(Duration::from_millis(200), Duration::from_millis(1500));
        Engine {
            name: cfg.name.clone(),
            index,
            kind,
            cache,
            port: cfg.port,
            qmin: cfg.qname_minimisation,
            ipv6: cfg.ipv6,
            try_timeout,
            limit: query_timeout,
            inflight: Default::default(),
            down: Default::default(),
        }
    }

    /// The zones of a `zones` root: the snapshot the current query took (see
    /// [`ZoneSnapshot`]), or as loaded now outside a query.
    pub fn zones(&self) -> Option<Arc<ZoneSet>> {
        if !self.is_zones() {
            return None;
        }
        if let Ok(Some(snap)) = SNAPSHOT.try_with(|s| s.get(self.index).cloned().flatten()) {
            return Some(snap);
        }
        self.live_zones()
    }

    /// The zones as loaded now, ignoring any snapshot.
    pub fn live_zones(&self) -> Option<Arc<ZoneSet>> {
        match &self.kind {
            Kind::Zones(z) => Some(z.read().unwrap_or_else(|p| p.into_inner()).clone()),
            _ => None,
        }
    }

    pub fn is_zones(&self) -> bool {
        matches!(self.kind, Kind::Zones(_))
    }

    /// Resolves one name and type in this root. `depth` counts nested name-server
    /// resolutions (glueless delegations).
    pub async fn resolve(
        &self,
        router: &Arc<Router>,
        name: &Name,
        qtype: RecordType,
        depth: usize,
    ) -> Outcome {
        let lname = LowerName::new(name);
        if let Some(o) = self.cached_answer(&lname, qtype) {
            return o;
        }
        if self.is_zones() {
            // Mostly answered in-process: sharing would cost more than it saves.
            return self.iterate(router, name, qtype, depth).await;
        }
        self.shared(router, lname, name, qtype, depth).await
    }

    /// Joins the resolution of the same question already on its way, or starts one
    /// as a task of its own: it runs to the end (bounded by `query-timeout`) even if
    /// the client that started it gives up, and then fills the cache for the others.
    async fn shared(
        &self,
        router: &Arc<Router>,
        lname: LowerName,
        name: &Name,
        qtype: RecordType,
        depth: usize,
    ) -> Outcome {
        use futures::FutureExt;
        let key = (lname, qtype, depth);
        let pending = {
            let mut map = self.inflight.lock().unwrap_or_else(|p| p.into_inner());
            if let Some(p) = map.get(&key) {
                p.clone()
            } else {
                let (r, index, name, k) = (router.clone(), self.index, name.clone(), key.clone());
                let limit = self.limit;
                let task = tokio::spawn(async move {
                    let engine = &r.roots[index];
                    let work = async {
                        match &engine.kind {
                            Kind::Forward { upstreams, .. } => {
                                engine.forward(upstreams, &name, qtype).await
                            }
                            _ => engine.iterate(&r, &name, qtype, depth).await,
                        }
                    };
                    let out = tokio::time::timeout(limit, work).await.unwrap_or_else(|_| {
                        Outcome::servfail(format!("no answer within {limit:?}"))
                    });
                    engine
                        .inflight
                        .lock()
                        .unwrap_or_else(|p| p.into_inner())
                        .remove(&k);
                    out
                });
                let p: Pending = async move {
                    task.await
                        .unwrap_or_else(|e| Outcome::servfail(format!("resolution failed: {e}")))
                }
                .boxed()
                .shared();
                map.insert(key, p.clone());
                p
            }
        };
        pending.await
    }

    fn cached_answer(&self, lname: &LowerName, qtype: RecordType) -> Option<Outcome> {
        if let Some(h) = self.cache.get_nxdomain(lname)
            && let Data::NxDomain(soa) = h.data
        {
            return Some(Outcome::negative(
                ResponseCode::NXDomain,
                soa,
                Source::Cache,
            ));
        }
        if qtype == RecordType::ANY {
            return None;
        }
        let mut types = vec![qtype];
        if qtype != RecordType::CNAME {
            types.push(RecordType::CNAME);
        }
        for t in types {
            if let Some(h) = self.cache.get_rrset(lname, t) {
                if h.trust < Trust::Answer {
                    continue;
                }
                match h.data {
                    Data::Records(r) => return Some(Outcome::answer(r, Source::Cache)),
                    Data::NoData(soa) if t == qtype => {
                        return Some(Outcome::negative(ResponseCode::NoError, soa, Source::Cache));
                    }
                    _ => {}
                }
            }
        }
        None
    }

    //--- Does this root have a TLD?

    /// `Some(true/false)` when known, `None` when the root could not be asked.
    pub async fn has_tld(&self, router: &Arc<Router>, tld: &Name) -> Option<bool> {
        let ltld = LowerName::new(tld);
        match &self.kind {
            Kind::Zones(_) => self.zones().map(|z| z.has_tld(&ltld)),
            Kind::Forward { tlds, .. } => Some(tlds.contains(&ltld)),
            Kind::Hints(hints) => {
                if self.cache.get_nxdomain(&ltld).is_some() {
                    return Some(false);
                }
                if self.cache.get_rrset(&ltld, RecordType::NS).is_some() {
                    return Some(true);
                }
                let servers = hint_servers(hints);
                let root = Name::root();
                match self
                    .ask(router, &root, &servers, tld, RecordType::NS, 0)
                    .await
                {
                    Ok(Reply::Referral { ns, glue, .. }) => {
                        self.cache_referral(ns, glue);
                        Some(true)
                    }
                    Ok(Reply::Answer(_)) | Ok(Reply::NoData(_)) => Some(true),
                    Ok(Reply::NxDomain(soa)) => {
                        self.cache.put_negative(&ltld, None, soa);
                        Some(false)
                    }
                    Err(e) => {
                        tracing::debug!(root = %self.name, %tld, "cannot ask root servers: {e}");
                        None
                    }
                }
            }
        }
    }

    //--- Forwarding

    async fn forward(&self, upstreams: &[SocketAddr], name: &Name, qtype: RecordType) -> Outcome {
        let q = Query::query(name.clone(), qtype);
        let mut last = String::from("no upstream");
        for up in upstreams {
            match transport::query(*up, &q, true, self.try_timeout).await {
                Err(e) => last = e.to_string(),
                Ok(msg) => match msg.metadata.response_code {
                    ResponseCode::NoError | ResponseCode::NXDomain => {
                        return self.take_answer(None, name, qtype, &msg);
                    }
                    rc => last = format!("{up} answered {rc}"),
                },
            }
        }
        Outcome::servfail(last)
    }

    //--- Iteration

    async fn iterate(
        &self,
        router: &Arc<Router>,
        name: &Name,
        qtype: RecordType,
        depth: usize,
    ) -> Outcome {
        let lname = LowerName::new(name);
        let mut at = match self.start(&lname, qtype == RecordType::DS) {
            Some(at) => at,
            None => return Outcome::negative(ResponseCode::NXDomain, None, Source::Local),
        };
        let mut qmin = self.qmin && qtype != RecordType::DS;
        // Labels of the minimised name asked next (0: one below the current cut).
        let mut next_labels: u8 = 0;
        // Minimised questions sent so far (RFC 9156 §2.3 limits them).
        let mut minimised_sent: usize = 0;
        let mut source = Source::Local;

        for _ in 0..MAX_STEPS + MAX_MINIMISE_COUNT {
            match at {
                At::Local(zone) => match zone.lookup(&lname, qtype) {
                    Lookup::Answer(r) => return Outcome::answer(r, source),
                    Lookup::NoData { soa } => {
                        return Outcome::negative(ResponseCode::NoError, Some(soa), source);
                    }
                    Lookup::NxDomain { soa } => {
                        return Outcome::negative(ResponseCode::NXDomain, Some(soa), source);
                    }
                    Lookup::Referral { cut, ns, glue } => {
                        at = self.next_at(&cut, &ns, &glue);
                        next_labels = 0;
                    }
                    // Only so that the match is complete: DNAME answers are wired
                    // through the engine separately. RFC 6672 §2.2: YXDOMAIN.
                    Lookup::NameTooLong { dname } => {
                        return Outcome {
                            rcode: ResponseCode::YXDomain,
                            ..Outcome::answer(vec![dname], source)
                        };
                    }
                },
                At::Remote { zone, servers } => {
                    let nl = name.num_labels();
                    let k = minimised_labels(zone.num_labels(), next_labels, nl, minimised_sent);
                    let (sname, stype, minimised) = if qmin && k < nl {
                        minimised_sent += 1;
                        (name.trim_to(k as usize), RecordType::NS, true)
                    } else {
                        (name.clone(), qtype, false)
                    };
                    source = Source::Network;
                    let reply = match self
                        .ask(router, &zone, &servers, &sname, stype, depth)
                        .await
                    {
                        Ok(r) => r,
                        Err(_) if minimised => {
                            // Relaxed minimisation: some servers mishandle NS queries
                            // for names that are not cuts; ask them the real question.
                            qmin = false;
                            at = At::Remote { zone, servers };
                            continue;
                        }
                        Err(e) => return Outcome::servfail(e),
                    };
                    match reply {
                        Reply::Referral { cut, ns, glue } => {
                            self.cache_referral(ns.clone(), glue.clone());
                            next_labels = 0;
                            at = self.next_at(&cut, &ns, &glue);
                        }
                        Reply::Answer(msg) if minimised => {
                            // The same servers are authoritative for the child too.
                            let ns: Vec<Record> = msg
                                .answers
                                .iter()
                                .filter(|r| r.name == sname && r.record_type() == RecordType::NS)
                                .cloned()
                                .collect();
                            if ns.is_empty() {
                                // A CNAME at an intermediate name, or garbage: ask in full.
                                qmin = false;
                                at = At::Remote { zone, servers };
                                continue;
                            }
                            let glue = in_bailiwick_glue(&zone, &ns, &msg.additionals);
                            next_labels = 0;
                            self.cache.put_rrset(ns.clone(), Trust::Answer);
                            at = match self.next_at(&sname, &ns, &glue) {
                                // No address for the child's servers in the answer (minimal
                                // responses): the servers that just answered for the child
                                // are authoritative for it, so keep asking them.
                                At::Remote { servers: child, .. }
                                    if child.iter().all(|s| s.addrs.is_empty()) =>
                                {
                                    At::Remote {
                                        zone: sname,
                                        servers,
                                    }
                                }
                                other => other,
                            };
                        }
                        Reply::Answer(msg) => {
                            return self.take_answer(Some(&zone), name, qtype, &msg);
                        }
                        Reply::NoData(_) if minimised => {
                            // An empty non-terminal or a name in the same zone: one label more.
                            next_labels = sname.num_labels() + 1;
                            at = At::Remote { zone, servers };
                        }
                        Reply::NxDomain(_) if minimised => {
                            // Relaxed minimisation (RFC 9156 §2.3): some servers answer
                            // NXDOMAIN for empty non-terminals, so ask the full name.
                            qmin = false;
                            at = At::Remote { zone, servers };
                        }
                        Reply::NoData(soa) => {
                            let soa = self.cache.put_negative(&lname, Some(qtype), soa);
                            return Outcome::negative(ResponseCode::NoError, soa, Source::Network);
                        }
                        Reply::NxDomain(soa) => {
                            let soa = self.cache.put_negative(&lname, None, soa);
                            return Outcome::negative(ResponseCode::NXDomain, soa, Source::Network);
                        }
                    }
                }
            }
        }
        Outcome::servfail(format!("more than {MAX_STEPS} referrals for {name}"))
    }

    /// Where iteration starts: the deepest local zone or cached delegation above the
    /// name, else the root (hints, or our root.zone).
    /// With `parent_side` (a DS question, RFC 4035 §3.1.4.1), a remote cut at the
    /// name itself is skipped: DS lives in the parent zone. (Our own zones have no
    /// DS yet and answer NODATA themselves.)
    fn start(&self, lname: &LowerName, parent_side: bool) -> Option<At> {
        let zones = self.zones();
        let mut n: Name = lname.into();
        let mut at_name = true;
        loop {
            let ln = LowerName::new(&n);
            if let Some(z) = zones.as_ref().and_then(|zs| zs.get(&ln)) {
                return Some(At::Local(z.clone()));
            }
            let skip = std::mem::replace(&mut at_name, false) && parent_side;
            if !skip
                && let Some(hit) = self.cache.get_rrset(&ln, RecordType::NS)
                && let Data::Records(ns) = hit.data
            {
                let servers = self.servers_for(&ns, &[]);
                if servers.iter().any(|s| !s.addrs.is_empty()) {
                    return Some(At::Remote { zone: n, servers });
                }
            }
            if n.is_root() {
                break;
            }
            n = n.base_name();
        }
        match &self.kind {
            Kind::Hints(h) => Some(At::Remote {
                zone: Name::root(),
                servers: hint_servers(h),
            }),
            _ => None,
        }
    }

    /// After a referral to `cut`: our own zone for it if we serve it, else its servers.
    fn next_at(&self, cut: &Name, ns: &[Record], glue: &[Record]) -> At {
        if let Some(z) = self
            .zones()
            .and_then(|zs| zs.get(&LowerName::new(cut)).cloned())
        {
            return At::Local(z);
        }
        At::Remote {
            zone: cut.clone(),
            servers: self.servers_for(ns, glue),
        }
    }

    fn servers_for(&self, ns: &[Record], glue: &[Record]) -> Vec<NsServer> {
        let mut out: Vec<NsServer> = Vec::new();
        for r in ns {
            let RData::NS(target) = &r.data else { continue };
            let target = target.0.clone();
            if out.iter().any(|s| s.name == target) {
                continue;
            }
            let mut addrs: Vec<IpAddr> = glue
                .iter()
                .filter(|g| g.name == target)
                .filter_map(|g| self.addr_of(g))
                .collect();
            if addrs.is_empty() {
                let lt = LowerName::new(&target);
                for t in [RecordType::A, RecordType::AAAA] {
                    if let Some(h) = self.cache.get_rrset(&lt, t)
                        && let Data::Records(rs) = h.data
                    {
                        addrs.extend(rs.iter().filter_map(|g| self.addr_of(g)));
                    }
                }
            }
            out.push(NsServer {
                name: target,
                addrs,
            });
        }
        // Servers with known addresses first; the others need a lookup.
        out.sort_by_key(|s| s.addrs.is_empty());
        out
    }

    fn addr_of(&self, r: &Record) -> Option<IpAddr> {
        match &r.data {
            RData::A(a) => Some(IpAddr::V4(a.0)),
            RData::AAAA(a) if self.ipv6 => Some(IpAddr::V6(a.0)),
            _ => None,
        }
    }

    fn cache_referral(&self, ns: Vec<Record>, glue: Vec<Record>) {
        self.cache.put_rrset(ns, Trust::Referral);
        for set in group(glue) {
            self.cache.put_rrset(set, Trust::Glue);
        }
    }

    /// Asks the servers of `zone` one question until one gives a usable reply.
    async fn ask(
        &self,
        router: &Arc<Router>,
        zone: &Name,
        servers: &[NsServer],
        sname: &Name,
        stype: RecordType,
        depth: usize,
    ) -> Result<Reply, String> {
        let q = Query::query(sname.clone(), stype);
        let mut last = format!("no usable server for {zone}");
        let mut tries = 0;
        let mut glueless = Vec::new();
        // Servers that recently failed go last: they are still tried, but a dead
        // server does not cost every query its time limit again.
        let mut addrs: Vec<IpAddr> = Vec::new();
        for s in servers {
            if s.addrs.is_empty() {
                glueless.push(s.name.clone());
            }
            addrs.extend(&s.addrs);
        }
        addrs.sort_by_key(|ip| self.is_down(*ip));
        {
            for ip in &addrs {
                if tries >= MAX_TRIES_PER_STEP {
                    return Err(last);
                }
                tries += 1;
                match self.ask_one(*ip, zone, &q).await {
                    Ok(r) => return Ok(r),
                    Err(e) => last = e,
                }
            }
        }
        for ns in glueless {
            if depth >= MAX_DEPTH {
                return Err(format!("{last}; name servers nested too deeply at {ns}"));
            }
            let addrs = router.addresses(&ns, self.ipv6, depth + 1).await;
            if addrs.is_empty() {
                last = format!("no address for name server {ns}");
            }
            for ip in addrs {
                if tries >= MAX_TRIES_PER_STEP {
                    return Err(last);
                }
                tries += 1;
                match self.ask_one(ip, zone, &q).await {
                    Ok(r) => return Ok(r),
                    Err(e) => last = e,
                }
            }
        }
        Err(last)
    }

    async fn ask_one(&self, ip: IpAddr, zone: &Name, q: &Query) -> Result<Reply, String> {
        let addr = SocketAddr::new(ip, self.port);
        let msg = match transport::query(addr, q, false, self.try_timeout).await {
            Ok(m) => m,
            Err(e) => {
                if matches!(
                    e,
                    transport::TransportError::Timeout(_) | transport::TransportError::Io { .. }
                ) {
                    self.mark_down(ip);
                }
                return Err(e.to_string());
            }
        };
        self.mark_up(ip);
        classify(zone, q.name(), q.query_type(), msg).map_err(|e| format!("{addr}: {e}"))
    }

    /// Did this server time out or refuse the connection in the last minute?
    fn is_down(&self, ip: IpAddr) -> bool {
        self.down
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(&ip)
            .is_some_and(|until| *until > tokio::time::Instant::now())
    }

    fn mark_down(&self, ip: IpAddr) {
        let until = tokio::time::Instant::now() + DOWN_FOR;
        self.down
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(ip, until);
    }

    fn mark_up(&self, ip: IpAddr) {
        let mut down = self.down.lock().unwrap_or_else(|p| p.into_inner());
        if !down.is_empty() {
            down.remove(&ip);
        }
    }

    /// Takes the answer section of an accepted reply: caches every RRset of the CNAME
    /// chain that starts at `name` (inside `zone` only, when one is given) and the
    /// negative answer at its end, and returns the records owned by `name`.
    fn take_answer(
        &self,
        zone: Option<&Name>,
        name: &Name,
        qtype: RecordType,
        msg: &Message,
    ) -> Outcome {
        let inside = |n: &Name| zone.is_none_or(|z| z.zone_of(n));
        let raw_soa = negative_soa(zone, &msg.authorities);
        // The SOA as clients see it (TTL = negative TTL), without caching anything.
        let soa = raw_soa.clone().map(|mut s| {
            if let RData::SOA(x) = &s.data {
                s.ttl = s.ttl.min(x.minimum);
            }
            s
        });
        if qtype == RecordType::ANY {
            let r: Vec<Record> = msg
                .answers
                .iter()
                .filter(|r| &r.name == name)
                .cloned()
                .collect();
            if r.is_empty() {
                return Outcome::negative(msg.metadata.response_code, soa, Source::Network);
            }
            return Outcome::answer(r, Source::Network);
        }
        // One TTL per RRset, the lowest (RFC 2181 §5.2), capped at `max-ttl`: the
        // first answer looks like every cached one after it.
        let mut sets = group(
            msg.answers
                .iter()
                .filter(|r| inside(&r.name))
                .cloned()
                .collect(),
        );
        for set in &mut sets {
            let ttl = self
                .cache
                .cap_ttl(set.iter().map(|r| r.ttl).min().unwrap_or(0));
            for r in set.iter_mut() {
                r.ttl = ttl;
            }
        }
        let find = |n: &Name, t: RecordType| {
            sets.iter()
                .find(|s| s[0].name == *n && s[0].record_type() == t)
                .cloned()
        };
        let mut cur = name.clone();
        let mut for_name: Option<Vec<Record>> = None;
        let mut seen = HashSet::new();
        // RFC 2181 §5.4.1: AA covers the query name only. Later links of a chain an
        // authoritative server added are kept, but may not answer clients: the
        // router asks for each link itself, and a zone cut the server hid (a stale
        // copy below a delegation) is then found. A forwarder's chain is its own
        // resolved view and is taken as it is.
        let later = if zone.is_some() {
            Trust::Chained
        } else {
            Trust::Answer
        };
        for _ in 0..=crate::router::MAX_CNAME_CHAIN {
            if !seen.insert(LowerName::new(&cur)) {
                break;
            }
            let trust = if cur == *name { Trust::Answer } else { later };
            if let Some(set) = find(&cur, qtype) {
                self.cache.put_rrset(set.clone(), trust);
                for_name.get_or_insert(set);
                break;
            }
            let Some(set) = find(&cur, RecordType::CNAME) else {
                // The chain ends here without data: a negative answer for `cur`.
                if cur != *name && inside(&cur) && trust == Trust::Answer {
                    let lc = LowerName::new(&cur);
                    if msg.metadata.response_code == ResponseCode::NXDomain {
                        self.cache.put_negative(&lc, None, raw_soa.clone());
                    } else if qtype != RecordType::CNAME {
                        self.cache.put_negative(&lc, Some(qtype), raw_soa.clone());
                    }
                }
                break;
            };
            self.cache.put_rrset(set.clone(), trust);
            let next = match &set[0].data {
                RData::CNAME(c) => c.0.clone(),
                _ => break,
            };
            for_name.get_or_insert(set);
            if qtype == RecordType::CNAME {
                break;
            }
            cur = next;
        }
        match for_name {
            Some(r) => Outcome::answer(r, Source::Network),
            None if msg.metadata.response_code == ResponseCode::NXDomain => {
                let soa = self
                    .cache
                    .put_negative(&LowerName::new(name), None, raw_soa);
                Outcome::negative(ResponseCode::NXDomain, soa, Source::Network)
            }
            None if msg.answers.is_empty() => {
                let soa = self
                    .cache
                    .put_negative(&LowerName::new(name), Some(qtype), raw_soa);
                Outcome::negative(ResponseCode::NoError, soa, Source::Network)
            }
            None => Outcome::servfail(format!("answer for {name} has no usable records")),
        }
    }
}

/// How many labels of the name to show in the next minimised question (RFC 9156
/// §2.3): one more than is known (the cut, or an empty non-terminal seen), one label
/// at a time for the first questions, then in steps that reach the full name within
/// `MAX_MINIMISE_COUNT` questions — so a 34-label ip6.arpa name needs ten, not 34.
fn minimised_labels(zone_labels: u8, next_labels: u8, name_labels: u8, sent: usize) -> u8 {
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

fn hint_servers(hints: &[RootServer]) -> Vec<NsServer> {
    hints
        .iter()
        .map(|h| NsServer {
            name: h.name.clone(),
            addrs: h.addrs.clone(),
        })
        .collect()
}

/// Groups records into RRsets (same owner and type), keeping first-seen order.
fn group(records: Vec<Record>) -> Vec<Vec<Record>> {
    let mut out: Vec<Vec<Record>> = Vec::new();
    for r in records {
        match out
            .iter_mut()
            .find(|s| s[0].name == r.name && s[0].record_type() == r.record_type())
        {
            Some(s) => {
                if !s.iter().any(|x| x.data == r.data) {
                    s.push(r)
                }
            }
            None => out.push(vec![r]),
        }
    }
    out
}

/// The SOA of a negative answer, if it belongs to the zone asked (or any, forwarding).
fn negative_soa(zone: Option<&Name>, authority: &[Record]) -> Option<Record> {
    authority
        .iter()
        .find(|r| r.record_type() == RecordType::SOA && zone.is_none_or(|z| z.zone_of(&r.name)))
        .cloned()
}

/// Glue from an additional section: addresses of the given NS targets, inside `zone`.
fn in_bailiwick_glue(zone: &Name, ns: &[Record], additionals: &[Record]) -> Vec<Record> {
    let targets: Vec<&Name> = ns
        .iter()
        .filter_map(|r| match &r.data {
            RData::NS(n) => Some(&n.0),
            _ => None,
        })
        .collect();
    additionals
        .iter()
        .filter(|r| matches!(r.record_type(), RecordType::A | RecordType::AAAA))
        .filter(|r| zone.zone_of(&r.name) && targets.contains(&&r.name))
        .cloned()
        .collect()
}

/// Sorts a remote reply into answer, referral, NODATA or NXDOMAIN, or rejects it
/// (lame, upward referral, error rcode) so the next server is tried.
fn classify(zone: &Name, sname: &Name, stype: RecordType, msg: Message) -> Result<Reply, String> {
    let rcode = msg.metadata.response_code;
    if !matches!(rcode, ResponseCode::NoError | ResponseCode::NXDomain) {
        return Err(format!("answered {rcode}"));
    }
    let has_answer = msg.answers.iter().any(|r| {
        &r.name == sname
            && (r.record_type() == stype
                || r.record_type() == RecordType::CNAME
                || stype == RecordType::ANY)
    });
    if has_answer {
        return Ok(Reply::Answer(msg));
    }
    if rcode == ResponseCode::NXDomain {
        return Ok(Reply::NxDomain(negative_soa(Some(zone), &msg.authorities)));
    }
    // A referral: NS for a name strictly below the zone asked and at or above sname.
    let ns: Vec<Record> = msg
        .authorities
        .iter()
        .filter(|r| r.record_type() == RecordType::NS)
        .cloned()
        .collect();
    if let Some(first) = ns.first() {
        let cut = first.name.clone();
        if zone.zone_of(&cut) && cut != *zone && cut.zone_of(sname) {
            let ns: Vec<Record> = ns.into_iter().filter(|r| r.name == cut).collect();
            let glue = in_bailiwick_glue(zone, &ns, &msg.additionals);
            return Ok(Reply::Referral { cut, ns, glue });
        }
        if !msg.metadata.authoritative {
            return Err(format!(
                "lame: referral to {cut} while asking {zone} about {sname}"
            ));
        }
    }
    let soa = negative_soa(Some(zone), &msg.authorities);
    if !msg.metadata.authoritative && soa.is_none() {
        return Err(format!("lame: not authoritative for {zone}"));
    }
    Ok(Reply::NoData(soa))
}
