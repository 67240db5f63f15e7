//! Live reload of edited zone files (issue: editing zones): every way editors save,
//! atomic swaps under load, broken edits, TLDs appearing and leaving, and caches
//! that an edit makes wrong.

use std::io::Write;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use hickory_proto::op::ResponseCode;
use hickory_proto::rr::{RData, RecordType};

use crate::harness::*;

fn geek(version: u32, www: &str) -> String {
    format!(
        "$TTL 300\n@ 300 SOA ns.geek. h.geek. {version} 3600 600 86400 60\n@ NS ns.geek.\nns A 127.0.0.1\nwww A {www}\n"
    )
}

async fn watched() -> (crate::world::World, Altroot) {
    let (w, mut a) = standard("").await;
    std::fs::write(a.path("zones/geek.zone"), geek(1, "192.0.2.1")).unwrap();
    a.service.reload(true);
    a.watch();
    (w, a)
}

/// Polls (bounded) until `www.geek` answers `want`; returns how long it took.
async fn until_www(a: &Altroot, want: &str) -> Duration {
    let t = Instant::now();
    while t.elapsed() < Duration::from_secs(10) {
        let m = a.query("www.geek.", RecordType::A).await;
        if addrs(&m).iter().any(|ip| ip.to_string() == want) {
            return t.elapsed();
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("www.geek never became {want}");
}

// Write in place: truncate, write, close.
#[tokio::test]
async fn edit_in_place() {
    let (_w, a) = watched().await;
    std::fs::write(a.path("zones/geek.zone"), geek(2, "192.0.2.2")).unwrap();
    until_www(&a, "192.0.2.2").await;
}

// Write a temporary file, then rename it over the zone file (vim, emacs, most GUIs).
#[tokio::test]
async fn edit_by_rename() {
    let (_w, a) = watched().await;
    let tmp = a.path("zones/.geek.zone.tmp1234");
    std::fs::write(&tmp, geek(2, "192.0.2.3")).unwrap();
    std::fs::rename(&tmp, a.path("zones/geek.zone")).unwrap();
    until_www(&a, "192.0.2.3").await;
}

// Delete, then create anew.
#[tokio::test]
async fn edit_by_delete_and_create() {
    let (_w, a) = watched().await;
    std::fs::remove_file(a.path("zones/geek.zone")).unwrap();
    std::fs::write(a.path("zones/geek.zone"), geek(2, "192.0.2.4")).unwrap();
    until_www(&a, "192.0.2.4").await;
}

// Editors' swap, backup, temp and probe files beside a zone are never loaded (docs/zones.md
// "Editing zones": names starting with a dot or ending in `~`/`.swp` are ignored,
// and only `*.zone` files are zones): written with a valid zone for geek that says
// something else, and a dot file named like a zone for a new TLD, they change
// nothing that is served. A control edit of biz.zone afterwards proves the watcher
// has been through them (its reload is the only one that swaps anything).
#[tokio::test]
async fn swap_and_backup_files_are_ignored() {
    let (_w, a) = watched().await;
    let before = a.service.swaps.load(Ordering::SeqCst);
    let other = geek(9, "192.0.2.66");
    for f in [
        ".geek.zone.swp",
        ".geek.zone.swx",
        ".geek.zone.tmp1234",
        "geek.zone~",
        "4913",
        "#geek.zone#",
    ] {
        std::fs::write(a.path(&format!("zones/{f}")), &other).unwrap();
    }
    std::fs::write(a.path("zones/.libre.zone"), other.replace("geek", "libre")).unwrap();
    reload_control(&a, "zones/biz.zone", "biz", 11).await;
    let m = a.query("www.geek.", RecordType::A).await;
    assert_eq!(lines(&m.answers), vec!["www.geek. 300 A 192.0.2.1"]);
    // libre is no alt-root TLD: asked in the ICANN world, which has none either.
    let m = a.query("www.libre.", RecordType::A).await;
    assert_eq!(m.metadata.response_code, ResponseCode::NXDomain);
    // The counter goes up just after the swap: wait for the control's, then there
    // must have been no other.
    let t = Instant::now();
    while a.service.swaps.load(Ordering::SeqCst) == before {
        assert!(t.elapsed() < Duration::from_secs(5), "swaps never counted");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    assert_eq!(a.service.swaps.load(Ordering::SeqCst), before + 1);
}

// A file written slowly (open, half, pause, rest, close) is never served half-done:
// every query in the meantime sees the old zone or the new one. The pause lasts
// until the watcher has seen the half-written file and held its reload back (its
// short quiet time ran out with the file still open for writing).
#[tokio::test]
async fn half_written_file_is_never_served() {
    let (_w, a) = standard("").await;
    std::fs::write(a.path("zones/geek.zone"), geek(1, "192.0.2.1")).unwrap();
    a.service.reload(true);
    let watch = altroot::service::watch::spawn(a.service.clone());
    let stats = |w: &altroot::service::watch::WatchHandle| {
        let s = w.stats();
        (
            s.held.load(Ordering::SeqCst),
            s.reloads.load(Ordering::SeqCst),
        )
    };
    // The watcher's first look at the files is done.
    let t = Instant::now();
    while stats(&watch).1 == 0 {
        assert!(
            t.elapsed() < Duration::from_secs(10),
            "the watcher never looked"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let addr = a.addr;
    let stop = Arc::new(AtomicBool::new(false));
    let bad = Arc::new(AtomicUsize::new(0));
    let (s, b) = (stop.clone(), bad.clone());
    let prober = tokio::spawn(async move {
        let mut n = 0;
        while !s.load(Ordering::SeqCst) && n < 5000 {
            let m = query(addr, "www.geek.", RecordType::A).await;
            if m.answers.is_empty() {
                b.fetch_add(1, Ordering::SeqCst);
            }
            n += 1;
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    });
    let path = a.path("zones/geek.zone");
    let full = geek(2, "192.0.2.5");
    let cut = full.find("www").unwrap();
    let (head, tail) = (full[..cut].to_string(), full[cut..].to_string());
    let (go, wait) = std::sync::mpsc::channel::<()>();
    let writer = tokio::task::spawn_blocking(move || {
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .truncate(true)
            .open(&path)
            .unwrap();
        f.write_all(head.as_bytes()).unwrap();
        f.flush().unwrap();
        wait.recv_timeout(Duration::from_secs(10)).unwrap();
        f.write_all(tail.as_bytes()).unwrap();
        // Closed here.
    });
    let (held, reloads) = stats(&watch);
    let t = Instant::now();
    while stats(&watch).0 == held {
        assert!(
            t.elapsed() < Duration::from_secs(10),
            "the watcher never held a reload back for the half-written file"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    assert_eq!(stats(&watch).1, reloads, "the half-written file was read");
    go.send(()).unwrap();
    writer.await.unwrap();
    until_www(&a, "192.0.2.5").await;
    stop.store(true, Ordering::SeqCst);
    prober.await.unwrap();
    assert_eq!(
        bad.load(Ordering::SeqCst),
        0,
        "a half-written zone was served"
    );
}

// Two records changed in one edit are seen together, under concurrent queries.
#[tokio::test]
async fn swap_is_atomic_under_load() {
    let (_w, mut a) = standard("").await;
    let zone = |n: u32| {
        format!(
            "$TTL 300\n@ 300 SOA ns.geek. h.geek. {n} 3600 600 86400 60\n@ NS ns.geek.\nns A 127.0.0.1\n\
             pair TXT \"a-{n}\"\npair TXT \"b-{n}\"\nchain CNAME t{n}\nt{n} A 192.0.2.{}\n",
            n % 250 + 1
        )
    };
    std::fs::write(a.path("zones/geek.zone"), zone(0)).unwrap();
    a.service.reload(true);
    a.watch();
    let addr = a.addr;
    let stop = Arc::new(AtomicBool::new(false));
    let mixed = Arc::new(AtomicUsize::new(0));
    let answered = Arc::new(AtomicUsize::new(0));
    let mut probers = Vec::new();
    for _ in 0..4 {
        let (s, m, ok) = (stop.clone(), mixed.clone(), answered.clone());
        probers.push(tokio::spawn(async move {
            let mut n = 0;
            while !s.load(Ordering::SeqCst) && n < 20_000 {
                let r = query(addr, "pair.geek.", RecordType::TXT).await;
                let v: Vec<String> = r
                    .answers
                    .iter()
                    .filter_map(|x| match &x.data {
                        RData::TXT(t) => Some(t.to_string()),
                        _ => None,
                    })
                    .collect();
                let gens: std::collections::HashSet<&str> = v
                    .iter()
                    .map(|t| t.split('-').nth(1).unwrap_or("?"))
                    .collect();
                if v.len() != 2 || gens.len() != 1 {
                    m.fetch_add(1, Ordering::SeqCst);
                }
                let c = query(addr, "chain.geek.", RecordType::A).await;
                if c.metadata.response_code != ResponseCode::NoError || c.answers.len() != 2 {
                    m.fetch_add(1, Ordering::SeqCst);
                }
                ok.fetch_add(1, Ordering::SeqCst);
                n += 1;
            }
        }));
    }
    for n in 1..=30u32 {
        let tmp = a.path("zones/.geek.zone.new");
        std::fs::write(&tmp, zone(n)).unwrap();
        std::fs::rename(&tmp, a.path("zones/geek.zone")).unwrap();
        // Saves 40 ms apart, inside the watcher's 50 ms quiet time: the scenario.
        tokio::time::sleep(Duration::from_millis(40)).await;
    }
    // Keep probing until the last version is served (bounded).
    let t = Instant::now();
    loop {
        let r = query(addr, "pair.geek.", RecordType::TXT).await;
        if lines(&r.answers).iter().all(|l| l.contains("-30")) && !r.answers.is_empty() {
            break;
        }
        assert!(
            t.elapsed() < Duration::from_secs(10),
            "the last version was never served: {:?}",
            lines(&r.answers)
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    stop.store(true, Ordering::SeqCst);
    for p in probers {
        p.await.unwrap();
    }
    assert!(answered.load(Ordering::SeqCst) > 50, "the probers ran");
    assert_eq!(
        mixed.load(Ordering::SeqCst),
        0,
        "a query saw a mix of two versions"
    );
    let r = query(addr, "pair.geek.", RecordType::TXT).await;
    assert!(
        lines(&r.answers).iter().all(|l| l.contains("-30")),
        "{:?}",
        lines(&r.answers)
    );
    assert!(a.service.swaps.load(Ordering::SeqCst) >= 2);
}

// A broken edit changes nothing of its root: the zone keeps its last good version
// and another zone's good edit in the same moment waits for the fix (docs/zones.md
// "Editing zones": all or nothing per root); the error is reported once per
// broken save.
#[tokio::test]
async fn broken_edit_keeps_last_good_zones_and_reports_once() {
    let (_w, a) = standard("").await;
    std::fs::write(a.path("zones/geek.zone"), geek(1, "192.0.2.1")).unwrap();
    a.service.reload(true);
    std::fs::write(
        a.path("zones/geek.zone"),
        format!("{}oops A 300.1.1.1\n", geek(2, "192.0.2.9")),
    )
    .unwrap();
    let biz = "$TTL 3600\n@ 300 SOA ns.biz. host.biz. 2 3600 600 86400 300\n@ NS ns.biz.\nns A 127.0.0.1\nwww A 192.0.2.11\n";
    std::fs::write(a.path("zones/biz.zone"), biz).unwrap();
    let swaps = a.service.swaps.load(Ordering::SeqCst);
    let (problems, changed) = a.service.reload(false);
    assert!(!changed);
    assert_eq!(a.service.swaps.load(Ordering::SeqCst), swaps);
    // The new biz.zone brings its (informational) warnings again; one error.
    let shown: Vec<String> = problems
        .iter()
        .filter(|p| p.is_error())
        .map(ToString::to_string)
        .collect();
    assert_eq!(shown.len(), 1, "{shown:?}");
    assert!(shown[0].ends_with("zones/geek.zone:6: error: network address parse error: invalid IPv4 address syntax in \"oops A 300.1.1.1\""), "{shown:?}");
    assert_eq!(
        lines(&a.query("www.geek.", RecordType::A).await.answers),
        vec!["www.geek. 300 A 192.0.2.1"]
    );
    assert_eq!(
        lines(&a.query("www.biz.", RecordType::A).await.answers),
        vec!["www.biz. 3600 A 192.0.2.10"],
        "half an edit served"
    );
    // The same broken file again: nothing new to say.
    let (problems, _) = a.service.reload(false);
    assert!(problems.is_empty(), "{problems:?}");
    // Broken differently: said again.
    std::fs::write(
        a.path("zones/geek.zone"),
        format!("{}oops2 MX x\n", geek(2, "192.0.2.9")),
    )
    .unwrap();
    let (problems, _) = a.service.reload(false);
    assert_eq!(problems.len(), 1);
    assert!(problems[0].to_string().contains("geek.zone:6: error:"));
    // Fixed: both edits are served.
    std::fs::write(a.path("zones/geek.zone"), geek(2, "192.0.2.9")).unwrap();
    let (problems, changed) = a.service.reload(false);
    assert!(
        changed && problems.iter().all(|p| !p.is_error()),
        "{problems:?}"
    );
    assert_eq!(
        lines(&a.query("www.geek.", RecordType::A).await.answers),
        vec!["www.geek. 300 A 192.0.2.9"]
    );
    assert_eq!(
        lines(&a.query("www.biz.", RecordType::A).await.answers),
        vec!["www.biz. 3600 A 192.0.2.11"]
    );
}

/// Waits (bounded) until the watcher has run `n` more reloads that were refused
/// than `before` ([`refused_reloads`]): the positive control for "a broken edit
/// changed nothing" (a good edit in the same root waits for the fix, so it cannot
/// serve as one).
pub(crate) async fn until_refused(a: &Altroot, before: u64, n: u64) {
    let t = Instant::now();
    while refused_reloads(a) < before + n {
        assert!(
            t.elapsed() < Duration::from_secs(10),
            "the watcher never reloaded the broken edit"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

/// Reloads by the watcher that ended refused so far.
pub(crate) fn refused_reloads(a: &Altroot) -> u64 {
    a.service
        .history
        .reloads()
        .iter()
        .find(|(t, o, _)| *t == "watch" && *o == "failed")
        .map_or(0, |r| r.2)
}

// A TLD appears in the alternate root (it now wins over ICANN), then leaves again.
#[tokio::test]
async fn tld_added_and_removed() {
    let (_w, mut a) = standard("").await;
    a.watch();
    assert_eq!(
        lines(&a.query("www.web.", RecordType::A).await.answers),
        vec!["www.web. 300 A 203.0.113.61"]
    );
    std::fs::write(
        a.path("zones/web.zone"),
        "$TTL 600\n@ 300 SOA ns.web. h.web. 1 3600 600 86400 300\n@ NS ns.web.\nns A 127.0.0.1\nwww A 192.0.2.80\n",
    )
    .unwrap();
    let t = Instant::now();
    loop {
        let m = a.query("www.web.", RecordType::A).await;
        if lines(&m.answers) == vec!["www.web. 600 A 192.0.2.80"] {
            break;
        }
        assert!(
            t.elapsed() < Duration::from_secs(10),
            "web.zone never served"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    std::fs::remove_file(a.path("zones/web.zone")).unwrap();
    loop {
        let m = a.query("www.web.", RecordType::A).await;
        if addrs(&m).iter().any(|ip| ip.to_string() == "203.0.113.61") {
            break;
        }
        assert!(
            t.elapsed() < Duration::from_secs(20),
            "web never went back to ICANN"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

// Data cached under the old zones stops being served at the swap: pirate names,
// learned through root.zone's delegation and cached, vanish with the delegation.
#[tokio::test]
async fn cached_data_an_edit_makes_wrong_is_dropped() {
    let (_w, mut a) = standard("").await;
    a.watch();
    assert_eq!(
        lines(&a.query("www.pirate.", RecordType::A).await.answers),
        vec!["www.pirate. 300 A 198.51.100.77"]
    );
    let root = std::fs::read_to_string(a.path("zones/root.zone")).unwrap();
    let without: String = root
        .lines()
        .filter(|l| !l.contains("pirate"))
        .map(|l| format!("{l}\n"))
        .collect();
    std::fs::write(a.path("zones/root.zone"), without).unwrap();
    let t = Instant::now();
    loop {
        let m = a.query("www.pirate.", RecordType::A).await;
        if m.metadata.response_code == ResponseCode::NXDomain {
            break; // now asked in the ICANN world, which has no pirate
        }
        assert!(
            t.elapsed() < Duration::from_secs(10),
            "stale pirate data still served"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

// `$INCLUDE`d files are watched too.
#[tokio::test]
async fn included_file_edit_is_served() {
    let (_w, mut a) = standard("").await;
    std::fs::write(a.path("zones/hosts.inc"), "www A 192.0.2.1\n").unwrap();
    std::fs::write(
        a.path("zones/geek.zone"),
        "$TTL 300\n@ 300 SOA ns.geek. h.geek. 1 3600 600 86400 60\n@ NS ns.geek.\nns A 127.0.0.1\n$INCLUDE hosts.inc\n",
    )
    .unwrap();
    a.service.reload(true);
    a.watch();
    until_www(&a, "192.0.2.1").await;
    std::fs::write(a.path("zones/hosts.inc"), "www A 192.0.2.42\n").unwrap();
    until_www(&a, "192.0.2.42").await;
}
