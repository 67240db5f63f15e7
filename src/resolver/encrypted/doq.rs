//! A DoQ upstream (RFC 9250) on quinn: one QUIC connection, reused; each question
//! on a stream of its own (the two-byte length, the message with ID 0, FIN), so
//! questions never wait for each other and need no ID matching. Opened on first
//! use, opened again when the server closed it; QUIC's idle timeout closes it
//! after [`super::dot::IDLE_CLOSE`] without a packet.

use std::net::SocketAddr;
use std::sync::Arc;

use hickory_proto::op::Query;
use quinn::crypto::rustls::QuicClientConfig;
use quinn::{Connection, Endpoint, VarInt};
use rustls::ClientConfig;
use tokio::time::{Instant, timeout_at};

use super::{Fail, Shared, our_reply, query_bytes};
use crate::resolver::failure::ServerError;
use crate::resolver::transport::{Reply, framed};

/// The longest answer stream taken: its length and a 65,535-byte message.
const MAX_STREAM: usize = 2 + 65_535;

pub struct DoqClient {
    addr: SocketAddr,
    name: String,
    config: quinn::ClientConfig,
    /// Made on first use, inside the runtime; kept for the connections after.
    endpoint: std::sync::Mutex<Option<Endpoint>>,
    conn: Shared<Connection>,
}

impl DoqClient {
    pub fn new(addr: SocketAddr, name: &str, tls: &ClientConfig) -> Result<DoqClient, String> {
        crate::config::encrypted::server_name(name)
            .ok_or_else(|| format!("{name:?} is not a name a certificate can cover"))?;
        let mut tls = tls.clone();
        tls.alpn_protocols = vec![b"doq".to_vec()];
        let crypto = QuicClientConfig::try_from(Arc::new(tls))
            .map_err(|e| format!("QUIC TLS set-up: {e}"))?;
        let mut transport = quinn::TransportConfig::default();
        transport
            .max_idle_timeout(quinn::IdleTimeout::try_from(super::dot::IDLE_CLOSE).ok())
            // The server opens no streams to us (RFC 9250 §4.2).
            .max_concurrent_bidi_streams(VarInt::from_u32(0))
            .max_concurrent_uni_streams(VarInt::from_u32(0));
        let mut config = quinn::ClientConfig::new(Arc::new(crypto));
        config.transport_config(Arc::new(transport));
        Ok(DoqClient {
            addr,
            name: name.to_string(),
            config,
            endpoint: std::sync::Mutex::new(None),
            conn: Shared::new(),
        })
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// Asks one question; waits at most until `deadline`.
    pub async fn query(
        &self,
        q: &Query,
        rd: bool,
        deadline: Instant,
    ) -> Result<Reply, ServerError> {
        // A reused connection the server has just closed fails at once: then once
        // more on a new one.
        for _ in 0..2 {
            let (conn, fresh) = self
                .conn
                .get(
                    deadline,
                    |c| c.close_reason().is_none(),
                    || self.connect(deadline),
                )
                .await?;
            match ask(&conn, q, rd, deadline).await {
                Ok(r) => return Ok(r),
                Err(Fail::Closed) if !fresh => {
                    self.conn.forget(|c| c.stable_id() == conn.stable_id());
                    continue;
                }
                Err(Fail::Closed) => {
                    return Err(ServerError::Unreachable(format!(
                        "{}: the QUIC connection closed before the reply",
                        self.addr
                    )));
                }
                Err(Fail::Other(e)) => return Err(e),
            }
        }
        Err(ServerError::Unreachable(format!(
            "{}: the QUIC connection keeps closing",
            self.addr
        )))
    }

    /// A new connection, by `deadline` (on the endpoint made on first use, inside
    /// the runtime).
    async fn connect(&self, deadline: Instant) -> Result<Connection, ServerError> {
        let ep = {
            let mut ep = self
                .endpoint
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            match ep.as_ref() {
                Some(e) => e.clone(),
                None => {
                    let local: SocketAddr = if self.addr.is_ipv6() {
                        (std::net::Ipv6Addr::UNSPECIFIED, 0).into()
                    } else {
                        (std::net::Ipv4Addr::UNSPECIFIED, 0).into()
                    };
                    let e = Endpoint::client(local).map_err(|e| {
                        ServerError::Local(format!("no UDP socket for QUIC to {}: {e}", self.addr))
                    })?;
                    *ep = Some(e.clone());
                    e
                }
            }
        };
        let connecting = ep
            .connect_with(self.config.clone(), self.addr, &self.name)
            .map_err(|e| ServerError::Local(format!("QUIC to {}: {e}", self.addr)))?;
        match timeout_at(deadline, connecting).await {
            Err(_) => Err(ServerError::Timeout),
            Ok(Err(quinn::ConnectionError::TimedOut)) => Err(ServerError::Timeout),
            Ok(Err(e)) => Err(ServerError::Tls(format!(
                "QUIC handshake with {} for {} failed: {e}",
                self.addr, self.name
            ))),
            Ok(Ok(c)) => Ok(c),
        }
    }
}

/// One question on its own stream of `conn`.
async fn ask(conn: &Connection, q: &Query, rd: bool, deadline: Instant) -> Result<Reply, Fail> {
    let bytes = query_bytes(0, q, rd)
        .and_then(|b| framed(&b))
        .map_err(Fail::Other)?;
    let started = Instant::now();
    let exchange = async {
        let (mut send, mut recv) = conn.open_bi().await.map_err(|_| Fail::Closed)?;
        send.write_all(&bytes).await.map_err(|_| Fail::Closed)?;
        send.finish().map_err(|_| Fail::Closed)?;
        recv.read_to_end(MAX_STREAM).await.map_err(|e| match e {
            quinn::ReadToEndError::TooLong => Fail::Other(ServerError::Bogus(
                "more than one message on a stream".into(),
            )),
            quinn::ReadToEndError::Read(quinn::ReadError::ConnectionLost(_)) => Fail::Closed,
            quinn::ReadToEndError::Read(e) => {
                Fail::Other(ServerError::Bogus(format!("the answer stream failed: {e}")))
            }
        })
    };
    let stream = match timeout_at(deadline, exchange).await {
        Err(_) => return Err(Fail::Other(ServerError::Timeout)),
        Ok(r) => r?,
    };
    let message = match stream.as_slice() {
        [a, b, rest @ ..] if usize::from(u16::from_be_bytes([*a, *b])) == rest.len() => rest,
        _ => {
            return Err(Fail::Other(ServerError::Bogus(
                "an answer stream that is not one whole message".into(),
            )));
        }
    };
    let message = our_reply(message, 0, q).map_err(Fail::Other)?;
    Ok(Reply {
        message,
        rtt: started.elapsed(),
    })
}
