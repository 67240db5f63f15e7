//! The query log: one line per query, written by a thread of its own. Workers hand
//! over a fixed-size record (no formatting, no allocation on the answer path); when
//! the writer falls behind, records are dropped and counted rather than queries
//! waiting. The writer formats each record twice, when wanted: the stderr line,
//! through `tracing` (target `altroot::query`, so `-q`, `-v` and `RUST_LOG` apply
//! to it as to every other line), and a JSON object in `[log] query-file`
//! ([`super::log_file`]), which the log level does not silence.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::{Receiver, RecvTimeoutError, SyncSender, TrySendError, sync_channel};
use std::time::Duration;

use hickory_proto::op::ResponseCode;
use hickory_proto::rr::{Name, RecordType};
use ipnet::IpNet;

use super::log_file::JsonFile;
use super::request::Proto;
use crate::config::ClientField;
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
    /// Set by SIGUSR1: the writer reopens the file (logrotate moved it).
    reopen: Arc<AtomicBool>,
    /// A JSON-lines file is written: records are wanted whatever the log level.
    file: bool,
}

/// How often an idle writer looks at the reopen flag.
const IDLE_CHECK: Duration = Duration::from_millis(250);

/// What the writer thread needs.
struct Writer {
    roots: Vec<String>,
    client: ClientField,
    file: Option<JsonFile>,
    reopen: Arc<AtomicBool>,
}

