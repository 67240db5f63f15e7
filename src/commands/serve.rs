//! `altroot serve`: load, bind, answer, reload on SIGHUP and on file changes, stop
//! cleanly on SIGTERM/SIGINT (DESIGN §6). Under systemd (`Type=notify`) it says
//! READY=1 once every listener is bound, RELOADING=1 … READY=1 around a SIGHUP
//! reload, and STOPPING=1 on the way out; SIGUSR1 reopens the query-log file.
//!
//! The log keeps its order: a start-up error is the last line written (the log
//! is flushed before it is printed, and nothing is logged after it), and on the
//! way out every query log record is written before "stopped", which says how
//! many log lines were dropped.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpListener;
use tracing_appender::non_blocking::{ErrorCounter, WorkerGuard};

use super::notify::Notifier;
use super::web;
use crate::server::{self, EncryptedHandle, Frontend, ServerHandle};
use crate::service::watch::WatchHandle;
use crate::service::{self, Service};

/// How often dropped log lines are reported.
const DROP_REPORT: Duration = Duration::from_secs(1);

/// How long the query log may take to write what it holds on the way out.
const LOG_FINISH: Duration = Duration::from_secs(5);

/// Every listener of `serve`, as it runs.
struct Running {
    dns: ServerHandle,
    encrypted: EncryptedHandle,
    page: Option<web::WebHandle>,
}

/// Runs `serve`; `log` is the general log's guard: dropping it flushes the log.
pub async fn run(config: Option<PathBuf>, dropped: ErrorCounter, log: WorkerGuard) -> u8 {
    let Ok(config) = super::load_config(config) else {
        return 2;
    };
    // Transferred zones past their SOA expire are not loaded.
    crate::xfrin::expire_on_disk(&config.roots);
    let service = match Service::new(config) {
        Ok(s) => Arc::new(s),
        Err(e) => return fatal(log, e, 2),
    };
    // At the level a reload logs them (`-q` shows both).
    crate::zones::log_problems(&service.start_warnings());
    let running = match start(&service).await {
        Ok(r) => r,
        Err((e, code)) => return fatal(log, e, code),
    };
    service.record_serials();
    let watch = Arc::new(service::watch::spawn(service.clone()));
    let refreshers = crate::xfrin::spawn_all(&service.config.roots, service.resolver.notices());
    let frontend = running.dns.frontend.clone();
    let reporter = tokio::spawn(report_dropped(dropped.clone(), frontend.clone()));
    let signals = install_signals();
    let status = ready_line(&service, &running);
    let notify = Notifier::from_env();
    notify.ready(&status);
    wait_for_signals(signals, &service, &watch, &running, &notify, &status).await;
    notify.stopping();
    tracing::info!("stopping: finishing queries in flight");
    drop(refreshers);
    drop(watch);
    if let Some(p) = running.page {
        p.shutdown().await;
    }
    running.dns.shutdown().await;
    reporter.abort();
    // Every answer is out: write what the query log holds.
    let fe = frontend.clone();
    let written = tokio::task::spawn_blocking(move || fe.finish_log(LOG_FINISH)).await;
    if !matches!(written, Ok(true)) {
        tracing::warn!("the query log could not write everything within {LOG_FINISH:?}");
    }
    tracing::info!(
        query_log_dropped = frontend.log_dropped(),
        log_dropped = dropped.dropped_lines(),
        "stopped"
    );
    drop(log);
    0
}

/// Ends a `serve` that could not start: the log is flushed first and closed, so
/// the error is its last line.
fn fatal(log: WorkerGuard, error: impl std::fmt::Display, code: u8) -> u8 {
    drop(log);
    eprintln!("{error}");
    code
}

/// Binds every socket first — DNS, DoT and DoH, the metrics listener — so a taken
/// port stops the start (exit 1) and READY=1 comes only once all of them answer;
/// then serves on them. An error comes with its exit code.
async fn start(service: &Arc<Service>) -> Result<Running, (String, u8)> {
    let fail = |e: std::io::Error| (format!("error: {e}"), 1);
    let cfg = &service.config;
    let sockets = server::bind(&cfg.server.listen).await.map_err(fail)?;
    let encrypted_sockets = server::bind_encrypted(cfg).await.map_err(fail)?;
    let page: Option<TcpListener> = match cfg.metrics.listen {
        Some(addr) => Some(web::bind(addr).await.map_err(fail)?),
        None => None,
    };
    let dns = server::start(service.resolver.clone(), sockets, cfg).map_err(fail)?;
    let encrypted = dns
        .serve_encrypted(&service.resolver, encrypted_sockets, cfg)
        .map_err(|e| {
            let at = match (&cfg.source, &cfg.server.tls) {
                (Some(f), Some(t)) => format!("{}:{}: ", f.display(), t.cert_line),
                _ => String::new(),
            };
            (format!("{at}error: tls-cert: {e}"), 2)
        })?;
    let page = match page {
        Some(l) => {
            let w = web::Web::new(
                service.clone(),
                dns.addrs.clone(),
                Some(dns.frontend.clone()),
            );
            Some(web::start(l, w).map_err(fail)?)
        }
        None => None,
    };
    Ok(Running {
        dns,
        encrypted,
        page,
    })
}

