//! DoT and DoH listeners (issue 10): real clients (kdig, dig, curl) against them,
//! the same front end as UDP (answers, allow list, no truncation, the query log),
//! bounds against slow-loris clients, certificate reload, and `check` on the
//! certificate files.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use hickory_proto::op::{Message, ResponseCode};
use hickory_proto::rr::RecordType;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::harness::*;
use crate::tlskit::*;
use crate::world::World;

/// The standard world and an altroot with DoT and DoH on 127.0.0.1, port 0, with a
/// certificate for `dns.test` and 127.0.0.1 from a test CA (`tls/ca.pem`).
async fn start(server_extra: &str) -> (World, Altroot, Pki) {
    let w = World::start(standard_world).await;
    let pki = Pki::new();
    let listeners = "tls-listen = [\"127.0.0.1:0\"]\nhttps-listen = [\"127.0.0.1:0\"]\n";
    let a = tls_altroot(&w, &pki, listeners, server_extra).await;
    (w, a, pki)
}

fn has_answer(out: &str, name: &str, addr: &str) -> bool {
    out.lines()
        .any(|l| l.starts_with(name) && l.split_whitespace().any(|f| f == addr))
}

fn at(addr: SocketAddr) -> [String; 3] {
    [
        format!("@{}", addr.ip()),
        "-p".into(),
        addr.port().to_string(),
    ]
}

// kdig +tls (knot-dnsutils) and dig +tls, +https (POST) and +https-get
// (bind9-dnsutils) get the zone's answer, and a name resolved through the fake
// ICANN world, with the certificate checked against the test CA.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kdig_and_dig_over_dot_and_doh() {
    let (_w, a, _pki) = start("").await;
    let kdig = require_tool("kdig", "knot-dnsutils");
    let dig = require_tool("dig", "bind9-dnsutils");
    let ca = a.path("tls/ca.pem").display().to_string();
    let (dot, doh) = (a.encrypted.tls_addrs[0], a.encrypted.https_addrs[0]);
    let tls = [format!("+tls-ca={ca}"), "+tls-hostname=dns.test".into()];
    let cases: Vec<(&std::path::Path, SocketAddr, &str, &str, &str, &str)> = vec![
        (&kdig, dot, "+tls", "www.geek.", "www.geek.", "192.0.2.1"),
        (
            &kdig,
            dot,
            "+tls",
            "www.example.com.",
            "www.example.com.",
            "203.0.113.10",
        ),
        (&dig, dot, "+tls", "www.geek.", "www.geek.", "192.0.2.1"),
        (&dig, doh, "+https", "www.geek.", "www.geek.", "192.0.2.1"),
        (
            &dig,
            doh,
            "+https-get",
            "wiki.geek.",
            "www.geek.",
            "192.0.2.1",
        ),
    ];
    for (bin, addr, mode, q, name, want) in cases {
        let mut args = at(addr).to_vec();
        args.extend([
            mode.to_string(),
            tls[0].clone(),
            tls[1].clone(),
            q.into(),
            "A".into(),
        ]);
        let (ok, out, err) = run(bin, &args).await;
        let what = format!("{} {mode} {name}", bin.display());
        assert!(ok, "{what} failed:\n{out}\n{err}");
        assert!(out.contains("status: NOERROR"), "{what}:\n{out}");
        assert!(
            has_answer(&out, name, want),
            "{what}: no {name} {want}:\n{out}"
        );
    }
}

