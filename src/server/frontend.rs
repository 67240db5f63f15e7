//! The request path short of the socket: raw bytes in, a reply out now, a reply
//! later, or nothing.
//!
//! The hot path reads a plain query in place ([`wire::parse`]) and, when a ready
//! answer exists ([`crate::resolver::ready`]), writes it patched for this client:
//! no message is built. Everything else goes the full way: hickory parses the
//! request, the resolver answers at once from local zones and caches when it can,
//! else the question waits on the network — bounded per client and overall — and
//! the reply, once encoded, becomes ready for the next client who asks.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use hickory_proto::op::ResponseCode;
use ipnet::IpNet;
use tokio::time::Instant;

use super::count;
use super::limits::{Clients, RateLimit, Slot, Verdict};
use super::log::{QueryLog, Record, WireName};
#[cfg(debug_assertions)]
use super::panics;
use super::panics::Panics;
use super::request::{self, Parsed, Proto, Request};
use super::tsig::{Keys, Signing};
use super::wire;
use super::xfr::{self, Transfer};
use crate::config::Config;
use crate::resolver::ready::{Ready, ReadyParts};
use crate::resolver::{Answer, Failure, Resolver, Route, Source};
use crate::stats::Stats;
use crate::stats::labels as slot;
use crate::zones::wire::cursor::{Cursor, Patch};

/// Waiting questions the front end holds at once, as a multiple of
/// `max-resolutions` (many clients may wait on one shared resolution).
const PENDING_PER_RESOLUTION: usize = 4;

/// What to do with a datagram or TCP frame.
pub enum Handled {
    /// The reply is in the caller's buffer.
    Reply,
    /// Resolve it ([`Frontend::resolve`]), then reply.
    Later(Box<Pending>),
    /// A zone transfer: send its messages in order (TCP and DoT only).
    Transfer(Box<Transfer>),
    Drop,
}

/// A question waiting for the resolver; holds its client's place.
pub struct Pending {
    req: Request,
    client: SocketAddr,
    proto: Proto,
    started: Instant,
    /// Where its reply is filed when it becomes ready.
    filing: Option<Filing>,
    _slot: Slot,
    _count: PendingCount,
}

struct PendingCount(Arc<AtomicUsize>);

/// Where a reply is filed when it may become ready: its key, and the ready
/// store's generation when the answer was looked up. A reload in between makes
/// the answer old news, and it is not filed.
struct Filing {
    key: Box<[u8]>,
    generation: u64,
}

impl Pending {
    /// What resolving it is, for the line logged if it panics.
    pub(super) fn what(&self) -> String {
        let (client, proto) = (self.client, self.proto.as_str());
        match &self.req.query {
            Some(q) => format!(
                "resolving {} {} for {client} over {proto}",
                q.name(),
                q.query_type()
            ),
            None => format!("resolving a question for {client} over {proto}"),
        }
    }

    /// The reply if resolving it panics: SERVFAIL, the header alone.
    pub(super) fn servfail(&self) -> Vec<u8> {
        request::servfail(&self.req)
    }

    pub(super) fn proto(&self) -> Proto {
        self.proto
    }
}

impl Drop for PendingCount {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

pub struct Frontend {
    pub(super) resolver: Arc<Resolver>,
    allow: Vec<IpNet>,
    /// Who may transfer zones (`[transfer] allow`).
    transfer_allow: Vec<IpNet>,
    /// `[transfer] keys` and `require-tsig`.
    pub(super) tsig_keys: Keys,
    require_tsig: bool,
    clients: Clients,
    rate: Option<RateLimit>,
    pending: Arc<AtomicUsize>,
    max_pending: usize,
    query_timeout: Duration,
    log: QueryLog,
    stats: Arc<Stats>,
    panics: Panics,
}

impl Frontend {
    /// A front end whose query log writes no file (tools, fuzzing); `serve` uses
    /// [`Frontend::open`], which also opens `[log] query-file`.
    pub fn new(resolver: Arc<Resolver>, config: &Config) -> Frontend {
        Frontend::build(resolver, config, None)
    }

    /// A front end, with the query log's file opened now (an error names it).
    pub fn open(resolver: Arc<Resolver>, config: &Config) -> std::io::Result<Frontend> {
        let file = super::log_file::JsonFile::from_config(&config.log)?;
        Ok(Frontend::build(resolver, config, file))
    }

