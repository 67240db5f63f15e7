//! The DoQ listener (issue 17 §5, RFC 9250): hickory's QUIC client and Python's
//! dnspython on aioquic (from PyPI) ask over it; the front end's answers, allow
//! list, query log and metrics apply as over DoT; a zone transfer comes on one
//! stream; malformed streams close the connection with DOQ_PROTOCOL_ERROR and the
//! listener goes on; connections are bounded by `tcp-clients` and
//! `tcp-idle-timeout`.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use hickory_net::proto::op::{DnsRequest, DnsRequestOptions};
use hickory_net::quic::QuicClientStream;
use hickory_net::xfer::{DnsRequestSender, FirstAnswer};
use hickory_proto::op::{Message, ResponseCode};
use hickory_proto::rr::RecordType;

use crate::harness::*;
use crate::tlskit::*;
use crate::world::World;

const LISTEN: &str = "quic-listen = [\"127.0.0.1:0\"]\n";

/// The standard world and an altroot with DoQ on 127.0.0.1 (and a certificate
/// for `dns.test` and 127.0.0.1 from `pki`); `server` more `[server]` keys, `tail`
/// more tables.
async fn start(server: &str, tail: &str) -> (World, Altroot, Pki) {
    let w = World::start(standard_world).await;
    let pki = Pki::new();
    let leaf = pki.leaf(&["dns.test", "127.0.0.1"]);
    let mut files = alt_zones(&w);
    files.push(("hints.txt", hints(&w)));
    files.push(("tls/cert.pem", leaf.cert));
    files.push(("tls/key.pem", leaf.key));
    files.push(("tls/ca.pem", pki.ca_pem.clone()));
    let keys = format!(
        "[server]\n{LISTEN}tls-cert = \"tls/cert.pem\"\ntls-key = \"tls/key.pem\"\n{server}"
    );
    let cfg = format!("{}\n{tail}", edit(&config(&w, ""), "[server]\n", &keys));
    let a = Altroot::start(&cfg, &files).await;
    (w, a, pki)
}

/// hickory's DoQ client, connected to `addr` for `dns.test`.
async fn hickory_client(pki: &Pki, addr: SocketAddr) -> QuicClientStream {
    QuicClientStream::builder()
        .crypto_config((*pki.client_config(&[])).clone())
        .build(addr, Arc::from("dns.test"))
        .await
        .expect("hickory's QUIC client connects")
}

/// One question through hickory's client.
async fn hickory_ask(
    c: &mut QuicClientStream,
    name: &str,
    t: RecordType,
    edns: Option<u16>,
) -> Message {
    let q = make_query(name, t, edns);
    let r = tokio::time::timeout(
        Duration::from_secs(10),
        c.send_message(DnsRequest::new(q, DnsRequestOptions::default()))
            .first_answer(),
    )
    .await
    .expect("a DoQ answer within 10 s")
    .expect("a DoQ answer");
    Message::from_vec(&r.to_vec().unwrap()).unwrap()
}

/// A raw QUIC connection (ALPN `doq`) to `addr`, for what a real client never sends.
async fn raw_connect(pki: &Pki, addr: SocketAddr) -> Result<quinn::Connection, String> {
    let mut ep = quinn::Endpoint::client("127.0.0.1:0".parse().unwrap()).unwrap();
    let crypto =
        quinn::crypto::rustls::QuicClientConfig::try_from(pki.client_config(&[b"doq"])).unwrap();
    ep.set_default_client_config(quinn::ClientConfig::new(Arc::new(crypto)));
    let connecting = ep.connect(addr, "dns.test").map_err(|e| e.to_string())?;
    tokio::time::timeout(Duration::from_secs(10), connecting)
        .await
        .map_err(|_| "no handshake within 10 s".to_string())?
        .map_err(|e| e.to_string())
}

