//! The DNS front end: UDP and TCP listeners (hickory-server's `Server`), the client
//! access list, request checks, and the one log line per query.
//!
//! [`start`] takes sockets that are already bound (tests bind port 0) and returns a
//! [`ServerHandle`] that knows the real addresses and stops the server.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use hickory_proto::op::{Edns, Metadata, OpCode, ResponseCode};
use hickory_proto::rr::{DNSClass, Record, RecordType};
use hickory_server::Server;
use hickory_server::net::runtime::Time;
use hickory_server::server::{Request, RequestHandler, ResponseHandler, ResponseInfo};
use hickory_server::zone_handler::MessageResponseBuilder;
use ipnet::IpNet;
use tokio::net::{TcpListener, UdpSocket};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use crate::router::{Resolution, Router};
use crate::transport::EDNS_PAYLOAD;

/// Idle time after which a client's TCP connection is closed.
const TCP_IDLE: Duration = Duration::from_secs(10);

//------------ Handler ---------------------------------------------------------

struct Handler {
    router: Arc<Router>,
    query_timeout: Duration,
    inflight: Arc<AtomicUsize>,
}

/// Counts a request as in flight for as long as it lives.
struct InflightGuard(Arc<AtomicUsize>);

impl Drop for InflightGuard {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

#[async_trait::async_trait]
impl RequestHandler for Handler {
    async fn handle_request<R: ResponseHandler, T: Time>(
        &self,
        request: &Request,
        mut response_handle: R,
    ) -> ResponseInfo {
        self.inflight.fetch_add(1, Ordering::SeqCst);
        let _guard = InflightGuard(self.inflight.clone());
        let started = Instant::now();
        let src = request.src();
        let proto = request.protocol();

        // Requests we do not resolve get an error rcode and no further work.
        let refuse = |code: ResponseCode| Some(code);
        let early = if request.metadata.op_code != OpCode::Query {
            refuse(ResponseCode::NotImp)
        } else if request.queries.len() != 1 {
            refuse(ResponseCode::FormErr)
        } else if request.edns.as_ref().is_some_and(|e| e.version() > 0) {
            refuse(ResponseCode::BADVERS)
        } else {
            let q = &request.queries.queries()[0];
            // Other classes, zone transfers (not yet: DESIGN §7) and meta types.
            let unsupported = q.query_class() != DNSClass::IN
                || matches!(
                    q.query_type(),
                    RecordType::AXFR | RecordType::IXFR | RecordType::OPT
                );
            if unsupported {
                refuse(ResponseCode::Refused)
            } else {
                None
            }
        };

        // Our EDNS: echo the client's buffer size, capped at what we advertise,
        // never below 512. hickory truncates (and sets TC) to this size over UDP.
        let edns = request.edns.as_ref().map(|client| {
            let mut e = Edns::new();
            e.set_max_payload(client.max_payload().clamp(512, EDNS_PAYLOAD));
            e
        });
        let mut builder = MessageResponseBuilder::new(&request.queries, None);
        if let Some(e) = &edns {
            builder.edns(e);
        }

        if let Some(code) = early {
            let mut md = Metadata::response_from_request(&request.metadata);
            md.recursion_available = true;
            md.response_code = code;
            tracing::info!(client = %src, %proto, rcode = %rcode_str(code), "rejected request");
            let resp = builder.build(md, [], [], [], []);
            return send(&mut response_handle, resp, &request.metadata).await;
        }

        let q = &request.queries.queries()[0];
        let name = q.original().name().clone();
        let qtype = q.query_type();
        let res = match tokio::time::timeout(self.query_timeout, self.router.resolve(&name, qtype))
            .await
        {
            Ok(r) => r,
            Err(_) => {
                Resolution::servfail("?", format!("no answer within {:?}", self.query_timeout))
            }
        };

        let mut md = Metadata::response_from_request(&request.metadata);
        md.recursion_available = true;
        md.authoritative = false;
        md.response_code = res.rcode;
        let answers: Vec<Record> = res.answers;
        let authority: Vec<Record> = res.authority;
        let resp = builder.build(md, answers.iter(), authority.iter(), [], []);
        let info = send(&mut response_handle, resp, &request.metadata).await;
        let ms = started.elapsed().as_secs_f64() * 1000.0;
        // Log what was actually sent: encoding can still fail (hickory then sends
        // SERVFAIL), and TC may have cut the answer.
        let (cache, rcode) = (res.source.as_str(), rcode_str(info.response_code));
        match res.reason.as_deref() {
            None => tracing::info!(
                client = %src, %proto, name = %name, qtype = %qtype, root = %res.root,
                cache = %cache, rcode = %rcode, answers = info.counts().answers,
                tc = info.truncation, ms = format_args!("{ms:.2}"), "query"
            ),
            Some(reason) => tracing::info!(
                client = %src, %proto, name = %name, qtype = %qtype, root = %res.root,
                cache = %cache, rcode = %rcode, answers = info.counts().answers,
                tc = info.truncation, ms = format_args!("{ms:.2}"), reason = %reason, "query"
            ),
        }
        info
    }
}

async fn send<'a, R: ResponseHandler>(
    rh: &mut R,
    resp: hickory_server::zone_handler::MessageResponse<
        '_,
        'a,
        impl Iterator<Item = &'a Record> + Send + 'a,
        impl Iterator<Item = &'a Record> + Send + 'a,
        impl Iterator<Item = &'a Record> + Send + 'a,
        impl Iterator<Item = &'a Record> + Send + 'a,
    >,
    request: &Metadata,
) -> ResponseInfo {
    match rh.send_response(resp).await {
        Ok(info) => info,
        Err(e) => {
            tracing::warn!("cannot send response: {e}");
            let mut md = Metadata::response_from_request(request);
            md.response_code = ResponseCode::ServFail;
            ResponseInfo::from(hickory_proto::op::Header {
                metadata: md,
                counts: Default::default(),
            })
        }
    }
}

