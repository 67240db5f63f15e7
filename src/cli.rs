//! The command line (DESIGN §5) and process life cycle (DESIGN §6).
//!
//! Exit codes: 0 fine; 1 problems found (`check`) or a runtime failure; 2 usage or
//! config errors.

use std::io::IsTerminal;
use std::path::PathBuf;
use std::sync::Arc;

use clap::{Parser, Subcommand};
use tracing_subscriber::EnvFilter;

use crate::config::Config;
use crate::server;
use crate::service::Service;

#[derive(Debug, Parser)]
#[command(
    name = "altroot",
    version,
    about = "A DNS resolver serving an alternate root beside the ICANN root"
)]
pub struct Cli {
    /// More log output (-v debug, -vv trace).
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
    /// Less log output (warnings and errors only).
    #[arg(short, long, global = true)]
    pub quiet: bool,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the resolver.
    Serve {
        /// Config file (default: config/altroot.toml if present, else built-in defaults).
        #[arg(long, short)]
        config: Option<PathBuf>,
    },
    /// Validate the config and every zone; no network.
    Check {
        #[arg(long, short)]
        config: Option<PathBuf>,
    },
}

fn init_logging(verbose: u8, quiet: bool) {
    // hickory logs every response at INFO; keep its crates at WARN unless asked.
    let level = match (quiet, verbose) {
        (true, _) => "warn",
        (false, 0) => "info,hickory_server=warn,hickory_proto=warn,hickory_net=warn",
        (false, 1) => "debug,hickory_server=info,hickory_proto=info,hickory_net=info",
        _ => "trace",
    };
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(level));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .try_init();
}

/// Runs a parsed command line and returns the exit status.
pub fn run(cli: Cli) -> u8 {
    init_logging(cli.verbose, cli.quiet);
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the runtime: {e}");
            return 1;
        }
    };
    match cli.command {
        Command::Serve { config } => rt.block_on(serve(config)),
        Command::Check { config } => check(config),
    }
}

fn load_config(path: Option<PathBuf>) -> Result<Config, u8> {
    Config::discover(path.as_deref()).map_err(|e| {
        eprintln!("{e}");
        2
    })
}

async fn serve(config: Option<PathBuf>) -> u8 {
    let config = match load_config(config) {
        Ok(c) => c,
        Err(code) => return code,
    };
    let listen = config.server.listen.clone();
    let allow = config.server.allow.clone();
    let timeout = config.server.query_timeout;
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
    let handle = match server::start(service.router.clone(), sockets, &allow, timeout) {
        Ok(h) => h,
        Err(e) => {
            eprintln!("error: {e}");
            return 1;
        }
    };
    let _watch = match crate::watch::spawn(service.clone()) {
        Ok(w) => Some(w),
        Err(e) => {
            tracing::warn!("cannot watch the zones folders ({e}); reload with SIGHUP");
            None
        }
    };
    tracing::info!(roots = %service.config.roots.iter().map(|r| r.name.as_str()).collect::<Vec<_>>().join(","), "altroot ready");
    wait_for_signals(&service).await;
    tracing::info!("stopping: finishing queries in flight");
    handle.shutdown().await;
    tracing::info!("stopped");
    0
}

#[cfg(unix)]
async fn wait_for_signals(service: &Arc<Service>) {
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
                tracing::info!("SIGHUP: reloading zones");
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

/// Logs zone problems, errors as errors and warnings as warnings.
pub fn log_problems(problems: &[crate::zonefile::Problem]) {
    for p in problems {
        if p.is_error() {
            tracing::error!("{p}");
        } else {
            tracing::warn!("{p}");
        }
    }
}

#[cfg(not(unix))]
async fn wait_for_signals(_service: &Arc<Service>) {
    let _ = tokio::signal::ctrl_c().await;
}

fn check(config: Option<PathBuf>) -> u8 {
    let report = crate::check::check(config.as_deref());
    for p in &report.problems {
        println!("{p}");
    }
    eprintln!(
        "{} roots, {} zones: {} errors, {} warnings",
        report.roots,
        report.zones,
        report.errors(),
        report.warnings()
    );
    if report.errors() > 0 { 1 } else { 0 }
}
