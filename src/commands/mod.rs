//! The command line (DESIGN §5) and the commands: `serve`, `check`, `compare`,
//! `collisions`, `config recipes`, `keygen`, `ds`, and the CLI's own documentation
//! (`completions`, `manpages`: [`manual`]). Each command is one module; this one parses
//! arguments, sets up logging and the runtime, and maps results to exit codes: 0
//! fine; 1 problems found (`check`), differences (`compare`) or a runtime failure;
//! 2 usage or config errors. `serve` also runs the HTTP listener ([`web`]: metrics
//! and the status page) and speaks systemd's readiness protocol (`notify`).

pub mod check;
pub mod collisions;
mod collisions_report;
pub mod compare;
pub mod keys;
pub mod manual;
mod notify;
pub mod recipes;
mod serve;
pub mod web;

use std::io::IsTerminal;
use std::path::PathBuf;

use clap::{Parser, Subcommand};
use tracing_subscriber::EnvFilter;

use crate::config::Config;
use crate::service::Service;

/// The package version.
pub const PKG_VERSION: &str = env!("CARGO_PKG_VERSION");
/// The git commit it was built from (`build.rs`; "unknown" outside git).
pub const COMMIT: &str = env!("ALTROOT_COMMIT");
/// What `--version` prints after the name.
pub const VERSION: &str = concat!(
    env!("CARGO_PKG_VERSION"),
    " (commit ",
    env!("ALTROOT_COMMIT"),
    ")"
);

const MAIN_EXAMPLES: &str = "\
Examples:
  altroot serve                        run with ./config/altroot.toml
  altroot check --config /etc/altroot/altroot.toml
  altroot compare www.biz www.geek     what each root answers
  altroot config recipes               snippets to point a machine or a resolver at altroot";

/// Every command's `-c/--config`.
pub const CONFIG_HELP: &str = "Config file [default: config/altroot.toml in the current folder]";

