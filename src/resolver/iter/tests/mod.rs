//! The machine stepped by hand: no sockets, no clock, hand-built replies. Each test
//! plays the driver's part — looks at the step, feeds what the "server" said — and
//! checks what the machine asks next and what it would cache.

use std::net::{IpAddr, SocketAddr};

use hickory_proto::op::{Message, MessageType, OpCode, Query, ResponseCode};
use hickory_proto::rr::rdata::{A, CNAME, NS, SOA};
use hickory_proto::rr::{Name, RData, Record, RecordType};

use super::*;
use crate::config::{CacheConfig, LimitsConfig};
use crate::resolver::cache::{Cache, Trust};
use crate::resolver::failure::{Failure, ServerError};
use crate::resolver::infra::Infra;
use crate::resolver::policy::AddressPolicy;
use crate::zones::hints::RootServer;

fn n(s: &str) -> Name {
    Name::from_ascii(s).unwrap()
}

/// A fresh resolution of `name` A, with QNAME minimisation on or off.
fn asking(name: &str, qmin: bool) -> Iteration {
    Iteration::new(&n(name), RecordType::A, Mode::Answer, 0, qmin)
}

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

fn rec(owner: &str, data: RData) -> Record {
    Record::from_rdata(n(owner), 300, data)
}

fn a(owner: &str, addr: &str) -> Record {
    let IpAddr::V4(v4) = ip(addr) else { panic!() };
    rec(owner, RData::A(A(v4)))
}

fn ns(owner: &str, target: &str) -> Record {
    rec(owner, RData::NS(NS(n(target))))
}

fn soa(owner: &str) -> Record {
    rec(
        owner,
        RData::SOA(SOA::new(n(owner), n(owner), 1, 1, 1, 1, 60)),
    )
}

/// A reply to `q` with the given sections.
fn reply(
    q: &Query,
    aa: bool,
    rcode: ResponseCode,
    answers: &[Record],
    auth: &[Record],
    add: &[Record],
) -> Message {
    let mut m = Message::new(1, MessageType::Response, OpCode::Query);
    m.add_query(q.clone());
    m.metadata.authoritative = aa;
    m.metadata.response_code = rcode;
    m.add_answers(answers.iter().cloned());
    m.add_authorities(auth.iter().cloned());
    m.add_additionals(add.iter().cloned());
    m
}

/// Everything a View borrows, owned by the test.
struct World {
    kind: Kind,
    params: Params,
    cache: Cache,
    infra: Infra,
    policy: AddressPolicy,
    limits: LimitsConfig,
}

impl World {
    fn hints() -> World {
        World::with(Kind::Hints(vec![RootServer {
            name: n("a.root."),
            addrs: vec![ip("192.0.2.1")],
        }]))
    }

    fn with(kind: Kind) -> World {
        World {
            kind,
            params: Params {
                port: 53,
                root_port: 53,
                qmin: true,
                ipv6: false,
                allow_loopback: false,
            },
            cache: Cache::standalone(&CacheConfig::default()),
            infra: Infra::new(std::time::Duration::from_millis(800)),
            policy: AddressPolicy::new(
                crate::config::ServerConfig::default().upstream_deny,
                vec![],
            ),
            limits: LimitsConfig::default(),
        }
    }

    fn view(&self) -> View<'_> {
        View {
            kind: &self.kind,
            params: &self.params,
            zones: None,
            cache: &self.cache,
            infra: &self.infra,
            policy: &self.policy,
            limits: &self.limits,
            now: 1_000_000,
            foreign: &|_| false,
        }
    }
}

/// The step must be a Send: (server, question).
fn sent(step: Step) -> (SocketAddr, Query, bool) {
    match step {
        Step::Send {
            server, query, rd, ..
        } => (server, query, rd),
        other => panic!("expected a Send, got {other:?}"),
    }
}

fn qstr(q: &Query) -> String {
    format!("{} {}", q.name(), q.query_type())
}

