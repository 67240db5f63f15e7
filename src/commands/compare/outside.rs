//! `compare --resolver`: outside recursive resolvers as columns beside the roots —
//! what a resolver that knows only the ICANN root tells everyone else.
//!
//! Each resolver is asked the row's name and type once, with RD and AD set (RFC
//! 6840 §5.7: a validating resolver then says whether it validated), through
//! hickory-resolver's connections: its `ConnectionProvider` opens UDP (TCP when an
//! answer is truncated), DoH over HTTP/2 and DoQ (RFC 9250). DoT goes through
//! hickory-net's `tls_client_connect` and a `DnsMultiplexer` instead, because the
//! resolver's own DoT path turns SNI off (`tls_exchange_with_bind_addr`), and
//! services that pick their certificate by SNI then fail. We take the connection
//! level, not `Resolver::lookup`: a column shows the raw answer (rcode, the CNAME
//! chain, AD), which the lookup API turns into errors for NXDOMAIN and NODATA,
//! caches, and retries by its own rules.
//!
//! One connection per resolver serves every name of the run (questions are
//! pipelined on DoT, streams on DoH and DoQ); a connection that fails is opened
//! again once per question. Every question is bounded by the query timeout, and a
//! resolver that gave no answer to [`GIVE_UP`] questions in a row is not asked
//! again in that run: a bulk comparison with a dead resolver stays bounded.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use hickory_proto::op::{DnsRequest, DnsRequestOptions, Edns, Message, MessageType, OpCode, Query};
use hickory_proto::rr::{Name, Record, RecordType};
use hickory_resolver::config::{ConnectionConfig, ResolverOpts};
use hickory_resolver::net::runtime::{RuntimeProvider, Spawn, TokioRuntimeProvider};
use hickory_resolver::net::tls::tls_client_connect;
use hickory_resolver::net::xfer::{DnsExchange, DnsHandle, DnsMultiplexer, FirstAnswer};
use hickory_resolver::{ConnectionProvider, PoolContext, TlsConfig};
use rustls::ClientConfig;

use super::rows::Cell;
use crate::config::encrypted::{Transport, parse_upstream, server_name};
use crate::dnssec::{Ede, Security, Why};

/// Questions in a row without an answer after which a resolver is not asked again.
pub const GIVE_UP: u32 = 3;

/// The EDNS buffer size we offer (DNS Flag Day 2020).
const EDNS_PAYLOAD: u16 = 1232;

//------------ Spec --------------------------------------------------------------

/// One `--resolver`: the column's label and where the resolver is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Spec {
    /// The column's name: the `LABEL=` given, else the address as written.
    pub label: String,
    /// The address as written (without the label).
    pub address: String,
    pub addr: SocketAddr,
    pub via: Via,
}

/// How a resolver is spoken to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Via {
    /// UDP, TCP when the answer is truncated.
    Plain,
    /// DoT (RFC 7858); `name` is what the certificate must cover (sent as SNI).
    Tls { name: String },
    /// DoH (RFC 8484) over HTTP/2.
    Https { name: String, path: String },
    /// DoQ (RFC 9250).
    Quic { name: String },
}

impl Via {
    pub fn is_encrypted(&self) -> bool {
        !matches!(self, Via::Plain)
    }
}

const FORMS: &str = "want IP[:port], tls://IP[:port]#name, https://IP[:port]/dns-query#name or quic://IP[:port]#name";

/// Parses `--resolver [LABEL=]ADDR`. ADDR is written as a forward root's upstream
/// (`192.0.2.53`, `[::1]:5300`, `tls://9.9.9.9#dns.quad9.net`,
/// `https://9.9.9.9/dns-query#dns.quad9.net`), plus `quic://9.9.9.9#dns.quad9.net`
/// (DoQ, port 853 like DoT). The server is an address, never a host name.
pub fn parse_resolver(s: &str) -> Result<Spec, String> {
    let (label, address) = match s.split_once('=') {
        Some((l, a))
            if !l.is_empty()
                && l.chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_') =>
        {
            (Some(l), a)
        }
        _ => (None, s),
    };
    let bad = |why: String| format!("--resolver {s:?}: {why}");
    let upstream = match address.split_once("://") {
        None => {
            parse_upstream(address, 53).map_err(|_| bad(format!("not an address ({FORMS})")))?
        }
        // DoQ is written as DoT is (RFC 9250 §4.1.1: its own port, 853).
        Some(("tls" | "https" | "quic", _)) => {
            parse_upstream(address, 53).map_err(|e| bad(strip_quoted(&e, address)))?
        }
        Some((other, _)) => return Err(bad(format!("unknown scheme {other:?} ({FORMS})"))),
    };
    let via = match upstream.transport {
        Transport::Quic { name } => Via::Quic { name },
        Transport::Tls { name } => Via::Tls { name },
        Transport::Https { name, path } => Via::Https { name, path },
        Transport::Plain => Via::Plain,
    };
    Ok(Spec {
        label: label.unwrap_or(address).to_string(),
        address: address.to_string(),
        addr: upstream.addr,
        via,
    })
}