#[derive(Debug, Parser)]
#[command(
    name = "altroot",
    version = VERSION,
    about = "A DNS resolver serving an alternate root beside the ICANN root",
    after_help = MAIN_EXAMPLES
)]
pub struct Cli {
    /// More log output (-v debug, -vv trace).
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
    /// Less log output (warnings and errors only).
    #[arg(short, long, global = true, conflicts_with = "verbose")]
    pub quiet: bool,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the resolver.
    #[command(after_help = "\
Examples:
  altroot serve
  altroot serve --config /etc/altroot/altroot.toml
  RUST_LOG=warn,altroot::query=info altroot serve -c altroot.toml 2>>queries.log

Signals: SIGHUP reloads every zone, SIGUSR1 reopens [log] query-file, SIGTERM and
SIGINT stop after the queries in flight. Under systemd (Type=notify) it reports
READY=1 once every listener is bound.")]
    Serve {
        #[arg(long, short, value_name = "FILE", help = CONFIG_HELP)]
        config: Option<PathBuf>,
    },
    /// Validate the config and every zone; no network.
    #[command(after_help = "\
Examples:
  altroot check
  altroot check --config /etc/altroot/altroot.toml && systemctl reload altroot

Exit status: 0 no errors (warnings allowed), 1 errors, 2 usage or no config to check.")]
    Check {
        #[arg(long, short, value_name = "FILE", help = CONFIG_HELP)]
        config: Option<PathBuf>,
    },
    /// Ask every root the same questions and show where they disagree.
    #[command(after_help = "\
Examples:
  altroot compare www.biz www.geek iana.geek
  altroot compare -t A,AAAA,MX --roots icann,alt www.web
  altroot compare --json -f tranco.csv -j 64 > rows.jsonl
  altroot compare -f tranco.csv --report report.html
  altroot compare --resolver quad9=tls://9.9.9.9#dns.quad9.net www.geek www.biz

Exit status, like diff: 0 the roots agree, 1 they differ (or a --resolver's answer
matches no root), 2 errors (a root or resolver that could not be asked, or a line
of -f FILE that is not a name: each is reported as FILE:LINE and skipped).")]
    Compare(compare::Args),
    /// Print snippets that point a machine, or its resolver, at altroot.
    #[command(after_help = "\
Examples:
  altroot config recipes
  altroot config recipes --system systemd-resolved-split")]
    Config {
        #[command(subcommand)]
        what: ConfigCommand,
    },
    /// TLDs that more than one root has, and which root wins.
    #[command(after_help = "\
Examples:
  altroot collisions
  altroot collisions --offline --json | jq .tld")]
    Collisions {
        #[arg(long, short, value_name = "FILE", help = CONFIG_HELP)]
        config: Option<PathBuf>,
        /// One JSON object per line.
        #[arg(long)]
        json: bool,
        /// Ask no server: a root on the built-in hints answers from the bundled ICANN
        /// TLD list, other network roots stay unknown.
        #[arg(long)]
        offline: bool,
    },
    /// Make the KSK and ZSK that sign a zones root (in its zones folder's keys/).
    #[command(after_help = "\
Examples:
  altroot keygen --root alt
  altroot keygen --root alt --algorithm ed25519 --force

Writes keys/ksk.pem, keys/zsk.pem (PKCS#8, mode 0600) and keys/ksk.dnskey,
keys/zsk.dnskey in the root's zones folder; existing keys are kept unless --force.
With keys there, altroot signs every zone of that root when it loads them.")]
    Keygen {
        #[arg(long, short, value_name = "FILE", help = CONFIG_HELP)]
        config: Option<PathBuf>,
        /// The zones root to sign (its name in the config).
        #[arg(long, value_name = "NAME")]
        root: String,
        /// Key algorithm.
        #[arg(long, value_enum, default_value = "ecdsap256")]
        algorithm: keys::AlgorithmArg,
        /// Replace existing keys (every validator then needs the new DS).
        #[arg(long)]
        force: bool,
    },
    /// Print the DS and DNSKEY of a signed zones root, for validators.
    #[command(after_help = "\
Examples:
  altroot ds --root alt
  altroot ds --root alt --format zone > /etc/altroot/alt.ds
  altroot ds --root alt --format unbound >> /etc/unbound/unbound.conf.d/alt.conf")]
    Ds {
        #[arg(long, short, value_name = "FILE", help = CONFIG_HELP)]
        config: Option<PathBuf>,
        /// The zones root (its name in the config).
        #[arg(long, value_name = "NAME")]
        root: String,
        /// What to print.
        #[arg(long, value_enum, default_value = "all")]
        format: keys::DsFormat,
    },
    /// Print the shell completion script for bash, zsh, fish, elvish or PowerShell.
    #[command(after_help = "\
Examples:
  altroot completions bash > ~/.local/share/bash-completion/completions/altroot
  altroot completions zsh > ~/.zfunc/_altroot
  altroot completions fish > ~/.config/fish/completions/altroot.fish

The Debian package installs the bash, zsh and fish scripts where those shells look.")]
    Completions {
        /// The shell to complete for.
        #[arg(value_enum, value_name = "SHELL")]
        shell: clap_complete::Shell,
    },
    /// Write the man pages (altroot(8), one per command, altroot.toml(5)) into a man tree.
    #[command(after_help = "\
Examples:
  altroot manpages ~/.local/share/man && man altroot
  altroot manpages /tmp/man && man -l /tmp/man/man5/altroot.toml.5

Writes DIR/man8/altroot.8, DIR/man8/altroot-COMMAND.8 and DIR/man5/altroot.toml.5
(folders made if missing) and prints the path of each file written.")]
    Manpages {
        /// The man tree to write them in (a folder holding man5/ and man8/).
        #[arg(value_name = "DIR")]
        dir: PathBuf,
    },
}

#[derive(Debug, Subcommand)]
pub enum ConfigCommand {
    /// The config's alternate TLDs as resolv.conf, systemd-resolved,
    /// NetworkManager, Unbound, dnsmasq, macOS and Windows snippets.
    #[command(after_help = "\
Examples:
  altroot config recipes
  altroot config recipes --system unbound > /etc/unbound/unbound.conf.d/altroot.conf
  altroot config recipes --system dnsmasq -c /etc/altroot/altroot.toml > /etc/dnsmasq.d/altroot.conf

With --system, only that snippet's body is printed, ready to redirect into its file.")]
    Recipes {
        #[arg(long, short, value_name = "FILE", help = CONFIG_HELP)]
        config: Option<PathBuf>,
        /// Print only this system's snippet.
        #[arg(long, value_enum)]
        system: Option<recipes::System>,
    },
}

/// Log lines the writer thread may hold before it drops new ones (and counts them).
const LOG_BUFFER_LINES: usize = 16_384;

/// Sets up logging to stderr. The returned guard flushes the log when dropped: keep
/// it for the life of the process; the counter says how many lines were dropped.
fn init_logging(
    verbose: u8,
    quiet: bool,
    serving: bool,
) -> (
    tracing_appender::non_blocking::WorkerGuard,
    tracing_appender::non_blocking::ErrorCounter,
) {
    // The one-shot commands print results, so their default is warnings only.
    // hickory-proto warns once per decoded message that carries a SIG(0) record
    // ("support for SIG(0) message authentication was removed"): hsd signs every
    // reply of its root server so, a Handshake root would write a line per reply.
    // altroot never relied on SIG(0); that target logs errors only.
    let level = match (quiet, verbose) {
        (true, _) => "warn,hickory_proto::op::message=error",
        (false, 0) if !serving => "warn,hickory_proto::op::message=error",
        (false, 0) => "info,hickory_proto::op::message=error",
        (false, 1) => "debug,hickory_proto=info,hickory_proto::op::message=error",
        _ => "trace",
    };
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(level));
    // The per-query line is written by a writer thread, never by the worker that
    // answered: when stderr cannot keep up (a slow pipe, a full disk) lines are
    // dropped and counted (`serve` reports the count) rather than queries waiting.
    let (writer, guard) = tracing_appender::non_blocking::NonBlockingBuilder::default()
        .lossy(true)
        .buffered_lines_limit(LOG_BUFFER_LINES)
        .finish(std::io::stderr());
    let dropped = writer.error_counter();
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(writer)
        .with_ansi(std::io::stderr().is_terminal())
        .try_init();
    (guard, dropped)
}

