//! `altroot check`: validate the config and every zone and hints file, without any
//! network, and report every problem as `FILE:LINE: error|warning: message`, sorted
//! by file and line (DESIGN §5).
//!
//! The rules are the ones `serve` applies when it loads or reloads (they live in
//! [`crate::zones`] and [`crate::config`], and the rest in
//! [`crate::service::problems`], which the status page lists too);
//! `check` only collects them, so the two can never disagree.

use std::path::Path;

use crate::config::{Config, ConfigError, ConfigErrors, RootSource};
use crate::zones::{LoadOptions, Problem, ZoneSet, read_serials};

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
        if let RootSource::Zones(dir) = &root.source {
            let opts = LoadOptions {
                special_use: root.special_use.clone(),
                last_serials: read_serials(dir),
                secondary: root.transfer_in.is_some(),
            };
            let (set, mut problems) = ZoneSet::load(dir, None, &opts, true);
            report.zones += set.zones().count();
            report.problems.append(&mut problems);
        }
    }
    // The rest as the status page of a running `serve` lists it.
    report
        .problems
        .extend(crate::service::problems::config_problems(&config));
    report.problems.sort();
    report.problems.dedup();
    report
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