/// Sends `bytes` on a new stream (with FIN when `fin`) and reads what comes back.
async fn raw_stream(c: &quinn::Connection, bytes: &[u8], fin: bool) -> Result<Vec<u8>, String> {
    let (mut s, mut r) = c.open_bi().await.map_err(|e| e.to_string())?;
    s.write_all(bytes).await.map_err(|e| e.to_string())?;
    if fin {
        s.finish().map_err(|e| e.to_string())?;
    }
    tokio::time::timeout(Duration::from_secs(10), r.read_to_end(1 << 20))
        .await
        .map_err(|_| "no reply within 10 s".to_string())?
        .map_err(|e| e.to_string())
}

/// A query as DoQ frames it: the length, then the message with ID 0.
fn framed_query(name: &str, t: RecordType) -> Vec<u8> {
    let mut q = make_query(name, t, Some(1232));
    q.metadata.id = 0;
    let b = q.to_vec().unwrap();
    let mut out = (b.len() as u16).to_be_bytes().to_vec();
    out.extend_from_slice(&b);
    out
}

/// The DoQ error code the server closed `c` with (bounded wait).
async fn closed_with(c: &quinn::Connection) -> Option<u64> {
    let e = tokio::time::timeout(Duration::from_secs(10), c.closed())
        .await
        .expect("the server closes the connection within 10 s");
    match e {
        quinn::ConnectionError::ApplicationClosed(a) => Some(a.error_code.into_inner()),
        _ => None,
    }
}

// hickory's QUIC client (hickory-net 0.26, RFC 9250): an alternate-root answer, an
// answer resolved through the fake ICANN world, NXDOMAIN, and a 30-record TXT
// answer asked with EDNS 512 that comes whole (DoQ is a stream: never TC), all on
// one connection, each with message ID 0 and the resolver's flags.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hickory_quic_client_gets_answers() {
    let (_w, a, pki) = start("", "").await;
    let doq = a.encrypted.quic_addrs[0];
    let mut c = hickory_client(&pki, doq).await;
    let m = hickory_ask(&mut c, "www.geek.", RecordType::A, Some(1232)).await;
    assert_eq!(m.metadata.id, 0);
    assert_eq!(m.metadata.response_code, ResponseCode::NoError);
    assert_eq!(
        addrs(&m),
        vec!["192.0.2.1".parse::<std::net::IpAddr>().unwrap()]
    );
    assert_resolver_flags(&m);
    let m = hickory_ask(&mut c, "www.example.com.", RecordType::A, None).await;
    assert_eq!(
        addrs(&m),
        vec!["203.0.113.10".parse::<std::net::IpAddr>().unwrap()]
    );
    let m = hickory_ask(&mut c, "nope.geek.", RecordType::A, None).await;
    assert_eq!(m.metadata.response_code, ResponseCode::NXDomain);
    let m = hickory_ask(&mut c, "big.geek.", RecordType::TXT, Some(512)).await;
    assert!(!m.metadata.truncation);
    assert_eq!(m.answers.len(), 30);
}

// A second, independent client: dnspython 2.9 with aioquic from PyPI (in a venv
// the test makes), verifying the certificate against the test CA for dns.test.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dnspython_aioquic_gets_answers() {
    let python = tokio::task::spawn_blocking(|| {
        crate::system::python_venv("doq", &["dnspython==2.9.2", "aioquic==1.7.2"])
    })
    .await
    .unwrap();
    let (_w, a, _pki) = start("", "").await;
    let doq = a.encrypted.quic_addrs[0];
    let script = "import sys, dns.message, dns.query
where, port, ca = sys.argv[1], int(sys.argv[2]), sys.argv[3]
for name, rdtype in [('www.geek.', 'A'), ('www.example.com.', 'A'), ('nope.geek.', 'A')]:
    q = dns.message.make_query(name, rdtype)
    r = dns.query.quic(q, where, port=port, verify=ca, server_hostname='dns.test', timeout=10)
    print(r.to_text())
