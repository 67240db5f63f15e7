//! The `request` fuzz target's fixture and checks: a raw packet through the whole
//! request path short of the socket ([`Frontend::receive`], then
//! [`Frontend::resolve`] when it waits for the resolver).
//!
//! Shared by `fuzz/fuzz_targets/request.rs` and the regression tests
//! (`tests/integration/fuzz_regressions.rs` includes this file), so a minimised
//! crash is replayed through exactly the code and checks that found it.
//!
//! The fixture is built once per process and keeps its state from one input to
//! the next: answers made ready by one input are ready hits for the next, so the
//! hot path's hits are fuzzed too — and a finding may need the input that made an
//! answer ready before it (`request_malformed_edns_option_is_formerr_even_when_ready`
//! replays both).
//!
//! The resolver has one root, a zones root (`fuzz/fixture/zones/`), and no hints
//! or forward root. The only remote servers are the zones' delegations, all on
//! loopback, which the default `upstream-deny` refuses (the root has no
//! `allow-loopback-upstream`): nothing is ever sent.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};

use altroot::config::Config;
use altroot::resolver::transport::EDNS_PAYLOAD;
use altroot::server::{Frontend, Handled, Proto};
use altroot::service::Service;
use hickory_proto::op::{Message, MessageType};

/// The zone set: a root with delegations, TLDs with CNAME, wildcard, DNAME, MX,
/// TXT, SRV and sub-delegations (the shape of the shipped `zones/`).
pub const ZONES: &[(&str, &str)] = &[
    ("root.zone", include_str!("../fixture/zones/root.zone")),
    ("geek.zone", include_str!("../fixture/zones/geek.zone")),
    ("biz.zone", include_str!("../fixture/zones/biz.zone")),
    ("web.zone", include_str!("../fixture/zones/web.zone")),
    ("test.zone", include_str!("../fixture/zones/test.zone")),
];

/// Default `upstream-deny` and `allow`; no `allow-loopback-upstream`.
pub const CONFIG: &str = r#"
[server]
listen = ["127.0.0.1:5353"]
query-timeout = "2s"

[[root]]
name = "alt"
zones = "zones"
special-use = ["test"]
"#;

/// Largest datagram the UDP listener reads (`src/server/udp.rs`).
const UDP_BUFFER: usize = 4096;

pub struct Fixture {
    pub rt: tokio::runtime::Runtime,
    pub frontend: Frontend,
}

impl Default for Fixture {
    fn default() -> Self {
        Self::new()
    }
}

