//! The chapter "What the experiment shows" (docs/comparing.md, issue 20 §3)
//! cannot drift from the program: each block marked
//! `<!-- checked: collisions --offline policy = … -->` is run (`altroot collisions
//! --offline` on the shipped config with that policy, and a pin when the marker
//! names one) and every line of the block must be a line of the output, in order.

use std::process::Command;

use crate::harness::manifest_dir;
use crate::system::BIN;

/// (marker text, the block's lines) for every checked block of docs/comparing.md.
fn blocks() -> Vec<(String, Vec<String>)> {
    let readme = std::fs::read_to_string(manifest_dir().join("docs/comparing.md")).unwrap();
    let mut out = Vec::new();
    let mut lines = readme.lines();
    while let Some(l) = lines.next() {
        let Some(marker) = l
            .strip_prefix("<!-- checked: collisions --offline ")
            .and_then(|m| m.strip_suffix(" -->"))
        else {
            continue;
        };
        assert_eq!(lines.next(), Some("```text"), "a block after {marker}");
        let block: Vec<String> = lines
            .by_ref()
            .take_while(|l| *l != "```")
            .map(String::from)
            .collect();
        out.push((marker.to_string(), block));
    }
    out
}

/// The shipped config with `[collisions]` as the marker says, zones absolute.
fn config(marker: &str, dir: &std::path::Path) -> std::path::PathBuf {
    let shipped = std::fs::read_to_string(manifest_dir().join("config/altroot.toml")).unwrap();
    let zones = manifest_dir().join("zones");
    let (policy, pin) = match marker.split_once(" + ") {
        Some((p, pin)) => (p, format!("\n{pin}")),
        None => (marker, String::new()),
    };
    let text = shipped
        .replace(
            "zones = \"../zones\"",
            &format!("zones = \"{}\"", zones.display()),
        )
        .replace("policy = \"first\"", &format!("{policy}{pin}"));
    assert!(
        text.contains(policy),
        "the shipped config has no policy line to change"
    );
    let path = dir.join("altroot.toml");
    std::fs::write(&path, text).unwrap();
    path
}

#[test]
fn what_the_experiment_shows_matches_the_program() {
    let blocks = blocks();
    assert_eq!(blocks.len(), 4, "the chapter's four policies");
    for (marker, block) in blocks {
        let dir = tempfile::tempdir().unwrap();
        let out = Command::new(BIN)
            .current_dir(manifest_dir())
            .arg("collisions")
            .arg("--offline")
            .arg("--config")
            .arg(config(&marker, dir.path()))
            .env_remove("RUST_LOG")
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout)
            .replace(&format!("{}/", manifest_dir().display()), "");
        let mut got = text.lines();
        for want in &block {
            assert!(
                got.any(|l| l == want),
                "{marker}: docs/comparing.md line not in the output (in order):\n{want}\n--- output:\n{text}"
            );
        }
    }
}