/// The mnemonic DNS people read in logs (RFC 1035, 6891).
pub fn rcode_str(code: ResponseCode) -> &'static str {
    match code {
        ResponseCode::NoError => "NOERROR",
        ResponseCode::FormErr => "FORMERR",
        ResponseCode::ServFail => "SERVFAIL",
        ResponseCode::NXDomain => "NXDOMAIN",
        ResponseCode::NotImp => "NOTIMP",
        ResponseCode::Refused => "REFUSED",
        ResponseCode::BADVERS => "BADVERS",
        _ => "OTHER",
    }
}

//------------ Starting and stopping ------------------------------------------

/// A running server.
pub struct ServerHandle {
    /// The bound addresses (UDP and TCP share each).
    pub addrs: Vec<SocketAddr>,
    token: CancellationToken,
    inflight: Arc<AtomicUsize>,
    query_timeout: Duration,
    task: tokio::task::JoinHandle<()>,
}

impl ServerHandle {
    /// Stops accepting queries once the ones in flight are answered (waiting at
    /// most `query-timeout` for them), then waits for the listeners to close.
    pub async fn shutdown(self) {
        let deadline = Instant::now() + self.query_timeout;
        while self.inflight.load(Ordering::SeqCst) > 0 && Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        self.token.cancel();
        let _ = self.task.await;
    }

    /// A token that stops the server when cancelled.
    pub fn token(&self) -> CancellationToken {
        self.token.clone()
    }
}

/// The sockets of one listen address: several UDP sockets sharing the port
/// (SO_REUSEPORT, so the kernel spreads datagrams over them and each gets its own
/// receive task), and one TCP listener.
pub struct Listener {
    pub udp: Vec<UdpSocket>,
    pub tcp: TcpListener,
}

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
    router: Arc<Router>,
    sockets: Vec<Listener>,
    allow: &[IpNet],
    query_timeout: Duration,
) -> std::io::Result<ServerHandle> {
    let inflight = Arc::new(AtomicUsize::new(0));
    let handler = Handler {
        router,
        query_timeout,
        inflight: inflight.clone(),
    };
    // hickory's access list allows everyone of a family that has no entry; deny each
    // family whole so that only `allow` gets through (a /0 in `allow` lifts that).
    let mut deny: Vec<IpNet> = Vec::new();
    if !allow
        .iter()
        .any(|n| matches!(n, IpNet::V4(n) if n.prefix_len() == 0))
    {
        deny.push("0.0.0.0/0".parse().map_err(std::io::Error::other)?);
    }
    if !allow
        .iter()
        .any(|n| matches!(n, IpNet::V6(n) if n.prefix_len() == 0))
    {
        deny.push("::/0".parse().map_err(std::io::Error::other)?);
    }
    let mut server = Server::with_access(handler, deny, allow.to_vec());
    let mut addrs = Vec::new();
    for Listener { udp, tcp } in sockets {
        let a = tcp.local_addr()?;
        tracing::info!("listening on {a} (UDP and TCP)");
        addrs.push(a);
        for u in udp {
            server.register_socket(u);
        }
        server.register_listener(tcp, TCP_IDLE, 64);
    }
    let token = server.shutdown_token().clone();
    let task = tokio::spawn(async move {
        if let Err(e) = server.block_until_done().await {
            tracing::warn!("server stopped with an error: {e}");
        }
    });
    Ok(ServerHandle {
        addrs,
        token,
        inflight,
        query_timeout,
        task,
    })
}
