//! Adversarial edges of zone editing, `check`, `compare`/`collisions` and the
//! command line. Each test states the behaviour it expects; where the docs are
//! silent, the comment says so and the test asserts what a careful DNS operator
//! would expect.
//!
//! Network: loopback only. `compare` runs only on configs whose roots are a zones
//! folder (in-process) or the fake worlds; `collisions` only with `--offline`.

use std::io::Read;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use hickory_proto::op::ResponseCode;
use hickory_proto::rr::{RData, RecordType};

use crate::harness::*;
use crate::world::World;

const BIN: &str = env!("CARGO_BIN_EXE_altroot");

//------------ helpers ----------------------------------------------------------

/// geek. with `www` at `www` (all owners relative, so the file can move to another TLD).
fn geek(version: u32, www: &str) -> String {
    format!(
        "$TTL 300\n@ 300 SOA ns.geek. h.geek. {version} 3600 600 86400 60\n@ NS ns.geek.\nns A 127.0.0.1\nwww A {www}\n"
    )
}

/// geek. without `www` (4 lines).
fn geek_base(version: u32) -> String {
    format!(
        "$TTL 300\n@ 300 SOA ns.geek. h.geek. {version} 3600 600 86400 60\n@ NS ns.geek.\nns A 127.0.0.1\n"
    )
}

/// The standard world, geek.zone replaced by `geek(1, 192.0.2.1)`, optionally watched.
async fn started(watch: bool) -> (World, Altroot) {
    let (w, mut a) = standard("").await;
    std::fs::write(a.path("zones/geek.zone"), geek(1, "192.0.2.1")).unwrap();
    let (problems, _) = a.service.reload(true);
    assert!(
        problems.iter().all(|p| !p.is_error()),
        "setup: {problems:?}"
    );
    if watch {
        a.watch();
    }
    (w, a)
}

fn a_of(m: &hickory_proto::op::Message) -> Vec<String> {
    addrs(m).iter().map(ToString::to_string).collect()
}

