//! Zone transfer in (issue 16 §3): `altroot::xfrin` against a real altroot as the
//! primary (AXFR over many messages, IXFR after an edit, current, TSIG), against
//! NSD 4.6 (AXFR plain and signed, IXFR, the zone written and read back), and
//! against scripted TCP servers that misbehave.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use altroot::xfrin::{self, Fetched, Limits, Primary, XfrError};
use hickory_proto::op::{Message, MessageType, OpCode, Query, ResponseCode};
use hickory_proto::rr::rdata::tsig::TsigAlgorithm;
use hickory_proto::rr::rdata::{A, SOA};
use hickory_proto::rr::{Name, RData, Record, RecordType, TSigner};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

use crate::harness::*;
use crate::transfer::ALLOW_LOOPBACK;

/// The TSIG key of these tests: name, secret (hmac-sha256), and in base64.
const KEY_NAME: &str = "xfr.";
const SECRET: &[u8] = b"0123456789abcdef0123456789abcdef";
const SECRET_B64: &str = "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=";

fn signer(secret: &[u8]) -> TSigner {
    TSigner::new(
        secret.to_vec(),
        TsigAlgorithm::HmacSha256,
        name(KEY_NAME),
        300,
    )
    .unwrap()
}

fn primary(addr: SocketAddr, key: Option<TSigner>) -> Primary {
    Primary { addr, key }
}

/// Record lines, sorted: what two copies of a zone must share.
fn lines(records: &[Record]) -> Vec<String> {
    let mut v: Vec<String> = records.iter().map(|r| r.to_string()).collect();
    v.sort();
    v
}

fn full(f: Fetched) -> (u32, Vec<Record>) {
    match f {
        Fetched::Full { serial, records } => (serial, records),
        other => panic!("not a whole zone: {other:?}"),
    }
}

/// `big.`: 3000 TXT records of 120 bytes (over 64 KiB), at `serial`, and `extra` lines.
fn big_zone(serial: u32, extra: &str) -> String {
    let mut z = format!(
        "$TTL 60\n@ SOA ns.big. host.big. {serial} 3600 600 86400 60\n@ NS ns\nns A 127.0.0.1\n{extra}"
    );
    for i in 0..3000 {
        z.push_str(&format!("h{i} TXT \"{}\"\n", "y".repeat(120)));
    }
    z
}

async fn altroot_with_big(transfer: &str) -> (crate::world::World, Altroot) {
    let (w, _) = standard("").await;
    let mut files = alt_zones(&w);
    files.push(("zones/big.zone", big_zone(3, "gone A 192.0.2.1\n")));
    files.push(("hints.txt", hints(&w)));
    let a = Altroot::start(&config(&w, transfer), &files).await;
    (w, a)
}

