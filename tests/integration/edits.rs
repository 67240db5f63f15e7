//! Edits never lost and never missed (issue 14 §4), through the binary and its log:
//! a reload that reports an error changes nothing that is served until the edit is
//! fixed; the watcher survives its zones folder being moved away and back,
//! replaced by another renamed over it, or deleted and recreated, and says so; the
//! periodic check finds an edit the file notifier never reported.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::Command;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use hickory_proto::op::ResponseCode;
use hickory_proto::rr::RecordType;

use crate::harness::*;
use crate::system::{BIN, Daemon};

fn zone(tld: &str, serial: u32, www: &str) -> String {
    format!(
        "$TTL 300\n@ SOA ns.{tld}. h.{tld}. {serial} 3600 600 86400 300\n@ NS ns.{tld}.\nns A 127.0.0.1\nwww A {www}\n"
    )
}

/// A root zone with no delegation but `extra`.
fn root_zone(extra: &str) -> String {
    format!(
        "$TTL 86400\n@ SOA a.root.alt. h.alt. 1 1800 900 604800 3600\n@ NS a.root.alt.\na.root.alt. A 127.0.0.1\n{extra}"
    )
}

/// A running `altroot serve` with one zones root (`alt`, folder `zones`), its log
/// lines collected.
struct Served {
    p: Daemon,
    addr: SocketAddr,
    dir: tempfile::TempDir,
}

impl Served {
    /// Writes `files` (relative paths) and the config into a new folder, and serves
    /// it, the config given by its absolute path.
    fn start(files: &[(&str, String)]) -> Served {
        Served::start_with(files, false)
    }

    /// As [`Served::start`]; with `relative`, run from the folder with
    /// `--config altroot.toml`, so every path altroot uses is relative.
    fn start_with(files: &[(&str, String)], relative: bool) -> Served {
        let dir = tempfile::tempdir().unwrap();
        for (path, text) in files {
            let p = dir.path().join(path);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(&p, text).unwrap();
        }
        std::fs::write(
            dir.path().join("altroot.toml"),
            "[server]\nlisten = [\"127.0.0.1:0\"]\n[[root]]\nname = \"alt\"\nzones = \"zones\"\n",
        )
        .unwrap();
        let mut cmd = Command::new(BIN);
        cmd.arg("serve").env_remove("RUST_LOG");
        if relative {
            cmd.current_dir(dir.path())
                .args(["--config", "altroot.toml"]);
        } else {
            cmd.arg("--config").arg(dir.path().join("altroot.toml"));
        }
        let mut p = Daemon::spawn(cmd, "altroot serve");
        let addr = crate::process::addr_from(&p.wait_line("listening on 127.0.0.1:"));
        p.wait_line("altroot ready");
        Served { p, addr, dir }
    }

    fn path(&self, rel: &str) -> PathBuf {
        self.dir.path().join(rel)
    }

    fn write(&self, rel: &str, text: &str) {
        std::fs::write(self.path(rel), text).unwrap();
    }

    /// How many log lines so far: [`Served::after`] looks only at later ones.
    fn mark(&self) -> usize {
        self.p.lines.lock().unwrap().len()
    }

