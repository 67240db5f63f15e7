//! `altroot check` against one fixture per rule, compared with golden output.
//!
//! Each folder of `tests/fixtures/check/` holds an `altroot.toml`, its zones and
//! `expected.txt`: what `check` prints on stdout, then `exit: N`. Run with
//! `BLESS=1 cargo test check_` to rewrite the golden files after a deliberate change
//! (and read the diff).

use std::path::Path;
use std::process::Command;

fn run_fixture(dir: &Path) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_altroot"))
        .current_dir(dir)
        .args(["check", "--config", "altroot.toml"])
        .env_remove("RUST_LOG")
        .output()
        .unwrap();
    format!(
        "{}exit: {}\n",
        String::from_utf8_lossy(&out.stdout),
        out.status.code().unwrap_or(-1)
    )
}

#[test]
fn check_fixtures_match_golden_output() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/check");
    let bless = std::env::var_os("BLESS").is_some();
    let mut dirs: Vec<_> = std::fs::read_dir(&root)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_dir())
        .collect();
    dirs.sort();
    assert!(dirs.len() >= 25, "fixtures missing: {}", dirs.len());
    let mut failures = Vec::new();
    for dir in dirs {
        let got = run_fixture(&dir);
        let golden = dir.join("expected.txt");
        if bless {
            std::fs::write(&golden, &got).unwrap();
            continue;
        }
        let want = std::fs::read_to_string(&golden).unwrap_or_default();
        if got != want {
            failures.push(format!("--- {}\nwant:\n{want}got:\n{got}", dir.display()));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

// Every error rule makes `check` exit 1, every warning-only fixture exits 0; the
// clean fixtures print nothing at all.
#[test]
fn check_exit_status_follows_severity() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/check");
    for e in std::fs::read_dir(&root).unwrap() {
        let dir = e.unwrap().path();
        let got = run_fixture(&dir);
        let has_error = got.contains(": error: ");
        let code = if has_error { "exit: 1" } else { "exit: 0" };
        assert!(
            got.ends_with(&format!("{code}\n")),
            "{}: {got}",
            dir.display()
        );
        let name = dir.file_name().unwrap().to_string_lossy().into_owned();
        if name.starts_with("clean") || name == "special-use-allowed" {
            assert_eq!(got, "exit: 0\n", "{name}");
        }
    }
}
