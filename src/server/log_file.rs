//! The query log's JSON-lines file (`[log] query-file`), written by the log
//! writer thread only. It rotates itself by size — `file` becomes `file.1`, `file.1`
//! becomes `file.2` …, the oldest beyond `query-file-keep` is deleted — or, for
//! logrotate, is reopened on request (SIGUSR1) after something else moved it.
//! Write errors (a full disk) are reported once until a write works again; the
//! queries are answered regardless.

use std::fs::{File, OpenOptions};
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

pub struct JsonFile {
    path: PathBuf,
    out: BufWriter<File>,
    /// Bytes in the file now (as far as this writer knows).
    size: u64,
    /// Rotate past this (0: never).
    max: u64,
    keep: usize,
    /// An error was reported and nothing has worked since.
    failing: bool,
}

fn open_append(path: &Path) -> std::io::Result<(BufWriter<File>, u64)> {
    let f = OpenOptions::new().create(true).append(true).open(path)?;
    let size = f.metadata().map(|m| m.len()).unwrap_or(0);
    Ok((BufWriter::with_capacity(64 * 1024, f), size))
}

/// `file.N`.
fn numbered(path: &Path, n: usize) -> PathBuf {
    let mut s = path.as_os_str().to_owned();
    s.push(format!(".{n}"));
    PathBuf::from(s)
}

impl JsonFile {
    /// `[log] query-file`, opened; `None` when not configured. An error names the
    /// file.
    pub fn from_config(c: &crate::config::LogConfig) -> std::io::Result<Option<JsonFile>> {
        let Some(p) = &c.query_file else {
            return Ok(None);
        };
        JsonFile::open(p, c.query_file_max_size, c.query_file_keep)
            .map(Some)
            .map_err(|e| {
                std::io::Error::new(
                    e.kind(),
                    format!("cannot open the query log {}: {e}", p.display()),
                )
            })
    }

    pub fn open(path: &Path, max: u64, keep: usize) -> std::io::Result<JsonFile> {
        let (out, size) = open_append(path)?;
        Ok(JsonFile {
            path: path.to_path_buf(),
            out,
            size,
            max,
            keep: keep.max(1),
            failing: false,
        })
    }

    /// Appends one line (the newline is added), rotating first when the line
    /// would take the file past its size.
    pub fn write_line(&mut self, line: &str) {
        let len = line.len() as u64 + 1;
        if self.max > 0 && self.size > 0 && self.size + len > self.max {
            self.rotate();
        }
        let r = self
            .out
            .write_all(line.as_bytes())
            .and_then(|()| self.out.write_all(b"\n"));
        match r {
            Ok(()) => self.size += len,
            Err(e) => self.failed("write", e),
        }
    }

    pub fn flush(&mut self) {
        match self.out.flush() {
            Ok(()) => self.failing = false,
            Err(e) => self.failed("write", e),
        }
    }

    /// Opens the path again (the old file was moved away by logrotate).
    pub fn reopen(&mut self) {
        let _ = self.out.flush();
        match open_append(&self.path) {
            Ok((out, size)) => {
                self.out = out;
                self.size = size;
                tracing::info!(file = %self.path.display(), "query log reopened");
            }
            Err(e) => self.failed("reopen", e),
        }
    }

    fn rotate(&mut self) {
        let _ = self.out.flush();
        let _ = std::fs::remove_file(numbered(&self.path, self.keep));
        for n in (1..self.keep).rev() {
            let _ = std::fs::rename(numbered(&self.path, n), numbered(&self.path, n + 1));
        }
        if let Err(e) = std::fs::rename(&self.path, numbered(&self.path, 1)) {
            // Keep appending to the file we have rather than lose lines.
            self.failed("rotate", e);
            return;
        }
        match open_append(&self.path) {
            Ok((out, size)) => {
                self.out = out;
                self.size = size;
            }
            Err(e) => self.failed("rotate", e),
        }
    }

    fn failed(&mut self, what: &str, e: std::io::Error) {
        if !self.failing {
            tracing::warn!(file = %self.path.display(), "query log {what} failed: {e}");
            self.failing = true;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(p: &Path) -> Vec<String> {
        std::fs::read_to_string(p)
            .unwrap_or_default()
            .lines()
            .map(str::to_string)
            .collect()
    }

    #[test]
    fn rotates_by_size_and_keeps_n_files() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("q.jsonl");
        let mut f = JsonFile::open(&p, 25, 2).unwrap();
        for i in 0..7 {
            f.write_line(&format!("{{\"n\":{i:05}}}")); // 11 bytes + newline
        }
        f.flush();
        assert_eq!(lines(&p), vec!["{\"n\":00006}"]);
        assert_eq!(
            lines(&numbered(&p, 1)),
            vec!["{\"n\":00004}", "{\"n\":00005}"]
        );
        assert_eq!(
            lines(&numbered(&p, 2)),
            vec!["{\"n\":00002}", "{\"n\":00003}"]
        );
        assert!(!numbered(&p, 3).exists(), "only keep = 2 rotated files");
    }

    #[test]
    fn reopen_follows_a_moved_file() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("q.jsonl");
        let mut f = JsonFile::open(&p, 0, 5).unwrap();
        f.write_line("a");
        f.flush();
        std::fs::rename(&p, dir.path().join("old")).unwrap();
        f.write_line("b"); // still into the moved file, as with any daemon
        f.reopen();
        f.write_line("c");
        f.flush();
        assert_eq!(lines(&dir.path().join("old")), vec!["a", "b"]);
        assert_eq!(lines(&p), vec!["c"]);
    }
}
