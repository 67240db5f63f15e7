//! `compare --report FILE` (issue 17 §6): the HTML report of a bulk comparison over
//! the OpenNIC test's three roots (alternate, OpenNIC, ICANN; see `opennic`), its
//! structure checked against a golden skeleton, its numbers against the rows, and
//! nothing in it that would fetch from elsewhere. `browser` opens the same report in
//! Chromium ([`make`]).

use std::path::{Path, PathBuf};

use crate::compare::{run, write};
use crate::harness::manifest_dir;
use crate::opennic::{icann_world, normalise, opennic_world, setup};
use crate::world::World;

/// The names compared: every verdict, the TLDs that collide, and a TXT record
/// holding markup (libre's `www`).
const NAMES: &str = "# names for the report test
1,www.geek
2,www.libre
3,www.pirate
4,www.free
5,www.biz
6,www.example.com
7,www.example.org
8,nope.example.org
9,iana.geek
10,localhost
";

/// Starts the worlds, writes the config and names into a temporary folder and
/// runs `compare -f names.csv -t A,TXT --report report.html` there. Returns the
/// worlds (kept running), the folder, the report's path, and the run's exit
/// status, stdout and stderr.
pub async fn make() -> (
    (World, World),
    tempfile::TempDir,
    PathBuf,
    (i32, String, String),
) {
    let w = World::start(icann_world).await;
    let o = World::start(opennic_world).await;
    let (files, cfg) = setup(&w, &o);
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), &files, &cfg);
    std::fs::write(dir.path().join("names.csv"), NAMES).unwrap();
    let out = run(
        dir.path(),
        &[
            "compare",
            "--config",
            "altroot.toml",
            "-f",
            "names.csv",
            "-t",
            "A,TXT",
            "--report",
            "report.html",
        ],
    );
    let report = dir.path().join("report.html");
    ((w, o), dir, report, out)
}

/// The page's skeleton: every line that carries a section, a pair, a TLD or a
/// verdict, with the worlds' addresses normalised.
fn skeleton(html: &str) -> String {
    html.lines()
        .filter(|l| {
            [
                "<section",
                "<h2>",
                "data-pair=",
                "data-tld=",
                "<summary>",
                "class=\"v v-",
                "<title>",
            ]
            .iter()
            .any(|k| l.contains(k))
        })
        .map(|l| format!("{l}\n"))
        .collect()
}

fn golden(name: &str, got: &str) {
    let path = manifest_dir().join("tests/fixtures/report").join(name);
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

/// The cells of the pair table's row for `a` vs `b`, as numbers.
fn pair_row(html: &str, a: &str, b: &str) -> Vec<usize> {
    let start = html
        .find(&format!("<tr data-pair=\"{a}|{b}\">"))
        .unwrap_or_else(|| panic!("no pair row {a}|{b}"));
    let row = &html[start..start + html[start..].find("</tr>").unwrap()];
    row.split("<td class=\"n\">")
        .skip(1)
        .map(|c| c[..c.find([' ', '<']).unwrap()].parse().unwrap())
        .collect()
}

fn text_of(p: &Path) -> String {
    std::fs::read_to_string(p).unwrap()
}

// The report: written, with only the summary on stdout; self-contained; the pair
// counts as each pair's own verdicts give them; collisions first among the TLDs,
// each with what it stems from; markup from DNS data shown, never interpreted.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn report_structure_and_numbers() {
    let ((w, o), _dir, path, (code, out, err)) = make().await;
    assert_eq!(code, 1, "{out}{err}");
    assert_eq!(
        out, "20 rows: 1 same, 11 differs, 1 only alt, 1 only icann, 6 none\n",
        "the table is not printed with --report"
    );
    assert!(err.contains("report written to report.html"), "{err}");
    let html = text_of(&path);
    assert!(html.starts_with("<!DOCTYPE html>\n<html lang=\"en\">"));
    assert!(html.ends_with("</html>\n"));
    // Self-contained: nothing is fetched, nothing runs.
    for bad in [
        "http:", "https:", "src=", "<link", "<script", "@import", "url(",
    ] {
        assert!(!html.contains(bad), "{bad} in the report");
    }
    assert!(html.contains("&lt;script&gt;alert(1)&lt;/script&gt; &amp; &#39;co&#39;"));
    // Pair counts: same, differs, only first, only second, none, error. For
    // alt vs opennic: same localhost A and www.pirate A (alt delegates pirate to
    // OpenNIC's server); differs www.{geek,libre,biz} A, and NXDOMAIN against
    // NODATA for www.free TXT and www.example.com TXT; only alt www.libre TXT;
    // only opennic www.free A and www.example.com A; the other 10 none.
    assert_eq!(pair_row(&html, "alt", "opennic"), [2, 5, 1, 2, 10, 0]);
    assert_eq!(pair_row(&html, "alt", "icann"), [1, 6, 4, 3, 6, 0]);
    // OpenNIC carries ICANN's biz and com: the same answers.
    assert_eq!(pair_row(&html, "opennic", "icann"), [3, 5, 3, 1, 8, 0]);
    for (a, b) in [("alt", "opennic"), ("alt", "icann"), ("opennic", "icann")] {
        let sum: usize = pair_row(&html, a, b).iter().sum();
        assert_eq!(sum, 20, "{a} vs {b}");
    }
    // The chart: a bar per pair.
    assert_eq!(html.matches("<g class=\"bar\"").count(), 3);
    golden("skeleton.html", &normalise(&w, &o, &skeleton(&html)));
}

