//! `altroot check`: validate the config and every zone and hints file, without any
//! network, and report every problem as `FILE:LINE: error|warning: message`, sorted
//! by file and line (DESIGN §5).
//!
//! The rules are the ones `serve` applies when it loads or reloads (they live in
//! [`crate::zones`] and [`crate::config`]);
//! `check` only collects them, so the two can never disagree.

use std::path::Path;

use crate::config::{Config, ConfigError, ConfigErrors, RootSource, TlsFiles};
use crate::tls::{Severity, Which};
use crate::zones::{LoadOptions, Problem, ZoneSet, hints, read_serials};

/// Everything `check` found.
#[derive(Debug, Default)]
pub struct Report {
    pub problems: Vec<Problem>,
    pub zones: usize,
    pub roots: usize,
    /// The config could not be read (none found, or unreadable): nothing was
    /// checked.
    pub unread: Option<ConfigError>,
}

impl Report {
    pub fn errors(&self) -> usize {
        self.problems.iter().filter(|p| p.is_error()).count()
    }

    pub fn warnings(&self) -> usize {
        self.problems.len() - self.errors()
    }
}

/// Runs every check for the config at `path` (or the default config).
pub fn check(path: Option<&Path>) -> Report {
    let config = match Config::discover(path) {
        Ok(c) => c,
        Err(ConfigErrors::Unread(e)) => {
            return Report {
                unread: Some(e),
                ..Report::default()
            };
        }
        Err(ConfigErrors::Invalid(list)) => {
            let mut problems: Vec<Problem> = list
                .into_iter()
                .map(|e| Problem::error(e.file, e.line.unwrap_or(1), e.message))
                .collect();
            problems.sort();
            return Report {
                problems,
                ..Report::default()
            };
        }
    };
    let mut report = Report {
        roots: config.roots.len(),
        ..Report::default()
    };
    for root in &config.roots {
        match &root.source {
            RootSource::Zones(dir) => {
                let opts = LoadOptions {
                    special_use: root.special_use.clone(),
                    last_serials: read_serials(dir),
                };
                let (set, mut problems) = ZoneSet::load(dir, None, &opts, true);
                report.zones += set.zones().count();
                report.problems.append(&mut problems);
            }
            RootSource::Hints(h) => {
                if let Err(mut e) = hints::load(h) {
                    report.problems.append(&mut e);
                }
            }
            RootSource::Forward {
                tls_ca: Some(ca), ..
            } => {
                if let Err(e) = crate::tls::load_ca(&ca.path) {
                    report.problems.push(Problem::error(
                        config_file(&config),
                        ca.line,
                        format!("tls-ca: {e}"),
                    ));
                }
            }
            RootSource::Forward { .. } => {}
        }
    }
    if let Some(files) = &config.server.tls {
        report.problems.extend(tls_problems(&config, files));
    }
    report.problems.sort();
    report.problems.dedup();
    report
}

fn config_file(config: &Config) -> std::path::PathBuf {
    config
        .source
        .clone()
        .unwrap_or_else(|| "<builtin config>".into())
}

/// The listeners' certificate and key: readable, belonging together, valid now and
/// for 30 more days (a warning), and the names they cover (a warning, so an
/// operator sees what clients must ask for). Each at the config line of the file.
fn tls_problems(config: &Config, files: &TlsFiles) -> Vec<Problem> {
    let now = crate::clock::unix_now() as i64;
    let file = config_file(config);
    crate::tls::check_pair(&files.cert, &files.key, now)
        .into_iter()
        .map(|(sev, which, msg)| {
            let (line, key) = match which {
                Which::Cert => (files.cert_line, "tls-cert"),
                Which::Key => (files.key_line, "tls-key"),
            };
            let msg = format!("{key}: {msg}");
            match sev {
                Severity::Error => Problem::error(file.clone(), line, msg),
                Severity::Warning => Problem::warning(file.clone(), line, msg),
            }
        })
        .collect()
}

/// `altroot check`: prints every problem, then a summary on stderr; exit 1 when
/// there are errors, 2 when there was no config to check.
pub fn run(config: Option<std::path::PathBuf>) -> u8 {
    let report = check(config.as_deref());
    if let Some(e) = &report.unread {
        // Not a finding about a config but the lack of one.
        eprintln!("{e}");
        return 2;
    }
    for p in &report.problems {
        println!("{p}");
    }
    eprintln!(
        "{}, {}: {}, {}",
        super::count(report.roots, "root", "roots"),
        super::count(report.zones, "zone", "zones"),
        super::count(report.errors(), "error", "errors"),
        super::count(report.warnings(), "warning", "warnings")
    );
    if report.errors() > 0 { 1 } else { 0 }
}
