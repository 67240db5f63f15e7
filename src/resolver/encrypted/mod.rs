//! Encrypted upstreams of forward roots: DNS over TLS (RFC 7858, [`dot`]), DNS
//! over HTTPS (RFC 8484, [`doh`]) and DNS over QUIC (RFC 9250, [`doq`]).
//!
//! Each upstream keeps one connection and reuses it for every question, several at
//! once (DoT: pipelined and matched by message ID; DoH: HTTP/2 streams; DoQ: QUIC
//! streams); it is
//! opened on first use, shared by the questions waiting for it, and opened again
//! when the server closes it. Certificates are verified against the root's
//! `tls-ca`, or the system's CA store, for the name after `#` in the config (or the
//! address). A failed handshake or certificate check is [`ServerError::Tls`]:
//! nothing is ever retried in clear text.
//!
//! The machine never touches these clients: it names the upstream by its index
//! ([`super::iter::Step::Send`]'s `upstream`), and the driver picks the client.

use std::fmt;
use std::net::SocketAddr;
use std::sync::Arc;

use hickory_proto::op::{Message, Query};
use rustls::ClientConfig;

use super::failure::ServerError;
use rustls::pki_types::ServerName;
use tokio::net::TcpStream;
use tokio::time::{Instant, timeout_at};
use tokio_rustls::TlsConnector;
use tokio_rustls::client::TlsStream;

use super::transport::{Reply, encode, io_error, matches, query_message};
use crate::config::{CaFile, Transport, Upstream};

pub mod doh;
pub mod doq;
pub mod dot;

/// One server of a forward root, as the machine and the driver see it.
pub struct Forwarder {
    pub addr: SocketAddr,
    pub via: Via,
}

impl Forwarder {
    /// A clear-text upstream (UDP, TCP on TC).
    pub fn plain(addr: SocketAddr) -> Forwarder {
        Forwarder {
            addr,
            via: Via::Plain,
        }
    }
}

/// How the driver talks to a forwarder.
pub enum Via {
    Plain,
    Tls(dot::DotClient),
    Https(doh::DohClient),
    Quic(doq::DoqClient),
}

impl fmt::Debug for Forwarder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.via {
            Via::Plain => write!(f, "{}", self.addr),
            Via::Tls(c) => write!(f, "tls://{}#{}", self.addr, c.name()),
            Via::Https(c) => write!(f, "https://{}{}#{}", self.addr, c.path(), c.name()),
            Via::Quic(c) => write!(f, "quic://{}#{}", self.addr, c.name()),
        }
    }
}

impl Via {
    /// Asks `server` through this transport: its TLS client, or `plain` (UDP,
    /// then TCP on TC) for a plain upstream.
    pub async fn query(
        &self,
        plain: &super::transport::Transport,
        server: SocketAddr,
        q: &Query,
        rd: bool,
        deadline: tokio::time::Instant,
    ) -> Result<Reply, ServerError> {
        match self {
            Via::Plain => plain.query(server, q, rd, deadline).await,
            Via::Tls(c) => c.query(q, rd, deadline).await,
            Via::Https(c) => c.query(q, rd, deadline).await,
            Via::Quic(c) => c.query(q, rd, deadline).await,
        }
    }
}

/// The forwarders of a root, with TLS clients for the encrypted ones (verifying
/// against `ca`, else the system's roots).
pub fn forwarders(ups: &[Upstream], ca: Option<&CaFile>) -> Result<Vec<Forwarder>, String> {
    let mut config: Option<Arc<ClientConfig>> = None;
    let mut out = Vec::new();
    for u in ups {
        if u.transport.is_encrypted() && config.is_none() {
            config = Some(client_config(ca)?);
        }
        let via = match (&u.transport, &config) {
            (Transport::Tls { name }, Some(c)) => {
                Via::Tls(dot::DotClient::new(u.addr, name, c.clone())?)
            }
            (Transport::Https { name, path }, Some(c)) => {
                let mut h2 = (**c).clone();
                h2.alpn_protocols = vec![b"h2".to_vec()];
                Via::Https(doh::DohClient::new(u.addr, name, path, Arc::new(h2))?)
            }
            (Transport::Quic { name }, Some(c)) => Via::Quic(doq::DoqClient::new(u.addr, name, c)?),
            _ => Via::Plain,
        };
        out.push(Forwarder { addr: u.addr, via });
    }
    Ok(out)
}

fn client_config(ca: Option<&CaFile>) -> Result<Arc<ClientConfig>, String> {
    let roots = match ca {
        Some(f) => Arc::new(crate::tls::load_ca(&f.path)?),
        None => crate::tls::system_roots()?,
    };
    let c = ClientConfig::builder_with_provider(crate::tls::provider())
        .with_safe_default_protocol_versions()
        .map_err(|e| format!("TLS set-up: {e}"))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(Arc::new(c))
}