/// Polls (bounded by `secs`) until `name A` has `want` among its addresses.
async fn until_a(a: &Altroot, name: &str, want: &str, secs: u64) -> Result<Duration, String> {
    let t = Instant::now();
    let mut last = Vec::new();
    while t.elapsed() < Duration::from_secs(secs) {
        let m = a.query(name, RecordType::A).await;
        last = a_of(&m);
        if last.iter().any(|ip| ip == want) {
            return Ok(t.elapsed());
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    Err(format!(
        "{name} never answered {want} within {secs} s (last answer: {last:?})"
    ))
}

/// Polls (bounded) until `name A` gets `rcode`.
async fn until_rcode(
    a: &Altroot,
    name: &str,
    rcode: ResponseCode,
    secs: u64,
) -> Result<(), String> {
    let t = Instant::now();
    let mut last = ResponseCode::NoError;
    while t.elapsed() < Duration::from_secs(secs) {
        let m = a.query(name, RecordType::A).await;
        last = m.metadata.response_code;
        if last == rcode {
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    Err(format!(
        "{name} never got {rcode:?} within {secs} s (last {last:?})"
    ))
}

async fn www_geek(a: &Altroot) -> Vec<String> {
    a_of(&a.query("www.geek.", RecordType::A).await)
}

/// Writes `geek.zone`, reloads (not forced) and returns the new problems.
fn reload_geek(a: &Altroot, text: &str) -> Vec<String> {
    std::fs::write(a.path("zones/geek.zone"), text).unwrap();
    a.service
        .reload(false)
        .0
        .iter()
        .map(ToString::to_string)
        .collect()
}

/// Runs the binary in `dir`, bounded by `secs`; returns (exit code, stdout, stderr).
fn run_in(dir: &Path, args: &[&str], secs: u64) -> (Option<i32>, String, String) {
    let mut child = Command::new(BIN)
        .current_dir(dir)
        .args(args)
        .env_remove("RUST_LOG")
        .env("NO_COLOR", "1")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut out = child.stdout.take().unwrap();
    let mut err = child.stderr.take().unwrap();
    let to = std::thread::spawn(move || {
        let mut b = Vec::new();
        let _ = out.read_to_end(&mut b);
        String::from_utf8_lossy(&b).into_owned()
    });
    let te = std::thread::spawn(move || {
        let mut b = Vec::new();
        let _ = err.read_to_end(&mut b);
        String::from_utf8_lossy(&b).into_owned()
    });
    let deadline = Instant::now() + Duration::from_secs(secs);
    let code = loop {
        if let Some(st) = child.try_wait().unwrap() {
            break st.code();
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("altroot {args:?} did not finish within {secs} s");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    (code, to.join().unwrap(), te.join().unwrap())
}

/// A temp folder with an alt-only config (`zones/`, no network at all) and `files`.
fn alt_only(files: &[(&str, String)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("zones")).unwrap();
    for (p, t) in files {
        let p = dir.path().join(p);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, t).unwrap();
    }
    std::fs::write(
        dir.path().join("altroot.toml"),
        "[server]\nlisten = [\"127.0.0.1:0\"]\nquery-timeout = \"2s\"\n[[root]]\nname = \"alt\"\nzones = \"zones\"\n",
    )
    .unwrap();
    dir
}

fn check_in(dir: &Path) -> (Option<i32>, String) {
    let (code, out, _) = run_in(dir, &["check", "--config", "altroot.toml"], 30);
    (code, out)
}

/// `alt.` zone text (no TLD warnings) with `extra` appended.
fn alt_zone(extra: &str) -> String {
    format!(
        "$TTL 300\n@ 300 SOA ns.alt. h.alt. 1 3600 600 86400 300\n@ NS ns.alt.\nns A 127.0.0.1\n{extra}"
    )
}

//------------ live reload: renames, includes, odd files ---------------------------

// Renaming geek.zone to libre.zone while serving: the TLD moves. geek leaves the alt
// root (now NXDOMAIN from the fake ICANN root), libre appears (all names are relative).
#[tokio::test]
async fn rename_zone_file_to_another_tld_moves_the_tld() {
    let (_w, a) = started(true).await;
    std::fs::rename(a.path("zones/geek.zone"), a.path("zones/libre.zone")).unwrap();
    until_a(&a, "www.libre.", "192.0.2.1", 5).await.unwrap();
    until_rcode(&a, "www.geek.", ResponseCode::NXDomain, 5)
        .await
        .unwrap();
}

// A zone edited to `$INCLUDE` a file that does not exist yet is broken (docs/zones.md: a
// broken save changes nothing, the last good version is served); creating the file
// later is a change to "a file it $INCLUDEs" and must be served within about a
// second. The watcher's refused reload of the broken save shows it has been
// through it before the "last good version" claim is checked.
#[tokio::test]
async fn include_of_missing_file_is_served_once_the_file_appears() {
    let (_w, a) = started(true).await;
    let refused = crate::reload::refused_reloads(&a);
    std::fs::write(
        a.path("zones/geek.zone"),
        format!("{}$INCLUDE later.inc\n", geek_base(2)),
    )
    .unwrap();
    crate::reload::until_refused(&a, refused, 1).await;
    assert_eq!(
        www_geek(&a).await,
        vec!["192.0.2.1"],
        "last good version kept"
    );
    std::fs::write(a.path("zones/later.inc"), "www A 192.0.2.77\n").unwrap();
    until_a(&a, "www.geek.", "192.0.2.77", 5).await.unwrap();
}

// The missing include is reported once, at the `$INCLUDE` line of the zone file.
#[tokio::test]
async fn include_of_missing_file_is_reported_at_the_include_line() {
    let (_w, a) = started(false).await;
    let p = reload_geek(&a, &format!("{}$INCLUDE later.inc\n", geek_base(2)));
    assert_eq!(p.len(), 1, "{p:?}");
    assert!(
        p[0].contains("zones/geek.zone:5: error:") && p[0].contains("later.inc"),
        "{p:?}"
    );
    assert_eq!(www_geek(&a).await, vec!["192.0.2.1"]);
    let (p, _) = a.service.reload(false);
    assert!(p.is_empty(), "reported once: {p:?}");
}

// An include cycle (a.inc includes b.inc includes a.inc) is an error, found quickly,
// and the zone keeps its last good version; `check` says so and exits 1.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn include_cycle_is_an_error_and_keeps_last_good() {
    let (_w, a) = started(false).await;
    std::fs::write(a.path("zones/a.inc"), "www A 192.0.2.31\n$INCLUDE b.inc\n").unwrap();
    std::fs::write(a.path("zones/b.inc"), "x A 192.0.2.32\n$INCLUDE a.inc\n").unwrap();
    let t = Instant::now();
    let p = reload_geek(&a, &format!("{}$INCLUDE a.inc\n", geek_base(2)));
    assert!(t.elapsed() < Duration::from_secs(5), "{:?}", t.elapsed());
    assert!(!p.is_empty(), "an include cycle must be an error");
    assert!(p.iter().all(|l| l.contains(": error: ")), "{p:?}");
    assert!(
        p.len() <= 2,
        "one report for the loop, not one per round: {p:?}"
    );
    assert_eq!(www_geek(&a).await, vec!["192.0.2.1"]);
    let (code, out) = check_in(a._dir.path());
    assert_eq!(code, Some(1), "{out}");
    assert!(out.contains(".inc:") && out.contains("$INCLUDE"), "{out}");
}

// A zone file replaced by a directory of the same name. Contract silent; a careful
// operator expects it to be treated like a broken save: reported, and the last good
// version kept (not the TLD silently vanishing).
#[tokio::test]
async fn zone_file_replaced_by_directory_is_reported_and_keeps_last_good() {
    let (_w, a) = started(false).await;
    std::fs::remove_file(a.path("zones/geek.zone")).unwrap();
    std::fs::create_dir(a.path("zones/geek.zone")).unwrap();
    let (problems, _) = a.service.reload(false);
    let shown: Vec<String> = problems.iter().map(ToString::to_string).collect();
    let www = www_geek(&a).await;
    assert!(
        shown
            .iter()
            .any(|p| p.contains("geek.zone") && p.contains("error")),
        "nothing reported for a directory named geek.zone: {shown:?}; www.geek now {www:?}"
    );
    assert_eq!(www, vec!["192.0.2.1"], "last good version kept");
}

// chmod 000: a read error, reported at FILE:1, last good version kept. Skipped when
// the tests run as root (chmod does not stop root from reading).
#[tokio::test]
async fn unreadable_zone_file_is_reported_and_keeps_last_good() {
    use std::os::unix::fs::PermissionsExt;
    let (_w, a) = started(false).await;
    let path = a.path("zones/geek.zone");
    std::fs::write(&path, geek(2, "192.0.2.2")).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o000)).unwrap();
    if std::fs::read(&path).is_ok() {
        eprintln!("SKIPPED: running as root, chmod 000 does not block reads");
        return;
    }
    let (problems, _) = a.service.reload(false);
    let shown: Vec<String> = problems.iter().map(ToString::to_string).collect();
    assert!(
        shown.iter().any(|p| p.contains("geek.zone:1: error:")),
        "{shown:?}"
    );
    assert_eq!(www_geek(&a).await, vec!["192.0.2.1"]);
}

// An empty file and a comments-only file are broken saves: reported at line 1 (no
// SOA, no NS), the last good version stays.
#[tokio::test]
async fn empty_and_comment_only_zone_files_keep_last_good() {
    let (_w, a) = started(false).await;
    let p = reload_geek(&a, "");
    assert!(
        p.iter()
            .any(|l| l.contains("zones/geek.zone:1: error:") && l.contains("SOA")),
        "{p:?}"
    );
    assert_eq!(www_geek(&a).await, vec!["192.0.2.1"]);
    // Fix, then break with comments only.
    let fixed = reload_geek(&a, &geek(3, "192.0.2.3"));
    assert!(fixed.iter().all(|l| !l.contains(": error: ")), "{fixed:?}");
    assert_eq!(www_geek(&a).await, vec!["192.0.2.3"]);
    let p = reload_geek(&a, "; nothing here\n;; but comments\n\n   ; and blanks\n");
    assert!(
        p.iter()
            .any(|l| l.contains("zones/geek.zone:1: error:") && l.contains("SOA")),
        "{p:?}"
    );
    assert_eq!(www_geek(&a).await, vec!["192.0.2.3"]);
}

// "reported once as FILE:LINE: error for that save": a *second, different* broken
// save whose error text happens to be the same as the first one's is a new save and
// must be reported again (the operator saved again and is reading the log).
#[tokio::test]
async fn second_broken_save_with_the_same_error_is_reported_again() {
    let (_w, a) = started(false).await;
    let p = reload_geek(&a, "");
    assert!(!p.is_empty());
    let p2 = reload_geek(&a, "; a different file, same problem\n");
    assert!(
        !p2.is_empty(),
        "second broken save (different content) reported nothing; first save said {p:?}"
    );
}

// Windows line endings: CRLF everywhere, including inside a parenthesised SOA and
// after quoted TXT data, must load exactly like LF.
#[tokio::test]
async fn crlf_zone_file_is_served() {
    let (_w, a) = started(false).await;
    let text = "$TTL 300\r\n@ 300 SOA ns.geek. h.geek. (\r\n  5 ; serial\r\n  3600 600 86400 60 )\r\n@ NS ns.geek.\r\nns A 127.0.0.1\r\nwww A 192.0.2.5\r\ntxt TXT \"two words\" \"more\"\r\n";
    let p = reload_geek(&a, text);
    assert!(p.iter().all(|l| !l.contains("error")), "{p:?}");
    assert_eq!(www_geek(&a).await, vec!["192.0.2.5"]);
    let m = a.query("txt.geek.", RecordType::TXT).await;
    let txt: Vec<String> = m
        .answers
        .iter()
        .filter_map(|r| match &r.data {
            RData::TXT(t) => Some(
                t.txt_data
                    .iter()
                    .map(|b| String::from_utf8_lossy(b).into_owned())
                    .collect::<Vec<_>>()
                    .join("|"),
            ),
            _ => None,
        })
        .collect();
    assert_eq!(txt, vec!["two words|more"], "no stray \\r in the data");
}

// A UTF-8 byte-order mark (Windows Notepad) before the first line. Contract silent;
// a careful operator expects it to be ignored (it is not part of the zone's text)
// rather than the whole zone being refused.
#[test]
fn zone_file_with_utf8_bom_and_crlf_passes_check() {
    let text = format!(
        "\u{feff}{}",
        alt_zone("www A 192.0.2.1\n").replace('\n', "\r\n")
    );
    let dir = alt_only(&[("zones/alt.zone", text)]);
    let (code, out) = check_in(dir.path());
    assert_eq!(code, Some(0), "BOM refused: {out}");
}

// 1,000-line zone rewritten 20 times as fast as possible: the last version wins, and
// stays (no reload still running from an earlier save may swap in an older version:
// reloads are serialised). A control edit of biz.zone after the last version is
// served shows every reload before it has finished.
#[tokio::test]
async fn thousand_line_zone_edited_20_times_quickly_last_wins() {
    let (_w, a) = started(true).await;
    let zone = |v: u32| {
        let mut s = geek_base(v);
        for i in 0..1000 {
            s.push_str(&format!("h{i} A 192.0.{}.{}\n", i / 250, i % 250 + 1));
        }
        s.push_str(&format!("www A 192.0.2.{}\n", 100 + v));
        s
    };
    for v in 1..=20 {
        std::fs::write(a.path("zones/geek.zone"), zone(v)).unwrap();
    }
    until_a(&a, "www.geek.", "192.0.2.120", 10).await.unwrap();
    reload_control(&a, "zones/biz.zone", "biz", 13).await;
    assert_eq!(
        www_geek(&a).await,
        vec!["192.0.2.120"],
        "stays at the last version"
    );
}

// Two saves 5 ms apart, same length (so within one timestamp tick the metadata may
// look unchanged): the second must be served, and stay. A control edit of biz.zone
// after it is served shows every reload before it has finished.
#[tokio::test]
async fn two_edits_within_10ms_the_second_wins() {
    let (_w, a) = started(true).await;
    std::fs::write(a.path("zones/geek.zone"), geek(2, "192.0.2.2")).unwrap();
    std::thread::sleep(Duration::from_millis(5));
    std::fs::write(a.path("zones/geek.zone"), geek(3, "192.0.2.3")).unwrap();
    until_a(&a, "www.geek.", "192.0.2.3", 5).await.unwrap();
    reload_control(&a, "zones/biz.zone", "biz", 14).await;
    assert_eq!(www_geek(&a).await, vec!["192.0.2.3"]);
}

// An included file edited repeatedly, each save landing while the previous save's
// reload is still parsing a big zone: the last save must win. (A reload that reads
// the include, then stamps it after a later write, would believe it is up to date.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn include_edited_during_reloads_last_version_wins() {
    let (_w, mut a) = standard("").await;
    let mut big = format!("{}$INCLUDE hosts.inc\n", geek_base(1));
    for i in 0..6000 {
        big.push_str(&format!("h{i} A 192.0.{}.{}\n", i / 250 % 250, i % 250 + 1));
    }
    std::fs::write(a.path("zones/hosts.inc"), "www A 192.0.2.1\n").unwrap();
    std::fs::write(a.path("zones/geek.zone"), &big).unwrap();
    let t = Instant::now();
    let (p, _) = a.service.reload(true);
    let parse = t.elapsed();
    assert!(p.iter().all(|p| !p.is_error()), "{p:?}");
    a.watch();
    until_a(&a, "www.geek.", "192.0.2.1", 5).await.unwrap();
    // Saves spaced a little more than the watcher's 50 ms quiet time, so each save
    // lands in the middle of the reload the previous one started.
    let gap = (Duration::from_millis(55) + parse / 2).min(Duration::from_millis(400));
    // Five rounds of 15 saves; the race needs one unlucky save, so any round that
    // ends on a stale version fails the test.
    let mut v = 1u32;
    for round in 0..5 {
        for _ in 0..15 {
            v += 1;
            std::fs::write(a.path("zones/hosts.inc"), format!("www A 192.0.2.{v}\n")).unwrap();
            tokio::time::sleep(gap).await;
        }
        let want = format!("192.0.2.{v}");
        let r = until_a(&a, "www.geek.", &want, 4).await;
        assert!(
            r.is_ok(),
            "round {round}: {} (parse of the big zone took {parse:?}, saves {gap:?} apart)",
            r.unwrap_err()
        );
    }
}

// An included file whose name starts with a dot. The dot rule is for editors' swap
// files; the contract says any file a zone `$INCLUDE`s is watched.
#[tokio::test]
async fn dot_named_include_edit_is_served() {
    let (_w, mut a) = standard("").await;
    std::fs::write(a.path("zones/.hosts"), "www A 192.0.2.1\n").unwrap();
    std::fs::write(
        a.path("zones/geek.zone"),
        format!("{}$INCLUDE .hosts\n", geek_base(1)),
    )
    .unwrap();
    a.service.reload(true);
    a.watch();
    until_a(&a, "www.geek.", "192.0.2.1", 5).await.unwrap();
    std::fs::write(a.path("zones/.hosts"), "www A 192.0.2.44\n").unwrap();
    until_a(&a, "www.geek.", "192.0.2.44", 5).await.unwrap();
}

// An edit adds `$INCLUDE sub/hosts.inc` (a folder not watched before); once that is
// served, the include itself is edited right away: that edit must be served too.
#[tokio::test]
async fn newly_included_file_in_subfolder_is_watched_immediately() {
    let (_w, a) = started(true).await;
    std::fs::create_dir_all(a.path("zones/sub")).unwrap();
    std::fs::write(a.path("zones/sub/hosts.inc"), "www A 192.0.2.60\n").unwrap();
    std::fs::write(
        a.path("zones/geek.zone"),
        format!("{}$INCLUDE sub/hosts.inc\n", geek_base(2)),
    )
    .unwrap();
    until_a(&a, "www.geek.", "192.0.2.60", 5).await.unwrap();
    std::fs::write(a.path("zones/sub/hosts.inc"), "www A 192.0.2.61\n").unwrap();
    until_a(&a, "www.geek.", "192.0.2.61", 5).await.unwrap();
}

// A zone file that is a symlink to a file elsewhere (config management, git
// checkouts). Contract silent ("every way editors save works"); a careful operator
// expects an edit of the file the zone is read from to be served.
#[tokio::test]
async fn symlinked_zone_file_edit_is_served() {
    let (_w, mut a) = standard("").await;
    let real = a.path("real/geek.zone");
    std::fs::create_dir_all(real.parent().unwrap()).unwrap();
    std::fs::write(&real, geek(1, "192.0.2.1")).unwrap();
    std::fs::remove_file(a.path("zones/geek.zone")).unwrap();
    std::os::unix::fs::symlink(&real, a.path("zones/geek.zone")).unwrap();
    a.service.reload(true);
    a.watch();
    until_a(&a, "www.geek.", "192.0.2.1", 5).await.unwrap();
    std::fs::write(&real, geek(2, "192.0.2.62")).unwrap();
    until_a(&a, "www.geek.", "192.0.2.62", 5).await.unwrap();
}

//------------ live reload: root.zone, the zones folder ------------------------------

// root.zone edited to delegate geek, which also has its own file: an error (the TLD
// is defined twice) reported at that root.zone line; geek stays served from its file
// and the rest of the root (the pirate delegation) keeps working.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn root_zone_delegating_a_tld_that_has_its_own_file() {
    let (_w, a) = started(false).await;
    let root = std::fs::read_to_string(a.path("zones/root.zone")).unwrap();
    let n = root.lines().count();
    std::fs::write(
        a.path("zones/root.zone"),
        format!("{root}geek. NS ns1.geek.\nns1.geek. A 127.0.0.1\n"),
    )
    .unwrap();
    let (problems, _) = a.service.reload(false);
    let shown: Vec<String> = problems.iter().map(ToString::to_string).collect();
    let want = format!("zones/root.zone:{}: error:", n + 1);
    assert!(
        shown
            .iter()
            .any(|p| p.contains(&want) && p.contains("defined twice")),
        "want {want}: {shown:?}"
    );
    assert_eq!(www_geek(&a).await, vec!["192.0.2.1"]);
    let m = a.query("www.pirate.", RecordType::A).await;
    assert_eq!(a_of(&m), vec!["198.51.100.77"]);
    let (code, out) = check_in(a._dir.path());
    assert_eq!(code, Some(1), "{out}");
    assert!(out.contains(&want), "{out}");
}