";
    let args = [
        "-c".to_string(),
        script.to_string(),
        doq.ip().to_string(),
        doq.port().to_string(),
        a.path("tls/ca.pem").display().to_string(),
    ];
    let (ok, out, err) = run(&python, &args).await;
    assert!(ok, "dnspython over DoQ failed:\n{out}\n{err}");
    assert!(out.contains("id 0"), "{out}");
    assert!(out.contains("www.geek. 3600 IN A 192.0.2.1"), "{out}");
    assert!(
        out.contains("www.example.com. ") && out.contains("IN A 203.0.113.10"),
        "{out}"
    );
    assert_eq!(out.matches("rcode NOERROR").count(), 2, "{out}");
    assert_eq!(out.matches("rcode NXDOMAIN").count(), 1, "{out}");
}

// The front end's rules over DoQ: a client outside `allow` gets REFUSED, every
// question is one query-log line with proto=doq, and the metrics count it under
// protocol="doq".
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn allow_list_query_log_and_metrics() {
    let (_w, a, pki) = start("", "[log]\nquery-file = \"q.jsonl\"\n").await;
    let web = a.start_web().await;
    let mut c = hickory_client(&pki, a.encrypted.quic_addrs[0]).await;
    let m = hickory_ask(&mut c, "wiki.geek.", RecordType::A, None).await;
    assert_eq!(m.metadata.response_code, ResponseCode::NoError);
    let lines = crate::querylog::json_lines_until(&a.path("q.jsonl"), "name", "wiki.geek.").await;
    let l = lines.iter().find(|l| l["name"] == "wiki.geek.").unwrap();
    assert_eq!(l["proto"], "doq", "{l}");
    let (code, body) = crate::observe::aget(web.addr, "/metrics").await;
    assert_eq!(code, 200);
    assert!(
        body.lines()
            .any(|l| l.starts_with("altroot_queries_total{") && l.contains("protocol=\"doq\"")),
        "{body}"
    );

    let (_w2, b, pki2) = start("allow = [\"10.0.0.0/8\"]\n", "").await;
    let mut c = hickory_client(&pki2, b.encrypted.quic_addrs[0]).await;
    let m = hickory_ask(&mut c, "www.geek.", RecordType::A, None).await;
    assert_eq!(m.metadata.response_code, ResponseCode::Refused);
}

// RFC 9250 §4.2: a zone transfer's messages all come on the query's stream, each
// with its length, the last one closing with the SOA, then FIN.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn zone_transfer_on_one_stream() {
    let (_w, a, pki) = start("", crate::transfer::ALLOW_LOOPBACK).await;
    let c = raw_connect(&pki, a.encrypted.quic_addrs[0]).await.unwrap();
    let bytes = raw_stream(&c, &framed_query("geek.", RecordType::AXFR), true)
        .await
        .unwrap();
    let mut rest = &bytes[..];
    let mut records = Vec::new();
    while let [x, y, tail @ ..] = rest {
        let n = usize::from(u16::from_be_bytes([*x, *y]));
        assert!(tail.len() >= n, "a message cut short");
        let m = Message::from_vec(&tail[..n]).unwrap();
        assert_eq!(m.metadata.response_code, ResponseCode::NoError);
        records.extend(m.answers);
        rest = &tail[n..];
    }
    assert!(records.len() > 2, "{records:?}");
    let soa = |r: &hickory_proto::rr::Record| r.record_type() == RecordType::SOA;
    assert!(
        soa(&records[0]) && soa(records.last().unwrap()),
        "{records:?}"
    );
    assert!(records.iter().any(|r| r.name.to_string() == "www.geek."));
}

