//! Sending one query to one server: UDP first, TCP when the answer is truncated.
//!
//! Every UDP query goes out on a socket bound to a random port (the kernel's
//! choice) and connected to the server, with a random ID (RFC 5452 §9.2: the port
//! and the ID are what a spoofer must guess; a port kept open for long is what SAD
//! DNS scans for). A socket may carry at most [`REUSE_QUERIES`] queries to its one
//! server within [`REUSE_FOR`] of opening, then it is closed: opening one per
//! query cost 38 % of cold throughput in `bench/run.sh`, and the bound keeps every
//! port short-lived (the limit: ≤ 1 s, ≤ 8 queries). Only a reply with the same ID, QR set and the same question (name, type,
//! class) is accepted; anything else is ignored, not an error, so a spoofed or
//! stray datagram cannot end the wait. A reply that carries our ID but is not a
//! DNS message is bogus. Every wait is bounded by the try's time limit, and the
//! number of sockets open at once by [`Transport`]'s pool.
//!
//! Where the packets go is the [`Net`]: the operating system's sockets, or a
//! [`Script`] that answers them in code (the scenario harness and the fuzzer), so
//! that everything above the socket — EDNS fallback, TCP on TC, which datagrams
//! are ours — runs the same way in both.

use std::collections::VecDeque;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use hickory_proto::op::{Edns, Message, MessageType, OpCode, Query, ResponseCode};
use hickory_proto::rr::DNSClass;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpStream, UdpSocket};
use tokio::sync::Semaphore;
use tokio::time::{Instant, timeout_at};

use super::failure::ServerError;
use super::random::Random;

/// The EDNS buffer size we advertise (the DNS flag day 2020 value).
pub const EDNS_PAYLOAD: u16 = 1232;
/// UDP receive buffer: what we advertise plus room for servers that overshoot.
const UDP_BUFFER: usize = 4096;
/// Upstream sockets open at once (UDP and TCP together).
pub const MAX_SOCKETS: usize = 2048;
/// Replies read from one TCP connection before giving up on ours (RFC 7766
/// §6.2.1.1 lets a server send others first, but not without end).
const TCP_REPLIES: usize = 8;
/// Queries one UDP socket (one source port) carries at most…
pub const REUSE_QUERIES: u8 = 8;
/// …within this long of being opened.
pub const REUSE_FOR: Duration = Duration::from_secs(1);
/// Idle sockets kept for reuse, in all (oldest closed first).
const IDLE_MAX: usize = 256;

/// A reply and how long it took.
#[derive(Debug)]
pub struct Reply {
    pub message: Message,
    pub rtt: Duration,
}

/// Where upstream packets go.
#[derive(Clone, Default)]
pub enum Net {
    /// The operating system's sockets.
    #[default]
    Os,
    /// Answered in code, without sockets (tests, fuzzing).
    Scripted(Arc<dyn Script>),
}

/// What one server sends back for one query: each message after a delay counted
/// from the query (in order; the transport stops reading at the first that is
/// its reply).
#[derive(Clone, Debug, Default)]
pub struct Exchange {
    pub replies: Vec<(Duration, Vec<u8>)>,
}

/// A network answered in code. `udp` and `tcp` get the query as it would go on the
/// wire (without TCP's length prefix) and say what comes back: messages (none at
/// all is silence, and the try times out), or an error the socket would report
/// (ICMP port unreachable, TCP refused or reset: [`ServerError::Unreachable`]).
pub trait Script: Send + Sync {
    fn udp(&self, server: SocketAddr, query: &[u8]) -> Result<Exchange, ServerError>;
    fn tcp(&self, server: SocketAddr, query: &[u8]) -> Result<Exchange, ServerError>;
}

/// What a received message is to the query that waits for it.
enum Judged {
    Ours(Message),
    /// Carries our ID but is not DNS: the server is broken.
    Bogus(String),
    /// Stale, spoofed, another question: keep waiting.
    NotOurs,
}

