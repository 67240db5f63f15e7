//! The `altroot` binary itself: start-up lines, per-query logs, SIGHUP, SIGTERM,
//! `check` exit codes.

use std::net::SocketAddr;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use hickory_proto::op::ResponseCode;
use hickory_proto::rr::RecordType;

use crate::harness::*;
use crate::system::{BIN, Daemon};

const GEEK: &str = "$TTL 300\n@ SOA ns.geek. h.geek. 1 3600 600 86400 60\n@ NS ns.geek.\nns A 127.0.0.1\nwww A 192.0.2.1\n";

/// A running `altroot serve --config CONFIG`, its log lines collected.
pub(crate) fn serve(config: &Path) -> Daemon {
    serve_gated(config, None)
}

/// As [`serve`]; with a gate, stderr is no longer read after "altroot ready" until
/// the gate opens (see [`Daemon::spawn_gated`]).
fn serve_gated(config: &Path, gate: Option<std::sync::mpsc::Receiver<()>>) -> Daemon {
    let mut cmd = Command::new(BIN);
    cmd.args(["serve", "--config"])
        .arg(config)
        .env_remove("RUST_LOG");
    Daemon::spawn_gated(cmd, "altroot serve", gate.map(|g| ("altroot ready", g)))
}

fn setup(zones: &[(&str, &str)], extra: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("zones")).unwrap();
    for (f, t) in zones {
        std::fs::write(dir.path().join("zones").join(f), t).unwrap();
    }
    std::fs::write(
        dir.path().join("altroot.toml"),
        format!("[server]\nlisten = [\"127.0.0.1:0\", \"[::1]:0\"]\n[[root]]\nname = \"alt\"\nzones = \"zones\"\n{extra}"),
    )
    .unwrap();
    dir
}

pub(crate) fn addr_from(line: &str) -> SocketAddr {
    let a = line
        .split("listening on ")
        .nth(1)
        .unwrap()
        .split(' ')
        .next()
        .unwrap();
    a.parse().unwrap()
}

