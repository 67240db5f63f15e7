//! altroot signing its own alternate root (issue 15 §3b): `altroot keygen` makes
//! the keys, altroot signs root.zone and the TLD zones beside it when it loads
//! them, and independent tools check the result: ldns-verify-zone and BIND's
//! dnssec-verify accept every zone as altroot serves it (dumped from the running
//! service: altroot refuses zone transfers), and a real Unbound, trusting only
//! what `altroot ds` prints, validates answers through altroot (AD) and calls
//! them bogus under a key that is not the root's. altroot's own validator, given
//! the same DS as the root's trust anchor, sets AD on its own signed data.

use std::net::SocketAddr;
use std::path::Path;
use std::process::Command;

use altroot::config::Config;
use hickory_proto::dnssec::rdata::DNSSECRData;
use hickory_proto::op::{Message, ResponseCode};
use hickory_proto::rr::{RData, RecordType};

use crate::harness::*;
use crate::system::{BIN, Daemon, free_port, need, start_unbound};

const ROOT_ZONE: &str = "\
. 86400 IN SOA a.root.alt. admin.alt. 2026120601 1800 900 604800 3600
. 86400 IN NS a.root.alt.
a.root.alt. 86400 IN A 127.0.0.1
; a TLD served elsewhere, unsigned: its delegation gets no DS
ext. 86400 IN NS ns.ext.
ns.ext. 86400 IN A 192.0.2.53
";

const GEEK_ZONE: &str = "\
geek. 3600 IN SOA ns.geek. admin.geek. 7 1800 900 604800 3600
geek. 3600 IN NS ns.geek.
ns.geek. 3600 IN A 127.0.0.1
www.geek. 3600 IN A 192.0.2.80
www.geek. 3600 IN AAAA 2001:db8::80
Alias.geek. 3600 IN CNAME www.geek.
*.wild.geek. 300 IN TXT \"any name\"
mail.geek. 3600 IN MX 10 www.geek.
";

const CONFIG: &str =
    "[server]\nlisten = [\"127.0.0.1:0\"]\n\n[[root]]\nname = \"alt\"\nzones = \"zones\"\n";

/// Runs the altroot binary in `dir` (its altroot.toml); stdout, or a failure
/// with what it said.
fn altroot(dir: &Path, args: &[&str]) -> String {
    let out = Command::new(BIN)
        .args(args)
        .arg("-c")
        .arg(dir.join("altroot.toml"))
        .output()
        .expect("altroot runs");
    assert!(
        out.status.success(),
        "altroot {args:?}: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// A zones root with root.zone and geek.zone, keys made by `altroot keygen`.
fn signed_folder(algorithm: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("zones")).unwrap();
    std::fs::write(dir.path().join("zones/root.zone"), ROOT_ZONE).unwrap();
    std::fs::write(dir.path().join("zones/geek.zone"), GEEK_ZONE).unwrap();
    std::fs::write(dir.path().join("altroot.toml"), CONFIG).unwrap();
    let out = altroot(
        dir.path(),
        &["keygen", "--root", "alt", "--algorithm", algorithm],
    );
    assert!(out.contains("keys/ksk.pem"), "{out}");
    dir
}

/// Exit code, stdout and stderr of the altroot binary in `dir`.
fn run(dir: &Path, args: &[&str]) -> (i32, String, String) {
    let out = Command::new(BIN)
        .current_dir(dir)
        .args(args)
        .env_remove("RUST_LOG")
        .output()
        .expect("altroot runs");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

// The commands' mistakes: a root the config lacks or that altroot does not
// serve itself (exit 2), keys that exist already, a root without keys (exit 1),
// each saying what to do.
#[test]
fn keygen_and_ds_say_what_is_wrong() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("zones")).unwrap();
    std::fs::write(dir.path().join("zones/geek.zone"), GEEK_ZONE).unwrap();
    std::fs::write(
        dir.path().join("altroot.toml"),
        format!("{CONFIG}\n[[root]]\nname = \"up\"\nforward = [\"127.0.0.1:5300\"]\n"),
    )
    .unwrap();
    let c = ["-c", "altroot.toml"];
    let (code, _, err) = run(
        dir.path(),
        &[&["keygen", "--root", "nope"][..], &c].concat(),
    );
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("no root called \"nope\" in the config (its roots: alt, up)"),
        "{err}"
    );
    let (code, _, err) = run(dir.path(), &[&["keygen", "--root", "up"][..], &c].concat());
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("not a zones root"), "{err}");
    let (code, _, err) = run(dir.path(), &[&["ds", "--root", "alt"][..], &c].concat());
    assert_eq!(code, 1, "{err}");
    assert!(
        err.contains("altroot keygen --root alt makes its keys"),
        "{err}"
    );
    let (code, out, _) = run(dir.path(), &[&["keygen", "--root", "alt"][..], &c].concat());
    assert_eq!(code, 0);
    assert!(out.contains("KSK key tag"), "{out}");
    let (code, _, err) = run(dir.path(), &[&["keygen", "--root", "alt"][..], &c].concat());
    assert_eq!(code, 1, "{err}");
    assert!(
        err.contains("keys exist already; --force replaces them"),
        "{err}"
    );
    // No root zone: the TLD zone is the top zone and gets its own DS.
    let (code, out, _) = run(
        dir.path(),
        &[&["ds", "--root", "alt", "--format", "zone"][..], &c].concat(),
    );
    assert_eq!(code, 0);
    assert!(out.starts_with("geek. 3600 IN DS "), "{out}");
}