/// An upstream parse error without its leading `"input": ` (we say the input once).
fn strip_quoted(e: &str, input: &str) -> String {
    e.strip_prefix(&format!("{input:?}: "))
        .unwrap_or(e)
        .to_string()
}

//------------ Outside: a resolver and its connection ---------------------------

type Exchange = DnsExchange<TokioRuntimeProvider>;

/// A resolver asked for the run, with its open connection.
pub struct Outside {
    pub spec: Spec,
    /// hickory's runtime: it owns the connections' background tasks (a `JoinSet`),
    /// so it lives as long as they are used — a provider dropped after connecting
    /// aborts them, and every question then fails with "receiver was canceled".
    provider: TokioRuntimeProvider,
    cx: Arc<PoolContext>,
    tls: Arc<ClientConfig>,
    timeout: Duration,
    /// The connection every question uses (UDP for a plain resolver), opened on
    /// first use; questions that arrive meanwhile wait for that one handshake.
    conn: tokio::sync::Mutex<Option<Exchange>>,
    /// A plain resolver's TCP connection, for truncated answers.
    tcp: tokio::sync::Mutex<Option<Exchange>>,
    /// Questions in a row that got no answer, and the last reason.
    failures: AtomicU32,
    last_failure: std::sync::Mutex<String>,
}

/// The TLS client config for encrypted resolvers: the CAs of `ca` (PEM), else the
/// system's (as forward roots do).
pub fn tls_config(ca: Option<&Path>) -> Result<Arc<ClientConfig>, String> {
    let roots = match ca {
        Some(p) => Arc::new(crate::tls::load_ca(p)?),
        None => crate::tls::system_roots()?,
    };
    let c = ClientConfig::builder_with_provider(crate::tls::provider())
        .with_safe_default_protocol_versions()
        .map_err(|e| format!("TLS set-up: {e}"))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(Arc::new(c))
}

impl Outside {
    /// A resolver asked with `tls` (for encrypted ones), each question within
    /// `timeout`, at most `jobs` questions in flight on one connection.
    pub fn new(spec: Spec, tls: Arc<ClientConfig>, timeout: Duration, jobs: usize) -> Outside {
        // hickory's own timeouts are a backstop: ours (the caller's, around each
        // question) ends first and says so.
        let mut opts = ResolverOpts::default();
        opts.timeout = timeout.saturating_mul(2);
        opts.max_active_requests = jobs.max(1);
        let cx = PoolContext::new(
            opts,
            TlsConfig {
                config: (*tls).clone(),
            },
        );
        Outside {
            spec,
            provider: TokioRuntimeProvider::default(),
            cx: Arc::new(cx),
            tls,
            timeout,
            conn: tokio::sync::Mutex::new(None),
            tcp: tokio::sync::Mutex::new(None),
            failures: AtomicU32::new(0),
            last_failure: std::sync::Mutex::new(String::new()),
        }
    }

    /// Opens a connection: the resolver's own transport, or TCP (`tcp`) for a
    /// plain resolver's truncated answers.
    async fn connect(&self, tcp: bool) -> Result<Exchange, String> {
        let addr = self.spec.addr;
        let mut config = match &self.spec.via {
            Via::Plain if tcp => ConnectionConfig::tcp(),
            Via::Plain => ConnectionConfig::udp(),
            Via::Tls { name } => return self.dot(name).await,
            Via::Https { name, path } => {
                ConnectionConfig::https(name.as_str().into(), Some(path.as_str().into()))
            }
            Via::Quic { name } => ConnectionConfig::quic(name.as_str().into()),
        };
        config.port = addr.port();
        self.provider
            .new_connection(addr.ip(), &config, &self.cx)
            .map_err(|e| e.to_string())?
            .await
            .map_err(|e| e.to_string())
    }

