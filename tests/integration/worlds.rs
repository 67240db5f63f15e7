//! Small ICANN-like worlds (root → com/net/org → leaves) for the fault, acceptance,
//! resolution and address-policy tests, an altroot with only a hints root in front
//! of them, and the assertions those tests share.

use std::net::IpAddr;
use std::time::{Duration, Instant};

use hickory_proto::op::{Message, ResponseCode};
use hickory_proto::rr::RecordType;

use crate::harness::*;
use crate::world::{Behaviour, Spec, World, spec};

pub const ROOT: u8 = 1;
pub const COM: u8 = 2;
pub const NET: u8 = 3;
pub const ORG: u8 = 4;
/// `ns.good.net.`: serves good.net and the good copy of pair.com.
pub const GOOD: u8 = 5;
/// The faulty server that alone serves lone.com.
pub const BAD_LONE: u8 = 10;
/// The faulty server that serves pair.com beside the good one.
pub const BAD_PAIR: u8 = 11;

/// The good server's address for www.pair.com.
pub const GOOD_A: &str = "203.0.113.1";
/// The faulty servers' address for www.lone.com and www.pair.com: the good server
/// never gives it, so a client that sees it for pair.com got the faulty server's data.
pub const BAD_A: &str = "198.51.100.66";

/// The configured `query-timeout`, and how late a failure may come: the timeout
/// plus a second of scheduling margin.
pub const QUERY_TIMEOUT: Duration = Duration::from_secs(3);
pub const IN_TIME: Duration = Duration::from_secs(4);

pub fn ip(b: [u8; 3], h: u8) -> IpAddr {
    World::ip(b, h)
}

/// The root zone: com, net and org, each on its own server `ns.nic.<tld>.`.
pub fn root_spec(b: [u8; 3]) -> Spec {
    let mut z = format!(
        "@ SOA a.root-servers.net. nstld.example. 1 1800 900 604800 86400
@ NS a.root-servers.net.
a.root-servers.net. A {}
",
        ip(b, ROOT)
    );
    for (tld, h) in [("com", COM), ("net", NET), ("org", ORG)] {
        z.push_str(&format!(
            "{tld}. NS ns.nic.{tld}.\nns.nic.{tld}. A {}\n",
            ip(b, h)
        ));
    }
    spec("root", ip(b, ROOT), &[(".", &z)], Behaviour::Normal)
}

/// A TLD server (`com`, `net` or `org`) with `body` added to its zone.
pub fn tld_spec(b: [u8; 3], tld: &'static str, body: &str) -> Spec {
    let h = match tld {
        "com" => COM,
        "net" => NET,
        "org" => ORG,
        _ => unreachable!(),
    };
    let z = format!(
        "@ SOA ns.nic.{tld}. h.example. 1 1800 900 604800 900
@ NS ns.nic.{tld}.
ns.nic.{tld}. A {}
{body}",
        ip(b, h)
    );
    spec(
        tld,
        ip(b, h),
        &[(&format!("{tld}."), &z)],
        Behaviour::Normal,
    )
}

/// Leaf zone text: SOA (TTL 300, MINIMUM 60), apex NS `ns1.<origin>`, then `body`.
pub fn leaf_zone(origin: &str, body: &str) -> String {
    format!("@ SOA ns1.{origin} h.example. 1 1 1 1 60\n@ NS ns1.{origin}\n{body}")
}

/// A server holding leaf zones, each given as (origin, body).
pub fn leaf(name: &'static str, ip: IpAddr, zones: &[(&str, &str)], b: Behaviour) -> Spec {
    let texts: Vec<(String, String)> = zones
        .iter()
        .map(|(o, body)| (o.to_string(), leaf_zone(o, body)))
        .collect();
    let refs: Vec<(&str, &str)> = texts
        .iter()
        .map(|(o, t)| (o.as_str(), t.as_str()))
        .collect();
    spec(name, ip, &refs, b)
}