/// The query as sent upstream: RD as asked, EDNS with our buffer size.
fn query_bytes(id: u16, q: &Query, rd: bool) -> Result<Vec<u8>, ServerError> {
    encode(&query_message(id, q, rd))
}

/// A reply that must be ours: it parses, has our ID and our question.
fn our_reply(bytes: &[u8], id: u16, q: &Query) -> Result<Message, ServerError> {
    let m = Message::from_vec(bytes)
        .map_err(|e| ServerError::Bogus(format!("malformed reply: {e}")))?;
    if !matches(&m, id, q) {
        return Err(ServerError::Bogus("a reply to another question".into()));
    }
    Ok(m)
}

/// A TLS upstream: its address, the name its certificate must cover, our TLS
/// settings. DoT and DoH connect the same way.
pub(super) struct TlsTarget {
    pub(super) addr: SocketAddr,
    pub(super) name: String,
    server_name: ServerName<'static>,
    connector: TlsConnector,
}

impl TlsTarget {
    fn new(addr: SocketAddr, name: &str, config: Arc<ClientConfig>) -> Result<TlsTarget, String> {
        let server_name = crate::config::encrypted::server_name(name)
            .ok_or_else(|| format!("{name:?} is not a name a certificate can cover"))?;
        Ok(TlsTarget {
            addr,
            name: name.to_string(),
            server_name,
            connector: TlsConnector::from(config),
        })
    }

    /// A new connection: TCP, then the handshake, both by `deadline`.
    async fn connect(&self, deadline: Instant) -> Result<TlsStream<TcpStream>, ServerError> {
        let tcp = match timeout_at(deadline, TcpStream::connect(self.addr)).await {
            Err(_) => return Err(ServerError::Timeout),
            Ok(Err(e)) => return Err(io_error(e)),
            Ok(Ok(s)) => s,
        };
        let _ = tcp.set_nodelay(true);
        match timeout_at(
            deadline,
            self.connector.connect(self.server_name.clone(), tcp),
        )
        .await
        {
            Err(_) => Err(ServerError::Timeout),
            Ok(Err(e)) => Err(handshake_error(e, self.addr, &self.name)),
            Ok(Ok(s)) => Ok(s),
        }
    }
}

/// The connection of one upstream, shared by its questions: every question reads
/// it without waiting (a plain lock held for a clone), and only the questions that
/// find it missing or closed queue, on `opening`, for the one handshake that
/// replaces it.
pub(super) struct Shared<C> {
    current: std::sync::Mutex<Option<C>>,
    opening: tokio::sync::Mutex<()>,
}

impl<C: Clone> Shared<C> {
    pub(super) fn new() -> Shared<C> {
        Shared {
            current: std::sync::Mutex::new(None),
            opening: tokio::sync::Mutex::new(()),
        }
    }

    /// The open connection if `live` says it still is, else one from `open` (by
    /// `deadline`); `true` when it is new.
    pub(super) async fn get<F, Fut>(
        &self,
        deadline: Instant,
        live: impl Fn(&C) -> bool,
        open: F,
    ) -> Result<(C, bool), ServerError>
    where
        F: FnOnce() -> Fut,
        Fut: std::future::Future<Output = Result<C, ServerError>>,
    {
        if let Some(c) = self.live(&live) {
            return Ok((c, false));
        }
        let _turn = timeout_at(deadline, self.opening.lock())
            .await
            .map_err(|_| ServerError::Timeout)?;
        // Opened by the question that held the turn before us?
        if let Some(c) = self.live(&live) {
            return Ok((c, false));
        }
        let c = open().await?;
        *self.slot() = Some(c.clone());
        Ok((c, true))
    }

    /// Forgets `c` if it is still the current connection (it failed under a
    /// question), so that the next question opens another.
    pub(super) fn forget(&self, same: impl Fn(&C) -> bool) {
        let mut slot = self.slot();
        if slot.as_ref().is_some_and(same) {
            *slot = None;
        }
    }

    fn live(&self, live: &impl Fn(&C) -> bool) -> Option<C> {
        self.slot().as_ref().filter(|c| live(c)).cloned()
    }

    fn slot(&self) -> std::sync::MutexGuard<'_, Option<C>> {
        // (nothing panics while holding it; a poisoned slot still holds a value)
        self.current
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// Why one try on a connection did not give a reply.
enum Fail {
    /// The connection closed under the question: worth a fresh connection.
    Closed,
    Other(ServerError),
}

/// The error of a failed TLS handshake: the certificate, the protocol, or the
/// connection dropped halfway — all `tls:`; a stalled one is a timeout.
fn handshake_error(e: std::io::Error, addr: SocketAddr, name: &str) -> ServerError {
    let why = match e.get_ref().and_then(|i| i.downcast_ref::<rustls::Error>()) {
        Some(t) => t.to_string(),
        None => e.to_string(),
    };
    ServerError::Tls(format!(
        "TLS handshake with {addr} for {name} failed: {why}"
    ))
}
