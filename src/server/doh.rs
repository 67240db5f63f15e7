//! The DoH listener (RFC 8484): HTTPS on `/dns-query`, GET with `?dns=` (base64url)
//! and POST with an `application/dns-message` body, over HTTP/2 or HTTP/1.1 (ALPN
//! `h2`, `http/1.1`).
//!
//! Bounds, as for TCP and DoT: at most `tcp-clients` connections; the TLS
//! handshake, and then each whole request (headers and body), within
//! `tcp-idle-timeout` — a connection on which no request starts for that long is
//! closed, so a client trickling headers or body byte by byte cannot hold it; at
//! most [`STREAMS`] requests of one HTTP/2 connection at once (HTTP/1.1 answers
//! one at a time); bodies over 65,535 bytes are refused (413).

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use hyper::header::{ALLOW, CACHE_CONTROL, CONTENT_TYPE};
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use tokio::net::TcpListener;
use tokio::time::Instant;
use tokio_rustls::TlsAcceptor;

use super::dot::handshake;
use super::panics::Guarded;
use super::tcp::{self, Ctx};
use super::{Handled, Proto};

/// The one path served.
pub const PATH: &str = "/dns-query";
/// RFC 8484's media type.
pub const DNS_MESSAGE: &str = "application/dns-message";
/// Requests of one HTTP/2 connection at once (RFC 9113 §6.5.2 advises at least
/// 100; browsers and dnsperf open that many and stall on fewer).
const STREAMS: u32 = 100;
/// A DNS message is at most this long.
const MAX_BODY: usize = 65_535;

pub async fn serve(listener: TcpListener, acceptor: TlsAcceptor, ctx: Arc<Ctx>) {
    tcp::accept_loop(listener, ctx, Proto::Doh, move |stream, peer, c| {
        let acc = acceptor.clone();
        async move {
            if let Some(tls) = handshake(&acc, stream, &c).await {
                connection(tls, peer, c).await;
            }
        }
    })
    .await;
}

/// When the last request started or ended, and how many are running.
struct Activity {
    last: Mutex<Instant>,
    running: AtomicUsize,
}

/// Counts a request as running while it lives.
struct Running(Arc<Activity>);

impl Running {
    fn start(a: &Arc<Activity>) -> Running {
        a.running.fetch_add(1, Ordering::Relaxed);
        *a.last.lock().unwrap_or_else(|p| p.into_inner()) = Instant::now();
        Running(a.clone())
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        *self.0.last.lock().unwrap_or_else(|p| p.into_inner()) = Instant::now();
        self.0.running.fetch_sub(1, Ordering::Relaxed);
    }
}

async fn connection<S>(stream: S, peer: SocketAddr, ctx: Arc<Ctx>)
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Send + Unpin + 'static,
{
    let activity = Arc::new(Activity {
        last: Mutex::new(Instant::now()),
        running: AtomicUsize::new(0),
    });
    let (c, a) = (ctx.clone(), activity.clone());
    let service = hyper::service::service_fn(move |req| {
        let (c, running) = (c.clone(), Running::start(&a));
        async move {
            // A panic in one request is that request's 500, not the connection's end.
            let r = match Guarded::new(request(req, peer, &c)).await {
                Ok(r) => r,
                Err(e) => {
                    let what = format!("answering a DoH request from {peer}");
                    c.frontend.panics().caught(Proto::Doh, &what, e.as_ref());
                    status(StatusCode::INTERNAL_SERVER_ERROR)
                }
            };
            drop(running);
            Ok::<_, Infallible>(r)
        }
    });
    let mut builder = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(ctx.idle)
        .max_buf_size(MAX_BODY + 16_384);
    builder
        .http2()
        .timer(TokioTimer::new())
        .max_concurrent_streams(STREAMS)
        .max_header_list_size(16_384);
    let conn = builder.serve_connection(TokioIo::new(stream), service);
    tokio::pin!(conn);
    loop {
        let wake = {
            let last = *activity.last.lock().unwrap_or_else(|p| p.into_inner());
            last + ctx.idle
        };
        tokio::select! {
            _ = conn.as_mut() => return,
            _ = tokio::time::sleep_until(wake) => {
                let last = *activity.last.lock().unwrap_or_else(|p| p.into_inner());
                let idle = activity.running.load(Ordering::Relaxed) == 0
                    && last.elapsed() >= ctx.idle;
                if idle {
                    break;
                }
            }
            _ = ctx.token.cancelled() => break,
        }
    }
    // Idle or stopping: GOAWAY / close, and give in-flight answers a bounded time.
    conn.as_mut().graceful_shutdown();
    let _ = tokio::time::timeout(ctx.idle, conn).await;
}

