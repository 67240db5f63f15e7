//! The status page in a real browser (issue 9 §4): Debian's Chromium, headless,
//! driven over WebDriver (chromedriver, through fantoccini) against the shipped
//! demo in front of the fake ICANN world. The page loads with no console errors,
//! shows the demo's roots, the collisions after queries, and the compare form's
//! table; at phone width nothing overflows sideways.
//!
//! Screenshots go to target/status-page*.png on every run; with SCREENSHOT=1 also
//! to docs/status-page.png and docs/status-page-phone.png (committed).

use std::net::SocketAddr;
use std::process::Command;
use std::time::{Duration, Instant};

use fantoccini::{Client, ClientBuilder, Locator};
use hickory_proto::rr::RecordType;
use serde_json::{Value, json};

use crate::harness::*;
use crate::system::{Daemon, free_port, http, need};

/// Chromium's switches for a closed network, as root (the machine notes).
const FLAGS: &[&str] = &[
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
    "--hide-scrollbars",
];

async fn browser(driver: u16, profile: &std::path::Path) -> Client {
    let chromium = need("chromium", "chromium");
    let mut args: Vec<String> = FLAGS.iter().map(|s| s.to_string()).collect();
    args.push(format!("--user-data-dir={}", profile.display()));
    args.push("--window-size=1280,2200".into());
    let caps = json!({
        "browserName": "chrome",
        "goog:chromeOptions": { "binary": chromium, "args": args },
        "goog:loggingPrefs": { "browser": "ALL" },
    });
    let Value::Object(caps) = caps else {
        unreachable!()
    };
    let connector = hyper_util::client::legacy::connect::HttpConnector::new();
    ClientBuilder::new(connector)
        .capabilities(caps)
        .connect(&format!("http://127.0.0.1:{driver}"))
        .await
        .expect("chromedriver session")
}

