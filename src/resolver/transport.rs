//! Sending one query to one server: UDP first, TCP when the answer is truncated.
//!
//! Each UDP query uses a socket on a random port, connected to the server, and a
//! random ID (RFC 5452); a socket that carried a query to the end is kept for the
//! next query to the same server, up to [`USES_PER_SOCKET`] times, so a busy
//! resolver does not open, bind and register a socket per question. Only a reply with the same ID, QR set and the same question
//! (name, type, class) is accepted; anything else is ignored, not an error, so a
//! spoofed or stray datagram cannot end the wait. A reply that carries our ID but is
//! not a DNS message is bogus. Every wait is bounded by the try's time limit, and
//! the number of sockets open at once by [`Transport`]'s pool.

use foldhash::HashMap;
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

/// The EDNS buffer size we advertise (the DNS flag day 2020 value).
pub const EDNS_PAYLOAD: u16 = 1232;
/// UDP receive buffer: what we advertise plus room for servers that overshoot.
const UDP_BUFFER: usize = 4096;
/// Upstream sockets open at once (UDP and TCP together).
pub const MAX_SOCKETS: usize = 2048;

/// A reply and how long it took.
#[derive(Debug)]
pub struct Reply {
    pub message: Message,
    pub rtt: Duration,
}

pub struct Transport {
    sockets: Arc<Semaphore>,
    /// UDP sockets connected to a server, idle, kept for the next query to it.
    idle: Mutex<Idle>,
}

/// Idle connected sockets by server, and how many in all.
#[derive(Default)]
struct Idle {
    by_server: HashMap<SocketAddr, Vec<Recycled>>,
    count: usize,
}

/// A connected UDP socket and how many queries it has carried.
struct Recycled {
    sock: UdpSocket,
    uses: u32,
}

/// Queries one socket carries before it is closed and a new random port taken
/// (RFC 5452: the port is part of what a spoofer must guess).
const USES_PER_SOCKET: u32 = 64;
/// Idle sockets kept in all.
const MAX_IDLE: usize = 512;

impl Default for Transport {
    fn default() -> Transport {
        Transport::new(MAX_SOCKETS)
    }
}

impl Transport {
    pub fn new(max_sockets: usize) -> Transport {
        Transport {
            sockets: Arc::new(Semaphore::new(max_sockets.max(1))),
            idle: Mutex::new(Idle::default()),
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
        let id: u16 = rand::random();
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
            reply = tcp(server, &sent, id, q, deadline).await?;
        }
        Ok(Reply {
            message: reply,
            rtt: started.elapsed(),
        })
    }
}

/// The query as sent upstream: RD as asked, EDNS with our buffer size.
pub(super) fn query_message(id: u16, q: &Query, rd: bool) -> Message {
    let mut msg = Message::new(id, MessageType::Query, OpCode::Query);
    msg.metadata.recursion_desired = rd;
    msg.add_query(q.clone());
    let mut edns = Edns::new();
    edns.set_max_payload(EDNS_PAYLOAD);
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
    match e.kind() {
        ConnectionRefused | ConnectionReset | ConnectionAborted | HostUnreachable
        | NetworkUnreachable | AddrNotAvailable | NotConnected | BrokenPipe | UnexpectedEof => {
            ServerError::Unreachable(e.to_string())
        }
        _ if e
            .raw_os_error()
            .is_some_and(|c| c == 24 || c == 23 || c == 105) =>
        {
            // EMFILE, ENFILE, ENOBUFS: our problem, not the server's.
            ServerError::Local(e.to_string())
        }
        _ => ServerError::Unreachable(e.to_string()),
    }
}

/// What the first bytes of a datagram say: our ID with QR set?
fn looks_ours(bytes: &[u8], id: u16) -> bool {
    bytes.len() >= 3 && u16::from_be_bytes([bytes[0], bytes[1]]) == id && bytes[2] & 0x80 != 0
}

impl Transport {
    /// An idle socket connected to `server`, or a new one on a random port.
    async fn take(&self, server: SocketAddr) -> Result<Recycled, ServerError> {
        let reused = {
            let mut idle = self.idle.lock().unwrap_or_else(|p| p.into_inner());
            let r = idle.by_server.get_mut(&server).and_then(Vec::pop);
            if r.is_some() {
                idle.count -= 1;
                if idle.by_server.get(&server).is_some_and(Vec::is_empty) {
                    idle.by_server.remove(&server);
                }
            }
            r
        };
        if let Some(r) = reused {
            return Ok(r);
        }
        let local: SocketAddr = match server.ip() {
            IpAddr::V4(_) => (Ipv4Addr::UNSPECIFIED, 0).into(),
            IpAddr::V6(_) => (Ipv6Addr::UNSPECIFIED, 0).into(),
        };
        let sock = UdpSocket::bind(local).await.map_err(|e| {
            // Failing to get a local socket is never the server's fault.
            ServerError::Local(format!("cannot open a UDP socket: {e}"))
        })?;
        sock.connect(server).await.map_err(io_error)?;
        Ok(Recycled { sock, uses: 0 })
    }