// root.zone gives an address for a name server under an ICANN TLD it does not
// delegate (`newtld. NS ns.example.org.` + `ns.example.org. A ...`). Contract: the
// alt root "has" a TLD when it has a zone file or the name in root.zone; `org` is not
// a name in root.zone (at most an empty non-terminal). A careful operator expects
// www.example.org to stay ICANN's, not to become NXDOMAIN in the alt root.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn root_zone_address_under_an_icann_tld_does_not_capture_it() {
    let (w, a) = started(false).await;
    assert_eq!(
        a_of(&a.query("www.example.org.", RecordType::A).await),
        vec!["203.0.113.40"]
    );
    let ip = World::ip(w.block, host::EXAMPLE_ORG);
    let root = std::fs::read_to_string(a.path("zones/root.zone")).unwrap();
    std::fs::write(
        a.path("zones/root.zone"),
        format!("{root}newtld. NS ns.example.org.\nns.example.org. A {ip}\n"),
    )
    .unwrap();
    let (problems, changed) = a.service.reload(false);
    assert!(changed, "{problems:?}");
    let m = a.query("www.example.org.", RecordType::A).await;
    assert_eq!(
        a_of(&m),
        vec!["203.0.113.40"],
        "org captured by the alt root: rcode {:?}, problems {problems:?}",
        m.metadata.response_code
    );
}

