//! The encrypted-DNS test kit: certificates made at test time (rcgen), real client
//! and server programs installed on demand (never skipped), our own small DoT and
//! DoH clients, a recording TLS server, and a real Unbound.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use hickory_proto::op::Message;
use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, DnType, IsCa, KeyPair};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::harness::{Altroot, alt_zones, config, edit, hints};
use crate::world::World;

//------------ Certificates ------------------------------------------------------

/// A test CA that signs leaf certificates.
pub struct Pki {
    issuer: CertifiedIssuer<'static, KeyPair>,
    pub ca_pem: String,
}

/// A leaf certificate and its key, PEM.
pub struct Leaf {
    pub cert: String,
    pub key: String,
}

impl Pki {
    pub fn new() -> Pki {
        let mut p = CertificateParams::new(Vec::<String>::new()).unwrap();
        p.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        // A CA of its own name: another test CA must be unknown, not a bad signature.
        let cn = format!("altroot test CA {:08x}", rand::random::<u32>());
        p.distinguished_name.push(DnType::CommonName, cn);
        let issuer = CertifiedIssuer::self_signed(p, KeyPair::generate().unwrap()).unwrap();
        let ca_pem = issuer.pem();
        Pki { issuer, ca_pem }
    }

    /// A certificate for `names`, valid from a year ago for `days` days more.
    pub fn leaf_for(&self, names: &[&str], days: i64) -> Leaf {
        let mut p = CertificateParams::new(names.iter().map(|s| s.to_string()).collect::<Vec<_>>())
            .unwrap();
        p.distinguished_name.push(DnType::CommonName, names[0]);
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs() as i64;
        let at = |t: i64| {
            let d = altroot::tls::date(t);
            let (y, rest) = d.split_at(4);
            rcgen::date_time_ymd(
                y.parse().unwrap(),
                rest[1..3].parse().unwrap(),
                rest[4..6].parse().unwrap(),
            )
        };
        p.not_before = at(now - 365 * 86_400);
        p.not_after = at(now + days * 86_400);
        let key = KeyPair::generate().unwrap();
        let cert = p.signed_by(&key, &self.issuer).unwrap();
        Leaf {
            cert: cert.pem(),
            key: key.serialize_pem(),
        }
    }

    pub fn leaf(&self, names: &[&str]) -> Leaf {
        self.leaf_for(names, 365)
    }

    /// A client config trusting only this CA.
    pub fn client_config(&self, alpn: &[&[u8]]) -> Arc<rustls::ClientConfig> {
        let mut roots = rustls::RootCertStore::empty();
        roots
            .add(CertificateDer::from_pem_slice(self.ca_pem.as_bytes()).unwrap())
            .unwrap();
        let mut c = rustls::ClientConfig::builder_with_provider(altroot::tls::provider())
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_root_certificates(roots)
            .with_no_client_auth();
        c.alpn_protocols = alpn.iter().map(|p| p.to_vec()).collect();
        Arc::new(c)
    }
}

//------------ An encrypted altroot -----------------------------------------------

/// An altroot in front of `w` (its alt zones and root hints) with a certificate for
/// `dns.test` and 127.0.0.1 from `pki` (`tls/cert.pem`, `tls/key.pem`; the CA in
/// `tls/ca.pem`). `listeners` are the `[server]` keys that open the encrypted
/// listeners (`tls-listen`, `https-listen`), `extra` more `[server]` keys.
pub async fn tls_altroot(w: &World, pki: &Pki, listeners: &str, extra: &str) -> Altroot {
    let leaf = pki.leaf(&["dns.test", "127.0.0.1"]);
    let mut files = alt_zones(w);
    files.push(("hints.txt", hints(w)));
    files.push(("tls/cert.pem", leaf.cert));
    files.push(("tls/key.pem", leaf.key));
    files.push(("tls/ca.pem", pki.ca_pem.clone()));
    let server = format!(
        "[server]\n{listeners}tls-cert = \"tls/cert.pem\"\ntls-key = \"tls/key.pem\"\n{extra}"
    );
    Altroot::start(&edit(&config(w, ""), "[server]\n", &server), &files).await
}

