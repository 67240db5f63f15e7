//! What the machine makes of answers (negative ones and their proof of authority,
//! CNAMEs, a recursive server's reply) and of its settings (denied addresses,
//! forwarders, the cache, the root servers' own port).

use super::*;

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
