//! A hints root's local copy of its root zone (RFC 8806, issue 16 §1): the fake
//! signed roots of tests/fixtures/rootcopy (ldns-signzone with ZONEMD) as copies of
//! the standard world's fake ICANN root. A verified copy answers TLD questions with
//! the root server stopped; a tampered or expired copy is refused with a WARN line
//! and the root asks its server again.

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use hickory_proto::op::ResponseCode;
use hickory_proto::rr::{RData, RecordType};

use crate::harness::*;
use crate::system::{BIN, Daemon};
use crate::world::World;

fn fixture(name: &str) -> PathBuf {
    manifest_dir().join("tests/fixtures/rootcopy").join(name)
}

fn read(name: &str) -> String {
    std::fs::read_to_string(fixture(name)).unwrap()
}

/// The fake ICANN root's `[[root]]` with `copy = "copy.zone"` and the fixture's
/// anchor; `extra` goes into the table.
fn copy_root(w: &World, extra: &str) -> String {
    format!(
        "[server]\nlisten = [\"127.0.0.1:0\"]\nquery-timeout = \"3s\"\n\n{}copy = \"copy.zone\"\ntrust-anchors = [\"anchor.ds\"]\n{extra}",
        icann_root(w)
    )
}

fn files(w: &World, copy: &str) -> Vec<(&'static str, String)> {
    vec![
        ("hints.txt", hints(w)),
        ("copy.zone", read(copy)),
        ("anchor.ds", read("anchor.ds")),
    ]
}

/// The serial of the SOA in a negative answer's authority section.
fn soa_serial(m: &hickory_proto::op::Message) -> Option<u32> {
    m.authorities.iter().find_map(|r| match &r.data {
        RData::SOA(s) => Some(s.serial),
        _ => None,
    })
}

// The copy verifies (ZONEMD and DNSSEC under the anchor): with the root server
// stopped, a TLD the copy lacks is NXDOMAIN with the copy's SOA, and the claims
// for its TLDs come from the copy; the root server is never asked.
#[tokio::test]
async fn a_verified_copy_answers_tld_questions_without_the_root_server() {
    let mut w = World::start(standard_world).await;
    w.stop("root").await;
    let a = Altroot::start(&copy_root(&w, ""), &files(&w, "root.zone")).await;
    let m = query(a.addr, "nosuchtld.", RecordType::A).await;
    assert_eq!(m.metadata.response_code, ResponseCode::NXDomain);
    assert_eq!(soa_serial(&m), Some(2026120601));
    let r = a.service.resolver.clone();
    let ri = r.root_index("icann").unwrap();
    let c = r.claim(ri, &name("alpha.")).await;
    assert_eq!(c.has, Ok(true));
    assert!(
        c.how.contains("copy of its root zone, serial 2026120601"),
        "{}",
        c.how
    );
    // The fake ICANN root has com.; the copy does not.
    assert_eq!(r.claim(ri, &name("com.")).await.has, Ok(false));
    assert!(asked(&w, "root").is_empty(), "{:?}", asked(&w, "root"));
}

// Control for the test above: without a copy the same question needs the root
// server, which is stopped.
#[tokio::test]
async fn without_a_copy_the_stopped_root_server_is_missed() {
    let mut w = World::start(standard_world).await;
    w.stop("root").await;
    let cfg = copy_root(&w, "").replace("copy = \"copy.zone\"\n", "");
    let a = Altroot::start(&cfg, &files(&w, "root.zone")).await;
    let m = query(a.addr, "nosuchtld.", RecordType::A).await;
    assert_eq!(m.metadata.response_code, ResponseCode::ServFail);
}

/// `altroot serve` on `dir/altroot.toml`, its log lines collected.
fn serve(dir: &Path) -> Daemon {
    let mut cmd = std::process::Command::new(BIN);
    cmd.args(["serve", "--config"])
        .arg(dir.join("altroot.toml"))
        .env_remove("RUST_LOG");
    Daemon::spawn(cmd, "altroot serve")
}