fn judge(bytes: &[u8], id: u16, q: &Query) -> Judged {
    match Message::from_vec(bytes) {
        Ok(reply) if matches(&reply, id, q) => Judged::Ours(reply),
        Err(e) if looks_ours(bytes, id) => Judged::Bogus(format!("malformed reply: {e}")),
        _ => Judged::NotOurs,
    }
}

pub struct Transport {
    sockets: Arc<Semaphore>,
    net: Net,
    random: Random,
    /// Sockets that carried a query to the end, for the next query to the same
    /// server while young enough; oldest first.
    idle: Mutex<VecDeque<Idle>>,
}

/// A connected UDP socket between queries.
struct Idle {
    server: SocketAddr,
    sock: UdpSocket,
    /// Queries it has carried.
    uses: u8,
    opened: Instant,
}

impl Default for Transport {
    fn default() -> Transport {
        Transport::new(MAX_SOCKETS, Net::Os, Random::os())
    }
}

impl Transport {
    pub fn new(max_sockets: usize, net: Net, random: Random) -> Transport {
        Transport {
            sockets: Arc::new(Semaphore::new(max_sockets.max(1))),
            net,
            random,
            idle: Mutex::new(VecDeque::new()),
        }
    }

    /// Asks `server` one question; `rd` sets Recursion Desired (forwarders want it,
    /// authoritative servers do not). Waits at most until `deadline`.
    pub async fn query(
        &self,
        server: SocketAddr,
        q: &Query,
        rd: bool,
        deadline: Instant,
    ) -> Result<Reply, ServerError> {
        let Ok(Ok(_permit)) = timeout_at(deadline, self.sockets.acquire()).await else {
            return Err(ServerError::Local("no upstream socket free in time".into()));
        };
        let started = Instant::now();
        let id = self.random.u16();
        let mut msg = query_message(id, q, rd);
        let bytes = encode(&msg)?;
        let mut reply = self.udp(server, &bytes, id, q, deadline).await?;
        let mut sent = bytes;
        // RFC 6891 §7: a server that does not know EDNS answers FORMERR (or NOTIMP)
        // without an OPT record; ask it again the old way.
        if matches!(
            reply.metadata.response_code,
            ResponseCode::FormErr | ResponseCode::NotImp
        ) && reply.edns.is_none()
        {
            msg.edns = None;
            sent = encode(&msg)?;
            reply = self.udp(server, &sent, id, q, deadline).await?;
        }
        if reply.metadata.truncation {
            reply = self.tcp(server, &sent, id, q, deadline).await?;
            // TC over TCP: the reply is incomplete whatever it holds (Unbound
            // throws it away); the next server is asked.
            if reply.metadata.truncation {
                return Err(ServerError::Bogus("TC set in a reply over TCP".into()));
            }
        }
        Ok(Reply {
            message: reply,
            rtt: started.elapsed(),
        })
    }
}

/// The query as sent upstream: RD as asked, EDNS with our buffer size and DO set
/// (RFC 4035 §4.9.1: a security-aware resolver asks for RRSIGs and proofs, which it
/// validates and hands to clients that set DO themselves).
pub(super) fn query_message(id: u16, q: &Query, rd: bool) -> Message {
    let mut msg = Message::new(id, MessageType::Query, OpCode::Query);
    msg.metadata.recursion_desired = rd;
    msg.add_query(q.clone());
    let mut edns = Edns::new();
    edns.set_max_payload(EDNS_PAYLOAD);
    edns.set_dnssec_ok(true);
    msg.set_edns(edns);
    msg
}

pub(super) fn encode(msg: &Message) -> Result<Vec<u8>, ServerError> {
    msg.to_vec()
        .map_err(|e| ServerError::Local(format!("cannot encode the query: {e}")))
}

/// Is this reply ours: our ID, a response, and our question (RFC 5452 §9.1)?
pub(super) fn matches(reply: &Message, id: u16, q: &Query) -> bool {
    reply.metadata.id == id
        && reply.metadata.message_type == MessageType::Response
        && reply.queries.len() == 1
        && reply.queries[0].name() == q.name()
        && reply.queries[0].query_type() == q.query_type()
        && reply.queries[0].query_class() == DNSClass::IN
}

