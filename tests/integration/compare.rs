//! `altroot compare` and `altroot collisions` against the fake worlds, through the
//! binary, with golden output for the table and the JSON
//! (`tests/fixtures/compare/`; `BLESS=1` rewrites them).

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use hickory_proto::rr::{LowerName, RecordType};

use crate::harness::*;
use crate::world::World;

/// The standard world, plus: the alt root delegates `org` to the same server as
/// ICANN (so org names agree), and serves its own `web`.
pub fn files(w: &World) -> Vec<(&'static str, String)> {
    let mut files = alt_zones(w);
    let org = World::ip(w.block, host::ORG);
    for (name, text) in files.iter_mut() {
        if *name == "zones/root.zone" {
            text.push_str(&format!(
                "org. NS a.org-servers.org.\na.org-servers.org. A {org}\n"
            ));
        }
    }
    files.push((
        "zones/web.zone",
        "$TTL 600\n@ 300 SOA ns.web. h.web. 1 3600 600 86400 300\n@ NS ns.web.\nns A 127.0.0.1\nwww A 192.0.2.80\n".into(),
    ));
    files.push(("hints.txt", hints(w)));
    files
}

pub fn write(dir: &Path, files: &[(&str, String)], config: &str) {
    for (p, t) in files {
        let p = dir.join(p);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, t).unwrap();
    }
    std::fs::write(dir.join("altroot.toml"), config).unwrap();
}

pub(crate) fn run(dir: &Path, args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_altroot"))
        .current_dir(dir)
        .args(args)
        .env_remove("RUST_LOG")
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Replaces what differs between runs (the world's addresses and port).
fn normalise(w: &World, s: &str) -> String {
    let block = format!("{}.{}.{}.", w.block[0], w.block[1], w.block[2]);
    s.replace(&block, "127.W.W.")
        .replace(&format!(":{}", w.port), ":PORT")
}

pub fn golden(name: &str, got: &str) {
    let path = manifest_dir().join("tests/fixtures/compare").join(name);
    if std::env::var_os("BLESS").is_some() {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, got).unwrap();
        return;
    }
    let want = std::fs::read_to_string(&path).unwrap_or_default();
    assert_eq!(
        got,
        want,
        "golden file {} differs (BLESS=1 to rewrite)",
        path.display()
    );
}

pub const NAMES: &[&str] = &[
    "www.example.org",    // same in both (alt delegates org to ICANN's servers)
    "www.biz",            // differs: each root has its own biz
    "www.geek",           // only alt
    "www.example.com",    // only icann
    "nope.example.org",   // none: NXDOMAIN in both
    "toicann.geek",       // alt: a CNAME into the ICANN root
    "togeek.example.com", // icann: a CNAME into the alt root
    "localhost",          // special-use: answered locally for every root
];

fn config(w: &World) -> String {
    crate::harness::config(w, "")
}

// The table: one aligned row per name, each root's rcode and data, a verdict, a
// summary; exit 1 because roots differ.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn compare_table_and_json_against_the_fake_worlds() {
    let w = World::start(standard_world).await;
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), &files(&w), &config(&w));
    let mut args = vec!["compare", "--config", "altroot.toml"];
    args.extend(NAMES);
    let (code, out, err) = run(dir.path(), &args);
    assert_eq!(code, 1, "{err}");
    golden("table.txt", &normalise(&w, &out));

    let mut args = vec![
        "compare",
        "--config",
        "altroot.toml",
        "--json",
        "-t",
        "A,TXT",
    ];
    args.extend(NAMES);
    let (code, out, err) = run(dir.path(), &args);
    assert_eq!(code, 1, "{err}");
    for line in out.lines() {
        let v: serde_json::Value = serde_json::from_str(line).expect("every line is JSON");
        assert!(
            v.get("verdict").is_some() || v.get("summary").is_some(),
            "{line}"
        );
    }
    golden("table.json", &normalise(&w, &out));
}

