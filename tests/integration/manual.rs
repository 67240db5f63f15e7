//! The man pages and shell completions (issue 18 §2). What `docs/man/` and
//! `docs/completions/` ship (and the Debian package installs) must be what the binary
//! makes from its clap definitions now, so they cannot drift from the command line:
//! `BLESS=1 cargo test --test integration manual::` rewrites them after a deliberate
//! change. The scripts are also run by the shells they are for, and the pages by man.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::harness::manifest_dir;
use crate::system::{BIN, need};

fn bless() -> bool {
    std::env::var_os("BLESS").is_some()
}

fn altroot(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(BIN)
        .args(args)
        .env_remove("RUST_LOG")
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// The files of `dir` (not below), name → text.
fn files(dir: &Path) -> BTreeMap<String, String> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return BTreeMap::new();
    };
    entries
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_file())
        .map(|p| {
            let name = p.file_name().unwrap().to_string_lossy().into_owned();
            (name, std::fs::read_to_string(&p).unwrap())
        })
        .collect()
}

/// The pages `altroot manpages` writes, name → text (man5/ and man8/ together).
fn generated_pages() -> BTreeMap<String, String> {
    let dir = tempfile::tempdir().unwrap();
    let (code, out, err) = altroot(&["manpages", dir.path().to_str().unwrap()]);
    assert_eq!(code, 0, "altroot manpages: {err}");
    let mut pages = files(&dir.path().join("man8"));
    let man5 = files(&dir.path().join("man5"));
    assert_eq!(man5.keys().collect::<Vec<_>>(), ["altroot.toml.5"], "man5/");
    pages.extend(man5);
    // It names every file it wrote, one per line.
    let listed: Vec<&str> = out.lines().collect();
    assert_eq!(listed.len(), pages.len(), "{out}");
    for name in pages.keys() {
        assert!(
            listed.iter().any(|l| l.ends_with(&format!("/{name}"))),
            "{name} not listed:\n{out}"
        );
    }
    pages
}

// The shipped pages are the generated ones: altroot(8), one page per command (and
// altroot-config-recipes(8) below altroot-config(8)), and altroot.toml(5), which is
// written by hand and only copied out by the binary.
#[test]
fn shipped_man_pages_are_current() {
    let pages = generated_pages();
    let mut want: Vec<&str> = vec![
        "altroot.8",
        "altroot.toml.5",
        "altroot-check.8",
        "altroot-collisions.8",
        "altroot-compare.8",
        "altroot-completions.8",
        "altroot-config.8",
        "altroot-config-recipes.8",
        "altroot-ds.8",
        "altroot-keygen.8",
        "altroot-manpages.8",
        "altroot-serve.8",
    ];
    want.sort();
    assert_eq!(pages.keys().map(String::as_str).collect::<Vec<_>>(), want);
    let docs = manifest_dir().join("docs/man");
    if bless() {
        for (name, text) in &pages {
            std::fs::write(docs.join(name), text).unwrap();
        }
        for name in files(&docs).keys() {
            if !pages.contains_key(name) {
                std::fs::remove_file(docs.join(name)).unwrap();
            }
        }
    }
    let shipped = files(&docs);
    assert_eq!(
        shipped.keys().collect::<Vec<_>>(),
        pages.keys().collect::<Vec<_>>(),
        "docs/man/ differs from `altroot manpages` (BLESS=1 to rewrite)"
    );
    for (name, text) in &pages {
        assert_eq!(
            &shipped[name], text,
            "docs/man/{name} differs from `altroot manpages` (BLESS=1 to rewrite)"
        );
    }
    // What the pages say comes from the clap definitions.
    let main = &pages["altroot.8"];
    for needle in [
        ".TH ALTROOT 8 \"\" \"altroot 0.1.0\" \"System Administration\"",
        "altroot\\-serve(8)",
        ".SH EXAMPLES",
        ".SH FILES",
        "/etc/altroot/altroot.toml",
    ] {
        assert!(main.contains(needle), "altroot.8 lacks {needle}:\n{main}");
    }
    let check = &pages["altroot-check.8"];
    assert!(check.contains(".SH \"EXIT STATUS\""), "{check}");
    assert!(
        check.contains("\\fB\\-c\\fR, \\fB\\-\\-config\\fR"),
        "{check}"
    );
}