async fn serve(dir: tempfile::TempDir, config: &str) -> Altroot {
    let path = dir.path().join("altroot.toml");
    std::fs::write(&path, config).unwrap();
    let cfg = Config::load(&path).unwrap_or_else(|e| panic!("{e}"));
    Altroot::serve(cfg, dir).await
}

/// Every zone altroot serves for root 0, written out in master-file form.
fn dump_zones(a: &Altroot, out: &Path) -> Vec<(String, std::path::PathBuf)> {
    let set = a.router().zones(0).expect("a zones root");
    set.zones()
        .map(|z| {
            let origin = z.origin().to_string();
            let file = out.join(format!("{}signed", origin.replace('.', "_")));
            let text: String = z.records().iter().map(master_line).collect();
            std::fs::write(&file, text).unwrap();
            (origin, file)
        })
        .collect()
}

/// One record as a master-file line. hickory writes TXT strings bare (`any name`
/// would be read back as two strings), so those are quoted here.
fn master_line(r: &hickory_proto::rr::Record) -> String {
    match &r.data {
        RData::TXT(t) => {
            let strings: Vec<String> = t
                .txt_data
                .iter()
                .map(|s| {
                    let escaped: String = s
                        .iter()
                        .map(|&b| match b {
                            b'"' | b'\\' => format!("\\{}", b as char),
                            0x20..=0x7e => (b as char).to_string(),
                            _ => format!("\\{b:03}"),
                        })
                        .collect();
                    format!("\"{escaped}\"")
                })
                .collect();
            format!("{} {} IN TXT {}\n", r.name, r.ttl, strings.join(" "))
        }
        _ => format!("{r}\n"),
    }
}

// ldns-verify-zone and dnssec-verify check every zone altroot signed: every
// RRSIG verifies, every authoritative RRset is signed (with the KSK for the
// DNSKEY RRset), the NSEC chain is complete. Both algorithms.
#[tokio::test]
async fn independent_verifiers_accept_the_signed_zones() {
    let ldns = need("ldns-verify-zone", "ldnsutils");
    let bind = need("dnssec-verify", "bind9-utils");
    for alg in ["ecdsap256", "ed25519"] {
        let a = serve(signed_folder(alg), CONFIG).await;
        let out = tempfile::tempdir().unwrap();
        let zones = dump_zones(&a, out.path());
        assert_eq!(zones.len(), 2);
        for (origin, file) in &zones {
            let r = Command::new(&ldns).arg(file).output().unwrap();
            let text = String::from_utf8_lossy(&r.stdout).into_owned()
                + &String::from_utf8_lossy(&r.stderr);
            assert!(
                r.status.success() && text.contains("Zone is verified and complete"),
                "{alg} ldns-verify-zone {origin}:\n{text}\n{}",
                std::fs::read_to_string(file).unwrap()
            );
            let r = Command::new(&bind)
                .args(["-o", origin])
                .arg(file)
                .output()
                .unwrap();
            let text = String::from_utf8_lossy(&r.stdout).into_owned()
                + &String::from_utf8_lossy(&r.stderr);
            assert!(
                r.status.success() && text.contains("Zone fully signed"),
                "{alg} dnssec-verify {origin}:\n{text}"
            );
        }
        // The root zone holds geek.'s DS (geek.zone is ours), not ext.'s.
        let root = a
            .router()
            .zones(0)
            .unwrap()
            .get(&hickory_proto::rr::LowerName::from(
                hickory_proto::rr::Name::root(),
            ))
            .unwrap()
            .records();
        let ds: Vec<String> = root
            .iter()
            .filter(|r| r.record_type() == RecordType::DS)
            .map(|r| r.name.to_string())
            .collect();
        assert_eq!(ds, ["geek."]);
    }
}