/// A socket error: the path or the server said no, or we are out of resources.
pub(super) fn io_error(e: std::io::Error) -> ServerError {
    use std::io::ErrorKind::*;
    if e.raw_os_error().is_some_and(|c| {
        matches!(
            c,
            libc::EMFILE | libc::ENFILE | libc::ENOBUFS | libc::ENOMEM
        )
    }) {
        // Our problem, not the server's.
        return ServerError::Local(e.to_string());
    }
    match e.kind() {
        ConnectionRefused | ConnectionReset | ConnectionAborted | HostUnreachable
        | NetworkUnreachable | AddrNotAvailable | NotConnected | BrokenPipe | UnexpectedEof => {
            ServerError::Unreachable(e.to_string())
        }
        _ => ServerError::Unreachable(e.to_string()),
    }
}

/// What the first bytes of a datagram say: our ID with QR set?
fn looks_ours(bytes: &[u8], id: u16) -> bool {
    bytes.len() >= 3 && u16::from_be_bytes([bytes[0], bytes[1]]) == id && bytes[2] & 0x80 != 0
}

impl Transport {
    /// One query over UDP. With the OS: a socket of its own on a fresh random
    /// port, connected to the server (so the kernel drops datagrams from anyone
    /// else and reports ICMP errors), closed after the query.
    async fn udp(
        &self,
        server: SocketAddr,
        bytes: &[u8],
        id: u16,
        q: &Query,
        deadline: Instant,
    ) -> Result<Message, ServerError> {
        let sock = match &self.net {
            Net::Scripted(s) => {
                let exchange = s.udp(server, bytes)?;
                return scripted(exchange, id, q, deadline).await;
            }
            Net::Os => match self.take(server) {
                Some(idle) => idle,
                None => Idle {
                    server,
                    sock: open_udp(server).await?,
                    uses: 0,
                    opened: Instant::now(),
                },
            },
        };
        sock.sock.send(bytes).await.map_err(io_error)?;
        let mut buf = [0u8; UDP_BUFFER];
        loop {
            let n = match timeout_at(deadline, sock.sock.recv(&mut buf)).await {
                Err(_) => return Err(ServerError::Timeout),
                Ok(Err(e)) => return Err(io_error(e)),
                Ok(Ok(n)) => n,
            };
            match judge(&buf[..n], id, q) {
                Judged::Ours(m) => {
                    self.give_back(sock);
                    return Ok(m);
                }
                Judged::Bogus(why) => return Err(ServerError::Bogus(why)),
                Judged::NotOurs => continue,
            }
        }
    }

    /// A young idle socket connected to `server`, if one is kept; sockets past
    /// [`REUSE_FOR`] are closed on the way.
    fn take(&self, server: SocketAddr) -> Option<Idle> {
        let mut idle = self.idle.lock().unwrap_or_else(|p| p.into_inner());
        while idle
            .front()
            .is_some_and(|i| i.opened.elapsed() >= REUSE_FOR)
        {
            idle.pop_front();
        }
        let at = idle.iter().rposition(|i| i.server == server)?;
        idle.remove(at)
    }

    /// Keeps a socket whose query ended well for the next query to its server,
    /// unless it has carried [`REUSE_QUERIES`] or is past [`REUSE_FOR`] (then it
    /// is closed, and its port with it).
    fn give_back(&self, mut sock: Idle) {
        sock.uses = sock.uses.saturating_add(1);
        if sock.uses >= REUSE_QUERIES || sock.opened.elapsed() >= REUSE_FOR {
            return;
        }
        let mut idle = self.idle.lock().unwrap_or_else(|p| p.into_inner());
        if idle.len() >= IDLE_MAX {
            idle.pop_front();
        }
        idle.push_back(sock);
    }

