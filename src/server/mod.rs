//! The DNS front end: UDP and TCP listeners (and DoT, DoH and DoQ beside them,
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
//! client, the pipeline per connection), and answer hits without a task. A panic
//! in the work of one query is caught, counted and logged, and the listener goes
//! on ([`panics`]).

mod certs;
mod count;
mod doh;
mod doq;
mod dot;
mod encrypted;
mod frontend;
mod limits;
mod log;
mod log_file;
mod log_line;
mod notify_in;
mod panics;
pub mod request;
mod tcp;
pub mod tsig;
mod udp;
pub mod wire;
pub mod xfr;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::{TcpListener, UdpSocket};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::config::Config;
use crate::resolver::Resolver;
pub use encrypted::{EncryptedHandle, EncryptedSockets, bind_encrypted};
pub use frontend::{Frontend, Handled, Pending};
pub use limits::{Clients, RateLimit, Slot, Verdict};
#[cfg(debug_assertions)]
pub use panics::Stage;
pub use request::Proto;

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

/// UDP sockets per address: one per core, at most [`MAX_UDP_SOCKETS`]. Each
/// has a thread and an event loop of its own ([`udp::serve`]), as Unbound runs
/// one worker per core.
fn udp_sockets_per_address() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get().min(MAX_UDP_SOCKETS))
}

/// A bound on the UDP threads per listen address on a very large machine.
const MAX_UDP_SOCKETS: usize = 16;

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
    let frontend = Arc::new(Frontend::open(resolver.clone(), config)?);
    // A panic in one query's work is logged once, by the listener that caught it.
    panics::install_hook();
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
            let cx = udp::Ctx {
                frontend: frontend.clone(),
                token: token.clone(),
                tracker: tracker.clone(),
                drain: config.server.query_timeout,
            };
            listeners.push(tokio::spawn(udp::serve(u, cx)));
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
    if frontend.rate_limit_state().is_some() {
        let (fe, t) = (frontend.clone(), token.clone());
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(Duration::from_secs(10));
            loop {
                tokio::select! {
                    _ = tick.tick() => if let Some(r) = fe.rate_limit_state() { r.tidy() },
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