// The whole zones folder deleted while serving: the last good zones keep being
// served, the problem is reported once.
#[tokio::test]
async fn deleted_zones_folder_keeps_serving_and_reports_once() {
    let (_w, a) = started(false).await;
    std::fs::remove_dir_all(a.path("zones")).unwrap();
    let (problems, changed) = a.service.reload(false);
    let shown: Vec<String> = problems.iter().map(ToString::to_string).collect();
    assert!(!changed);
    assert_eq!(shown.len(), 1, "{shown:?}");
    assert!(
        shown[0].contains("zones") && shown[0].contains("error"),
        "{shown:?}"
    );
    assert_eq!(www_geek(&a).await, vec!["192.0.2.1"]);
    assert_eq!(
        a_of(&a.query("www.biz.", RecordType::A).await),
        vec!["192.0.2.10"]
    );
    let (problems, _) = a.service.reload(false);
    assert!(problems.is_empty(), "reported once: {problems:?}");
    let (problems, _) = a.service.reload(true);
    assert!(problems.is_empty(), "reported once (forced): {problems:?}");
    assert_eq!(www_geek(&a).await, vec!["192.0.2.1"]);
}

// Same, live: the watcher must not drop the zones (docs/zones.md: a broken save changes
// nothing), and when the folder comes back (with an edited geek.zone) the new data is
// served. A second zones root (`ctl`, folder zones2) gives the control: its edit is
// served only by a reload that came after the deletion, and that reload read the
// (missing) zones folder too.
#[tokio::test]
async fn zones_folder_deleted_and_recreated_while_watched() {
    let w = World::start(standard_world).await;
    let mut files = alt_zones(&w);
    files.push(("hints.txt", hints(&w)));
    files.push((
        "zones2/ctl.zone",
        geek(1, "192.0.2.1").replace("geek", "ctl"),
    ));
    let cfg = edit(
        &config(&w, ""),
        "[[root]]\nname = \"icann\"",
        "[[root]]\nname = \"ctl\"\nzones = \"zones2\"\n\n[[root]]\nname = \"icann\"",
    );
    let mut a = Altroot::start(&cfg, &files).await;
    std::fs::write(a.path("zones/geek.zone"), geek(1, "192.0.2.1")).unwrap();
    a.service.reload(true);
    a.watch();
    std::fs::remove_dir_all(a.path("zones")).unwrap();
    reload_control(&a, "zones2/ctl.zone", "ctl", 15).await;
    assert_eq!(
        www_geek(&a).await,
        vec!["192.0.2.1"],
        "zones dropped with the folder"
    );
    std::fs::create_dir(a.path("zones")).unwrap();
    for (p, t) in alt_zones(&w) {
        if p != "zones/geek.zone" {
            std::fs::write(a.path(p), t).unwrap();
        }
    }
    std::fs::write(a.path("zones/geek.zone"), geek(2, "192.0.2.55")).unwrap();
    let took = until_a(&a, "www.geek.", "192.0.2.55", 6).await.unwrap();
    eprintln!("recreated zones folder served after {took:?}");
}

