//! Zone transfer in (issue 16 §1 and §3): a zones root fed by a real NSD primary
//! (AXFR, NOTIFY, SOA timers, the primary gone, expire, a restart on the copy
//! kept on disk), an altroot primary feeding another altroot by IXFR, NOTIFY
//! verdicts, and a hints root whose copy of its root zone comes by transfer and
//! is verified before it is written.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicU64;
use std::time::{Duration, Instant};

use hickory_proto::op::{Message, MessageType, OpCode, Query, ResponseCode};
use hickory_proto::rr::{Name, RData, RecordType};

use crate::harness::*;
use crate::system::{BIN, Daemon, free_port, need};

/// An NSD primary on 127.0.0.1:`port`: the zones of `zones` (origin → text) in
/// its own folder, given out to 127.0.0.0/8 (with `key`, only to signed
/// requests), NOTIFY sent to `notify` after each reload.
struct Nsd {
    addr: SocketAddr,
    dir: tempfile::TempDir,
    daemon: Option<Daemon>,
    files: Vec<(String, String)>,
}

const KEY: (&str, &str) = ("xfr.", "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=");

impl Nsd {
    async fn start(zones: &[(&str, String)], notify: Option<SocketAddr>, key: bool) -> Nsd {
        let nsd = need("nsd", "nsd");
        let port = free_port();
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path().display();
        let mut conf = format!(
            "server:\n    port: {port}\n    ip-address: 127.0.0.1\n    do-ip6: no\n    server-count: 1\n    username: \"\"\n    chroot: \"\"\n    zonesdir: \"{d}\"\n    pidfile: \"{d}/nsd.pid\"\n    database: \"\"\n    xfrdfile: \"{d}/xfrd.state\"\n    zonelistfile: \"{d}/zone.list\"\n    verbosity: 2\n    rrl-ratelimit: 0\n    rrl-whitelist-ratelimit: 0\nremote-control:\n    control-enable: no\n"
        );
        let provide = if key {
            conf.push_str(&format!(
                "key:\n    name: \"{}\"\n    algorithm: hmac-sha256\n    secret: \"{}\"\n",
                KEY.0, KEY.1
            ));
            format!("127.0.0.0/8 {}", KEY.0)
        } else {
            "127.0.0.0/8 NOKEY".to_string()
        };
        let mut files = Vec::new();
        for (i, (origin, text)) in zones.iter().enumerate() {
            let file = format!("p{i}.zone");
            std::fs::write(dir.path().join(&file), text).unwrap();
            conf.push_str(&format!(
                "zone:\n    name: \"{origin}\"\n    zonefile: \"{file}\"\n    provide-xfr: {provide}\n"
            ));
            if let Some(n) = notify {
                conf.push_str(&format!("    notify: {}@{} NOKEY\n", n.ip(), n.port()));
            }
            files.push((origin.to_string(), file));
        }
        let conf_path = dir.path().join("nsd.conf");
        std::fs::write(&conf_path, conf).unwrap();
        let mut cmd = std::process::Command::new(nsd);
        cmd.arg("-d").arg("-c").arg(&conf_path);
        let daemon = Daemon::spawn(cmd, "nsd");
        let addr = SocketAddr::new(std::net::Ipv4Addr::LOCALHOST.into(), port);
        let nsd = Nsd {
            addr,
            dir,
            daemon: Some(daemon),
            files,
        };
        nsd.wait_serving(zones[0].0).await;
        nsd
    }