// One line per bound socket, one line per query (root, cache, rcode, latency),
// SIGTERM stops with exit 0.
#[tokio::test]
async fn serve_logs_and_stops_on_sigterm() {
    let dir = setup(&[("geek.zone", GEEK)], "");
    let mut p = serve(&dir.path().join("altroot.toml"));
    let first = p.wait_line("listening on 127.0.0.1:");
    p.wait_line("listening on [::1]:");
    p.wait_line("altroot ready");
    let addr = addr_from(&first);
    let m = query(addr, "www.geek.", RecordType::A).await;
    assert_eq!(lines(&m.answers), vec!["www.geek. 300 A 192.0.2.1"]);
    let log = p.wait_line("name=www.geek.");
    for field in [
        "root=alt",
        "cache=local",
        "rcode=NOERROR",
        "qtype=A",
        "ms=",
        "client=127.0.0.1:",
    ] {
        assert!(log.contains(field), "{field} missing from {log}");
    }
    // The second ask is a ready answer (issue 8): logged all the same.
    let m = query(addr, "www.geek.", RecordType::A).await;
    assert_eq!(lines(&m.answers), vec!["www.geek. 300 A 192.0.2.1"]);
    let t = Instant::now();
    while p.count("name=www.geek.") < 2 {
        assert!(
            t.elapsed() < Duration::from_secs(10),
            "the ready hit is not logged"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(p.count("listening on"), 2);
    assert_eq!(
        p.count("hickory"),
        0,
        "hickory's own per-query lines are quiet"
    );
    p.signal(libc::SIGTERM);
    let st = p.wait_exit();
    assert_eq!(st.code(), Some(0));
    p.wait_line("stopped");
}

#[tokio::test]
async fn sigint_also_stops_cleanly() {
    let dir = setup(&[("geek.zone", GEEK)], "");
    let mut p = serve(&dir.path().join("altroot.toml"));
    p.wait_line("altroot ready");
    p.signal(libc::SIGINT);
    assert_eq!(p.wait_exit().code(), Some(0));
}

// SIGHUP reloads; a broken edit is reported as FILE:LINE and the last good zones
// stay, the new file saved beside it too, until the edit is fixed.
#[tokio::test]
async fn sighup_reloads_and_keeps_last_good_zone() {
    let dir = setup(&[("geek.zone", GEEK)], "");
    let mut p = serve(&dir.path().join("altroot.toml"));
    let addr = addr_from(&p.wait_line("listening on 127.0.0.1:"));
    // Signals are handled from "altroot ready" on (before it, SIGHUP would kill).
    p.wait_line("altroot ready");
    let zone = dir.path().join("zones/geek.zone");

    std::fs::write(&zone, GEEK.replace("192.0.2.1", "192.0.2.99")).unwrap();
    p.signal(libc::SIGHUP);
    p.wait_line("reload done");
    let m = query(addr, "www.geek.", RecordType::A).await;
    assert_eq!(lines(&m.answers), vec!["www.geek. 300 A 192.0.2.99"]);

    std::fs::write(&zone, format!("{GEEK}oops IN A not-an-address\n")).unwrap();
    p.signal(libc::SIGHUP);
    let err = p.wait_line("error:");
    assert!(err.contains("geek.zone:6: error:"), "{err}");
    let m = query(addr, "www.geek.", RecordType::A).await;
    assert_eq!(
        lines(&m.answers),
        vec!["www.geek. 300 A 192.0.2.99"],
        "last good data kept"
    );

    // A new TLD file beside the broken one: a reload with an error changes
    // nothing, so libre comes only with the fix.
    let refused = p.count("not reloaded");
    std::fs::write(
        dir.path().join("zones/libre.zone"),
        GEEK.replace("geek", "libre"),
    )
    .unwrap();
    p.signal(libc::SIGHUP);
    let t = Instant::now();
    while p.count("not reloaded") == refused {
        assert!(t.elapsed() < Duration::from_secs(10), "{}", p.output());
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let m = query(addr, "www.libre.", RecordType::A).await;
    assert!(m.answers.is_empty(), "{:?}", lines(&m.answers));
    std::fs::write(&zone, GEEK.replace("192.0.2.1", "192.0.2.98")).unwrap();
    p.signal(libc::SIGHUP);
    for _ in 0..100 {
        if query(addr, "www.libre.", RecordType::A)
            .await
            .metadata
            .response_code
            == ResponseCode::NoError
        {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("libre never appeared");
}

fn run(args: &[&str]) -> (Option<i32>, String, String) {
    let out = Command::new(BIN)
        .args(args)
        .env_remove("RUST_LOG")
        .output()
        .unwrap();
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn check_exit_codes() {
    let dir = setup(&[("geek.zone", GEEK)], "");
    let cfg = dir.path().join("altroot.toml");
    let (code, out, _) = run(&["check", "--config", cfg.to_str().unwrap()]);
    assert_eq!(code, Some(0), "{out}");

    std::fs::write(
        dir.path().join("zones/geek.zone"),
        format!("{GEEK}bad 300 IN 192.0.2.1\n"),
    )
    .unwrap();
    let (code, out, _) = run(&["check", "--config", cfg.to_str().unwrap()]);
    assert_eq!(code, Some(1));
    assert!(
        out.contains("geek.zone:6: error: no record type in"),
        "{out}"
    );

    let (code, _, err) = run(&["check", "--no-such-flag"]);
    assert_eq!(code, Some(2), "{err}");
}

#[test]
fn serve_refuses_a_bad_config_with_file_and_line() {
    let dir = setup(
        &[("geek.zone", GEEK)],
        "[cache]\nmax-size = \"1MiB\"\nmax-tll = \"1h\"\n",
    );
    let cfg = dir.path().join("altroot.toml");
    let (code, _, err) = run(&["serve", "--config", cfg.to_str().unwrap()]);
    assert_eq!(code, Some(2));
    assert!(
        err.contains("altroot.toml:8: error:") && err.contains("max-tll"),
        "{err}"
    );
}

// An explicit port gets one UDP socket per core (SO_REUSEPORT); a second altroot on
// the same port must still fail with "address in use", not quietly share it.
#[tokio::test]
async fn explicit_port_is_not_shared_with_a_second_instance() {
    let port = std::net::UdpSocket::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let dir = setup(&[("geek.zone", GEEK)], "");
    let cfg = dir.path().join("altroot.toml");
    let text = edit(
        &std::fs::read_to_string(&cfg).unwrap(),
        "listen = [\"127.0.0.1:0\", \"[::1]:0\"]",
        &format!("listen = [\"127.0.0.1:{port}\"]"),
    );
    std::fs::write(&cfg, text).unwrap();
    let mut first = serve(&cfg);
    first.wait_line("altroot ready");
    let addr: SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
    for _ in 0..20 {
        let m = query(addr, "www.geek.", RecordType::A).await;
        assert_eq!(lines(&m.answers), vec!["www.geek. 300 A 192.0.2.1"]);
    }
    let (code, _, err) = run(&["serve", "--config", cfg.to_str().unwrap()]);
    assert_eq!(code, Some(1), "{err}");
    assert!(err.contains("Address already in use"), "{err}");
}

// The query log never holds up answers: while nobody reads altroot's stderr (a hung
// log reader, a full pipe), 20,000 queries are all answered; the log lines that
// could not be written are dropped and counted, and the count is reported once
// stderr moves again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stuck_log_never_holds_up_answers() {
    let dir = setup(&[("geek.zone", GEEK)], "");
    let (open, gate) = std::sync::mpsc::channel::<()>();
    let mut p = serve_gated(&dir.path().join("altroot.toml"), Some(gate));
    let first = p.wait_line("listening on 127.0.0.1:");
    p.wait_line("altroot ready");
    let addr = addr_from(&first);
    let started = Instant::now();
    let tasks: Vec<_> = (0..8)
        .map(|_| {
            tokio::spawn(async move {
                let sock = tokio::net::UdpSocket::bind("127.0.0.1:0").await.unwrap();
                sock.connect(addr).await.unwrap();
                let q = make_query("www.geek.", RecordType::A, None)
                    .to_vec()
                    .unwrap();
                let mut buf = [0u8; 512];
                let mut answered = 0;
                'queries: for _ in 0..2_500 {
                    // As a stub does, try again when a datagram is lost (the machine
                    // may be busy); a stuck server answers none of the tries.
                    for _try in 0..3 {
                        sock.send(&q).await.unwrap();
                        let wait =
                            tokio::time::timeout(Duration::from_secs(1), sock.recv(&mut buf));
                        if let Ok(Ok(_)) = wait.await {
                            answered += 1;
                            continue 'queries;
                        }
                    }
                    break; // stuck: stop rather than wait on every query
                }
                answered
            })
        })
        .collect();
    let mut answered = 0;
    for t in tasks {
        answered += tokio::time::timeout(Duration::from_secs(30), t)
            .await
            .expect("a sender stuck: answers held up by the log")
            .unwrap();
    }
    assert_eq!(answered, 20_000, "answers lost while the log was stuck");
    eprintln!("20,000 answers with a stuck log in {:?}", started.elapsed());
    open.send(()).unwrap();
    let line = p.wait_line("log lines dropped");
    assert!(line.contains("dropped="), "{line}");
}

// Issue 14 §4: start-up logs a zone's warnings at the level a reload logs them
// (WARN), so `-q` shows the collisions of .biz and .web from the start.
#[tokio::test]
async fn zone_warnings_have_one_level_at_start_up_and_reload() {
    let biz = GEEK.replace("geek", "biz");
    let dir = setup(&[("geek.zone", GEEK), ("biz.zone", biz.as_str())], "");
    let mut cmd = Command::new(BIN);
    cmd.args(["serve", "-q", "--config"])
        .arg(dir.path().join("altroot.toml"))
        .env_remove("RUST_LOG");
    let mut p = crate::system::Daemon::spawn(cmd, "altroot serve -q");
    let collision = "biz is also a TLD in ICANN's root";
    let first = p.wait_line(collision);
    assert!(first.contains(" WARN "), "{first}");
    // An edit of biz.zone: the reload says it again (a new save).
    std::fs::write(
        dir.path().join("zones/biz.zone"),
        biz.replace("192.0.2.1", "192.0.2.2"),
    )
    .unwrap();
    let t = Instant::now();
    while p.count(collision) < 2 {
        assert!(t.elapsed() < Duration::from_secs(10), "{}", p.output());
        std::thread::sleep(Duration::from_millis(20));
    }
    let lines = p.lines.lock().unwrap().clone();
    let level = |l: &str| l.split_whitespace().nth(1).unwrap_or("").to_string();
    let seen: Vec<String> = lines
        .iter()
        .filter(|l| l.contains(collision))
        .map(|l| level(l))
        .collect();
    assert_eq!(seen, vec!["WARN", "WARN"], "{lines:?}");
    assert!(
        lines.iter().all(|l| !l.contains(" INFO ")),
        "-q shows no INFO: {lines:?}"
    );
}

/// The last line `altroot serve --config CFG` writes before it exits, and its
/// exit status.
fn last_line_of_failed_serve(cfg: &Path) -> (Option<i32>, String) {
    let (code, _, err) = run(&["serve", "--config", cfg.to_str().unwrap()]);
    let last = err.lines().rev().find(|l| !l.trim().is_empty());
    (code, last.unwrap_or("").to_string())
}

// Issue 14 §4: a start-up error is the last line of the log: the lines logged
// before it (zones loaded, their warnings, listeners) come first, whatever the
// log writer thread was doing. Several runs, as it was a race.
#[test]
fn a_fatal_start_up_error_is_the_last_line() {
    let bad = "$TTL 300\n@ SOA ns.bad. h.bad. 1 3600 600 86400 60\n@ NS ns.bad.\nns A 127.0.0.1\nx A 1.2.3.400\n";
    let dir = setup(&[("geek.zone", GEEK), ("bad.zone", bad)], "");
    let cfg = dir.path().join("altroot.toml");
    for _ in 0..5 {
        let (code, last) = last_line_of_failed_serve(&cfg);
        assert_eq!(code, Some(2));
        assert!(
            last.contains("zones/bad.zone:5: error:"),
            "last line: {last}"
        );
    }
    // A port taken: the listener that could bind logged first.
    std::fs::remove_file(dir.path().join("zones/bad.zone")).unwrap();
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().port();
    let text = edit(
        &std::fs::read_to_string(&cfg).unwrap(),
        "listen = [\"127.0.0.1:0\", \"[::1]:0\"]",
        &format!("listen = [\"[::1]:0\", \"127.0.0.1:{port}\"]"),
    );
    std::fs::write(&cfg, text).unwrap();
    for _ in 0..5 {
        let (code, last) = last_line_of_failed_serve(&cfg);
        assert_eq!(code, Some(1));
        assert!(last.contains("Address already in use"), "last line: {last}");
    }
}