// Malformed streams (RFC 9250 §4.3.3) close that connection with
// DOQ_PROTOCOL_ERROR (2) — a message ID other than 0, a length longer than the
// stream, two messages on one stream, a response, a runt, a query whose FIN never
// comes — and nothing else: the server answers the next connection, no panic.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_streams_close_the_connection_only() {
    let (_w, a, pki) = start("tcp-idle-timeout = \"500ms\"\n", "").await;
    let web = a.start_web().await;
    let doq = a.encrypted.quic_addrs[0];
    let good = framed_query("www.geek.", RecordType::A);
    let mut nonzero_id = good.clone();
    nonzero_id[2] = 0x12;
    let mut response = good.clone();
    response[4] |= 0x80;
    let long = {
        let mut b = good.clone();
        b[1] += 5;
        b
    };
    let mut two = good.clone();
    two.extend_from_slice(&good);
    let cases: [(&str, Vec<u8>, bool); 6] = [
        ("message ID 0x1200", nonzero_id, true),
        ("a length past the FIN", long, true),
        ("two messages on one stream", two, true),
        ("a response", response, true),
        ("a runt", vec![0, 3, 0, 0, 0], true),
        ("no FIN", good.clone(), false),
    ];
    for (what, bytes, fin) in cases {
        let c = raw_connect(&pki, doq).await.unwrap();
        // A good question first: the connection works until the bad stream.
        let ok = raw_stream(&c, &good, true).await.unwrap();
        assert!(ok.len() > 14, "{what}: the good question answered");
        let _ = raw_stream(&c, &bytes, fin).await;
        assert_eq!(closed_with(&c).await, Some(2), "{what}: DOQ_PROTOCOL_ERROR");
    }
    // A unidirectional stream is never granted: QUIC's stream limit (0) holds it.
    let c = raw_connect(&pki, doq).await.unwrap();
    let uni = tokio::time::timeout(Duration::from_millis(200), c.open_uni()).await;
    assert!(uni.is_err(), "a unidirectional stream was granted");

    let c = raw_connect(&pki, doq).await.unwrap();
    let ok = raw_stream(&c, &good, true).await.unwrap();
    let m = Message::from_vec(&ok[2..]).unwrap();
    assert_eq!(m.metadata.id, 0);
    assert_eq!(
        addrs(&m),
        vec!["192.0.2.1".parse::<std::net::IpAddr>().unwrap()]
    );
    let (_, body) = crate::observe::aget(web.addr, "/metrics").await;
    let panics = crate::system::samples(&body)
        .get("altroot_panics_total{protocol=\"doq\"}")
        .copied();
    assert_eq!(panics, Some(0.0), "{body}");
}

// Bounds, as for DoT: `tcp-clients` connections at once (past it, CONNECTION_
// REFUSED at once, never queued), a connection on which no query starts within
// `tcp-idle-timeout` is closed, and one that closes frees its place.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connections_are_bounded() {
    let (_w, a, pki) = start("tcp-clients = 2\ntcp-idle-timeout = \"500ms\"\n", "").await;
    let doq = a.encrypted.quic_addrs[0];
    let first = raw_connect(&pki, doq).await.unwrap();
    let second = raw_connect(&pki, doq).await.unwrap();
    let third = raw_connect(&pki, doq).await;
    let e = third.expect_err("a third connection past tcp-clients = 2");
    assert!(e.to_lowercase().contains("refused"), "{e}");
    // UDP is answered meanwhile.
    let m = a.query("www.geek.", RecordType::A).await;
    assert_eq!(m.metadata.response_code, ResponseCode::NoError);
    // Idle: closed by the server (DOQ_NO_ERROR), and the places are free again.
    assert_eq!(closed_with(&first).await, Some(0), "idle connection closed");
    assert_eq!(
        closed_with(&second).await,
        Some(0),
        "idle connection closed"
    );
    let c = raw_connect(&pki, doq).await.expect("a place is free again");
    let ok = raw_stream(&c, &framed_query("www.geek.", RecordType::A), true)
        .await
        .unwrap();
    assert!(ok.len() > 14);
}