impl QueryLog {
    /// Starts the writer thread; `roots` names the roots for `root=`; `file` is the
    /// JSON-lines file, already open (so a bad path stops `serve` at start-up).
    pub fn start(roots: Vec<String>, client: ClientField, file: Option<JsonFile>) -> QueryLog {
        let (tx, rx) = sync_channel(QUEUE);
        let reopen = Arc::new(AtomicBool::new(false));
        let log = QueryLog {
            tx,
            dropped: Arc::new(AtomicU64::new(0)),
            reopen: reopen.clone(),
            file: file.is_some(),
        };
        let writer = Writer {
            roots,
            client,
            file,
            reopen,
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

    /// Asks the writer to reopen the JSON-lines file (after logrotate moved it).
    pub fn reopen(&self) {
        self.reopen.store(true, Ordering::Relaxed);
    }
}

impl Writer {
    fn run(mut self, rx: Receiver<Record>) {
        loop {
            if self.reopen.swap(false, Ordering::Relaxed)
                && let Some(f) = &mut self.file
            {
                f.reopen();
            }
            match rx.recv_timeout(IDLE_CHECK) {
                Ok(r) => {
                    self.write(&r);
                    // Whatever else is waiting, then one flush for the batch.
                    while let Ok(r) = rx.try_recv() {
                        self.write(&r);
                    }
                    if let Some(f) = &mut self.file {
                        f.flush();
                    }
                }
                Err(RecvTimeoutError::Timeout) => {}
                Err(RecvTimeoutError::Disconnected) => break,
            }
        }
        if let Some(f) = &mut self.file {
            f.flush();
        }
    }

    fn write(&mut self, r: &Record) {
        let client = client_text(r.client, self.client);
        if tracing::enabled!(target: "altroot::query", tracing::Level::INFO) {
            write(r, &self.roots, &client);
        }
        if let Some(f) = &mut self.file {
            let line = json_line(r, &self.roots, self.client, &client);
            f.write_line(&line);
        }
    }
}

/// The client as the logs show it: `addr:port`, its /24 or /56, or `-`.
fn client_text(client: SocketAddr, how: ClientField) -> String {
    match how {
        ClientField::Address => client.to_string(),
        ClientField::Prefix => {
            let ip = match client.ip() {
                IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(IpAddr::V6(v6), IpAddr::V4),
                v4 => v4,
            };
            let len = if ip.is_ipv4() { 24 } else { 56 };
            IpNet::new(ip, len)
                .map(|n| n.trunc().to_string())
                .unwrap_or_else(|_| ip.to_string())
        }
        ClientField::None => "-".into(),
    }
}

/// One record as a JSON object (the README lists the keys).
fn json_line(r: &Record, roots: &[String], how: ClientField, client: &str) -> String {
    let ts = humantime::format_rfc3339_millis(std::time::SystemTime::now()).to_string();
    let (root, cache) = if r.rejected {
        (None, None)
    } else {
        (Some(root_name(r.route, roots)), Some(r.source.as_str()))
    };
    let ms = (f64::from(r.micros) / 10.0).round() / 100.0;
    serde_json::json!({
        "ts": ts,
        "client": (how != ClientField::None).then_some(client),
        "proto": r.proto.as_str(),
        "name": r.name.text(),
        "type": RecordType::from(r.qtype).to_string(),
        "rcode": rcode_str(r.rcode),
        "root": root,
        "cache": cache,
        "answers": r.answers,
        "tc": r.tc,
        "ms": ms,
        "rejected": r.rejected,
        "failure": r.failure.as_ref().map(|f| f.code()),
        "reason": r.failure.as_ref().map(|f| f.to_string()),
    })
    .to_string()
}

fn root_name(route: Route, roots: &[String]) -> &str {
    match route {
        Route::Local => "local",
        Route::Interrupt => "interrupt",
        Route::Unrouted => "-",
        Route::Root(i) => roots.get(i).map_or("?", String::as_str),
    }
}

fn write(r: &Record, roots: &[String], client: &str) {
    let name = r.name.text();
    let qtype = RecordType::from(r.qtype);
    let ms = f64::from(r.micros) / 1000.0;
    let rcode = rcode_str(r.rcode);
    let proto = r.proto.as_str();
    if r.rejected {
        tracing::info!(target: "altroot::query", client = %client, proto = %proto, name = %name,
            qtype = %qtype, rcode = %rcode, ms = format_args!("{ms:.2}"), "rejected request");
        return;
    }
    let root = root_name(r.route, roots);
    let cache = r.source.as_str();
    match &r.failure {
        None => tracing::info!(target: "altroot::query", client = %client, proto = %proto,
            name = %name, qtype = %qtype, root = %root, cache = %cache, rcode = %rcode,
            answers = r.answers, tc = r.tc, ms = format_args!("{ms:.2}"), "query"),
        Some(f) => tracing::info!(target: "altroot::query", client = %client, proto = %proto,
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

    #[test]
    fn client_field_address_prefix_or_none() {
        let c: SocketAddr = "192.0.2.77:5300".parse().unwrap();
        assert_eq!(client_text(c, ClientField::Address), "192.0.2.77:5300");
        assert_eq!(client_text(c, ClientField::Prefix), "192.0.2.0/24");
        assert_eq!(client_text(c, ClientField::None), "-");
        let v6: SocketAddr = "[2001:db8:1:2ff:3::9]:53".parse().unwrap();
        assert_eq!(client_text(v6, ClientField::Prefix), "2001:db8:1:200::/56");
        let mapped: SocketAddr = "[::ffff:198.51.100.9]:53".parse().unwrap();
        assert_eq!(client_text(mapped, ClientField::Prefix), "198.51.100.0/24");
    }

    #[test]
    fn json_line_has_every_key() {
        let r = Record {
            client: "127.0.0.1:4000".parse().unwrap(),
            proto: Proto::Udp,
            name: WireName::from_wire(b"\x03www\x04geek\x00"),
            qtype: 1,
            route: Route::Root(0),
            source: Source::Local,
            rcode: ResponseCode::NoError,
            answers: 1,
            tc: false,
            micros: 1234,
            rejected: false,
            failure: None,
        };
        let roots = vec!["alt".to_string()];
        let v: serde_json::Value =
            serde_json::from_str(&json_line(&r, &roots, ClientField::None, "-")).unwrap();
        assert_eq!(v["client"], serde_json::Value::Null);
        assert_eq!(v["name"], "www.geek.");
        assert_eq!(v["type"], "A");
        assert_eq!(v["root"], "alt");
        assert_eq!(v["cache"], "local");
        assert_eq!(v["rcode"], "NOERROR");
        assert_eq!(v["ms"], 1.23);
        assert_eq!(v["failure"], serde_json::Value::Null);
        assert!(v["ts"].as_str().unwrap().ends_with('Z'));
    }
}