    /// DoT with SNI: hickory-net's TLS stream under a multiplexer (which pipelines
    /// questions and matches answers by message ID, RFC 7766 §6.2.1.1).
    async fn dot(&self, name: &str) -> Result<Exchange, String> {
        let sni = server_name(name).ok_or_else(|| format!("{name:?} is not a server name"))?;
        let (stream, handle) =
            tls_client_connect(self.spec.addr, sni, self.tls.clone(), self.provider.clone());
        let stream = stream.await.map_err(|e| e.to_string())?;
        let mux = DnsMultiplexer::new(stream, handle)
            .with_timeout(self.cx.options.timeout)
            .with_max_active_requests(self.cx.options.max_active_requests);
        let (exchange, background) = DnsExchange::from_stream(mux);
        self.provider.create_handle().spawn_bg(async move {
            let _ = background.await;
        });
        Ok(exchange)
    }

    /// The connection in `slot`, opened if there is none.
    async fn connection(
        &self,
        slot: &tokio::sync::Mutex<Option<Exchange>>,
        tcp: bool,
    ) -> Result<Exchange, String> {
        let mut open = slot.lock().await;
        if let Some(c) = open.as_ref() {
            return Ok(c.clone());
        }
        let c = self.connect(tcp).await?;
        *open = Some(c.clone());
        Ok(c)
    }

    /// Sends `q` on the connection in `slot`; a connection that fails (the server
    /// closed it, it broke) is replaced and the question sent once more.
    async fn send_on(
        &self,
        slot: &tokio::sync::Mutex<Option<Exchange>>,
        tcp: bool,
        q: &Message,
    ) -> Result<Message, String> {
        let conn = self.connection(slot, tcp).await?;
        match send(&conn, q).await {
            Ok(m) => Ok(m),
            // UDP has no connection to lose: its failure is the answer.
            Err(_) if !tcp && !self.spec.via.is_encrypted() => send(&conn, q).await,
            Err(_) => {
                *slot.lock().await = None;
                let conn = self.connection(slot, tcp).await?;
                send(&conn, q).await
            }
        }
    }

    /// The resolver's answer to `q` (TCP again when a plain answer is truncated).
    async fn exchange(&self, q: &Message) -> Result<Message, String> {
        let m = self.send_on(&self.conn, false, q).await?;
        if m.metadata.truncation && !self.spec.via.is_encrypted() {
            return self.send_on(&self.tcp, true, q).await;
        }
        Ok(m)
    }

    /// Asks `name`/`qtype`: the answer as a cell, or a cell that says why none came.
    pub async fn ask(&self, name: &Name, qtype: RecordType) -> Answered {
        let given_up = self.failures.load(Ordering::Relaxed) >= GIVE_UP;
        if given_up {
            let last = self
                .last_failure
                .lock()
                .map(|l| l.clone())
                .unwrap_or_default();
            return self.failed(format!(
                "not asked: no answer to {GIVE_UP} questions in a row (last: {last})"
            ));
        }
        let q = question(name, qtype);
        let got = match tokio::time::timeout(self.timeout, self.exchange(&q)).await {
            Ok(Ok(m)) if answers(&m, &q) => Ok(m),
            Ok(Ok(_)) => Err("a reply to another question".to_string()),
            Ok(Err(e)) => Err(e),
            Err(_) => Err(format!("timeout: no answer within {:?}", self.timeout)),
        };
        match got {
            Ok(m) => {
                self.failures.store(0, Ordering::Relaxed);
                self.answered(m, qtype)
            }
            Err(e) => {
                self.failures.fetch_add(1, Ordering::Relaxed);
                if let Ok(mut l) = self.last_failure.lock() {
                    l.clone_from(&e);
                }
                self.failed(e)
            }
        }
    }

    fn failed(&self, why: String) -> Answered {
        Answered {
            cell: Cell::failed(self.spec.label.clone(), why),
            ad: false,
            address: self.spec.address.clone(),
            seen: Seen::NoAnswer,
        }
    }

