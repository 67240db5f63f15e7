//! The `upstream` fuzz target's fixture and checks: bytes in as the replies of
//! upstream servers to a running resolution (issue 14). The resolver has one hints
//! root (one root server, 192.0.2.1) and a scripted network ([`Net::Scripted`]):
//! every query it sends, to any server, over UDP or TCP, is answered by the next
//! chunk of the input, so the fuzzer plays the whole hierarchy — root, TLD and leaf
//! servers, referrals, glue, chains, truncation, garbage — under the real
//! transport (ID and question matching, EDNS fallback, TCP on TC), classification,
//! caching and chain following. Time is tokio's, paused; randomness is seeded.
//!
//! Shared by `fuzz/fuzz_targets/upstream.rs` and the test suite
//! (`tests/integration/fuzz_upstream.rs` replays the seeds and every finding).
//!
//! An input is a list of chunks, each `[len: u16 BE][mode: u8][len bytes]`:
//! - mode bit 0 clear: the chunk is a reply without its first 12 bytes' ID and
//!   question: `flags (2) | an ns ar counts (6) | section bytes`; the harness puts
//!   the query's ID, QDCOUNT 1 and the query's own question in front, so section
//!   bytes may point at the question name (offset 12) as real replies do;
//! - mode bit 0 set: the chunk is the whole reply, only its ID replaced by the
//!   query's (the question and everything else as the fuzzer made it);
//! - mode bits 1–2: when it arrives (at once, after 10 ms, 400 ms or 3 s: later
//!   than a try's time limit);
//! - mode bit 3: a datagram with another ID comes first (a spoofer's).
//!
//! When the chunks run out the servers are silent. Each of a few fixed client
//! questions is asked in turn through the front end, and the reply must be sound
//! (see [`check`]).

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use altroot::clock::Clock;
use altroot::config::Config;
use altroot::resolver::Env;
use altroot::resolver::failure::ServerError;
use altroot::resolver::random::Random;
use altroot::resolver::transport::{Exchange, Net, Script};
use altroot::server::{Frontend, Handled, Proto};
use altroot::service::Service;
use hickory_proto::op::{Edns, Message, MessageType, OpCode, Query, ResponseCode};
use hickory_proto::rr::{Name, RData, RecordType};

/// One root server; everything else comes from the input.
pub const HINTS: &str = ". 3600000 NS a.root.test.\na.root.test. 3600000 A 192.0.2.1\n";

/// A 2 s budget per question, so a silent input costs little time.
pub const CONFIG: &str = r#"
[server]
listen = ["127.0.0.1:5353"]
query-timeout = "2s"

[[root]]
name = "icann"
hints = "hints"
"#;

/// The same root validating (issue 15), under an anchor no input can sign for:
/// every answer goes through the chain walk (DS and DNSKEY fetched from the
/// scripted servers, fuzzed RRSIG/DNSKEY/NSEC/NSEC3 records parsed and checked),
/// and must come out as a sound reply (mostly SERVFAIL, bogus), never a panic.
pub const CONFIG_VALIDATING: &str = r#"
[server]
listen = ["127.0.0.1:5353"]
query-timeout = "2s"

[[root]]
name = "icann"
hints = "hints"
trust-anchors = ["anchor.ds"]
"#;

/// The anchor of [`CONFIG_VALIDATING`]: a DS for the root (ECDSA P-256, SHA-256).
pub const ANCHOR: &str =
    ". 3600 IN DS 4242 13 2 0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef\n";

/// The client questions, asked in turn for every input.
pub const QUESTIONS: &[(&str, RecordType)] = &[
    ("www.example.com.", RecordType::A),
    ("example.com.", RecordType::NS),
    ("a.b.example.net.", RecordType::AAAA),
    ("www.example.com.", RecordType::TXT),
];

/// The largest upstream queries one client question may cause (`[limits]
/// max-upstream-queries`, the default).
const MAX_QUERIES: usize = 200;

/// The replies to come, shared with the scripted network.
#[derive(Default)]
struct Input {
    bytes: Vec<u8>,
    at: usize,
}

pub struct FuzzNet {
    input: Mutex<Input>,
    /// Queries sent since the last reset (one client question).
    pub sent: AtomicUsize,
}

impl FuzzNet {
    fn next_chunk(&self) -> Option<(u8, Vec<u8>)> {
        let mut i = self.input.lock().unwrap_or_else(|p| p.into_inner());
        let at = i.at;
        let head = i.bytes.get(at..at + 3)?;
        let len = usize::from(u16::from_be_bytes([head[0], head[1]]));
        let mode = head[2];
        let end = (at + 3 + len).min(i.bytes.len());
        let body = i.bytes[at + 3..end].to_vec();
        i.at = end;
        Some((mode, body))
    }

