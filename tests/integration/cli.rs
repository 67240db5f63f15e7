//! The command line as a new user meets it (issue 14): what it says when there is
//! no config, counts in the right number, enums in their config spelling. Runs the
//! binary; loopback only, on configs whose roots are zones folders.

use std::path::Path;
use std::process::Command;

use hickory_proto::rr::RecordType;

use crate::harness::*;
use crate::process::addr_from;
use crate::system::{BIN, Daemon};

const GEEK: &str = "$TTL 300\n@ SOA ns.geek. h.geek. 1 3600 600 86400 300\n@ NS ns.geek.\nns A 127.0.0.1\nwww A 192.0.2.1\n";

/// Writes `files` (relative path → text) into a new temporary folder.
fn folder(files: &[(&str, &str)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for (p, t) in files {
        let p = dir.path().join(p);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, t).unwrap();
    }
    dir
}

/// Runs the binary in `dir`: (exit code, stdout, stderr).
fn run(dir: &Path, args: &[&str]) -> (i32, String, String) {
    let out = Command::new(BIN)
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

// Counts agree with their nouns: "1 root, 1 zone: 1 error, 1 warning", not "1 roots
// … 1 errors"; and `collisions` says "1 TLD".
#[test]
fn counts_are_singular_for_one() {
    let dir = folder(&[
        (
            "altroot.toml",
            "[[root]]\nname = \"alt\"\nzones = \"zones\"\n",
        ),
        // One zone loads, with one warning (geek is outside .alt); alt.zone has one
        // error (a bad address) and is not loaded.
        ("zones/geek.zone", GEEK),
        (
            "zones/alt.zone",
            &GEEK
                .replace("geek", "alt")
                .replace("www A 192.0.2.1", "www A 300.1.1.1"),
        ),
    ]);
    let (code, out, err) = run(dir.path(), &["check", "--config", "altroot.toml"]);
    assert_eq!(code, 1, "{out}{err}");
    assert_eq!(out.matches(": error: ").count(), 1, "{out}");
    assert_eq!(out.matches(": warning: ").count(), 1, "{out}");
    assert_eq!(err, "1 root, 1 zone: 1 error, 1 warning\n");
    std::fs::remove_file(dir.path().join("zones/alt.zone")).unwrap();
    std::fs::write(
        dir.path().join("zones/libre.zone"),
        GEEK.replace("geek", "libre"),
    )
    .unwrap();
    let (code, _, err) = run(dir.path(), &["check", "--config", "altroot.toml"]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(err, "1 root, 2 zones: 0 errors, 2 warnings\n");
    std::fs::remove_file(dir.path().join("zones/libre.zone")).unwrap();
    let (code, out, err) = run(
        dir.path(),
        &["collisions", "--config", "altroot.toml", "--offline"],
    );
    assert_eq!(code, 0, "{err}");
    assert_eq!(out, "0 collisions among 1 TLD of this config's roots\n");
}

// The collision warning names the policy as the config spells it (`policy=first`),
// not as Rust's Debug prints it (`policy=First`).
#[tokio::test]
async fn collision_warning_spells_the_policy_as_the_config_does() {
    let dir = folder(&[
        (
            "altroot.toml",
            "[server]\nlisten = [\"127.0.0.1:0\"]\n[[root]]\nname = \"alt\"\nzones = \"zones\"\n[[root]]\nname = \"alt2\"\nzones = \"zones2\"\n",
        ),
        ("zones/geek.zone", GEEK),
        ("zones2/geek.zone", GEEK),
    ]);
    let mut cmd = Command::new(BIN);
    cmd.args(["serve", "--config"])
        .arg(dir.path().join("altroot.toml"))
        .env_remove("RUST_LOG");
    let mut p = Daemon::spawn(cmd, "altroot serve");
    let addr = addr_from(&p.wait_line("listening on 127.0.0.1:"));
    p.wait_line("altroot ready");
    let m = query(addr, "www.geek.", RecordType::A).await;
    assert_eq!(lines(&m.answers), vec!["www.geek. 300 A 192.0.2.1"]);
    let warning = p.wait_line("collision:");
    assert!(warning.contains("roots=alt,alt2"), "{warning}");
    assert!(warning.contains("policy=first"), "{warning}");
}
