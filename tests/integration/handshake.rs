//! A real Handshake root (issue 17): hsd from npm on regtest, names registered the
//! way its users do (open, bid, reveal, update through the wallet's JSON-RPC, blocks
//! mined in between), their zones served by NSD, and altroot in front with three
//! roots: an alternate one, the Handshake root (hsd's root server, on a port of its
//! own: `root-port`), and a fake ICANN world. A second test registers DS records:
//! children signed by ldns-signzone, validated under hsd's root key.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::process::Command;
use std::time::{Duration, Instant};

use hickory_proto::dnssec::rdata::DNSSECRData;
use hickory_proto::op::{Edns, Message, ResponseCode};
use hickory_proto::rr::{RData, RecordType};
use serde_json::{Value, json};

use crate::harness::*;
use crate::system::{BIN, Daemon, free_port, http_with, need, need_npm};
use crate::world::World;

/// The names the test registers: one only Handshake has, one the alternate root
/// has too. Neither is reserved on Handshake (regtest keeps reservations).
const ONLY: &str = "hnsonly";
const BOTH: &str = "althns";

/// A running hsd: its root name server, the node's and the wallet's RPC.
struct Hsd {
    daemon: Daemon,
    ns: SocketAddr,
    node: SocketAddr,
    wallet: SocketAddr,
    key: String,
    /// The wallet address mined blocks pay to.
    miner: String,
    _dir: tempfile::TempDir,
}

