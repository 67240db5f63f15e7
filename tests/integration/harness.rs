//! Starting a real altroot on loopback, the standard fake worlds, and a raw DNS client.

use std::net::{IpAddr, SocketAddr};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use altroot::config::Config;
use altroot::resolver::Resolver;
use altroot::server::{self, ServerHandle};
use altroot::service::Service;
use hickory_proto::op::{Edns, Message, MessageType, OpCode, Query};
use hickory_proto::rr::{Name, RData, Record, RecordType};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpStream, UdpSocket};

use crate::world::{Behaviour, Spec, World, spec};

//------------ altroot under test --------------------------------------------------

pub struct Altroot {
    /// The first listen address, as bound.
    pub addr: SocketAddr,
    /// Every listen address, as bound.
    pub addrs: Vec<SocketAddr>,
    /// Holds the config and zone files for as long as the server runs.
    pub _dir: tempfile::TempDir,
    pub service: Arc<Service>,
    /// DoT and DoH listeners (`tls-listen`, `https-listen`), as bound.
    pub encrypted: server::EncryptedHandle,
    handle: Option<ServerHandle>,
    watch: Option<altroot::service::watch::WatchHandle>,
    refreshers: Vec<altroot::xfrin::RefreshHandle>,
}

impl Altroot {
    /// Writes `files` (relative path → contents) and `altroot.toml` into a temporary
    /// folder, loads that config and serves it on 127.0.0.1, port chosen by the OS.
    pub async fn start(config: &str, files: &[(&str, String)]) -> Altroot {
        let dir = tempfile::tempdir().unwrap();
        for (path, text) in files {
            let p = dir.path().join(path);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(&p, text).unwrap();
        }
        let cfg_path = dir.path().join("altroot.toml");
        std::fs::write(&cfg_path, config).unwrap();
        let cfg = Config::load(&cfg_path).unwrap_or_else(|e| panic!("{e}"));
        Self::serve(cfg, dir).await
    }

    pub async fn serve(cfg: Config, dir: tempfile::TempDir) -> Altroot {
        let listen = cfg.server.listen.clone();
        altroot::xfrin::expire_on_disk(&cfg.roots);
        let service = Arc::new(Service::new(cfg).unwrap_or_else(|e| panic!("{e}")));
        let sockets = server::bind(&listen).await.unwrap();
        let enc = server::bind_encrypted(&service.config).await.unwrap();
        let handle = server::start(service.resolver.clone(), sockets, &service.config).unwrap();
        let encrypted = handle
            .serve_encrypted(&service.resolver, enc, &service.config)
            .unwrap_or_else(|e| panic!("{e}"));
        Altroot {
            encrypted,
            addr: handle.addrs[0],
            addrs: handle.addrs.clone(),
            _dir: dir,
            service,
            handle: Some(handle),
            watch: None,
            refreshers: Vec::new(),
        }
    }

    /// Starts live reload and the refreshers of the roots that take zones by
    /// transfer, as `serve` does.
    pub fn watch(&mut self) {
        self.watch = Some(altroot::service::watch::spawn(self.service.clone()));
        self.refreshers =
            altroot::xfrin::spawn_all(&self.service.config.roots, self.service.resolver.notices());
    }

    /// The temporary folder holding the config and zones.
    pub fn path(&self, rel: &str) -> std::path::PathBuf {
        self._dir.path().join(rel)
    }

    pub fn router(&self) -> &Arc<Resolver> {
        &self.service.resolver
    }

    /// The front end (query log, counters), as `serve` holds it.
    pub fn frontend(&self) -> Arc<altroot::server::Frontend> {
        self.handle
            .as_ref()
            .map(|h| h.frontend.clone())
            .expect("altroot was stopped")
    }

    /// Starts the metrics and status page listener on 127.0.0.1, port chosen by
    /// the OS, as `serve` does with `[metrics] listen`.
    pub async fn start_web(&self) -> altroot::commands::web::WebHandle {
        use altroot::commands::web;
        let l = web::bind("127.0.0.1:0".parse().unwrap()).await.unwrap();
        let w = web::Web::new(
            self.service.clone(),
            self.addrs.clone(),
            Some(self.frontend()),
        );
        web::start(l, w).unwrap()
    }