// A deploy that swaps the whole folder by renames (zones -> zones.old, zones.new ->
// zones): geek.zone changed, so the new data must be served.
#[tokio::test]
async fn zones_folder_swapped_by_rename_is_served() {
    let (w, a) = started(true).await;
    std::fs::create_dir(a.path("zones.new")).unwrap();
    for (p, t) in alt_zones(&w) {
        if p != "zones/geek.zone" {
            std::fs::write(a.path(&p.replace("zones/", "zones.new/")), t).unwrap();
        }
    }
    std::fs::write(a.path("zones.new/geek.zone"), geek(2, "192.0.2.56")).unwrap();
    std::fs::rename(a.path("zones"), a.path("zones.old")).unwrap();
    std::fs::rename(a.path("zones.new"), a.path("zones")).unwrap();
    until_a(&a, "www.geek.", "192.0.2.56", 6).await.unwrap();
}

//------------ zone file syntax ------------------------------------------------------

// `$ORIGIN sub` (no trailing dot) is relative to the current origin (RFC 1035 §5.1);
// `$INCLUDE file origin` with a relative origin likewise; an included `$ORIGIN` does
// not leak back.
#[tokio::test]
async fn relative_origin_and_include_origin() {
    let (_w, a) = started(false).await;
    std::fs::write(
        a.path("zones/hosts.inc"),
        "h A 192.0.2.5\n$ORIGIN inner\ni A 192.0.2.6\n",
    )
    .unwrap();
    let p = reload_geek(
        &a,
        &format!(
            "{}$ORIGIN sub\nx A 192.0.2.4\n$ORIGIN geek.\n$INCLUDE hosts.inc lab2\nafter A 192.0.2.7\n",
            geek_base(2)
        ),
    );
    assert!(p.iter().all(|l| !l.contains("error")), "{p:?}");
    for (name, ip) in [
        ("x.sub.geek.", "192.0.2.4"),
        ("h.lab2.geek.", "192.0.2.5"),
        ("i.inner.lab2.geek.", "192.0.2.6"),
        ("after.geek.", "192.0.2.7"),
    ] {
        assert_eq!(
            a_of(&a.query(name, RecordType::A).await),
            vec![ip],
            "{name}"
        );
    }
}

// `@` in RDATA means the current origin (RFC 1035 §5.1: "A free standing @ is used to
// denote the current origin"): `CNAME @`, `MX 10 @`, `NS @`-style targets.
#[tokio::test]
async fn at_sign_in_rdata_means_the_origin() {
    let (_w, a) = started(false).await;
    let p = reload_geek(
        &a,
        &format!(
            "{}@ A 192.0.2.9\n@ MX 10 @\nalias CNAME @\n$ORIGIN sub.geek.\nup CNAME @\n@ TXT \"sub\"\n",
            geek(2, "192.0.2.2")
        ),
    );
    assert!(p.iter().all(|l| !l.contains("error")), "{p:?}");
    let m = a.query("geek.", RecordType::MX).await;
    assert_eq!(lines(&m.answers), vec!["geek. 300 MX 10 geek."]);
    let m = a.query("alias.geek.", RecordType::A).await;
    assert_eq!(
        lines(&m.answers),
        vec!["alias.geek. 300 CNAME geek.", "geek. 300 A 192.0.2.9"]
    );
    let m = a.query("up.sub.geek.", RecordType::TXT).await;
    assert_eq!(
        m.answers.first().map(|r| r.record_type()),
        Some(RecordType::CNAME)
    );
}

// `$TTL 1h30m` and per-record TTLs with units (BIND syntax, also upper case).
#[tokio::test]
async fn ttls_with_units() {
    let (_w, a) = started(false).await;
    let p = reload_geek(
        &a,
        "$TTL 1h30m\n@ 60 SOA ns.geek. h.geek. 2 3600 600 86400 60\n@ NS ns.geek.\nns A 127.0.0.1\nwww A 192.0.2.1\nw2 2h A 192.0.2.2\nw3 1W A 192.0.2.3\nw4 1d2h A 192.0.2.4\n",
    );
    assert!(p.iter().all(|l| !l.contains("error")), "{p:?}");
    for (name, ttl) in [
        ("www.geek.", 5400),
        ("w2.geek.", 7200),
        ("w3.geek.", 604_800),
        ("w4.geek.", 93_600),
    ] {
        let m = a.query(name, RecordType::A).await;
        assert_eq!(m.answers.first().map(|r| r.ttl), Some(ttl), "{name}");
    }
}

// Records of class CH are an error with their line; the zone keeps its last good version.
#[tokio::test]
async fn class_ch_record_is_an_error_with_its_line() {
    let (_w, a) = started(false).await;
    let p = reload_geek(
        &a,
        &format!("{}version CH TXT \"x\"\n", geek(2, "192.0.2.2")),
    );
    assert!(
        p.iter()
            .any(|l| l.contains("zones/geek.zone:6: error:") && l.contains("CH")),
        "{p:?}"
    );
    assert_eq!(www_geek(&a).await, vec!["192.0.2.1"]);
}

// A TXT character-string longer than 255 bytes cannot be sent (RFC 1035 §3.3). Either
// the zone is refused with an error at that line, or the data is served (split into
// strings of at most 255). Never a zone that loads and then fails every answer.
#[tokio::test]
async fn txt_string_longer_than_255_is_refused_or_served() {
    let (_w, a) = started(false).await;
    let long = "a".repeat(300);
    let p = reload_geek(
        &a,
        &format!("{}long TXT \"{long}\"\n", geek(2, "192.0.2.2")),
    );
    if p.iter().any(|l| l.contains("zones/geek.zone:6: error:")) {
        return; // refused with its line: fine
    }
    let m = a.query("long.geek.", RecordType::TXT).await;
    let total: usize = m
        .answers
        .iter()
        .filter_map(|r| match &r.data {
            RData::TXT(t) => Some(t.txt_data.iter().map(|b| b.len()).sum::<usize>()),
            _ => None,
        })
        .sum();
    assert!(
        m.metadata.response_code == ResponseCode::NoError && total == 300,
        "zone loaded without error ({p:?}) but long.geek TXT gives {:?} with {} answers, {} queries echoed",
        m.metadata.response_code,
        m.answers.len(),
        m.queries.len()
    );
}

