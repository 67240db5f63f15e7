//! The documentation's links (issue 18 §3): every relative link in README.md and
//! docs/*.md points to a file of the repository, and every `#anchor` to a heading of
//! the page it names, by GitHub's rules for heading anchors. No network: links to
//! other sites are not followed.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::harness::manifest_dir;

/// README.md and every docs/*.md.
fn pages() -> Vec<PathBuf> {
    let mut pages = vec![manifest_dir().join("README.md")];
    let mut docs: Vec<PathBuf> = std::fs::read_dir(manifest_dir().join("docs"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "md"))
        .collect();
    docs.sort();
    pages.extend(docs);
    pages
}

/// The lines of a Markdown text outside fenced code blocks, with their numbers
/// (1-based), inline code spans blanked.
fn prose(text: &str) -> Vec<(usize, String)> {
    let mut fenced = false;
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        if line.trim_start().starts_with("```") {
            fenced = !fenced;
            continue;
        }
        if fenced {
            continue;
        }
        // `code` spans hold text such as `a[i](j)` that is not a link.
        let mut plain = String::new();
        for (n, part) in line.split('`').enumerate() {
            if n % 2 == 0 {
                plain.push_str(part);
            } else {
                plain.push_str(&" ".repeat(part.len()));
            }
        }
        out.push((i + 1, plain));
    }
    out
}

/// GitHub's anchor for a heading: lowercase; letters, digits, '-' and '_' kept;
/// spaces become '-'; every other character dropped.
fn slug(heading: &str) -> String {
    heading
        .chars()
        .filter_map(|c| match c {
            ' ' => Some('-'),
            c if c.is_alphanumeric() || c == '-' || c == '_' => Some(c),
            _ => None,
        })
        .flat_map(char::to_lowercase)
        .collect()
}

/// The anchors of a page's headings; a repeated heading gets "-1", "-2" … as on GitHub.
fn anchors(text: &str) -> Vec<String> {
    let mut fenced = false;
    let mut seen: BTreeMap<String, usize> = BTreeMap::new();
    let mut out = Vec::new();
    for line in text.lines() {
        if line.trim_start().starts_with("```") {
            fenced = !fenced;
            continue;
        }
        let level = line.chars().take_while(|c| *c == '#').count();
        if fenced || level == 0 || level > 6 || !line[level..].starts_with(' ') {
            continue;
        }
        // A link in a heading anchors on its text: drop the "(target)" part.
        let mut text = line[level + 1..].trim().to_string();
        while let Some(start) = text.find("](") {
            let Some(len) = text[start..].find(')') else {
                break;
            };
            text.replace_range(start + 1..start + len + 1, "");
        }
        let base = slug(&text);
        let n = seen.entry(base.clone()).or_insert(0);
        out.push(if *n == 0 {
            base.clone()
        } else {
            format!("{base}-{n}")
        });
        *n += 1;
    }
    out
}

/// The targets of the inline links `[text](target)` of a page, with line numbers.
fn links(text: &str) -> Vec<(usize, String)> {
    let mut out = Vec::new();
    for (n, line) in prose(text) {
        let mut rest = line.as_str();
        while let Some(at) = rest.find("](") {
            let tail = &rest[at + 2..];
            let Some(end) = tail.find(')') else {
                break;
            };
            // `[text](target "title")`: the target alone.
            let target = tail[..end].split_whitespace().next().unwrap_or("");
            out.push((n, target.to_string()));
            rest = &tail[end..];
        }
    }
    out
}

/// What is wrong with the links of `page`: "FILE:LINE: target: why".
fn broken(page: &Path) -> Vec<String> {
    let text = std::fs::read_to_string(page).unwrap();
    let name = page
        .strip_prefix(manifest_dir())
        .unwrap()
        .display()
        .to_string();
    let mut problems = Vec::new();
    for (line, target) in links(&text) {
        if target.contains("://") || target.starts_with("mailto:") {
            continue;
        }
        let (path, anchor) = match target.split_once('#') {
            Some((p, a)) => (p, Some(a)),
            None => (target.as_str(), None),
        };
        let file = if path.is_empty() {
            page.to_path_buf()
        } else {
            page.parent().unwrap().join(path)
        };
        if path.starts_with('/') || !file.exists() {
            problems.push(format!("{name}:{line}: {target}: no such file"));
            continue;
        }
        let Some(anchor) = anchor else { continue };
        if file.extension().is_none_or(|x| x != "md") {
            problems.push(format!(
                "{name}:{line}: {target}: an anchor into a file that is not Markdown"
            ));
            continue;
        }
        let there = std::fs::read_to_string(&file).unwrap();
        if !anchors(&there).iter().any(|a| a == anchor) {
            problems.push(format!("{name}:{line}: {target}: no such heading"));
        }
    }
    problems
}

