//! Panics in the work of one query: a bug, never a way to stop a listener.
//!
//! The listeners run each piece of per-packet work under [`Panics::catch`] (a
//! datagram or frame through [`Frontend::receive_caught`]) or as a [`Guarded`]
//! future (a question resolved through [`Frontend::resolve_caught`], a TCP/DoT
//! connection, a DoH request). A panic there is caught, counted
//! (`altroot_panics_total`, by protocol), and logged as one ERROR line that names
//! the panic, where it happened and what was being done — at most one line a
//! second, with how many more there were — and the listener goes on with the next
//! packet. The client gets a SERVFAIL with its ID when its query had a header.
//!
//! One line, not two: while guarded work runs, the process's panic hook (installed
//! by [`super::start`]) keeps the panic's message and location for that line
//! instead of printing its own; any other panic is printed as before. The fuzz
//! harnesses call the front end directly, unguarded, so a panic still reaches
//! libFuzzer.

use std::any::Any;
use std::cell::{Cell, RefCell};
use std::future::Future;
use std::net::SocketAddr;
use std::panic::{self, AssertUnwindSafe};
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Once};
use std::task::{Context, Poll};
use std::time::{SystemTime, UNIX_EPOCH};

use super::count;
use super::request::Proto;
use super::{Frontend, Handled, Pending};
use crate::stats::Stats;
use crate::zones::wire::cursor::Cursor;

thread_local! {
    /// Guarded work running on this thread (its nesting depth).
    static GUARDED: Cell<u32> = const { Cell::new(0) };
    /// The last guarded panic's message and location, as the hook saw it.
    static LAST: RefCell<Option<String>> = const { RefCell::new(None) };
}

/// Installs the panic hook (once per process): a panic in guarded work is kept
/// for [`Panics::caught`]'s line; any other goes to the hook that was there before.
pub fn install_hook() {
    static HOOK: Once = Once::new();
    HOOK.call_once(|| {
        let before = panic::take_hook();
        panic::set_hook(Box::new(move |info| {
            if GUARDED.try_with(Cell::get).unwrap_or(0) > 0 {
                let at = info
                    .location()
                    .map(|l| format!(" at {}:{}", l.file(), l.line()))
                    .unwrap_or_default();
                let text = format!("{}{at}", message(info.payload()));
                let _ = LAST.try_with(|l| *l.borrow_mut() = Some(text));
            } else {
                before(info);
            }
        }));
    });
}

fn message(payload: &(dyn Any + Send)) -> &str {
    if let Some(s) = payload.downcast_ref::<&str>() {
        s
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s
    } else {
        "(no message)"
    }
}

/// Marks this thread as running guarded work while it lives.
struct Enter;

impl Enter {
    fn new() -> Enter {
        let _ = GUARDED.try_with(|g| g.set(g.get() + 1));
        Enter
    }
}

impl Drop for Enter {
    fn drop(&mut self) {
        let _ = GUARDED.try_with(|g| g.set(g.get().saturating_sub(1)));
    }
}

/// The panics of one front end: counted in its [`Stats`], logged at most once a
/// second.
pub struct Panics {
    stats: Arc<Stats>,
    /// The second of the last line written, and the panics not written since.
    last_line: AtomicU64,
    not_logged: AtomicU64,
    /// Debug builds only: questions made to panic, for the listeners' tests.
    #[cfg(debug_assertions)]
    trigger: std::sync::Mutex<Vec<(Stage, Vec<u8>)>>,
}

/// Where [`Frontend::panic_on`] makes a question panic.
#[cfg(debug_assertions)]
#[doc(hidden)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stage {
    /// In [`Frontend::receive`], on the listener's own task (the UDP receive loop,
    /// the TCP/DoT connection, the DoH request).
    Receive,
    /// In [`Frontend::resolve`], on the question's task.
    Resolve,
    /// In the UDP receive loop, outside the query's guarded work: the loop is
    /// started again.
    Listener,
}

impl Panics {
    pub fn new(stats: Arc<Stats>) -> Panics {
        Panics {
            stats,
            last_line: AtomicU64::new(0),
            not_logged: AtomicU64::new(0),
            #[cfg(debug_assertions)]
            trigger: std::sync::Mutex::new(Vec::new()),
        }
    }

