//! A DoH upstream (RFC 8484): one HTTP/2 connection (ALPN `h2`), each question a
//! POST of `application/dns-message` on its own stream, message ID 0 (§4.1),
//! opened again when the server closes it (GOAWAY, idle close).
//!
//! On the `h2` crate directly, as hickory-net's DoH client is. hyper's client on
//! top of it hands every request to its connection task and spawns a task per
//! request body; on it this client took about half again as much CPU per answer
//! (`bench/upstream-clients.sh`: 33–38k answers per CPU-second, 53–57k on h2).

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use bytes::{Bytes, BytesMut};
use h2::client::SendRequest;
use hickory_proto::op::Query;
use http::header::{ACCEPT, CONTENT_LENGTH, CONTENT_TYPE};
use rustls::ClientConfig;
use tokio::time::{Instant, timeout_at};

use super::{Fail, Shared, TlsTarget, our_reply, query_bytes};
use crate::resolver::failure::ServerError;
use crate::resolver::transport::Reply;

const DNS_MESSAGE: &str = "application/dns-message";
/// The longest answer body taken: one DNS message.
const MAX_BODY: usize = 65_535;
/// Flow-control windows we grant the server: a stream can carry the longest
/// message without waiting, and the connection sixteen of them.
const STREAM_WINDOW: u32 = 65_535;
const CONN_WINDOW: u32 = 16 * 65_535;

pub struct DohClient {
    target: TlsTarget,
    path: String,
    /// `https://name[:port]/path`, the URI of every request.
    uri: http::Uri,
    conn: Shared<Conn>,
}

/// One HTTP/2 connection: its request handle, and whether its driver task has
/// ended (the server closed it, or it failed).
#[derive(Clone)]
struct Conn {
    sender: SendRequest<Bytes>,
    ended: Arc<AtomicBool>,
}

impl DohClient {
    pub fn new(
        addr: SocketAddr,
        name: &str,
        path: &str,
        config: Arc<ClientConfig>,
    ) -> Result<Self, String> {
        let target = TlsTarget::new(addr, name, config)?;
        let host = match name.parse::<std::net::IpAddr>() {
            Ok(std::net::IpAddr::V6(v6)) => format!("[{v6}]"),
            _ => name.to_string(),
        };
        let uri = if addr.port() == crate::config::encrypted::DOH_PORT {
            format!("https://{host}{path}")
        } else {
            format!("https://{host}:{}{path}", addr.port())
        };
        let uri = uri
            .parse::<http::Uri>()
            .map_err(|e| format!("{uri}: not a usable URL ({e})"))?;
        Ok(DohClient {
            target,
            path: path.to_string(),
            uri,
            conn: Shared::new(),
        })
    }

    pub fn name(&self) -> &str {
        &self.target.name
    }