// A label over 63 bytes, a name over 255 bytes, and a relative name that is only too
// long once the origin is appended: each an error with its line.
#[test]
fn overlong_labels_and_names_are_errors_with_lines() {
    let label = "b".repeat(64);
    let long = vec!["c".repeat(60); 5].join(".");
    let rel = vec!["d".repeat(62); 4].join("."); // 252 bytes, 258 with ".alt."
    let text = alt_zone(&format!(
        "{label} A 192.0.2.2\n{long}.alt. A 192.0.2.3\n{rel} A 192.0.2.4\n"
    ));
    let dir = alt_only(&[("zones/alt.zone", text)]);
    let (code, out) = check_in(dir.path());
    assert_eq!(code, Some(1), "{out}");
    for line in [5, 6, 7] {
        assert!(
            out.contains(&format!("zones/alt.zone:{line}: error:")),
            "line {line}: {out}"
        );
    }
}

//------------ check ---------------------------------------------------------------

// A zones folder without root.zone is fine: TLD files alone make an alternate root.
#[test]
fn check_without_root_zone_is_clean() {
    let dir = alt_only(&[("zones/alt.zone", alt_zone("www A 192.0.2.1\n"))]);
    let (code, out) = check_in(dir.path());
    assert_eq!((code, out.as_str()), (Some(0), ""));
}

// Problems sorted by file, then by line as a number (9 before 10 before 100), over
// several files, includes and a hints file.
#[test]
fn check_output_is_sorted_by_file_then_numeric_line() {
    let mut alt = alt_zone("");
    while alt.lines().count() < 8 {
        alt.push_str("; pad\n");
    }
    alt.push_str("e9 A 300.0.0.1\ne10 A 300.0.0.2\n");
    while alt.lines().count() < 99 {
        alt.push_str("; pad\n");
    }
    alt.push_str("e100 A 300.0.0.3\n$INCLUDE z.inc\n");
    let dir = alt_only(&[
        ("zones/alt.zone", alt),
        ("zones/z.inc", "ok A 192.0.2.1\nbad MX x\n".into()),
        (
            "zones/b.alt.zone",
            "$TTL 1\n@ SOA ns.b.alt. h.alt. 1 1 1 1 1\n@ NS ns.b.alt.\nns A 300.1.1.1\n".into(),
        ),
        ("bad.hints", ". 3600 NS a.example.\n".into()),
    ]);
    std::fs::write(
        dir.path().join("altroot.toml"),
        "[[root]]\nname = \"alt\"\nzones = \"zones\"\n[[root]]\nname = \"h\"\nhints = \"bad.hints\"\n",
    )
    .unwrap();
    let (code, out) = check_in(dir.path());
    assert_eq!(code, Some(1), "{out}");
    let keys: Vec<(String, usize)> = out
        .lines()
        .map(|l| {
            let mut it = l.splitn(3, ':');
            (
                it.next().unwrap().to_string(),
                it.next().unwrap().parse().unwrap(),
            )
        })
        .collect();
    let mut sorted = keys.clone();
    sorted.sort();
    assert_eq!(keys, sorted, "{out}");
    let alt_lines: Vec<usize> = keys
        .iter()
        .filter(|(f, _)| f == "zones/alt.zone")
        .map(|(_, l)| *l)
        .collect();
    assert_eq!(alt_lines, vec![9, 10, 100], "{out}");
    for f in ["bad.hints", "zones/b.alt.zone", "zones/z.inc"] {
        assert!(keys.iter().any(|(k, _)| k == f), "{f} missing: {out}");
    }
}

// A TOML syntax error: exit 1 (errors), printed as FILE:LINE: error.
#[test]
fn check_toml_syntax_error_names_file_and_line() {
    let dir = alt_only(&[]);
    std::fs::write(
        dir.path().join("altroot.toml"),
        "[server]\nlisten = [\"127.0.0.1:0\"\n[[root]]\nname = \"alt\"\nzones = \"zones\"\n",
    )
    .unwrap();
    let (code, out) = check_in(dir.path());
    assert_eq!(code, Some(1), "{out}");
    assert!(
        out.starts_with("altroot.toml:3: error:") || out.starts_with("altroot.toml:2: error:"),
        "{out}"
    );
}

// Config errors name the line of the offending key: the second root's missing zones
// folder, the second root's unreadable hints, a bad listen address that comes after a
// line that merely mentions "listen" in a comment.
#[test]
fn config_errors_point_at_the_offending_line() {
    let cases = [
        (
            "[[root]]\nname = \"alt\"\nzones = \"zones\"\n\n[[root]]\nname = \"alt2\"\nzones = \"missing\"\n",
            7,
            "missing",
        ),
        (
            "[[root]]\nname = \"alt\"\nzones = \"zones\"\n[[root]]\nname = \"a\"\nhints = \"hints.txt\"\n[[root]]\nname = \"b\"\nhints = \"nope.hints\"\n",
            9,
            "nope.hints",
        ),
        (
            "[server]\nallow = [\"127.0.0.0/8\"]  # before listen\nquery-timeout = \"1s\"\nlisten = [\"127.0.0.1:0\", \"bogus\"]\n[[root]]\nname = \"alt\"\nzones = \"zones\"\n",
            4,
            "bogus",
        ),
    ];
    let mut bad = Vec::new();
    for (toml, line, needle) in cases {
        let dir = alt_only(&[(
            "hints.txt",
            ". 3600000 NS a.x.\na.x. 3600000 A 127.0.0.1\n".to_string(),
        )]);
        std::fs::write(dir.path().join("altroot.toml"), toml).unwrap();
        let (code, out) = check_in(dir.path());
        let want = format!("altroot.toml:{line}: error:");
        if code != Some(1) || !out.starts_with(&want) || !out.contains(needle) {
            bad.push(format!("want {want} …{needle}…, got {code:?}: {out}"));
        }
    }
    assert!(bad.is_empty(), "{}", bad.join("\n"));
}

// A `.zone` file whose name is not a domain name ("my tld.zone") cannot be served.
// Contract silent; a careful operator expects check to say so rather than skip it.
#[test]
fn check_reports_a_zone_file_whose_name_is_not_a_domain() {
    let dir = alt_only(&[
        ("zones/alt.zone", alt_zone("")),
        ("zones/my tld.zone", alt_zone("").replace("alt.", "my tld.")),
    ]);
    let (code, out) = check_in(dir.path());
    assert!(
        out.contains("my tld.zone"),
        "silently ignored (exit {code:?}): {out:?}"
    );
}

//------------ compare ---------------------------------------------------------------

fn compare_dir() -> tempfile::TempDir {
    alt_only(&[(
        "zones/geek.zone",
        format!(
            "{}xn--bcher-kva A 192.0.2.7\nmx MX 10 www\n",
            geek(1, "192.0.2.1")
        ),
    )])
}