/// Polls the primary's serial (bounded: 10 s) until it is `serial`.
async fn wait_serial(p: &Primary, zone: &Name, serial: u32) {
    let t = Instant::now();
    loop {
        let got = xfrin::soa_serial(p, zone, &Limits::default()).await;
        if matches!(got, Ok(s) if s == serial) {
            return;
        }
        assert!(
            t.elapsed() < Duration::from_secs(10),
            "{zone} at {got:?}, not {serial}"
        );
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

// altroot as the primary: AXFR of a zone over 64 KiB (several messages) is the
// whole zone; after an edit, IXFR from the old SOA is the changes, and applied to
// the old copy they give what a fresh AXFR gives; from the new SOA, Current. The
// SOA query works though altroot never sets AA (confirmed by IXFR).
#[tokio::test]
async fn from_altroot_axfr_ixfr_and_current() {
    let (_w, mut a) = altroot_with_big(ALLOW_LOOPBACK).await;
    a.watch();
    let p = primary(a.addr, None);
    let zone = name("big.");
    let limits = Limits::default();
    assert_eq!(xfrin::soa_serial(&p, &zone, &limits).await.unwrap(), 3);
    let (serial, old) = full(xfrin::fetch(&p, &zone, None, &limits).await.unwrap());
    assert_eq!(serial, 3);
    assert_eq!(old.len(), 3000 + 4);
    assert_eq!(old[0].record_type(), RecordType::SOA);

    std::fs::write(
        a.path("zones/big.zone"),
        big_zone(4, "new A 192.0.2.2\n").replace("h7 TXT", "h7 300 TXT"),
    )
    .unwrap();
    wait_serial(&p, &zone, 4).await;
    let got = xfrin::fetch(&p, &zone, Some(&old[0]), &limits)
        .await
        .unwrap();
    let Fetched::Changes { serial, changes } = got else {
        panic!("not changes: {got:?}")
    };
    assert_eq!(serial, 4);
    assert_eq!(
        changes
            .iter()
            .map(|c| (c.from, c.to, c.removed.len(), c.added.len()))
            .collect::<Vec<_>>(),
        vec![(3, 4, 2, 2)]
    );
    let applied = xfrin::apply(old, &changes).unwrap();
    let (_, fresh) = full(xfrin::fetch(&p, &zone, None, &limits).await.unwrap());
    assert_eq!(lines(&applied), lines(&fresh));

    let current = xfrin::fetch(&p, &zone, Some(&fresh[0]), &limits)
        .await
        .unwrap();
    assert_eq!(current, Fetched::Current { serial: 4 });

    // A zone altroot does not serve: NOTAUTH, named.
    let e = xfrin::fetch(&p, &name("nothere."), None, &limits)
        .await
        .unwrap_err();
    assert!(
        matches!(
            e,
            XfrError::Rcode {
                rcode: ResponseCode::NotAuth,
                ..
            }
        ),
        "{e}"
    );
}

// TSIG with altroot as the primary (`require-tsig`): the right key transfers
// (every message's MAC checked, chained); a wrong secret gets BADSIG and no data;
// an unsigned request is refused.
#[tokio::test]
async fn from_altroot_with_tsig() {
    let keys = format!(
        "[transfer]\nallow = [\"127.0.0.0/8\"]\nrequire-tsig = true\nkeys = [{{ name = \"{KEY_NAME}\", algorithm = \"hmac-sha256\", secret = \"{SECRET_B64}\" }}]\n"
    );
    let (_w, a) = altroot_with_big(&keys).await;
    let zone = name("big.");
    let limits = Limits::default();
    let (serial, records) = full(
        xfrin::fetch(&primary(a.addr, Some(signer(SECRET))), &zone, None, &limits)
            .await
            .unwrap(),
    );
    assert_eq!((serial, records.len()), (3, 3004));
    let e = xfrin::fetch(
        &primary(a.addr, Some(signer(b"fedcba9876543210fedcba9876543210"))),
        &zone,
        None,
        &limits,
    )
    .await
    .unwrap_err();
    assert!(
        matches!(e, XfrError::Tsig { .. }) && e.to_string().contains("BadSig"),
        "{e}"
    );
    let e = xfrin::fetch(&primary(a.addr, None), &zone, None, &limits)
        .await
        .unwrap_err();
    assert!(
        matches!(
            e,
            XfrError::Rcode {
                rcode: ResponseCode::Refused,
                ..
            }
        ),
        "{e}"
    );
}

//------------ Scripted primaries -----------------------------------------------------

#[derive(Clone, Copy)]
enum Script {
    /// The first message (SOA and a record), then the connection closes.
    StopMidway,
    /// A whole transfer, under another ID.
    WrongId,
    /// Bytes that are no DNS message.
    Garbage,
    /// Reads the request and never answers.
    Silent,
    /// Signs nothing, though the request was signed.
    Unsigned,
}

/// A TCP server on 127.0.0.1:0 that plays `script` to one connection.
async fn scripted(script: Script) -> SocketAddr {
    let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = l.local_addr().unwrap();
    tokio::spawn(async move {
        let (mut s, _) = l.accept().await.unwrap();
        let mut len = [0u8; 2];
        s.read_exact(&mut len).await.unwrap();
        let mut req = vec![0u8; usize::from(u16::from_be_bytes(len))];
        s.read_exact(&mut req).await.unwrap();
        let req = Message::from_vec(&req).unwrap();
        let soa = Record::from_rdata(
            name("s."),
            60,
            RData::SOA(SOA::new(name("ns.s."), name("h.s."), 9, 1, 1, 1, 1)),
        );
        let a = Record::from_rdata(name("www.s."), 60, RData::A(A::new(192, 0, 2, 1)));
        let reply = |id: u16, answers: &[Record]| {
            let mut m = Message::new(id, MessageType::Response, OpCode::Query);
            m.metadata.authoritative = true;
            m.add_query(Query::query(name("s."), RecordType::AXFR));
            for r in answers {
                m.add_answer(r.clone());
            }
            let b = m.to_vec().unwrap();
            let mut out = (b.len() as u16).to_be_bytes().to_vec();
            out.extend_from_slice(&b);
            out
        };
        let id = req.metadata.id;
        let out = match script {
            Script::StopMidway => reply(id, &[soa.clone(), a.clone()]),
            Script::WrongId => reply(id.wrapping_add(1), &[soa.clone(), a, soa]),
            Script::Garbage => vec![0, 5, 0xde, 0xad, 0xbe, 0xef, 0x00],
            Script::Silent => Vec::new(),
            Script::Unsigned => reply(id, &[soa.clone(), a, soa]),
        };
        let _ = s.write_all(&out).await;
        if matches!(script, Script::Silent) {
            // Holds the connection open until the client gives up.
            let mut rest = Vec::new();
            let _ = s.read_to_end(&mut rest).await;
        }
    });
    addr
}

// Misbehaving primaries give clear errors, never a panic or half a zone, and the
// silent one is given up on after `idle`.
#[tokio::test]
async fn misbehaving_primaries_give_clear_errors() {
    let limits = Limits {
        idle: Duration::from_millis(300),
        max_records: 100,
    };
    let zone = name("s.");
    let fetch = |addr, key| {
        let limits = limits.clone();
        let zone = zone.clone();
        async move {
            xfrin::fetch(&primary(addr, key), &zone, None, &limits)
                .await
                .unwrap_err()
        }
    };
    let e = fetch(scripted(Script::StopMidway).await, None).await;
    assert!(
        e.to_string()
            .contains("the stream ended before the closing SOA"),
        "{e}"
    );
    let e = fetch(scripted(Script::WrongId).await, None).await;
    assert!(e.to_string().contains("a reply with ID"), "{e}");
    let e = fetch(scripted(Script::Garbage).await, None).await;
    assert!(e.to_string().contains("does not parse"), "{e}");
    let e = fetch(scripted(Script::Silent).await, None).await;
    assert!(matches!(e, XfrError::Timeout { .. }), "{e}");
    assert!(e.to_string().contains("nothing received for 300ms"), "{e}");
    let e = fetch(scripted(Script::Unsigned).await, Some(signer(SECRET))).await;
    assert!(
        matches!(e, XfrError::Tsig { .. }) && e.to_string().contains("not signed"),
        "{e}"
    );
    // Nobody listening: the connection is refused, and said so.
    let closed = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap()
    };
    let e = fetch(closed, None).await;
    assert!(
        matches!(e, XfrError::Io { .. }) && e.to_string().contains(&closed.to_string()),
        "{e}"
    );
}

//------------ NSD as the primary ---------------------------------------------------

/// NSD (`nsd -d`) serving `zone` from `text` on 127.0.0.1, transfers allowed to
/// loopback unsigned and with the test key; once it answers.
async fn nsd_primary(
    zone: &str,
    text: &str,
) -> (SocketAddr, crate::system::Daemon, tempfile::TempDir) {
    let nsd = crate::system::need("nsd", "nsd");
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().display();
    let port = crate::system::free_port();
    std::fs::write(dir.path().join("z.zone"), text).unwrap();
    let conf = format!(
        "server:\n    port: {port}\n    ip-address: 127.0.0.1\n    do-ip6: no\n    server-count: 1\n    username: \"\"\n    chroot: \"\"\n    zonesdir: \"{d}\"\n    pidfile: \"{d}/nsd.pid\"\n    database: \"\"\n    xfrdfile: \"{d}/xfrd.state\"\n    zonelistfile: \"{d}/zone.list\"\n    verbosity: 2\n    rrl-ratelimit: 0\n    rrl-whitelist-ratelimit: 0\nremote-control:\n    control-enable: no\nkey:\n    name: \"{KEY_NAME}\"\n    algorithm: hmac-sha256\n    secret: \"{SECRET_B64}\"\nzone:\n    name: \"{zone}\"\n    zonefile: \"z.zone\"\n    provide-xfr: 127.0.0.1 NOKEY\n    provide-xfr: 127.0.0.1 {KEY_NAME}\n"
    );
    let path = dir.path().join("nsd.conf");
    std::fs::write(&path, conf).unwrap();
    let mut cmd = std::process::Command::new(nsd);
    cmd.arg("-d").arg("-c").arg(&path);
    let daemon = crate::system::Daemon::spawn(cmd, "nsd");
    let addr = SocketAddr::new(std::net::Ipv4Addr::LOCALHOST.into(), port);
    let t = Instant::now();
    let p = primary(addr, None);
    while xfrin::soa_serial(&p, &name(zone), &Limits::default())
        .await
        .is_err()
    {
        assert!(
            t.elapsed() < Duration::from_secs(20),
            "NSD did not start: {}",
            daemon.output()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    (addr, daemon, dir)
}

/// A zone with the types a transferred zone brings: many TXT (several
/// messages), MX, SRV, CAA, a wildcard, a delegation with glue, quotes.
fn nsd_zone(serial: u32) -> String {
    let mut z = format!(
        "$ORIGIN n.test.\n$TTL 300\n@ SOA ns host {serial} 3600 600 86400 60\n@ NS ns\nns A 192.0.2.1\n@ MX 10 mail\nmail AAAA 2001:db8::25\n_sip._udp SRV 0 5 5060 sip\n@ CAA 0 issue \"ca.example.net\"\n*.w A 192.0.2.7\nsub NS ns.sub\nns.sub A 192.0.2.8\nq TXT \"a \\\"quoted\\\" string\" \"semi;colon\"\n"
    );
    for i in 0..1500 {
        z.push_str(&format!("t{i} TXT \"{}\"\n", "z".repeat(100)));
    }
    z
}

// NSD 4.6 as the primary: AXFR plain and signed (its TSIG checked message by
// message), the SOA query (NSD sets AA); IXFR from an old serial — NSD 4.6 keeps
// no IXFR history and answers with the whole zone — ends with the full zone; and
// the zone written by `write_zone` reads back to the same records.
#[tokio::test]
async fn from_nsd_axfr_tsig_ixfr_and_written_copy() {
    let (addr, nsd, _dir) = nsd_primary("n.test.", &nsd_zone(5)).await;
    let zone = name("n.test.");
    let limits = Limits::default();
    let plain = primary(addr, None);
    assert_eq!(xfrin::soa_serial(&plain, &zone, &limits).await.unwrap(), 5);
    let (serial, records) = full(xfrin::fetch(&plain, &zone, None, &limits).await.unwrap());
    assert_eq!(serial, 5);
    assert_eq!(records.len(), 11 + 1500, "{}", nsd.output());

    let signed = primary(addr, Some(signer(SECRET)));
    assert_eq!(xfrin::soa_serial(&signed, &zone, &limits).await.unwrap(), 5);
    let (_, with_key) = full(xfrin::fetch(&signed, &zone, None, &limits).await.unwrap());
    assert_eq!(lines(&with_key), lines(&records));
    let wrong = primary(addr, Some(signer(b"fedcba9876543210fedcba9876543210")));
    let e = xfrin::fetch(&wrong, &zone, None, &limits)
        .await
        .unwrap_err();
    assert!(matches!(e, XfrError::Tsig { .. }), "{e}");

    // IXFR from serial 4: whatever NSD answers, we end with the whole zone.
    let mut old_soa = records[0].clone();
    if let RData::SOA(s) = &mut old_soa.data {
        s.serial = 4;
    }
    let got = xfrin::fetch(&plain, &zone, Some(&old_soa), &limits)
        .await
        .unwrap();
    let whole = match got {
        Fetched::Full { records, .. } => records,
        Fetched::Changes { changes, .. } => {
            panic!(
                "NSD 4.6 has no IXFR history, yet sent {} changes",
                changes.len()
            )
        }
        Fetched::Current { .. } => panic!("current from 4 at 5"),
    };
    assert_eq!(lines(&whole), lines(&records));
    assert_eq!(
        xfrin::fetch(&plain, &zone, Some(&records[0]), &limits)
            .await
            .unwrap(),
        Fetched::Current { serial: 5 }
    );

    // Written, and read back by the zone reader: the same records.
    let out = tempfile::tempdir().unwrap();
    let path = out.path().join("n.test.zone");
    altroot::zones::write_zone(&path, &zone, &records, "from NSD").unwrap();
    let back: Vec<Record> = altroot::zones::read(&path, &zone)
        .unwrap_or_else(|e| panic!("{e:?}"))
        .records
        .into_iter()
        .map(|l| l.record)
        .collect();
    assert_eq!(lines(&back), lines(&records));
}