/// Root, com, net (with good.net on [`GOOD`]) and org, plus `com` and `net` bodies.
pub fn base(b: [u8; 3], com: &str, net: &str) -> Vec<Spec> {
    vec![
        root_spec(b),
        tld_spec(b, "com", com),
        tld_spec(
            b,
            "net",
            &format!("good NS ns.good\nns.good A {}\n{net}", ip(b, GOOD)),
        ),
        tld_spec(b, "org", ""),
    ]
}

/// The good server: good.net (`www.good.net. A 203.0.113.2`) plus `extra` zones.
pub fn good_spec(b: [u8; 3], extra: &[(&str, &str)]) -> Spec {
    let ns = format!("ns A {}\nwww A 203.0.113.2", ip(b, GOOD));
    let mut zones = vec![("good.net.", ns.as_str())];
    zones.extend_from_slice(extra);
    leaf("good", ip(b, GOOD), &zones, Behaviour::Normal)
}

/// The fault world for one behaviour: `lone.com` is served only by a server with
/// that behaviour (`bad-lone`); `pair.com` by another one (`bad-pair`, glued, so it
/// is the only server known without a lookup and is asked first) and by the good
/// server (`ns.good.net.`, glueless). Both faulty servers hold `www A` [`BAD_A`]
/// and `www AAAA 2001:db8::66`; the good copy of pair.com holds `www A` [`GOOD_A`]
/// and `www AAAA 2001:db8::1`.
pub fn fault_world(behaviour: Behaviour) -> impl Fn([u8; 3]) -> Vec<Spec> {
    move |b| {
        let com = format!(
            "lone NS ns1.lone\nns1.lone A {}\npair NS ns1.pair\nns1.pair A {}\npair NS ns.good.net.",
            ip(b, BAD_LONE),
            ip(b, BAD_PAIR)
        );
        let bad = format!("www A {BAD_A}\nwww AAAA 2001:db8::66");
        let good = format!("www A {GOOD_A}\nwww AAAA 2001:db8::1");
        let mut v = base(b, &com, "");
        v.push(good_spec(b, &[("pair.com.", &good)]));
        v.push(leaf(
            "bad-lone",
            ip(b, BAD_LONE),
            &[("lone.com.", &bad)],
            behaviour,
        ));
        v.push(leaf(
            "bad-pair",
            ip(b, BAD_PAIR),
            &[("pair.com.", &bad)],
            behaviour,
        ));
        v
    }
}

