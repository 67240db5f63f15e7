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
    assert_eq!(
        out,
        "geek  reserved on Handshake for the holder of geek.com (2018 top-100k rank 15496): they may claim geek there\n\
         0 collisions among 1 TLD of this config's roots\n"
    );
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

/// Runs the binary in `dir` with stdin closed, killed after 20 s (then `None`: a
/// command that should have stopped at once went on, e.g. `serve` on defaults).
fn run_bounded(dir: &Path, args: &[&str]) -> (Option<i32>, String, String) {
    use std::io::Read;
    use std::process::Stdio;
    use std::time::{Duration, Instant};
    let mut child = Command::new(BIN)
        .current_dir(dir)
        .args(args)
        .env_remove("RUST_LOG")
        .env("NO_COLOR", "1")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let read = |mut r: Box<dyn Read + Send>| {
        std::thread::spawn(move || {
            let mut b = Vec::new();
            let _ = r.read_to_end(&mut b);
            String::from_utf8_lossy(&b).into_owned()
        })
    };
    let out = read(Box::new(child.stdout.take().unwrap()));
    let err = read(Box::new(child.stderr.take().unwrap()));
    let deadline = Instant::now() + Duration::from_secs(20);
    let code = loop {
        if let Some(st) = child.try_wait().unwrap() {
            break st.code();
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    (code, out.join().unwrap(), err.join().unwrap())
}

// Issue 14: run from a folder without config/altroot.toml and without --config,
// every command used to run on built-in defaults (serve answered on 5353 as an
// ICANN-only resolver, check said all was well). Now each stops with exit 2 and
// says which file it looked for, where, and how to pass one. A zones folder here
// must not be picked up either.
#[test]
fn no_config_file_is_an_error_that_says_where_it_looked() {
    let dir = folder(&[("zones/geek.zone", GEEK)]);
    let here = dir.path().canonicalize().unwrap();
    let mut bad = Vec::new();
    for args in [
        &["serve"][..],
        &["check"],
        &["compare", "www.geek"],
        &["collisions", "--offline"],
        &["config", "recipes"],
        &["keygen", "--root", "alt"],
        &["ds", "--root", "alt"],
    ] {
        let (code, out, err) = run_bounded(dir.path(), args);
        let says = err.contains("config/altroot.toml")
            && err.contains(&here.display().to_string())
            && err.contains("--config FILE");
        if code != Some(2) || !out.is_empty() || !says {
            bad.push(format!(
                "{args:?}: exit {code:?}\nstdout {out:?}\nstderr {err:?}"
            ));
        }
    }
    assert!(bad.is_empty(), "{}", bad.join("\n\n"));
}

// A --config that cannot be read: exit 2 (nothing was checked), the path in the
// message, and no line number made up for a file that was never read.
#[test]
fn unreadable_config_file_is_exit_2_with_its_path() {
    let dir = folder(&[("zones/geek.zone", GEEK)]);
    for args in [
        &["check", "--config", "nope.toml"][..],
        &["check", "--config", "zones"],
        &["compare", "-c", "nope.toml", "www.geek"],
    ] {
        let (code, out, err) = run_bounded(dir.path(), args);
        assert_eq!(code, Some(2), "{args:?}: {out}{err}");
        let file = args[2];
        assert!(
            err.starts_with(&format!("{file}: error: cannot read config: ")),
            "{args:?}: {err}"
        );
    }
}

// Arguments that cannot mean anything are usage errors that quote what was given:
// -q with -v (which one wins was silent), -j 0 (silently 1), an empty -t value
// (printed as `-t : not a record type`).
#[test]
fn meaningless_arguments_are_usage_errors() {
    let dir = folder(&[
        (
            "altroot.toml",
            "[[root]]\nname = \"alt\"\nzones = \"zones\"\n",
        ),
        ("zones/geek.zone", GEEK),
    ]);
    let cases: [(&[&str], &str); 4] = [
        (
            &["-q", "-v", "check", "-c", "altroot.toml"],
            "cannot be used with",
        ),
        (
            &["compare", "-c", "altroot.toml", "-j", "0", "www.geek"],
            "--jobs",
        ),
        (
            &["compare", "-c", "altroot.toml", "-t", "", "www.geek"],
            "-t \"\": not a record type",
        ),
        (
            &["compare", "-c", "altroot.toml", "-t", "A,,MX", "www.geek"],
            "-t \"\": not a record type",
        ),
    ];
    let mut bad = Vec::new();
    for (args, says) in cases {
        let (code, out, err) = run(dir.path(), args);
        if code != 2 || !out.is_empty() || !err.contains(says) {
            bad.push(format!(
                "{args:?}: exit {code}, stdout {out:?}, stderr {err:?}"
            ));
        }
    }
    assert!(bad.is_empty(), "{}", bad.join("\n"));
}