    pub fn path(&self) -> &str {
        &self.path
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
                    |c| !c.ended.load(Ordering::Acquire),
                    || self.connect(deadline),
                )
                .await?;
            match self.ask(&conn, q, rd, deadline).await {
                Ok(r) => return Ok(r),
                Err(Fail::Closed) if !fresh => {
                    self.conn.forget(|c| Arc::ptr_eq(&c.ended, &conn.ended));
                    continue;
                }
                Err(Fail::Closed) => {
                    return Err(ServerError::Unreachable(format!(
                        "{}: the HTTP/2 connection closed before the reply",
                        self.target.addr
                    )));
                }
                Err(Fail::Other(e)) => return Err(e),
            }
        }
        Err(ServerError::Unreachable(format!(
            "{}: the HTTP/2 connection keeps closing",
            self.target.addr
        )))
    }

    /// A new connection: TLS with ALPN `h2`, then the HTTP/2 preface, by `deadline`.
    async fn connect(&self, deadline: Instant) -> Result<Conn, ServerError> {
        let tls = self.target.connect(deadline).await?;
        if tls.get_ref().1.alpn_protocol() != Some(b"h2") {
            return Err(ServerError::Tls(format!(
                "{} did not agree to HTTP/2 (ALPN h2), which DoH upstreams need",
                self.target.addr
            )));
        }
        let mut b = h2::client::Builder::new();
        b.enable_push(false)
            .initial_window_size(STREAM_WINDOW)
            .initial_connection_window_size(CONN_WINDOW);
        let (sender, driver) = match timeout_at(deadline, b.handshake(tls)).await {
            Err(_) => return Err(ServerError::Timeout),
            Ok(Err(e)) => {
                return Err(ServerError::Unreachable(format!(
                    "{}: HTTP/2: {e}",
                    self.target.addr
                )));
            }
            Ok(Ok(x)) => x,
        };
        let ended = Arc::new(AtomicBool::new(false));
        let flag = ended.clone();
        tokio::spawn(async move {
            // Ends when the server closes the connection (after GOAWAY, once its
            // streams are done), on an error, or when every handle is dropped.
            let _ = driver.await;
            flag.store(true, Ordering::Release);
        });
        Ok(Conn { sender, ended })
    }

    async fn ask(
        &self,
        conn: &Conn,
        q: &Query,
        rd: bool,
        deadline: Instant,
    ) -> Result<Reply, Fail> {
        let body = Bytes::from(query_bytes(0, q, rd).map_err(Fail::Other)?);
        let req = http::Request::post(self.uri.clone())
            .header(CONTENT_TYPE, DNS_MESSAGE)
            .header(ACCEPT, DNS_MESSAGE)
            .header(CONTENT_LENGTH, body.len())
            .body(())
            .map_err(|e| {
                Fail::Other(ServerError::Local(format!("cannot build the request: {e}")))
            })?;
        let started = Instant::now();
        let addr = self.target.addr;
        let h2_error = |e: h2::Error| {
            // The connection went away (GOAWAY, a reset connection, EOF), or the
            // server refused the stream before doing anything with it (RFC 9113
            // §8.7): worth a new connection. Anything else is this stream's failure.
            if e.is_go_away() || e.is_io() || e.reason() == Some(h2::Reason::REFUSED_STREAM) {
                Fail::Closed
            } else {
                Fail::Other(ServerError::Unreachable(format!("{addr}: HTTP/2: {e}")))
            }
        };
        let work = async {
            let mut sender = conn.sender.clone().ready().await.map_err(h2_error)?;
            let (response, mut send) = sender.send_request(req, false).map_err(h2_error)?;
            send.send_data(body, true).map_err(h2_error)?;
            let resp = response.await.map_err(h2_error)?;
            let status = resp.status();
            let ct = resp
                .headers()
                .get(CONTENT_TYPE)
                .and_then(|v| v.to_str().ok())
                .map(str::to_string);
            let mut stream = resp.into_body();
            let mut body = BytesMut::new();
            while let Some(chunk) = stream.data().await {
                let chunk = chunk.map_err(h2_error)?;
                let _ = stream.flow_control().release_capacity(chunk.len());
                if body.len() + chunk.len() > MAX_BODY {
                    return Err(Fail::Other(ServerError::Bogus(format!(
                        "DoH body: longer than {MAX_BODY} bytes"
                    ))));
                }
                body.extend_from_slice(&chunk);
            }
            if !status.is_success() {
                return Err(Fail::Other(ServerError::Bogus(format!(
                    "DoH answered HTTP {status}"
                ))));
            }
            if !ct
                .as_deref()
                .is_some_and(|c| c.eq_ignore_ascii_case(DNS_MESSAGE))
            {
                return Err(Fail::Other(ServerError::Bogus(format!(
                    "DoH answered {} instead of {DNS_MESSAGE}",
                    ct.as_deref().unwrap_or("no content type")
                ))));
            }
            Ok(body)
        };
        let body = match timeout_at(deadline, work).await {
            Err(_) => return Err(Fail::Other(ServerError::Timeout)),
            Ok(r) => r?,
        };
        let message = our_reply(&body, 0, q).map_err(Fail::Other)?;
        Ok(Reply {
            message,
            rtt: started.elapsed(),
        })
    }
}