async fn ask(server: SocketAddr, qname: &str, qtype: RecordType) -> Message {
    let mut q = make_query(qname, qtype, Some(1232));
    q.metadata.recursion_desired = true;
    if let Some(e) = q.edns.as_mut() {
        e.set_dnssec_ok(true);
    }
    send_udp(server, &q).await
}

/// Unbound forwarding everything to altroot, trusting `anchor` lines.
fn unbound(dir: &Path, altroot: SocketAddr, anchor: &str) -> (Daemon, SocketAddr) {
    let bin = need("unbound", "unbound");
    let port = free_port();
    let conf = dir.join("unbound.conf");
    std::fs::write(
        &conf,
        format!(
            "server:\n    interface: 127.0.0.1\n    port: {port}\n    do-ip6: no\n    username: \"\"\n    \
             chroot: \"\"\n    directory: \"{d}\"\n    pidfile: \"\"\n    use-syslog: no\n    logfile: \"\"\n    \
             verbosity: 1\n    val-log-level: 2\n    access-control: 127.0.0.0/8 allow\n    do-not-query-localhost: no\n    \
             module-config: \"validator iterator\"\n    {anchor}\n\
             forward-zone:\n    name: \".\"\n    forward-addr: {ip}@{p}\n",
            d = dir.display(),
            ip = altroot.ip(),
            p = altroot.port()
        ),
    )
    .unwrap();
    let d = start_unbound(&bin, &conf);
    (d, format!("127.0.0.1:{port}").parse().unwrap())
}

// Unbound with the trust anchor `altroot ds` prints validates answers and
// denials from altroot's signed root and TLD (AD), the unsigned delegation
// ext. is insecure (no AD), and with a key that is not the root's everything
// signed is bogus (SERVFAIL).
#[tokio::test]
async fn unbound_validates_the_signed_alt_root_with_the_printed_ds() {
    let folder = signed_folder("ecdsap256");
    let anchor = altroot(
        folder.path(),
        &["ds", "--root", "alt", "--format", "unbound"],
    );
    assert!(
        anchor.starts_with("trust-anchor: \". 3600 IN DS "),
        "{anchor}"
    );
    let a = serve(folder, CONFIG).await;
    let udir = tempfile::tempdir().unwrap();
    let (_u, front) = unbound(udir.path(), a.addr, anchor.trim());
    let secure = [
        ("www.geek.", RecordType::A, ResponseCode::NoError),
        ("alias.geek.", RecordType::A, ResponseCode::NoError),
        ("x.wild.geek.", RecordType::TXT, ResponseCode::NoError),
        ("nope.geek.", RecordType::A, ResponseCode::NXDomain),
        ("www.geek.", RecordType::MX, ResponseCode::NoError),
        ("nope.", RecordType::A, ResponseCode::NXDomain),
        ("geek.", RecordType::DS, ResponseCode::NoError),
    ];
    for (qname, qtype, rcode) in secure {
        let m = ask(front, qname, qtype).await;
        assert_eq!(m.metadata.response_code, rcode, "{qname} {qtype}: {m:?}");
        assert!(
            m.metadata.authentic_data,
            "{qname} {qtype}: Unbound says secure (AD): {m:?}"
        );
    }
    let m = ask(front, "www.geek.", RecordType::A).await;
    assert_eq!(m.answers[0].data.to_string(), "192.0.2.80");

    // A DS for another key: the same answers are bogus.
    let other = signed_folder("ecdsap256");
    let wrong = altroot(
        other.path(),
        &["ds", "--root", "alt", "--format", "unbound"],
    );
    assert_ne!(wrong, anchor);
    let udir2 = tempfile::tempdir().unwrap();
    let (bad, front) = unbound(udir2.path(), a.addr, wrong.trim());
    for (qname, qtype, _) in secure {
        let m = ask(front, qname, qtype).await;
        assert_eq!(
            m.metadata.response_code,
            ResponseCode::ServFail,
            "{qname} {qtype} under a key that is not the root's: {m:?}"
        );
    }
    assert!(
        bad.find("validation failure").is_some(),
        "Unbound logs why: {}",
        bad.output()
    );
}

