//! `serve`'s HTTP listener (`[metrics] listen`): Prometheus metrics at `/metrics`
//! ([`metrics`]), the status page at `/` (HTML, CSS and JS compiled into the
//! binary, no external resources), and the JSON it reads ([`api`]): `/api/status`
//! and `/api/compare?name=…&type=…`.
//!
//! Loopback only unless `allow-remote = true`; and then too, unless remote access
//! is allowed, a request whose `Host` is not a loopback address or `localhost` is
//! refused, so a web page elsewhere cannot reach it through DNS rebinding.

pub mod api;
pub mod metrics;

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use crate::clock::unix_now;
use crate::server::Frontend;
use crate::service::Service;
use crate::stats::series::STEP;

/// What the handlers read.
pub struct Web {
    pub service: Arc<Service>,
    /// The DNS listen addresses, as bound.
    pub dns: Vec<SocketAddr>,
    /// For the query log's drop count.
    pub frontend: Option<Arc<Frontend>>,
    /// Unix second `serve` started.
    pub started: u64,
    allow_remote: bool,
    /// `compare` runs at once (each may ask upstream servers).
    compares: tokio::sync::Semaphore,
}

impl std::fmt::Debug for Web {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Web").field("dns", &self.dns).finish()
    }
}

/// `compare` requests answered at once; more get 503.
const COMPARES: usize = 4;

impl Web {
    pub fn new(
        service: Arc<Service>,
        dns: Vec<SocketAddr>,
        frontend: Option<Arc<Frontend>>,
    ) -> Arc<Web> {
        let allow_remote = service.config.metrics.allow_remote;
        Arc::new(Web {
            service,
            dns,
            frontend,
            started: unix_now(),
            allow_remote,
            compares: tokio::sync::Semaphore::new(COMPARES),
        })
    }
}

/// A running HTTP listener.
pub struct WebHandle {
    pub addr: SocketAddr,
    task: tokio::task::JoinHandle<()>,
    token: CancellationToken,
}

impl WebHandle {
    pub async fn shutdown(self) {
        self.token.cancel();
        let _ = tokio::time::timeout(Duration::from_secs(2), self.task).await;
    }
}

/// Binds the listener (an error names the address).
pub async fn bind(addr: SocketAddr) -> std::io::Result<TcpListener> {
    TcpListener::bind(addr).await.map_err(|e| {
        std::io::Error::new(
            e.kind(),
            format!("cannot bind the metrics listener {addr}: {e}"),
        )
    })
}

/// Serves on a bound listener, and ticks the queries-per-root chart.
pub fn start(listener: TcpListener, web: Arc<Web>) -> std::io::Result<WebHandle> {
    let addr = listener.local_addr()?;
    let token = CancellationToken::new();
    let app = router(web.clone());
    let stop = token.clone();
    let task = tokio::spawn(async move {
        let serve = axum::serve(listener, app).with_graceful_shutdown(stop.cancelled_owned());
        if let Err(e) = serve.await {
            tracing::warn!("metrics listener stopped: {e}");
        }
    });
    tokio::spawn(tick(web, token.clone()));
    tracing::info!("metrics and status page on http://{addr}/");
    Ok(WebHandle { addr, task, token })
}

/// Every [`STEP`] seconds, the chart's next point.
async fn tick(web: Arc<Web>, token: CancellationToken) {
    let mut every = tokio::time::interval(Duration::from_secs(STEP));
    every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    every.tick().await;
    loop {
        tokio::select! {
            _ = every.tick() => {}
            _ = token.cancelled() => return,
        }
        let stats = web.service.resolver.stats();
        let snap = stats.snapshot();
        let totals: Vec<u64> = (0..snap.routes()).map(|r| snap.route_total(r)).collect();
        stats.series.tick(unix_now(), &totals);
    }
}

fn router(web: Arc<Web>) -> Router {
    Router::new()
        .route("/", get(page_html))
        .route("/app.css", get(page_css))
        .route("/app.js", get(page_js))
        .route("/favicon.svg", get(favicon))
        .route("/favicon.ico", get(favicon))
        .route("/metrics", get(metrics::scrape))
        .route("/api/status", get(api::status))
        .route("/api/compare", get(api::compare))
        .layer(middleware::from_fn_with_state(web.clone(), guard))
        .with_state(web)
}

/// Refuses requests for other hosts (unless remote access is allowed) and sets
/// the headers every response carries.
async fn guard(State(web): State<Arc<Web>>, req: Request, next: Next) -> Response {
    if !web.allow_remote
        && let Some(host) = req.headers().get(header::HOST)
        && !local_host(host.to_str().unwrap_or(""))
    {
        return (
            StatusCode::FORBIDDEN,
            "altroot: this listener answers only for a loopback address or localhost\n",
        )
            .into_response();
    }
    let mut res = next.run(req).await;
    let h = res.headers_mut();
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
        ),
    );
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    res
}

/// `localhost`, `127.0.0.1`, `[::1]`, with or without a port.
fn local_host(host: &str) -> bool {
    let bare = match host.rsplit_once(':') {
        Some((h, p)) if !h.ends_with(':') && p.bytes().all(|b| b.is_ascii_digit()) => h,
        _ => host,
    };
    let bare = bare.trim_start_matches('[').trim_end_matches(']');
    bare.eq_ignore_ascii_case("localhost")
        || bare.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

const HTML: &str = include_str!("page/index.html");
const CSS: &str = include_str!("page/app.css");
const JS: &str = include_str!("page/app.js");
const ICON: &str = include_str!("page/favicon.svg");

async fn page_html() -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "text/html; charset=utf-8")], HTML)
}

async fn page_css() -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "text/css; charset=utf-8")], CSS)
}

async fn page_js() -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "text/javascript; charset=utf-8")],
        JS,
    )
}

async fn favicon() -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "image/svg+xml")], ICON)
}

#[cfg(test)]
mod tests {
    use super::local_host;

    #[test]
    fn only_loopback_hosts() {
        for ok in [
            "localhost",
            "LOCALHOST:9153",
            "127.0.0.1",
            "127.0.0.1:9153",
            "127.9.9.9:80",
            "[::1]:9153",
            "[::1]",
        ] {
            assert!(local_host(ok), "{ok}");
        }
        for bad in [
            "evil.example",
            "evil.example:9153",
            "10.0.0.1:9153",
            "localhost.evil.example",
            "[2001:db8::1]:9153",
            "",
        ] {
            assert!(!local_host(bad), "{bad}");
        }
    }
}