//------------ Tools installed on demand -----------------------------------------

/// The full path of a program, if installed.
pub fn find_program(bin: &str) -> Option<PathBuf> {
    let path = std::env::var("PATH").unwrap_or_default();
    path.split(':')
        .chain(["/usr/sbin", "/sbin", "/usr/bin"])
        .map(|d| Path::new(d).join(bin))
        .find(|p| p.is_file())
}

static INSTALL: Mutex<()> = Mutex::new(());

/// The path of `bin`, installing Debian's `package` when it is missing and we are
/// root (as CI is); otherwise the test fails and says what to install. Installs
/// are serialised across the tests of this binary and across processes.
pub fn require_tool(bin: &str, package: &str) -> PathBuf {
    if let Some(p) = find_program(bin) {
        return p;
    }
    let _one = INSTALL.lock().unwrap_or_else(|p| p.into_inner());
    if let Some(p) = find_program(bin) {
        return p;
    }
    let uid = std::process::Command::new("id").arg("-u").output().ok();
    let root = uid.is_some_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0");
    assert!(
        root,
        "{bin} is missing: install the Debian package {package} (apt-get install {package}); \
         the tests install it themselves only when run as root"
    );
    let lock = std::fs::File::create("/tmp/altroot-tests-apt.lock").unwrap();
    lock.lock().unwrap();
    let apt = |args: &[&str]| {
        std::process::Command::new("apt-get")
            .args(args)
            .env("DEBIAN_FRONTEND", "noninteractive")
            .output()
            .map(|o| o.status.success())
            .unwrap_or(false)
    };
    if find_program(bin).is_none() && !apt(&["install", "-y", "-q", package]) {
        apt(&["update", "-q"]);
        apt(&["install", "-y", "-q", package]);
    }
    find_program(bin).unwrap_or_else(|| panic!("apt-get install {package} did not bring {bin}"))
}