// Bad input is a usage error: exit 2, a message on stderr, no table on stdout.
#[test]
fn compare_rejects_bad_names_types_and_roots() {
    let dir = compare_dir();
    let long = format!("{}.geek", "x".repeat(64));
    let cases: Vec<Vec<&str>> = vec![
        vec!["a..b"],
        vec!["www geek"],
        vec![long.as_str()],
        vec!["-t", "BOGUS", "www.geek"],
        vec!["-t", "A,,MX", "www.geek"],
        vec!["--roots", "alt,nope", "www.geek"],
        vec![],
    ];
    let mut bad = Vec::new();
    for extra in cases {
        let mut args = vec!["compare", "--config", "altroot.toml"];
        args.extend(extra.iter());
        let (code, out, err) = run_in(dir.path(), &args, 20);
        if code != Some(2) || err.trim().is_empty() || !out.is_empty() {
            bad.push(format!(
                "{extra:?}: exit {code:?}, stdout {out:?}, stderr {err:?}"
            ));
        }
    }
    assert!(bad.is_empty(), "{}", bad.join("\n"));
}

// An empty NAME argument is almost certainly a scripting mistake (`compare "$X"`).
// Contract silent; a careful operator expects "not a domain name" (exit 2), not a
// silent comparison of the root name ".".
#[test]
fn compare_empty_name_argument_is_an_error() {
    let dir = compare_dir();
    let (code, out, err) = run_in(dir.path(), &["compare", "--config", "altroot.toml", ""], 20);
    assert_eq!(code, Some(2), "stdout {out:?} stderr {err:?}");
}

// -f edge cases: an empty file, a comments-only file, a missing file, a bad line.
#[test]
fn compare_file_edge_cases() {
    let dir = compare_dir();
    std::fs::write(dir.path().join("empty.txt"), "").unwrap();
    std::fs::write(dir.path().join("comments.txt"), "# nothing\n\n  \n# more\n").unwrap();
    std::fs::write(dir.path().join("allbad.txt"), "a..b\n").unwrap();
    let mut bad = Vec::new();
    for (f, needle) in [
        ("empty.txt", "no names"),
        ("comments.txt", "no names"),
        ("missing.txt", "missing.txt"),
        ("allbad.txt", "no names"),
    ] {
        let (code, out, err) = run_in(
            dir.path(),
            &["compare", "--config", "altroot.toml", "-f", f],
            20,
        );
        if code != Some(2) || !err.contains(needle) || !out.is_empty() {
            bad.push(format!(
                "{f}: exit {code:?}, stdout {out:?}, stderr {err:?}"
            ));
        }
    }
    assert!(bad.is_empty(), "{}", bad.join("\n"));
}

// Issue 14: `compare -f` stopped at the first bad name, with an empty reason
// ("Malformed label: "). Each bad line is reported as FILE:LINE: error: reason (a
// reason that says what is wrong), skipped, and the run goes on with the rest; the
// exit status is 2 at the end. Underscore labels (_dmarc, SRV owners) are names.
#[test]
fn compare_file_reports_bad_lines_and_goes_on() {
    let dir = compare_dir();
    let mut text = b"www.geek\n1,a..b\n2,nope.geek\n.geek\nwww geek\n".to_vec();
    text.extend_from_slice(format!("{}.geek\n", "x".repeat(64)).as_bytes());
    text.extend_from_slice(format!("{}geek\n", "abcdefghi.".repeat(30)).as_bytes());
    text.extend_from_slice(b"bad\xff.geek\n-x.geek\na/b.geek\n_dmarc.geek\nmx.geek\n");
    std::fs::write(dir.path().join("names.txt"), text).unwrap();
    let (code, out, err) = run_in(
        dir.path(),
        &[
            "compare",
            "--config",
            "altroot.toml",
            "--json",
            "-f",
            "names.txt",
        ],
        20,
    );
    assert_eq!(code, Some(2), "{out}{err}");
    let names: Vec<String> = out
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .filter_map(|v| v["name"].as_str().map(String::from))
        .collect();
    assert_eq!(
        names,
        vec!["www.geek.", "nope.geek.", "_dmarc.geek.", "mx.geek."],
        "{out}"
    );
    let reports: Vec<&str> = err
        .lines()
        .filter(|l| l.starts_with("names.txt:"))
        .collect();
    let lines: Vec<&str> = reports
        .iter()
        .map(|l| l.split(':').nth(1).unwrap())
        .collect();
    assert_eq!(lines, ["2", "4", "5", "6", "7", "8", "9", "10"], "{err}");
    for (r, says) in reports.iter().zip([
        "empty label",
        "empty label",
        "space",
        "63",
        "255",
        "UTF-8",
        "hyphen",
        "'/'",
    ]) {
        let (_, reason) = r.split_once(": error: ").unwrap_or_else(|| panic!("{r}"));
        assert!(reason.contains(says), "{r} should say {says:?}");
    }
    assert!(err.contains("8 lines"), "a closing count: {err}");
}

// Blank lines, comments, CRLF, spaces and rank,domain CSV are all read.
#[test]
fn compare_file_skips_blank_lines_comments_and_crlf() {
    let dir = compare_dir();
    std::fs::write(
        dir.path().join("names.txt"),
        "# header comment\r\n\r\n1,www.geek\r\n   \r\n  2 , nope.geek  \r\n# 3,skipped.geek\r\nmx.geek\r\n",
    )
    .unwrap();
    let (code, out, err) = run_in(
        dir.path(),
        &[
            "compare",
            "--config",
            "altroot.toml",
            "--json",
            "-f",
            "names.txt",
        ],
        20,
    );
    assert_eq!(code, Some(0), "{out}{err}");
    let names: Vec<String> = out
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .filter_map(|v| v["name"].as_str().map(String::from))
        .collect();
    assert_eq!(names, vec!["www.geek.", "nope.geek.", "mx.geek."], "{out}");
}

// The same name several times (any case, with or without the dot, plain or CSV).
// Contract silent; a careful operator expects each (name, type) once — duplicate
// rows inflate the summary counts and the work.
#[test]
fn compare_file_duplicates_are_compared_once() {
    let dir = compare_dir();
    std::fs::write(
        dir.path().join("dups.txt"),
        "www.geek\n1,www.geek\nWWW.GEEK.\nwww.geek.\nnope.geek\n2,nope.geek\n",
    )
    .unwrap();
    let (code, out, err) = run_in(
        dir.path(),
        &["compare", "--config", "altroot.toml", "-f", "dups.txt"],
        20,
    );
    assert_eq!(code, Some(0), "{err}");
    assert!(out.ends_with("2 rows: 1 same, 1 none\n"), "{out}");
}

