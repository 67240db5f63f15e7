//! The DNS front end: UDP and TCP listeners (and DoT and DoH beside them,
//! `encrypted.rs`), the client access list, per-client bounds, request checks, and
//! the one log line per query.
//!
//! [`Frontend::receive`] is the whole request path short of the socket: raw bytes
//! in, a reply out now (answers from local zones and caches never wait), a reply
//! later (the question goes to the resolver), or nothing (runts, responses, rate
//! limited). [`start`] takes sockets that are already bound (tests bind port 0)
//! and returns a [`ServerHandle`] that knows the real addresses and stops the
//! server. The listeners are our own, not hickory-server's: they bound what a
//! client can hold (TCP connections and their idle time, questions in flight per
//! client, the pipeline per connection), and answer hits without a task.

mod certs;
mod doh;
mod dot;
mod encrypted;
mod limits;
pub mod request;
mod tcp;
mod udp;

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use hickory_proto::op::ResponseCode;
use ipnet::IpNet;
use tokio::net::{TcpListener, UdpSocket};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::config::Config;
use crate::resolver::{Answer, Failure, Resolver, Route, Source, rcode_str};
pub use encrypted::{EncryptedHandle, EncryptedSockets, bind_encrypted};
pub use limits::{Clients, RateLimit, Slot, Verdict};
pub use request::Proto;
use request::{Parsed, Request};

/// Waiting questions the front end holds at once, as a multiple of
/// `max-resolutions` (many clients may wait on one shared resolution).
const PENDING_PER_RESOLUTION: usize = 4;

//------------ Frontend ----------------------------------------------------------

/// What to do with a datagram or TCP frame.
pub enum Handled {
    Reply(Vec<u8>),
    /// Resolve it ([`Frontend::resolve`]), then reply.
    Later(Pending),
    Drop,
}

/// A question waiting for the resolver; holds its client's place.
pub struct Pending {
    req: Request,
    client: SocketAddr,
    proto: Proto,
    started: Instant,
    _slot: Slot,
    _count: PendingCount,
}

struct PendingCount(Arc<AtomicUsize>);

impl Drop for PendingCount {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

pub struct Frontend {
    resolver: Arc<Resolver>,
    allow: Vec<IpNet>,
    clients: Clients,
    rate: Option<RateLimit>,
    pending: Arc<AtomicUsize>,
    max_pending: usize,
    query_timeout: Duration,
}

impl Frontend {
    pub fn new(resolver: Arc<Resolver>, config: &Config) -> Frontend {
        let l = &config.limits;
        Frontend {
            resolver,
            allow: config.server.allow.clone(),
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
        }
    }

    fn allowed(&self, ip: IpAddr) -> bool {
        let ip = match ip {
            IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
            v4 => v4,
        };
        self.allow.iter().any(|n| n.contains(&ip))
    }

    /// The request path short of the socket.
    pub fn receive(&self, bytes: &[u8], client: SocketAddr, proto: Proto) -> Handled {
        let started = Instant::now();
        let req = match request::parse(bytes) {
            Parsed::Drop => return Handled::Drop,
            Parsed::Reject(req, code) => return self.reject(&req, client, proto, code, started),
            Parsed::Query(req) => req,
        };
        if !self.allowed(client.ip()) {
            return self.reject(&req, client, proto, ResponseCode::Refused, started);
        }
        if proto == Proto::Udp
            && let Some(rl) = &self.rate
        {
            match rl.check(client.ip()) {
                Verdict::Send => {}
                Verdict::Drop => return Handled::Drop,
                Verdict::Slip => {
                    let mut b = request::reply(&req, ResponseCode::NoError, &[], &[], None, proto);
                    b[2] |= 0x02; // TC
                    return Handled::Reply(b);
                }
            }
        }
        let (Some(name), qtype) = (req.name().cloned(), req.qtype()) else {
            return self.reject(&req, client, proto, ResponseCode::FormErr, started);
        };
        if let Some(a) = self.resolver.answer_now(&name, qtype) {
            return Handled::Reply(self.finish(&req, client, proto, &a, started));
        }
        let busy = |what: &'static str, limit: usize| {
            let a = Answer::fail(Route::Unrouted, Failure::Busy { what, limit });
            Handled::Reply(self.finish(&req, client, proto, &a, started))
        };
        let Some(slot) = self.clients.enter(client.ip()) else {
            return busy("max-per-client", self.resolver.limits().max_per_client);
        };
        if self.pending.fetch_add(1, Ordering::Relaxed) >= self.max_pending {
            self.pending.fetch_sub(1, Ordering::Relaxed);
            return busy("max-resolutions", self.resolver.limits().max_resolutions);
        }
        Handled::Later(Pending {
            req,
            client,
            proto,
            started,
            _slot: slot,
            _count: PendingCount(self.pending.clone()),
        })
    }

