//! `policy = "first-come"` (issue 20): the root whose claim on a TLD is oldest
//! answers, through real sockets. The fake ICANN root is consulted FIRST here, so
//! every test where the alternate root answers is one root order alone would not
//! give. Date sources: the config's `since`, the bundled history (biz: the
//! alternate roots' 1995 against ICANN's 2001), a zones root's SOA serial read as
//! a date; unknown dates and ties keep root order; a pin decides alone; a zone
//! reload that changes a serial changes the decision.

use hickory_proto::rr::RecordType;

use crate::harness::*;
use crate::world::World;

/// ICANN first, then alt; `icann_extra` and `alt_extra` go into their tables,
/// `collisions` into `[collisions]` (after `policy = "first-come"`).
fn config(w: &World, icann_extra: &str, alt_extra: &str, collisions: &str) -> String {
    format!(
        "[server]\nlisten = [\"127.0.0.1:0\"]\nquery-timeout = \"3s\"\n\n{}{icann_extra}\n[[root]]\nname = \"alt\"\nzones = \"zones\"\nport = {}\nallow-loopback-upstream = true\n{alt_extra}\n[collisions]\npolicy = \"first-come\"\n{collisions}",
        icann_root(w),
        w.port
    )
}

/// The alternate root's own com. (the fake ICANN root has com. too), with `serial`.
fn alt_com(serial: u32) -> String {
    format!(
        "$TTL 3600\n@ IN SOA a.root-servers.alt. hostmaster.root-servers.alt. {serial} 7200 900 1209600 300\n@ IN NS a.root-servers.alt.\nwww.example IN A 192.0.2.77\n"
    )
}

async fn start(
    icann_extra: &str,
    alt_extra: &str,
    collisions: &str,
    com_serial: u32,
) -> (World, Altroot) {
    let w = World::start(standard_world).await;
    let mut files = alt_zones(&w);
    files.push(("hints.txt", hints(&w)));
    files.push(("zones/com.zone", alt_com(com_serial)));
    let a = Altroot::start(&config(&w, icann_extra, alt_extra, collisions), &files).await;
    (w, a)
}

async fn answer(a: &Altroot, name: &str) -> Vec<String> {
    let m = a.query(name, RecordType::A).await;
    assert_resolver_flags(&m);
    lines(&m.answers)
}

const ALT_BIZ: &str = "www.biz. 3600 A 192.0.2.10";
const ICANN_BIZ: &str = "www.biz. 300 A 203.0.113.60";
const ALT_COM: &str = "www.example.com. 3600 A 192.0.2.77";
const ICANN_COM: &str = "www.example.com. 600 A 203.0.113.10";

// History: biz was the alternate roots' in 1995, ICANN's in 2001: alt answers,
// though ICANN comes first in root order. com has no history and the alternate
// root's serial (2026…) is no help against an unknown ICANN date: root order.
#[tokio::test]
async fn history_gives_biz_to_the_alternate_root_and_unknown_dates_keep_root_order() {
    let (_w, a) = start("", "", "", 2026112701).await;
    assert_eq!(answer(&a, "www.biz.").await, vec![ALT_BIZ]);
    assert_eq!(answer(&a, "www.example.com.").await, vec![ICANN_COM]);
    // A TLD only one root has is that root's.
    assert_eq!(
        answer(&a, "www.geek.").await,
        vec!["www.geek. 3600 A 192.0.2.1"]
    );
    let r = a.router();
    let (w, why) = r.first_come_now(&lower("biz."), &[0, 1]);
    assert_eq!(r.roots[w].name, "alt");
    assert_eq!(
        why,
        "alt since 1995 (history: AtlanticRoot Network) before icann since 2001 (history: ICANN) (earlier claim)"
    );
    let (_, why) = r.first_come_now(&lower("com."), &[0, 1]);
    assert_eq!(
        why,
        "icann since an unknown date before alt since 2026-11-27 (SOA serial 2026112701) (an unknown date: root order)"
    );
}

// The config's `since` comes first: ICANN given biz in 1990 keeps it; com's
// serial (1995-01-01) against ICANN's configured 2000 gives com to alt.
#[tokio::test]
async fn since_in_the_config_and_the_serial_as_a_date() {
    let (_w, a) = start(
        "since = { biz = \"1990\", com = \"2000-01\" }\n",
        "",
        "",
        1995010101,
    )
    .await;
    assert_eq!(answer(&a, "www.biz.").await, vec![ICANN_BIZ]);
    assert_eq!(answer(&a, "www.example.com.").await, vec![ALT_COM]);
    let r = a.router();
    let (_, why) = r.first_come_now(&lower("com."), &[0, 1]);
    assert_eq!(
        why,
        "alt since 1995-01-01 (SOA serial 1995010101) before icann since 2000-01 (since in the config) (earlier claim)"
    );
}