impl Fixture {
    /// Writes the zones and the config to a fresh temporary folder, builds the
    /// service from them, and removes the folder again (zones are held in memory).
    pub fn new() -> Fixture {
        static N: AtomicUsize = AtomicUsize::new(0);
        let dir: PathBuf = std::env::temp_dir().join(format!(
            "altroot-fuzz-request-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        ));
        let zones = dir.join("zones");
        std::fs::create_dir_all(&zones).expect("temp zones folder");
        for (file, text) in ZONES {
            std::fs::write(zones.join(file), text).expect("write zone");
        }
        let path = dir.join("altroot.toml");
        std::fs::write(&path, CONFIG).expect("write config");
        let config = Config::load(&path).expect("fixture config");
        let service = Service::new(config).expect("fixture zones load");
        let _ = std::fs::remove_dir_all(&dir);
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        let frontend = Frontend::new(service.resolver.clone(), &service.config);
        Fixture { rt, frontend }
    }

    /// One fuzz input: byte 0 chooses the transport (bit 0: TCP) and the client
    /// address (bits 1–3); the rest is the DNS message, as a listener would pass
    /// it on (UDP reads at most 4096 bytes, a TCP frame carries at most 65535).
    /// Panics when the reply breaks [`check`].
    pub fn run(&self, data: &[u8]) {
        let Some((&sel, msg)) = data.split_first() else {
            return;
        };
        let proto = if sel & 1 == 0 { Proto::Udp } else { Proto::Tcp };
        let max = match proto {
            Proto::Udp => UDP_BUFFER,
            Proto::Tcp | Proto::Dot | Proto::Doh | Proto::Doq => usize::from(u16::MAX),
        };
        let msg = &msg[..msg.len().min(max)];
        let reply = self.ask(msg, client(sel >> 1), proto);
        check(msg, proto, reply.as_deref());
    }

    /// The request path: `receive`, and `resolve` when the question waits.
    pub fn ask(&self, msg: &[u8], client: SocketAddr, proto: Proto) -> Option<Vec<u8>> {
        self.rt.block_on(async {
            let mut out = Vec::new();
            match self.frontend.receive(msg, client, proto, &mut out) {
                Handled::Reply => Some(out),
                Handled::Drop => None,
                Handled::Later(p) => Some(self.frontend.resolve(p).await),
                // A transfer's first message stands for the reply.
                Handled::Transfer(mut t) => t.next_message().and_then(Result::ok),
            }
        })
    }
}

/// Mostly an allowed IPv4 client; also IPv6, IPv4-mapped IPv6, and a client
/// outside `allow` (REFUSED).
pub fn client(sel: u8) -> SocketAddr {
    let ip = match sel & 7 {
        5 => IpAddr::V6(Ipv6Addr::LOCALHOST),
        6 => IpAddr::V6(Ipv4Addr::LOCALHOST.to_ipv6_mapped()),
        7 => IpAddr::V4(Ipv4Addr::new(198, 51, 100, 7)),
        _ => IpAddr::V4(Ipv4Addr::LOCALHOST),
    };
    SocketAddr::new(ip, 40053)
}

/// What every reply must be (docs/resolution.md "How a name is resolved" §6 and "Decisions"):
/// only runts and responses are dropped; a reply parses as a DNS message, with QR
/// and RA set, AA clear, the query's ID, at most the question asked, TC only over
/// UDP, and over UDP no larger than the client's buffer (512 without EDNS, its
/// EDNS size otherwise, between 512 and 1232); its OPT, if any, advertises 1232
/// and copies DO, and a query without EDNS gets none.
pub fn check(msg: &[u8], proto: Proto, reply: Option<&[u8]>) {
    let runt_or_response = msg.len() < 12 || msg[2] & 0x80 != 0;
    let Some(reply) = reply else {
        assert!(runt_or_response, "a query was dropped: {msg:02x?}");
        return;
    };
    assert!(!runt_or_response, "a runt or a response was answered");
    let m = match Message::from_vec(reply) {
        Ok(m) => m,
        Err(e) => panic!("the reply does not parse ({e}): {reply:02x?}"),
    };
    assert_eq!(m.metadata.id, u16::from_be_bytes([msg[0], msg[1]]), "ID");
    assert_eq!(m.metadata.message_type, MessageType::Response, "QR");
    assert!(m.metadata.recursion_available, "RA");
    assert!(!m.metadata.authoritative, "AA");
    let req = Message::from_vec(msg).ok();
    assert!(m.queries.len() <= 1, "questions: {:?}", m.queries);
    if let Some(q) = m.queries.first() {
        let asked = req.as_ref().map(|r| r.queries.as_slice()).unwrap_or(&[]);
        assert_eq!(asked, std::slice::from_ref(q), "the question echoed");
        assert_eq!(
            q.name().to_string(),
            asked[0].name().to_string(),
            "the question's case kept"
        );
    }
    // Our OPT says our buffer size and copies DO (RFC 6891 §6.2.5, RFC 3225 §3);
    // a request without EDNS gets none.
    if let Some(e) = &m.edns {
        assert_eq!(e.max_payload(), EDNS_PAYLOAD, "the OPT's size is ours");
        if let Some(asked) = req.as_ref().and_then(|r| r.edns.as_ref()) {
            assert_eq!(e.flags().dnssec_ok, asked.flags().dnssec_ok, "DO copied");
        }
    }
    if req.as_ref().is_some_and(|r| r.edns.is_none()) {
        assert!(m.edns.is_none(), "an OPT to a client that sent none");
    }
    match proto {
        Proto::Tcp | Proto::Dot | Proto::Doh | Proto::Doq => {
            assert!(!m.metadata.truncation, "TC over a stream")
        }
        Proto::Udp => {
            let limit = match req.as_ref().and_then(|r| r.edns.as_ref()) {
                Some(e) => e.max_payload().clamp(512, EDNS_PAYLOAD),
                None => 512,
            };
            assert!(
                reply.len() <= usize::from(limit),
                "{} bytes over UDP, the client's limit is {limit}",
                reply.len()
            );
        }
    }
}