    fn build(
        resolver: Arc<Resolver>,
        config: &Config,
        file: Option<super::log_file::JsonFile>,
    ) -> Frontend {
        let l = &config.limits;
        let roots = resolver.roots.iter().map(|r| r.name.clone()).collect();
        Frontend {
            allow: config.server.allow.clone(),
            transfer_allow: config.transfer.allow.clone(),
            tsig_keys: Keys::new(&config.transfer.keys),
            require_tsig: config.transfer.require_tsig,
            clients: Clients::new(l.max_per_client),
            rate: RateLimit::new(
                l.rate_limit,
                l.rate_limit_slip,
                l.rate_limit_ipv4_prefix,
                l.rate_limit_ipv6_prefix,
            ),
            pending: Arc::new(AtomicUsize::new(0)),
            max_pending: l.max_resolutions.saturating_mul(PENDING_PER_RESOLUTION),
            query_timeout: config.server.query_timeout,
            log: QueryLog::start(roots, config.log.client, file),
            stats: resolver.stats().clone(),
            panics: Panics::new(resolver.stats().clone()),
            resolver,
        }
    }

    /// Where the listeners count and log the panics they catch.
    pub(super) fn panics(&self) -> &Panics {
        &self.panics
    }

    fn allowed(&self, ip: IpAddr) -> bool {
        in_nets(&self.allow, ip)
    }

    /// The request path short of the socket; a reply goes into `out`.
    pub fn receive(
        &self,
        bytes: &[u8],
        client: SocketAddr,
        proto: Proto,
        out: &mut Vec<u8>,
    ) -> Handled {
        let started = Instant::now();
        #[cfg(debug_assertions)]
        self.panics.trip(bytes, panics::Stage::Receive);
        let mut key = wire::Key::default();
        let plain = wire::parse(bytes, &mut key);
        if plain.is_some() {
            if !self.allowed(client.ip()) {
                // The full path answers REFUSED with the question echoed.
                return self.full(bytes, client, proto, None, out, started);
            }
            if let Some(h) = self.rate_limit(bytes, client, proto, out) {
                return h;
            }
        }
        if let Some(q) = plain
            && let Some(ready) = self.resolver.ready().get(key.as_bytes())
        {
            let now = self.resolver.clock().now();
            if ready.expires() > now {
                let limit = request::reply_limit(proto, q.edns);
                ready.write(
                    out,
                    q.id,
                    q.rd,
                    q.cd,
                    q.ad || q.dnssec_ok,
                    q.name,
                    limit,
                    now,
                );
                count::query(
                    &self.stats,
                    ready.route(),
                    proto,
                    ready.source(),
                    u16::from(ready.rcode()),
                    q.qtype,
                );
                self.log_hit(&ready, q.name, q.qtype, client, proto, out, started);
                return Handled::Reply;
            }
        }
        let key = plain.map(|_| Box::from(key.as_bytes()));
        self.full(bytes, client, proto, key, out, started)
    }

    /// Over the limit: drop, or slip an empty TC=1 reply (UDP only).
    fn rate_limit(
        &self,
        bytes: &[u8],
        client: SocketAddr,
        proto: Proto,
        out: &mut Vec<u8>,
    ) -> Option<Handled> {
        let rl = self.rate.as_ref().filter(|_| proto == Proto::Udp)?;
        match rl.check(client.ip()) {
            Verdict::Send => None,
            Verdict::Drop => {
                self.stats.refused(slot::RATE_LIMIT_DROP);
                Some(Handled::Drop)
            }
            Verdict::Slip => {
                self.stats.refused(slot::RATE_LIMIT_SLIP);
                let Parsed::Query(req) = request::parse(bytes) else {
                    return Some(Handled::Drop);
                };
                *out = request::reply(&req, ResponseCode::NoError, &[], &[], None, proto);
                Patch(out).bits(2, 0x02, true); // TC
                Some(Handled::Reply)
            }
        }
    }