    /// Resolves a waiting question and encodes the reply (SERVFAIL after
    /// `query-timeout` at the latest).
    pub async fn resolve(&self, p: Pending) -> Vec<u8> {
        let Some(name) = p.req.name().cloned() else {
            return request::reply(&p.req, ResponseCode::FormErr, &[], &[], None, p.proto);
        };
        let answer = match tokio::time::timeout_at(
            p.started + self.query_timeout,
            self.resolver.answer(&name, p.req.qtype()),
        )
        .await
        {
            Ok(a) => a,
            Err(_) => Answer::fail(Route::Unrouted, Failure::Deadline),
        };
        self.finish(&p.req, p.client, p.proto, &answer, p.started)
    }

    fn reject(
        &self,
        req: &Request,
        client: SocketAddr,
        proto: Proto,
        code: ResponseCode,
        started: Instant,
    ) -> Handled {
        let bytes = request::reply(req, code, &[], &[], None, proto);
        log_reject(client, proto, req, code, started);
        Handled::Reply(bytes)
    }

    /// Encodes an answer (with an Extended DNS Error saying why it failed, or that
    /// it is stale) and logs it.
    fn finish(
        &self,
        req: &Request,
        client: SocketAddr,
        proto: Proto,
        a: &Answer,
        started: Instant,
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
        let bytes = request::reply(req, a.rcode, &a.answers, &a.authority, ede, proto);
        self.log(req, client, proto, a, &bytes, started);
        bytes
    }

    fn log(
        &self,
        req: &Request,
        client: SocketAddr,
        proto: Proto,
        a: &Answer,
        bytes: &[u8],
        started: Instant,
    ) {
        let ms = started.elapsed().as_secs_f64() * 1000.0;
        let tc = bytes.len() > 2 && bytes[2] & 0x02 != 0;
        // The rcode actually sent (encoding can still fail and become SERVFAIL).
        let low = bytes.get(3).map_or(2, |b| b & 0x0f);
        let rcode = if low == a.rcode.low() {
            a.rcode
        } else {
            ResponseCode::from_low(low)
        };
        let name = req.name().map(|n| n.to_string()).unwrap_or_default();
        let root = self.resolver.route_name(a.route);
        match &a.failure {
            None => {
                tracing::info!(target: "altroot::query", client = %client, proto = %proto.as_str(),
                name = %name, qtype = %req.qtype(), root = %root, cache = %a.source.as_str(),
                rcode = %rcode_str(rcode), answers = a.answers.len(), tc, ms = format_args!("{ms:.2}"), "query")
            }
            Some(f) => {
                tracing::info!(target: "altroot::query", client = %client, proto = %proto.as_str(),
                name = %name, qtype = %req.qtype(), root = %root, cache = %a.source.as_str(),
                rcode = %rcode_str(rcode), answers = 0, tc, ms = format_args!("{ms:.2}"),
                failure = %f.code(), reason = %f, "query")
            }
        }
    }

    /// Client addresses with questions in flight (for tests).
    pub fn clients_in_flight(&self) -> usize {
        self.clients.len()
    }

    /// The rate limiter, if on.
    pub fn rate_limit(&self) -> Option<&RateLimit> {
        self.rate.as_ref()
    }
}

fn log_reject(
    client: SocketAddr,
    proto: Proto,
    req: &Request,
    code: ResponseCode,
    started: Instant,
) {
    let ms = started.elapsed().as_secs_f64() * 1000.0;
    tracing::info!(target: "altroot::query", client = %client, proto = %proto.as_str(),
        name = %req.name().map(|n| n.to_string()).unwrap_or_default(), qtype = %req.qtype(),
        rcode = %rcode_str(code), ms = format_args!("{ms:.2}"), "rejected request");
}

//------------ Starting and stopping ------------------------------------------

/// A running server.
pub struct ServerHandle {
    /// The bound addresses (UDP and TCP share each).
    pub addrs: Vec<SocketAddr>,
    pub frontend: Arc<Frontend>,
    token: CancellationToken,
    tracker: TaskTracker,
    query_timeout: Duration,
    listeners: Vec<tokio::task::JoinHandle<()>>,
}

impl ServerHandle {
    /// Stops accepting queries, then waits (at most `query-timeout`) for the ones
    /// in flight to be answered.
    pub async fn shutdown(self) {
        self.token.cancel();
        for l in self.listeners {
            let _ = l.await;
        }
        self.tracker.close();
        let _ = tokio::time::timeout(self.query_timeout, self.tracker.wait()).await;
    }

    /// A token that stops the server when cancelled.
    pub fn token(&self) -> CancellationToken {
        self.token.clone()
    }
}

/// The sockets of one listen address: several UDP sockets sharing the port
/// (SO_REUSEPORT, so the kernel spreads datagrams over them and each gets its own
/// receive loop), and one TCP listener.
pub struct Listener {
    pub udp: Vec<UdpSocket>,
    pub tcp: TcpListener,
}

