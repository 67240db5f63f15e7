//! Watching a running altroot (issue 9 §3–§6): the metrics move by exactly the
//! queries sent, the status API shows roots, collisions and reloads, the listener
//! refuses foreign Host headers, the JSON query log rotates and reopens, and the
//! command line prints its commit, its examples and the recipes.

use std::net::SocketAddr;
use std::process::Command;
use std::time::{Duration, Instant};

use hickory_proto::op::ResponseCode;
use hickory_proto::rr::RecordType;
use serde_json::Value;

use crate::harness::*;
use crate::system::{BIN, Daemon, get, http, samples};

/// A GET from a blocking thread (the server runs on this test's runtime).
pub async fn aget(addr: SocketAddr, path: &str) -> (u16, String) {
    let path = path.to_string();
    tokio::task::spawn_blocking(move || get(addr, &path))
        .await
        .unwrap()
}

async fn scrape(addr: SocketAddr) -> std::collections::BTreeMap<String, f64> {
    let (status, body) = aget(addr, "/metrics").await;
    assert_eq!(status, 200, "{body}");
    samples(&body)
}

async fn status(addr: SocketAddr) -> Value {
    let (code, body) = aget(addr, "/api/status").await;
    assert_eq!(code, 200, "{body}");
    serde_json::from_str(&body).unwrap()
}

/// The difference of one sample between two scrapes.
fn delta(
    a: &std::collections::BTreeMap<String, f64>,
    b: &std::collections::BTreeMap<String, f64>,
    key: &str,
) -> f64 {
    b.get(key).copied().unwrap_or(0.0) - a.get(key).copied().unwrap_or(0.0)
}

/// Sum of every sample whose key starts with `prefix`.
fn sum(m: &std::collections::BTreeMap<String, f64>, prefix: &str) -> f64 {
    m.iter()
        .filter(|(k, _)| k.starts_with(prefix))
        .map(|(_, v)| v)
        .sum()
}