    pub async fn query(&self, name: &str, qtype: RecordType) -> Message {
        query(self.addr, name, qtype).await
    }

    pub async fn stop(mut self) {
        if let Some(h) = self.handle.take() {
            h.shutdown().await;
        }
    }
}

impl Drop for Altroot {
    fn drop(&mut self) {
        if let Some(h) = self.handle.take() {
            h.token().cancel();
        }
    }
}

//------------ Raw client --------------------------------------------------------

pub fn name(s: &str) -> Name {
    Name::from_ascii(s).unwrap()
}

/// A recursive query as a stub resolver sends it: RD=1, EDNS with 1232 bytes.
pub fn make_query(qname: &str, qtype: RecordType, edns: Option<u16>) -> Message {
    let mut m = Message::new(rand::random(), MessageType::Query, OpCode::Query);
    m.metadata.recursion_desired = true;
    m.add_query(Query::query(name(qname), qtype));
    if let Some(size) = edns {
        let mut e = Edns::new();
        e.set_max_payload(size);
        m.set_edns(e);
    }
    m
}

pub async fn query(server: SocketAddr, qname: &str, qtype: RecordType) -> Message {
    send_udp(server, &make_query(qname, qtype, Some(1232))).await
}

/// Sends over UDP from an unspecified local address of the server's family.
pub async fn send_udp(server: SocketAddr, msg: &Message) -> Message {
    let local: SocketAddr = if server.is_ipv4() {
        "127.0.0.1:0"
    } else {
        "[::1]:0"
    }
    .parse()
    .unwrap();
    send_udp_from(local, server, msg)
        .await
        .expect("no answer over UDP within 10 s")
}

pub async fn send_udp_from(
    local: SocketAddr,
    server: SocketAddr,
    msg: &Message,
) -> Option<Message> {
    let bytes = raw_udp_from(
        local,
        server,
        &msg.to_vec().unwrap(),
        Duration::from_secs(10),
    )
    .await?;
    Some(Message::from_vec(&bytes).expect("altroot sent a malformed message"))
}

/// Sends raw bytes; returns the raw reply, or None when nothing came within `wait`.
pub async fn raw_udp_from(
    local: SocketAddr,
    server: SocketAddr,
    bytes: &[u8],
    wait: Duration,
) -> Option<Vec<u8>> {
    let sock = UdpSocket::bind(local).await.unwrap();
    sock.connect(server).await.unwrap();
    sock.send(bytes).await.unwrap();
    let mut buf = vec![0u8; 65_535];
    match tokio::time::timeout(wait, sock.recv(&mut buf)).await {
        Ok(Ok(n)) => Some(buf[..n].to_vec()),
        _ => None,
    }
}

pub async fn send_tcp(server: SocketAddr, msg: &Message) -> Message {
    let mut s = TcpStream::connect(server).await.unwrap();
    let bytes = msg.to_vec().unwrap();
    let mut framed = (bytes.len() as u16).to_be_bytes().to_vec();
    framed.extend_from_slice(&bytes);
    s.write_all(&framed).await.unwrap();
    let mut len = [0u8; 2];
    tokio::time::timeout(Duration::from_secs(10), s.read_exact(&mut len))
        .await
        .expect("no answer over TCP within 10 s")
        .unwrap();
    let mut buf = vec![0u8; u16::from_be_bytes(len) as usize];
    s.read_exact(&mut buf).await.unwrap();
    Message::from_vec(&buf).unwrap()
}

/// The answer section as "name TTL TYPE rdata" lines.
pub fn lines(records: &[Record]) -> Vec<String> {
    records
        .iter()
        .map(|r| format!("{} {} {} {}", r.name, r.ttl, r.record_type(), r.data))
        .collect()
}

pub fn addrs(m: &Message) -> Vec<IpAddr> {
    m.answers
        .iter()
        .filter_map(|r| match &r.data {
            RData::A(a) => Some(IpAddr::V4(a.0)),
            RData::AAAA(a) => Some(IpAddr::V6(a.0)),
            _ => None,
        })
        .collect()
}