/// Logs that altroot is ready; returns the status line systemd shows.
fn ready_line(service: &Service, running: &Running) -> String {
    let roots: Vec<&str> = service
        .config
        .roots
        .iter()
        .map(|r| r.name.as_str())
        .collect();
    tracing::info!(roots = %roots.join(","), "altroot ready");
    let e = &running.encrypted;
    let mut on: Vec<String> = running.dns.addrs.iter().map(ToString::to_string).collect();
    on.extend(e.tls_addrs.iter().map(|a| format!("tls://{a}")));
    on.extend(e.https_addrs.iter().map(|a| format!("https://{a}")));
    format!("answering on {}; roots {}", on.join(" "), roots.join(", "))
}

/// Says how many log lines the writers had to drop, when they had to: the
/// general log's and the query log's (which counts its own records).
async fn report_dropped(dropped: ErrorCounter, frontend: Arc<Frontend>) {
    let mut seen = 0;
    loop {
        tokio::time::sleep(DROP_REPORT).await;
        let now = dropped.dropped_lines() as u64 + frontend.log_dropped();
        if now > seen {
            tracing::warn!(
                dropped = now - seen,
                total = now,
                "log lines dropped: the log writer fell behind (queries were answered)"
            );
            seen = now;
        }
    }
}

/// The signals `serve` handles, installed before readiness is announced: a
/// SIGHUP sent the moment READY=1 (or the "altroot ready" line) appears must
/// reload, not kill (SIGHUP's default action).
#[cfg(unix)]
struct Signals {
    term: tokio::signal::unix::Signal,
    int: tokio::signal::unix::Signal,
    hup: tokio::signal::unix::Signal,
    usr1: tokio::signal::unix::Signal,
}

#[cfg(unix)]
fn install_signals() -> Option<Signals> {
    use tokio::signal::unix::{SignalKind, signal};
    let installed = (
        signal(SignalKind::terminate()),
        signal(SignalKind::interrupt()),
        signal(SignalKind::hangup()),
        signal(SignalKind::user_defined1()),
    );
    match installed {
        (Ok(term), Ok(int), Ok(hup), Ok(usr1)) => Some(Signals {
            term,
            int,
            hup,
            usr1,
        }),
        _ => {
            tracing::error!("cannot install signal handlers; stop with SIGKILL");
            None
        }
    }
}

#[cfg(unix)]
async fn wait_for_signals(
    signals: Option<Signals>,
    service: &Arc<Service>,
    watch: &Arc<WatchHandle>,
    running: &Running,
    notify: &Notifier,
    status: &str,
) {
    let frontend: &Arc<Frontend> = &running.dns.frontend;
    let Some(Signals {
        mut term,
        mut int,
        mut hup,
        mut usr1,
    }) = signals
    else {
        std::future::pending::<()>().await;
        return;
    };
    loop {
        tokio::select! {
            _ = term.recv() => return,
            _ = int.recv() => return,
            _ = usr1.recv() => frontend.reopen_log(),
            _ = hup.recv() => {
                tracing::info!("SIGHUP: reloading zones and the TLS certificate");
                notify.reloading();
                running.encrypted.reload();
                let (s, w) = (service.clone(), watch.clone());
                // Watches first (a watch lost unseen is back), then every file.
                let done = tokio::task::spawn_blocking(move || {
                    w.rearm();
                    s.reload(true)
                })
                .await;
                notify.ready(status);
                let Ok((_, changed)) = done else {
                    continue;
                };
                tracing::info!(changed, "reload done");
            }
        }
    }
}

#[cfg(not(unix))]
struct Signals;

#[cfg(not(unix))]
fn install_signals() -> Option<Signals> {
    None
}

#[cfg(not(unix))]
async fn wait_for_signals(
    _signals: Option<Signals>,
    _service: &Arc<Service>,
    _watch: &Arc<WatchHandle>,
    _running: &Running,
    _notify: &Notifier,
    _status: &str,
) {
    let _ = tokio::signal::ctrl_c().await;
}