// A report path that cannot be written fails before anything is asked.
#[test]
fn unwritable_report_fails_first() {
    let dir = tempfile::tempdir().unwrap();
    let (code, out, err) = run(
        dir.path(),
        &[
            "compare",
            "--config",
            &manifest_dir()
                .join("config/altroot.toml")
                .display()
                .to_string(),
            "--report",
            "no/such/folder/report.html",
            "www.geek",
        ],
    );
    assert_eq!(code, 2, "{out}{err}");
    assert!(
        err.starts_with("error: --report: cannot write no/such/folder/report.html:"),
        "{err}"
    );
    assert!(out.is_empty(), "{out}");
}

/// The names of the Tranco report in docs/comparing.md.
fn tranco_csv() -> PathBuf {
    std::env::var_os("TRANCO")
        .map(PathBuf::from)
        .unwrap_or_else(|| manifest_dir().join("../shared/data/toplists/tranco_top_50k.csv"))
}

/// The fake TLD servers of [`wildcard_world`]. More than one: a fake server answers
/// one query at a time and finds a name's zone by going through all of its zones,
/// so one server with 1,400 TLDs fell behind and timed out on a loaded machine.
const TLD_SERVERS: [&str; 8] = [
    "tlds0", "tlds1", "tlds2", "tlds3", "tlds4", "tlds5", "tlds6", "tlds7",
];