/// A config whose only root (`icann`) iterates from the world's root;
/// `root_keys` is added to the `[[root]]` table, `tables` after it.
pub fn hints_config(w: &World, root_keys: &str, tables: &str) -> String {
    format!(
        "[server]
listen = [\"127.0.0.1:0\"]
query-timeout = \"3s\"

{icann}{root_keys}
{tables}
",
        icann = icann_root(w)
    )
}

/// Starts the world and an altroot whose only root iterates from its root.
pub async fn start(build: impl Fn([u8; 3]) -> Vec<Spec>) -> (World, Altroot) {
    start_cfg(build, "", "").await
}

/// As [`start`], with extra `[[root]]` keys and extra tables (see [`hints_config`]).
pub async fn start_cfg(
    build: impl Fn([u8; 3]) -> Vec<Spec>,
    root_keys: &str,
    tables: &str,
) -> (World, Altroot) {
    let w = World::start(build).await;
    let a = Altroot::start(
        &hints_config(&w, root_keys, tables),
        &[("hints.txt", hints(&w))],
    )
    .await;
    (w, a)
}

/// Asks `name`/`qtype` and returns the response and how long it took.
pub async fn timed(a: &Altroot, name: &str, qtype: RecordType) -> (Message, Duration) {
    let t = Instant::now();
    let m = a.query(name, qtype).await;
    (m, t.elapsed())
}

/// A SERVFAIL with resolver flags, within `query-timeout` (plus margin).
pub fn assert_servfail_in_time(m: &Message, took: Duration) {
    assert_eq!(
        m.metadata.response_code,
        ResponseCode::ServFail,
        "{:?}",
        lines(&m.answers)
    );
    assert_resolver_flags(m);
    assert!(
        took < IN_TIME,
        "SERVFAIL after {took:?}, query-timeout is {QUERY_TIMEOUT:?}"
    );
}

/// NOERROR with resolver flags and exactly these answer lines, within time.
pub fn assert_answer(m: &Message, took: Duration, want: &[&str]) {
    assert_eq!(
        (m.metadata.response_code, lines(&m.answers)),
        (
            ResponseCode::NoError,
            want.iter().map(|s| s.to_string()).collect()
        )
    );
    assert_resolver_flags(m);
    assert!(took < IN_TIME, "answered after {took:?}");
}

/// No record of the message (any section) carries `addr`.
pub fn assert_never(m: &Message, addr: &str) {
    let all = [&m.answers, &m.authorities, &m.additionals];
    for r in all.into_iter().flatten() {
        assert!(
            !r.data.to_string().contains(addr),
            "{addr} reached the client: {} {} {}",
            r.name,
            r.record_type(),
            r.data
        );
    }
}

/// The good server's answer for www.pair.com.
pub fn good_pair() -> Vec<String> {
    vec![format!("www.pair.com. 300 A {GOOD_A}")]
}

/// After a fault: www.pair.com still gets the good answer (from the cache or not),
/// www.good.net resolves, and the faulty servers' addresses never reach the client.
pub async fn assert_nothing_wrong_cached(a: &Altroot) {
    let (m, took) = timed(a, "www.pair.com.", RecordType::A).await;
    assert_addrs(&m, took, &[GOOD_A]);
    let (m, took) = timed(a, "www.good.net.", RecordType::A).await;
    assert_addrs(&m, took, &["203.0.113.2"]);
    let (m, took) = timed(a, "www.pair.com.", RecordType::AAAA).await;
    assert_addrs(&m, took, &["2001:db8::1"]);
}

/// NOERROR with resolver flags whose answer holds exactly these addresses (any
/// TTL: the answer may come from the cache), within time.
pub fn assert_addrs(m: &Message, took: Duration, want: &[&str]) {
    let want: Vec<IpAddr> = want.iter().map(|a| a.parse().unwrap()).collect();
    assert_eq!(
        (m.metadata.response_code, addrs(m)),
        (ResponseCode::NoError, want),
        "{:?}",
        lines(&m.answers)
    );
    assert_resolver_flags(m);
    assert!(took < IN_TIME, "answered after {took:?}");
}

#[cfg(test)]
mod tests {
    use super::*;
    use hickory_proto::op::Edns;
    use hickory_proto::rr::rdata::opt::EdnsOption;

    // ede() reads what an RFC 8914 option looks like on the wire.
    #[test]
    fn ede_reads_an_extended_dns_error_from_the_wire() {
        let mut m = make_query("x.example.", RecordType::A, Some(1232));
        let mut e = Edns::new();
        let mut data = 22u16.to_be_bytes().to_vec();
        data.extend_from_slice(b"timeout: 192.0.2.1 did not answer");
        e.options_mut().insert(EdnsOption::Unknown(15, data));
        m.set_edns(e);
        let back = Message::from_vec(&m.to_vec().unwrap()).unwrap();
        assert_eq!(
            ede(&back),
            Some((22, "timeout: 192.0.2.1 did not answer".to_string()))
        );
        assert_ede(&back, &["timeout", "bogus"]);
        assert!(std::panic::catch_unwind(|| assert_ede(&back, &["lame"])).is_err());
        assert_eq!(ede(&make_query("x.", RecordType::A, Some(1232))), None);
    }
}