    fn answered(&self, m: Message, qtype: RecordType) -> Answered {
        let ad = m.metadata.authentic_data;
        let dnssec = if ad {
            Security::Secure
        } else {
            Security::Indeterminate(Why::new(
                Ede::DnssecIndeterminate,
                &Name::root(),
                "the resolver did not set AD",
            ))
        };
        let keep = |r: &Record| {
            matches!(
                qtype,
                RecordType::RRSIG | RecordType::NSEC | RecordType::NSEC3
            ) || !crate::resolver::answer::is_dnssec_extra(r)
        };
        Answered {
            cell: Cell {
                root: self.spec.label.clone(),
                rcode: m.metadata.response_code,
                records: m.answers.into_iter().filter(keep).collect(),
                error: None,
                dnssec,
                authority: m
                    .authorities
                    .into_iter()
                    .filter(|r| r.record_type() == RecordType::SOA)
                    .collect(),
                cross: None,
            },
            ad,
            address: self.spec.address.clone(),
            seen: Seen::NoAnswer,
        }
    }
}

/// The question as a stub sends it: RD, AD (RFC 6840 §5.7), EDNS without DO (the
/// data, not its signatures).
fn question(name: &Name, qtype: RecordType) -> Message {
    let mut m = Message::new(rand::random(), MessageType::Query, OpCode::Query);
    m.metadata.recursion_desired = true;
    m.metadata.authentic_data = true;
    m.add_query(Query::query(name.clone(), qtype));
    let mut edns = Edns::new();
    edns.set_max_payload(EDNS_PAYLOAD);
    m.set_edns(edns);
    m
}

/// Is `m` a response to `q` (same name, type and class; the exchange has matched
/// the message ID)?
fn answers(m: &Message, q: &Message) -> bool {
    m.metadata.message_type == MessageType::Response
        && m.queries.len() == 1
        && q.queries.first().is_some_and(|q| {
            m.queries[0].name() == q.name()
                && m.queries[0].query_type() == q.query_type()
                && m.queries[0].query_class() == q.query_class()
        })
}

async fn send(conn: &Exchange, q: &Message) -> Result<Message, String> {
    let req = DnsRequest::new(q.clone(), DnsRequestOptions::default());
    conn.send(req)
        .first_answer()
        .await
        .map(|r| r.into_message())
        .map_err(|e| e.to_string())
}

//------------ What a resolver said, against the roots ---------------------------

/// A resolver's answer to a row, and which roots it matches.
#[derive(Clone, Debug)]
pub struct Answered {
    /// The answer (`root` is the resolver's label; `error` when none came).
    pub cell: Cell,
    /// The AD bit of the answer.
    pub ad: bool,
    /// The resolver's address as written.
    pub address: String,
    pub seen: Seen,
}

/// Which roots a resolver's answer matches.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Seen {
    /// The roots whose answer is the same (rcode and records), in column order;
    /// empty when it matches none.
    As(Vec<String>),
    /// No answer came.
    NoAnswer,
}

impl Answered {
    /// Matches the answer against the roots' cells (answers that came).
    pub fn judge(&mut self, roots: &[Cell]) {
        if self.cell.error.is_some() {
            self.seen = Seen::NoAnswer;
            return;
        }
        self.seen = Seen::As(
            roots
                .iter()
                .filter(|r| r.error.is_none() && r.same_as(&self.cell))
                .map(|r| r.root.clone())
                .collect(),
        );
    }

    /// "as icann", "as every root", "as alt, pirate", "as no root", "no answer"
    /// (`roots`: how many roots were compared).
    pub fn seen_label(&self, roots: usize) -> String {
        match &self.seen {
            Seen::NoAnswer => "no answer".into(),
            Seen::As(r) if r.is_empty() => "as no root".into(),
            Seen::As(r) if r.len() == roots && roots > 1 => "as every root".into(),
            Seen::As(r) => format!("as {}", r.join(", ")),
        }
    }

    /// The answer as the table shows it: the cell's text, or "no answer" (why is
    /// said under the table, and in the JSON).
    pub fn display(&self) -> String {
        match &self.cell.error {
            Some(_) => "no answer".into(),
            None => self.cell.display(),
        }
    }

    /// The DNSSEC column: what the resolver said of the answer's security.
    pub fn ad_label(&self) -> &'static str {
        match (&self.cell.error, self.ad) {
            (Some(_), _) => "-",
            (None, true) => "AD",
            (None, false) => "no AD",
        }
    }
}