// All roots agree: exit 0. --roots picks and orders roots.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn compare_exit_zero_when_roots_agree_and_roots_flag() {
    let w = World::start(standard_world).await;
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), &files(&w), &config(&w));
    let (code, out, err) = run(
        dir.path(),
        &[
            "compare",
            "--config",
            "altroot.toml",
            "www.example.org",
            "nope.example.org",
            "localhost",
        ],
    );
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.ends_with("3 rows: 2 same, 1 none\n"), "{out}");
    let (code, out, _) = run(
        dir.path(),
        &[
            "compare",
            "--config",
            "altroot.toml",
            "--roots",
            "icann,alt",
            "www.geek",
        ],
    );
    assert_eq!(code, 1);
    let header = out.lines().next().unwrap();
    assert!(
        header.find("icann").unwrap() < header.find("alt ").unwrap(),
        "{header}"
    );
    let (code, _, err) = run(
        dir.path(),
        &[
            "compare",
            "--config",
            "altroot.toml",
            "--roots",
            "nope",
            "x",
        ],
    );
    assert_eq!(code, 2);
    assert!(err.contains("no root \"nope\""), "{err}");
}

// -f reads a Tranco-style CSV; an unreachable root is reported in its cells, the run
// ends in bounded time and exits 2.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn compare_file_and_unreachable_root() {
    let w = World::start(standard_world).await;
    let dir = tempfile::tempdir().unwrap();
    let silent = World::ip(w.block, host::SILENT);
    let cfg = format!(
        "{}\n[[root]]\nname = \"dead\"\nforward = [\"{silent}:{}\"]\nallow-loopback-upstream = true\ntlds = [\"dead\"]\n",
        edit(
            &config(&w),
            "query-timeout = \"3s\"",
            "query-timeout = \"1s\""
        ),
        w.port
    );
    // The dead root goes second so that icann stays last (it catches the rest).
    let cfg = {
        let (head, rest) = cfg.split_at(cfg.find("[[root]]\nname = \"icann\"").unwrap());
        let dead = rest[rest.find("[[root]]\nname = \"dead\"").unwrap()..].to_string();
        let icann = rest[..rest.find("[[root]]\nname = \"dead\"").unwrap()].to_string();
        format!("{head}{dead}\n{icann}")
    };
    write(dir.path(), &files(&w), &cfg);
    std::fs::write(
        dir.path().join("names.csv"),
        "1,www.geek\n2,www.example.com\n3,www.biz\n",
    )
    .unwrap();
    let t = Instant::now();
    let (code, out, err) = run(
        dir.path(),
        &["compare", "--config", "altroot.toml", "-f", "names.csv"],
    );
    assert!(
        t.elapsed() < Duration::from_secs(15),
        "bounded: {:?}",
        t.elapsed()
    );
    assert_eq!(code, 2, "{out}{err}");
    golden("unreachable.txt", &normalise(&w, &out));
    let (_, out, _) = run(
        dir.path(),
        &[
            "compare",
            "--config",
            "altroot.toml",
            "--json",
            "-f",
            "names.csv",
        ],
    );
    let first: serde_json::Value = serde_json::from_str(out.lines().next().unwrap()).unwrap();
    let dead = &first["roots"][1];
    assert_eq!(dead["root"], "dead");
    assert_eq!(dead["rcode"], "SERVFAIL");
    assert!(
        dead["error"].as_str().is_some_and(|e| !e.is_empty()),
        "{first}"
    );
}

// collisions against the fake world: asked the ICANN root's servers.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn collisions_against_the_fake_world() {
    let w = World::start(standard_world).await;
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), &files(&w), &config(&w));
    let (code, out, err) = run(dir.path(), &["collisions", "--config", "altroot.toml"]);
    assert_eq!(code, 0, "{err}");
    golden("collisions-world.txt", &normalise(&w, &out));
    let (_, out, _) = run(
        dir.path(),
        &["collisions", "--config", "altroot.toml", "--json"],
    );
    golden("collisions-world.json", &normalise(&w, &out));
    // With a pin and the interrupt policy.
    let cfg = format!(
        "{}[collisions]\npolicy = \"interrupt\"\npin = {{ web = \"icann\" }}\n",
        config(&w)
    );
    std::fs::write(dir.path().join("altroot.toml"), cfg).unwrap();
    let (_, out, _) = run(dir.path(), &["collisions", "--config", "altroot.toml"]);
    assert!(out.contains("biz  in alt, icann: controlled interruption (127.0.53.53) answers (policy \"interrupt\")"), "{out}");
    assert!(
        out.contains("web  in alt, icann: icann answers (pin web = \"icann\")"),
        "{out}"
    );
}

// The shipped demo, offline: biz and web with their history.
#[test]
fn collisions_on_the_shipped_demo_offline() {
    let (code, out, err) = run(manifest_dir(), &["collisions", "--offline"]);
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains("AtlanticRoot") && out.contains("Image Online Design"),
        "{out}"
    );
    golden("collisions-demo-offline.txt", &out);
}