/// Runs a program (bounded: 20 s), returning (success, stdout, stderr).
pub async fn run(bin: &Path, args: &[String]) -> (bool, String, String) {
    let child = tokio::process::Command::new(bin)
        .args(args)
        .kill_on_drop(true)
        .output();
    let out = tokio::time::timeout(Duration::from_secs(20), child)
        .await
        .unwrap_or_else(|_| panic!("{} {args:?} did not finish in 20 s", bin.display()))
        .unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

//------------ Our own clients ---------------------------------------------------

/// Opens a TLS connection to `addr` for `name`, trusting `pki`.
pub async fn tls_connect(
    pki: &Pki,
    addr: SocketAddr,
    name: &str,
    alpn: &[&[u8]],
) -> std::io::Result<tokio_rustls::client::TlsStream<TcpStream>> {
    let tcp = TcpStream::connect(addr).await?;
    let conn = tokio_rustls::TlsConnector::from(pki.client_config(alpn));
    conn.connect(ServerName::try_from(name.to_string()).unwrap(), tcp)
        .await
}

/// Sends messages on one DoT connection and reads as many replies.
pub async fn dot_exchange(pki: &Pki, addr: SocketAddr, msgs: &[Message]) -> Vec<Message> {
    let mut s = tls_connect(pki, addr, "dns.test", &[b"dot"]).await.unwrap();
    for m in msgs {
        let b = m.to_vec().unwrap();
        s.write_all(&(b.len() as u16).to_be_bytes()).await.unwrap();
        s.write_all(&b).await.unwrap();
    }
    s.flush().await.unwrap();
    let mut out = Vec::new();
    for _ in msgs {
        let mut len = [0u8; 2];
        tokio::time::timeout(Duration::from_secs(10), s.read_exact(&mut len))
            .await
            .expect("no DoT reply within 10 s")
            .unwrap();
        let mut buf = vec![0u8; usize::from(u16::from_be_bytes(len))];
        s.read_exact(&mut buf).await.unwrap();
        out.push(Message::from_vec(&buf).unwrap());
    }
    out
}

/// The DER of the certificate a DoT server presents for `dns.test`.
pub async fn presented_cert(pki: &Pki, addr: SocketAddr) -> Vec<u8> {
    let s = tls_connect(pki, addr, "dns.test", &[b"dot"]).await.unwrap();
    s.get_ref().1.peer_certificates().unwrap()[0].to_vec()
}

/// The same for a DoH server (ALPN h2).
pub async fn presented_cert_h2(pki: &Pki, addr: SocketAddr) -> Vec<u8> {
    let s = tls_connect(pki, addr, "dns.test", &[b"h2"]).await.unwrap();
    s.get_ref().1.peer_certificates().unwrap()[0].to_vec()
}

pub fn der_of(pem: &str) -> Vec<u8> {
    CertificateDer::from_pem_slice(pem.as_bytes())
        .unwrap()
        .to_vec()
}

/// A random loopback address outside the worlds' usual blocks, and a port free on
/// it for TCP and UDP (checked when picked).
pub fn free_addr() -> SocketAddr {
    for _ in 0..50 {
        let ip = IpAddr::V4(Ipv4Addr::new(
            127,
            211,
            rand::random::<u8>(),
            rand::random::<u8>().max(2),
        ));
        let Ok(t) = std::net::TcpListener::bind((ip, 0)) else {
            continue;
        };
        let Ok(a) = t.local_addr() else { continue };
        if std::net::UdpSocket::bind(a).is_ok() {
            return a;
        }
    }
    panic!("no free loopback port");
}

//------------ A recording DoT server --------------------------------------------

/// A DoT server that answers every question with `A 192.0.2.99`, and records what
/// reached it: connections, the raw bytes on the wire, the questions it could
/// decrypt, and any datagram on the same address and port (a clear-text try).
pub struct TlsSink {
    pub addr: SocketAddr,
    pub accepted: Arc<std::sync::atomic::AtomicUsize>,
    pub raw: Arc<Mutex<Vec<u8>>>,
    pub questions: Arc<Mutex<Vec<String>>>,
    pub datagrams: Arc<std::sync::atomic::AtomicUsize>,
    _tasks: Vec<tokio::task::JoinHandle<()>>,
}

impl Drop for TlsSink {
    fn drop(&mut self) {
        for t in &self._tasks {
            t.abort();
        }
    }
}

/// Copies every byte read to a shared log.
struct Recorded<S> {
    inner: S,
    log: Arc<Mutex<Vec<u8>>>,
}

impl<S: tokio::io::AsyncRead + Unpin> tokio::io::AsyncRead for Recorded<S> {
    fn poll_read(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        buf: &mut tokio::io::ReadBuf<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        let before = buf.filled().len();
        let r = std::pin::Pin::new(&mut self.inner).poll_read(cx, buf);
        let new = buf.filled()[before..].to_vec();
        self.log.lock().unwrap().extend_from_slice(&new);
        r
    }
}

impl<S: tokio::io::AsyncWrite + Unpin> tokio::io::AsyncWrite for Recorded<S> {
    fn poll_write(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        buf: &[u8],
    ) -> std::task::Poll<std::io::Result<usize>> {
        std::pin::Pin::new(&mut self.inner).poll_write(cx, buf)
    }
    fn poll_flush(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::pin::Pin::new(&mut self.inner).poll_flush(cx)
    }
    fn poll_shutdown(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::pin::Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

impl TlsSink {
    pub async fn start(leaf: &Leaf) -> TlsSink {
        let addr = free_addr();
        let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(server_config(leaf, &[])));
        let listener = tokio::net::TcpListener::bind(addr).await.unwrap();
        let udp = tokio::net::UdpSocket::bind(addr).await.unwrap();
        let mut sink = TlsSink {
            addr,
            accepted: Default::default(),
            raw: Default::default(),
            questions: Default::default(),
            datagrams: Default::default(),
            _tasks: Vec::new(),
        };
        let d = sink.datagrams.clone();
        let udp_task = tokio::spawn(async move {
            let mut buf = [0u8; 2048];
            while udp.recv_from(&mut buf).await.is_ok() {
                d.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            }
        });
        let (acc, raw, qs) = (
            sink.accepted.clone(),
            sink.raw.clone(),
            sink.questions.clone(),
        );
        let tcp_task = tokio::spawn(async move {
            while let Ok((s, _)) = listener.accept().await {
                acc.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                let rec = Recorded {
                    inner: s,
                    log: raw.clone(),
                };
                let (acceptor, qs) = (acceptor.clone(), qs.clone());
                tokio::spawn(async move {
                    let Ok(mut tls) = acceptor.accept(rec).await else {
                        return;
                    };
                    answer_all(&mut tls, &qs).await;
                });
            }
        });
        sink._tasks = vec![udp_task, tcp_task];
        sink
    }
}

async fn answer_all<S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin>(
    tls: &mut S,
    qs: &Mutex<Vec<String>>,
) {
    loop {
        let mut len = [0u8; 2];
        if tls.read_exact(&mut len).await.is_err() {
            return;
        }
        let mut buf = vec![0u8; usize::from(u16::from_be_bytes(len))];
        if tls.read_exact(&mut buf).await.is_err() {
            return;
        }
        let Some(name) = Message::from_vec(&buf)
            .ok()
            .and_then(|q| q.queries.first().map(|q| q.name().to_string()))
        else {
            return;
        };
        qs.lock().unwrap().push(name);
        let Some(b) = sink_answer(&buf) else { return };
        let mut framed = (b.len() as u16).to_be_bytes().to_vec();
        framed.extend_from_slice(&b);
        if tls.write_all(&framed).await.is_err() || tls.flush().await.is_err() {
            return;
        }
    }
}

/// The answer the sinks give to the DoT/DoH/DoQ question `q` (wire form): `A
/// 192.0.2.99` for its name, with its ID, RD and question.
pub fn sink_answer(q: &[u8]) -> Option<Vec<u8>> {
    use hickory_proto::rr::{RData, Record, rdata::A};
    let q = Message::from_vec(q).ok()?;
    let question = q.queries.first()?.clone();
    let mut r = Message::new(
        q.metadata.id,
        hickory_proto::op::MessageType::Response,
        q.metadata.op_code,
    );
    r.metadata.recursion_desired = q.metadata.recursion_desired;
    r.metadata.recursion_available = true;
    r.add_query(question.clone());
    r.add_answer(Record::from_rdata(
        question.name().clone(),
        300,
        RData::A(A::new(192, 0, 2, 99)),
    ));
    r.to_vec().ok()
}

/// A rustls server config presenting `leaf`, offering `alpn`.
pub fn server_config(leaf: &Leaf, alpn: &[&[u8]]) -> rustls::ServerConfig {
    let chain = CertificateDer::pem_slice_iter(leaf.cert.as_bytes())
        .collect::<Result<Vec<_>, _>>()
        .unwrap();
    let key = rustls::pki_types::PrivateKeyDer::from_pem_slice(leaf.key.as_bytes()).unwrap();
    let mut cfg = rustls::ServerConfig::builder_with_provider(altroot::tls::provider())
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(chain, key)
        .unwrap();
    cfg.alpn_protocols = alpn.iter().map(|a| a.to_vec()).collect();
    cfg
}

//------------ Servers that close every connection after one answer -------------

/// A DoH (HTTP/2) or DoQ server that answers the first question of a connection
/// like [`TlsSink`] and closes the connection when a second comes on it, so that
/// the second question meets the close: DoH refuses its stream (RST_STREAM
/// REFUSED_STREAM, RFC 9113 §8.7) and sends GOAWAY, DoQ closes the connection
/// (CONNECTION_CLOSE). `accepted` counts connections, `answered` answers;
/// dropping it stops the server (for DoQ, closing its connections).
pub struct ClosingSink {
    pub addr: SocketAddr,
    pub accepted: Arc<std::sync::atomic::AtomicUsize>,
    pub answered: Arc<std::sync::atomic::AtomicUsize>,
    endpoint: Option<quinn::Endpoint>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for ClosingSink {
    fn drop(&mut self) {
        self.task.abort();
        if let Some(ep) = &self.endpoint {
            ep.close(0u32.into(), b"gone");
        }
    }
}

impl ClosingSink {
    pub async fn doh(leaf: &Leaf) -> ClosingSink {
        use std::sync::atomic::Ordering::SeqCst;
        let addr = free_addr();
        let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(server_config(leaf, &[b"h2"])));
        let listener = tokio::net::TcpListener::bind(addr).await.unwrap();
        let accepted: Arc<std::sync::atomic::AtomicUsize> = Default::default();
        let answered: Arc<std::sync::atomic::AtomicUsize> = Default::default();
        let (acc, ans) = (accepted.clone(), answered.clone());
        let task = tokio::spawn(async move {
            while let Ok((s, _)) = listener.accept().await {
                acc.fetch_add(1, SeqCst);
                let (acceptor, ans) = (acceptor.clone(), ans.clone());
                tokio::spawn(async move {
                    let Ok(tls) = acceptor.accept(s).await else {
                        return;
                    };
                    let Ok(mut conn) = h2::server::handshake(tls).await else {
                        return;
                    };
                    let mut first = true;
                    while let Some(Ok((req, mut respond))) = conn.accept().await {
                        if !first {
                            respond.send_reset(h2::Reason::REFUSED_STREAM);
                            conn.graceful_shutdown();
                            // (driven on until the client is done with it)
                            while let Some(Ok((_, mut r))) = conn.accept().await {
                                r.send_reset(h2::Reason::REFUSED_STREAM);
                            }
                            return;
                        }
                        first = false;
                        let mut body = req.into_body();
                        let mut q = Vec::new();
                        while let Some(Ok(chunk)) = body.data().await {
                            let _ = body.flow_control().release_capacity(chunk.len());
                            q.extend_from_slice(&chunk);
                        }
                        let Some(a) = sink_answer(&q) else { return };
                        let resp = http::Response::builder()
                            .header("content-type", "application/dns-message")
                            .body(())
                            .unwrap();
                        let Ok(mut send) = respond.send_response(resp, false) else {
                            return;
                        };
                        if send.send_data(bytes::Bytes::from(a), true).is_err() {
                            return;
                        }
                        ans.fetch_add(1, SeqCst);
                    }
                });
            }
        });
        ClosingSink {
            addr,
            accepted,
            answered,
            endpoint: None,
            task,
        }
    }

    pub async fn doq(leaf: &Leaf) -> ClosingSink {
        use std::sync::atomic::Ordering::SeqCst;
        let addr = free_addr();
        let crypto =
            quinn::crypto::rustls::QuicServerConfig::try_from(server_config(leaf, &[b"doq"]))
                .unwrap();
        let ep = quinn::Endpoint::server(quinn::ServerConfig::with_crypto(Arc::new(crypto)), addr)
            .unwrap();
        let accepted: Arc<std::sync::atomic::AtomicUsize> = Default::default();
        let answered: Arc<std::sync::atomic::AtomicUsize> = Default::default();
        let (acc, ans, server) = (accepted.clone(), answered.clone(), ep.clone());
        let task = tokio::spawn(async move {
            while let Some(incoming) = server.accept().await {
                acc.fetch_add(1, SeqCst);
                let ans = ans.clone();
                tokio::spawn(async move {
                    let Ok(conn) = incoming.await else { return };
                    let Ok((mut send, mut recv)) = conn.accept_bi().await else {
                        return;
                    };
                    let Ok(q) = recv.read_to_end(65_537).await else {
                        return;
                    };
                    let Some(a) = q.get(2..).and_then(sink_answer) else {
                        return;
                    };
                    let mut framed = (a.len() as u16).to_be_bytes().to_vec();
                    framed.extend_from_slice(&a);
                    if send.write_all(&framed).await.is_err() || send.finish().is_err() {
                        return;
                    }
                    ans.fetch_add(1, SeqCst);
                    // The next question's stream: the connection closes under it.
                    let _ = conn.accept_bi().await;
                    conn.close(0u32.into(), b"one answer per connection");
                });
            }
        });
        ClosingSink {
            addr,
            accepted,
            answered,
            endpoint: Some(ep),
            task,
        }
    }
}

//------------ A real Unbound ----------------------------------------------------

/// Unbound serving `local-data` over DoT and DoH (RFC 8484) on loopback, with a
/// certificate made for the test. Killed when dropped.
pub struct Unbound {
    child: tokio::process::Child,
    pub dot: SocketAddr,
    pub doh: SocketAddr,
    /// Holds the config and certificate while Unbound runs.
    _dir: tempfile::TempDir,
}

impl Unbound {
    /// `zones` are static local zones holding `local_data` (Unbound answers
    /// NXDOMAIN for the rest of them).
    pub async fn start(leaf: &Leaf, zones: &[&str], local_data: &[&str]) -> Unbound {
        let bin = require_tool("unbound", "unbound");
        let dir = tempfile::tempdir().unwrap();
        let dot = free_addr();
        let doh = loop {
            let a = free_addr();
            if std::net::TcpListener::bind(SocketAddr::new(dot.ip(), a.port())).is_ok() {
                break SocketAddr::new(dot.ip(), a.port());
            }
        };
        std::fs::write(dir.path().join("cert.pem"), &leaf.cert).unwrap();
        std::fs::write(dir.path().join("key.pem"), &leaf.key).unwrap();
        let mut conf = format!(
            "server:\n  directory: \"{d}\"\n  chroot: \"\"\n  username: \"\"\n  pidfile: \"\"\n\
             \x20 use-syslog: no\n  logfile: \"\"\n  verbosity: 1\n  do-daemonize: no\n\
             \x20 num-threads: 1\n  so-reuseport: no\n  do-ip6: no\n  module-config: \"iterator\"\n\
             \x20 interface: {ip}@{p1}\n  interface: {ip}@{p2}\n  tls-port: {p1}\n  https-port: {p2}\n\
             \x20 tls-service-key: \"{d}/key.pem\"\n  tls-service-pem: \"{d}/cert.pem\"\n\
             \x20 access-control: 127.0.0.0/8 allow\n",
            d = dir.path().display(),
            ip = dot.ip(),
            p1 = dot.port(),
            p2 = doh.port()
        );
        for z in zones {
            conf.push_str(&format!("  local-zone: \"{z}\" static\n"));
        }
        for l in local_data {
            conf.push_str(&format!("  local-data: \"{l}\"\n"));
        }
        conf.push_str("remote-control:\n  control-enable: no\n");
        let path = dir.path().join("unbound.conf");
        std::fs::write(&path, conf).unwrap();
        let child = tokio::process::Command::new(bin)
            .args(["-d", "-c"])
            .arg(&path)
            .kill_on_drop(true)
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        let u = Unbound {
            child,
            dot,
            doh,
            _dir: dir,
        };
        // Ready when both ports accept (bounded: 10 s).
        for _ in 0..200 {
            let ok = TcpStream::connect(dot).await.is_ok() && TcpStream::connect(doh).await.is_ok();
            if ok {
                return u;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("unbound did not start listening within 10 s");
    }
}

impl Drop for Unbound {
    fn drop(&mut self) {
        let _ = self.child.start_kill();
    }
}
