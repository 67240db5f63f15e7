//! Encrypted upstreams of forward roots (issue 10): a real Unbound over DoT and
//! DoH, one reused pipelined connection, and certificates that must be refused —
//! with the `tls:` failure, and nothing sent in clear text.

use std::net::IpAddr;
use std::sync::atomic::Ordering;
use std::time::Duration;

use hickory_proto::op::ResponseCode;
use hickory_proto::rr::RecordType;

use crate::harness::*;
use crate::tlskit::*;

/// An altroot whose config is `roots` (forward roots), with `ca.pem` beside it.
async fn altroot(roots: &str, pki: &Pki) -> Altroot {
    let cfg = format!("[server]\nlisten = [\"127.0.0.1:0\"]\nquery-timeout = \"3s\"\n\n{roots}");
    Altroot::start(&cfg, &[("ca.pem", pki.ca_pem.clone())]).await
}

/// An altroot whose one root, `up`, forwards over DoT to `sink` as `dns.test`,
/// trusting `pki`'s CA.
async fn forward_to_sink(sink: &TlsSink, pki: &Pki) -> Altroot {
    let root = format!(
        "[[root]]\nname = \"up\"\nforward = [\"tls://{}#dns.test\"]\ntls-ca = \"ca.pem\"\n\
         allow-loopback-upstream = true\n",
        sink.addr
    );
    altroot(&root, pki).await
}

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

// A real Unbound as the upstream of two forward roots, one over DoT
// (tls-service-key/tls-service-pem) and one over DoH: each answers its names, the
// certificate is checked against tls-ca for the name after '#', answers are cached.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unbound_as_dot_and_doh_upstream() {
    let pki = Pki::new();
    let u = Unbound::start(
        &pki.leaf(&["unbound.test"]),
        &["example.net.", "example.org."],
        &[
            "www.example.net. 300 IN A 203.0.113.80",
            "www.example.org. 300 IN A 203.0.113.81",
        ],
    )
    .await;
    let a = altroot(
        &format!(
            "[[root]]\nname = \"dot\"\nforward = [\"tls://{}#unbound.test\"]\ntls-ca = \"ca.pem\"\n\
             tlds = [\"net\"]\nallow-loopback-upstream = true\n\n\
             [[root]]\nname = \"doh\"\nforward = [\"https://{}/dns-query#unbound.test\"]\n\
             tls-ca = \"ca.pem\"\nallow-loopback-upstream = true\n",
            u.dot, u.doh
        ),
        &pki,
    )
    .await;
    for (name, want) in [
        ("www.example.net.", "203.0.113.80"),
        ("www.example.org.", "203.0.113.81"),
    ] {
        let m = a.query(name, RecordType::A).await;
        assert_eq!(
            m.metadata.response_code,
            ResponseCode::NoError,
            "{name}: {m:?}"
        );
        assert_eq!(addrs(&m), vec![ip(want)], "{name}");
        assert_resolver_flags(&m);
        // Unbound's local-data always answers with TTL 300: only altroot's cache,
        // read 10 s later by its clock, counts it down.
        a.service.clock().advance(Duration::from_secs(10));
        let again = a.query(name, RecordType::A).await;
        assert_eq!(addrs(&again), vec![ip(want)]);
        assert!(
            again.answers[0].ttl <= 290,
            "{name}: from the cache, not Unbound: {again:?}"
        );
    }
    // Names Unbound does not have: its NXDOMAIN comes back through both transports.
    for name in ["nope.example.net.", "nope.example.org."] {
        let m = a.query(name, RecordType::A).await;
        assert_eq!(
            m.metadata.response_code,
            ResponseCode::NXDomain,
            "{name}: {m:?}"
        );
    }
}

// Twenty questions at once to a DoT upstream share one TLS connection (one
// handshake, pipelined, answers matched by ID), and it stays open for later ones.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dot_upstream_reuses_one_pipelined_connection() {
    let pki = Pki::new();
    let sink = TlsSink::start(&pki.leaf(&["dns.test"])).await;
    let a = forward_to_sink(&sink, &pki).await;
    let asks = (0..20).map(|i| {
        let a = &a;
        async move { a.query(&format!("n{i}.example.net."), RecordType::A).await }
    });
    for m in futures::future::join_all(asks).await {
        assert_eq!(addrs(&m), vec![ip("192.0.2.99")], "{m:?}");
    }
    let m = a.query("later.example.net.", RecordType::A).await;
    assert_eq!(addrs(&m), vec![ip("192.0.2.99")]);
    assert_eq!(
        sink.accepted.load(Ordering::SeqCst),
        1,
        "one connection for all"
    );
    assert_eq!(sink.questions.lock().unwrap().len(), 21);
}