// root → com → example.com with QNAME minimisation: each server sees one more
// label, the leaf the real question; referrals and the answer are written for the
// cache with their trust; the answer is one link, NOERROR, from the network.
#[test]
fn iterates_down_with_minimised_questions() {
    let w = World::hints();
    let mut it = asking("www.example.com.", true);
    let (srv, q, rd) = sent(it.next(&w.view()));
    assert_eq!(
        (srv.ip(), qstr(&q), rd),
        (ip("192.0.2.1"), "com. NS".into(), false)
    );
    it.on_reply(
        Ok(reply(
            &q,
            false,
            ResponseCode::NoError,
            &[],
            &[ns("com.", "a.gtld.com.")],
            &[a("a.gtld.com.", "192.0.2.2")],
        )),
        &w.view(),
    );
    let writes = it.take_writes();
    assert!(
        writes
            .iter()
            .any(|x| matches!(x, Write::Delegation(z, _, 300) if *z == n("com.")))
    );
    assert!(
        writes
            .iter()
            .any(|x| matches!(x, Write::Rrset(s, Trust::Glue) if s[0].name == n("a.gtld.com.")))
    );
    let (srv, q, _) = sent(it.next(&w.view()));
    assert_eq!(
        (srv.ip(), qstr(&q)),
        (ip("192.0.2.2"), "example.com. NS".into())
    );
    it.on_reply(
        Ok(reply(
            &q,
            false,
            ResponseCode::NoError,
            &[],
            &[ns("example.com.", "ns1.example.com.")],
            &[a("ns1.example.com.", "192.0.2.3")],
        )),
        &w.view(),
    );
    let (srv, q, _) = sent(it.next(&w.view()));
    assert_eq!(
        (srv.ip(), qstr(&q)),
        (ip("192.0.2.3"), "www.example.com. A".into())
    );
    it.on_reply(
        Ok(reply(
            &q,
            true,
            ResponseCode::NoError,
            &[a("www.example.com.", "203.0.113.1")],
            &[],
            &[],
        )),
        &w.view(),
    );
    match it.next(&w.view()) {
        Step::Done(o) => {
            assert_eq!(o.rcode, ResponseCode::NoError);
            assert_eq!(o.records, vec![a("www.example.com.", "203.0.113.1")]);
            assert_eq!(o.next, None);
            assert_eq!(o.source, Source::Network);
        }
        other => panic!("{other:?}"),
    }
    assert!(
        it.take_writes()
            .iter()
            .any(|x| matches!(x, Write::Rrset(_, Trust::Answer)))
    );
}

// A referral without glue: the machine asks for the NS name's addresses, then asks
// the address it was given.
#[test]
fn glueless_referral_asks_for_addresses_then_uses_them() {
    let w = World::hints();
    let mut it = asking("www.example.com.", false);
    let (_, q, _) = sent(it.next(&w.view()));
    assert_eq!(
        qstr(&q),
        "www.example.com. A",
        "minimisation off: the real question"
    );
    it.on_reply(
        Ok(reply(
            &q,
            false,
            ResponseCode::NoError,
            &[],
            &[ns("example.com.", "ns.other.net.")],
            &[],
        )),
        &w.view(),
    );
    match it.next(&w.view()) {
        Step::NeedAddresses { name } => assert_eq!(name, n("ns.other.net.")),
        other => panic!("{other:?}"),
    }
    it.on_addresses(Ok(vec![ip("192.0.2.9")]), &w.view());
    let (srv, _, _) = sent(it.next(&w.view()));
    assert_eq!(srv.ip(), ip("192.0.2.9"));
}

// A lame server (REFUSED) is skipped for the next one; when all fail, the failure
// names the last reason.
#[test]
fn lame_servers_are_skipped_then_the_failure_says_why() {
    let w = World::hints();
    let mut it = asking("www.example.com.", false);
    let (_, q, _) = sent(it.next(&w.view()));
    let glue = [
        a("ns1.example.com.", "192.0.2.11"),
        a("ns2.example.com.", "192.0.2.12"),
    ];
    let nsset = [
        ns("example.com.", "ns1.example.com."),
        ns("example.com.", "ns2.example.com."),
    ];
    it.on_reply(
        Ok(reply(&q, false, ResponseCode::NoError, &[], &nsset, &glue)),
        &w.view(),
    );
    let (first, q, _) = sent(it.next(&w.view()));
    it.on_reply(
        Ok(reply(&q, false, ResponseCode::Refused, &[], &[], &[])),
        &w.view(),
    );
    let (second, _, _) = sent(it.next(&w.view()));
    assert_ne!(first, second);
    it.on_reply(Err(ServerError::Timeout), &w.view());
    match it.next(&w.view()) {
        Step::Fail(Failure::Timeout { zone }) => assert_eq!(zone, n("example.com.")),
        other => panic!("{other:?}"),
    }
}

// Relaxed minimisation (RFC 9156 §2.3): when every server fails the minimised
// question, the real one is asked of the same servers.
#[test]
fn minimised_failures_fall_back_to_the_full_name() {
    let w = World::hints();
    let mut it = asking("www.example.com.", true);
    let (srv, q, _) = sent(it.next(&w.view()));
    assert_eq!(qstr(&q), "com. NS");
    it.on_reply(
        Ok(reply(&q, false, ResponseCode::ServFail, &[], &[], &[])),
        &w.view(),
    );
    let (again, q, _) = sent(it.next(&w.view()));
    assert_eq!((again, qstr(&q)), (srv, "www.example.com. A".into()));
}

mod answers;
