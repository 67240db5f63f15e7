//! Sending one query to one server: UDP first, TCP when the answer is truncated.
//!
//! Each UDP query uses a fresh socket on a random port and a random ID, and only a
//! reply from the server's address with the same ID and question is accepted
//! (anything else is ignored, not an error, so a spoofed or stray datagram cannot end
//! the wait). Every wait is bounded by the caller's timeout.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::time::Duration;

use hickory_proto::op::{Edns, Message, MessageType, OpCode, Query, ResponseCode};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpStream, UdpSocket};
use tokio::time::{Instant, timeout_at};

/// The EDNS buffer size we advertise (the DNS flag day 2020 value).
pub const EDNS_PAYLOAD: u16 = 1232;

#[derive(Debug, thiserror::Error)]
pub enum TransportError {
    #[error("{0}: no answer within the time limit")]
    Timeout(SocketAddr),
    #[error("{addr}: {source}")]
    Io {
        addr: SocketAddr,
        source: std::io::Error,
    },
    #[error("{addr}: malformed answer: {message}")]
    Malformed { addr: SocketAddr, message: String },
}

/// Asks `server` one question; `rd` sets Recursion Desired (forwarders want it,
/// authoritative servers do not).
pub async fn query(
    server: SocketAddr,
    q: &Query,
    rd: bool,
    limit: Duration,
) -> Result<Message, TransportError> {
    let deadline = Instant::now() + limit;
    let id: u16 = rand::random();
    let mut msg = Message::new(id, MessageType::Query, OpCode::Query);
    msg.metadata.recursion_desired = rd;
    msg.add_query(q.clone());
    let mut edns = Edns::new();
    edns.set_max_payload(EDNS_PAYLOAD);
    msg.set_edns(edns);
    let bytes = msg.to_vec().map_err(|e| TransportError::Malformed {
        addr: server,
        message: e.to_string(),
    })?;

    let mut reply = udp(server, &bytes, id, q, deadline).await?;
    // RFC 6891 §7: a server that does not know EDNS answers FORMERR (or NOTIMP)
    // without an OPT record; ask it again the old way.
    if matches!(
        reply.metadata.response_code,
        ResponseCode::FormErr | ResponseCode::NotImp
    ) && reply.edns.is_none()
    {
        msg.edns = None;
        let plain = msg.to_vec().map_err(|e| TransportError::Malformed {
            addr: server,
            message: e.to_string(),
        })?;
        reply = udp(server, &plain, id, q, deadline).await?;
        if reply.metadata.truncation {
            return tcp(server, &plain, id, q, deadline).await;
        }
        return Ok(reply);
    }
    if reply.metadata.truncation {
        return tcp(server, &bytes, id, q, deadline).await;
    }
    Ok(reply)
}

fn io(addr: SocketAddr) -> impl FnOnce(std::io::Error) -> TransportError {
    move |source| TransportError::Io { addr, source }
}

fn matches(reply: &Message, id: u16, q: &Query) -> bool {
    reply.metadata.id == id
        && reply.metadata.message_type == MessageType::Response
        && reply.queries.len() == 1
        && reply.queries[0].name() == q.name()
        && reply.queries[0].query_type() == q.query_type()
}

async fn udp(
    server: SocketAddr,
    bytes: &[u8],
    id: u16,
    q: &Query,
    deadline: Instant,
) -> Result<Message, TransportError> {
    let local: SocketAddr = match server.ip() {
        IpAddr::V4(_) => (Ipv4Addr::UNSPECIFIED, 0).into(),
        IpAddr::V6(_) => (Ipv6Addr::UNSPECIFIED, 0).into(),
    };
    let sock = UdpSocket::bind(local).await.map_err(io(server))?;
    sock.connect(server).await.map_err(io(server))?;
    sock.send(bytes).await.map_err(io(server))?;
    let mut buf = vec![0u8; 65_535];
    loop {
        let n = match timeout_at(deadline, sock.recv(&mut buf)).await {
            Err(_) => return Err(TransportError::Timeout(server)),
            Ok(Err(e)) => {
                return Err(TransportError::Io {
                    addr: server,
                    source: e,
                });
            }
            Ok(Ok(n)) => n,
        };
        match Message::from_vec(&buf[..n]) {
            Ok(reply) if matches(&reply, id, q) => return Ok(reply),
            // Not ours (stale, spoofed, garbled): keep waiting until the deadline.
            _ => continue,
        }
    }
}

async fn tcp(
    server: SocketAddr,
    bytes: &[u8],
    id: u16,
    q: &Query,
    deadline: Instant,
) -> Result<Message, TransportError> {
    let work = async {
        let mut s = TcpStream::connect(server).await.map_err(io(server))?;
        let len = u16::try_from(bytes.len()).map_err(|_| TransportError::Malformed {
            addr: server,
            message: "query too long".into(),
        })?;
        let mut framed = Vec::with_capacity(bytes.len() + 2);
        framed.extend_from_slice(&len.to_be_bytes());
        framed.extend_from_slice(bytes);
        s.write_all(&framed).await.map_err(io(server))?;
        loop {
            let mut lenbuf = [0u8; 2];
            s.read_exact(&mut lenbuf).await.map_err(io(server))?;
            let mut buf = vec![0u8; u16::from_be_bytes(lenbuf) as usize];
            s.read_exact(&mut buf).await.map_err(io(server))?;
            let reply = Message::from_vec(&buf).map_err(|e| TransportError::Malformed {
                addr: server,
                message: e.to_string(),
            })?;
            if matches(&reply, id, q) {
                return Ok(reply);
            }
        }
    };
    match timeout_at(deadline, work).await {
        Ok(r) => r,
        Err(_) => Err(TransportError::Timeout(server)),
    }
}
