//! Watching a running altroot (issue 9 §3, §4, §6): the metrics move by exactly
//! the queries sent, the status API shows roots, collisions and reloads, the
//! listener refuses foreign Host headers, and the command line prints its commit
//! and its examples.

use std::net::SocketAddr;
use std::process::Command;
use std::time::{Duration, Instant};

use hickory_proto::op::ResponseCode;
use hickory_proto::rr::RecordType;
use serde_json::Value;

use crate::harness::*;
use crate::system::{BIN, get, http, samples};

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

/// The query run of `metrics_move_by_exactly_the_queries_sent`; returns the lame
/// server's failure code.
async fn query_run(a: &Altroot) -> String {
    for _ in 0..3 {
        assert_eq!(addrs(&a.query("www.geek.", RecordType::A).await).len(), 1);
    }
    let m = send_tcp(
        a.addr,
        &make_query("www.geek.", RecordType::AAAA, Some(1232)),
    )
    .await;
    assert_eq!(m.answers.len(), 1);
    let nx = a.query("nope.geek.", RecordType::A).await;
    assert_eq!(nx.metadata.response_code, ResponseCode::NXDomain);
    for _ in 0..2 {
        assert_eq!(
            addrs(&a.query("www.example.com.", RecordType::A).await).len(),
            1
        );
    }
    assert_eq!(addrs(&a.query("localhost.", RecordType::A).await).len(), 1);
    let lame = a.query("www.lame.com.", RecordType::A).await;
    assert_eq!(lame.metadata.response_code, ResponseCode::ServFail);
    // No question at all: FORMERR, counted as rejected.
    let empty = [0x12, 0x34, 0x01, 0x00, 0, 0, 0, 0, 0, 0, 0, 0];
    let local: SocketAddr = "127.0.0.1:0".parse().unwrap();
    raw_udp_from(local, a.addr, &empty, Duration::from_secs(5))
        .await
        .expect("FORMERR reply");
    ede(&lame).unwrap().1.split(':').next().unwrap().to_string()
}

/// Waits until the fake servers have been asked nothing new for a while
/// (background collision checks also ask upstream); fails if they are still
/// being asked after 10 s.
async fn quiet(w: &crate::world::World) {
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut seen = w.total_queries();
    loop {
        tokio::time::sleep(Duration::from_millis(300)).await;
        let now = w.total_queries();
        if now == seen {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "upstream still asked after 10 s: {:?}",
            w.all_seen()
        );
        seen = now;
    }
}

/// What `query_run` must add to each counter.
const EXPECTED: &str = r#"
altroot_queries_total{root="alt",protocol="udp",cache="local"} 4
altroot_queries_total{root="alt",protocol="tcp",cache="local"} 1
altroot_queries_total{root="icann",protocol="udp",cache="miss"} 2
altroot_queries_total{root="icann",protocol="udp",cache="hit"} 1
altroot_queries_total{root="local",protocol="udp",cache="local"} 1
altroot_queries_total{root="none",protocol="udp",cache="none"} 1
altroot_responses_total{root="alt",rcode="NOERROR"} 4
altroot_responses_total{root="alt",rcode="NXDOMAIN"} 1
altroot_responses_total{root="icann",rcode="NOERROR"} 2
altroot_responses_total{root="icann",rcode="SERVFAIL"} 1
altroot_responses_total{root="none",rcode="FORMERR"} 1
altroot_queries_by_type_total{qtype="A"} 8
altroot_queries_by_type_total{qtype="AAAA"} 1
altroot_cache_hits_total{root="icann"} 1
altroot_cache_misses_total{root="icann"} 2
"#;