impl Hsd {
    /// Starts hsd on regtest in memory, its root server on `ns_ip` and a free port.
    fn start(ns_ip: Ipv4Addr) -> Hsd {
        let hsd = need_npm("hsd", "hsd@8");
        let dir = tempfile::tempdir().unwrap();
        let ns = SocketAddr::new(IpAddr::V4(ns_ip), free_port());
        let node = SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), free_port());
        let wallet = SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), free_port());
        let key = format!("k{}", rand::random::<u64>());
        let mut cmd = Command::new(hsd);
        cmd.env("NODE_BACKEND", "js")
            .arg("--network=regtest")
            .arg("--memory=true")
            .arg(format!("--prefix={}", dir.path().display()))
            .arg("--listen=false")
            .arg("--no-rs=true")
            .arg(format!("--ns-host={}", ns.ip()))
            .arg(format!("--ns-port={}", ns.port()))
            .arg("--http-host=127.0.0.1")
            .arg(format!("--http-port={}", node.port()))
            .arg(format!("--wallet-http-port={}", wallet.port()))
            .arg(format!("--api-key={key}"))
            .arg("--log-level=info");
        let mut daemon = Daemon::spawn(cmd, "hsd");
        daemon.wait_line("Root nameserver listening");
        daemon.wait_line("Wallet HTTP server listening");
        let mut h = Hsd {
            daemon,
            ns,
            node,
            wallet,
            key,
            miner: String::new(),
            _dir: dir,
        };
        // The wallet answers once it has synced with the node.
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            match h.try_rpc(h.wallet, "getnewaddress", json!([])) {
                Ok(Value::String(a)) => {
                    h.miner = a;
                    break;
                }
                r => assert!(
                    Instant::now() < deadline,
                    "hsd's wallet never answered: {r:?}\n{}",
                    h.daemon.output()
                ),
            }
            std::thread::sleep(Duration::from_millis(200));
        }
        h
    }

    fn try_rpc(&self, at: SocketAddr, method: &str, params: Value) -> Result<Value, String> {
        let auth = data_encoding::BASE64.encode(format!("x:{}", self.key).as_bytes());
        let body = json!({ "method": method, "params": params }).to_string();
        let (status, text) = http_with(
            at,
            "POST",
            "/",
            "127.0.0.1",
            Some(&body),
            &format!("Authorization: Basic {auth}\r\n"),
        );
        let v: Value = serde_json::from_str(&text)
            .map_err(|e| format!("{method}: HTTP {status}, not JSON ({e}): {text}"))?;
        match &v["error"] {
            Value::Null => Ok(v["result"].clone()),
            e => Err(format!("{method}: {e}")),
        }
    }

    /// A JSON-RPC call to the node or the wallet; an error fails the test.
    fn rpc(&self, at: SocketAddr, method: &str, params: Value) -> Value {
        self.try_rpc(at, method, params)
            .unwrap_or_else(|e| panic!("{e}\n{}", self.daemon.output()))
    }

    fn wallet(&self, method: &str, params: Value) -> Value {
        self.rpc(self.wallet, method, params)
    }

    fn mine(&self, blocks: u32) {
        self.rpc(
            self.node,
            "generatetoaddress",
            json!([blocks, self.miner.clone()]),
        );
    }

    /// Registers each name with its records as a user does: open, bid, reveal,
    /// update, with the blocks regtest's name rules ask for in between
    /// (lib/protocol/networks.js: treeInterval 5, so bidding opens 6 blocks after
    /// the open; biddingPeriod 5; revealPeriod 10), then mines until the name tree
    /// is committed (every 5 blocks), when hsd's root server gives the names.
    async fn register(&self, names: &[(&str, Value)]) {
        // Coins to bid with (coinbaseMaturity 2), and past every name's rollout
        // week (rolloutInterval 2 blocks, 52 weeks).
        self.mine(110);
        for (n, _) in names {
            self.wallet("sendopen", json!([n]));
        }
        self.mine(6);
        for (n, _) in names {
            self.wallet("sendbid", json!([n, 1, 2]));
        }
        self.mine(5);
        for (n, _) in names {
            self.wallet("sendreveal", json!([n]));
        }
        self.mine(10);
        for (n, records) in names {
            self.wallet("sendupdate", json!([n, { "records": records }]));
        }
        // The updates go into the next block; the tree that hsd's root server
        // reads changes at the next commit. (hsd caches its root server's replies
        // for 30 minutes, so it is not asked before.)
        self.mine(1);
        let root = |h: &Hsd| h.rpc(h.node, "getblockchaininfo", json!([]))["treeroot"].clone();
        let before = root(self);
        let mut mined = 0;
        while root(self) == before {
            assert!(mined < 10, "no tree commit in 10 blocks");
            self.mine(1);
            mined += 1;
        }
        for (n, _) in names {
            let m = query(self.ns, &format!("{n}."), RecordType::NS).await;
            let delegated = m
                .authorities
                .iter()
                .chain(&m.answers)
                .any(|r| r.record_type() == RecordType::NS && r.name == name(&format!("{n}.")));
            assert!(delegated, "hsd's root server does not give {n}: {m:?}");
        }
    }
}

