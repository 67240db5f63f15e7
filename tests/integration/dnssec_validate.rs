//! DNSSEC validation end to end (issue 15): NSD serves the signed fixture world of
//! `tests/fixtures/dnssec/` (signed by BIND's and ldns's signers, never by altroot),
//! and altroot iterates it from the root with the world's own DS as trust anchor.
//! Asserted on raw replies: rcode, AD, RRSIGs and proofs, EDE codes.
//!
//! The fixtures' servers are all 192.0.2.x; the copies NSD serves have the address
//! records of the `ns.` names (glue, or name-server addresses altroot never
//! validates) moved to a loopback block, so every signed answer stays as signed.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use hickory_proto::op::{Edns, Message, ResponseCode};
use hickory_proto::rr::{RData, Record, RecordType};

use crate::harness::*;
use crate::system::{Daemon, free_port, need};

const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/dnssec");

/// Zone files of the fixture world NSD serves, by origin.
const ZONES: &[(&str, &str)] = &[
    (".", "root.zone"),
    ("tld.", "tld.zone"),
    ("leaf.tld.", "leaf.tld.zone"),
    ("nsec3.", "nsec3.zone"),
    ("optout.", "optout.zone"),
    ("iter.", "iter.zone"),
    ("expired.", "expired.zone"),
    ("future.", "future.zone"),
    ("ed448.", "ed448.zone"),
    ("rollover.", "rollover.zone"),
    ("wrongds.", "wrongds.zone"),
];

/// An unsigned zone below the signed tld. (`nods.tld.` has no DS there).
const NODS: &str = "$TTL 300
nods.tld. SOA ns.nods.tld. h.nods.tld. 1 3600 600 86400 300
nods.tld. NS ns.nods.tld.
ns.nods.tld. A 192.0.2.55
www.nods.tld. A 192.0.2.99
";

struct SignedWorld {
    nsd: Option<Daemon>,
    /// NSD's first address (the root's server).
    nsd_addr: SocketAddr,
    _dir: tempfile::TempDir,
    altroot: Altroot,
}

/// The world on a random loopback block, NSD on every fixture server address,
/// and an altroot whose `icann` root iterates it with `extra` root keys.
async fn start(extra: &str) -> SignedWorld {
    start_with(extra, &[]).await
}