// Issue 9 §3: a query run of known shape moves the counters by exactly that:
// per root, protocol, source, rcode, type; failures; cache hits and misses; and
// the upstream queries equal what the fake servers were asked, each with a
// round trip in the histogram.
#[tokio::test]
async fn metrics_move_by_exactly_the_queries_sent() {
    let (w, a) = standard("").await;
    let web = a.start_web().await;
    let before = scrape(web.addr).await;
    let reason = query_run(&a).await;
    quiet(&w).await;
    let after = scrape(web.addr).await;
    let failure = format!(r#"altroot_failures_total{{root="icann",reason="{reason}"}} 1"#);
    for line in EXPECTED
        .lines()
        .chain([failure.as_str()])
        .filter(|l| !l.is_empty())
    {
        let (key, want) = line.rsplit_once(' ').unwrap();
        assert_eq!(
            delta(&before, &after, key),
            want.parse::<f64>().unwrap(),
            "{key}"
        );
    }
    let total = |m| sum(m, "altroot_queries_total");
    assert_eq!(total(&after) - total(&before), 10.0, "nothing else counted");
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
// after a query, who won and why, with the TLD's history.
#[tokio::test]
async fn status_api_shows_roots_and_collisions() {
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
    web.shutdown().await;
}

// Issue 9 §4: a broken save's reload fails and the status says where (FILE:LINE);
// the page is served from the binary; compare answers; a request for another Host
// is refused (DNS rebinding).
#[tokio::test]
async fn status_api_shows_a_broken_reload_and_refuses_foreign_hosts() {
    let (_w, a) = standard("").await;
    let web = a.start_web().await;
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

pub fn binary(args: &[&str]) -> (bool, String, String) {
    let out = Command::new(BIN).args(args).output().unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
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

// Issue 9 §3: queries over DNS over TLS count under their own protocol.
#[tokio::test]
async fn dot_queries_count_as_dot() {
    use crate::tlskit::{Pki, dot_exchange, tls_altroot};
    let w = crate::world::World::start(standard_world).await;
    let pki = Pki::new();
    let a = tls_altroot(&w, &pki, "tls-listen = [\"127.0.0.1:0\"]\n", "").await;
    let web = a.start_web().await;
    let msgs = [
        make_query("www.geek.", RecordType::A, Some(1232)),
        make_query("nope.geek.", RecordType::A, Some(1232)),
    ];
    let replies = dot_exchange(&pki, a.encrypted.tls_addrs[0], &msgs).await;
    assert_eq!(replies.len(), 2);
    let m = scrape(web.addr).await;
    assert_eq!(
        m[r#"altroot_queries_total{root="alt",protocol="dot",cache="local"}"#],
        2.0
    );
    // (altroot_panics_total has a row per protocol, 0 until a panic is caught.)
    assert!(
        !m.keys()
            .any(|k| k.contains(r#"protocol="udp""#) && !k.starts_with("altroot_panics"))
    );
    web.shutdown().await;
}

/// The problems `/api/status` lists and those `altroot check` reports for the
/// same config, as `FILE:LINE: severity: message` lines.
async fn status_and_check(a: &Altroot, web: SocketAddr) -> (Vec<String>, Vec<String>) {
    let s = status(web).await;
    let listed: Vec<String> = s["problems"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["text"].as_str().unwrap().to_string())
        .collect();
    let cfg = a.path("altroot.toml");
    let checked = tokio::task::spawn_blocking(move || {
        altroot::commands::check::check(Some(&cfg))
            .problems
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<String>>()
    })
    .await
    .unwrap();
    (listed, checked)
}

// Issue 14 §4: the status page lists the problems `altroot check` reports for the
// running config and zones, no fewer: the listener certificate's, the zones' at
// start, after a reload that kept zones without reading them (their warnings
// stand), after a broken edit and after its fix.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn status_lists_the_problems_check_reports() {
    let w = crate::world::World::start(standard_world).await;
    let pki = crate::tlskit::Pki::new();
    let a = crate::tlskit::tls_altroot(&w, &pki, "tls-listen = [\"127.0.0.1:0\"]\n", "").await;
    let web = a.start_web().await;
    let (listed, checked) = status_and_check(&a, web.addr).await;
    assert!(
        checked.iter().any(|p| p.contains("tls-cert: ")),
        "the test needs a certificate warning: {checked:?}"
    );
    assert!(
        checked.iter().any(|p| p.contains("biz is also a TLD")),
        "and a zone warning: {checked:?}"
    );
    assert_eq!(listed, checked, "at start");

    let geek = std::fs::read_to_string(a.path("zones/geek.zone")).unwrap();
    std::fs::write(
        a.path("zones/geek.zone"),
        format!("{geek}new A 192.0.2.7\n"),
    )
    .unwrap();
    let (_, changed) = a.service.reload(false);
    assert!(changed);
    let (listed, checked) = status_and_check(&a, web.addr).await;
    assert_eq!(listed, checked, "after a reload that kept biz.zone unread");

    std::fs::write(a.path("zones/geek.zone"), format!("{geek}bad A 1.2.3\n")).unwrap();
    a.service.reload(false);
    let (listed, checked) = status_and_check(&a, web.addr).await;
    assert!(
        checked.iter().any(|p| p.contains(": error: ")),
        "{checked:?}"
    );
    assert_eq!(listed, checked, "after a broken edit");

    std::fs::write(a.path("zones/geek.zone"), &geek).unwrap();
    a.service.reload(false);
    let (listed, checked) = status_and_check(&a, web.addr).await;
    assert_eq!(listed, checked, "after the fix");

    // A lower serial is reported by the reload that serves it, and stands no
    // longer once it is served (`check` compares with what `serve` served last).
    assert!(geek.contains(" 7 3600 "), "{geek}");
    std::fs::write(
        a.path("zones/geek.zone"),
        geek.replace(" 7 3600 ", " 6 3600 "),
    )
    .unwrap();
    let (reported, _) = a.service.reload(false);
    assert!(
        reported
            .iter()
            .any(|p| p.message.contains("serial went down")),
        "{reported:?}"
    );
    let (listed, checked) = status_and_check(&a, web.addr).await;
    assert_eq!(listed, checked, "after a lower serial is served");
    web.shutdown().await;
}