/// The receive buffer asked for each UDP socket.
const UDP_RECEIVE_BUFFER: usize = 4 << 20;

/// UDP sockets per address: one per core, at most four.
fn udp_sockets_per_address() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get().min(4))
}

fn udp_socket(addr: SocketAddr, reuse_port: bool) -> std::io::Result<UdpSocket> {
    use socket2::{Domain, Protocol, Socket, Type};
    let s = Socket::new(Domain::for_address(addr), Type::DGRAM, Some(Protocol::UDP))?;
    if addr.is_ipv6() {
        s.set_only_v6(true)?;
    }
    #[cfg(unix)]
    if reuse_port {
        s.set_reuse_port(true)?;
    }
    s.set_nonblocking(true)?;
    // A burst of queries waits in the kernel until a receive loop gets to it; a
    // larger buffer (as Unbound's so-rcvbuf) loses fewer. Best effort: the kernel
    // caps it at net.core.rmem_max.
    let _ = s.set_recv_buffer_size(UDP_RECEIVE_BUFFER);
    s.bind(&addr.into())?;
    UdpSocket::from_std(s.into())
}

/// Binds UDP and TCP on every address. Port 0 binds a free port, and the other
/// sockets of that address then take the same port.
pub async fn bind(addrs: &[SocketAddr]) -> std::io::Result<Vec<Listener>> {
    let mut out = Vec::new();
    for a in addrs {
        // With port 0 the kernel picks a port free for UDP; TCP's may be taken
        // meanwhile by someone else: then pick again (a few times).
        let mut tries = if a.port() == 0 { 8 } else { 1 };
        loop {
            tries -= 1;
            match bind_one(*a).await {
                Ok(l) => {
                    out.push(l);
                    break;
                }
                Err(e) if tries > 0 && e.kind() == std::io::ErrorKind::AddrInUse => continue,
                Err(e) => return Err(e),
            }
        }
    }
    Ok(out)
}

async fn bind_one(a: SocketAddr) -> std::io::Result<Listener> {
    // Port 0 (tests, ad-hoc runs) gets one plain socket: a kernel-chosen port must
    // not be one another reuse-port group already holds.
    let n = if a.port() == 0 {
        1
    } else {
        udp_sockets_per_address()
    };
    let err = |e: std::io::Error, what: &str, at: SocketAddr| {
        std::io::Error::new(e.kind(), format!("cannot bind {what} {at}: {e}"))
    };
    if a.port() != 0 {
        // Probe with a plain socket first: SO_REUSEPORT would quietly share a port
        // that another altroot already serves, and "address in use" is what an
        // operator needs to see.
        drop(std::net::UdpSocket::bind(a).map_err(|e| err(e, "UDP", a))?);
    }
    let first = udp_socket(a, n > 1).map_err(|e| err(e, "UDP", a))?;
    let real = first.local_addr()?;
    let mut udp = vec![first];
    for _ in 1..n {
        udp.push(udp_socket(real, true).map_err(|e| err(e, "UDP", real))?);
    }
    let tcp = TcpListener::bind(real)
        .await
        .map_err(|e| err(e, "TCP", real))?;
    Ok(Listener { udp, tcp })
}

/// Starts answering on already bound sockets.
pub fn start(
    resolver: Arc<Resolver>,
    sockets: Vec<Listener>,
    config: &Config,
) -> std::io::Result<ServerHandle> {
    let frontend = Arc::new(Frontend::new(resolver.clone(), config));
    let token = CancellationToken::new();
    let tracker = TaskTracker::new();
    let tcp_limit = Arc::new(tokio::sync::Semaphore::new(config.server.tcp_clients));
    let mut addrs = Vec::new();
    let mut listeners = Vec::new();
    for Listener { udp, tcp } in sockets {
        let a = tcp.local_addr()?;
        tracing::info!("listening on {a} (UDP and TCP)");
        addrs.push(a);
        for u in udp {
            let ctx = (frontend.clone(), token.clone(), tracker.clone());
            listeners.push(tokio::spawn(udp::serve(Arc::new(u), ctx.0, ctx.1, ctx.2)));
        }
        let tcp_ctx = tcp::Ctx {
            frontend: frontend.clone(),
            token: token.clone(),
            tracker: tracker.clone(),
            connections: tcp_limit.clone(),
            idle: config.server.tcp_idle_timeout,
        };
        listeners.push(tokio::spawn(tcp::serve(tcp, tcp_ctx)));
    }
    resolver.add_own_addresses(&addrs);
    if frontend.rate.is_some() {
        let (fe, t) = (frontend.clone(), token.clone());
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(Duration::from_secs(10));
            loop {
                tokio::select! {
                    _ = tick.tick() => if let Some(r) = &fe.rate { r.tidy() },
                    _ = t.cancelled() => return,
                }
            }
        });
    }
    Ok(ServerHandle {
        addrs,
        frontend,
        token,
        tracker,
        query_timeout: config.server.query_timeout,
        listeners,
    })
}