/// curl against the DoH listener: (HTTP status, content type, HTTP version), body.
async fn curl(a: &Altroot, args: &[&str], url_tail: &str) -> (String, Vec<u8>, String) {
    let curl = require_tool("curl", "curl");
    let doh = a.encrypted.https_addrs[0];
    let body = a.path("curl-body.bin");
    let headers = a.path("curl-headers.txt");
    let mut all: Vec<String> = [
        "-sS",
        "--max-time",
        "10",
        "--cacert",
        &a.path("tls/ca.pem").display().to_string(),
        "--resolve",
        &format!("dns.test:{}:127.0.0.1", doh.port()),
        "-o",
        &body.display().to_string(),
        "-D",
        &headers.display().to_string(),
        "-w",
        "%{http_code} %{content_type} %{http_version}",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    all.extend(args.iter().map(|s| s.to_string()));
    all.push(format!("https://dns.test:{}{url_tail}", doh.port()));
    let (ok, out, err) = run(&curl, &all).await;
    assert!(ok, "curl {all:?}: {err}");
    let b = std::fs::read(&body).unwrap_or_default();
    let h = std::fs::read_to_string(&headers).unwrap_or_default();
    (out, b, h)
}

// RFC 8484 through curl: GET (base64url, HTTP/2) and POST (HTTP/1.1) give 200,
// application/dns-message, a cache lifetime no longer than the TTL, and a body
// that is the right DNS answer to the right question; wrong requests get the
// right HTTP errors.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn curl_doh_get_and_post() {
    let (_w, a, _pki) = start("").await;
    let mut q = make_query("www.geek.", RecordType::A, Some(1232));
    q.metadata.id = 0;
    let wire = q.to_vec().unwrap();
    let b64 = data_encoding::BASE64URL_NOPAD.encode(&wire);
    std::fs::write(a.path("q.bin"), &wire).unwrap();
    let post = a.path("q.bin").display().to_string();
    let ct = "content-type: application/dns-message";
    let runs = [
        (vec!["--http2"], format!("/dns-query?dns={b64}"), "2"),
        (vec!["--http1.1"], format!("/dns-query?dns={b64}"), "1.1"),
        (
            vec!["--http2", "--data-binary"],
            "/dns-query".to_string(),
            "2",
        ),
        (
            vec!["--http1.1", "--data-binary"],
            "/dns-query".to_string(),
            "1.1",
        ),
    ];
    for (mut args, tail, version) in runs {
        let posting = args.contains(&"--data-binary");
        let at_file = format!("@{post}");
        if posting {
            args.extend([at_file.as_str(), "-H", ct]);
        }
        let (status, body, headers) = curl(&a, &args, &tail).await;
        assert_eq!(
            status,
            format!("200 application/dns-message {version}"),
            "{args:?}"
        );
        assert!(
            headers
                .to_ascii_lowercase()
                .contains("cache-control: max-age=3600"),
            "{headers}"
        );
        let m = Message::from_vec(&body).expect("the body is a DNS message");
        assert_eq!(m.metadata.id, 0);
        assert_eq!(m.metadata.response_code, ResponseCode::NoError);
        assert_eq!(m.queries[0].name().to_string(), "www.geek.");
        assert_eq!(
            addrs(&m),
            vec!["192.0.2.1".parse::<std::net::IpAddr>().unwrap()]
        );
        assert_resolver_flags(&m);
    }
    let (s, _, _) = curl(&a, &[], &format!("/other?dns={b64}")).await;
    assert!(s.starts_with("404 "), "{s}");
    let (s, _, _) = curl(&a, &[], "/dns-query?name=www.geek").await;
    assert!(s.starts_with("400 "), "{s}");
    let (s, _, _) = curl(
        &a,
        &[
            "--data-binary",
            &format!("@{post}"),
            "-H",
            "content-type: text/plain",
        ],
        "/dns-query",
    )
    .await;
    assert!(s.starts_with("415 "), "{s}");
    let (s, _, _) = curl(&a, &["-X", "PUT"], "/dns-query").await;
    assert!(s.starts_with("405 "), "{s}");
}