// Issue 9 §3: a query run of known shape moves the counters by exactly that:
// per root, protocol, source, rcode, type; failures; cache hits and misses; and
// the upstream queries equal what the fake servers were asked, each with a
// round trip in the histogram.
#[tokio::test]
async fn metrics_move_by_exactly_the_queries_sent() {
    let (w, a) = standard("").await;
    let web = a.start_web().await;
    let before = scrape(web.addr).await;
    for _ in 0..3 {
        assert_eq!(addrs(&a.query("www.geek.", RecordType::A).await).len(), 1);
    }
    let m = send_tcp(
        a.addr,
        &make_query("www.geek.", RecordType::AAAA, Some(1232)),
    )
    .await;
    assert_eq!(m.answers.len(), 1);
    assert_eq!(
        a.query("nope.geek.", RecordType::A)
            .await
            .metadata
            .response_code,
        ResponseCode::NXDomain
    );
    for _ in 0..2 {
        assert_eq!(
            addrs(&a.query("www.example.com.", RecordType::A).await).len(),
            1
        );
    }
    assert_eq!(addrs(&a.query("localhost.", RecordType::A).await).len(), 1);
    let lame = a.query("www.lame.com.", RecordType::A).await;
    assert_eq!(lame.metadata.response_code, ResponseCode::ServFail);
    let reason = ede(&lame).unwrap().1.split(':').next().unwrap().to_string();
    // No question at all: FORMERR, counted as rejected.
    let empty = [0x12, 0x34, 0x01, 0x00, 0, 0, 0, 0, 0, 0, 0, 0];
    let local: SocketAddr = "127.0.0.1:0".parse().unwrap();
    raw_udp_from(local, a.addr, &empty, Duration::from_secs(5))
        .await
        .expect("FORMERR reply");

    // Background collision checks also ask upstream: wait until the world is quiet.
    let mut seen = w.total_queries();
    loop {
        tokio::time::sleep(Duration::from_millis(300)).await;
        let now = w.total_queries();
        if now == seen {
            break;
        }
        seen = now;
    }
    let after = scrape(web.addr).await;
    let d = |k: &str| delta(&before, &after, k);
    assert_eq!(
        d(r#"altroot_queries_total{root="alt",protocol="udp",cache="local"}"#),
        4.0
    );
    assert_eq!(
        d(r#"altroot_queries_total{root="alt",protocol="tcp",cache="local"}"#),
        1.0
    );
    assert_eq!(
        d(r#"altroot_queries_total{root="icann",protocol="udp",cache="miss"}"#),
        2.0
    );
    assert_eq!(
        d(r#"altroot_queries_total{root="icann",protocol="udp",cache="hit"}"#),
        1.0
    );
    assert_eq!(
        d(r#"altroot_queries_total{root="local",protocol="udp",cache="local"}"#),
        1.0
    );
    assert_eq!(
        d(r#"altroot_queries_total{root="none",protocol="udp",cache="none"}"#),
        1.0
    );
    assert_eq!(
        sum(&after, "altroot_queries_total") - sum(&before, "altroot_queries_total"),
        10.0
    );
    assert_eq!(
        d(r#"altroot_responses_total{root="alt",rcode="NOERROR"}"#),
        4.0
    );
    assert_eq!(
        d(r#"altroot_responses_total{root="alt",rcode="NXDOMAIN"}"#),
        1.0
    );
    assert_eq!(
        d(r#"altroot_responses_total{root="icann",rcode="NOERROR"}"#),
        2.0
    );
    assert_eq!(
        d(r#"altroot_responses_total{root="icann",rcode="SERVFAIL"}"#),
        1.0
    );
    assert_eq!(
        d(r#"altroot_responses_total{root="none",rcode="FORMERR"}"#),
        1.0
    );
    assert_eq!(d(r#"altroot_queries_by_type_total{qtype="A"}"#), 8.0);
    assert_eq!(d(r#"altroot_queries_by_type_total{qtype="AAAA"}"#), 1.0);
    assert_eq!(
        d(&format!(
            r#"altroot_failures_total{{root="icann",reason="{reason}"}}"#
        )),
        1.0
    );
    assert_eq!(d(r#"altroot_cache_hits_total{root="icann"}"#), 1.0);
    assert_eq!(d(r#"altroot_cache_misses_total{root="icann"}"#), 2.0);
    assert!(after[r#"altroot_cache_entries{root="icann"}"#] > 0.0);
    assert!(after[r#"altroot_cache_bytes{root="icann"}"#] > 0.0);
    // Every query the fake servers saw is an upstream reply, and has a round trip.
    let replies = sum(
        &after,
        r#"altroot_upstream_queries_total{root="icann",result="reply"}"#,
    ) + sum(
        &after,
        r#"altroot_upstream_queries_total{root="alt",result="reply"}"#,
    );
    assert_eq!(replies as usize, w.total_queries());
    assert_eq!(
        after[r#"altroot_upstream_rtt_seconds_count{root="icann"}"#],
        after[r#"altroot_upstream_queries_total{root="icann",result="reply"}"#]
    );
    assert_eq!(
        after[r#"altroot_upstream_rtt_seconds_bucket{root="icann",le="+Inf"}"#],
        after[r#"altroot_upstream_rtt_seconds_count{root="icann"}"#]
    );
    assert_eq!(
        after[r#"altroot_limit_refusals_total{limit="max-upstream-queries"}"#],
        0.0
    );
    assert_eq!(
        after[r#"altroot_zone_serial{root="alt",zone="geek."}"#], 7.0,
        "{after:#?}"
    );
    assert!(
        after
            .keys()
            .any(|k| k.starts_with("altroot_build_info{version="))
    );
    web.shutdown().await;
}

// Issue 9 §3: the rate limit's drops and slips, and the budget refusals, count.
#[tokio::test]
async fn limit_refusals_are_counted() {
    let (_w, a) =
        standard("[limits]\nrate-limit = 1\nrate-limit-slip = 2\nmax-cname-chain = 3\n").await;
    let web = a.start_web().await;
    for _ in 0..10 {
        let local: SocketAddr = "127.0.0.1:0".parse().unwrap();
        let q = make_query("www.geek.", RecordType::A, Some(1232))
            .to_vec()
            .unwrap();
        let _ = raw_udp_from(local, a.addr, &q, Duration::from_millis(200)).await;
    }
    let m = send_tcp(a.addr, &make_query("c0.geek.", RecordType::A, Some(1232))).await;
    assert_eq!(m.metadata.response_code, ResponseCode::ServFail);
    let after = scrape(web.addr).await;
    let drop = after[r#"altroot_limit_refusals_total{limit="rate-limit-drop"}"#];
    let slip = after[r#"altroot_limit_refusals_total{limit="rate-limit-slip"}"#];
    assert!(
        drop >= 1.0 && slip >= 1.0 && drop + slip <= 9.0,
        "drop {drop} slip {slip}"
    );
    assert_eq!(
        after[r#"altroot_limit_refusals_total{limit="max-cname-chain"}"#],
        1.0
    );
    web.shutdown().await;
}

// Issue 9 §4: the status document: roots with kind, TLDs and health; a collision
// after a query, who won and why, with history; a broken edit's FILE:LINE; and a
// request for another Host is refused (DNS rebinding).
#[tokio::test]
async fn status_api_shows_roots_collisions_and_reloads() {
    let (_w, a) = standard("").await;
    let web = a.start_web().await;
    assert_eq!(addrs(&a.query("www.biz.", RecordType::A).await).len(), 1);
    assert_eq!(
        addrs(&a.query("www.example.com.", RecordType::A).await).len(),
        1
    );
    let t = Instant::now();
    let s = loop {
        let s = status(web.addr).await;
        if !s["collisions"].as_array().unwrap().is_empty() {
            break s;
        }
        assert!(
            t.elapsed() < Duration::from_secs(10),
            "no collision listed: {s}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let c = &s["collisions"][0];
    assert_eq!(c["tld"], "biz");
    assert_eq!(c["roots"], serde_json::json!(["alt", "icann"]));
    assert_eq!(c["winner"], "alt");
    assert!(c["why"].as_str().unwrap().contains("first"), "{c}");
    assert!(
        c["history"]["alternate"]
            .as_str()
            .unwrap()
            .contains("AtlanticRoot"),
        "{c}"
    );
    let alt = &s["roots"][0];
    assert_eq!(
        (alt["name"].as_str(), alt["kind"].as_str()),
        (Some("alt"), Some("zones"))
    );
    assert_eq!(
        alt["tlds"], 3,
        "biz, geek and pirate (a root.zone delegation): {alt}"
    );
    assert_eq!(alt["health"]["state"], "local");
    let icann = &s["roots"][1];
    assert_eq!(icann["kind"], "hints");
    assert_eq!(icann["health"]["state"], "ok", "{icann}");
    assert!(icann["queries"].as_u64().unwrap() >= 1);
    assert_eq!(s["reloads"][0]["trigger"], "start");

    // A broken save: the reload fails and the page says where.
    std::fs::write(a.path("zones/geek.zone"), "$TTL 300\n@ SOA ns.geek. h.geek. 8 1 1 1 1\n@ NS ns.geek.\nns A 127.0.0.1\nwww A not-an-address\n").unwrap();
    let _ = a.service.reload(true);
    let s = status(web.addr).await;
    assert_eq!(s["reloads"][0]["trigger"], "sighup");
    assert_eq!(s["reloads"][0]["outcome"], "failed");
    let p = s["problems"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["severity"] == "error")
        .expect("an error");
    assert!(
        p["text"]
            .as_str()
            .unwrap()
            .contains("zones/geek.zone:5: error"),
        "{p}"
    );
    let m = scrape(web.addr).await;
    assert_eq!(
        m[r#"altroot_reloads_total{trigger="sighup",result="failed"}"#],
        1.0
    );
    assert_eq!(m["altroot_zone_errors"], 1.0);

    let addr = web.addr;
    let (code, _) = tokio::task::spawn_blocking(move || {
        http(addr, "GET", "/api/status", "evil.example:9153", None)
    })
    .await
    .unwrap();
    assert_eq!(code, 403, "a foreign Host header is refused");
    let (code, html) = aget(web.addr, "/").await;
    assert_eq!(code, 200);
    assert!(
        html.contains("<script src=\"/app.js\""),
        "the page loads its script from itself"
    );
    assert!(
        !html.contains("http://") && !html.contains("https://"),
        "no external resources"
    );
    let (code, body) = aget(web.addr, "/api/compare?name=www.biz&type=A").await;
    assert_eq!(code, 200, "{body}");
    let v: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(v["row"]["verdict"], "differs");
    let (code, _) = aget(web.addr, "/api/compare?name=www.web&type=NOPE").await;
    assert_eq!(code, 400);
    web.shutdown().await;
}

/// Reads the JSON lines of a file (bounded wait for at least `n`).
async fn json_lines(path: &std::path::Path, n: usize) -> Vec<Value> {
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
    let t = Instant::now();
    while !a.path("q.jsonl.2").exists() {
        assert!(
            t.elapsed() < Duration::from_secs(10),
            "no rotation to q.jsonl.2"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(!a.path("q.jsonl.3").exists(), "keep = 2");
    assert!(std::fs::metadata(a.path("q.jsonl.1")).unwrap().len() <= 2048);
    // logrotate's way: move the file, then ask for a reopen.
    std::fs::rename(a.path("q.jsonl"), a.path("moved")).unwrap();
    a.frontend().reopen_log();
    tokio::time::sleep(Duration::from_millis(400)).await;
    a.query("nope.geek.", RecordType::A).await;
    let lines = json_lines(&a.path("q.jsonl"), 1).await;
    assert_eq!(lines.last().unwrap()["rcode"], "NXDOMAIN");
}

fn binary(args: &[&str]) -> (bool, String, String) {
    let out = Command::new(BIN).args(args).output().unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
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
    let lines = json_lines(&dir.path().join("q.jsonl"), 1).await;
    assert_eq!(lines[0]["rcode"], "NXDOMAIN");
    assert!(
        p.output().contains("client=127.0.0.0/24"),
        "the stderr line keeps only the prefix too"
    );
    p.signal(libc::SIGTERM);
    assert!(p.wait_exit().success());
}

// Issue 9 §6: --version names the commit; every subcommand's --help has examples.
#[test]
fn version_has_the_commit_and_every_help_an_example() {
    let (ok, out, _) = binary(&["--version"]);
    assert!(ok);
    let commit = Command::new("git")
        .args(["rev-parse", "--short=12", "HEAD"])
        .current_dir(manifest_dir())
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map_or("unknown".to_string(), |o| {
            String::from_utf8_lossy(&o.stdout).trim().to_string()
        });
    assert_eq!(
        out.trim(),
        format!("altroot {} (commit {commit})", env!("CARGO_PKG_VERSION"))
    );
    for args in [
        &["--help"][..],
        &["serve", "--help"],
        &["check", "--help"],
        &["compare", "--help"],
        &["collisions", "--help"],
        &["config", "--help"],
        &["config", "recipes", "--help"],
    ] {
        let (ok, out, _) = binary(args);
        assert!(ok, "{args:?}");
        assert!(
            out.contains("Examples:\n  altroot "),
            "{args:?} --help has no example:\n{out}"
        );
    }
}

// Issue 9 §2: `config recipes` fills in this config's alternate TLDs and address.
#[test]
fn recipes_list_the_configs_alternate_tlds() {
    let cfg = manifest_dir().join("config/altroot.toml");
    let cfg = cfg.to_str().unwrap();
    let (ok, all, err) = binary(&["config", "recipes", "--config", cfg]);
    assert!(ok, "{err}");
    assert!(
        all.starts_with("# altroot at 127.0.0.1:5353; alternate TLDs: biz geek libre pirate web\n"),
        "{all}"
    );
    let (ok, dnsmasq, _) = binary(&["config", "recipes", "--config", cfg, "--system", "dnsmasq"]);
    assert!(ok);
    assert!(
        dnsmasq.contains("server=/geek/127.0.0.1#5353\nserver=/libre/127.0.0.1#5353\n"),
        "{dnsmasq}"
    );
    assert!(!dnsmasq.contains("==="), "one system: the body alone");
    let (ok, _, err) = binary(&["config", "recipes", "--config", cfg, "--system", "nope"]);
    assert!(!ok && err.contains("possible values"), "{err}");
}
