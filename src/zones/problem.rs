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
            message: one_line(message.into()),
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

/// `message` with its control characters escaped (`\r`, `\u{1b}`): a problem is
/// one line whatever input it quotes. Messages quote tokens of the files raw (a
/// parser's error text), and a carriage return there would send a terminal's
/// cursor back over `FILE:LINE: error:` (found by the zone fuzz target).
fn one_line(message: String) -> String {
    if !message.contains(char::is_control) {
        return message;
    }
    let mut out = String::with_capacity(message.len() + 8);
    for c in message.chars() {
        if c.is_control() {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
    }
    out
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_problem_is_one_line_whatever_it_quotes() {
        let p = Problem::warning("z.zone", 3, "bad token: a\rb\nc\u{1b}[2Jd\te");
        assert_eq!(
            p.to_string(),
            "z.zone:3: warning: bad token: a\\rb\\nc\\u{1b}[2Jd\\te"
        );
        assert_eq!(Problem::error("z", 0, "plain").message, "plain");
    }
}