// Over DoT, queries on one connection are pipelined and big answers are never
// truncated (EDNS 512 asked, 30 TXT records answered whole); the allow list
// applies to DoT and DoH as to UDP.
#[tokio::test]
async fn dot_pipelines_never_truncates_and_allow_list_applies() {
    let (_w, a, pki) = start("").await;
    let dot = a.encrypted.tls_addrs[0];
    let msgs = [
        make_query("big.geek.", RecordType::TXT, Some(512)),
        make_query("www.geek.", RecordType::A, Some(1232)),
        make_query("nope.geek.", RecordType::A, None),
    ];
    let replies = dot_exchange(&pki, dot, &msgs).await;
    for r in &replies {
        let q = msgs
            .iter()
            .find(|m| m.metadata.id == r.metadata.id)
            .expect("an ID we sent");
        assert_eq!(r.queries, q.queries);
        assert!(!r.metadata.truncation);
    }
    let big = replies
        .iter()
        .find(|r| r.queries[0].name().to_string() == "big.geek.")
        .unwrap();
    assert_eq!(big.answers.len(), 30);
    let nx = replies
        .iter()
        .find(|r| r.queries[0].name().to_string() == "nope.geek.")
        .unwrap();
    assert_eq!(nx.metadata.response_code, ResponseCode::NXDomain);

    let (_w2, b, pki2) = start("allow = [\"10.0.0.0/8\"]\n").await;
    let r = dot_exchange(&pki2, b.encrypted.tls_addrs[0], &msgs[1..2]).await;
    assert_eq!(r[0].metadata.response_code, ResponseCode::Refused);
    let wire = make_query("www.geek.", RecordType::A, None)
        .to_vec()
        .unwrap();
    let b64 = data_encoding::BASE64URL_NOPAD.encode(&wire);
    let (s, body, _) = curl(&b, &[], &format!("/dns-query?dns={b64}")).await;
    assert!(s.starts_with("200 "), "{s}");
    assert_eq!(
        Message::from_vec(&body).unwrap().metadata.response_code,
        ResponseCode::Refused
    );
}

/// Reads until the peer closes (Ok(0) or an error), bounded by `within`.
async fn closed_within<S: tokio::io::AsyncRead + Unpin>(s: &mut S, within: Duration) -> bool {
    let mut buf = [0u8; 4096];
    let until = tokio::time::Instant::now() + within;
    loop {
        match tokio::time::timeout_at(until, s.read(&mut buf)).await {
            Err(_) => return false,
            Ok(Ok(0)) | Ok(Err(_)) => return true,
            Ok(Ok(_)) => continue, // e.g. HTTP/2 SETTINGS
        }
    }
}

