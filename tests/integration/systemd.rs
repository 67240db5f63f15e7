//! Running under systemd (issue 9 §1): the binary speaks the notify protocol —
//! READY=1 only once every socket answers, RELOADING=1 then READY=1 around a
//! SIGHUP reload, STOPPING=1 on SIGTERM, nothing when it cannot bind — and the
//! shipped unit passes `systemd-analyze verify`.

use std::net::SocketAddr;
use std::os::unix::net::UnixDatagram;
use std::process::Command;
use std::time::Duration;

use hickory_proto::rr::RecordType;

use crate::harness::*;
use crate::system::{BIN, Daemon, free_port, get, need};

fn setup(dns: u16, http: u16) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("zones")).unwrap();
    std::fs::write(
        dir.path().join("zones/geek.zone"),
        "$TTL 300\n@ SOA ns.geek. h.geek. 1 1 1 1 60\n@ NS ns.geek.\nns A 127.0.0.1\nwww A 192.0.2.1\n",
    )
    .unwrap();
    std::fs::write(
        dir.path().join("altroot.toml"),
        format!("[server]\nlisten = [\"127.0.0.1:{dns}\"]\n[[root]]\nname = \"alt\"\nzones = \"zones\"\n[metrics]\nlisten = \"127.0.0.1:{http}\"\n"),
    )
    .unwrap();
    dir
}

/// The next notify datagram (bounded wait).
fn next(sock: &UnixDatagram) -> String {
    let mut buf = [0u8; 4096];
    let n = sock.recv(&mut buf).expect("no notify message within 20 s");
    String::from_utf8_lossy(&buf[..n]).into_owned()
}

fn serve(dir: &tempfile::TempDir, notify: &std::path::Path) -> Daemon {
    let mut cmd = Command::new(BIN);
    cmd.args(["serve", "--config"])
        .arg(dir.path().join("altroot.toml"))
        .env("NOTIFY_SOCKET", notify)
        .env_remove("RUST_LOG");
    Daemon::spawn(cmd, "altroot serve")
}

// READY=1 arrives once the DNS and HTTP listeners are bound: both answer the very
// first request sent when it arrives. A reload is bracketed by RELOADING=1 and
// READY=1; SIGTERM says STOPPING=1 and exits 0.
#[tokio::test]
async fn notify_ready_reloading_stopping() {
    let (dns, http) = (free_port(), free_port());
    let dir = setup(dns, http);
    let path = dir.path().join("notify.sock");
    let sock = UnixDatagram::bind(&path).unwrap();
    sock.set_read_timeout(Some(Duration::from_secs(20)))
        .unwrap();
    let mut p = serve(&dir, &path);

    let ready = next(&sock);
    assert!(ready.starts_with("READY=1\n"), "{ready}");
    assert!(
        ready.contains(&format!("STATUS=answering on 127.0.0.1:{dns}; roots alt")),
        "{ready}"
    );
    // Right now, no retries: both listeners answer.
    let dns_addr: SocketAddr = format!("127.0.0.1:{dns}").parse().unwrap();
    let m = query(dns_addr, "www.geek.", RecordType::A).await;
    assert_eq!(lines(&m.answers), vec!["www.geek. 300 A 192.0.2.1"]);
    let http_addr: SocketAddr = format!("127.0.0.1:{http}").parse().unwrap();
    let (code, _) = tokio::task::spawn_blocking(move || get(http_addr, "/metrics"))
        .await
        .unwrap();
    assert_eq!(code, 200);

    p.signal(libc::SIGHUP);
    let reloading = next(&sock);
    assert!(
        reloading.starts_with("RELOADING=1\nMONOTONIC_USEC="),
        "{reloading}"
    );
    assert!(
        next(&sock).starts_with("READY=1\n"),
        "READY=1 again after the reload"
    );
    p.wait_line("reload done");

    p.signal(libc::SIGTERM);
    assert!(next(&sock).starts_with("STOPPING=1\n"));
    assert_eq!(p.wait_exit().code(), Some(0));
}

// A start that cannot bind — the DNS port or the metrics port — exits 1 and never
// says READY=1 (systemd sees the failure).
#[test]
fn no_ready_when_a_port_is_taken() {
    let udp = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    let tcp = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let cases = [
        (udp.local_addr().unwrap().port(), free_port()),
        (free_port(), tcp.local_addr().unwrap().port()),
    ];
    for (dns, http) in cases {
        let dir = setup(dns, http);
        let path = dir.path().join("notify.sock");
        let sock = UnixDatagram::bind(&path).unwrap();
        sock.set_read_timeout(Some(Duration::from_millis(300)))
            .unwrap();
        let mut p = serve(&dir, &path);
        assert_eq!(p.wait_exit().code(), Some(1));
        let mut buf = [0u8; 512];
        assert!(sock.recv(&mut buf).is_err(), "nothing was sent");
        assert!(
            p.output().contains("Address already in use"),
            "{}",
            p.output()
        );
    }
}

// The shipped unit: the hardening the issue asks for, and `systemd-analyze verify`
// clean (ExecStart pointed at the binary under test, which must exist for verify).
#[test]
fn unit_file_verifies() {
    let analyze = need("systemd-analyze", "systemd");
    let unit = std::fs::read_to_string(manifest_dir().join("config/altroot.service")).unwrap();
    for line in [
        "Type=notify",
        "ExecStart=/usr/local/bin/altroot serve --config /etc/altroot/altroot.toml",
        "ExecReload=/bin/kill -HUP $MAINPID",
        "AmbientCapabilities=CAP_NET_BIND_SERVICE",
        "CapabilityBoundingSet=CAP_NET_BIND_SERVICE",
        "DynamicUser=yes",
        "ProtectSystem=strict",
        "ReadOnlyPaths=/etc/altroot",
        "NoNewPrivileges=yes",
    ] {
        assert!(
            unit.lines().any(|l| l == line),
            "{line} missing from the unit"
        );
    }
    let dir = tempfile::tempdir().unwrap();
    let copy = dir.path().join("altroot.service");
    std::fs::write(&copy, unit.replace("/usr/local/bin/altroot", BIN)).unwrap();
    // --man=no: the man pages of Documentation= are not installed here (the
    // package test verifies the installed unit with them).
    let out = Command::new(&analyze)
        .args(["verify", "--man=no"])
        .arg(&copy)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success() && !err.contains("altroot"),
        "systemd-analyze verify:\n{err}"
    );
    let out = Command::new(&analyze)
        .args(["security", "--offline=yes", "--no-pager"])
        .arg(&copy)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    let level: f64 = text
        .lines()
        .find_map(|l| {
            l.split("Overall exposure level for altroot.service: ")
                .nth(1)
        })
        .and_then(|r| r.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| {
            panic!(
                "no exposure level:\n{text}{}",
                String::from_utf8_lossy(&out.stderr)
            )
        });
    assert!(
        level <= 2.0,
        "exposure {level} (systemd calls up to 2.0 \"OK\"):\n{text}"
    );
}
