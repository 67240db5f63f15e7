//! A query-log record and how it reads: the stderr line in `tracing`'s layout and
//! the JSON object of `[log] query-file`. Formatting happens on the writer thread
//! ([`super::log`]); a worker only fills a [`Record`].

use std::net::{IpAddr, SocketAddr};

use hickory_proto::op::ResponseCode;
use hickory_proto::rr::{Name, RecordType};
use ipnet::IpNet;

use super::request::Proto;
use crate::config::ClientField;
use crate::resolver::{Failure, Route, Source, rcode_str};

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
        let mut out = String::with_capacity(usize::from(self.len) + 1);
        self.push_text(&mut out);
        out
    }

    /// Appends the name as text to `out`.
    fn push_text(&self, out: &mut String) {
        let b = &self.bytes[..usize::from(self.len)];
        let start = out.len();
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
                    use std::fmt::Write;
                    // Writing to a String cannot fail.
                    let _ = write!(out, "\\{c:03}");
                }
            }
            out.push('.');
            i += 1 + l;
        }
        if out.len() == start {
            out.push('.');
        }
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

/// The client as the logs show it: `addr:port`, its /24 or /56, or `-`.
pub(super) fn client_text(client: SocketAddr, how: ClientField) -> String {
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

/// One record as a JSON object (docs/operating.md lists the keys).
pub(super) fn json_line(r: &Record, roots: &[String], how: ClientField, client: &str) -> String {
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

/// One record as the stderr line, in the layout `tracing`'s formatter gives
/// every other line (`TIME  INFO altroot::query: query key=value …`), appended
/// to `out`; `ts` is the batch's time, formatted once for all its lines.
pub(super) fn line(out: &mut String, ts: &str, r: &Record, roots: &[String], how: ClientField) {
    use std::fmt::Write;
    let qtype = RecordType::from(r.qtype);
    let ms = f64::from(r.micros) / 1000.0;
    let rcode = rcode_str(r.rcode);
    let proto = r.proto.as_str();
    let what = if r.rejected {
        "rejected request"
    } else {
        "query"
    };
    out.push_str(ts);
    out.push_str("  INFO altroot::query: ");
    out.push_str(what);
    out.push_str(" client=");
    push_client(out, r.client, how);
    // Writing to a String cannot fail.
    let _ = write!(out, " proto={proto} name=");
    r.name.push_text(out);
    let _ = if r.rejected {
        writeln!(out, " qtype={qtype} rcode={rcode} ms={ms:.2}")
    } else {
        let root = root_name(r.route, roots);
        let cache = r.source.as_str();
        let _ = write!(
            out,
            " qtype={qtype} root={root} cache={cache} rcode={rcode} "
        );
        match &r.failure {
            None => writeln!(out, "answers={} tc={} ms={ms:.2}", r.answers, r.tc),
            Some(f) => writeln!(
                out,
                "answers=0 tc={} ms={ms:.2} failure={} reason={f}",
                r.tc,
                f.code()
            ),
        }
    };
}

/// The client as [`client_text`] says it, appended without a new string for
/// the usual `address` setting.
fn push_client(out: &mut String, client: SocketAddr, how: ClientField) {
    use std::fmt::Write;
    match how {
        // Writing to a String cannot fail.
        ClientField::Address => drop(write!(out, "{client}")),
        other => out.push_str(&client_text(client, other)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A local NOERROR answer for `www.geek. A` from 127.0.0.1:4000 over UDP.
    fn www_geek() -> Record {
        Record {
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
        }
    }

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

    // The stderr line has the layout of every other log line (`tracing`'s
    // formatter), so one reader (grep, a log shipper) reads both.
    #[test]
    fn stderr_line_in_tracings_layout() {
        let mut r = www_geek();
        let roots = vec!["alt".to_string()];
        let mut out = String::new();
        line(
            &mut out,
            "2026-12-01T16:19:17.529796Z",
            &r,
            &roots,
            ClientField::Address,
        );
        r.rejected = true;
        r.rcode = ResponseCode::FormErr;
        line(
            &mut out,
            "2026-12-01T16:19:17.529796Z",
            &r,
            &roots,
            ClientField::None,
        );
        let got: Vec<&str> = out.lines().collect();
        let (ts, rest) = got[0].split_once("  ").unwrap();
        assert!(humantime::parse_rfc3339(ts).is_ok(), "{ts}");
        assert_eq!(ts.len(), "2026-12-01T16:19:17.529796Z".len());
        assert_eq!(
            rest,
            "INFO altroot::query: query client=127.0.0.1:4000 proto=udp name=www.geek. qtype=A \
             root=alt cache=local rcode=NOERROR answers=1 tc=false ms=1.23"
        );
        assert_eq!(
            got[1].split_once("  ").unwrap().1,
            "INFO altroot::query: rejected request client=- proto=udp name=www.geek. qtype=A \
             rcode=FORMERR ms=1.23"
        );
    }

    #[test]
    fn json_line_has_every_key() {
        let r = www_geek();
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