/// The RESOLVERS column of a row: "all as icann", or each resolver's outcome
/// ("unbound as icann; dnsmasq no answer"), resolvers with the same outcome
/// together.
pub fn resolvers_line(answers: &[Answered], roots: usize) -> String {
    let mut groups: Vec<(String, Vec<&str>)> = Vec::new();
    for a in answers {
        let l = a.seen_label(roots);
        match groups.iter_mut().find(|(g, _)| *g == l) {
            Some((_, who)) => who.push(&a.cell.root),
            None => groups.push((l, vec![&a.cell.root])),
        }
    }
    if groups.len() == 1 && answers.len() > 1 {
        return format!("all {}", groups[0].0);
    }
    groups
        .iter()
        .map(|(l, who)| format!("{} {l}", who.join(", ")))
        .collect::<Vec<_>>()
        .join("; ")
}

/// What one resolver did over the rows.
#[derive(Debug, Default)]
pub struct Tally {
    /// The column's label.
    pub label: String,
    /// Rows per outcome ("as icann", "no answer", …).
    pub outcomes: BTreeMap<String, usize>,
    /// Rows per reason no answer came (the questions not asked after
    /// [`GIVE_UP`] failures counted as one reason).
    pub reasons: BTreeMap<String, usize>,
}

/// Per resolver, in column order: how many rows got each outcome, and why
/// answers did not come.
pub fn resolver_counts(rows: &[super::Row], roots: usize) -> Vec<Tally> {
    let mut out: Vec<Tally> = Vec::new();
    for row in rows {
        for (i, a) in row.outside.iter().enumerate() {
            if out.len() <= i {
                out.push(Tally {
                    label: a.cell.root.clone(),
                    ..Tally::default()
                });
            }
            *out[i].outcomes.entry(a.seen_label(roots)).or_insert(0) += 1;
            if let Some(e) = &a.cell.error {
                let reason = match e.split_once(" (last: ") {
                    Some((head, _)) if e.starts_with("not asked") => head,
                    _ => e,
                };
                *out[i].reasons.entry(reason.to_string()).or_insert(0) += 1;
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resolver_forms() {
        let s = parse_resolver("192.0.2.53").unwrap();
        assert_eq!(
            (s.label.as_str(), s.addr, &s.via),
            ("192.0.2.53", "192.0.2.53:53".parse().unwrap(), &Via::Plain)
        );
        let s = parse_resolver("isp=[::1]:5300").unwrap();
        assert_eq!(
            (s.label.as_str(), s.address.as_str()),
            ("isp", "[::1]:5300")
        );
        assert_eq!(s.addr, "[::1]:5300".parse().unwrap());
        let s = parse_resolver("tls://9.9.9.9#dns.quad9.net").unwrap();
        assert_eq!(s.addr, "9.9.9.9:853".parse().unwrap());
        assert_eq!(
            s.via,
            Via::Tls {
                name: "dns.quad9.net".into()
            }
        );
        let s = parse_resolver("q9=https://9.9.9.9/dns-query#dns.quad9.net").unwrap();
        assert_eq!(s.label, "q9");
        assert_eq!(s.addr, "9.9.9.9:443".parse().unwrap());
        assert_eq!(
            s.via,
            Via::Https {
                name: "dns.quad9.net".into(),
                path: "/dns-query".into()
            }
        );
        let s = parse_resolver("quic://[2620:fe::fe]#dns.quad9.net").unwrap();
        assert_eq!(s.addr, "[2620:fe::fe]:853".parse().unwrap());
        assert_eq!(
            s.via,
            Via::Quic {
                name: "dns.quad9.net".into()
            }
        );
        let s = parse_resolver("quic://192.0.2.1:8853").unwrap();
        assert_eq!(
            s.via,
            Via::Quic {
                name: "192.0.2.1".into()
            },
            "no name: the certificate must cover the address"
        );
    }

    #[test]
    fn resolver_errors_name_the_input_and_the_fix() {
        let e = parse_resolver("dns.quad9.net").unwrap_err();
        assert!(
            e.starts_with("--resolver \"dns.quad9.net\": not an address"),
            "{e}"
        );
        assert!(e.contains("quic://"), "{e}");
        let e = parse_resolver("quic://dns.quad9.net").unwrap_err();
        assert!(e.contains("write quic://<address>#dns.quad9.net"), "{e}");
        assert!(!e.contains("tls://"), "{e}");
        let e = parse_resolver("h3://192.0.2.1").unwrap_err();
        assert!(e.contains("unknown scheme \"h3\""), "{e}");
        let e = parse_resolver("tls://192.0.2.1/x").unwrap_err();
        assert!(e.contains("tls:// takes no path"), "{e}");
        let e = parse_resolver("quic://192.0.2.1#bad name").unwrap_err();
        assert!(e.contains("not a name"), "{e}");
    }
}
