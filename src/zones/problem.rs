//! What the zone layer reports: [`Problem`]s with a file, a line and a severity.
//!
//! Used for zone files, hints files and config files alike, so that `check` and the
//! reload log print every one of them the same way: `FILE:LINE: error: …`.

use std::fmt;
use std::path::PathBuf;

/// How bad a [`Problem`] is: errors stop a zone from loading, warnings do not.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Severity {
    Error,
    Warning,
}

/// One problem in a zone, hints or config file, printed as `FILE:LINE: error: …`.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Problem {
    pub file: PathBuf,
    /// 1-based; problems about a whole file point at line 1.
    pub line: usize,
    pub severity: Severity,
    pub message: String,
}

impl Problem {
    pub fn error(file: impl Into<PathBuf>, line: usize, message: impl Into<String>) -> Problem {
        Problem {
            file: file.into(),
            line: line.max(1),
            severity: Severity::Error,
            message: message.into(),
        }
    }

    pub fn warning(file: impl Into<PathBuf>, line: usize, message: impl Into<String>) -> Problem {
        Problem {
            severity: Severity::Warning,
            ..Problem::error(file, line, message)
        }
    }

    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sev = match self.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
        };
        write!(
            f,
            "{}:{}: {sev}: {}",
            self.file.display(),
            self.line,
            self.message
        )
    }
}

/// Zone-file problems are [`Problem`]s.
pub type ZoneError = Problem;

/// Logs problems found while (re)loading zones: errors as errors, warnings as
/// warnings.
pub fn log_problems(problems: &[Problem]) {
    for p in problems {
        if p.is_error() {
            tracing::error!("{p}");
        } else {
            tracing::warn!("{p}");
        }
    }
}