/// NSD serving the Handshake names' zones on `ip`, a free port.
async fn nsd_serving(
    ip: Ipv4Addr,
    zones: &[(&str, String)],
) -> (Daemon, SocketAddr, tempfile::TempDir) {
    let nsd = need("nsd", "nsd");
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let mut conf = format!(
        "server:\n    port: {port}\n    ip-address: {ip}\n    do-ip6: no\n    server-count: 1\n    username: \"\"\n    chroot: \"\"\n    zonesdir: \"{d}\"\n    pidfile: \"{d}/nsd.pid\"\n    database: \"\"\n    xfrdfile: \"{d}/xfrd.state\"\n    zonelistfile: \"{d}/zone.list\"\n    verbosity: 1\n    rrl-ratelimit: 0\n    rrl-whitelist-ratelimit: 0\nremote-control:\n    control-enable: no\n",
        d = dir.path().display()
    );
    for (i, (origin, text)) in zones.iter().enumerate() {
        std::fs::write(dir.path().join(format!("z{i}.zone")), text).unwrap();
        conf.push_str(&format!(
            "zone:\n    name: \"{origin}\"\n    zonefile: \"z{i}.zone\"\n"
        ));
    }
    std::fs::write(dir.path().join("nsd.conf"), conf).unwrap();
    let mut cmd = Command::new(nsd);
    cmd.arg("-d").arg("-c").arg(dir.path().join("nsd.conf"));
    let d = Daemon::spawn(cmd, "nsd");
    let server = SocketAddr::new(IpAddr::V4(ip), port);
    let t = Instant::now();
    loop {
        let q = make_query(zones[0].0, RecordType::SOA, Some(1232));
        if let Some(m) = send_udp_from("127.0.0.1:0".parse().unwrap(), server, &q).await
            && m.metadata.response_code == ResponseCode::NoError
        {
            break;
        }
        assert!(
            t.elapsed() < Duration::from_secs(20),
            "NSD did not start: {}",
            d.output()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    (d, server, dir)
}

fn with_do(name: &str, qtype: RecordType) -> Message {
    let mut m = make_query(name, qtype, Some(1232));
    let mut e = Edns::new();
    e.set_max_payload(1232);
    e.set_dnssec_ok(true);
    m.set_edns(e);
    m
}

fn run(dir: &std::path::Path, args: &[&str]) -> (i32, String, String) {
    let out = Command::new(BIN)
        .current_dir(dir)
        .args(args)
        .env_remove("RUST_LOG")
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

// The whole walk-through against a real hsd: names registered on regtest answer
// through altroot's Handshake root (its root server on `root-port`, the names'
// servers on `port`), validated under the Handshake root's own DNSKEY; `compare`
// shows the three roots side by side (the Handshake-only name: "only handshake",
// no collision logged, no SIG(0) warnings from hsd's signed replies); `collisions`
// finds the TLD the alternate and the Handshake root both have.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_real_handshake_root_beside_alt_and_icann() {
    let icann = World::start(standard_world).await;
    let block = [127, 100 + rand::random::<u8>() % 100, rand::random::<u8>()];
    let ip = |h: u8| Ipv4Addr::new(block[0], block[1], block[2], h);
    let hsd = Hsd::start(ip(1));
    let ns1 = ip(53);
    let zone = |origin: &str, a: &str| {
        format!(
            "$TTL 300\n{origin}. SOA ns1.{ONLY}. h.{origin}. 1 3600 600 86400 300\n{origin}. NS ns1.{ONLY}.\nwww.{origin}. A {a}\nwww.{origin}. TXT \"{origin} on Handshake\"\n"
        )
    };
    let mut only = zone(ONLY, "192.0.2.54");
    only.push_str(&format!("ns1.{ONLY}. A {ns1}\n"));
    let (_nsd, nsd_at, _nsd_dir) =
        nsd_serving(ns1, &[(ONLY, only), (BOTH, zone(BOTH, "192.0.2.55"))]).await;
    // hnsonly: its own server, glued (GLUE4), and a TXT record at the TLD; althns:
    // delegated by NS to hnsonly's server (looked up in the Handshake root).
    hsd.register(&[
        (
            ONLY,
            json!([
                { "type": "GLUE4", "ns": format!("ns1.{ONLY}."), "address": ns1.to_string() },
                { "type": "TXT", "txt": ["registered on regtest"] },
            ]),
        ),
        (
            BOTH,
            json!([{ "type": "NS", "ns": format!("ns1.{ONLY}.") }]),
        ),
    ])
    .await;

    // The root's servers and key, as a user takes them from hsd.
    let prime = query(hsd.ns, ".", RecordType::NS).await;
    let synth = prime
        .answers
        .iter()
        .find_map(|r| match &r.data {
            RData::NS(n) => Some(n.0.to_string()),
            _ => None,
        })
        .expect("hsd's root has an NS");
    // Its key: the KSK every hsd signs with, as the shipped example's anchor has it
    // (config/examples/handshake/handshake.anchor, DS key tag 35215).
    let keys = send_udp(hsd.ns, &with_do(".", RecordType::DNSKEY)).await;
    let ksk = keys.answers.iter().find_map(|r| match &r.data {
        RData::DNSSEC(DNSSECRData::DNSKEY(k)) if k.secure_entry_point() => {
            k.calculate_key_tag().ok()
        }
        _ => None,
    });
    assert_eq!(ksk, Some(35215), "{keys:?}");
    let example = manifest_dir().join("config/examples/handshake");
    let anchor = std::fs::read_to_string(example.join("handshake.anchor")).unwrap();
    let config = format!(
        "[server]
listen = [\"127.0.0.1:0\"]
query-timeout = \"4s\"

[[root]]
name = \"alt\"
zones = \"zones\"
allow-loopback-upstream = true

[[root]]
name = \"handshake\"
hints = \"handshake.hints\"
root-port = {root_port}
port = {port}
allow-loopback-upstream = true
trust-anchors = [\"handshake.anchor\"]

{icann}",
        root_port = hsd.ns.port(),
        port = nsd_at.port(),
        icann = icann_root(&icann)
    );
    let files = vec![
        (
            "handshake.hints",
            format!(". NS {synth}\n{synth} A {}\n", hsd.ns.ip()),
        ),
        ("handshake.anchor", anchor),
        ("hints.txt", hints(&icann)),
        (
            "zones/althns.zone",
            "$TTL 300\n@ SOA ns.althns. h.althns. 1 3600 600 86400 300\n@ NS ns.althns.\nns A 127.0.0.1\nwww A 192.0.2.1\n".to_string(),
        ),
    ];
    let a = Altroot::start(&config, &files).await;

    // Answers through the Handshake root: the glued name, its TXT, and the name
    // delegated by NS alone (alt has althns too and comes first: alt's answer).
    let m = a.query(&format!("www.{ONLY}."), RecordType::A).await;
    assert_eq!(
        (m.metadata.response_code, lines(&m.answers)),
        (
            ResponseCode::NoError,
            vec![format!("www.{ONLY}. 300 A 192.0.2.54")]
        ),
        "{}",
        hsd.daemon.output()
    );
    let m = a.query(&format!("www.{ONLY}."), RecordType::TXT).await;
    assert_eq!(
        lines(&m.answers),
        vec![format!("www.{ONLY}. 300 TXT {ONLY} on Handshake")]
    );
    let m = a.query(&format!("www.{BOTH}."), RecordType::A).await;
    assert_eq!(addrs(&m), vec!["192.0.2.1".parse::<IpAddr>().unwrap()]);
    let r = a.router();
    let hns = r.root_index("handshake").unwrap();
    let both = r
        .answer_in(hns, &name(&format!("www.{BOTH}.")), RecordType::A)
        .await;
    assert_eq!(
        lines(&both.answers),
        vec![format!("www.{BOTH}. 300 A 192.0.2.55")]
    );

    // DNSSEC under the Handshake root's own key: hsd's signed NXDOMAIN (its
    // minimally covering NSEC) is secure; the unsigned delegation is insecure, not
    // bogus (its NSEC proof of no DS verifies under the key).
    // (A name no root has goes to the last root, icann: hsd's NXDOMAIN is asked of
    // the Handshake root directly, as `compare` asks.)
    let nx = r
        .answer_in(hns, &name("nope-not-registered."), RecordType::A)
        .await;
    assert_eq!(
        (nx.rcode, nx.secure, nx.failure.map(|f| f.to_string())),
        (ResponseCode::NXDomain, true, None)
    );
    let m = send_udp(a.addr, &with_do(&format!("www.{ONLY}."), RecordType::A)).await;
    assert_eq!(m.metadata.response_code, ResponseCode::NoError, "{m:?}");
    assert!(!m.metadata.authentic_data);
    a.stop().await;

    // compare and collisions through the binary, on the same config.
    let dir = a_dir(&config, &files);
    let (code, out, err) = run(
        dir.path(),
        &[
            "compare",
            "--config",
            "altroot.toml",
            &format!("www.{ONLY}"),
            &format!("www.{BOTH}"),
        ],
    );
    assert_eq!(code, 1, "{out}\n{err}");
    let row = |n: &str| {
        out.lines()
            .find(|l| l.starts_with(&format!("www.{n}.")))
            .unwrap_or_else(|| panic!("no row for {n}: {out}"))
            .to_string()
    };
    assert!(row(ONLY).ends_with("only handshake"), "{out}");
    assert!(row(ONLY).contains("NOERROR 192.0.2.54  insecure"), "{out}");
    assert!(row(BOTH).ends_with("differs"), "{out}");
    // hnsonly collides with nothing (althns does: `collisions` below).
    assert!(!err.contains(&format!("tld={ONLY}.")), "{err}");
    assert!(!err.contains("SIG(0)"), "{err}");
    let (code, out, err) = run(dir.path(), &["collisions", "--config", "altroot.toml"]);
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains(&format!("{BOTH}  in alt, handshake: alt answers")),
        "{out}"
    );
    assert!(!out.contains(&format!("{ONLY}  in")), "{out}");
}

/// The config and files in a folder of their own, for the binary.
fn a_dir(config: &str, files: &[(&str, String)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for (p, t) in files {
        let p = dir.path().join(p);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, t).unwrap();
    }
    std::fs::write(dir.path().join("altroot.toml"), config).unwrap();
    dir
}

// The shipped example loads as it is: three roots, the Handshake root's servers on
// hsd's mainnet port 5349 and the servers below on 53, its anchor the KSK's DS.
#[test]
fn the_shipped_handshake_example_loads() {
    let c = altroot::config::Config::load(
        &manifest_dir().join("config/examples/handshake/altroot.toml"),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let names: Vec<&str> = c.roots.iter().map(|r| r.name.as_str()).collect();
    assert_eq!(names, ["alt", "handshake", "icann"]);
    let h = &c.roots[1];
    assert_eq!((h.root_port, h.port), (5349, 53));
    assert_eq!(h.trust_anchor_files.len(), 1);
}

/// A key ldns-keygen makes in `dir` for `origin` (ECDSA P-256, algorithm 13, SEP
/// flag: the zone's only key): its files' base name, and its DS as hsd's resource
/// JSON has it (lib/dns/resource.js, `DS.fromJSON`: keyTag, algorithm, digestType,
/// digest in hex), read from the `.ds` file ldns-keygen writes beside the key.
fn ldns_key(dir: &std::path::Path, origin: &str) -> (String, Value) {
    let keygen = need("ldns-keygen", "ldnsutils");
    let out = Command::new(keygen)
        .current_dir(dir)
        .args(["-a", "ECDSAP256SHA256", "-k", &format!("{origin}.")])
        .output()
        .unwrap();
    assert!(out.status.success(), "ldns-keygen {origin}: {out:?}");
    let base = String::from_utf8_lossy(&out.stdout).trim().to_string();
    let ds = std::fs::read_to_string(dir.join(format!("{base}.ds"))).unwrap();
    // "hnssec.	IN	DS	59249 13 2 bbfae62b…"
    let f: Vec<&str> = ds.split_whitespace().collect();
    let [.., "DS", tag, alg, digest_type, digest] = f.as_slice() else {
        panic!("not a DS: {ds}")
    };
    let n = |s: &str| {
        s.parse::<u64>()
            .unwrap_or_else(|e| panic!("{s} in {ds}: {e}"))
    };
    let ds = json!({
        "type": "DS",
        "keyTag": n(tag),
        "algorithm": n(alg),
        "digestType": n(digest_type),
        "digest": digest,
    });
    (base, ds)
}

/// `text`, the zone `origin`, signed by ldns-signzone with the key `key` (NSEC).
fn ldns_sign(dir: &std::path::Path, origin: &str, text: &str, key: &str) -> String {
    let sign = need("ldns-signzone", "ldnsutils");
    std::fs::write(dir.join(format!("{origin}.zone")), text).unwrap();
    let out = Command::new(sign)
        .current_dir(dir)
        .args([
            "-f",
            &format!("{origin}.signed"),
            &format!("{origin}.zone"),
            key,
        ])
        .output()
        .unwrap();
    assert!(out.status.success(), "ldns-signzone {origin}: {out:?}");
    std::fs::read_to_string(dir.join(format!("{origin}.signed"))).unwrap()
}

/// A child zone with its name server inside it (glued on Handshake by GLUE4).
fn child_zone(origin: &str, ns: Ipv4Addr, extra: &str) -> String {
    format!(
        "$TTL 300\n{origin}. SOA ns1.{origin}. h.{origin}. 1 3600 600 86400 300\n{origin}. NS ns1.{origin}.\nns1.{origin}. A {ns}\nwww.{origin}. A 192.0.2.60\n{extra}"
    )
}

// A signed child registered on Handshake with its DS, validated through the chain
// hsd's root key → the DS in hsd's root (signed by its ZSK) → the child's DNSKEY
// → the child's RRSIGs: NOERROR with AD. The same child with a record changed
// after signing, and a child whose DS names a key it is not signed with, are
// bogus: SERVFAIL, and with CD the data; an unsigned delegation stays insecure.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_signed_child_validates_under_the_handshake_root() {
    // hnssec: signed, its DS on Handshake. hnsbadkey: signed with one key, the DS on
    // Handshake of another (never published). hnsplain: unsigned, no DS.
    const SEC: &str = "hnssec";
    const BAD: &str = "hnsbadkey";
    const PLAIN: &str = "hnsplain";
    let block = [127, 100 + rand::random::<u8>() % 100, rand::random::<u8>()];
    let ip = |h: u8| Ipv4Addr::new(block[0], block[1], block[2], h);
    let hsd = Hsd::start(ip(1));
    let ns1 = ip(53);
    let keys = tempfile::tempdir().unwrap();
    let (sec_key, sec_ds) = ldns_key(keys.path(), SEC);
    let (bad_key, _) = ldns_key(keys.path(), BAD);
    // (In a folder of its own: a second key with the same tag would replace the first.)
    let other = keys.path().join("other");
    std::fs::create_dir(&other).unwrap();
    let (_, other_ds) = ldns_key(&other, BAD);
    // tampered.hnssec: its A changed after signing, so its RRSIG no longer matches.
    let sec = ldns_sign(
        keys.path(),
        SEC,
        &child_zone(SEC, ns1, &format!("tampered.{SEC}. A 192.0.2.61\n")),
        &sec_key,
    );
    assert_eq!(sec.matches("192.0.2.61").count(), 1, "{sec}");
    let sec = sec.replace("192.0.2.61", "192.0.2.62");
    let bad = ldns_sign(keys.path(), BAD, &child_zone(BAD, ns1, ""), &bad_key);
    let (_nsd, nsd_at, _nsd_dir) = nsd_serving(
        ns1,
        &[(SEC, sec), (BAD, bad), (PLAIN, child_zone(PLAIN, ns1, ""))],
    )
    .await;
    let glue =
        |n: &str| json!({ "type": "GLUE4", "ns": format!("ns1.{n}."), "address": ns1.to_string() });
    hsd.register(&[
        (SEC, json!([glue(SEC), sec_ds])),
        (BAD, json!([glue(BAD), other_ds])),
        (PLAIN, json!([glue(PLAIN)])),
    ])
    .await;
    // hsd's root gives the DS it was given, signed.
    let ds = send_udp(hsd.ns, &with_do(&format!("{SEC}."), RecordType::DS)).await;
    let tags: Vec<u16> = ds
        .answers
        .iter()
        .filter_map(|r| match &r.data {
            RData::DNSSEC(DNSSECRData::DS(d)) => Some(d.key_tag()),
            _ => None,
        })
        .collect();
    assert_eq!(tags, [sec_ds["keyTag"].as_u64().unwrap() as u16], "{ds:?}");
    assert!(
        ds.answers
            .iter()
            .any(|r| r.record_type() == RecordType::RRSIG),
        "{ds:?}"
    );

    let prime = query(hsd.ns, ".", RecordType::NS).await;
    let synth = prime
        .answers
        .iter()
        .find_map(|r| match &r.data {
            RData::NS(n) => Some(n.0.to_string()),
            _ => None,
        })
        .expect("hsd's root has an NS");
    let anchor =
        std::fs::read_to_string(manifest_dir().join("config/examples/handshake/handshake.anchor"))
            .unwrap();
    let config = format!(
        "[server]
listen = [\"127.0.0.1:0\"]
query-timeout = \"4s\"

[[root]]
name = \"handshake\"
hints = \"handshake.hints\"
root-port = {root_port}
port = {port}
allow-loopback-upstream = true
trust-anchors = [\"handshake.anchor\"]
",
        root_port = hsd.ns.port(),
        port = nsd_at.port(),
    );
    let files = vec![
        (
            "handshake.hints",
            format!(". NS {synth}\n{synth} A {}\n", hsd.ns.ip()),
        ),
        ("handshake.anchor", anchor),
    ];
    let a = Altroot::start(&config, &files).await;
    let ask = |n: &str, cd: bool| {
        let mut m = with_do(n, RecordType::A);
        m.metadata.checking_disabled = cd;
        m
    };
    let a_of = |m: &Message| -> Vec<String> {
        m.answers
            .iter()
            .filter_map(|r| match &r.data {
                RData::A(a) => Some(a.to_string()),
                _ => None,
            })
            .collect()
    };

    // Secure: AD, the A with its RRSIG.
    let www = format!("www.{SEC}.");
    let m = send_udp(a.addr, &ask(&www, false)).await;
    assert_eq!(
        (
            m.metadata.response_code,
            m.metadata.authentic_data,
            a_of(&m)
        ),
        (ResponseCode::NoError, true, vec!["192.0.2.60".to_string()]),
        "{m:?}\n{}",
        hsd.daemon.output()
    );
    assert!(
        m.answers
            .iter()
            .any(|r| r.record_type() == RecordType::RRSIG),
        "{m:?}"
    );

    // Bogus: SERVFAIL with an EDE that says why; with CD, the data, without AD.
    for (n, want) in [
        (format!("tampered.{SEC}."), "192.0.2.62"),
        (format!("www.{BAD}."), "192.0.2.60"),
    ] {
        let m = send_udp(a.addr, &ask(&n, false)).await;
        assert_eq!(
            m.metadata.response_code,
            ResponseCode::ServFail,
            "{n}: {m:?}"
        );
        assert!(m.answers.is_empty(), "{n}: {m:?}");
        let (_, text) = ede(&m).unwrap_or_else(|| panic!("{n}: no EDE: {m:?}"));
        assert!(text.contains("dnssec"), "{n}: {text}");
        let m = send_udp(a.addr, &ask(&n, true)).await;
        assert_eq!(
            (
                m.metadata.response_code,
                m.metadata.authentic_data,
                a_of(&m)
            ),
            (ResponseCode::NoError, false, vec![want.to_string()]),
            "{n} with CD: {m:?}"
        );
        assert!(m.metadata.checking_disabled, "{n}");
    }

    // Insecure: hsd's NSEC proves there is no DS; the data, no AD (asked with AD).
    let mut q = ask(&format!("www.{PLAIN}."), false);
    q.metadata.authentic_data = true;
    let m = send_udp(a.addr, &q).await;
    assert_eq!(
        (
            m.metadata.response_code,
            m.metadata.authentic_data,
            a_of(&m)
        ),
        (ResponseCode::NoError, false, vec!["192.0.2.60".to_string()]),
        "{m:?}"
    );
    a.stop().await;
}