// A certificate for another name, an expired one, and one from a CA the root does
// not trust are all refused: SERVFAIL with the `tls:` failure (EDE 23), the
// upstream never decrypts a question, the question's name never crosses the wire
// in clear, and no datagram is tried instead — not on the first question, and not
// on the next.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_upstream_certificates_are_refused_without_fallback() {
    let pki = Pki::new();
    let cases = [
        (
            "another name",
            pki.leaf(&["other.test"]),
            "not valid for name",
        ),
        ("expired", pki.leaf_for(&["dns.test"], -2), "expired"),
        (
            "unknown CA",
            Pki::new().leaf(&["dns.test"]),
            "UnknownIssuer",
        ),
    ];
    for (what, leaf, why) in cases {
        let sink = TlsSink::start(&leaf).await;
        let a = forward_to_sink(&sink, &pki).await;
        for _ in 0..2 {
            let m = a.query("secretname.example.net.", RecordType::A).await;
            assert_eq!(m.metadata.response_code, ResponseCode::ServFail, "{what}");
            assert_ede(&m, &["tls"]);
            let (_, text) = ede(&m).unwrap();
            assert!(
                text.to_lowercase().contains(&why.to_lowercase()),
                "{what}: {text}"
            );
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert!(
            sink.accepted.load(Ordering::SeqCst) >= 1,
            "{what}: a handshake was tried"
        );
        assert!(
            sink.questions.lock().unwrap().is_empty(),
            "{what}: a question got through"
        );
        let raw = sink.raw.lock().unwrap().clone();
        assert_eq!(raw.first(), Some(&0x16), "{what}: TLS from the first byte");
        assert!(
            !raw.windows(10).any(|w| w == b"secretname"),
            "{what}: the name in clear"
        );
        assert_eq!(
            sink.datagrams.load(Ordering::SeqCst),
            0,
            "{what}: a clear-text try"
        );
    }
}

/// An altroot whose one root forwards to `upstream` (a `https://` or `quic://`
/// URL for `dns.test`), trusting `pki`'s CA.
async fn forward_to(upstream: &str, pki: &Pki) -> Altroot {
    let root = format!(
        "[[root]]\nname = \"up\"\nforward = [\"{upstream}\"]\ntls-ca = \"ca.pem\"\n\
         allow-loopback-upstream = true\n"
    );
    altroot(&root, pki).await
}

/// Asks `a` four new names one after the other, each of which must come back
/// from the sink, each on a connection of its own: every question after the first
/// is sent on the open connection, meets its close, and is asked again on a new
/// one. Then stops the sink and asks once more, which must be SERVFAIL (the
/// upstream is gone), not silence.
async fn answered_across_closes_then_servfail(a: &Altroot, sink: ClosingSink, what: &str) {
    for i in 0..4 {
        let m = a.query(&format!("n{i}.example.net."), RecordType::A).await;
        assert_eq!(
            m.metadata.response_code,
            ResponseCode::NoError,
            "{what} {i}: {m:?}"
        );
        assert_eq!(addrs(&m), vec![ip("192.0.2.99")], "{what} {i}");
    }
    assert_eq!(sink.answered.load(Ordering::SeqCst), 4, "{what}");
    assert_eq!(sink.accepted.load(Ordering::SeqCst), 4, "{what}");
    drop(sink);
    let m = a.query("after.example.net.", RecordType::A).await;
    assert_eq!(m.metadata.response_code, ResponseCode::ServFail, "{what}");
}

// A DoH upstream that refuses the second question of every connection and sends
// GOAWAY (as servers do at a limit or when shutting down): each question is still
// answered, asked again on a new HTTP/2 connection, and when the server is gone
// the client gets SERVFAIL.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn doh_upstream_opens_a_new_connection_after_goaway() {
    let pki = Pki::new();
    let sink = ClosingSink::doh(&pki.leaf(&["dns.test"])).await;
    let a = forward_to(&format!("https://{}/dns-query#dns.test", sink.addr), &pki).await;
    answered_across_closes_then_servfail(&a, sink, "DoH").await;
}

// A DoQ upstream that closes each connection when its second question comes:
// each question is still answered, asked again on a new QUIC connection, and when
// the server is gone the client gets SERVFAIL.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn doq_upstream_opens_a_new_connection_after_close() {
    let pki = Pki::new();
    let sink = ClosingSink::doq(&pki.leaf(&["dns.test"])).await;
    let a = forward_to(&format!("quic://{}#dns.test", sink.addr), &pki).await;
    answered_across_closes_then_servfail(&a, sink, "DoQ").await;
}
