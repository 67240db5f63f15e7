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

/// The machine asked `nope.example.com.` at the com servers (two of them): the
/// step asking the first.
fn at_com(it: &mut Iteration, w: &World) -> Query {
    let (_, q, _) = sent(it.next(&w.view()));
    let nsset = [ns("com.", "a.gtld.com."), ns("com.", "b.gtld.com.")];
    let glue = [a("a.gtld.com.", "192.0.2.2"), a("b.gtld.com.", "192.0.2.4")];
    it.on_reply(
        Ok(reply(&q, false, ResponseCode::NoError, &[], &nsset, &glue)),
        &w.view(),
    );
    let (_, q, _) = sent(it.next(&w.view()));
    q
}

// Not believed: NXDOMAIN without AA and without the zone's SOA; the next server is
// asked. NXDOMAIN with AA is cached negative with the zone's SOA.
#[test]
fn negative_answers_need_aa_or_the_zones_soa_and_are_written_with_it() {
    let w = World::hints();
    let mut it = asking("nope.example.com.", false);
    let q = at_com(&mut it, &w);
    it.on_reply(
        Ok(reply(&q, false, ResponseCode::NXDomain, &[], &[], &[])),
        &w.view(),
    );
    let (_, q, _) = sent(it.next(&w.view()));
    it.on_reply(
        Ok(reply(
            &q,
            true,
            ResponseCode::NXDomain,
            &[],
            &[soa("com.")],
            &[],
        )),
        &w.view(),
    );
    match it.next(&w.view()) {
        Step::Done(o) => {
            assert_eq!(o.rcode, ResponseCode::NXDomain);
            assert_eq!(
                o.soa.map(|s| s.ttl),
                Some(60),
                "negative TTL: min(TTL, MINIMUM)"
            );
        }
        other => panic!("{other:?}"),
    }
    assert!(
        it.take_writes().iter().any(|x| matches!(
            x,
            Write::Negative(name, None, s, _, Trust::Answer)
                if *name == LowerName::new(&n("nope.example.com.")) && s.name == n("com.")
        )),
        "the NXDOMAIN is written for the name, with the zone's SOA"
    );
}

// Believed as Unbound and Knot Resolver believe it: NXDOMAIN without AA but with
// the zone's SOA, ranked below authoritative data.
#[test]
fn a_negative_answer_without_aa_but_with_the_soa_is_taken_below_authoritative() {
    let w = World::hints();
    let mut it = asking("nope.example.com.", false);
    let q = at_com(&mut it, &w);
    it.on_reply(
        Ok(reply(
            &q,
            false,
            ResponseCode::NXDomain,
            &[],
            &[soa("com.")],
            &[],
        )),
        &w.view(),
    );
    match it.next(&w.view()) {
        Step::Done(o) => assert_eq!(o.rcode, ResponseCode::NXDomain),
        other => panic!("{other:?}"),
    }
    assert!(
        it.take_writes()
            .iter()
            .any(|x| matches!(x, Write::Negative(_, None, _, _, Trust::NonAuth))),
        "written below authoritative data"
    );
}

// A recursive server's view (RA set, AA clear) waits for the other servers: their
// authoritative answer wins; when none does better, the kept reply is taken.
#[test]
fn a_recursive_servers_answer_is_the_last_resort() {
    let w = World::hints();
    let rec_reply = |q: &Query, rcode| {
        let mut m = reply(q, false, rcode, &[], &[soa("com.")], &[]);
        m.metadata.recursion_available = true;
        m
    };
    // The other server answers: its answer is taken.
    let mut it = asking("nope.example.com.", false);
    let q = at_com(&mut it, &w);
    it.on_reply(Ok(rec_reply(&q, ResponseCode::NXDomain)), &w.view());
    let (_, q, _) = sent(it.next(&w.view()));
    it.on_reply(
        Ok(reply(
            &q,
            true,
            ResponseCode::NoError,
            &[a("nope.example.com.", "198.51.100.1")],
            &[],
            &[],
        )),
        &w.view(),
    );
    match it.next(&w.view()) {
        Step::Done(o) => assert_eq!(o.rcode, ResponseCode::NoError),
        other => panic!("{other:?}"),
    }
    // The other server is silent: the recursive server's NXDOMAIN is taken.
    let mut it = asking("nope.example.com.", false);
    let q = at_com(&mut it, &w);
    it.on_reply(Ok(rec_reply(&q, ResponseCode::NXDomain)), &w.view());
    let _ = sent(it.next(&w.view()));
    it.on_reply(Err(ServerError::Timeout), &w.view());
    match it.next(&w.view()) {
        Step::Done(o) => assert_eq!(o.rcode, ResponseCode::NXDomain),
        other => panic!("{other:?}"),
    }
}