fn write_dir(cfg: &str, files: &[(&str, String)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for (p, t) in files {
        std::fs::write(dir.path().join(p), t).unwrap();
    }
    std::fs::write(dir.path().join("altroot.toml"), cfg).unwrap();
    dir
}

/// Starts altroot on `dir`, waits for `needle` in a WARN line and returns it with
/// the address altroot listens on.
fn warned(dir: &Path, needle: &str) -> (Daemon, String, std::net::SocketAddr) {
    let mut p = serve(dir);
    let line = p.wait_line(needle);
    let first = p.wait_line("listening on 127.0.0.1:");
    p.wait_line("altroot ready");
    (p, line, crate::process::addr_from(&first))
}

// One glue address changed after signing (the glue is not signed, so only the
// ZONEMD can tell): the copy is refused with a WARN line saying why, and the root
// asks its server (the world's root is unsigned, so under the fixture's anchor its
// answer is bogus: what matters here is that it was asked).
#[tokio::test]
async fn a_tampered_copy_is_refused_and_the_root_asks_its_server() {
    let w = World::start(standard_world).await;
    let dir = write_dir(&copy_root(&w, ""), &files(&w, "tampered.zone"));
    let (_p, line, addr) = warned(dir.path(), "not using the copy");
    assert!(line.contains(" WARN "), "{line}");
    assert!(line.contains("ZONEMD digest does not match"), "{line}");
    assert!(line.contains("asking its root servers"), "{line}");
    let m = query(addr, "nosuchtld.", RecordType::A).await;
    assert_ne!(soa_serial(&m), Some(2026120601));
    assert!(!asked(&w, "root").is_empty());
}

// A copy fetched longer ago than its SOA expire (604800 s) is dropped at start.
#[tokio::test]
async fn a_copy_past_its_expire_is_refused() {
    let w = World::start(standard_world).await;
    let dir = write_dir(&copy_root(&w, ""), &files(&w, "root.zone"));
    let old = SystemTime::now() - Duration::from_secs(604_800 + 3600);
    std::fs::File::options()
        .write(true)
        .open(dir.path().join("copy.zone"))
        .unwrap()
        .set_modified(old)
        .unwrap();
    let (_p, line, addr) = warned(dir.path(), "not using the copy");
    assert!(line.contains("past its SOA expire"), "{line}");
    let m = query(addr, "nosuchtld.", RecordType::A).await;
    assert_ne!(soa_serial(&m), Some(2026120601));
    assert!(!asked(&w, "root").is_empty());
}

// A copy that expires while served is dropped by the periodic check: the service
// clock is moved past the expire, and the root asks its server again.
#[tokio::test]
async fn a_copy_that_expires_while_served_is_dropped() {
    let w = World::start(standard_world).await;
    let a = Altroot::start(&copy_root(&w, ""), &files(&w, "root.zone")).await;
    let m = query(a.addr, "nosuchtld.", RecordType::A).await;
    assert_eq!(soa_serial(&m), Some(2026120601));
    assert!(asked(&w, "root").is_empty());
    a.service.expire_copies();
    let ri = a.service.resolver.root_index("icann").unwrap();
    assert!(
        a.service.resolver.zones(ri).is_some(),
        "dropped before expire"
    );
    a.service.clock().advance(Duration::from_secs(604_800));
    a.service.expire_copies();
    assert!(a.service.resolver.zones(ri).is_none());
    let m = query(a.addr, "nosuchtld.", RecordType::A).await;
    assert_ne!(soa_serial(&m), Some(2026120601));
    assert!(!asked(&w, "root").is_empty());
}

// `verify = "none"` serves a copy that cannot verify, with a WARN line saying it
// is unverified and how old it is.
#[tokio::test]
async fn verify_none_serves_the_copy_unverified_and_says_so() {
    let w = World::start(standard_world).await;
    let dir = write_dir(
        &copy_root(&w, "verify = \"none\"\n"),
        &files(&w, "tampered.zone"),
    );
    let (_p, line, addr) = warned(dir.path(), "UNVERIFIED copy");
    assert!(line.contains(" WARN ") && line.contains(" old"), "{line}");
    let m = query(addr, "nosuchtld.", RecordType::A).await;
    assert_eq!(soa_serial(&m), Some(2026120601));
    assert!(asked(&w, "root").is_empty());
}

// `altroot collisions` with the root server stopped: the copy says which TLDs the
// ICANN side has, so a TLD of the alternate root that the copy also has (alpha)
// is a collision, and one it lacks (geek) is not.
#[tokio::test]
async fn collisions_come_from_the_copy_offline() {
    let mut w = World::start(standard_world).await;
    w.stop("root").await;
    let zone = |t: &str| {
        format!(
            "$TTL 300\n@ SOA ns.{t}. h.{t}. 1 3600 600 86400 60\n@ NS ns.{t}.\nns A 192.0.2.1\n"
        )
    };
    let cfg = format!(
        "[[root]]\nname = \"alt\"\nzones = \"zones\"\n\n{}copy = \"copy.zone\"\ntrust-anchors = [\"anchor.ds\"]\n",
        icann_root(&w)
    );
    let mut f = files(&w, "root.zone");
    f.push(("zones/alpha.zone", zone("alpha")));
    f.push(("zones/geek.zone", zone("geek")));
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("zones")).unwrap();
    for (p, t) in &f {
        std::fs::write(dir.path().join(p), t).unwrap();
    }
    std::fs::write(dir.path().join("altroot.toml"), cfg).unwrap();
    let out = std::process::Command::new(BIN)
        .current_dir(dir.path())
        .args(["collisions", "--config", "altroot.toml"])
        .env_remove("RUST_LOG")
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(text.contains("alpha"), "{text}");
    assert!(
        text.contains("its copy of its root zone, serial 2026120601"),
        "{text}"
    );
    assert!(!text.contains("could not be asked"), "{text}");
    assert!(
        !text
            .lines()
            .any(|l| l.trim_start().starts_with("geek  in ")),
        "{text}"
    );
    assert!(asked(&w, "root").is_empty());
}

