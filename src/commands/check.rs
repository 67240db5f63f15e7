//! `altroot check`: validate the config and every zone and hints file, without any
//! network, and report every problem as `FILE:LINE: error|warning: message`, sorted
//! by file and line (DESIGN §5).
//!
//! The rules are the ones `serve` applies when it loads or reloads (they live in
//! [`crate::zones`] and [`crate::config`], and the rest in
//! [`crate::service::problems`], which the status page lists too);
//! `check` only collects them, so the two can never disagree.

use std::path::Path;

use crate::config::{Config, RootSource};
use crate::zones::{LoadOptions, Problem, ZoneSet, read_serials};

/// Everything `check` found.
#[derive(Debug, Default)]
pub struct Report {
    pub problems: Vec<Problem>,
    pub zones: usize,
    pub roots: usize,
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
        Err(e) => {
            return Report {
                problems: vec![Problem::error(e.file, e.line.unwrap_or(1), e.message)],
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
/// there are errors.
pub fn run(config: Option<std::path::PathBuf>) -> u8 {
    let report = check(config.as_deref());
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
