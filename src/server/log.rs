//! The query log: one line per query, written by a thread of its own. Workers hand
//! over a fixed-size record (no formatting, no allocation on the answer path); when
//! the writer falls behind, records are dropped and counted rather than queries
//! waiting. The line goes through `tracing` (target `altroot::query`), so `-q`,
//! `-v` and `RUST_LOG` apply to it as to every other line.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{Receiver, SyncSender, TrySendError, sync_channel};

use hickory_proto::op::ResponseCode;
use hickory_proto::rr::{Name, RecordType};

use super::request::Proto;
use crate::resolver::{Failure, Route, Source, rcode_str};

/// Records the writer may be behind by before new ones are dropped.
const QUEUE: usize = 16_384;

/// A question name in wire form, inline.
#[derive(Clone, Copy)]
pub struct WireName {
    len: u8,
    bytes: [u8; 255],
}

impl WireName {
    /// From the question bytes of a query (labels up to the root label).
    pub fn from_wire(b: &[u8]) -> WireName {
        let mut n = WireName {
            len: 0,
            bytes: [0; 255],
        };
        let len = b.len().min(255);
        n.bytes[..len].copy_from_slice(&b[..len]);
        n.len = len as u8;
        n
    }

    pub fn from_name(name: Option<&Name>) -> WireName {
        use hickory_proto::serialize::binary::BinEncodable;
        let bytes = name.and_then(|n| n.to_bytes().ok()).unwrap_or_default();
        WireName::from_wire(&bytes)
    }

    /// The name as text, `.` for the root.
    fn text(&self) -> String {
        let b = &self.bytes[..usize::from(self.len)];
        let mut out = String::with_capacity(b.len() + 1);
        let mut i = 0;
        while let Some(&l) = b.get(i) {
            let l = usize::from(l);
            if l == 0 || l > 63 {
                break;
            }
            for &c in b.get(i + 1..i + 1 + l).unwrap_or_default() {
                if c.is_ascii_graphic() && c != b'.' && c != b'\\' {
                    out.push(char::from(c));
                } else {
                    out.push_str(&format!("\\{c:03}"));
                }
            }
            out.push('.');
            i += 1 + l;
        }
        if out.is_empty() {
            out.push('.');
        }
        out
    }
}

/// One query, as the log line shows it.
pub struct Record {
    pub client: SocketAddr,
    pub proto: Proto,
    pub name: WireName,
    pub qtype: u16,
    pub route: Route,
    pub source: Source,
    pub rcode: ResponseCode,
    pub answers: u16,
    pub tc: bool,
    pub micros: u32,
    /// A rejected request (FORMERR, REFUSED…): logged as such.
    pub rejected: bool,
    pub failure: Option<Box<Failure>>,
}

pub struct QueryLog {
    tx: SyncSender<Record>,
    dropped: Arc<AtomicU64>,
}

impl QueryLog {
    /// Starts the writer thread; `roots` names the roots for `root=`.
    pub fn start(roots: Vec<String>) -> QueryLog {
        let (tx, rx) = sync_channel(QUEUE);
        let spawned = std::thread::Builder::new()
            .name("altroot-querylog".into())
            .spawn(move || write_all(rx, &roots));
        if let Err(e) = spawned {
            tracing::warn!("cannot start the query log writer ({e}); queries are not logged");
        }
        QueryLog {
            tx,
            dropped: Arc::new(AtomicU64::new(0)),
        }
    }

    /// Is the line wanted at all (the log level)? Checked before building a record.
    pub fn enabled(&self) -> bool {
        tracing::enabled!(target: "altroot::query", tracing::Level::INFO)
    }

    /// Hands a record to the writer, or drops and counts it when the writer is behind.
    pub fn push(&self, r: Record) {
        match self.tx.try_send(r) {
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
}

fn write_all(rx: Receiver<Record>, roots: &[String]) {
    while let Ok(r) = rx.recv() {
        write(&r, roots);
    }
}

fn root_name(route: Route, roots: &[String]) -> &str {
    match route {
        Route::Local => "local",
        Route::Interrupt => "interrupt",
        Route::Unrouted => "-",
        Route::Root(i) => roots.get(i).map_or("?", String::as_str),
    }
}

fn write(r: &Record, roots: &[String]) {
    let name = r.name.text();
    let qtype = RecordType::from(r.qtype);
    let ms = f64::from(r.micros) / 1000.0;
    let rcode = rcode_str(r.rcode);
    let proto = r.proto.as_str();
    if r.rejected {
        tracing::info!(target: "altroot::query", client = %r.client, proto = %proto, name = %name,
            qtype = %qtype, rcode = %rcode, ms = format_args!("{ms:.2}"), "rejected request");
        return;
    }
    let root = root_name(r.route, roots);
    let cache = r.source.as_str();
    match &r.failure {
        None => tracing::info!(target: "altroot::query", client = %r.client, proto = %proto,
            name = %name, qtype = %qtype, root = %root, cache = %cache, rcode = %rcode,
            answers = r.answers, tc = r.tc, ms = format_args!("{ms:.2}"), "query"),
        Some(f) => tracing::info!(target: "altroot::query", client = %r.client, proto = %proto,
            name = %name, qtype = %qtype, root = %root, cache = %cache, rcode = %rcode,
            answers = 0, tc = r.tc, ms = format_args!("{ms:.2}"), failure = %f.code(),
            reason = %f, "query"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_print_as_text_with_escapes() {
        assert_eq!(
            WireName::from_wire(b"\x03WwW\x04geek\x00").text(),
            "WwW.geek."
        );
        assert_eq!(WireName::from_wire(b"\x00").text(), ".");
        assert_eq!(WireName::from_wire(b"\x03a.b\x00").text(), "a\\046b.");
        assert_eq!(
            WireName::from_name(Name::from_ascii("x.y.").ok().as_ref()).text(),
            "x.y."
        );
    }
}