    /// Panics when `bytes` hold a label set by [`Frontend::panic_on`] for `stage`
    /// (debug builds only).
    #[cfg(debug_assertions)]
    pub fn trip(&self, bytes: &[u8], stage: Stage) {
        let t = self.trigger.lock().unwrap_or_else(|p| p.into_inner());
        for (s, label) in t.iter() {
            if *s == stage && !label.is_empty() && bytes.windows(label.len()).any(|w| w == label) {
                let label = String::from_utf8_lossy(label).into_owned();
                drop(t);
                panic!("panic_on: a question holding {label:?}");
            }
        }
    }

    /// Runs `f`; a panic in it is caught, counted against `proto` and logged with
    /// `what` (made only then): `None`.
    pub fn catch<R>(
        &self,
        proto: Proto,
        what: impl FnOnce() -> String,
        f: impl FnOnce() -> R,
    ) -> Option<R> {
        let r = {
            let _g = Enter::new();
            panic::catch_unwind(AssertUnwindSafe(f))
        };
        match r {
            Ok(v) => Some(v),
            Err(p) => {
                self.caught(proto, &what(), p.as_ref());
                None
            }
        }
    }

    /// Runs `f` as a [`Guarded`] future: a panic is counted and logged with `what`.
    pub async fn guard<F: Future<Output = ()>>(&self, proto: Proto, what: String, f: F) {
        if let Err(p) = Guarded::new(f).await {
            self.caught(proto, &what, p.as_ref());
        }
    }

    /// A panic caught: counted, and logged (at most one line a second).
    pub fn caught(&self, proto: Proto, what: &str, payload: &(dyn Any + Send)) {
        self.stats.panicked(count::proto_slot(proto));
        let text = LAST
            .try_with(|l| l.borrow_mut().take())
            .ok()
            .flatten()
            .unwrap_or_else(|| message(payload).to_string());
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(1, |d| d.as_secs());
        let last = self.last_line.load(Ordering::Relaxed);
        if now > last
            && self
                .last_line
                .compare_exchange(last, now, Ordering::Relaxed, Ordering::Relaxed)
                .is_ok()
        {
            let more = match self.not_logged.swap(0, Ordering::Relaxed) {
                0 => String::new(),
                n => format!(" ({n} more panics not logged in the last second)"),
            };
            tracing::error!(
                "panic while {what}: {text}; caught, the {} listener goes on (a bug: please report it){more}",
                proto.as_str()
            );
        } else {
            self.not_logged.fetch_add(1, Ordering::Relaxed);
        }
    }
}

impl Frontend {
    /// Debug builds only, for tests of the listeners' panic handling (there is no
    /// such switch in a release build): from now on, a query whose bytes hold
    /// `label` panics at `stage`.
    #[cfg(debug_assertions)]
    #[doc(hidden)]
    pub fn panic_on(&self, label: &str, stage: Stage) {
        let p = self.panics();
        let mut t = p.trigger.lock().unwrap_or_else(|p| p.into_inner());
        t.push((stage, label.as_bytes().to_vec()));
    }

    /// [`Frontend::receive`], with a panic in it caught: counted, logged, and
    /// answered SERVFAIL (when the query had a header), so that the listener goes
    /// on. The listeners call this; the fuzz harness calls `receive` itself, so
    /// that a panic reaches the fuzzer.
    pub fn receive_caught(
        &self,
        bytes: &[u8],
        client: SocketAddr,
        proto: Proto,
        out: &mut Vec<u8>,
    ) -> Handled {
        let what = || {
            format!(
                "answering a query from {client} over {} ({})",
                proto.as_str(),
                packet(bytes)
            )
        };
        let caught = self
            .panics()
            .catch(proto, what, || self.receive(bytes, client, proto, out));
        match caught {
            Some(h) => h,
            None => match servfail(bytes) {
                Some(b) => {
                    *out = b;
                    Handled::Reply
                }
                None => Handled::Drop,
            },
        }
    }

