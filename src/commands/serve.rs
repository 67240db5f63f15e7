//! `altroot serve`: load, bind, answer, reload on SIGHUP and on file changes, stop
//! cleanly on SIGTERM/SIGINT (DESIGN §6). Under systemd (`Type=notify`) it says
//! READY=1 once every listener is bound, RELOADING=1 … READY=1 around a SIGHUP
//! reload, and STOPPING=1 on the way out; SIGUSR1 reopens the query-log file.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use tracing_appender::non_blocking::ErrorCounter;

use super::notify::Notifier;
use super::web;
use crate::server::{self, Frontend};
use crate::service::{self, Service};
use crate::zones::log_problems;

/// How often dropped log lines are reported.
const DROP_REPORT: Duration = Duration::from_secs(1);

pub async fn run(config: Option<PathBuf>, dropped: ErrorCounter) -> u8 {
    let config = match super::load_config(config) {
        Ok(c) => c,
        Err(code) => return code,
    };
    let listen = config.server.listen.clone();
    let metrics = config.metrics.listen;
    let service = match Service::new(config) {
        Ok(s) => Arc::new(s),
        Err(e) => {
            eprintln!("{e}");
            return 2;
        }
    };
    // Every socket is bound before anything is served, so a taken port stops the
    // start with exit 1 and systemd hears READY=1 only once all of them answer.
    let sockets = match server::bind(&listen).await {
        Ok(s) => s,
        Err(e) => {
            eprintln!("error: {e}");
            return 1;
        }
    };
    let web_listener = match metrics {
        Some(addr) => match web::bind(addr).await {
            Ok(l) => Some(l),
            Err(e) => {
                eprintln!("error: {e}");
                return 1;
            }
        },
        None => None,
    };
    let handle = match server::start(service.resolver.clone(), sockets, &service.config) {
        Ok(h) => h,
        Err(e) => {
            eprintln!("error: {e}");
            return 1;
        }
    };
    let page = match web_listener.map(|l| start_page(l, &service, &handle)) {
        Some(Err(e)) => {
            eprintln!("error: {e}");
            return 1;
        }
        Some(Ok(h)) => Some(h),
        None => None,
    };
    service.record_serials();
    let _watch = match service::watch::spawn(service.clone()) {
        Ok(w) => Some(w),
        Err(e) => {
            tracing::warn!("cannot watch the zones folders ({e}); reload with SIGHUP");
            None
        }
    };
    let reporter = tokio::spawn(report_dropped(dropped));
    let status = ready_line(&service, &handle);
    let notify = Notifier::from_env();
    notify.ready(&status);
    wait_for_signals(&service, &handle.frontend, &notify, &status).await;
    notify.stopping();
    tracing::info!("stopping: finishing queries in flight");
    if let Some(p) = page {
        p.shutdown().await;
    }
    handle.shutdown().await;
    reporter.abort();
    tracing::info!("stopped");
    0
}

/// Logs that altroot is ready; returns the status line systemd shows.
fn ready_line(service: &Service, handle: &server::ServerHandle) -> String {
    let roots: Vec<&str> = service
        .config
        .roots
        .iter()
        .map(|r| r.name.as_str())
        .collect();
    tracing::info!(roots = %roots.join(","), "altroot ready");
    let addrs: Vec<String> = handle.addrs.iter().map(ToString::to_string).collect();
    format!(
        "answering on {}; roots {}",
        addrs.join(" "),
        roots.join(", ")
    )
}

/// The metrics and status page listener, on its bound socket.
fn start_page(
    listener: tokio::net::TcpListener,
    service: &Arc<Service>,
    handle: &server::ServerHandle,
) -> std::io::Result<web::WebHandle> {
    let w = web::Web::new(
        service.clone(),
        handle.addrs.clone(),
        Some(handle.frontend.clone()),
    );
    web::start(listener, w)
}

/// Says how many log lines the writer had to drop, when it had to.
async fn report_dropped(dropped: ErrorCounter) {
    let mut seen = 0;
    loop {
        tokio::time::sleep(DROP_REPORT).await;
        let now = dropped.dropped_lines();
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

#[cfg(unix)]
async fn wait_for_signals(
    service: &Arc<Service>,
    frontend: &Arc<Frontend>,
    notify: &Notifier,
    status: &str,
) {
    use tokio::signal::unix::{SignalKind, signal};
    let (Ok(mut term), Ok(mut int), Ok(mut hup), Ok(mut usr1)) = (
        signal(SignalKind::terminate()),
        signal(SignalKind::interrupt()),
        signal(SignalKind::hangup()),
        signal(SignalKind::user_defined1()),
    ) else {
        tracing::error!("cannot install signal handlers; stop with SIGKILL");
        std::future::pending::<()>().await;
        return;
    };
    loop {
        tokio::select! {
            _ = term.recv() => return,
            _ = int.recv() => return,
            _ = usr1.recv() => frontend.reopen_log(),
            _ = hup.recv() => {
                tracing::info!("SIGHUP: reloading zones");
                notify.reloading();
                let s = service.clone();
                let done = tokio::task::spawn_blocking(move || s.reload(true)).await;
                notify.ready(status);
                let Ok((problems, changed)) = done else {
                    continue;
                };
                log_problems(&problems);
                tracing::info!(changed, "reload done");
            }
        }
    }
}

#[cfg(not(unix))]
async fn wait_for_signals(
    _service: &Arc<Service>,
    _frontend: &Arc<Frontend>,
    _notify: &Notifier,
    _status: &str,
) {
    let _ = tokio::signal::ctrl_c().await;
}