/// An altroot whose one root, `up`, forwards to `upstreams` (with `ca.pem` from
/// `pki` as its `tls-ca`).
async fn forwarding(upstreams: &[String], pki: &Pki) -> Altroot {
    let list = upstreams
        .iter()
        .map(|u| format!("\"{u}\""))
        .collect::<Vec<_>>()
        .join(", ");
    let cfg = format!(
        "[server]\nlisten = [\"127.0.0.1:0\"]\nquery-timeout = \"3s\"\n\n[[root]]\nname = \"up\"\n\
         forward = [{list}]\ntls-ca = \"ca.pem\"\nallow-loopback-upstream = true\n"
    );
    Altroot::start(&cfg, &[("ca.pem", pki.ca_pem.clone())]).await
}

// DoQ upstream (issue 17 §4): a forward root over quic:// to an altroot's DoQ
// listener gets the alternate root's and the ICANN world's answers, NXDOMAIN,
// and a 30-record answer whole; twenty questions at once share one QUIC
// connection (the upstream's log shows one client address and port for all).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn quic_upstream_answers_on_one_connection() {
    let (_w, up, pki) = start("", "[log]\nquery-file = \"q.jsonl\"\n").await;
    let doq = up.encrypted.quic_addrs[0];
    let a = forwarding(&[format!("quic://{doq}#dns.test")], &pki).await;
    let m = a.query("www.geek.", RecordType::A).await;
    assert_eq!(m.metadata.response_code, ResponseCode::NoError, "{m:?}");
    assert_eq!(
        addrs(&m),
        vec!["192.0.2.1".parse::<std::net::IpAddr>().unwrap()]
    );
    assert_resolver_flags(&m);
    let m = a.query("www.example.com.", RecordType::A).await;
    assert_eq!(
        addrs(&m),
        vec!["203.0.113.10".parse::<std::net::IpAddr>().unwrap()]
    );
    let m = a.query("nope.geek.", RecordType::A).await;
    assert_eq!(m.metadata.response_code, ResponseCode::NXDomain);
    let m = send_tcp(a.addr, &make_query("big.geek.", RecordType::TXT, None)).await;
    assert_eq!(m.answers.len(), 30);
    let names: Vec<String> = (0..20).map(|i| format!("n{i}.geek.")).collect();
    let asks = names.iter().map(|n| a.query(n, RecordType::A));
    for m in futures::future::join_all(asks).await {
        assert_eq!(m.metadata.response_code, ResponseCode::NXDomain);
    }
    let lines = crate::querylog::json_lines_until(&up.path("q.jsonl"), "name", "n19.geek.").await;
    let clients: std::collections::BTreeSet<String> = lines
        .iter()
        .filter(|l| l["proto"] == "doq")
        .map(|l| l["client"].as_str().unwrap_or_default().to_string())
        .collect();
    assert_eq!(clients.len(), 1, "one QUIC connection: {clients:?}");
    assert!(
        clients.iter().all(|c| c.parse::<SocketAddr>().is_ok()),
        "the log names the client's port too: {clients:?}"
    );
}

// A DoQ upstream whose certificate does not cover the name after '#' is refused:
// SERVFAIL with the `tls` failure (EDE 23, Network Error), and the upstream never
// sees a question.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn quic_upstream_with_a_wrong_name_is_refused() {
    let (_w, up, pki) = start("", "[log]\nquery-file = \"q.jsonl\"\n").await;
    let doq = up.encrypted.quic_addrs[0];
    let a = forwarding(&[format!("quic://{doq}#other.test")], &pki).await;
    let m = a.query("www.geek.", RecordType::A).await;
    assert_eq!(m.metadata.response_code, ResponseCode::ServFail);
    assert_ede(&m, &["tls"]);
    assert!(
        std::fs::read_to_string(up.path("q.jsonl"))
            .unwrap_or_default()
            .is_empty(),
        "the upstream saw a question"
    );
}