// altroot's own validator, with the DS file `altroot ds --format zone` writes
// as the root's trust anchor, says its own signed data is secure.
#[tokio::test]
async fn altroot_validates_its_own_signed_root() {
    let folder = signed_folder("ed25519");
    let ds = altroot(folder.path(), &["ds", "--root", "alt", "--format", "zone"]);
    std::fs::write(folder.path().join("alt.ds"), &ds).unwrap();
    let config = format!("{CONFIG}trust-anchors = [\"alt.ds\"]\n");
    let a = serve(folder, &config).await;
    for (qname, qtype, rcode) in [
        ("www.geek.", RecordType::A, ResponseCode::NoError),
        ("nope.geek.", RecordType::A, ResponseCode::NXDomain),
        ("nope.", RecordType::A, ResponseCode::NXDomain),
    ] {
        let m = ask(a.addr, qname, qtype).await;
        assert_eq!(m.metadata.response_code, rcode, "{qname}: {m:?}");
        assert!(m.metadata.authentic_data, "{qname} {qtype}: AD: {m:?}");
        let sigs = m
            .answers
            .iter()
            .chain(&m.authorities)
            .filter(|r| matches!(r.data, RData::DNSSEC(DNSSECRData::RRSIG(_))))
            .count();
        assert!(sigs > 0, "{qname}: RRSIGs with DO");
    }
}

/// The inception of the RRSIG over www.geek. A as altroot serves it now.
async fn inception(a: &Altroot) -> u32 {
    let m = ask(a.addr, "www.geek.", RecordType::A).await;
    m.answers
        .iter()
        .find_map(|r| match &r.data {
            RData::DNSSEC(DNSSECRData::RRSIG(s)) => Some(s.input().sig_inception.get()),
            _ => None,
        })
        .unwrap_or_else(|| panic!("no RRSIG: {m:?}"))
}

// Signatures are renewed before they age: once a zone's are within 10 days of
// their expiry (the clock moved 4 days on), the live reload's periodic check
// signs the zones again, though no file changed; until then it does not.
#[tokio::test]
async fn the_watcher_signs_again_before_signatures_expire() {
    let a = serve(signed_folder("ecdsap256"), CONFIG).await;
    let watch = altroot::service::watch::spawn(a.service.clone());
    let first = inception(&a).await;
    // The watcher's first look (a reload of nothing changed) is done, and a
    // periodic check after it found nothing due.
    let stats = watch.stats();
    let count = |c: &std::sync::atomic::AtomicU64| c.load(std::sync::atomic::Ordering::SeqCst);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while count(&stats.reloads) < 1 || count(&stats.polls) < 2 {
        assert!(
            std::time::Instant::now() < deadline,
            "the watcher never looked"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(inception(&a).await, first, "nothing due, nothing signed");
    assert!(!a.service.resign_due());
    a.service
        .clock()
        .advance(std::time::Duration::from_secs(4 * 86_400));
    assert!(a.service.resign_due());
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    loop {
        let now = inception(&a).await;
        if now != first {
            assert!(now >= first + 4 * 86_400, "{first} → {now}");
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "not signed again within 20 s"
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(!a.service.resign_due(), "fresh signatures");
}