fn status(code: StatusCode) -> Response<Full<Bytes>> {
    let mut r = Response::new(Full::new(Bytes::new()));
    *r.status_mut() = code;
    r
}

/// One HTTP request: the DNS query out of it, the answer into the response.
async fn request(req: Request<Incoming>, peer: SocketAddr, ctx: &Ctx) -> Response<Full<Bytes>> {
    if req.uri().path() != PATH {
        return status(StatusCode::NOT_FOUND);
    }
    let query = match *req.method() {
        Method::GET => match req.uri().query().and_then(dns_param) {
            Some(q) => q,
            None => return status(StatusCode::BAD_REQUEST),
        },
        Method::POST => {
            let ct = req
                .headers()
                .get(CONTENT_TYPE)
                .and_then(|v| v.to_str().ok());
            let dns = ct.is_some_and(|v| v.trim().eq_ignore_ascii_case(DNS_MESSAGE));
            // The body is read even when refused: HTTP/2 clients take a response
            // before the end of their request as a stream error.
            let body = Limited::new(req.into_body(), MAX_BODY);
            let b = match tokio::time::timeout(ctx.idle, body.collect()).await {
                Ok(Ok(b)) => b.to_bytes().to_vec(),
                Ok(Err(_)) => return status(StatusCode::PAYLOAD_TOO_LARGE),
                Err(_) => return status(StatusCode::REQUEST_TIMEOUT),
            };
            if !dns {
                return status(StatusCode::UNSUPPORTED_MEDIA_TYPE);
            }
            b
        }
        _ => {
            let mut r = status(StatusCode::METHOD_NOT_ALLOWED);
            r.headers_mut()
                .insert(ALLOW, hyper::header::HeaderValue::from_static("GET, POST"));
            return r;
        }
    };
    let mut out = Vec::new();
    let answer = match ctx
        .frontend
        .receive_caught(&query, peer, Proto::Doh, &mut out)
    {
        Handled::Reply => out,
        Handled::Later(p) => ctx.frontend.resolve_caught(p).await,
        // (never over DoH: the front end refuses transfers there)
        Handled::Drop | Handled::Transfer(_) => return status(StatusCode::BAD_REQUEST),
    };
    // HTTP freshness (RFC 8484 §5.1): the smallest TTL of the answer and authority
    // records, 0 when there are none.
    let max_age = super::wire::min_ttl(&answer);
    let mut r = Response::new(Full::new(Bytes::from(answer)));
    let h = r.headers_mut();
    h.insert(
        CONTENT_TYPE,
        hyper::header::HeaderValue::from_static(DNS_MESSAGE),
    );
    if let Ok(v) = hyper::header::HeaderValue::from_str(&format!("max-age={max_age}")) {
        h.insert(CACHE_CONTROL, v);
    }
    r
}

/// The `dns` parameter of a GET: base64url without padding (RFC 8484 §4.1; padding
/// is tolerated).
pub fn dns_param(query: &str) -> Option<Vec<u8>> {
    let v = query.split('&').find_map(|kv| kv.strip_prefix("dns="))?;
    data_encoding::BASE64URL_NOPAD
        .decode(v.trim_end_matches('=').as_bytes())
        .ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn get_parameter() {
        // RFC 8484 §4.1.1's example: www.example.com A, ID 0.
        let q = "dns=AAABAAABAAAAAAAAA3d3dwdleGFtcGxlA2NvbQAAAQAB";
        let b = dns_param(q).unwrap();
        assert_eq!(b.len(), 33);
        assert_eq!(&b[..4], &[0, 0, 1, 0]);
        assert_eq!(dns_param(&format!("ct=x&{q}==")), Some(b));
        assert_eq!(dns_param("dns=%%%"), None);
        assert_eq!(dns_param("name=x"), None);
    }
}