/// As [`start`], with more files beside the config (`extra` may add roots).
async fn start_with(extra: &str, more: &[(&str, String)]) -> SignedWorld {
    let nsd = need("nsd", "nsd");
    let block = [127, 100 + rand::random::<u8>() % 100, rand::random::<u8>()];
    let ip = |h: u8| Ipv4Addr::new(block[0], block[1], block[2], h);
    let port = free_port();
    let dir = tempfile::tempdir().unwrap();
    let moved = |text: &str| -> String {
        text.lines()
            .map(|l| {
                let f: Vec<&str> = l.split_whitespace().collect();
                match f.as_slice() {
                    [owner, .., "A", addr] if owner.starts_with("ns.") => {
                        let host: u8 = addr.rsplit('.').next().unwrap().parse().unwrap();
                        l.replace(addr, &ip(host).to_string())
                    }
                    _ => l.to_string(),
                }
            })
            .collect::<Vec<_>>()
            .join("\n")
            + "\n"
    };
    let mut conf = format!(
        "server:\n    port: {port}\n    do-ip6: no\n    server-count: 1\n    username: \"\"\n    chroot: \"\"\n    zonesdir: \"{d}\"\n    pidfile: \"{d}/nsd.pid\"\n    database: \"\"\n    xfrdfile: \"{d}/xfrd.state\"\n    zonelistfile: \"{d}/zone.list\"\n    verbosity: 1\n    rrl-ratelimit: 0\n    rrl-whitelist-ratelimit: 0\n",
        d = dir.path().display()
    );
    for h in 53..=58 {
        conf.push_str(&format!("    ip-address: {}\n", ip(h)));
    }
    conf.push_str("remote-control:\n    control-enable: no\n");
    let mut zones: Vec<(String, String)> = ZONES
        .iter()
        .map(|(o, f)| {
            let text = std::fs::read_to_string(Path::new(FIXTURES).join(f)).unwrap();
            (o.to_string(), moved(&text))
        })
        .collect();
    zones.push(("nods.tld.".into(), moved(NODS)));
    for (i, (origin, text)) in zones.iter().enumerate() {
        let file = format!("z{i}.zone");
        std::fs::write(dir.path().join(&file), text).unwrap();
        conf.push_str(&format!(
            "zone:\n    name: \"{origin}\"\n    zonefile: \"{file}\"\n"
        ));
    }
    let conf_path = dir.path().join("nsd.conf");
    std::fs::write(&conf_path, conf).unwrap();
    let mut cmd = Command::new(nsd);
    cmd.arg("-d").arg("-c").arg(&conf_path);
    let nsd = Daemon::spawn(cmd, "nsd");
    let server = SocketAddr::new(IpAddr::V4(ip(53)), port);
    let t = Instant::now();
    loop {
        let q = make_query(".", RecordType::SOA, Some(1232));
        if let Some(m) = send_udp_from("127.0.0.1:0".parse().unwrap(), server, &q).await
            && m.metadata.response_code == ResponseCode::NoError
        {
            break;
        }
        assert!(
            t.elapsed() < Duration::from_secs(20),
            "NSD did not start: {}",
            nsd.output()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let anchor = std::fs::read_to_string(Path::new(FIXTURES).join("anchor.ds")).unwrap();
    let extra = extra.replace("{nsd}", &server.to_string());
    let config = format!(
        "[server]
listen = [\"127.0.0.1:0\"]
query-timeout = \"4s\"

[[root]]
name = \"icann\"
hints = \"hints.txt\"
port = {port}
allow-loopback-upstream = true
trust-anchors = [\"anchor.ds\"]
{extra}
"
    );
    let mut files = vec![
        (
            "hints.txt",
            format!(". 3600 NS ns.\nns. 3600 A {}\n", ip(53)),
        ),
        ("anchor.ds", anchor),
        // The root zone as NSD serves it, for a root copy (`copy = "copy.zone"`).
        ("copy.zone", zones[0].1.clone()),
    ];
    files.extend(more.iter().cloned());
    let altroot = Altroot::start(&config, &files).await;
    SignedWorld {
        nsd: Some(nsd),
        nsd_addr: server,
        _dir: dir,
        altroot,
    }
}

/// A query with EDNS; `dnssec_ok` sets DO, `ad` the AD bit, `cd` the CD bit.
fn ask(name: &str, qtype: RecordType, dnssec_ok: bool, ad: bool, cd: bool) -> Message {
    let mut m = make_query(name, qtype, Some(1232));
    let mut e = Edns::new();
    e.set_max_payload(1232);
    e.set_dnssec_ok(dnssec_ok);
    m.set_edns(e);
    m.metadata.authentic_data = ad;
    m.metadata.checking_disabled = cd;
    m
}

fn types(records: &[Record]) -> Vec<RecordType> {
    records.iter().map(Record::record_type).collect()
}

fn a_of(m: &Message) -> Vec<String> {
    m.answers
        .iter()
        .filter_map(|r| match &r.data {
            RData::A(a) => Some(a.to_string()),
            _ => None,
        })
        .collect()
}

async fn send(w: &SignedWorld, m: &Message) -> Message {
    send_udp(w.altroot.addr, m).await
}

#[tokio::test]
async fn signed_answers_are_secure_and_ad_goes_to_clients_that_ask() {
    let w = start("").await;
    // Twice: from the network, then from the cache (and a third time, ready).
    for round in ["network", "cache", "ready"] {
        let m = send(&w, &ask("www.leaf.tld.", RecordType::A, true, false, false)).await;
        assert_eq!(
            m.metadata.response_code,
            ResponseCode::NoError,
            "{round}: {m:?}"
        );
        assert!(
            m.metadata.authentic_data,
            "{round}: AD for a DO client: {m:?}"
        );
        assert_eq!(
            types(&m.answers),
            [RecordType::A, RecordType::RRSIG],
            "{round}"
        );
        assert_eq!(a_of(&m), ["192.0.2.1"]);
    }
    // AD without DO: AD, no signatures. Neither: no AD (RFC 6840 §5.8).
    let m = send(&w, &ask("www.leaf.tld.", RecordType::A, false, true, false)).await;
    assert!(m.metadata.authentic_data, "{m:?}");
    assert_eq!(types(&m.answers), [RecordType::A]);
    let m = send(
        &w,
        &ask("www.leaf.tld.", RecordType::A, false, false, false),
    )
    .await;
    assert!(!m.metadata.authentic_data, "{m:?}");
    // NXDOMAIN and NODATA, proven by NSEC (leaf.tld.) and NSEC3 (nsec3.).
    for (name, qtype, rcode) in [
        ("a.b.c.nothere.tld.", RecordType::A, ResponseCode::NXDomain),
        ("www.leaf.tld.", RecordType::TXT, ResponseCode::NoError),
        ("nothere.nsec3.", RecordType::A, ResponseCode::NXDomain),
        ("www.nsec3.", RecordType::MX, ResponseCode::NoError),
    ] {
        let m = send(&w, &ask(name, qtype, true, false, false)).await;
        assert_eq!(m.metadata.response_code, rcode, "{name} {qtype}: {m:?}");
        assert!(m.answers.is_empty(), "{name}");
        assert!(m.metadata.authentic_data, "{name} {qtype}: proven: {m:?}");
        assert!(
            types(&m.authorities)
                .iter()
                .any(|t| matches!(t, RecordType::NSEC | RecordType::NSEC3)),
            "{name}: the proof goes to the client: {m:?}"
        );
    }
    // A wildcard answer (with the proof that no closer name exists), a CNAME
    // chain, an empty non-terminal's child, NSEC3 data, a zone with two KSKs.
    for (name, want) in [
        ("anything.leaf.tld.", "192.0.2.80"),
        ("alias.leaf.tld.", "192.0.2.1"),
        ("a.b.leaf.tld.", "192.0.2.2"),
        ("www.nsec3.", "192.0.2.8"),
        ("x.wild.nsec3.", "192.0.2.81"),
        ("www.rollover.", "192.0.2.7"),
    ] {
        let m = send(&w, &ask(name, RecordType::A, true, false, false)).await;
        assert_eq!(
            m.metadata.response_code,
            ResponseCode::NoError,
            "{name}: {m:?}"
        );
        assert_eq!(a_of(&m), [want], "{name}");
        assert!(m.metadata.authentic_data, "{name}: secure: {m:?}");
    }
    // A wildcard answer keeps its proof (the NSEC that no closer name exists) from
    // the cache and the ready store too: a validating client behind us needs it.
    for round in ["cache", "ready"] {
        let m = send(
            &w,
            &ask("anything.leaf.tld.", RecordType::A, true, false, false),
        )
        .await;
        assert!(m.metadata.authentic_data, "{round}: {m:?}");
        assert_eq!(
            types(&m.answers),
            [RecordType::A, RecordType::RRSIG],
            "{round}"
        );
        assert!(
            types(&m.authorities).contains(&RecordType::NSEC),
            "{round}: the wildcard's proof: {m:?}"
        );
    }
}

#[tokio::test]
async fn bogus_answers_are_servfail_with_the_failed_check() {
    let w = start("").await;
    // (name, the EDE codes that name the failure: RFC 8914)
    for (name, codes) in [
        ("www.wrongds.", &[6u16, 9][..]),
        ("www.expired.", &[7][..]),
        ("www.future.", &[8][..]),
    ] {
        let m = send(&w, &ask(name, RecordType::A, true, false, false)).await;
        assert_eq!(
            m.metadata.response_code,
            ResponseCode::ServFail,
            "{name}: {m:?}"
        );
        assert!(m.answers.is_empty());
        let (code, text) = ede(&m).unwrap_or_else(|| panic!("{name}: no EDE: {m:?}"));
        assert!(codes.contains(&code), "{name}: EDE {code} {text}");
        assert!(text.contains("dnssec"), "{name}: {text}");
        // CD: the data as the servers sent it, unvalidated, without AD.
        let m = send(&w, &ask(name, RecordType::A, true, false, true)).await;
        assert_eq!(
            m.metadata.response_code,
            ResponseCode::NoError,
            "{name} CD: {m:?}"
        );
        assert!(!a_of(&m).is_empty(), "{name} CD");
        assert!(!m.metadata.authentic_data && m.metadata.checking_disabled);
        // …which never reaches a client that wants validation.
        let m = send(&w, &ask(name, RecordType::A, true, false, false)).await;
        assert_eq!(
            m.metadata.response_code,
            ResponseCode::ServFail,
            "{name} after CD"
        );
    }
}

#[tokio::test]
async fn insecure_answers_come_without_ad() {
    let w = start("").await;
    for (name, want) in [
        // No DS at the delegation: unsigned below a signed parent (NSEC proof).
        ("www.nods.tld.", "192.0.2.99"),
        // Ed448 (algorithm 16) is not verified: the zone is insecure (RFC 8624).
        ("www.ed448.", "192.0.2.6"),
    ] {
        let m = send(&w, &ask(name, RecordType::A, true, true, false)).await;
        assert_eq!(
            m.metadata.response_code,
            ResponseCode::NoError,
            "{name}: {m:?}"
        );
        assert_eq!(a_of(&m), [want], "{name}");
        assert!(
            !m.metadata.authentic_data,
            "{name}: insecure, not AD: {m:?}"
        );
    }
    // NSEC3 with 200 iterations, above RFC 9276's limit: its data is signed and
    // secure, but what its NSEC3 records deny is only insecure (Unbound does the
    // same).
    let m = send(&w, &ask("www.iter.", RecordType::A, true, true, false)).await;
    assert_eq!(a_of(&m), ["192.0.2.10"]);
    assert!(m.metadata.authentic_data, "{m:?}");
    let m = send(&w, &ask("nothere.iter.", RecordType::A, true, true, false)).await;
    assert_eq!(m.metadata.response_code, ResponseCode::NXDomain, "{m:?}");
    assert!(!m.metadata.authentic_data, "{m:?}");
}

#[tokio::test]
async fn a_negative_trust_anchor_makes_a_bogus_zone_insecure() {
    let w = start("negative-trust-anchors = [\"wrongds\"]").await;
    let m = send(&w, &ask("www.wrongds.", RecordType::A, true, true, false)).await;
    assert_eq!(m.metadata.response_code, ResponseCode::NoError, "{m:?}");
    assert_eq!(a_of(&m), ["192.0.2.5"]);
    assert!(!m.metadata.authentic_data);
    // Everything else is still validated.
    let m = send(&w, &ask("www.expired.", RecordType::A, true, false, false)).await;
    assert_eq!(m.metadata.response_code, ResponseCode::ServFail);
    let m = send(&w, &ask("www.leaf.tld.", RecordType::A, true, false, false)).await;
    assert!(m.metadata.authentic_data);
}

// RFC 4035 and issue 15: a chain is secure only if every link is secure in its own
// root. A CNAME in an unvalidated alternate root pointing at signed ICANN-side data
// is not; the same data asked directly is.
#[tokio::test]
async fn a_chain_across_roots_is_secure_only_if_every_link_is() {
    let alt = "\n[[root]]\nname = \"alt\"\nzones = \"zones\"\n";
    let geek = "$TTL 3600
@ SOA ns.geek. host.geek. 1 3600 600 86400 120
@ NS ns.geek.
ns A 127.0.0.1
www CNAME www.leaf.tld.
"
    .to_string();
    let w = start_with(alt, &[("zones/geek.zone", geek)]).await;
    let m = send(&w, &ask("www.geek.", RecordType::A, true, true, false)).await;
    assert_eq!(m.metadata.response_code, ResponseCode::NoError, "{m:?}");
    assert_eq!(
        types(&m.answers),
        [RecordType::CNAME, RecordType::A, RecordType::RRSIG],
        "the CNAME from alt (unsigned), then the signed data: {m:?}"
    );
    assert!(
        !m.metadata.authentic_data,
        "one link is not validated: {m:?}"
    );
    let m = send(&w, &ask("www.leaf.tld.", RecordType::A, true, true, false)).await;
    assert!(m.metadata.authentic_data, "the signed link alone: {m:?}");
}

// A forward root validates too: its DS and DNSKEY RRsets come through its
// forwarder like its answers (NSD, authoritative for every zone of the world,
// stands in for the forwarder), and a wildcard answer's proof comes with it.
#[tokio::test]
async fn a_forward_root_validates_through_its_forwarder() {
    let fwd = "
[[root]]
name = \"fwd\"
forward = [\"{nsd}\"]
tlds = [\"tld\"]
allow-loopback-upstream = true
trust-anchors = [\"tld.ds\"]

[collisions]
pin = { tld = \"fwd\" }
";
    // Its anchor: the root's DS for tld. (a forward root's anchors lie inside the
    // TLDs it takes).
    let root = std::fs::read_to_string(Path::new(FIXTURES).join("root.zone")).unwrap();
    let ds: String = root
        .lines()
        .filter(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            f.first() == Some(&"tld.") && f.get(3) == Some(&"DS")
        })
        .map(|l| format!("{l}\n"))
        .collect();
    assert!(!ds.is_empty(), "the fixture root has a DS for tld.");
    let w = start_with(fwd, &[("tld.ds", ds)]).await;
    for round in ["network", "cache"] {
        for (name, want) in [
            ("www.leaf.tld.", "192.0.2.1"),
            ("anything.leaf.tld.", "192.0.2.80"),
        ] {
            let m = send(&w, &ask(name, RecordType::A, true, false, false)).await;
            assert_eq!(a_of(&m), [want], "{round} {name}: {m:?}");
            assert!(m.metadata.authentic_data, "{round} {name}: {m:?}");
        }
    }
    let m = send(&w, &ask("www.wrongds.", RecordType::A, true, false, false)).await;
    assert_eq!(
        m.metadata.response_code,
        ResponseCode::ServFail,
        "still the icann root's: {m:?}"
    );
}

// RFC 8198: once a validated NXDOMAIN proved a gap of the zone empty, other names
// in that gap are answered from the proof, secure, without the zone's servers
// (here: stopped); a name outside every proof held still needs them.
#[tokio::test]
async fn validated_nsec_proofs_answer_other_names_in_their_gap() {
    let mut w = start("").await;
    let m = send(&w, &ask("nothere.tld.", RecordType::A, true, false, false)).await;
    assert_eq!(m.metadata.response_code, ResponseCode::NXDomain, "{m:?}");
    assert!(m.metadata.authentic_data);
    // Stopped for good: NSD's server runs in a child process that outlives a killed
    // main process for a moment, so it is asked to stop (SIGTERM stops its
    // children) and then asked until it no longer answers.
    if let Some(mut nsd) = w.nsd.take() {
        nsd.signal(libc::SIGTERM);
        let _ = nsd.wait_exit();
    }
    let t = Instant::now();
    loop {
        let q = make_query("tld.", RecordType::SOA, Some(1232));
        let local: SocketAddr = "127.0.0.1:0".parse().unwrap();
        let gone = raw_udp_from(
            local,
            w.nsd_addr,
            &q.to_vec().unwrap(),
            Duration::from_millis(200),
        )
        .await
        .is_none();
        if gone {
            break;
        }
        assert!(t.elapsed() < Duration::from_secs(10), "NSD still answers");
    }
    // nods.tld. < nox.tld. < ns.tld.: the same NSEC covers it, and tld.'s NSEC
    // covers *.tld.
    let m = send(&w, &ask("nox.tld.", RecordType::A, true, false, false)).await;
    assert_eq!(m.metadata.response_code, ResponseCode::NXDomain, "{m:?}");
    assert!(m.metadata.authentic_data, "{m:?}");
    assert!(types(&m.authorities).contains(&RecordType::SOA));
    assert!(
        types(&m.authorities).contains(&RecordType::NSEC),
        "the proof goes with it: {m:?}"
    );
    // Without DO: the NXDOMAIN and the SOA only.
    let m = send(&w, &ask("nox2.tld.", RecordType::A, false, false, false)).await;
    assert_eq!(m.metadata.response_code, ResponseCode::NXDomain, "{m:?}");
    assert_eq!(types(&m.authorities), [RecordType::SOA]);
    // www.tld. < zzz.tld.: a gap no proof held covers: the servers are needed.
    let m = send(&w, &ask("zzz.tld.", RecordType::A, true, false, false)).await;
    assert_eq!(m.metadata.response_code, ResponseCode::ServFail, "{m:?}");
}

// With a local copy of the signed root (RFC 8806, issue 16), verified under the
// same anchor (`verify = "dnssec"`: the fixture root has no ZONEMD), the root's
// referrals and DS come from the copy and validation holds: a signed answer is
// secure, a delegation whose DS does not match is bogus.
#[tokio::test]
async fn answers_through_a_root_copy_validate_as_through_the_root_server() {
    let w = start("copy = \"copy.zone\"\nverify = \"dnssec\"\n").await;
    let r = w.altroot.service.resolver.clone();
    let ri = r.root_index("icann").unwrap();
    assert!(r.zones(ri).is_some(), "the copy is not in use");
    let m = send(&w, &ask("www.leaf.tld.", RecordType::A, true, false, false)).await;
    assert_eq!(m.metadata.response_code, ResponseCode::NoError, "{m:?}");
    assert!(m.metadata.authentic_data, "{m:?}");
    let m = send(&w, &ask("www.wrongds.", RecordType::A, true, false, false)).await;
    assert_eq!(m.metadata.response_code, ResponseCode::ServFail, "{m:?}");
    let m = send(&w, &ask("nosuchtld.", RecordType::A, true, false, false)).await;
    assert_eq!(m.metadata.response_code, ResponseCode::NXDomain, "{m:?}");
}