    async fn tcp(
        &self,
        server: SocketAddr,
        bytes: &[u8],
        id: u16,
        q: &Query,
        deadline: Instant,
    ) -> Result<Message, ServerError> {
        if let Net::Scripted(s) = &self.net {
            let exchange = s.tcp(server, bytes)?;
            let mut ex = exchange;
            ex.replies.truncate(TCP_REPLIES);
            return match scripted(ex, id, q, deadline).await {
                Err(ServerError::Bogus(why)) => Err(ServerError::Bogus(format!("{why} over TCP"))),
                other => other,
            };
        }
        tcp(server, bytes, id, q, deadline).await
    }
}

/// A socket on a fresh random port (the kernel's choice for port 0), connected to
/// `server`.
async fn open_udp(server: SocketAddr) -> Result<UdpSocket, ServerError> {
    let local: SocketAddr = match server.ip() {
        IpAddr::V4(_) => (Ipv4Addr::UNSPECIFIED, 0).into(),
        IpAddr::V6(_) => (Ipv6Addr::UNSPECIFIED, 0).into(),
    };
    let sock = UdpSocket::bind(local).await.map_err(|e| {
        // Failing to get a local socket is never the server's fault.
        ServerError::Local(format!("cannot open a UDP socket: {e}"))
    })?;
    sock.connect(server).await.map_err(io_error)?;
    Ok(sock)
}

/// A scripted exchange, waited out as a socket's would be: each message arrives
/// after its delay, the first that is ours ends the wait, silence lasts until the
/// deadline.
async fn scripted(
    exchange: Exchange,
    id: u16,
    q: &Query,
    deadline: Instant,
) -> Result<Message, ServerError> {
    let start = Instant::now();
    for (after, bytes) in exchange.replies {
        let at = start + after;
        if at >= deadline {
            break;
        }
        tokio::time::sleep_until(at).await;
        match judge(&bytes, id, q) {
            Judged::Ours(m) => return Ok(m),
            Judged::Bogus(why) => return Err(ServerError::Bogus(why)),
            Judged::NotOurs => continue,
        }
    }
    tokio::time::sleep_until(deadline).await;
    Err(ServerError::Timeout)
}

/// A message as a stream carries it (RFC 1035 §4.2.2): two length bytes first.
pub fn framed(bytes: &[u8]) -> Result<Vec<u8>, ServerError> {
    let len =
        u16::try_from(bytes.len()).map_err(|_| ServerError::Local("query too long".into()))?;
    let mut out = Vec::with_capacity(bytes.len() + 2);
    out.extend_from_slice(&len.to_be_bytes());
    out.extend_from_slice(bytes);
    Ok(out)
}

/// Reads one length-prefixed message from a stream.
pub async fn read_framed<R: AsyncRead + Unpin>(r: &mut R) -> std::io::Result<Vec<u8>> {
    let mut len = [0u8; 2];
    r.read_exact(&mut len).await?;
    let mut buf = vec![0u8; usize::from(u16::from_be_bytes(len))];
    r.read_exact(&mut buf).await?;
    Ok(buf)
}

async fn tcp(
    server: SocketAddr,
    bytes: &[u8],
    id: u16,
    q: &Query,
    deadline: Instant,
) -> Result<Message, ServerError> {
    let work = async {
        let mut s = TcpStream::connect(server).await.map_err(io_error)?;
        s.write_all(&framed(bytes)?).await.map_err(io_error)?;
        // One connection carries one question here.
        for _ in 0..TCP_REPLIES {
            let buf = read_framed(&mut s).await.map_err(io_error)?;
            match judge(&buf, id, q) {
                Judged::Ours(m) => return Ok(m),
                Judged::Bogus(why) => return Err(ServerError::Bogus(format!("{why} over TCP"))),
                Judged::NotOurs => continue,
            }
        }
        Err(ServerError::Bogus("no matching reply over TCP".into()))
    };
    match timeout_at(deadline, work).await {
        Ok(r) => r,
        Err(_) => Err(ServerError::Timeout),
    }
}

#[cfg(test)]
#[path = "transport_tests.rs"]
mod tests;
