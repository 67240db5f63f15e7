//! A DoH upstream (RFC 8484): one HTTP/2 connection (ALPN `h2`), each question a
//! POST of `application/dns-message` on its own stream, message ID 0 (§4.1),
//! opened again when the server closes it (GOAWAY, idle close).

use std::net::SocketAddr;
use std::sync::Arc;

use bytes::Bytes;
use hickory_proto::op::Query;
use http_body_util::{BodyExt, Full, Limited};
use hyper::client::conn::http2::SendRequest;
use hyper::header::{ACCEPT, CONTENT_TYPE};
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use rustls::ClientConfig;
use tokio::time::{Instant, timeout_at};

use super::{Fail, TlsTarget, our_reply, query_bytes};
use crate::resolver::failure::ServerError;
use crate::resolver::transport::Reply;

const DNS_MESSAGE: &str = "application/dns-message";

pub struct DohClient {
    target: TlsTarget,
    path: String,
    /// `https://name[:port]/path`, the URI of every request.
    uri: String,
    conn: tokio::sync::Mutex<Option<SendRequest<Full<Bytes>>>>,
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
        uri.parse::<hyper::Uri>()
            .map_err(|e| format!("{uri}: not a usable URL ({e})"))?;
        Ok(DohClient {
            target,
            path: path.to_string(),
            uri,
            conn: tokio::sync::Mutex::new(None),
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
        for _ in 0..2 {
            let (sender, fresh) = self.connection(deadline).await?;
            match self.ask(sender, q, rd, deadline).await {
                Ok(r) => return Ok(r),
                Err(Fail::Closed) if !fresh => {
                    *self.conn.lock().await = None;
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

    async fn connection(
        &self,
        deadline: Instant,
    ) -> Result<(SendRequest<Full<Bytes>>, bool), ServerError> {
        let mut slot = timeout_at(deadline, self.conn.lock())
            .await
            .map_err(|_| ServerError::Timeout)?;
        if let Some(s) = slot.as_ref().filter(|s| !s.is_closed()) {
            return Ok((s.clone(), false));
        }
        *slot = None;
        let tls = self.target.connect(deadline).await?;
        if tls.get_ref().1.alpn_protocol() != Some(b"h2") {
            return Err(ServerError::Tls(format!(
                "{} did not agree to HTTP/2 (ALPN h2), which DoH upstreams need",
                self.target.addr
            )));
        }
        let mut b = hyper::client::conn::http2::Builder::new(TokioExecutor::new());
        b.timer(TokioTimer::new());
        let (sender, conn) = match timeout_at(deadline, b.handshake(TokioIo::new(tls))).await {
            Err(_) => return Err(ServerError::Timeout),
            Ok(Err(e)) => {
                return Err(ServerError::Unreachable(format!(
                    "{}: HTTP/2: {e}",
                    self.target.addr
                )));
            }
            Ok(Ok(x)) => x,
        };
        tokio::spawn(async move {
            let _ = conn.await;
        });
        *slot = Some(sender.clone());
        Ok((sender, true))
    }

    async fn ask(
        &self,
        mut sender: SendRequest<Full<Bytes>>,
        q: &Query,
        rd: bool,
        deadline: Instant,
    ) -> Result<Reply, Fail> {
        let body = query_bytes(0, q, rd).map_err(Fail::Other)?;
        let req = hyper::Request::post(&self.uri)
            .header(CONTENT_TYPE, DNS_MESSAGE)
            .header(ACCEPT, DNS_MESSAGE)
            .body(Full::new(Bytes::from(body)))
            .map_err(|e| {
                Fail::Other(ServerError::Local(format!("cannot build the request: {e}")))
            })?;
        let started = Instant::now();
        let work = async {
            sender.ready().await.map_err(|_| Fail::Closed)?;
            let resp = sender.send_request(req).await.map_err(|e| {
                if e.is_canceled() || e.is_closed() {
                    Fail::Closed
                } else {
                    Fail::Other(ServerError::Unreachable(format!(
                        "{}: HTTP/2: {e}",
                        self.target.addr
                    )))
                }
            })?;
            let status = resp.status();
            let ct = resp
                .headers()
                .get(CONTENT_TYPE)
                .and_then(|v| v.to_str().ok())
                .map(str::to_string);
            let body = Limited::new(resp.into_body(), 65_535)
                .collect()
                .await
                .map_err(|e| Fail::Other(ServerError::Bogus(format!("DoH body: {e}"))))?
                .to_bytes();
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