    /// Waits (bounded) for a line after `mark` containing one of `needles`;
    /// returns it.
    fn after(&self, mark: usize, needles: &[&str]) -> String {
        let t = Instant::now();
        loop {
            {
                let lines = self.p.lines.lock().unwrap();
                let hit = lines
                    .iter()
                    .skip(mark)
                    .find(|l| needles.iter().any(|n| l.contains(n)));
                if let Some(l) = hit {
                    return l.clone();
                }
            }
            assert!(
                t.elapsed() < Duration::from_secs(20),
                "no line with {needles:?} in 20 s:\n{}",
                self.p.output()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Waits for the reload after `mark` to end, and says how: the line that says
    /// the edit was refused, or the one that says it was served.
    fn reload_after(&self, mark: usize) -> String {
        self.after(mark, &["not reloaded", "zones reloaded"])
    }

    /// Waits for a reload after `mark` that swapped new zones in.
    fn reloaded_after(&self, mark: usize) {
        let l = self.reload_after(mark);
        assert!(l.contains("zones reloaded"), "{l}\n{}", self.p.output());
    }

    async fn www(&self, tld: &str) -> Vec<String> {
        let m = query(self.addr, &format!("www.{tld}."), RecordType::A).await;
        addrs(&m).iter().map(ToString::to_string).collect()
    }
}

//------------ A reload with an error changes nothing -----------------------------

/// The edit was refused: an error line `FILE:LINE: error: …` with `error` in it
/// after `mark`, then the line that says the root was not reloaded.
fn refused(s: &Served, mark: usize, error: &str) {
    let err = s.after(mark, &[": error: "]);
    assert!(err.contains(error), "want {error:?} in {err}");
    let end = s.reload_after(mark);
    assert!(
        end.contains("not reloaded") && end.contains("root \"alt\""),
        "the broken edit was reloaded: {end}\n{}",
        s.p.output()
    );
}

// `GEEK.zone` beside `geek.zone` defines geek twice: the error names both files,
// and geek stays as it was (the new file's data is not served) until one of the
// two files goes.
#[tokio::test]
async fn zone_defined_twice_changes_nothing_until_fixed() {
    let s = Served::start(&[("zones/geek.zone", zone("geek", 1, "192.0.2.1"))]);
    let mark = s.mark();
    s.write("zones/GEEK.zone", &zone("geek", 2, "192.0.2.2"));
    refused(&s, mark, "zones/geek.zone:1: error: geek. is defined twice");
    assert_eq!(s.www("geek").await, vec!["192.0.2.1"], "old geek served");
    let mark = s.mark();
    std::fs::remove_file(s.path("zones/geek.zone")).unwrap();
    s.reloaded_after(mark);
    assert_eq!(s.www("geek").await, vec!["192.0.2.2"]);
}

// A syntax error in one file holds back the whole edit of the root: a good edit
// of another file saved with it is not served either (files are often edited
// together: a delegation and its glue, a TLD and the root zone). Fixed, both are.
#[tokio::test]
async fn a_broken_file_holds_back_the_whole_root() {
    let s = Served::start(&[
        ("zones/geek.zone", zone("geek", 1, "192.0.2.1")),
        ("zones/biz.zone", zone("biz", 1, "192.0.2.10")),
    ]);
    let mark = s.mark();
    s.write(
        "zones/geek.zone",
        &format!("{}oops A 300.1.1.1\n", zone("geek", 2, "192.0.2.2")),
    );
    s.write("zones/biz.zone", &zone("biz", 2, "192.0.2.11"));
    refused(&s, mark, "zones/geek.zone:6: error:");
    assert_eq!(s.www("geek").await, vec!["192.0.2.1"]);
    assert_eq!(
        s.www("biz").await,
        vec!["192.0.2.10"],
        "half an edit served"
    );
    let mark = s.mark();
    s.write("zones/geek.zone", &zone("geek", 2, "192.0.2.2"));
    s.reloaded_after(mark);
    assert_eq!(s.www("geek").await, vec!["192.0.2.2"]);
    assert_eq!(s.www("biz").await, vec!["192.0.2.11"]);
}

// `$INCLUDE` of a file that is not there yet: an error at the include line; the
// file appearing is the fix. (biz is edited in the same save.)
#[tokio::test]
async fn an_include_error_changes_nothing_until_the_file_appears() {
    let s = Served::start(&[
        ("zones/geek.zone", zone("geek", 1, "192.0.2.1")),
        ("zones/biz.zone", zone("biz", 1, "192.0.2.10")),
    ]);
    let mark = s.mark();
    let base = zone("geek", 2, "192.0.2.1").replace("www A 192.0.2.1\n", "");
    s.write("zones/geek.zone", &format!("{base}$INCLUDE hosts.inc\n"));
    s.write("zones/biz.zone", &zone("biz", 2, "192.0.2.11"));
    refused(&s, mark, "zones/geek.zone:5: error: cannot read");
    assert_eq!(s.www("geek").await, vec!["192.0.2.1"]);
    assert_eq!(s.www("biz").await, vec!["192.0.2.10"]);
    let mark = s.mark();
    s.write("zones/hosts.inc", "www A 192.0.2.3\n");
    s.reloaded_after(mark);
    assert_eq!(s.www("geek").await, vec!["192.0.2.3"]);
    assert_eq!(s.www("biz").await, vec!["192.0.2.11"]);
}

// A zone without NS at its apex is not a zone: refused, the old versions stay
// (biz is edited in the same save).
#[tokio::test]
async fn a_bad_apex_changes_nothing_until_fixed() {
    let s = Served::start(&[
        ("zones/geek.zone", zone("geek", 1, "192.0.2.1")),
        ("zones/biz.zone", zone("biz", 1, "192.0.2.10")),
    ]);
    let mark = s.mark();
    s.write(
        "zones/geek.zone",
        &zone("geek", 2, "192.0.2.4").replace("@ NS ns.geek.\n", ""),
    );
    s.write("zones/biz.zone", &zone("biz", 2, "192.0.2.11"));
    refused(
        &s,
        mark,
        "zones/geek.zone:2: error: no NS records at the apex",
    );
    assert_eq!(s.www("geek").await, vec!["192.0.2.1"]);
    assert_eq!(s.www("biz").await, vec!["192.0.2.10"]);
    let mark = s.mark();
    s.write("zones/geek.zone", &zone("geek", 3, "192.0.2.4"));
    s.reloaded_after(mark);
    assert_eq!(s.www("geek").await, vec!["192.0.2.4"]);
    assert_eq!(s.www("biz").await, vec!["192.0.2.11"]);
}

// The rules between files: a TLD delegated in root.zone and given its own file in
// one edit. Before the edit `web` is nowhere (NXDOMAIN from the root zone); the
// broken edit must not bring the file's data in; dropping the delegation does.
#[tokio::test]
async fn a_tld_both_delegated_and_filed_changes_nothing_until_fixed() {
    let s = Served::start(&[
        ("zones/root.zone", root_zone("")),
        ("zones/geek.zone", zone("geek", 1, "192.0.2.1")),
    ]);
    let nx = query(s.addr, "www.web.", RecordType::A).await;
    assert_eq!(nx.metadata.response_code, ResponseCode::NXDomain);
    let mark = s.mark();
    s.write(
        "zones/root.zone",
        &root_zone("web. NS ns1.web.\nns1.web. A 192.0.2.53\n"),
    );
    s.write("zones/web.zone", &zone("web", 1, "192.0.2.80"));
    refused(&s, mark, "zones/root.zone:5: error: web. is defined twice");
    let m = query(s.addr, "www.web.", RecordType::A).await;
    assert_eq!(
        m.metadata.response_code,
        ResponseCode::NXDomain,
        "the broken edit is served: {:?}",
        lines(&m.answers)
    );
    let mark = s.mark();
    s.write("zones/root.zone", &root_zone(""));
    s.reloaded_after(mark);
    assert_eq!(s.www("web").await, vec!["192.0.2.80"]);
}

// A special-use TLD without `special-use`: refused, with the edit saved beside it.
#[tokio::test]
async fn a_special_use_zone_holds_back_the_edit() {
    let s = Served::start(&[("zones/geek.zone", zone("geek", 1, "192.0.2.1"))]);
    let mark = s.mark();
    s.write("zones/local.zone", &zone("local", 1, "192.0.2.9"));
    s.write("zones/geek.zone", &zone("geek", 2, "192.0.2.5"));
    refused(
        &s,
        mark,
        "zones/local.zone:1: error: local is a special-use TLD",
    );
    assert_eq!(s.www("geek").await, vec!["192.0.2.1"]);
    let mark = s.mark();
    std::fs::remove_file(s.path("zones/local.zone")).unwrap();
    s.reloaded_after(mark);
    assert_eq!(s.www("geek").await, vec!["192.0.2.5"]);
}

//------------ The watcher never goes deaf ------------------------------------------

/// Saves geek.zone anew (in place) and waits until its `www` is `want`, through
/// the reload the watcher logs.
async fn edit_is_served(s: &Served, serial: u32, want: &str) {
    let mark = s.mark();
    s.write("zones/geek.zone", &zone("geek", serial, want));
    s.reloaded_after(mark);
    assert_eq!(s.www("geek").await, vec![want]);
}

fn zones_files() -> Vec<(&'static str, String)> {
    vec![
        ("zones/geek.zone", zone("geek", 1, "192.0.2.1")),
        ("zones/biz.zone", zone("biz", 1, "192.0.2.10")),
    ]
}

// The zones folder moved away: the log says it is gone (and what is served stays);
// moved back: the log says it is watched again, and later edits are served.
#[tokio::test]
async fn folder_moved_away_and_back_is_watched_again() {
    let s = Served::start(&zones_files());
    let mark = s.mark();
    std::fs::rename(s.path("zones"), s.path("zones.away")).unwrap();
    let gone = s.after(mark, &["is gone"]);
    assert!(gone.contains("WARN") && gone.contains("/zones"), "{gone}");
    assert_eq!(s.www("geek").await, vec!["192.0.2.1"]);
    let mark = s.mark();
    std::fs::rename(s.path("zones.away"), s.path("zones")).unwrap();
    s.after(mark, &["is back: watching it again"]);
    edit_is_served(&s, 2, "192.0.2.2").await;
    edit_is_served(&s, 3, "192.0.2.3").await;
}

// Moved away and straight back, faster than any reload: the watch the notifier
// dropped is armed again.
#[tokio::test]
async fn folder_moved_away_and_straight_back_is_watched_again() {
    let s = Served::start(&zones_files());
    let mark = s.mark();
    std::fs::rename(s.path("zones"), s.path("zones.away")).unwrap();
    std::fs::rename(s.path("zones.away"), s.path("zones")).unwrap();
    s.after(mark, &["watching it again"]);
    edit_is_served(&s, 2, "192.0.2.2").await;
}

// As a deploy does it: a new folder renamed over the old one (moved aside first).
// The new folder's data is served, and edits in it after that.
#[tokio::test]
async fn new_folder_renamed_over_it_is_watched_again() {
    let s = Served::start(&zones_files());
    std::fs::create_dir(s.path("zones.new")).unwrap();
    s.write("zones.new/geek.zone", &zone("geek", 2, "192.0.2.20"));
    s.write("zones.new/biz.zone", &zone("biz", 1, "192.0.2.10"));
    let mark = s.mark();
    std::fs::rename(s.path("zones"), s.path("zones.old")).unwrap();
    std::fs::rename(s.path("zones.new"), s.path("zones")).unwrap();
    s.after(mark, &["watching it again"]);
    s.reloaded_after(mark);
    assert_eq!(s.www("geek").await, vec!["192.0.2.20"]);
    edit_is_served(&s, 3, "192.0.2.21").await;
    // The old folder is no longer what is watched.
    let mark = s.mark();
    s.write("zones.old/geek.zone", &zone("geek", 9, "192.0.2.99"));
    edit_is_served(&s, 4, "192.0.2.22").await;
    assert!(
        s.p.lines.lock().unwrap()[mark..]
            .iter()
            .all(|l| !l.contains("zones.old")),
        "{}",
        s.p.output()
    );
}

// `rm -rf zones` and a fresh folder created in its place.
#[tokio::test]
async fn folder_deleted_and_recreated_is_watched_again() {
    let s = Served::start(&zones_files());
    let mark = s.mark();
    std::fs::remove_dir_all(s.path("zones")).unwrap();
    s.after(mark, &["is gone"]);
    assert_eq!(s.www("geek").await, vec!["192.0.2.1"], "served as before");
    let mark = s.mark();
    std::fs::create_dir(s.path("zones")).unwrap();
    s.write("zones/biz.zone", &zone("biz", 1, "192.0.2.10"));
    s.write("zones/geek.zone", &zone("geek", 2, "192.0.2.30"));
    s.after(mark, &["watching it again"]);
    // The folder may be seen before its files are: the edit below is served either way.
    edit_is_served(&s, 3, "192.0.2.31").await;
}

// The same with every path relative (`serve --config altroot.toml` in the config's
// folder): the notifier reports `./zones` for `zones`.
#[tokio::test]
async fn folder_moved_away_and_back_with_relative_paths() {
    let s = Served::start_with(&zones_files(), true);
    let mark = s.mark();
    std::fs::rename(s.path("zones"), s.path("zones.away")).unwrap();
    s.after(mark, &["is gone"]);
    let mark = s.mark();
    std::fs::rename(s.path("zones.away"), s.path("zones")).unwrap();
    s.after(mark, &["is back: watching it again"]);
    edit_is_served(&s, 2, "192.0.2.2").await;
}

// SIGHUP reloads every file and watches every folder anew, and says so.
#[tokio::test]
async fn sighup_watches_anew() {
    let s = Served::start(&zones_files());
    let mark = s.mark();
    s.p.signal(libc::SIGHUP);
    let l = s.after(mark, &["watching the zones folders anew"]);
    assert!(l.contains("folders="), "{l}");
    s.after(mark, &["reload done"]);
    edit_is_served(&s, 2, "192.0.2.2").await;
}

//------------ The periodic check ---------------------------------------------------

/// An altroot with one zones root, watched without the file notifier: only the
/// periodic check (every 100 ms) can find changes.
async fn unnotified() -> (Altroot, altroot::service::watch::WatchHandle) {
    unnotified_every(Duration::from_millis(100)).await
}

async fn unnotified_every(poll: Duration) -> (Altroot, altroot::service::watch::WatchHandle) {
    let cfg = "[server]\nlisten = [\"127.0.0.1:0\"]\n[[root]]\nname = \"alt\"\nzones = \"zones\"\n";
    let a = Altroot::start(cfg, &zones_files()).await;
    let opts = altroot::service::watch::Options {
        notify: false,
        poll,
    };
    let w = altroot::service::watch::spawn_with(a.service.clone(), opts);
    (a, w)
}

async fn until_www(a: &Altroot, tld: &str, want: &str) {
    let t = Instant::now();
    loop {
        let m = a.query(&format!("www.{tld}."), RecordType::A).await;
        if addrs(&m).iter().any(|ip| ip.to_string() == want) {
            return;
        }
        assert!(
            t.elapsed() < Duration::from_secs(10),
            "www.{tld} never became {want}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

// No event comes: the periodic check finds an in-place edit, a new zone file and
// a folder swapped by renames, each by `stat` alone, and says it found them.
#[tokio::test]
async fn the_periodic_check_finds_what_no_event_announced() {
    let (a, w) = unnotified().await;
    let found = |w: &altroot::service::watch::WatchHandle| w.stats().polled.load(Ordering::SeqCst);
    // The first look (at the start) is done.
    wait_until(|| w.stats().reloads.load(Ordering::SeqCst) == 1).await;
    std::fs::write(a.path("zones/geek.zone"), zone("geek", 2, "192.0.2.2")).unwrap();
    until_www(&a, "geek", "192.0.2.2").await;
    assert_eq!(found(&w), 1);
    std::fs::write(a.path("zones/web.zone"), zone("web", 1, "192.0.2.80")).unwrap();
    until_www(&a, "web", "192.0.2.80").await;
    assert_eq!(found(&w), 2);
    std::fs::create_dir(a.path("zones.new")).unwrap();
    for (f, t) in [
        ("geek.zone", zone("geek", 3, "192.0.2.3")),
        ("biz.zone", zone("biz", 1, "192.0.2.10")),
    ] {
        std::fs::write(a.path("zones.new").join(f), t).unwrap();
    }
    std::fs::rename(a.path("zones"), a.path("zones.old")).unwrap();
    std::fs::rename(a.path("zones.new"), a.path("zones")).unwrap();
    until_www(&a, "geek", "192.0.2.3").await;
    assert!(found(&w) >= 3);
    assert_eq!(
        w.stats().events.load(Ordering::SeqCst),
        0,
        "no notifier: only the check found them"
    );
}

// A file being written (its size and time still moving) is not read until it has
// held still for one period. The writer is a thread of its own that appends every
// 5 ms, and the period is 1 s, so a busy machine (the rest of the suite, parallel
// builds, a fuzzer) cannot stall the writer for a whole period and make it look
// finished (at 300 ms it once did, under three parallel builds).
#[tokio::test]
async fn the_periodic_check_waits_for_a_file_to_hold_still() {
    let (a, w) = unnotified_every(Duration::from_secs(1)).await;
    let polls = || w.stats().polls.load(Ordering::SeqCst);
    let reloads = || w.stats().reloads.load(Ordering::SeqCst);
    // The first look (at the start) is done.
    wait_until(|| reloads() == 1).await;
    let full = zone("geek", 2, "192.0.2.2");
    let cut = full.find("www").unwrap();
    let path = a.path("zones/geek.zone");
    std::fs::write(&path, &full[..cut]).unwrap();
    // Grows every 5 ms for three periods: each look sees it changed again.
    let p = polls();
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let writer = {
        let (path, stop) = (path.clone(), stop.clone());
        std::thread::spawn(move || {
            let mut f = std::fs::OpenOptions::new()
                .append(true)
                .open(&path)
                .unwrap();
            // Bounded: 2,000 appends (10 s) at most.
            for i in 0..2000 {
                if stop.load(Ordering::SeqCst) {
                    break;
                }
                std::io::Write::write_all(&mut f, format!("; {i}\n").as_bytes()).unwrap();
                std::thread::sleep(Duration::from_millis(5));
            }
            f
        })
    };
    wait_until(|| polls() >= p + 3).await;
    stop.store(true, Ordering::SeqCst);
    let mut f = writer.join().unwrap();
    assert_eq!(reloads(), 1, "a file still changing was read");
    std::io::Write::write_all(&mut f, &full.as_bytes()[cut..]).unwrap();
    drop(f);
    until_www(&a, "geek", "192.0.2.2").await;
    assert_eq!(reloads(), 2);
}

async fn wait_until(mut f: impl FnMut() -> bool) {
    let t = Instant::now();
    while !f() {
        assert!(t.elapsed() < Duration::from_secs(10), "never happened");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}