    async fn wait_serving(&self, zone: &str) {
        let t = Instant::now();
        loop {
            let q = make_query(zone, RecordType::SOA, Some(1232));
            if let Some(m) = send_udp_from("127.0.0.1:0".parse().unwrap(), self.addr, &q).await
                && m.metadata.response_code == ResponseCode::NoError
            {
                return;
            }
            assert!(
                t.elapsed() < Duration::from_secs(20),
                "NSD did not start: {}",
                self.output()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    fn output(&self) -> String {
        self.daemon.as_ref().map(|d| d.output()).unwrap_or_default()
    }

    /// Replaces a zone's file and has NSD reload it (SIGHUP; NSD then notifies).
    fn edit(&self, origin: &str, text: &str) {
        let (_, file) = self.files.iter().find(|(o, _)| o == origin).unwrap();
        std::fs::write(self.dir.path().join(file), text).unwrap();
        if let Some(d) = &self.daemon {
            d.signal(libc::SIGHUP);
        }
    }

    /// Stops NSD for good: SIGTERM (its server child outlives a killed main
    /// process for a moment), then until it no longer answers.
    async fn stop(&mut self) {
        if let Some(mut d) = self.daemon.take() {
            d.signal(libc::SIGTERM);
            let _ = d.wait_exit();
        }
        let t = Instant::now();
        loop {
            let q = make_query(".", RecordType::SOA, Some(1232));
            let gone = raw_udp_from(
                "127.0.0.1:0".parse().unwrap(),
                self.addr,
                &q.to_vec().unwrap(),
                Duration::from_millis(200),
            )
            .await
            .is_none();
            if gone {
                return;
            }
            assert!(t.elapsed() < Duration::from_secs(10), "NSD still answers");
        }
    }
}

/// The primary's alternate root: `.` with its own SOA (`timers`: refresh retry
/// expire), delegating geek. and libre. (both on the primary) and pirate.
/// (elsewhere: the primary does not give it out).
fn root_zone(serial: u32, timers: &str) -> String {
    format!(
        "$TTL 300\n. IN SOA ns.nic.geek. host.nic.geek. {serial} {timers} 300\n. IN NS ns.nic.geek.\n\
         geek. IN NS ns.nic.geek.\nlibre. IN NS ns.nic.libre.\npirate. IN NS ns1.pirate.\nns1.pirate. IN A 127.0.0.1\n\
         ns.nic.geek. IN A 127.0.0.1\nns.nic.libre. IN A 127.0.0.1\n"
    )
}

fn tld_zone(tld: &str, serial: u32, timers: &str, www: &str) -> String {
    format!(
        "$TTL 300\n{tld}. IN SOA ns.nic.{tld}. host.nic.{tld}. {serial} {timers} 300\n{tld}. IN NS ns.nic.{tld}.\nns.nic.{tld}. IN A 127.0.0.1\nwww.{tld}. 120 IN A {www}\n*.wild.{tld}. IN TXT \"any\"\n"
    )
}

/// Timers that leave the refresh to NOTIFY: refresh 1 h, retry 10 min, expire 1 week.
const SLOW: &str = "3600 600 604800";

/// A config with one zones root, `alt`, fed from `primaries`; its folder is
/// `zones` (absolute: it outlives one altroot, so a restart can read it).
fn secondary_config(port: u16, zones: &Path, primaries: &[SocketAddr], extra: &str) -> String {
    let from: Vec<String> = primaries.iter().map(|p| format!("\"{p}\"")).collect();
    format!(
        "[server]\nlisten = [\"127.0.0.1:{port}\"]\nquery-timeout = \"2s\"\n\n[[root]]\nname = \"alt\"\nzones = \"{}\"\ntransfer-from = [{}]\nallow-loopback-upstream = true\nport = {}\n{extra}",
        zones.display(),
        from.join(", "),
        primaries[0].port()
    )
}

async fn secondary(config: &str) -> Altroot {
    let mut a = Altroot::start(config, &[]).await;
    a.watch();
    a
}

/// The A records altroot answers for `name` (empty: none, or not NOERROR).
async fn addresses(a: SocketAddr, qname: &str) -> (ResponseCode, Vec<String>) {
    let m = query(a, qname, RecordType::A).await;
    let ips = m
        .answers
        .iter()
        .filter_map(|r| match &r.data {
            RData::A(ip) => Some(ip.to_string()),
            _ => None,
        })
        .collect();
    (m.metadata.response_code, ips)
}

/// Polls (every 25 ms, at most `secs`) until `name` has exactly the address `want`.
async fn wait_address(a: SocketAddr, qname: &str, want: &str, secs: u64) -> Duration {
    let t = Instant::now();
    loop {
        let (code, ips) = addresses(a, qname).await;
        if code == ResponseCode::NoError && ips == [want.to_string()] {
            return t.elapsed();
        }
        assert!(
            t.elapsed() < Duration::from_secs(secs),
            "{qname} is {code} {ips:?}, not {want}, after {secs} s"
        );
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

fn count(a: &Altroot, pick: fn(&altroot::xfrin::notices::Counts) -> &AtomicU64) -> u64 {
    let n = a.service.resolver.notices();
    n.counts(0)
        .map(|c| altroot::xfrin::notices::Counts::get(pick(c)))
        .unwrap_or(0)
}

fn zone_serial_on_disk(path: &Path) -> Option<u32> {
    let text = std::fs::read_to_string(path).ok()?;
    text.lines()
        .filter(|l| !l.starts_with(';') && !l.starts_with('$'))
        .find_map(|l| {
            let w: Vec<&str> = l.split_whitespace().collect();
            let i = w.iter().position(|t| *t == "SOA")?;
            w.get(i + 3)?.parse().ok()
        })
}

// A zones root with `transfer-from` and no `transfer-zones` takes the primary's
// root zone and every TLD it delegates that NSD gives out (not pirate., which
// NSD does not have); answers come from the copies (RA, the zone's TTL). An
// edit on NSD reaches altroot by NOTIFY (the SOA refresh is an hour); with NSD
// gone the copies are still served, and after a restart too, from disk.
#[tokio::test]
async fn a_zones_root_follows_an_nsd_primary() {
    let port = free_port();
    let me: SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
    let zones = [
        (".", root_zone(1, SLOW)),
        ("geek.", tld_zone("geek", 1, SLOW, "192.0.2.1")),
        ("libre.", tld_zone("libre", 1, SLOW, "192.0.2.7")),
    ];
    let mut nsd = Nsd::start(&zones, Some(me), false).await;
    let store = tempfile::tempdir().unwrap();
    let folder = store.path().join("alt");
    let config = secondary_config(port, &folder, &[nsd.addr], "");
    let a = secondary(&config).await;
    wait_address(a.addr, "www.geek.", "192.0.2.1", 10).await;
    wait_address(a.addr, "www.libre.", "192.0.2.7", 10).await;
    let m = query(a.addr, "www.geek.", RecordType::A).await;
    assert!(m.metadata.recursion_available && !m.metadata.authoritative);
    assert_eq!(m.answers[0].ttl, 120, "{m:?}");
    let m = query(a.addr, "x.wild.geek.", RecordType::TXT).await;
    assert_eq!(m.metadata.response_code, ResponseCode::NoError);
    assert_eq!(m.answers.len(), 1, "{m:?}");
    let m = query(a.addr, "nosuch.geek.", RecordType::A).await;
    assert_eq!(m.metadata.response_code, ResponseCode::NXDomain);
    assert_eq!(m.authorities[0].record_type(), RecordType::SOA);
    for f in ["root.zone", "geek.zone", "libre.zone"] {
        assert!(folder.join(f).is_file(), "{f} not written");
    }
    assert!(!folder.join("pirate.zone").exists());
    assert_eq!(zone_serial_on_disk(&folder.join("geek.zone")), Some(1));

    // An edit on the primary: NSD notifies, altroot fetches, serves.
    let before = count(&a, |c| &c.notifies);
    nsd.edit("geek.", &tld_zone("geek", 2, SLOW, "192.0.2.2"));
    let took = wait_address(a.addr, "www.geek.", "192.0.2.2", 10).await;
    eprintln!("edit on NSD → served by altroot: {} ms", took.as_millis());
    assert!(count(&a, |c| &c.notifies) > before, "not by NOTIFY");
    assert_eq!(zone_serial_on_disk(&folder.join("geek.zone")), Some(2));

    // The primary goes away: the copies are served until their expire.
    nsd.stop().await;
    wait_address(a.addr, "www.geek.", "192.0.2.2", 1).await;
    a.stop().await;
    let a = secondary(&config).await;
    wait_address(a.addr, "www.geek.", "192.0.2.2", 1).await;
    wait_address(a.addr, "www.libre.", "192.0.2.7", 1).await;
    a.stop().await;
}

// Past its SOA expire with no primary to confirm it, a zone is moved aside and
// no longer served (here: geek. expires after 4 s; the root zone, with a week,
// stays, so geek. is then asked of its servers — the primary, gone: SERVFAIL).
#[tokio::test]
async fn a_zone_past_its_expire_is_no_longer_served() {
    let port = free_port();
    let zones = [
        (".", root_zone(1, SLOW)),
        ("geek.", tld_zone("geek", 1, "2 1 4", "192.0.2.1")),
    ];
    let mut nsd = Nsd::start(&zones, None, false).await;
    let store = tempfile::tempdir().unwrap();
    let folder = store.path().join("alt");
    let extra = "transfer-zones = [\".\", \"geek\"]\n";
    let a = secondary(&secondary_config(port, &folder, &[nsd.addr], extra)).await;
    wait_address(a.addr, "www.geek.", "192.0.2.1", 10).await;
    // Refreshed every 2 s while the primary answers.
    let t = Instant::now();
    while count(&a, |c| &c.current) == 0 {
        assert!(t.elapsed() < Duration::from_secs(10), "never refreshed");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    nsd.stop().await;
    let t = Instant::now();
    loop {
        let (code, _) = addresses(a.addr, "www.geek.").await;
        if code == ResponseCode::ServFail {
            break;
        }
        assert!(t.elapsed() < Duration::from_secs(15), "still {code}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(!folder.join("geek.zone").exists());
    assert!(folder.join(".geek.zone.expired").is_file());
    assert_eq!(count(&a, |c| &c.expired), 1);
    assert!(count(&a, |c| &c.failed) >= 1);
    // The root zone is still served.
    let m = query(a.addr, "nosuchtld.", RecordType::A).await;
    assert_eq!(m.metadata.response_code, ResponseCode::NXDomain);
}

// With `transfer-key`, requests are signed and NSD (which gives the zones out
// only to that key) answers them.
#[tokio::test]
async fn transfers_signed_with_tsig() {
    let port = free_port();
    let zones = [
        (".", root_zone(1, SLOW)),
        ("geek.", tld_zone("geek", 1, SLOW, "192.0.2.1")),
    ];
    let nsd = Nsd::start(&zones, None, true).await;
    let store = tempfile::tempdir().unwrap();
    let folder = store.path().join("alt");
    let extra = format!(
        "transfer-key = \"xfr\"\n\n[transfer]\nkeys = [{{ name = \"{}\", secret = \"{}\" }}]\n",
        KEY.0, KEY.1
    );
    let a = secondary(&secondary_config(port, &folder, &[nsd.addr], &extra)).await;
    wait_address(a.addr, "www.geek.", "192.0.2.1", 10).await;
    assert_eq!(count(&a, |c| &c.full), 2);
}

// An altroot primary feeds an altroot secondary: an edit on the primary is
// announced by NOTIFY and comes as IXFR (the primary's journal has it).
#[tokio::test]
async fn an_altroot_primary_feeds_an_altroot_secondary_by_ixfr() {
    let port = free_port();
    // An altroot folder serves a TLD from its file, without a delegation.
    let root = format!(
        "$TTL 300\n. IN SOA a.root-servers.alt. host.root-servers.alt. 1 {SLOW} 300\n. IN NS a.root-servers.alt.\na.root-servers.alt. IN A 127.0.0.1\n"
    );
    let files = [
        ("zones/root.zone", root),
        ("zones/geek.zone", tld_zone("geek", 1, SLOW, "192.0.2.1")),
    ];
    let primary_cfg = format!(
        "[server]\nlisten = [\"127.0.0.1:0\"]\n\n[[root]]\nname = \"alt\"\nzones = \"zones\"\n\n[transfer]\nallow = [\"127.0.0.0/8\"]\nsecondaries = [\"127.0.0.1:{port}\"]\n"
    );
    let mut primary = Altroot::start(&primary_cfg, &files).await;
    primary.watch();
    let store = tempfile::tempdir().unwrap();
    let folder = store.path().join("alt");
    let extra = "transfer-zones = [\".\", \"geek\"]\n";
    let a = secondary(&secondary_config(port, &folder, &[primary.addr], extra)).await;
    wait_address(a.addr, "www.geek.", "192.0.2.1", 10).await;
    assert_eq!(count(&a, |c| &c.incremental), 0);
    std::fs::write(
        primary.path("zones/geek.zone"),
        tld_zone("geek", 2, SLOW, "192.0.2.2"),
    )
    .unwrap();
    wait_address(a.addr, "www.geek.", "192.0.2.2", 10).await;
    assert_eq!(count(&a, |c| &c.incremental), 1, "not by IXFR");
    assert_eq!(zone_serial_on_disk(&folder.join("geek.zone")), Some(2));
}

fn notify_msg(zone: &str) -> Message {
    let mut m = Message::new(rand::random(), MessageType::Query, OpCode::Notify);
    m.metadata.authoritative = true;
    m.add_query(Query::query(
        Name::from_ascii(zone).unwrap(),
        RecordType::SOA,
    ));
    m
}

// NOTIFY (RFC 1996): NOERROR with AA and the question from a primary for a zone
// the root takes; REFUSED from another address; NOTAUTH for a zone no root
// takes; FORMERR without an SOA question; a bad TSIG NOTAUTH.
#[tokio::test]
async fn notify_is_taken_from_primaries_only() {
    let port = free_port();
    let store = tempfile::tempdir().unwrap();
    let folder = store.path().join("alt");
    let primary: SocketAddr = "127.0.0.9:9".parse().unwrap();
    let extra = format!(
        "transfer-zones = [\".\", \"geek\"]\n\n[transfer]\nkeys = [{{ name = \"{}\", secret = \"{}\" }}]\n",
        KEY.0, KEY.1
    );
    let a = Altroot::start(&secondary_config(port, &folder, &[primary], &extra), &[]).await;
    let from_primary = "127.0.0.9:0".parse().unwrap();
    let from_other = "127.0.0.1:0".parse().unwrap();
    let q = notify_msg("geek.");
    let m = send_udp_from(from_primary, a.addr, &q).await.unwrap();
    assert_eq!(m.metadata.response_code, ResponseCode::NoError);
    assert_eq!(m.metadata.op_code, OpCode::Notify);
    assert_eq!(m.metadata.message_type, MessageType::Response);
    assert!(m.metadata.authoritative && !m.metadata.recursion_available);
    assert_eq!(m.queries, q.queries);
    assert_eq!(m.metadata.id, q.metadata.id);
    let m = send_udp_from(from_other, a.addr, &q).await.unwrap();
    assert_eq!(m.metadata.response_code, ResponseCode::Refused);
    assert!(!m.metadata.authoritative);
    let m = send_udp_from(from_primary, a.addr, &notify_msg("other."))
        .await
        .unwrap();
    assert_eq!(m.metadata.response_code, ResponseCode::NotAuth);
    let mut bad = notify_msg("geek.");
    bad.queries[0].set_query_type(RecordType::A);
    let m = send_udp_from(from_primary, a.addr, &bad).await.unwrap();
    assert_eq!(m.metadata.response_code, ResponseCode::FormErr);
    // Signed with a key of another name: BADKEY, nothing filed.
    let before = count(&a, |c| &c.notifies);
    let signer = hickory_proto::rr::TSigner::new(
        b"0123456789abcdef0123".to_vec(),
        hickory_proto::rr::rdata::tsig::TsigAlgorithm::HmacSha256,
        Name::from_ascii("other-key.").unwrap(),
        300,
    )
    .unwrap();
    let mut signed = notify_msg("geek.");
    signed
        .finalize(&signer, altroot::clock::unix_now())
        .unwrap();
    let m = send_udp_from(from_primary, a.addr, &signed).await.unwrap();
    assert_eq!(m.metadata.response_code, ResponseCode::NotAuth);
    assert_eq!(count(&a, |c| &c.notifies), before);
}

// A hints root's copy of its root zone by transfer: fetched from NSD, verified
// (ZONEMD and DNSSEC under the root's anchor) before it is written, served
// with the root server stopped; a newer root announced by NOTIFY replaces it.
#[tokio::test]
async fn a_hints_root_copy_comes_by_transfer_and_is_verified() {
    let fixture = |n: &str| {
        std::fs::read_to_string(manifest_dir().join("tests/fixtures/rootcopy").join(n)).unwrap()
    };
    let mut w = crate::world::World::start(standard_world).await;
    w.stop("root").await;
    let port = free_port();
    let me: SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
    let nsd = Nsd::start(&[(".", fixture("root.zone"))], Some(me), false).await;
    let cfg = format!(
        "[server]\nlisten = [\"127.0.0.1:{port}\"]\nquery-timeout = \"3s\"\n\n{}copy = \"copy/root.zone\"\ntrust-anchors = [\"anchor.ds\"]\ntransfer-from = [\"{}\"]\n",
        icann_root(&w),
        nsd.addr
    );
    let files = [
        ("hints.txt", hints(&w)),
        ("anchor.ds", fixture("anchor.ds")),
    ];
    let mut a = Altroot::start(&cfg, &files).await;
    a.watch();
    let serial_of = |m: &Message| {
        m.authorities.iter().find_map(|r| match &r.data {
            RData::SOA(s) => Some(s.serial),
            _ => None,
        })
    };
    let wait_serial = |want: u32| {
        let addr = a.addr;
        async move {
            let t = Instant::now();
            loop {
                let m = query(addr, "nosuchtld.", RecordType::A).await;
                if m.metadata.response_code == ResponseCode::NXDomain && serial_of(&m) == Some(want)
                {
                    return;
                }
                assert!(t.elapsed() < Duration::from_secs(15), "{m:?}");
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
    };
    wait_serial(2026120601).await;
    assert!(a.path("copy/root.zone").is_file());
    nsd.edit(".", &fixture("root2.zone"));
    wait_serial(2026120602).await;
    let ri = a.service.resolver.root_index("icann").unwrap();
    let c = a.service.resolver.claim(ri, &name("gamma.")).await;
    assert_eq!(c.has, Ok(true), "{}", c.how);
}

// A transferred root copy that does not verify is never written: the WARN line
// says why, and the root asks its servers (the binary, to read its log).
#[tokio::test]
async fn a_transferred_copy_that_fails_verification_is_not_written() {
    let fixture = |n: &str| manifest_dir().join("tests/fixtures/rootcopy").join(n);
    let tampered = std::fs::read_to_string(fixture("tampered.zone")).unwrap();
    let nsd = Nsd::start(&[(".", tampered)], None, false).await;
    let w = crate::world::World::start(standard_world).await;
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("hints.txt"), hints(&w)).unwrap();
    std::fs::copy(fixture("anchor.ds"), dir.path().join("anchor.ds")).unwrap();
    let cfg = format!(
        "[server]\nlisten = [\"127.0.0.1:0\"]\n\n{}copy = \"root.zone\"\ntrust-anchors = [\"anchor.ds\"]\ntransfer-from = [\"{}\"]\n",
        icann_root(&w),
        nsd.addr
    );
    let conf = dir.path().join("altroot.toml");
    std::fs::write(&conf, cfg).unwrap();
    let mut cmd = std::process::Command::new(BIN);
    cmd.arg("serve").arg("-c").arg(&conf);
    let mut p = Daemon::spawn(cmd, "altroot");
    let line = p.wait_line("is not used");
    assert!(line.contains("WARN"), "{line}");
    assert!(
        line.contains("ZONEMD") || line.contains("signature"),
        "{line}"
    );
    assert!(!dir.path().join("root.zone").exists());
    let leftovers: Vec<PathBuf> = std::fs::read_dir(dir.path())
        .unwrap()
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.to_string_lossy().contains(".new"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
    p.signal(libc::SIGTERM);
    let _ = p.wait_exit();
}
