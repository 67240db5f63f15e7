//! The query log: one line per query, written by a thread of its own. Workers hand
//! over a fixed-size record (no formatting, no allocation, no system call on the
//! answer path); when the writer falls behind, records are dropped and counted
//! rather than queries waiting. The writer takes what has queued every 10 ms (50 ms
//! under light load) and formats each record twice, when wanted: the stderr line,
//! in `tracing`'s layout and under its filter (target `altroot::query`, so `-q`,
//! `-v` and `RUST_LOG` apply to it as to every other line), written in one `write`
//! per batch; and a JSON object in `[log] query-file` ([`super::log_file`]), which
//! the log level does not silence. What a record holds and how it reads:
//! [`super::log_line`].
//!
//! The lines do not go through `tracing`'s formatter: that would be a second
//! thread hand-off and a `write` per line, which cost a third of the answers a
//! core gives at full load (measured, docs/performance.md).
//!
//! On the way out, `serve` calls [`QueryLog::finish`] once the queries in flight
//! are answered: every record handed over before it is written and flushed
//! (stderr and the file) before the process exits, and the count of records
//! dropped is logged.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::{
    Receiver, RecvTimeoutError, SyncSender, TryRecvError, TrySendError, sync_channel,
};
use std::time::{Duration, Instant};

use super::log_file::JsonFile;
pub use super::log_line::{Record, WireName};
use super::log_line::{client_text, json_line, line};
use crate::config::ClientField;

/// Records the writer may be behind by before new ones are dropped.
const QUEUE: usize = 16_384;

/// What the writer is handed: records, in order, and flush requests. A record
/// goes by value, as before there were flush requests: boxing it would allocate
/// per query on the answer path to shrink a message sent once per shutdown.
#[allow(clippy::large_enum_variant)]
enum Msg {
    Record(Record),
    /// Write everything handed over before this, flush, then say so.
    Flush(SyncSender<()>),
}

pub struct QueryLog {
    tx: SyncSender<Msg>,
    dropped: Arc<AtomicU64>,
    /// Set by SIGUSR1: the writer reopens the file (logrotate moved it).
    reopen: Arc<AtomicBool>,
    /// A JSON-lines file is written: records are wanted whatever the log level.
    file: bool,
    /// The writer is asleep until a record comes (tests wait for it).
    idle: Arc<AtomicBool>,
}

/// How often the writer looks for records under load.
const FLUSH_INTERVAL: Duration = Duration::from_millis(10);

/// Under light load (batches under [`BUSY_BATCH`] records) the writer comes back
/// less often: a line appears at most this much after its answer.
const LIGHT_FLUSH_INTERVAL: Duration = Duration::from_millis(50);
const BUSY_BATCH: usize = 256;

/// How long an idle writer sleeps before it looks at the reopen flag again.
const IDLE_CHECK: Duration = Duration::from_millis(250);

/// Lines collected before a write, at most.
const BATCH_BYTES: usize = 64 * 1024;

/// What the writer thread needs.
struct Writer {
    roots: Vec<String>,
    client: ClientField,
    file: Option<JsonFile>,
    reopen: Arc<AtomicBool>,
    idle: Arc<AtomicBool>,
}

impl QueryLog {
    /// Starts the writer thread; `roots` names the roots for `root=`; `file` is the
    /// JSON-lines file, already open (so a bad path stops `serve` at start-up).
    pub fn start(roots: Vec<String>, client: ClientField, file: Option<JsonFile>) -> QueryLog {
        let (tx, rx) = sync_channel(QUEUE);
        let reopen = Arc::new(AtomicBool::new(false));
        let idle = Arc::new(AtomicBool::new(false));
        let log = QueryLog {
            tx,
            dropped: Arc::new(AtomicU64::new(0)),
            reopen: reopen.clone(),
            file: file.is_some(),
            idle: idle.clone(),
        };
        let writer = Writer {
            roots,
            client,
            file,
            reopen,
            idle,
        };
        let spawned = std::thread::Builder::new()
            .name("altroot-querylog".into())
            .spawn(move || writer.run(rx));
        if let Err(e) = spawned {
            tracing::warn!("cannot start the query log writer ({e}); queries are not logged");
        }
        log
    }

    /// Is a record wanted at all (the log level, or a file)? Checked before
    /// building one.
    pub fn enabled(&self) -> bool {
        self.file || tracing::enabled!(target: "altroot::query", tracing::Level::INFO)
    }

    /// Hands a record to the writer, or drops and counts it when the writer is behind.
    pub fn push(&self, r: Record) {
        match self.tx.try_send(Msg::Record(r)) {
            Ok(()) => {}
            Err(TrySendError::Full(_)) | Err(TrySendError::Disconnected(_)) => {
                self.dropped.fetch_add(1, Ordering::Relaxed);
            }
        }
    }

    /// Records dropped so far.
    pub fn dropped(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }

    /// Asks the writer to reopen the JSON-lines file (after logrotate moved it).
    pub fn reopen(&self) {
        self.reopen.store(true, Ordering::Relaxed);
    }