// Every page renders without a warning from man (groff): a typo in the hand-written
// roff, or text that roff reads as a request, shows here.
#[test]
fn man_pages_render_without_warnings() {
    let man = need("man", "man-db");
    for (name, _) in files(&manifest_dir().join("docs/man")) {
        let path = manifest_dir().join("docs/man").join(&name);
        let out = Command::new(&man)
            .args(["--warnings", "-E", "UTF-8", "-l"])
            .arg(&path)
            .env("MANWIDTH", "80")
            .env("MAN_KEEP_STDERR", "1")
            .env("LC_ALL", "C.UTF-8")
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            out.status.success() && err.trim().is_empty(),
            "man -l {name}:\n{err}"
        );
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(text.contains("NAME"), "{name} rendered:\n{text}");
    }
}

/// (shell, file in docs/completions/).
const SCRIPTS: [(&str, &str); 3] = [
    ("bash", "altroot.bash"),
    ("zsh", "_altroot"),
    ("fish", "altroot.fish"),
];

fn completions_dir() -> PathBuf {
    manifest_dir().join("docs/completions")
}

#[test]
fn shipped_completions_are_current() {
    for (shell, file) in SCRIPTS {
        let (code, out, err) = altroot(&["completions", shell]);
        assert_eq!(code, 0, "altroot completions {shell}: {err}");
        let path = completions_dir().join(file);
        if bless() {
            std::fs::create_dir_all(completions_dir()).unwrap();
            std::fs::write(&path, &out).unwrap();
        }
        let shipped = std::fs::read_to_string(&path).unwrap_or_default();
        assert_eq!(
            out, shipped,
            "docs/completions/{file} differs from `altroot completions {shell}` (BLESS=1 to rewrite)"
        );
    }
    let (code, _, err) = altroot(&["completions", "tcsh"]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("bash, elvish, fish, powershell, zsh"), "{err}");
}

/// What bash completes after `words` (the last one being completed), with the
/// shipped script loaded.
fn bash_complete(words: &[&str]) -> Vec<String> {
    let script = completions_dir().join("altroot.bash");
    let quoted: Vec<String> = words.iter().map(|w| format!("'{w}'")).collect();
    let program = format!(
        "source '{}'\nCOMP_WORDS=({})\nCOMP_CWORD={}\nCOMP_LINE=\"${{COMP_WORDS[*]}}\"\n\
         COMP_POINT=${{#COMP_LINE}}\n_altroot altroot '{}' '{}'\nprintf '%s\\n' \"${{COMPREPLY[@]}}\"\n",
        script.display(),
        quoted.join(" "),
        words.len() - 1,
        words[words.len() - 1],
        words[words.len() - 2],
    );
    let out = Command::new("bash")
        .args(["--noprofile", "--norc", "-c", &program])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "bash: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut got: Vec<String> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter(|l| !l.is_empty())
        .map(String::from)
        .collect();
    got.sort();
    got
}

// The bash script completes commands, a command's options and an enum's values.
#[test]
fn bash_completes_commands_options_and_values() {
    need("bash", "bash");
    assert_eq!(
        bash_complete(&["altroot", "co"]),
        ["collisions", "compare", "completions", "config"]
    );
    assert_eq!(bash_complete(&["altroot", "ds", "--f"]), ["--format"]);
    assert_eq!(bash_complete(&["altroot", "keygen", "--f"]), ["--force"]);
    assert_eq!(
        bash_complete(&["altroot", "ds", "--format", ""]),
        ["all", "bind", "unbound", "zone"]
    );
    assert_eq!(bash_complete(&["altroot", "completions", "f"]), ["fish"]);
}

// zsh and fish read their scripts without a syntax error (`-n`: parse, run nothing).
#[test]
fn zsh_and_fish_parse_their_scripts() {
    for (shell, file) in [("zsh", "_altroot"), ("fish", "altroot.fish")] {
        let program = need(shell, shell);
        let out = Command::new(program)
            .arg("-n")
            .arg(completions_dir().join(file))
            .output()
            .unwrap();
        assert!(
            out.status.success() && out.stderr.is_empty(),
            "{shell} -n {file}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}