    /// The full path: parse, answer at once if possible, else queue for the resolver.
    fn full(
        &self,
        bytes: &[u8],
        client: SocketAddr,
        proto: Proto,
        key: Option<Box<[u8]>>,
        out: &mut Vec<u8>,
        started: Instant,
    ) -> Handled {
        let filing = key.map(|key| Filing {
            key,
            generation: self.resolver.ready().generation(),
        });
        let req = match request::parse(bytes) {
            Parsed::Drop => return Handled::Drop,
            Parsed::Reject(req, code) => {
                return self.reject(&req, client, proto, code, out, started);
            }
            Parsed::Transfer(req, serial, tsig) => {
                return self.transfer(bytes, req, serial, tsig, client, proto, out, started);
            }
            Parsed::Notify(req, tsig) => {
                return self.notify(bytes, req, tsig, client, proto, out, started);
            }
            Parsed::Query(req) => req,
        };
        if !self.allowed(client.ip()) {
            return self.reject(&req, client, proto, ResponseCode::Refused, out, started);
        }
        if filing.is_none()
            && let Some(h) = self.rate_limit(bytes, client, proto, out)
        {
            return h;
        }
        let (Some(name), qtype) = (req.name().cloned(), req.qtype()) else {
            return self.reject(&req, client, proto, ResponseCode::FormErr, out, started);
        };
        if let Some(a) = self.resolver.answer_now(&name, qtype, req.cd) {
            *out = self.finish(&req, client, proto, &a, started, filing.as_ref());
            return Handled::Reply;
        }
        let busy = |what: &'static str, limit: usize, out: &mut Vec<u8>| {
            let a = Answer::fail(Route::Unrouted, Failure::Busy { what, limit });
            *out = self.finish(&req, client, proto, &a, started, None);
            Handled::Reply
        };
        let Some(slot) = self.clients.enter(client.ip()) else {
            return busy("max-per-client", self.resolver.limits().max_per_client, out);
        };
        if self.pending.fetch_add(1, Ordering::Relaxed) >= self.max_pending {
            self.pending.fetch_sub(1, Ordering::Relaxed);
            return busy(
                "max-resolutions",
                self.resolver.limits().max_resolutions,
                out,
            );
        }
        Handled::Later(Box::new(Pending {
            req,
            client,
            proto,
            started,
            filing,
            _slot: slot,
            _count: PendingCount(self.pending.clone()),
        }))
    }

    /// A zone transfer request: REFUSED unless `[transfer] allow` has the client
    /// (and, with `require-tsig`, unless it is signed); a signed request with an
    /// unknown key, a bad MAC or a time off by more than the fudge is NOTAUTH with
    /// TSIG error BADKEY, BADSIG or BADTIME and no data (RFC 8945 §5.2); NOTAUTH
    /// for a zone no zones root serves (RFC 5936 §2.2.1). Over UDP an IXFR gets
    /// the SOA alone (RFC 1995 §2) and an AXFR REFUSED (RFC 5936 §4.2: TCP only),
    /// over DoH REFUSED. Over TCP and DoT, an IXFR from the current serial gets the
    /// SOA alone, from a serial the zone's journal has the changes since, any
    /// other the whole zone (RFC 1995 §4). Every reply to a signed request is signed.
    #[allow(clippy::too_many_arguments)]
    fn transfer(
        &self,
        bytes: &[u8],
        req: Request,
        serial: Option<u32>,
        tsig: Option<Box<hickory_proto::rr::Record<hickory_proto::rr::rdata::TSIG>>>,
        client: SocketAddr,
        proto: Proto,
        out: &mut Vec<u8>,
        started: Instant,
    ) -> Handled {
        if !in_nets(&self.transfer_allow, client.ip()) || proto == Proto::Doh {
            return self.reject(&req, client, proto, ResponseCode::Refused, out, started);
        }
        let now = crate::clock::unix_now();
        let mut signing = match tsig.map(|t| self.tsig_keys.check(bytes, &t, now)) {
            None if self.require_tsig => {
                return self.reject(&req, client, proto, ResponseCode::Refused, out, started);
            }
            None => None,
            Some(Ok(s)) => Some(s),
            Some(Err(denied)) => {
                tracing::warn!(%client, "zone transfer refused: TSIG {}", denied.code());
                let h = self.reject(&req, client, proto, ResponseCode::NotAuth, out, started);
                if let Err(e) = denied.sign(req.id, out, now) {
                    tracing::warn!("TSIG error reply to {client}: {e}");
                }
                return h;
            }
        };
        let refuse = |code, out: &mut Vec<u8>, signing: Option<&mut Signing>| {
            let h = self.reject(&req, client, proto, code, out, started);
            if let Some(s) = signing
                && let Err(e) = s.sign(req.id, out, now)
            {
                tracing::warn!("TSIG reply to {client}: {e}");
            }
            h
        };
        let Some(q) = req.query.clone() else {
            return refuse(ResponseCode::FormErr, out, signing.as_mut());
        };
        let Some((zone, journal)) = self.transfer_zone(q.name()) else {
            return refuse(ResponseCode::NotAuth, out, signing.as_mut());
        };
        let ixfr = q.query_type() == hickory_proto::rr::RecordType::IXFR;
        let current = serial.is_some_and(|s| !crate::zones::serial_lt(s, zone.serial()));
        if proto == Proto::Udp && !ixfr {
            return refuse(ResponseCode::Refused, out, signing.as_mut());
        }
        if ixfr && (proto == Proto::Udp || current) {
            return match xfr::soa_only(req.id, q, &zone, signing.as_mut()) {
                Ok(b) => {
                    *out = b;
                    Handled::Reply
                }
                Err(e) => {
                    tracing::warn!("IXFR of {} for {client}: {e}", zone.origin());
                    refuse(ResponseCode::ServFail, out, None)
                }
            };
        }
        // IXFR from a serial the journal has, up to the zone served: the changes.
        let diffs = serial.zip(journal).and_then(|(have, j)| {
            (ixfr && j.last_serial() == Some(zone.serial()))
                .then(|| j.since(have))
                .flatten()
                .map(|d| d.cloned().collect::<Vec<_>>())
        });
        let form = if diffs.is_some() { "IXFR" } else { "AXFR" };
        tracing::info!(
            zone = %zone.origin(),
            serial = zone.serial(),
            from = serial,
            %client,
            proto = proto.as_str(),
            key = signing.as_ref().map(|s| s.key().to_string()),
            "zone transfer ({} asked, {form} sent)",
            q.query_type()
        );
        let t = match diffs {
            Some(d) => Transfer::incremental(req.id, q, &zone, d.iter(), signing),
            None => Transfer::full(req.id, q, &zone, signing),
        };
        Handled::Transfer(Box::new(t))
    }

