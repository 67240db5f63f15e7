//! The query log's JSON-lines file (issue 9 §5): every key, the client left out or
//! cut to its prefix, rotation by size, reopening by call and by SIGUSR1.

use std::net::SocketAddr;
use std::process::Command;
use std::time::{Duration, Instant};

use hickory_proto::op::ResponseCode;
use hickory_proto::rr::RecordType;
use serde_json::Value;

use crate::harness::*;
use crate::system::{BIN, Daemon};

/// Reads the JSON lines of a file, once one has `key` = `want` (bounded wait):
/// the writer writes in batches, so earlier records may come first.
pub(crate) async fn json_lines_until(path: &std::path::Path, key: &str, want: &str) -> Vec<Value> {
    let t = Instant::now();
    loop {
        let lines = json_lines(path, 0).await;
        if lines.iter().any(|l| l[key] == want) {
            return lines;
        }
        assert!(
            t.elapsed() < Duration::from_secs(10),
            "{} has no line with {key} = {want}: {lines:?}",
            path.display()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Reads the JSON lines of a file (bounded wait for at least `n`).
pub(crate) async fn json_lines(path: &std::path::Path, n: usize) -> Vec<Value> {
    let t = Instant::now();
    loop {
        let text = std::fs::read_to_string(path).unwrap_or_default();
        let lines: Vec<Value> = text
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        if lines.len() >= n {
            return lines;
        }
        assert!(
            t.elapsed() < Duration::from_secs(10),
            "{} has {} lines, wanted {n}",
            path.display(),
            lines.len()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

// Issue 9 §5: one JSON object per query with every field, the client left out when
// asked, rotation by size, and reopening after the file was moved.
#[tokio::test]
async fn json_query_log_rotates_and_reopens() {
    let (_w, a) = standard("[log]\nquery-file = \"q.jsonl\"\nquery-file-max-size = \"2KiB\"\nquery-file-keep = 2\nclient = \"none\"\n").await;
    a.query("www.geek.", RecordType::A).await;
    let lame = a.query("www.lame.com.", RecordType::A).await;
    assert_eq!(lame.metadata.response_code, ResponseCode::ServFail);
    let lines = json_lines(&a.path("q.jsonl"), 2).await;
    let first = &lines[0];
    for key in [
        "ts", "client", "proto", "name", "type", "root", "cache", "rcode", "answers", "ms",
        "failure", "reason",
    ] {
        assert!(first.get(key).is_some(), "{key} missing from {first}");
    }
    assert_eq!(first["client"], Value::Null, "client = \"none\"");
    assert_eq!(
        (
            first["name"].as_str(),
            first["root"].as_str(),
            first["cache"].as_str()
        ),
        (Some("www.geek."), Some("alt"), Some("local"))
    );
    assert_eq!(lines[1]["rcode"], "SERVFAIL");
    assert!(
        lines[1]["failure"].is_string() && lines[1]["reason"].is_string(),
        "{}",
        lines[1]
    );
    // About 250 bytes a line: 30 queries pass 2 KiB more than once.
    for _ in 0..30 {
        a.query("www.geek.", RecordType::A).await;
    }
    // A barrier: the burst's last line is written (rotation happens before a line
    // is written, so it is in q.jsonl) before the rotated files are looked at.
    let m = a.query("burst-done.geek.", RecordType::A).await;
    assert_eq!(m.metadata.response_code, ResponseCode::NXDomain);
    json_lines_until(&a.path("q.jsonl"), "name", "burst-done.geek.").await;
    assert!(a.path("q.jsonl.2").exists(), "no rotation to q.jsonl.2");
    assert!(!a.path("q.jsonl.3").exists(), "keep = 2");
    assert!(std::fs::metadata(a.path("q.jsonl.1")).unwrap().len() <= 2048);
    // logrotate's way: move the file, then ask for a reopen; the writer has
    // reopened once q.jsonl exists again (it is created by the reopen).
    std::fs::rename(a.path("q.jsonl"), a.path("moved")).unwrap();
    a.frontend().reopen_log();
    let t = Instant::now();
    while !a.path("q.jsonl").exists() {
        assert!(
            t.elapsed() < Duration::from_secs(10),
            "q.jsonl not reopened"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let m = a.query("nope.geek.", RecordType::A).await;
    assert_eq!(m.metadata.response_code, ResponseCode::NXDomain);
    json_lines_until(&a.path("q.jsonl"), "name", "nope.geek.").await;
    let moved = json_lines(&a.path("moved"), 0).await;
    assert!(
        moved.iter().all(|l| l["name"] != "nope.geek."),
        "written to the moved file after the reopen"
    );
    // Once more, asking at once: the record that wakes an idle writer is written
    // after it has looked at the reopen request (it went to the old file before).
    let t = Instant::now();
    while !a.frontend().log_idle() {
        assert!(
            t.elapsed() < Duration::from_secs(10),
            "the writer never went idle"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    std::fs::rename(a.path("q.jsonl"), a.path("moved-again")).unwrap();
    a.frontend().reopen_log();
    let m = a.query("again.geek.", RecordType::A).await;
    assert_eq!(m.metadata.response_code, ResponseCode::NXDomain);
    json_lines_until(&a.path("q.jsonl"), "name", "again.geek.").await;
    let moved = json_lines(&a.path("moved-again"), 0).await;
    assert!(
        moved.iter().all(|l| l["name"] != "again.geek."),
        "the waking record went to the moved file"
    );
}

// Issue 9 §5, through the binary: SIGUSR1 reopens the query-log file.
#[tokio::test]
async fn sigusr1_reopens_the_query_log() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("zones")).unwrap();
    std::fs::write(dir.path().join("zones/geek.zone"), "$TTL 300\n@ SOA ns.geek. h.geek. 1 1 1 1 60\n@ NS ns.geek.\nns A 127.0.0.1\nwww A 192.0.2.1\n").unwrap();
    std::fs::write(dir.path().join("altroot.toml"), "[server]\nlisten = [\"127.0.0.1:0\"]\n[[root]]\nname = \"alt\"\nzones = \"zones\"\n[log]\nquery-file = \"q.jsonl\"\nclient = \"prefix\"\n").unwrap();
    let mut cmd = Command::new(BIN);
    cmd.args(["serve", "--config"])
        .arg(dir.path().join("altroot.toml"))
        .env_remove("RUST_LOG");
    let mut p = Daemon::spawn(cmd, "altroot");
    let line = p.wait_line("listening on 127.0.0.1:");
    p.wait_line("altroot ready"); // signals are handled from here on
    let addr: SocketAddr = line
        .split("listening on ")
        .nth(1)
        .unwrap()
        .split(' ')
        .next()
        .unwrap()
        .parse()
        .unwrap();
    query(addr, "www.geek.", RecordType::A).await;
    let first = json_lines(&dir.path().join("q.jsonl"), 1).await;
    assert_eq!(first[0]["client"], "127.0.0.0/24", "client = \"prefix\"");
    std::fs::rename(dir.path().join("q.jsonl"), dir.path().join("q.jsonl.old")).unwrap();
    p.signal(libc::SIGUSR1);
    p.wait_line("query log reopened");
    query(addr, "nope.geek.", RecordType::A).await;
    json_lines_until(&dir.path().join("q.jsonl"), "rcode", "NXDOMAIN").await;
    assert!(
        p.output().contains("client=127.0.0.0/24"),
        "the stderr line keeps only the prefix too"
    );
    p.signal(libc::SIGTERM);
    assert!(p.wait_exit().success());
}

// A query-log file that cannot be opened stops `serve` at start-up (exit 1), naming it.
#[test]
fn unopenable_query_log_stops_the_start() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("zones")).unwrap();
    std::fs::write(dir.path().join("altroot.toml"), "[server]\nlisten = [\"127.0.0.1:0\"]\n[[root]]\nname = \"alt\"\nzones = \"zones\"\n[log]\nquery-file = \"no/such/dir/q.jsonl\"\n").unwrap();
    let out = Command::new(BIN)
        .args(["serve", "--config"])
        .arg(dir.path().join("altroot.toml"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("cannot open the query log") && err.contains("no/such/dir/q.jsonl"),
        "{err}"
    );
}

// Issue 14 §4: SIGTERM the moment the last answer arrives loses no query log line,
// on stderr or in the file, and the last line says how many were dropped (none).
#[tokio::test]
async fn sigterm_right_after_queries_loses_no_line() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("zones")).unwrap();
    std::fs::write(dir.path().join("zones/geek.zone"), "$TTL 300\n@ SOA ns.geek. h.geek. 1 1 1 1 60\n@ NS ns.geek.\nns A 127.0.0.1\nwww A 192.0.2.1\n").unwrap();
    std::fs::write(dir.path().join("altroot.toml"), "[server]\nlisten = [\"127.0.0.1:0\"]\n[[root]]\nname = \"alt\"\nzones = \"zones\"\n[log]\nquery-file = \"q.jsonl\"\n").unwrap();
    let mut cmd = Command::new(BIN);
    cmd.args(["serve", "--config"])
        .arg(dir.path().join("altroot.toml"))
        .env_remove("RUST_LOG");
    let mut p = Daemon::spawn(cmd, "altroot");
    let addr = crate::process::addr_from(&p.wait_line("listening on 127.0.0.1:"));
    p.wait_line("altroot ready");
    const N: usize = 20;
    for i in 0..N {
        let m = query(addr, &format!("n{i}.geek."), RecordType::A).await;
        assert_eq!(m.metadata.response_code, ResponseCode::NXDomain);
    }
    p.signal(libc::SIGTERM);
    assert!(p.wait_exit().success());
    p.wait_line("stopped");
    let out = p.output();
    let logged = (0..N)
        .filter(|i| out.contains(&format!("name=n{i}.geek. ")))
        .count();
    assert_eq!(logged, N, "stderr lost lines:\n{out}");
    let file = json_lines(&dir.path().join("q.jsonl"), 0).await;
    let names: Vec<String> = file.iter().map(|l| l["name"].to_string()).collect();
    assert_eq!(file.len(), N, "the file lost lines: {names:?}");
    let last = out.lines().last().unwrap_or("");
    assert!(
        last.contains(" stopped ") && last.contains("query_log_dropped=0"),
        "{last}"
    );
}