    fn exchange(&self, query: &[u8]) -> Result<Exchange, ServerError> {
        self.sent.fetch_add(1, Ordering::Relaxed);
        let Some((mode, body)) = self.next_chunk() else {
            return Ok(Exchange::default());
        };
        let Ok(q) = Message::from_vec(query) else {
            panic!("the resolver sent a query that does not parse: {query:02x?}");
        };
        let id = q.metadata.id.to_be_bytes();
        let reply = if mode & 1 == 0 {
            // ID, the chunk's flags and counts with QDCOUNT 1, the question as sent.
            let mut r = id.to_vec();
            let mut fixed = [0u8; 8];
            for (k, b) in body.iter().take(8).enumerate() {
                fixed[k] = *b;
            }
            r.extend_from_slice(&fixed[..2]);
            r.extend_from_slice(&[0, 1]);
            r.extend_from_slice(&fixed[2..]);
            let question_end = question_end(query).unwrap_or(query.len());
            r.extend_from_slice(query.get(12..question_end).unwrap_or(&[]));
            r.extend_from_slice(body.get(8..).unwrap_or(&[]));
            r
        } else {
            let mut r = body;
            for (k, b) in id.iter().enumerate() {
                if let Some(x) = r.get_mut(k) {
                    *x = *b;
                }
            }
            r
        };
        let delay = match (mode >> 1) & 3 {
            0 => Duration::ZERO,
            1 => Duration::from_millis(10),
            2 => Duration::from_millis(400),
            _ => Duration::from_secs(3),
        };
        let mut replies = Vec::new();
        if mode & 8 != 0 {
            let mut spoof = reply.clone();
            if let Some(b) = spoof.get_mut(0) {
                *b ^= 0x5a;
            }
            replies.push((delay, spoof));
        }
        replies.push((delay, reply));
        Ok(Exchange { replies })
    }
}

/// Where the question of a well-formed query ends (its name, type and class).
fn question_end(query: &[u8]) -> Option<usize> {
    let mut i = 12;
    loop {
        let len = usize::from(*query.get(i)?);
        i += 1;
        if len == 0 {
            return Some(i + 4);
        }
        i += len;
    }
}

impl Script for FuzzNet {
    fn udp(&self, _server: SocketAddr, query: &[u8]) -> Result<Exchange, ServerError> {
        self.exchange(query)
    }

    fn tcp(&self, _server: SocketAddr, query: &[u8]) -> Result<Exchange, ServerError> {
        self.exchange(query)
    }
}

pub struct Fixture {
    rt: tokio::runtime::Runtime,
    config: Config,
    validating: Config,
    /// Holds the hints file the config names, for the fixture's lifetime.
    dir: PathBuf,
}

impl Default for Fixture {
    fn default() -> Self {
        Self::new()
    }
}

impl Fixture {
    pub fn new() -> Fixture {
        static N: AtomicUsize = AtomicUsize::new(0);
        let dir: PathBuf = std::env::temp_dir().join(format!(
            "altroot-fuzz-upstream-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::create_dir_all(&dir).expect("temp folder");
        std::fs::write(dir.join("hints"), HINTS).expect("write hints");
        std::fs::write(dir.join("altroot.toml"), CONFIG).expect("write config");
        std::fs::write(dir.join("anchor.ds"), ANCHOR).expect("write anchor");
        std::fs::write(dir.join("validating.toml"), CONFIG_VALIDATING).expect("write config");
        let config = Config::load(&dir.join("altroot.toml")).expect("fixture config");
        let validating =
            Config::load(&dir.join("validating.toml")).expect("validating fixture config");
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .start_paused(true)
            .build()
            .expect("runtime");
        Fixture {
            rt,
            config,
            validating,
            dir,
        }
    }

    /// Removes the temporary folder (the target calls it at exit).
    pub fn cleanup(&self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }

    /// One input: a fresh resolver (empty caches), the questions asked in turn;
    /// then the same with the root validating and the questions asked with DO.
    /// Panics when a reply breaks [`check`].
    pub fn run(&self, data: &[u8]) {
        let _ = self.replies(data);
        let _ = self.replies_validating(data);
    }

    /// The replies to [`QUESTIONS`], each checked.
    pub fn replies(&self, data: &[u8]) -> Vec<Message> {
        self.ask(&self.config, data, false)
    }

    /// As [`Fixture::replies`], from the validating root, asked with DO.
    pub fn replies_validating(&self, data: &[u8]) -> Vec<Message> {
        self.ask(&self.validating, data, true)
    }

    fn ask(&self, config: &Config, data: &[u8], dnssec_ok: bool) -> Vec<Message> {
        self.rt.block_on(async {
            let (frontend, net) = resolver(config, data);
            let mut out = Vec::new();
            for (i, (name, qtype)) in QUESTIONS.iter().enumerate() {
                net.sent.store(0, Ordering::Relaxed);
                let id = 0x1000 + i as u16;
                let query = client_query(id, name, *qtype, dnssec_ok);
                let client = SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), 40053);
                let mut buf = Vec::new();
                let reply = match frontend.receive(&query, client, Proto::Udp, &mut buf) {
                    Handled::Reply => buf,
                    Handled::Later(p) => frontend.resolve(p).await,
                    Handled::Drop => panic!("a well-formed question was dropped"),
                    Handled::Transfer(_) => panic!("no question here is a transfer"),
                };
                check(&query, &reply, net.sent.load(Ordering::Relaxed));
                out.push(Message::from_vec(&reply).expect("checked"));
            }
            out
        })
    }
}