    /// The zone of that origin in the first zones root (config order) that has
    /// it, and its IXFR journal.
    #[allow(clippy::type_complexity)]
    fn transfer_zone(
        &self,
        origin: &hickory_proto::rr::Name,
    ) -> Option<(Arc<crate::zones::Zone>, Option<Arc<crate::zones::Journal>>)> {
        let origin = hickory_proto::rr::LowerName::new(origin);
        (0..self.resolver.roots.len())
            .filter_map(|i| self.resolver.zones(i))
            .find_map(|set| {
                let z = set.get(&origin)?.clone();
                Some((z, set.journal(&origin).cloned()))
            })
    }

    /// Resolves a waiting question and encodes the reply (SERVFAIL after
    /// `query-timeout` at the latest).
    pub async fn resolve(&self, p: Box<Pending>) -> Vec<u8> {
        #[cfg(debug_assertions)]
        if let Some(n) = p.req.name() {
            self.panics
                .trip(n.to_ascii().as_bytes(), panics::Stage::Resolve);
        }
        let Some(name) = p.req.name().cloned() else {
            return request::reply(&p.req, ResponseCode::FormErr, &[], &[], None, p.proto);
        };
        let deadline = p.started + self.query_timeout;
        let answer = match tokio::time::timeout_at(
            deadline,
            self.resolver
                .answer_from_network(&name, p.req.qtype(), p.req.cd),
        )
        .await
        {
            Ok(a) => a,
            Err(_) => Answer::fail(Route::Unrouted, Failure::Deadline),
        };
        self.finish(
            &p.req,
            p.client,
            p.proto,
            &answer,
            p.started,
            p.filing.as_ref(),
        )
    }

    pub(super) fn reject(
        &self,
        req: &Request,
        client: SocketAddr,
        proto: Proto,
        code: ResponseCode,
        out: &mut Vec<u8>,
        started: Instant,
    ) -> Handled {
        *out = request::reply(req, code, &[], &[], None, proto);
        count::rejected(&self.stats, proto, u16::from(code), u16::from(req.qtype()));
        if self.log.enabled() {
            self.log.push(Record {
                client,
                proto,
                name: WireName::from_name(req.name()),
                qtype: u16::from(req.qtype()),
                route: Route::Unrouted,
                source: Source::Local,
                rcode: code,
                answers: 0,
                tc: false,
                micros: micros(started),
                rejected: true,
                failure: None,
            });
        }
        Handled::Reply
    }