    /// Keeps a socket that carried a query to the end for the next one, unless it
    /// has carried enough or enough are idle.
    fn give_back(&self, server: SocketAddr, mut r: Recycled) {
        r.uses += 1;
        if r.uses >= USES_PER_SOCKET {
            return;
        }
        let mut idle = self.idle.lock().unwrap_or_else(|p| p.into_inner());
        if idle.count < MAX_IDLE {
            idle.count += 1;
            idle.by_server.entry(server).or_default().push(r);
        }
    }

    /// One query over UDP on a connected socket (so the kernel drops datagrams from
    /// anyone else and reports ICMP errors). Replies that are not ours — stale ones
    /// from an earlier query on a recycled socket included — are ignored.
    async fn udp(
        &self,
        server: SocketAddr,
        bytes: &[u8],
        id: u16,
        q: &Query,
        deadline: Instant,
    ) -> Result<Message, ServerError> {
        let r = self.take(server).await?;
        r.sock.send(bytes).await.map_err(io_error)?;
        let mut buf = [0u8; UDP_BUFFER];
        loop {
            let n = match timeout_at(deadline, r.sock.recv(&mut buf)).await {
                Err(_) => return Err(ServerError::Timeout),
                Ok(Err(e)) => return Err(io_error(e)),
                Ok(Ok(n)) => n,
            };
            let datagram = &buf[..n];
            match Message::from_vec(datagram) {
                Ok(reply) if matches(&reply, id, q) => {
                    self.give_back(server, r);
                    return Ok(reply);
                }
                Err(e) if looks_ours(datagram, id) => {
                    return Err(ServerError::Bogus(format!("malformed reply: {e}")));
                }
                // Not ours (stale, spoofed, another question): keep waiting.
                _ => continue,
            }
        }
    }
}

/// A message as a stream carries it (RFC 1035 §4.2.2): two length bytes first.
pub(super) fn framed(bytes: &[u8]) -> Result<Vec<u8>, ServerError> {
    let len =
        u16::try_from(bytes.len()).map_err(|_| ServerError::Local("query too long".into()))?;
    let mut out = Vec::with_capacity(bytes.len() + 2);
    out.extend_from_slice(&len.to_be_bytes());
    out.extend_from_slice(bytes);
    Ok(out)
}

/// Reads one length-prefixed message from a stream.
pub(super) async fn read_framed<R: AsyncRead + Unpin>(r: &mut R) -> std::io::Result<Vec<u8>> {
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
        // A server may send replies to other queries first (RFC 7766 §6.2.1.1), but
        // a bounded number: one connection carries one question here.
        for _ in 0..8 {
            let buf = read_framed(&mut s).await.map_err(io_error)?;
            let reply = Message::from_vec(&buf)
                .map_err(|e| ServerError::Bogus(format!("malformed reply over TCP: {e}")))?;
            if matches(&reply, id, q) {
                return Ok(reply);
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
mod tests {
    use super::*;

    // Running out of descriptors or buffers is our problem, not the server's: it
    // must not count against the server (the old engine marked it down).
    #[test]
    fn local_exhaustion_is_not_the_servers_fault() {
        for code in [24, 23, 105] {
            let e = std::io::Error::from_raw_os_error(code);
            assert!(matches!(io_error(e), ServerError::Local(_)), "{code}");
        }
        let refused = std::io::Error::from(std::io::ErrorKind::ConnectionRefused);
        assert!(matches!(io_error(refused), ServerError::Unreachable(_)));
    }

    #[test]
    fn only_our_id_with_qr_set_is_ours() {
        assert!(looks_ours(&[0x12, 0x34, 0x80], 0x1234));
        assert!(
            !looks_ours(&[0x12, 0x34, 0x00], 0x1234),
            "a query, not a reply"
        );
        assert!(!looks_ours(&[0x12, 0x35, 0x80], 0x1234));
        assert!(!looks_ours(&[0x12], 0x1234));
    }
}