/// The Extended DNS Error of a response (RFC 8914, EDNS option 15): INFO-CODE and
/// EXTRA-TEXT. hickory decodes the option as an unknown one.
pub fn ede(m: &Message) -> Option<(u16, String)> {
    m.edns
        .as_ref()?
        .options()
        .options
        .iter()
        .find_map(|(_, o)| match o {
            hickory_proto::rr::rdata::opt::EdnsOption::Unknown(15, b) if b.len() >= 2 => Some((
                u16::from_be_bytes([b[0], b[1]]),
                String::from_utf8_lossy(&b[2..]).into_owned(),
            )),
            _ => None,
        })
}

/// Asserts a SERVFAIL's Extended DNS Error: EXTRA-TEXT starts with one of the
/// failure codes `codes` and a colon, and INFO-CODE is the one the code maps to
/// (22 No Reachable Authority — also for servers that refused or failed, RFC 8914
/// §4.23 —, 23 Network Error, 0 Other).
pub fn assert_ede(m: &Message, codes: &[&str]) {
    let Some((info, text)) = ede(m) else {
        panic!("SERVFAIL without an Extended DNS Error (wanted one of {codes:?})");
    };
    let code = text.split(':').next().unwrap_or("");
    assert!(
        text.contains(':') && codes.contains(&code),
        "EDE text {text:?}: wanted one of {codes:?}"
    );
    let want = match code {
        "timeout" | "unreachable" | "lame" | "refused" | "servfail" | "denied" | "root-unknown" => {
            22
        }
        "bogus" | "tls" => 23,
        _ => 0,
    };
    assert_eq!(info, want, "EDE INFO-CODE for {text:?}");
}

/// Asserts the header flags a recursive resolver must set: QR, RA, RD echoed, no AA.
pub fn assert_resolver_flags(m: &Message) {
    assert_eq!(m.metadata.message_type, MessageType::Response);
    assert!(m.metadata.recursion_available, "RA must be set");
    assert!(!m.metadata.authoritative, "AA must never reach clients");
    assert!(m.metadata.recursion_desired, "RD must be echoed");
}

//------------ The standard worlds ----------------------------------------------

/// Host numbers of the standard world.
pub mod host {
    pub const ROOT: u8 = 1;
    pub const COM: u8 = 2;
    pub const ORG: u8 = 3;
    pub const ICANN_BIZ_WEB: u8 = 4;
    pub const EXAMPLE_COM: u8 = 5;
    pub const LAME: u8 = 6;
    pub const SILENT: u8 = 7;
    pub const TCPONLY: u8 = 8;
    pub const EXAMPLE_ORG: u8 = 9;
    pub const UPWARD: u8 = 10;
    pub const PIRATE: u8 = 11;
    pub const LAB_GEEK: u8 = 12;
    pub const RECURSIVE: u8 = 13;
    /// Nothing listens here.
    pub const NOBODY: u8 = 14;
    pub const POISON: u8 = 15;
    pub const NOEDNS: u8 = 16;
}

