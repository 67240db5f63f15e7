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