// Dates equal at the precision both give are a tie: root order (ICANN here).
#[tokio::test]
async fn a_tie_keeps_root_order() {
    let (_w, a) = start(
        "since = { biz = \"1995\" }\n",
        "since = { biz = \"1995-06\" }\n",
        "",
        2026112701,
    )
    .await;
    assert_eq!(answer(&a, "www.biz.").await, vec![ICANN_BIZ]);
    let (_, why) = a.router().first_come_now(&lower("biz."), &[0, 1]);
    assert!(why.ends_with("(a tie: root order)"), "{why}");
}

// A pin decides alone, whatever the dates.
#[tokio::test]
async fn a_pin_overrides_first_come() {
    let (_w, a) = start("", "", "pin = { biz = \"icann\" }\n", 2026112701).await;
    assert_eq!(answer(&a, "www.biz.").await, vec![ICANN_BIZ]);
}

// A reload that changes the date source changes the decision: com.zone saved
// with a serial older than ICANN's configured date gives com to alt.
#[tokio::test]
async fn a_reload_that_changes_the_serial_changes_the_winner() {
    let (_w, mut a) = start("since = { com = \"2000\" }\n", "", "", 2026112701).await;
    a.watch();
    assert_eq!(answer(&a, "www.example.com.").await, vec![ICANN_COM]);
    std::fs::write(a.path("zones/com.zone"), alt_com(1995010101)).unwrap();
    let t = std::time::Instant::now();
    loop {
        let got = answer(&a, "www.example.com.").await;
        if got == [ALT_COM] {
            break;
        }
        assert!(
            t.elapsed() < std::time::Duration::from_secs(10),
            "still {got:?}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}

fn lower(s: &str) -> hickory_proto::rr::LowerName {
    hickory_proto::rr::LowerName::new(&name(s))
}

/// Runs the binary in `dir` (its config and zones written there).
fn run(dir: &std::path::Path, args: &[&str]) -> String {
    let out = std::process::Command::new(crate::system::BIN)
        .current_dir(dir)
        .args(args)
        .env_remove("RUST_LOG")
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout).into_owned()
}

// `compare` and `collisions` (table and JSON) say which dates decided, and the
// status page's collision table too. Multi-threaded: the binary runs while the
// test waits for it, and the fake world must go on answering.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn compare_collisions_and_the_status_page_say_which_dates_decided() {
    let w = World::start(standard_world).await;
    let dir = tempfile::tempdir().unwrap();
    let mut files = alt_zones(&w);
    files.push(("hints.txt", hints(&w)));
    for (p, t) in &files {
        let p = dir.path().join(p);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, t).unwrap();
    }
    std::fs::write(dir.path().join("altroot.toml"), config(&w, "", "", "")).unwrap();
    let decided = "alt since 1995 (history: AtlanticRoot Network) before icann since 2001 (history: ICANN) (earlier claim)";
    let out = run(dir.path(), &["compare", "-c", "altroot.toml", "www.biz."]);
    assert!(
        out.contains(&format!("first-come biz: {decided}: alt answers")),
        "{out}"
    );
    let out = run(dir.path(), &["collisions", "-c", "altroot.toml"]);
    assert!(
        out.contains(&format!(
            "biz  in icann, alt: alt answers (policy \"first-come\": {decided})"
        )),
        "{out}"
    );
    assert!(
        out.contains("    alt    claim    since 1995 (history: AtlanticRoot Network)"),
        "{out}"
    );
    let json = run(dir.path(), &["collisions", "-c", "altroot.toml", "--json"]);
    let biz: serde_json::Value = json
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .find(|v: &serde_json::Value| v["tld"] == "biz")
        .unwrap_or_else(|| panic!("{json}"));
    assert_eq!(biz["winner"], "alt");
    assert_eq!(biz["first_come"]["decided"], decided);
    assert_eq!(biz["first_come"]["claims"][1]["since"], "1995");
    assert_eq!(biz["first_come"]["claims"][1]["source"], "history");

    // The status page: a query makes the collision known, the table says why.
    let (_w2, a) = start("", "", "", 2026112701).await;
    assert_eq!(answer(&a, "www.biz.").await, vec![ALT_BIZ]);
    let seen = altroot::commands::web::api::collisions(&a.service);
    let biz = seen.iter().find(|s| s.tld == "biz").expect("biz seen");
    assert_eq!(biz.winner, "alt");
    assert!(
        biz.why.starts_with("policy \"first-come\": alt since 1995"),
        "{}",
        biz.why
    );
}