/// An ICANN-like root → com/org/biz/web → leaves, plus the alternate root's outside
/// servers (the `pirate` TLD and the `lab.geek` sub-delegation) and a recursive
/// resolver for forward roots.
pub fn standard_world(b: [u8; 3]) -> Vec<Spec> {
    use host::*;
    let ip = |h| World::ip(b, h);
    let root = format!(
        "@ SOA a.root-servers.net. nstld.example. 1 1800 900 604800 86400
@ NS a.root-servers.net.
a.root-servers.net. A {root}
com. NS a.gtld.com.
a.gtld.com. A {com}
org. NS a.org-servers.org.
a.org-servers.org. A {org}
biz. NS ns.icann-tld.net.
web. NS ns.icann-tld.net.
ns.icann-tld.net. A {bw}",
        root = ip(ROOT),
        com = ip(COM),
        org = ip(ORG),
        bw = ip(ICANN_BIZ_WEB)
    );
    let com = format!(
        "@ SOA a.gtld.com. nstld.example. 1 1800 900 604800 900
@ NS a.gtld.com.
a.gtld.com. A {com}
example NS ns1.example
ns1.example A {ex}
lame NS ns1.lame
ns1.lame A {lame}
silent NS ns1.silent
ns1.silent A {silent}
tcponly NS ns1.tcponly
ns1.tcponly A {tcp}
upward NS ns1.upward
ns1.upward A {up}
poison NS ns1.poison
ns1.poison A {poison}
oldserver NS ns1.oldserver
ns1.oldserver A {noedns}
v6only NS ns1.v6only
ns1.v6only AAAA ::1
glueless NS ns.example.org.
loop NS ns.loop2.com.
loop2 NS ns.loop.com.
mixed NS ns1.silent
mixed NS ns1.lame
mixed NS ns1.upward
mixed NS ns1.example",
        com = ip(COM),
        ex = ip(EXAMPLE_COM),
        lame = ip(LAME),
        silent = ip(SILENT),
        tcp = ip(TCPONLY),
        up = ip(UPWARD),
        poison = ip(POISON),
        noedns = ip(NOEDNS)
    );
    let example_com = format!(
        "@ SOA ns1.example.com. host.example.com. 1 3600 600 86400 60
@ NS ns1.example.com.
ns1 A {ex}
www 600 A 203.0.113.10
www 600 AAAA 2001:db8:ffff::10
alias CNAME www
togeek CNAME www.geek.
cross CNAME x.geek.
toorg CNAME www.example.org.
dangling CNAME nothere.example.org.
*.wild A 203.0.113.99
text TXT \"icann example\"
empty.sub TXT \"makes sub an empty non-terminal\"",
        ex = ip(EXAMPLE_COM)
    );
    let org = format!(
        "@ SOA a.org-servers.org. nstld.example. 1 1800 900 604800 900
@ NS a.org-servers.org.
a.org-servers.org. A {org}
example NS ns.example
ns.example A {eo}
iana NS ns.example.org.",
        org = ip(ORG),
        eo = ip(EXAMPLE_ORG)
    );
    vec![
        spec("root", ip(ROOT), &[(".", &root)], Behaviour::Normal),
        spec("com", ip(COM), &[("com.", &com)], Behaviour::Normal),
        spec("org", ip(ORG), &[("org.", &org)], Behaviour::Normal),
        spec(
            "icann-biz-web",
            ip(ICANN_BIZ_WEB),
            &[
                (
                    "biz.",
                    "@ SOA ns.icann-tld.net. h.example. 1 1 1 1 300\n@ NS ns.icann-tld.net.\nwww A 203.0.113.60",
                ),
                (
                    "web.",
                    "@ SOA ns.icann-tld.net. h.example. 1 1 1 1 300\n@ NS ns.icann-tld.net.\nwww A 203.0.113.61",
                ),
            ],
            Behaviour::Normal,
        ),
        spec(
            "example.com",
            ip(EXAMPLE_COM),
            &[
                ("example.com.", &example_com),
                (
                    "mixed.com.",
                    "@ SOA ns1.example.com. h.example. 1 1 1 1 60\n@ NS ns1.example.com.\nwww A 203.0.113.20",
                ),
            ],
            Behaviour::Normal,
        ),
        spec("lame", ip(LAME), &[], Behaviour::Refused),
        spec("silent", ip(SILENT), &[], Behaviour::Silent),
        spec(
            "tcponly",
            ip(TCPONLY),
            &[(
                "tcponly.com.",
                "@ SOA ns1.tcponly.com. h.example. 1 1 1 1 60\n@ NS ns1.tcponly.com.\nwww A 203.0.113.30",
            )],
            Behaviour::TcpOnly,
        ),
        spec(
            "example.org",
            ip(EXAMPLE_ORG),
            &[
                (
                    "example.org.",
                    &format!(
                        "@ SOA ns.example.org. h.example. 1 1 1 1 60\n@ NS ns.example.org.\nns A {}\nwww A 203.0.113.40",
                        ip(EXAMPLE_ORG)
                    ),
                ),
                (
                    "glueless.com.",
                    "@ SOA ns.example.org. h.example. 1 1 1 1 60\n@ NS ns.example.org.\nwww A 203.0.113.50",
                ),
                (
                    "iana.org.",
                    "@ SOA ns.example.org. h.example. 1 1 1 1 60\n@ NS ns.example.org.\nwww A 203.0.113.70",
                ),
            ],
            Behaviour::Normal,
        ),
        spec("upward", ip(UPWARD), &[], Behaviour::UpwardReferral),
        spec(
            "noedns",
            ip(NOEDNS),
            &[(
                "oldserver.com.",
                "@ SOA ns1.oldserver.com. h.example. 1 1 1 1 60\n@ NS ns1.oldserver.com.\nwww A 203.0.113.33",
            )],
            Behaviour::NoEdns,
        ),
        spec(
            "poison",
            ip(POISON),
            &[(
                "poison.com.",
                "@ SOA ns1.poison.com. h.example. 1 1 1 1 60\n@ NS ns1.poison.com.\nwww A 203.0.113.66",
            )],
            Behaviour::Poison,
        ),
        spec(
            "pirate",
            ip(PIRATE),
            &[(
                "pirate.",
                &format!(
                    "@ SOA ns1.nic.pirate. h.pirate. 1 1 1 1 60\n@ NS ns1.nic.pirate.\nns1.nic A {}\nwww A 198.51.100.77\nhome NS ns1.home\nns1.home A {}",
                    ip(PIRATE),
                    ip(NOBODY)
                ),
            )],
            Behaviour::Normal,
        ),
        spec(
            "lab.geek",
            ip(LAB_GEEK),
            &[(
                "lab.geek.",
                "@ SOA ns1.lab.geek. h.geek. 1 1 1 1 60\n@ NS ns1.lab.geek.\ndeep A 198.51.100.99",
            )],
            Behaviour::Normal,
        ),
        spec(
            "recursive",
            ip(RECURSIVE),
            &[(
                "example.net.",
                "@ SOA ns.example.net. h.example. 1 1 1 1 60\n@ NS ns.example.net.\nwww A 203.0.113.80\nbig TXT \"0123456789012345678901234567890123456789012345678901234567890123456789012345678901234567890123456789\"\nbig TXT \"1123456789012345678901234567890123456789012345678901234567890123456789012345678901234567890123456789\"\nbig TXT \"2123456789012345678901234567890123456789012345678901234567890123456789012345678901234567890123456789\"\nbig TXT \"3123456789012345678901234567890123456789012345678901234567890123456789012345678901234567890123456789\"\nbig TXT \"4123456789012345678901234567890123456789012345678901234567890123456789012345678901234567890123456789\"\nbig TXT \"5123456789012345678901234567890123456789012345678901234567890123456789012345678901234567890123456789\"",
            )],
            Behaviour::Recursive,
        ),
    ]
}