/// Runs a parsed command line and returns the exit status.
pub fn run(cli: Cli) -> u8 {
    let serving = matches!(cli.command, Command::Serve { .. });
    let (log, dropped) = init_logging(cli.verbose, cli.quiet, serving);
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
        // `serve` flushes the log itself, so that a start-up error is its last line.
        Command::Serve { config } => rt.block_on(serve::run(config, dropped, log)),
        Command::Check { config } => check::run(config),
        Command::Compare(args) => rt.block_on(compare::run(args)),
        Command::Collisions {
            config,
            json,
            offline,
        } => rt.block_on(collisions::run(config, json, offline)),
        Command::Config {
            what: ConfigCommand::Recipes { config, system },
        } => recipes::run(config, system),
        Command::Keygen {
            config,
            root,
            algorithm,
            force,
        } => keys::keygen(config, &root, algorithm, force),
        Command::Ds {
            config,
            root,
            format,
        } => keys::ds(config, &root, format),
        Command::Completions { shell } => manual::print_completion(shell),
        Command::Manpages { dir } => manual::write_man_pages(&dir),
    }
}

fn load_config(path: Option<PathBuf>) -> Result<Config, u8> {
    Config::discover(path.as_deref()).map_err(|e| {
        eprintln!("{e}");
        2
    })
}

/// Loads the config and the zones (for `serve`, before its listeners, and the
/// one-shot commands); an error is printed and is exit code 2.
fn service_for(config: Option<PathBuf>) -> Result<Service, u8> {
    let config = load_config(config)?;
    Service::new(config).map_err(|e| {
        eprintln!("{e}");
        2
    })
}

/// A count with its noun: "1 zone", "2 zones" (`many` for every n but 1).
pub fn count(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

fn color_wanted() -> bool {
    std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    use super::Cli;

    /// Every option and argument of every subcommand, with the command path.
    fn args(cmd: &clap::Command, path: &str, out: &mut Vec<(String, clap::Arg)>) {
        for a in cmd.get_arguments() {
            out.push((path.to_string(), a.clone()));
        }
        for sub in cmd.get_subcommands() {
            args(sub, &format!("{path} {}", sub.get_name()), out);
        }
    }

    #[test]
    fn command_line_is_consistent() {
        Cli::command().debug_assert();
    }

    // Issue 14: `-c/--config` had no help text. Every option says what it is for, and
    // a file argument is shown as FILE.
    #[test]
    fn every_option_has_help_text() {
        let mut all = Vec::new();
        args(&Cli::command(), "altroot", &mut all);
        let missing: Vec<String> = all
            .iter()
            .filter(|(_, a)| a.get_help().is_none_or(|h| h.to_string().trim().is_empty()))
            .map(|(p, a)| format!("{p} --{}", a.get_id()))
            .collect();
        assert!(missing.is_empty(), "no help text: {missing:?}");
        for (p, a) in &all {
            if a.get_id() == "config" || a.get_id() == "file" {
                let names: Vec<String> = a
                    .get_value_names()
                    .unwrap_or_default()
                    .iter()
                    .map(|n| n.to_string())
                    .collect();
                assert_eq!(names, vec!["FILE"], "{p} --{}", a.get_id());
            }
        }
    }
}