#[test]
fn anchors_follow_githubs_rules() {
    assert_eq!(
        slug("Local copy of the root (RFC 8806)"),
        "local-copy-of-the-root-rfc-8806"
    );
    assert_eq!(
        slug("Outside resolvers as columns (`--resolver`)"),
        "outside-resolvers-as-columns---resolver"
    );
    assert_eq!(
        slug("Failures, and what clients see"),
        "failures-and-what-clients-see"
    );
    assert_eq!(slug("`[[root]] tls-ca`"), "root-tls-ca");
    assert_eq!(
        slug("Scale-out: several instances"),
        "scale-out-several-instances"
    );
    assert_eq!(
        anchors("# A\n```\n# not a heading\n```\n## A\n### [B](x.md) c\n"),
        ["a", "a-1", "b-c"]
    );
    assert_eq!(
        links("see [a](x.md#y), `[no](link)` and [b](<https://e.org>)\n```\n[c](d)\n```\n"),
        [
            (1, "x.md#y".to_string()),
            (1, "<https://e.org>".to_string())
        ]
    );
}

// Every relative link resolves: the file exists, and an anchor names a heading there.
#[test]
fn every_link_resolves() {
    let pages = pages();
    assert!(pages.len() >= 10, "{pages:?}");
    let problems: Vec<String> = pages.iter().flat_map(|p| broken(p)).collect();
    assert!(
        problems.is_empty(),
        "broken links:\n{}",
        problems.join("\n")
    );
}

/// The lines of the ```console blocks of the section `heading` of README.md, in order.
fn readme_console(heading: &str) -> Vec<String> {
    let readme = std::fs::read_to_string(manifest_dir().join("README.md")).unwrap();
    let after = readme
        .split_once(&format!("\n{heading}\n"))
        .unwrap_or_else(|| panic!("README.md: no {heading:?}"))
        .1;
    let mut lines = Vec::new();
    let mut console = false;
    for line in after.lines() {
        if line.starts_with('#') && !console {
            break;
        }
        match (console, line) {
            (false, "```console") => console = true,
            (true, "```") => console = false,
            (true, l) => lines.push(l.to_string()),
            _ => {}
        }
    }
    assert!(
        !lines.is_empty(),
        "README.md: no console block in {heading:?}"
    );
    lines
}

// The tour's compare session is the one `demo::compare_session_on_the_demo` keeps
// in tests/fixtures/compare/demo.txt, word for word.
#[test]
fn the_tours_compare_is_the_golden_session() {
    let block = readme_console("### A compare");
    let golden =
        std::fs::read_to_string(manifest_dir().join("tests/fixtures/compare/demo.txt")).unwrap();
    assert_eq!(
        block[0],
        "$ altroot compare www.biz www.web www.geek iana.geek www.example.com nosuch.geek localhost"
    );
    assert_eq!(
        block[1..].join("\n") + "\n",
        golden,
        "README.md \"A compare\" differs from tests/fixtures/compare/demo.txt"
    );
}

// The tour's edit does what the README says: on a copy of the shipped config and
// zones, its `echo … >> zones/geek.zone` lines are applied as written and `altroot
// check` prints the lines the README shows for it (exit 1: an error).
#[test]
fn the_tours_edit_is_what_check_prints() {
    let block = readme_console("### An edit");
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("config")).unwrap();
    std::fs::copy(
        manifest_dir().join("config/altroot.toml"),
        dir.path().join("config/altroot.toml"),
    )
    .unwrap();
    std::fs::create_dir(dir.path().join("zones")).unwrap();
    for e in std::fs::read_dir(manifest_dir().join("zones")).unwrap() {
        let p = e.unwrap().path();
        if p.extension().is_some_and(|x| x == "zone") {
            std::fs::copy(&p, dir.path().join("zones").join(p.file_name().unwrap())).unwrap();
        }
    }
    let mut echoes = 0;
    let mut want: Vec<String> = Vec::new();
    // Which command the output lines below belong to.
    let mut in_check = false;
    for line in &block {
        if let Some(cmd) = line.strip_prefix("$ ") {
            in_check = cmd.starts_with("altroot check");
            if let Some(echo) = cmd.strip_prefix("echo '") {
                let (text, file) = echo.split_once("' >> ").unwrap();
                let path = dir.path().join(file);
                let mut zone = std::fs::read_to_string(&path).unwrap();
                zone.push_str(text);
                zone.push('\n');
                std::fs::write(&path, zone).unwrap();
                echoes += 1;
            }
        } else if in_check {
            want.push(line.clone());
        }
    }
    assert_eq!(echoes, 2, "{block:#?}");
    assert!(!want.is_empty(), "no `$ altroot check` output: {block:#?}");
    let out = std::process::Command::new(crate::system::BIN)
        .current_dir(dir.path())
        .arg("check")
        .env_remove("RUST_LOG")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let got: Vec<&str> = text.lines().filter(|l| !l.contains(": warning:")).collect();
    assert_eq!(got, want, "altroot check:\n{text}");
}