/// A world of one root and [`TLD_SERVERS`] holding a wildcard zone for each TLD
/// (`* A addr`, by the TLD given): the TLD set is real, the data below it made up.
fn wildcard_world(
    root_ns: &'static str,
    tlds: Vec<(String, &'static str)>,
) -> impl Fn([u8; 3]) -> Vec<crate::world::Spec> {
    move |b| {
        let ip = |h| World::ip(b, h);
        let mut root = format!(
            "@ SOA {root_ns} h.example. 1 1800 900 604800 86400\n@ NS {root_ns}\n{root_ns} A {}\n",
            ip(1)
        );
        let mut zones = vec![Vec::new(); TLD_SERVERS.len()];
        for (i, (t, addr)) in tlds.iter().enumerate() {
            let server = i % TLD_SERVERS.len();
            let at = ip(2 + server as u8);
            // Each TLD's server named inside it: a name server's name is routed
            // like any name, so one shared name would be asked of one root only.
            // Not `ns.nic.{t}`: that makes `nic.{t}` (121 Tranco names) an empty
            // non-terminal, NODATA instead of the wildcard's answer.
            let ns = format!("ns.fake-tld-server.{t}.");
            root.push_str(&format!("{t}. NS {ns}\n{ns} A {at}\n"));
            zones[server].push((
                format!("{t}."),
                format!("@ SOA {ns} h.example. 1 1 1 1 300\n@ NS {ns}\n{ns} A {at}\n* A {addr}\n"),
            ));
        }
        let mut specs = vec![crate::world::spec(
            "root",
            ip(1),
            &[(".", &root)],
            crate::world::Behaviour::Normal,
        )];
        for (server, zones) in zones.iter().enumerate() {
            let zrefs: Vec<(&str, &str)> = zones
                .iter()
                .map(|(o, z)| (o.as_str(), z.as_str()))
                .collect();
            specs.push(crate::world::spec(
                TLD_SERVERS[server],
                ip(2 + server as u8),
                &zrefs,
                crate::world::Behaviour::Normal,
            ));
        }
        specs
    }
}

// The report of docs/comparing.md over the Tranco top 50k (not run by `cargo test`: about
// 90 s in a debug build, and it needs ../shared/data or TRANCO=FILE). Offline and meaningful: the
// ICANN root is a fake with the real TLD set (the bundled list, root zone
// 2026082201), each TLD answering every name with 198.18.0.1; OpenNIC's is a fake
// with its own TLDs (198.18.1.1) and ICANN's carried with ICANN's data; the
// alternate root is the shipped zones/. What differs is then what the roots make
// of each name's TLD, which is what a root decides. Writes target/tranco-report.html.
//   cargo test --test integration report::tranco -- --ignored --nocapture
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore]
async fn tranco_report() {
    let icann: Vec<String> = include_str!("../../src/icann-tlds.txt")
        .lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .map(|l| l.trim().to_ascii_lowercase())
        .collect();
    let own: Vec<String> = altroot::opennic::own_tlds().map(String::from).collect();
    let w = World::start(wildcard_world(
        "a.root-servers.net.",
        icann.iter().map(|t| (t.clone(), "198.18.0.1")).collect(),
    ))
    .await;
    let mut onic: Vec<(String, &'static str)> =
        own.iter().map(|t| (t.clone(), "198.18.1.1")).collect();
    onic.extend(
        icann
            .iter()
            .filter(|t| !own.contains(t))
            .map(|t| (t.clone(), "198.18.0.1")),
    );
    let o = World::start(wildcard_world("ns2.opennic.glue.", onic)).await;
    let dir = tempfile::tempdir().unwrap();
    let mut files: Vec<(&str, String)> = Vec::new();
    let shipped: Vec<(String, String)> = std::fs::read_dir(manifest_dir().join("zones"))
        .unwrap()
        .map(|e| {
            let p = e.unwrap().path();
            (
                format!("zones/{}", p.file_name().unwrap().to_str().unwrap()),
                std::fs::read_to_string(&p).unwrap(),
            )
        })
        .collect();
    for (n, t) in &shipped {
        files.push((n.as_str(), t.clone()));
    }
    let hints = |w: &World, ns: &str| format!(". NS {ns}\n{ns} A {}\n", World::ip(w.block, 1));
    files.push(("hints.txt", hints(&w, "a.root-servers.net.")));
    files.push(("opennic-hints.txt", hints(&o, "ns2.opennic.glue.")));
    let cfg = format!(
        "[server]\nlisten = [\"127.0.0.1:0\"]\nquery-timeout = \"5s\"\n\n\
         [[root]]\nname = \"alt\"\nzones = \"zones\"\nallow-loopback-upstream = true\n\n\
         [[root]]\nname = \"opennic\"\nhints = \"opennic-hints.txt\"\ntld-list = \"opennic\"\nport = {}\nallow-loopback-upstream = true\n\n\
         [[root]]\nname = \"icann\"\nhints = \"hints.txt\"\ntld-list = \"icann\"\nport = {}\nallow-loopback-upstream = true\n",
        o.port, w.port
    );
    write(dir.path(), &files, &cfg);
    let out_file = manifest_dir().join("target/tranco-report.html");
    let t = std::time::Instant::now();
    let (code, out, err) = run(
        dir.path(),
        &[
            "compare",
            "--config",
            "altroot.toml",
            "-f",
            &tranco_csv().display().to_string(),
            "--report",
            &out_file.display().to_string(),
        ],
    );
    println!("exit {code} after {:?}\n{out}{err}", t.elapsed());
    let html = text_of(&out_file);
    for l in html
        .lines()
        .filter(|l| l.contains("<tr data-pair=") || l.contains("<summary>"))
        .take(40)
    {
        println!("{l}");
    }
    assert!(code == 1 || code == 2, "{err}");
}