/// The browser's console so far (chromedriver's log endpoint).
async fn console(driver: u16, c: &Client) -> Vec<Value> {
    let id = c.session_id().await.unwrap().expect("a session");
    let addr: SocketAddr = format!("127.0.0.1:{driver}").parse().unwrap();
    let (code, body) = tokio::task::spawn_blocking(move || {
        http(
            addr,
            "POST",
            &format!("/session/{id}/se/log"),
            &addr.to_string(),
            Some(r#"{"type":"browser"}"#),
        )
    })
    .await
    .unwrap();
    assert_eq!(code, 200, "{body}");
    let v: Value = serde_json::from_str(&body).unwrap();
    v["value"].as_array().cloned().unwrap_or_default()
}

async fn text(c: &Client, css: &str) -> String {
    c.wait()
        .at_most(Duration::from_secs(15))
        .for_element(Locator::Css(css))
        .await
        .unwrap_or_else(|e| panic!("{css} never appeared: {e}"))
        .text()
        .await
        .unwrap()
}

fn save(png: &[u8], name: &str) {
    let target = manifest_dir().join("target").join(name);
    std::fs::write(&target, png).unwrap();
    if std::env::var_os("SCREENSHOT").is_some_and(|v| v == "1") {
        let docs = manifest_dir().join("docs");
        std::fs::create_dir_all(&docs).unwrap();
        std::fs::write(docs.join(name), png).unwrap();
    }
}

/// The demo with traffic in a few intervals (the chart's ticks, driven here
/// rather than waiting 10 s each) and its two collisions seen.
async fn demo_with_traffic() -> (crate::world::World, Altroot) {
    let (w, a) = crate::demo::demo().await;
    let names = [
        "www.geek.",
        "www.biz.",
        "www.web.",
        "www.example.com.",
        "wiki.libre.",
        "localhost.",
    ];
    for round in 0..6u64 {
        for (i, n) in names.iter().enumerate() {
            for _ in 0..(1 + (round as usize + i) % 4) {
                query(a.addr, n, RecordType::A).await;
            }
        }
        let stats = a.router().stats();
        let snap = stats.snapshot();
        let totals: Vec<u64> = (0..snap.routes()).map(|r| snap.route_total(r)).collect();
        stats
            .series
            .tick(altroot::clock::unix_now() - 10 * (6 - round), &totals);
    }
    let t = Instant::now();
    while altroot::commands::web::api::collisions(&a.service).len() < 2 {
        assert!(
            t.elapsed() < Duration::from_secs(10),
            "the demo's collisions were not seen"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    (w, a)
}

/// The compare form: www.biz in every root.
async fn compare_form(c: &Client) {
    c.find(Locator::Css("#compare-name"))
        .await
        .unwrap()
        .send_keys("www.biz")
        .await
        .unwrap();
    c.find(Locator::Css("#compare-form button"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    let icann = text(c, "#compare-table tr[data-root='icann']").await;
    assert!(icann.contains("NOERROR 203.0.113.60"), "{icann}");
    let alt = text(c, "#compare-table tr[data-root='alt']").await;
    assert!(alt.contains("NOERROR 192.0.2.10"), "{alt}");
    assert_eq!(text(c, "#compare-result .verdict").await, "differs");
}

/// At a phone's width nothing is wider than the screen.
async fn phone(c: &Client, driver: u16) {
    c.set_window_size(390, 1700).await.unwrap();
    c.refresh().await.unwrap();
    text(c, "#roots tbody tr[data-root='alt']").await;
    let overflow = c
        .execute(
            "return document.documentElement.scrollWidth - window.innerWidth;",
            vec![],
        )
        .await
        .unwrap();
    assert!(
        overflow.as_i64().unwrap_or(1) <= 0,
        "the page is wider than a phone: {overflow}"
    );
    save(&c.screenshot().await.unwrap(), "status-page-phone.png");
    assert!(
        console(driver, c)
            .await
            .iter()
            .all(|e| e["level"] != "SEVERE")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn status_page_in_headless_chromium() {
    need("chromium", "chromium");
    let chromedriver = need("chromedriver", "chromium-driver");
    let (_w, a) = demo_with_traffic().await;
    let web = a.start_web().await;
    let driver = free_port();
    let mut cmd = Command::new(chromedriver);
    cmd.arg(format!("--port={driver}"));
    let mut d = Daemon::spawn(cmd, "chromedriver");
    d.wait_line("started successfully");
    let profile = tempfile::tempdir().unwrap();
    let c = browser(driver, profile.path()).await;
    c.goto(&format!("http://{}/", web.addr)).await.unwrap();

    let roots = text(&c, "#roots tbody tr[data-root='icann']").await;
    assert!(
        roots.contains("icann") && roots.contains("hints"),
        "{roots}"
    );
    let alt = text(&c, "#roots tbody tr[data-root='alt']").await;
    assert!(alt.contains("zones") && alt.contains("local"), "{alt}");
    let biz = text(&c, "#collisions tr[data-tld='biz']").await;
    assert!(
        biz.contains(".biz") && biz.contains("alt, icann") && biz.contains("AtlanticRoot"),
        "{biz}"
    );
    text(&c, "#collisions tr[data-tld='web']").await;
    text(&c, "#chart svg rect").await;
    compare_form(&c).await;

    let errors: Vec<Value> = console(driver, &c)
        .await
        .into_iter()
        .filter(|e| e["level"] == "SEVERE" || e["level"] == "WARNING")
        .collect();
    assert!(errors.is_empty(), "console errors: {errors:#?}");
    save(&c.screenshot().await.unwrap(), "status-page.png");
    phone(&c, driver).await;
    c.close().await.unwrap();
    web.shutdown().await;
}

// compare --report (issue 17 §6) in Chromium: the page opens from disk with no
// console errors, fetches nothing (no resource entries) and runs nothing (no
// script, the TXT record's markup shown as text); the chart has its bars, the
// collisions their rows, and nothing is wider than the window, at a desktop's
// width or a phone's. Screenshot: target/report.png (and docs/report.png with
// SCREENSHOT=1).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn compare_report_in_headless_chromium() {
    need("chromium", "chromium");
    let chromedriver = need("chromedriver", "chromium-driver");
    let (_worlds, _dir, report, (code, out, err)) = crate::report::make().await;
    assert_eq!(code, 1, "{out}{err}");
    let driver = free_port();
    let mut cmd = Command::new(chromedriver);
    cmd.arg(format!("--port={driver}"));
    let mut d = Daemon::spawn(cmd, "chromedriver");
    d.wait_line("started successfully");
    let profile = tempfile::tempdir().unwrap();
    let c = browser(driver, profile.path()).await;
    c.goto(&format!("file://{}", report.display()))
        .await
        .unwrap();

    let free = text(&c, "#collisions tr[data-tld='free']").await;
    assert!(
        free.contains("opennic, icann") && free.contains("opennic answers"),
        "{free}"
    );
    let libre = text(&c, "#tld-libre").await;
    assert!(
        libre.contains("<script>alert(1)</script> & 'co'"),
        "{libre}"
    );
    let js = |s: &'static str| {
        let c = c.clone();
        async move { c.execute(s, vec![]).await.unwrap() }
    };
    assert_eq!(js("return document.scripts.length;").await, json!(0));
    assert_eq!(
        js("return performance.getEntriesByType('resource').length;").await,
        json!(0),
        "the report fetched something"
    );
    assert_eq!(
        js("return document.querySelectorAll('#chart g.bar').length;").await,
        json!(3)
    );
    assert_eq!(
        js("return document.querySelectorAll('#chart rect').length;").await,
        json!(15)
    );
    // Each bar spans the same width: its segments add up to the whole.
    let widths = js("return [...document.querySelectorAll('#chart g.bar')].map(g => [...g.querySelectorAll('rect')].reduce((s, r) => s + r.getBBox().width, 0));").await;
    for w in widths.as_array().unwrap() {
        assert!((w.as_f64().unwrap() - 640.0).abs() < 0.5, "{widths}");
    }
    let overflow = "return document.documentElement.scrollWidth - window.innerWidth;";
    assert!(js(overflow).await.as_i64().unwrap_or(1) <= 0);
    let errors: Vec<Value> = console(driver, &c)
        .await
        .into_iter()
        .filter(|e| e["level"] == "SEVERE" || e["level"] == "WARNING")
        .collect();
    assert!(errors.is_empty(), "console errors: {errors:#?}");
    c.set_window_size(1280, 1500).await.unwrap();
    save(&c.screenshot().await.unwrap(), "report.png");
    c.set_window_size(390, 1700).await.unwrap();
    c.refresh().await.unwrap();
    text(&c, "#pairs").await;
    assert!(
        js(overflow).await.as_i64().unwrap_or(1) <= 0,
        "wider than a phone"
    );
    c.close().await.unwrap();
}