// Issue 14: `compare` asks each root for the name whatever the precedence says. That
// forced route is no routing decision: asking the alt root for www.example.com
// must not record (and log) `com` as a collision of alt and icann, as it did when
// the background check took the forced root to have the TLD. A real collision
// found the same way (biz) is still recorded with the roots that have it.
#[tokio::test]
async fn compare_records_no_collision_for_a_tld_only_one_root_has() {
    let (_w, a) = standard("").await;
    let r = a.router();
    let alt = r.root_index("alt").unwrap();
    for n in ["www.example.com.", "www.biz."] {
        r.answer_in(alt, &name(n), RecordType::A).await;
    }
    let seen = |tld: &str| {
        a.router()
            .collisions_seen()
            .get(&LowerName::new(&name(tld)))
            .cloned()
    };
    let deadline = Instant::now() + Duration::from_secs(5);
    while (seen("com.").is_none() || seen("biz.").is_none()) && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(seen("com."), Some(vec!["icann".to_string()]));
    assert_eq!(
        seen("biz."),
        Some(vec!["alt".to_string(), "icann".to_string()])
    );
}

/// A Handshake-like root as hsd serves it: its `. NS` is a `_synth.` name with
/// glue, it has `hnsonly.` (on its own server) and nothing else.
fn hns_world(b: [u8; 3]) -> Vec<crate::world::Spec> {
    use crate::world::{Behaviour, spec};
    let ip = |h| World::ip(b, h);
    let root = format!(
        "@ SOA . . 1 1800 900 604800 86400
@ NS _fs0000g._synth.
_fs0000g._synth. A {root}
hnsonly. NS ns1.hnsonly.
ns1.hnsonly. A {leaf}",
        root = ip(1),
        leaf = ip(2)
    );
    let leaf = "@ SOA ns1.hnsonly. h.hnsonly. 1 1800 900 604800 300\n@ NS ns1.hnsonly.\nns1 A 192.0.2.53\nwww A 192.0.2.54\n";
    vec![
        spec("root", ip(1), &[(".", &root)], Behaviour::Normal),
        spec("hnsonly", ip(2), &[("hnsonly.", leaf)], Behaviour::Normal),
    ]
}

// Issue 17: a TLD only the Handshake root has (hnsonly), compared across alt,
// handshake and icann in three orders (each root asked, as `compare` asks): the
// collision check records handshake alone. The false collision the issue reports
// did not reproduce here nor against a real hsd (handshake.rs); this guards the
// three-root case the two-root test above does not cover.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn compare_records_no_collision_for_a_handshake_only_tld() {
    let w = World::start(standard_world).await;
    let h = World::start(hns_world).await;
    for order in [
        ["alt", "handshake", "icann"],
        ["alt", "icann", "handshake"],
        ["handshake", "alt", "icann"],
    ] {
        let mut f = files(&w);
        f.push((
            "hns-hints.txt",
            format!(
                ". NS _fs0000g._synth.\n_fs0000g._synth. A {}\n",
                World::ip(h.block, 1)
            ),
        ));
        let table = |n: &str| match n {
            "alt" => format!(
                "[[root]]\nname = \"alt\"\nzones = \"zones\"\nport = {}\nallow-loopback-upstream = true\n",
                w.port
            ),
            "icann" => icann_root(&w),
            _ => format!(
                "[[root]]\nname = \"handshake\"\nhints = \"hns-hints.txt\"\nport = {}\nallow-loopback-upstream = true\n",
                h.port
            ),
        };
        let cfg = format!(
            "[server]\nlisten = [\"127.0.0.1:0\"]\nquery-timeout = \"3s\"\n\n{}\n{}\n{}\n",
            table(order[0]),
            table(order[1]),
            table(order[2])
        );
        let a = Altroot::start(&cfg, &f).await;
        let r = a.router();
        for root in order {
            let i = r.root_index(root).unwrap();
            r.answer_in(i, &name("www.hnsonly."), RecordType::A).await;
        }
        let seen = || {
            a.router()
                .collisions_seen()
                .get(&LowerName::new(&name("hnsonly.")))
                .cloned()
        };
        let deadline = Instant::now() + Duration::from_secs(5);
        while seen().is_none() && Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        assert_eq!(seen(), Some(vec!["handshake".to_string()]), "{order:?}");
    }
}