/// The alternate root's zone files for the standard world.
pub fn alt_zones(w: &World) -> Vec<(&'static str, String)> {
    use host::*;
    let ip = |h| World::ip(w.block, h);
    let mut big = String::new();
    for i in 0..30 {
        big.push_str(&format!(
            "big TXT \"{i:02} padding padding padding padding padding padding padding padding\"\n"
        ));
    }
    let mut chain = String::new();
    for i in 0..20 {
        chain.push_str(&format!("c{i} CNAME c{}\n", i + 1));
    }
    chain.push_str("c20 A 192.0.2.20\n");
    vec![
        (
            "zones/root.zone",
            format!(
                "$TTL 86400
@ SOA a.root.alt. host.alt. 1 1800 900 604800 3600
@ NS a.root.alt.
a.root.alt. A 127.0.0.1
pirate. NS ns1.nic.pirate.
ns1.nic.pirate. A {}
",
                ip(PIRATE)
            ),
        ),
        (
            "zones/geek.zone",
            format!(
                "$TTL 3600
@ SOA ns.geek. host.geek. 7 3600 600 86400 120
@ NS ns.geek.
ns A 127.0.0.1
www A 192.0.2.1
www AAAA 2001:db8::1
wiki CNAME www
toicann CNAME www.example.com.
x CNAME cross.example.com.
loopa CNAME loopb
loopb CNAME loopa
*.users A 192.0.2.3
lab NS ns1.lab
ns1.lab A {lab}
{big}{chain}",
                lab = ip(LAB_GEEK)
            ),
        ),
        (
            "zones/biz.zone",
            "$TTL 3600\n@ SOA ns.biz. host.biz. 1 3600 600 86400 300\n@ NS ns.biz.\nns A 127.0.0.1\nwww A 192.0.2.10\n".to_string(),
        ),
        (
            "zones/home.pirate.zone",
            "$TTL 3600\n@ SOA ns1.home.pirate. host.pirate. 1 3600 600 86400 300\n@ NS ns1.home.pirate.\nns1 A 127.0.0.1\nwww A 192.0.2.200\n".to_string(),
        ),
    ]
}