// A CNAME answer is one link: the machine stops and names the target for the driver
// to route.
#[test]
fn a_cname_is_one_link_with_the_target_to_follow() {
    let w = World::hints();
    let mut it = asking("alias.example.", false);
    let (_, q, _) = sent(it.next(&w.view()));
    let c = rec("alias.example.", RData::CNAME(CNAME(n("www.other."))));
    it.on_reply(
        Ok(reply(
            &q,
            true,
            ResponseCode::NoError,
            &[c.clone(), a("www.other.", "198.51.100.1")],
            &[],
            &[],
        )),
        &w.view(),
    );
    match it.next(&w.view()) {
        Step::Done(o) => {
            assert_eq!(
                o.records,
                vec![c],
                "the later link is not taken from this server"
            );
            assert_eq!(o.next, Some(n("www.other.")));
        }
        other => panic!("{other:?}"),
    }
}

// The address policy is applied before anything is sent: denied glue gives a
// "denied" failure without a packet.
#[test]
fn denied_addresses_are_never_sent_to() {
    let w = World::with(Kind::Hints(vec![RootServer {
        name: n("a.root."),
        addrs: vec![ip("127.0.0.1"), ip("224.0.0.1")],
    }]));
    let mut it = asking("www.example.", true);
    match it.next(&w.view()) {
        Step::Fail(Failure::Denied { why, .. }) => assert!(why.contains("upstream-deny"), "{why}"),
        other => panic!("{other:?}"),
    }
}

// Forwarders are asked in turn with RD set; a SERVFAIL moves on to the next.
#[test]
fn forwarders_in_turn() {
    let ups: Vec<SocketAddr> = vec![
        "192.0.2.7:53".parse().unwrap(),
        "192.0.2.8:53".parse().unwrap(),
    ];
    let w = World::with(Kind::Forward(
        ups.iter().map(|a| Forwarder::plain(*a)).collect(),
    ));
    let mut it = asking("www.example.", true);
    let (s1, q, rd) = sent(it.next(&w.view()));
    assert_eq!((s1, rd, qstr(&q)), (ups[0], true, "www.example. A".into()));
    it.on_reply(
        Ok(reply(&q, false, ResponseCode::ServFail, &[], &[], &[])),
        &w.view(),
    );
    let (s2, q, _) = sent(it.next(&w.view()));
    assert_eq!(s2, ups[1]);
    it.on_reply(
        Ok(reply(
            &q,
            false,
            ResponseCode::NoError,
            &[a("www.example.", "203.0.113.7")],
            &[],
            &[],
        )),
        &w.view(),
    );
    assert!(matches!(it.next(&w.view()), Step::Done(o) if o.records.len() == 1));
}

// A cached answer needs no step at all.
#[test]
fn a_cached_answer_is_done_at_once() {
    let w = World::hints();
    w.cache.put_rrset(
        vec![a("www.example.", "203.0.113.8")],
        Trust::Answer,
        1_000_000,
    );
    let mut it = asking("www.example.", true);
    match it.next(&w.view()) {
        Step::Done(o) => assert_eq!(o.source, Source::Cache),
        other => panic!("{other:?}"),
    }
}

// `root-port` (issue 17): the root zone's servers — the hints, then the `. NS` set
// a priming reply gives — are asked on `root_port`; the TLD servers they refer to
// on `port`, even one at the same address as a root server.
#[test]
fn root_servers_on_root_port_the_servers_below_on_port() {
    let mut w = World::hints();
    w.params.root_port = 5349;
    let mut it = asking("www.example.com.", true);
    let (srv, q, _) = sent(it.next(&w.view()));
    assert_eq!(srv, "192.0.2.1:5349".parse().unwrap(), "{}", qstr(&q));
    it.on_reply(
        Ok(reply(
            &q,
            false,
            ResponseCode::NoError,
            &[],
            &[ns("com.", "a.gtld.com.")],
            &[a("a.gtld.com.", "192.0.2.1")],
        )),
        &w.view(),
    );
    let (srv, q, _) = sent(it.next(&w.view()));
    assert_eq!(
        (srv, qstr(&q)),
        ("192.0.2.1:53".parse().unwrap(), "example.com. NS".into())
    );
    // Primed: the `. NS` set the root servers gave (cached), on root_port too.
    w.cache
        .put_rrset(vec![ns(".", "b.root.")], Trust::Answer, 1_000_000);
    w.cache
        .put_rrset(vec![a("b.root.", "192.0.2.9")], Trust::Glue, 1_000_000);
    let mut it = asking("www.example.com.", true);
    let (srv, _, _) = sent(it.next(&w.view()));
    assert_eq!(srv, "192.0.2.9:5349".parse().unwrap());
}