    /// [`Frontend::resolve`], with a panic in it caught as in
    /// [`Frontend::receive_caught`]: the client gets a SERVFAIL.
    pub async fn resolve_caught(&self, p: Box<Pending>) -> Vec<u8> {
        let (what, proto, fail) = (p.what(), p.proto(), p.servfail());
        match Guarded::new(self.resolve(p)).await {
            Ok(b) => b,
            Err(e) => {
                self.panics().caught(proto, &what, e.as_ref());
                fail
            }
        }
    }
}

/// A future whose panics are caught: it ends with `Err(payload)` instead, to be
/// passed to [`Panics::caught`].
pub struct Guarded<F> {
    inner: Pin<Box<F>>,
}

impl<F: Future> Guarded<F> {
    pub fn new(f: F) -> Guarded<F> {
        Guarded { inner: Box::pin(f) }
    }
}

impl<F: Future> Future for Guarded<F> {
    type Output = Result<F::Output, Box<dyn Any + Send>>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let inner = self.inner.as_mut();
        let r = {
            let _g = Enter::new();
            panic::catch_unwind(AssertUnwindSafe(|| inner.poll(cx)))
        };
        match r {
            Ok(Poll::Ready(v)) => Poll::Ready(Ok(v)),
            Ok(Poll::Pending) => Poll::Pending,
            Err(p) => Poll::Ready(Err(p)),
        }
    }
}

/// What a query was, for the log line: its length and first bytes in hex.
pub fn packet(bytes: &[u8]) -> String {
    const SHOWN: usize = 300;
    let hex: String = bytes
        .iter()
        .take(SHOWN)
        .map(|b| format!("{b:02x}"))
        .collect();
    let more = if bytes.len() > SHOWN { "…" } else { "" };
    format!("{} bytes: {hex}{more}", bytes.len())
}

/// The reply to a query whose work panicked: SERVFAIL with its ID, opcode and RD
/// (header only); `None` for what is not a query (shorter than a header, or a
/// response), which gets nothing.
pub fn servfail(query: &[u8]) -> Option<Vec<u8>> {
    let mut c = Cursor::new(query);
    let id = c.u16()?;
    let flags = c.u8()?;
    c.skip(9)?;
    if flags & 0x80 != 0 {
        return None;
    }
    let mut b = id.to_be_bytes().to_vec();
    b.push(0x80 | (flags & 0x79)); // QR, the opcode and RD as asked
    b.push(0x80 | 2); // RA, SERVFAIL
    b.extend_from_slice(&[0; 8]);
    Some(b)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_panic_is_caught_counted_and_its_hook_line_kept() {
        install_hook();
        let stats = Arc::new(Stats::new(1));
        let p = Panics::new(stats.clone());
        let r = p.catch(Proto::Tcp, || "testing".into(), || 7);
        assert_eq!(r, Some(7));
        let r: Option<()> = p.catch(Proto::Tcp, || "testing".into(), || panic!("boom"));
        assert_eq!(r, None);
        assert_eq!(stats.panics(count::proto_slot(Proto::Tcp)), 1);
        assert_eq!(stats.panics(count::proto_slot(Proto::Udp)), 0);
        assert_eq!(GUARDED.with(Cell::get), 0, "left guarded");
        assert!(
            LAST.with(|l| l.borrow().is_none()),
            "the hook's text was used"
        );
    }

    #[test]
    fn a_guarded_future_that_panics_ends_with_its_payload() {
        install_hook();
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        let stats = Arc::new(Stats::new(1));
        let p = Panics::new(stats.clone());
        rt.block_on(p.guard(Proto::Doh, "testing".into(), async {
            tokio::task::yield_now().await;
            panic!("boom after a yield");
        }));
        assert_eq!(stats.panics(count::proto_slot(Proto::Doh)), 1);
    }

    #[test]
    fn servfail_keeps_the_id_and_rd_and_ignores_responses() {
        let q = [0x12, 0x34, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0, 0];
        assert_eq!(
            servfail(&q),
            Some(vec![0x12, 0x34, 0x81, 0x82, 0, 0, 0, 0, 0, 0, 0, 0])
        );
        let mut r = q;
        r[2] |= 0x80;
        assert_eq!(servfail(&r), None, "a response");
        assert_eq!(servfail(&q[..11]), None, "a runt");
    }
}