    /// Encodes an answer (with an Extended DNS Error saying why it failed, or that
    /// it is stale), files it as ready when it may be, and logs it.
    fn finish(
        &self,
        req: &Request,
        client: SocketAddr,
        proto: Proto,
        a: &Answer,
        started: Instant,
        filing: Option<&Filing>,
    ) -> Vec<u8> {
        let text;
        let ede = match (&a.failure, a.source) {
            (Some(f), _) => {
                text = f.to_string();
                Some((f.ede_code(), text.as_str()))
            }
            (None, Source::Stale) => Some((3, "stale: the servers failed; serving expired data")),
            _ => None,
        };
        let mut bytes = request::reply(req, a.rcode, &a.answers, &a.authority, ede, proto);
        request::set_ad(&mut bytes, req, a.secure);
        let answers = u16::try_from(a.answers.len()).unwrap_or(u16::MAX);
        // Admission: an answer fresh from the network is not made ready yet (most
        // names are asked once; they stay in the roots' cache only); the next client
        // asking finds it there, and that answer is made ready.
        let now = self.resolver.clock().now();
        // An answer to a client that set CD is not validated: never ready for others.
        if let Some(f) = filing
            && !req.cd
            && a.failure.is_none()
            && matches!(a.source, Source::Local | Source::Cache)
            && a.valid_until > now
            && let Some(mut r) = ReadyParts::from_reply(&bytes, a.route, a.source, answers, now)
        {
            r.cap_expiry(a.valid_until);
            r.set_secure(a.secure);
            self.resolver.ready().insert(&f.key, r, f.generation);
        }
        // The rcode actually sent (encoding can still fail and become SERVFAIL).
        let flags = Cursor::at(&bytes, 2).u16().unwrap_or(2);
        let low = (flags & 0x0f) as u8;
        let rcode = if low == a.rcode.low() {
            a.rcode
        } else {
            ResponseCode::from_low(low)
        };
        let qtype = u16::from(req.qtype());
        count::query(
            &self.stats,
            a.route,
            proto,
            a.source,
            u16::from(rcode),
            qtype,
        );
        if let Some(f) = &a.failure {
            count::failure(&self.stats, self.resolver.clock().now(), a.route, f);
        }
        if self.log.enabled() {
            self.log.push(Record {
                client,
                proto,
                name: WireName::from_name(req.name()),
                qtype,
                route: a.route,
                source: a.source,
                rcode,
                answers,
                tc: flags & 0x0200 != 0,
                micros: micros(started),
                rejected: false,
                failure: a.failure.clone().map(Box::new),
            });
        }
        bytes
    }

    #[allow(clippy::too_many_arguments)]
    fn log_hit(
        &self,
        r: &Ready,
        name: &[u8],
        qtype: u16,
        client: SocketAddr,
        proto: Proto,
        out: &[u8],
        started: Instant,
    ) {
        if !self.log.enabled() {
            return;
        }
        let tc = Cursor::at(out, 2).u8().is_some_and(|b| b & 0x02 != 0);
        self.log.push(Record {
            client,
            proto,
            name: WireName::from_wire(name),
            qtype,
            route: r.route(),
            source: r.source(),
            rcode: ResponseCode::from_low(r.rcode()),
            answers: if tc { 0 } else { r.answers() },
            tc,
            micros: micros(started),
            rejected: false,
            failure: None,
        });
    }

    /// The rate limiter, if on.
    pub fn rate_limit_state(&self) -> Option<&RateLimit> {
        self.rate.as_ref()
    }

    /// Reopens the query log's file (SIGUSR1, after logrotate moved it).
    pub fn reopen_log(&self) {
        self.log.reopen();
    }

    /// Query log records dropped because the writer fell behind.
    pub fn log_dropped(&self) -> u64 {
        self.log.dropped()
    }

    /// Is the query log's writer idle, waiting for a record (tests)?
    pub fn log_idle(&self) -> bool {
        self.log.idle()
    }

    /// Writes and flushes every query log record so far (at most `within`):
    /// `serve` on the way out. True when done.
    pub fn finish_log(&self, within: std::time::Duration) -> bool {
        self.log.finish(within)
    }
}

/// Is `ip` (an IPv4-mapped IPv6 address as IPv4) in one of `nets`?
fn in_nets(nets: &[IpNet], ip: IpAddr) -> bool {
    let ip = match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    };
    nets.iter().any(|n| n.contains(&ip))
}

fn micros(started: Instant) -> u32 {
    u32::try_from(started.elapsed().as_micros()).unwrap_or(u32::MAX)
}