/// The hints file pointing at the fake ICANN root.
pub fn hints(w: &World) -> String {
    format!(
        ". 3600000 NS a.root-servers.net.\na.root-servers.net. 3600000 A {}\n",
        World::ip(w.block, host::ROOT)
    )
}

/// The `[[root]]` table of the fake ICANN root: iterating from `hints.txt` (see
/// [`hints`]) on the world's port.
pub fn icann_root(w: &World) -> String {
    format!(
        "[[root]]\nname = \"icann\"\nhints = \"hints.txt\"\nport = {}\nallow-loopback-upstream = true\n",
        w.port
    )
}

/// A config with the alt root and the fake ICANN root; `extra` is appended.
pub fn config(w: &World, extra: &str) -> String {
    format!(
        "[server]
listen = [\"127.0.0.1:0\"]
query-timeout = \"3s\"

[[root]]
name = \"alt\"
zones = \"zones\"
port = {port}
allow-loopback-upstream = true

{icann}{extra}
",
        port = w.port,
        icann = icann_root(w)
    )
}

/// `cfg` with `from` replaced by `to`; fails when `from` is not in it, since an
/// edit that silently changes nothing would test the unedited config.
pub fn edit(cfg: &str, from: &str, to: &str) -> String {
    assert!(cfg.contains(from), "{from:?} is not in the config:\n{cfg}");
    cfg.replace(from, to)
}

/// The standard world and an altroot in front of it.
pub async fn standard(extra_config: &str) -> (World, Altroot) {
    standard_cfg(|w, _| config(w, extra_config)).await
}

/// The standard world and an altroot whose config is `edit(world, standard config)`.
pub async fn standard_cfg(edit: impl FnOnce(&World, String) -> String) -> (World, Altroot) {
    let w = World::start(standard_world).await;
    let mut files = alt_zones(&w);
    files.push(("hints.txt", hints(&w)));
    let cfg = edit(&w, config(&w, ""));
    let a = Altroot::start(&cfg, &files).await;
    (w, a)
}

/// What one fake server was asked, as "name TYPE" lines.
pub fn asked(w: &World, server: &str) -> Vec<String> {
    w.server(server)
        .seen()
        .iter()
        .map(|s| format!("{} {}", s.name, s.qtype))
        .collect()
}

pub fn manifest_dir() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// A positive control for negative claims about live reload ("this edit changed
/// nothing"): writes `file` (relative to the config folder) as the zone of `tld` with
/// `ctl.<tld>. A 192.0.2.<n>`, and waits (bounded, 10 s) until that is served. The
/// watcher takes file events in order, and a reload reads every zones folder, so once
/// the control is served every change made before it has been through a reload too:
/// what it did (or did not do) is visible now, however slow the watcher was.
pub async fn reload_control(a: &Altroot, file: &str, tld: &str, n: u8) {
    std::fs::write(
        a.path(file),
        format!(
            "$TTL 300\n@ SOA ns.{tld}. h.{tld}. {n} 3600 600 86400 60\n@ NS ns.{tld}.\nns A 127.0.0.1\nctl A 192.0.2.{n}\n"
        ),
    )
    .unwrap();
    let want: IpAddr = format!("192.0.2.{n}").parse().unwrap();
    let t = std::time::Instant::now();
    loop {
        let m = a.query(&format!("ctl.{tld}."), RecordType::A).await;
        if addrs(&m) == vec![want] {
            return;
        }
        assert!(
            t.elapsed() < Duration::from_secs(10),
            "the control edit of {file} was never served"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}