// IDN: a UTF-8 name (any case) is the same name as its punycode form.
#[test]
fn compare_idn_names() {
    let dir = compare_dir();
    let (code, out, err) = run_in(
        dir.path(),
        &[
            "compare",
            "--config",
            "altroot.toml",
            "--json",
            "bücher.geek",
            "BÜCHER.geek",
            "xn--bcher-kva.geek",
        ],
        20,
    );
    assert_eq!(code, Some(0), "{out}{err}");
    let rows: Vec<serde_json::Value> = out
        .lines()
        .map(|l| serde_json::from_str(l).expect("JSON line"))
        .collect();
    assert_eq!(rows.len(), 4, "{out}");
    for r in &rows[..3] {
        assert_eq!(r["roots"][0]["answer"], "NOERROR 192.0.2.7", "{r}");
        let n = r["name"].as_str().unwrap();
        assert!(n == "bücher.geek." || n == "xn--bcher-kva.geek.", "{n}");
    }
    // All three spell one name: the rows must spell it the same way.
    assert_eq!(rows[0]["name"], rows[2]["name"], "{out}");
}

// --json with several types and a file: one row per (name, type), every line JSON,
// the summary counts add up to the rows.
#[test]
fn compare_json_rows_and_summary_add_up() {
    let dir = compare_dir();
    std::fs::write(
        dir.path().join("n.csv"),
        "1,www.geek\n2,mx.geek\n3,nope.geek\n",
    )
    .unwrap();
    let (code, out, err) = run_in(
        dir.path(),
        &[
            "compare",
            "--config",
            "altroot.toml",
            "--json",
            "-t",
            "a,AAAA,mx",
            "-f",
            "n.csv",
            "localhost",
        ],
        20,
    );
    assert_eq!(code, Some(0), "{out}{err}");
    let vals: Vec<serde_json::Value> = out
        .lines()
        .map(|l| serde_json::from_str(l).expect("JSON line"))
        .collect();
    let (rows, summary): (Vec<_>, Vec<_>) = vals.iter().partition(|v| v.get("summary").is_none());
    assert_eq!(rows.len(), 12, "{out}");
    assert_eq!(summary.len(), 1, "{out}");
    let total: u64 = summary[0]["summary"]
        .as_object()
        .unwrap()
        .values()
        .map(|v| v.as_u64().unwrap())
        .sum();
    assert_eq!(total, 12, "{out}");
    for r in rows {
        for k in ["name", "type", "verdict", "only", "roots"] {
            assert!(r.get(k).is_some(), "{k} missing in {r}");
        }
    }
}

//------------ collisions -------------------------------------------------------------

// The shipped demo, offline, as JSON: one object per line with the documented keys.
#[test]
fn collisions_offline_json_lines_parse() {
    let (code, out, err) = run_in(manifest_dir(), &["collisions", "--offline", "--json"], 30);
    assert_eq!(code, Some(0), "{err}");
    let mut tlds = Vec::new();
    for line in out.lines() {
        let v: serde_json::Value = serde_json::from_str(line).expect("every line is JSON");
        for k in ["tld", "roots", "winner", "decided_by", "claims", "history"] {
            assert!(v.get(k).is_some(), "{k} missing: {line}");
        }
        for c in v["claims"].as_array().unwrap() {
            assert!(c["has"].is_boolean() || c["has"].is_null(), "{c}");
            assert!(c["how"].is_string() && c["root"].is_string(), "{c}");
        }
        tlds.push(v["tld"].as_str().unwrap().to_string());
    }
    assert!(
        tlds.contains(&"biz".into()) && tlds.contains(&"web".into()),
        "{out}"
    );
}

// Two zones roots with the same TLD: a collision between them (offline, no network);
// a pin picks the later one.
#[test]
fn collisions_between_two_zones_roots() {
    let dir = alt_only(&[
        ("zones/geek.zone", geek(1, "192.0.2.1")),
        ("zones2/geek.zone", geek(1, "192.0.2.2")),
        (
            "zones2/libre.zone",
            geek(1, "192.0.2.3").replace("geek", "libre"),
        ),
    ]);
    let base = "[[root]]\nname = \"alt\"\nzones = \"zones\"\n[[root]]\nname = \"alt2\"\nzones = \"zones2\"\n";
    std::fs::write(dir.path().join("altroot.toml"), base).unwrap();
    let (code, out, err) = run_in(
        dir.path(),
        &[
            "collisions",
            "--config",
            "altroot.toml",
            "--offline",
            "--json",
        ],
        20,
    );
    assert_eq!(code, Some(0), "{err}");
    let rows: Vec<serde_json::Value> = out
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(rows.len(), 1, "{out}");
    assert_eq!(rows[0]["tld"], "geek");
    assert_eq!(rows[0]["winner"], "alt");
    assert_eq!(rows[0]["decided_by"], "first");
    std::fs::write(
        dir.path().join("altroot.toml"),
        format!("{base}[collisions]\npin = {{ GEEK = \"alt2\" }}\n"),
    )
    .unwrap();
    let (_, out, _) = run_in(
        dir.path(),
        &[
            "collisions",
            "--config",
            "altroot.toml",
            "--offline",
            "--json",
        ],
        20,
    );
    let row: serde_json::Value = serde_json::from_str(out.lines().next().unwrap()).unwrap();
    assert_eq!(
        (row["winner"].as_str(), row["decided_by"].as_str()),
        (Some("alt2"), Some("pin")),
        "{out}"
    );
}

//------------ command line -------------------------------------------------------------

#[test]
fn no_subcommand_is_a_usage_error() {
    let dir = alt_only(&[]);
    let (code, _, err) = run_in(dir.path(), &[], 10);
    assert_eq!(code, Some(2), "{err}");
}

// serve --config pointing at a missing file or at a folder: exit 2 with the path.
#[test]
fn serve_with_missing_or_directory_config_exits_2() {
    let dir = alt_only(&[]);
    for (arg, needle) in [("nope.toml", "nope.toml"), ("zones", "zones")] {
        let (code, _, err) = run_in(dir.path(), &["serve", "--config", arg], 10);
        assert_eq!(code, Some(2), "{arg}: {err}");
        assert!(
            err.contains(needle) && err.contains("error"),
            "{arg}: {err}"
        );
    }
}

// A broken zone at start-up: serve refuses (exit 2) with FILE:LINE: error.
#[test]
fn serve_with_broken_zone_at_startup_exits_2() {
    let dir = alt_only(&[("zones/alt.zone", alt_zone("www A 300.1.1.1\n"))]);
    let (code, _, err) = run_in(dir.path(), &["serve", "--config", "altroot.toml"], 10);
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("zones/alt.zone:5: error:"), "{err}");
}
