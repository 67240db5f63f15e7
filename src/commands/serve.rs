//! `altroot serve`: load, bind, answer, reload on SIGHUP and on file changes, stop
//! cleanly on SIGTERM/SIGINT (DESIGN §6).

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use tracing_appender::non_blocking::ErrorCounter;

use crate::server;
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
    let service = match Service::new(config) {
        Ok(s) => Arc::new(s),
        Err(e) => {
            eprintln!("{e}");
            return 2;
        }
    };
    let sockets = match server::bind(&listen).await {
        Ok(s) => s,
        Err(e) => {
            eprintln!("error: {e}");
            return 1;
        }
    };
    let encrypted_sockets = match server::bind_encrypted(&service.config).await {
        Ok(s) => s,
        Err(e) => {
            eprintln!("error: {e}");
            return 1;
        }
    };
    let handle = match server::start(service.resolver.clone(), sockets, &service.config) {
        Ok(h) => h,
        Err(e) => {
            eprintln!("error: {e}");
            return 1;
        }
    };
    let encrypted =
        match handle.serve_encrypted(&service.resolver, encrypted_sockets, &service.config) {
            Ok(h) => h,
            Err(e) => {
                let at = match (&service.config.source, &service.config.server.tls) {
                    (Some(f), Some(t)) => format!("{}:{}: ", f.display(), t.cert_line),
                    _ => String::new(),
                };
                eprintln!("{at}error: tls-cert: {e}");
                return 2;
            }
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
    let roots: Vec<&str> = service
        .config
        .roots
        .iter()
        .map(|r| r.name.as_str())
        .collect();
    tracing::info!(roots = %roots.join(","), "altroot ready");
    wait_for_signals(&service, &encrypted).await;
    tracing::info!("stopping: finishing queries in flight");
    handle.shutdown().await;
    reporter.abort();
    tracing::info!("stopped");
    0
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
async fn wait_for_signals(service: &Arc<Service>, encrypted: &server::EncryptedHandle) {
    use tokio::signal::unix::{SignalKind, signal};
    let (Ok(mut term), Ok(mut int), Ok(mut hup)) = (
        signal(SignalKind::terminate()),
        signal(SignalKind::interrupt()),
        signal(SignalKind::hangup()),
    ) else {
        tracing::error!("cannot install signal handlers; stop with SIGKILL");
        std::future::pending::<()>().await;
        return;
    };
    loop {
        tokio::select! {
            _ = term.recv() => return,
            _ = int.recv() => return,
            _ = hup.recv() => {
                tracing::info!("SIGHUP: reloading zones and the TLS certificate");
                encrypted.reload();
                let s = service.clone();
                let Ok((problems, changed)) = tokio::task::spawn_blocking(move || s.reload(true)).await else {
                    continue;
                };
                log_problems(&problems);
                tracing::info!(changed, "reload done");
            }
        }
    }
}

#[cfg(not(unix))]
async fn wait_for_signals(_service: &Arc<Service>, _encrypted: &server::EncryptedHandle) {
    let _ = tokio::signal::ctrl_c().await;
}