/// A resolver (empty caches) on a scripted network that answers with `data`'s
/// chunks.
fn resolver(config: &Config, data: &[u8]) -> (Frontend, Arc<FuzzNet>) {
    let net = Arc::new(FuzzNet {
        input: Mutex::new(Input {
            bytes: data.to_vec(),
            at: 0,
        }),
        sent: AtomicUsize::new(0),
    });
    let env = Env {
        clock: Arc::new(Clock::fixed(1_800_000_000)),
        random: Random::seeded(1),
        net: Net::Scripted(net.clone()),
    };
    let service = Service::with_env(config.clone(), env).expect("fixture loads");
    (
        Frontend::new(service.resolver.clone(), &service.config),
        net,
    )
}

pub fn client_query(id: u16, name: &str, qtype: RecordType, dnssec_ok: bool) -> Vec<u8> {
    let mut m = Message::new(id, MessageType::Query, OpCode::Query);
    m.metadata.recursion_desired = true;
    m.add_query(Query::query(
        Name::from_ascii(name).expect("a fixture name"),
        qtype,
    ));
    let mut e = Edns::new();
    e.set_max_payload(1232);
    e.set_dnssec_ok(dnssec_ok);
    m.set_edns(e);
    m.to_vec().expect("a fixture query")
}

/// What every reply must be, whatever the servers sent: a DNS message with the
/// query's ID and question, QR and RA set, AA clear; an rcode a resolver gives;
/// every answer record on the chain from the name asked (owned by the name or a
/// CNAME/DNAME target reached from it, or a DNAME above such a name: nothing
/// else a server planted), TTLs within `max-ttl` (1 day), no more upstream
/// queries than `max-upstream-queries`.
pub fn check(query: &[u8], reply: &[u8], sent: usize) {
    let q = Message::from_vec(query).expect("our own query");
    let m = match Message::from_vec(reply) {
        Ok(m) => m,
        Err(e) => panic!("the reply does not parse ({e}): {reply:02x?}"),
    };
    assert_eq!(m.metadata.id, q.metadata.id, "ID");
    assert_eq!(m.metadata.message_type, MessageType::Response, "QR");
    assert!(m.metadata.recursion_available, "RA");
    assert!(!m.metadata.authoritative, "AA");
    assert_eq!(m.queries, q.queries, "the question echoed");
    assert!(
        matches!(
            m.metadata.response_code,
            ResponseCode::NoError
                | ResponseCode::NXDomain
                | ResponseCode::ServFail
                | ResponseCode::YXDomain
        ),
        "rcode {}",
        m.metadata.response_code
    );
    assert!(
        sent <= MAX_QUERIES,
        "{sent} upstream queries for one question"
    );
    let mut chain: Vec<Name> = vec![q.queries[0].name().clone()];
    for r in &m.answers {
        assert!(r.ttl <= 86_400, "TTL over max-ttl: {r:?}");
        let on_chain = chain.contains(&r.name)
            || (r.record_type() == RecordType::DNAME
                && chain.iter().any(|n| r.name.zone_of(n) && r.name != *n));
        assert!(on_chain, "an answer record off the chain {chain:?}: {r:?}");
        if let RData::CNAME(c) = &r.data {
            chain.push(c.0.clone());
        }
    }
    let dnssec_ok = q.edns.as_ref().is_some_and(|e| e.flags().dnssec_ok);
    for r in m.authorities.iter().chain(m.additionals.iter()) {
        let proof = matches!(
            r.record_type(),
            RecordType::RRSIG | RecordType::NSEC | RecordType::NSEC3
        );
        assert!(
            matches!(r.record_type(), RecordType::SOA | RecordType::OPT) || (dnssec_ok && proof),
            "only an SOA (or OPT; with DO, RRSIG/NSEC/NSEC3) outside the answer: {r:?}"
        );
    }
    if !dnssec_ok {
        assert!(
            m.answers.iter().all(|r| !matches!(
                r.record_type(),
                RecordType::RRSIG | RecordType::NSEC | RecordType::NSEC3
            )) || matches!(
                q.queries[0].query_type(),
                RecordType::RRSIG | RecordType::NSEC | RecordType::NSEC3
            ),
            "DNSSEC records to a client without DO: {:?}",
            m.answers
        );
    }
}