// Slow-loris: clients that stall the TLS handshake hold at most `tcp-clients`
// places, a further connection is closed at once, UDP is answered meanwhile, and
// the stalled ones are closed after `tcp-idle-timeout`; a DoH client that never
// sends a request, or trickles its headers, is closed too. Then real queries work.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_loris_tls_clients_are_bounded() {
    let (_w, a, pki) = start("tcp-clients = 3\ntcp-idle-timeout = \"500ms\"\n").await;
    let (dot, doh) = (a.encrypted.tls_addrs[0], a.encrypted.https_addrs[0]);
    let mut stalled = Vec::new();
    for _ in 0..3 {
        let mut s = TcpStream::connect(dot).await.unwrap();
        s.write_all(&[0x16, 0x03, 0x01]).await.unwrap(); // a ClientHello that never ends
        stalled.push(s);
    }
    tokio::time::sleep(Duration::from_millis(100)).await;
    let mut fourth = TcpStream::connect(dot).await.unwrap();
    assert!(
        closed_within(&mut fourth, Duration::from_millis(300)).await,
        "past tcp-clients: closed at once"
    );
    let t = Instant::now();
    let m = a.query("www.geek.", RecordType::A).await;
    assert_eq!(m.metadata.response_code, ResponseCode::NoError);
    assert!(
        t.elapsed() < Duration::from_millis(300),
        "UDP is not held up"
    );
    for s in &mut stalled {
        assert!(
            closed_within(s, Duration::from_secs(3)).await,
            "stalled handshake closed"
        );
    }
    let r = dot_exchange(&pki, dot, &[make_query("www.geek.", RecordType::A, None)]).await;
    assert_eq!(r[0].metadata.response_code, ResponseCode::NoError);

    // DoH: a TLS connection that never asks, and one trickling HTTP/1.1 headers.
    let started = Instant::now();
    let mut silent = tls_connect(&pki, doh, "dns.test", &[b"h2"]).await.unwrap();
    assert!(
        closed_within(&mut silent, Duration::from_secs(3)).await,
        "idle DoH connection closed"
    );
    let mut slow = tls_connect(&pki, doh, "dns.test", &[b"http/1.1"])
        .await
        .unwrap();
    let trickle = async {
        for b in b"GET /dns-query?dns=AAAB HTTP/1.1\r\nHost: dns.test\r\n"
            .iter()
            .cycle()
            .take(100)
        {
            if slow.write_all(&[*b]).await.is_err() || slow.flush().await.is_err() {
                return true;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        false
    };
    let cut = tokio::time::timeout(Duration::from_secs(4), trickle)
        .await
        .unwrap_or(false);
    assert!(
        cut || closed_within(&mut slow, Duration::from_secs(1)).await,
        "trickling client cut off"
    );
    assert!(started.elapsed() < Duration::from_secs(6));
}

// A changed certificate is served without a restart; a new certificate with the
// old key (a half-done edit) keeps the old pair in service; SIGHUP applies a pair
// at once. Through the binary, so that each step waits for the line that says the
// certificate watcher looked (and kept the old pair, or loaded the new one).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn certificate_reload_on_change_keeps_the_old_on_a_bad_pair() {
    let pki = Pki::new();
    let dir = tempfile::tempdir().unwrap();
    let first = pki.leaf(&["dns.test"]);
    std::fs::create_dir_all(dir.path().join("zones")).unwrap();
    std::fs::create_dir_all(dir.path().join("tls")).unwrap();
    std::fs::write(dir.path().join("tls/cert.pem"), &first.cert).unwrap();
    std::fs::write(dir.path().join("tls/key.pem"), &first.key).unwrap();
    std::fs::write(
        dir.path().join("altroot.toml"),
        "[server]\nlisten = [\"127.0.0.1:0\"]\ntls-listen = [\"127.0.0.1:0\"]\nhttps-listen = [\"127.0.0.1:0\"]\ntls-cert = \"tls/cert.pem\"\ntls-key = \"tls/key.pem\"\n[[root]]\nname = \"alt\"\nzones = \"zones\"\n",
    )
    .unwrap();
    let mut cmd = std::process::Command::new(crate::system::BIN);
    cmd.args(["serve", "--config"])
        .arg(dir.path().join("altroot.toml"))
        .env_remove("RUST_LOG");
    let mut p = crate::system::Daemon::spawn(cmd, "altroot serve");
    let dot = crate::process::addr_from(&p.wait_line("(DoT)"));
    let doh = crate::process::addr_from(&p.wait_line("(DoH"));
    p.wait_line("altroot ready");
    assert_eq!(presented_cert(&pki, dot).await, der_of(&first.cert));
    let count = |p: &crate::system::Daemon, what: &str| p.count(what);
    let until = |p: &crate::system::Daemon, what: &str, n: usize| {
        let t = Instant::now();
        while count(p, what) < n {
            assert!(
                t.elapsed() < Duration::from_secs(10),
                "no {what:?}:\n{}",
                p.output()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    };
    let kept = "TLS certificate not reloaded, the old one stays in service";
    let loaded = "TLS certificate reloaded";

    let next = pki.leaf(&["dns.test"]);
    std::fs::write(dir.path().join("tls/cert.pem"), &next.cert).unwrap();
    until(&p, kept, 1);
    assert_eq!(
        presented_cert(&pki, dot).await,
        der_of(&first.cert),
        "mismatched pair: the old one stays"
    );
    assert_eq!(
        presented_cert_h2(&pki, doh).await,
        der_of(&first.cert),
        "DoH too"
    );
    std::fs::write(dir.path().join("tls/key.pem"), &next.key).unwrap();
    until(&p, loaded, 1);
    assert_eq!(presented_cert(&pki, dot).await, der_of(&next.cert));
    assert_eq!(presented_cert_h2(&pki, doh).await, der_of(&next.cert));

    let third = pki.leaf(&["dns.test"]);
    std::fs::write(dir.path().join("tls/cert.pem"), &third.cert).unwrap();
    std::fs::write(dir.path().join("tls/key.pem"), &third.key).unwrap();
    p.signal(libc::SIGHUP);
    p.wait_line("reload done");
    assert!(count(&p, loaded) >= 2, "{}", p.output());
    assert_eq!(presented_cert_h2(&pki, doh).await, der_of(&third.cert));
}

// `check` on the listeners' files: names covered and a near expiry are warnings,
// an expired certificate and a key of another certificate are errors, each at the
// config line of the file at fault.
#[test]
fn check_validates_the_certificate_files() {
    let pki = Pki::new();
    let dir = tempfile::tempdir().unwrap();
    let soon = pki.leaf_for(&["dns.test", "127.0.0.1"], 10);
    let old = pki.leaf_for(&["dns.test"], -3);
    std::fs::write(dir.path().join("soon.pem"), &soon.cert).unwrap();
    std::fs::write(dir.path().join("soon.key"), &soon.key).unwrap();
    std::fs::write(dir.path().join("old.pem"), &old.cert).unwrap();
    std::fs::write(dir.path().join("old.key"), &old.key).unwrap();
    let check = |cert: &str, key: &str| {
        let p = dir.path().join("altroot.toml");
        std::fs::write(&p, format!("[server]\ntls-listen = [\"127.0.0.1:8853\"]\ntls-cert = \"{cert}\"\ntls-key = \"{key}\"\n[[root]]\nname = \"icann\"\nhints = \"builtin\"\n")).unwrap();
        altroot::commands::check::check(Some(&p))
            .problems
            .iter()
            .map(|p| p.to_string())
            .collect::<Vec<_>>()
    };
    let out = check("soon.pem", "soon.key");
    let toml = dir.path().join("altroot.toml").display().to_string();
    assert!(
        out.iter()
            .any(|l| l.starts_with(&format!("{toml}:3: warning: tls-cert:"))
                && l.contains("expires in 9 days")),
        "{out:?}"
    );
    assert!(
        out.iter()
            .any(|l| l.contains("warning") && l.contains("covers dns.test, 127.0.0.1")),
        "{out:?}"
    );
    assert!(!out.iter().any(|l| l.contains("error")), "{out:?}");
    let out = check("old.pem", "old.key");
    assert!(
        out.iter()
            .any(|l| l.starts_with(&format!("{toml}:3: error: tls-cert:"))
                && l.contains("expired on")),
        "{out:?}"
    );
    let out = check("soon.pem", "old.key");
    assert!(
        out.iter()
            .any(|l| l.starts_with(&format!("{toml}:4: error: tls-key:"))
                && l.contains("does not belong")),
        "{out:?}"
    );
    let out = check("soon.pem", "missing.key");
    assert!(
        out.iter()
            .any(|l| l.starts_with(&format!("{toml}:4: error: tls-key: cannot read"))),
        "{out:?}"
    );
}

// The binary: DoT and DoH start-up lines, `proto=dot` / `proto=doh` in the query
// log, and SIGHUP reloading the certificate.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_logs_proto_and_reloads_on_sighup() {
    let (_w, a, _pki) = start("").await;
    let cfg = a.path("altroot.toml");
    let mut p = crate::process::serve(&cfg);
    let dot = crate::process::addr_from(&p.wait_line("(DoT)"));
    let doh = crate::process::addr_from(&p.wait_line("(DoH"));
    p.wait_line("altroot ready");
    let kdig = require_tool("kdig", "knot-dnsutils");
    let mut args = at(dot).to_vec();
    let ca = format!("+tls-ca={}", a.path("tls/ca.pem").display());
    args.extend([
        "+tls".into(),
        ca.clone(),
        "+tls-hostname=dns.test".into(),
        "www.geek.".into(),
    ]);
    assert!(run(&kdig, &args).await.0);
    assert!(p.wait_line("proto=dot").contains("name=www.geek."));
    let dig = require_tool("dig", "bind9-dnsutils");
    let mut args = at(doh).to_vec();
    args.extend([
        "+https".into(),
        ca,
        "+tls-hostname=dns.test".into(),
        "wiki.geek.".into(),
    ]);
    assert!(run(&dig, &args).await.0);
    assert!(p.wait_line("proto=doh").contains("name=wiki.geek."));
    p.signal(libc::SIGHUP);
    p.wait_line("TLS certificate reloaded");
}