    /// Is the writer idle, asleep until a record (or its periodic look at the
    /// reopen flag) wakes it? For tests of what wakes it.
    pub fn idle(&self) -> bool {
        self.idle.load(Ordering::SeqCst)
    }

    /// Waits (at most `within`) until every record handed over so far is written
    /// and flushed, to stderr and to the file: `serve` calls it on the way out,
    /// after the last answer. True when it was.
    pub fn finish(&self, within: Duration) -> bool {
        let deadline = Instant::now() + within;
        let (ack, done) = sync_channel(1);
        let mut msg = Msg::Flush(ack);
        // The queue may be full (the writer is behind): wait for room, bounded.
        loop {
            match self.tx.try_send(msg) {
                Ok(()) => break,
                Err(TrySendError::Full(m)) if Instant::now() < deadline => {
                    msg = m;
                    std::thread::sleep(Duration::from_millis(1));
                }
                Err(_) => return false,
            }
        }
        let left = deadline.saturating_duration_since(Instant::now());
        done.recv_timeout(left).is_ok()
    }
}

impl Writer {
    /// Drains the queue every [`FLUSH_INTERVAL`], formats what it took and writes
    /// it with one `write` to stderr (and one to the file). While records come,
    /// the writer does not block on the queue, so a worker's `try_send` has no
    /// sleeping thread to wake: handing over a record is a few stores, no system
    /// call. Only when a drain finds nothing does it block, so an idle server
    /// (or one run with `-q`) is not woken a hundred times a second.
    fn run(mut self, rx: Receiver<Msg>) {
        let mut lines = String::with_capacity(BATCH_BYTES);
        // The record that woke an idle writer: written after the reopen check, so
        // the first line after a SIGUSR1 goes to the new file.
        let mut woke: Option<Msg> = None;
        loop {
            if self.reopen.swap(false, Ordering::Relaxed)
                && let Some(f) = &mut self.file
            {
                f.reopen();
            }
            let mut took = 0usize;
            let mut done = false;
            let ts = now_text();
            let mut acks = Vec::new();
            if let Some(m) = woke.take() {
                took += 1;
                self.take(m, &ts, &mut lines, &mut acks);
            }
            loop {
                match rx.try_recv() {
                    Ok(m) => {
                        took += 1;
                        self.take(m, &ts, &mut lines, &mut acks);
                    }
                    Err(TryRecvError::Empty) => break,
                    Err(TryRecvError::Disconnected) => {
                        done = true;
                        break;
                    }
                }
            }
            flush_stderr(&mut lines);
            if let Some(f) = &mut self.file {
                f.flush();
            }
            for a in acks {
                let _ = a.send(());
            }
            if done {
                break;
            }
            if took > 0 {
                // Busy: come back for the next batch; workers wake nobody. A small
                // batch means light load: wait longer, wake less.
                let wait = if took >= BUSY_BATCH {
                    FLUSH_INTERVAL
                } else {
                    LIGHT_FLUSH_INTERVAL
                };
                std::thread::sleep(wait);
                continue;
            }
            // Idle: sleep until a record comes (its sender wakes this thread, once
            // per idle spell) or the reopen flag may have been set.
            self.idle.store(true, Ordering::SeqCst);
            let next = rx.recv_timeout(IDLE_CHECK);
            self.idle.store(false, Ordering::SeqCst);
            match next {
                Ok(r) => woke = Some(r),
                Err(RecvTimeoutError::Timeout) => {}
                Err(RecvTimeoutError::Disconnected) => break,
            }
        }
        flush_stderr(&mut lines);
        if let Some(f) = &mut self.file {
            f.flush();
        }
    }

    /// One message: a record is formatted (a full batch written at once); a flush
    /// request is answered once what came before it is flushed.
    fn take(&mut self, m: Msg, ts: &str, lines: &mut String, acks: &mut Vec<SyncSender<()>>) {
        match m {
            Msg::Record(r) => {
                let wanted = tracing::enabled!(target: "altroot::query", tracing::Level::INFO);
                self.write(&r, ts, wanted.then_some(&mut *lines));
                if lines.len() >= BATCH_BYTES {
                    flush_stderr(lines);
                }
            }
            Msg::Flush(ack) => acks.push(ack),
        }
    }

    fn write(&mut self, r: &Record, ts: &str, lines: Option<&mut String>) {
        if let Some(out) = lines {
            line(out, ts, r, &self.roots, self.client);
        }
        if let Some(f) = &mut self.file {
            let client = client_text(r.client, self.client);
            let line = json_line(r, &self.roots, self.client, &client);
            f.write_line(&line);
        }
    }
}

/// Now, as the log lines show it (RFC 3339, UTC, microseconds).
fn now_text() -> String {
    humantime::format_rfc3339_micros(std::time::SystemTime::now()).to_string()
}

/// Writes the lines collected to stderr, at once.
fn flush_stderr(lines: &mut String) {
    if lines.is_empty() {
        return;
    }
    use std::io::Write;
    // A failing stderr (closed) loses the lines, as it would any log line.
    let _ = std::io::stderr().lock().write_all(lines.as_bytes());
    lines.clear();
}
