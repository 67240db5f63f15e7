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
    /// Ask every root the same questions and show where they disagree.
    Compare {
        #[arg(long, short)]
        config: Option<PathBuf>,
        /// Record types to ask, comma-separated.
        #[arg(short = 't', long = "type", value_delimiter = ',', default_value = "A")]
        types: Vec<String>,
        /// Roots to compare, comma-separated (default: all, in config order).
        #[arg(long, value_delimiter = ',')]
        roots: Option<Vec<String>>,
        /// One JSON object per line instead of the table.
        #[arg(long)]
        json: bool,
        /// Read names from a file: one per line, or "rank,domain" CSV (Tranco).
        #[arg(short = 'f', long = "file")]
        file: Option<PathBuf>,
        /// Names compared at the same time.
        #[arg(short = 'j', long, default_value_t = 64)]
        jobs: usize,
        /// Names to compare.
        names: Vec<String>,
    },
    /// TLDs that more than one root has, and which root wins.
    Collisions {
        #[arg(long, short)]
        config: Option<PathBuf>,
        /// One JSON object per line.
        #[arg(long)]
        json: bool,
        /// Ask no server: hints roots with the builtin hints use the bundled ICANN
        /// TLD list.
        #[arg(long)]
        offline: bool,
    },
}

/// Sets up logging to stderr. The returned guard flushes the log when dropped: keep
/// it for the life of the process.
fn init_logging(
    verbose: u8,
    quiet: bool,
    serving: bool,
) -> tracing_appender::non_blocking::WorkerGuard {
    // hickory logs every response at INFO; keep its crates at WARN unless asked.
    // The one-shot commands print results, so their default is warnings only.
    let level = match (quiet, verbose) {
        (true, _) => "warn",
        (false, 0) if !serving => "warn",
        (false, 0) => "info,hickory_server=warn,hickory_proto=warn,hickory_net=warn",
        (false, 1) => "debug,hickory_server=info,hickory_proto=info,hickory_net=info",
        _ => "trace",
    };
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(level));
    // One line per query would otherwise be written by the thread answering it; a
    // writer thread takes that off the query path. Not lossy: when it falls behind
    // by 128k lines, queries wait rather than their log lines vanish.
    let (writer, guard) = tracing_appender::non_blocking::NonBlockingBuilder::default()
        .lossy(false)
        .finish(std::io::stderr());
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(writer)
        .with_ansi(std::io::stderr().is_terminal())
        .try_init();
    guard
}

/// Runs a parsed command line and returns the exit status.
pub fn run(cli: Cli) -> u8 {
    let _log = init_logging(
        cli.verbose,
        cli.quiet,
        matches!(cli.command, Command::Serve { .. }),
    );
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
        Command::Compare {
            config,
            types,
            roots,
            json,
            file,
            jobs,
            names,
        } => rt.block_on(compare(config, types, roots, json, file, jobs, names)),
        Command::Collisions {
            config,
            json,
            offline,
        } => rt.block_on(collisions(config, json, offline)),
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
    let handle = match server::start(service.resolver.clone(), sockets, &service.config) {
        Ok(h) => h,
        Err(e) => {
            eprintln!("error: {e}");
            return 1;
        }
    };
    service.record_serials();
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
                crate::zones::log_problems(&problems);
                tracing::info!(changed, "reload done");
            }
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

fn color_wanted() -> bool {
    std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
}

/// Loads the config and the zones for a one-shot command (no listeners).
fn service_for(config: Option<PathBuf>) -> Result<Service, u8> {
    let config = load_config(config)?;
    Service::new(config).map_err(|e| {
        eprintln!("{e}");
        2
    })
}

async fn compare(
    config: Option<PathBuf>,
    types: Vec<String>,
    roots: Option<Vec<String>>,
    json: bool,
    file: Option<PathBuf>,
    jobs: usize,
    names: Vec<String>,
) -> u8 {
    use crate::compare as cmp;
    use hickory_proto::rr::RecordType;
    use std::str::FromStr;

    let mut qtypes = Vec::new();
    for t in &types {
        match RecordType::from_str(&t.to_ascii_uppercase()) {
            Ok(rt) => qtypes.push(rt),
            Err(_) => {
                eprintln!("error: -t {t}: not a record type");
                return 2;
            }
        }
    }
    let mut list = Vec::new();
    for n in &names {
        match cmp::parse_name(n) {
            Ok(n) => list.push(n),
            Err(e) => {
                eprintln!("error: {e}");
                return 2;
            }
        }
    }
    if let Some(f) = &file {
        let text = match std::fs::read_to_string(f) {
            Ok(t) => t,
            Err(e) => {
                eprintln!("error: cannot read {}: {e}", f.display());
                return 2;
            }
        };
        match cmp::read_names(&text) {
            Ok(mut n) => list.append(&mut n),
            Err(e) => {
                eprintln!("{}: error: {e}", f.display());
                return 2;
            }
        }
    }
    if list.is_empty() {
        eprintln!("error: no names to compare (give NAMEs or -f FILE)");
        return 2;
    }
    let service = match service_for(config) {
        Ok(s) => s,
        Err(code) => return code,
    };
    let router = service.resolver.clone();
    let selected: Vec<usize> = match &roots {
        None => (0..router.roots.len()).collect(),
        Some(want) => {
            let mut idx = Vec::new();
            for w in want {
                match router.roots.iter().position(|r| &r.name == w) {
                    Some(i) => idx.push(i),
                    None => {
                        let known: Vec<&str> =
                            router.roots.iter().map(|r| r.name.as_str()).collect();
                        eprintln!(
                            "error: --roots: no root {w:?} (roots: {})",
                            known.join(", ")
                        );
                        return 2;
                    }
                }
            }
            idx
        }
    };
    let total = (list.len() * qtypes.len()) as u64;
    let bar = if file.is_some() {
        let b = indicatif::ProgressBar::new(total);
        b.set_style(
            indicatif::ProgressStyle::with_template(
                "{bar:40} {pos}/{len} names  {per_sec}  eta {eta}",
            )
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
        );
        b
    } else {
        indicatif::ProgressBar::hidden()
    };
    let tick = || bar.inc(1);
    let rows = cmp::compare(
        &router,
        &selected,
        list,
        &qtypes,
        service.config.server.query_timeout,
        jobs,
        &tick,
    )
    .await;
    bar.finish_and_clear();
    if json {
        for r in &rows {
            println!("{}", cmp::json_row(r));
        }
        println!("{}", serde_json::json!({ "summary": cmp::summary(&rows) }));
    } else {
        let names: Vec<String> = selected
            .iter()
            .map(|&i| router.roots[i].name.clone())
            .collect();
        print!("{}", cmp::table(&rows, &names, color_wanted()));
        println!("{}", cmp::summary_line(&rows));
    }
    if rows.iter().any(|r| r.verdict == cmp::Verdict::Error) {
        2
    } else if rows.iter().all(|r| r.verdict.agrees()) {
        0
    } else {
        1
    }
}

async fn collisions(config: Option<PathBuf>, json: bool, offline: bool) -> u8 {
    let service = match service_for(config) {
        Ok(s) => s,
        Err(code) => return code,
    };
    let found = crate::collisions::collisions(&service.resolver, &service.config, offline).await;
    if json {
        for f in &found {
            println!("{}", crate::collisions::json_finding(f, &service.config));
        }
    } else {
        let n = crate::collisions::candidate_count(&service.resolver, &service.config);
        print!("{}", crate::collisions::report(&found, &service.config, n));
    }
    0
}