/// The serial of the copy root `icann` serves now, if any.
fn copy_serial(a: &Altroot) -> Option<u32> {
    let r = &a.service.resolver;
    let set = r.zones(r.root_index("icann")?)?;
    set.get(&hickory_proto::rr::LowerName::from(name(".")))
        .map(|z| z.serial())
}

/// Replaces `copy.zone` in `a`'s folder with the fixture `from`, as a download
/// tool does (a new file renamed over the old).
fn replace_copy(a: &Altroot, from: &str) {
    let tmp = a.path("copy.zone.tmp");
    std::fs::write(&tmp, read(from)).unwrap();
    std::fs::rename(&tmp, a.path("copy.zone")).unwrap();
}

// A new copy saved over the file is read by the watcher and served once it
// verifies (a new serial with one more TLD); a tampered one is refused with the
// copy in use kept.
#[tokio::test]
async fn a_new_copy_is_served_once_it_verifies_and_a_bad_one_keeps_the_old() {
    let mut w = World::start(standard_world).await;
    w.stop("root").await;
    let mut a = Altroot::start(&copy_root(&w, ""), &files(&w, "root.zone")).await;
    a.watch();
    assert_eq!(copy_serial(&a), Some(2026120601));
    let m = query(a.addr, "gamma.", RecordType::NS).await;
    assert_eq!(m.metadata.response_code, ResponseCode::NXDomain);
    replace_copy(&a, "root2.zone");
    let t = std::time::Instant::now();
    while copy_serial(&a) != Some(2026120602) {
        assert!(t.elapsed() < Duration::from_secs(10), "new copy not served");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let ri = a.service.resolver.root_index("icann").unwrap();
    assert_eq!(
        a.service.resolver.claim(ri, &name("gamma.")).await.has,
        Ok(true)
    );
    // A tampered copy (serial 2026120601) is refused: the reload changes nothing.
    replace_copy(&a, "tampered.zone");
    let (_, changed) = a.service.reload(false);
    assert!(!changed);
    assert_eq!(copy_serial(&a), Some(2026120602));
    assert!(asked(&w, "root").is_empty());
}
