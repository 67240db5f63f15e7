//! `altroot compare --resolver` (issue 17 §3): outside recursive resolvers as
//! columns beside the roots.
//!
//! In a network namespace the fake ICANN world listens on port 53, so a real Unbound
//! (Debian's) iterates it from its root hints, as an ICANN-only public resolver
//! iterates the Internet, and serves it over plain DNS, DoT and DoH with a test
//! certificate; a real dnsmasq forwards to that Unbound, as a home router forwards
//! to its ISP. `altroot compare` runs in the namespace too and asks them through
//! hickory-resolver. Golden output in `tests/fixtures/compare/` (`BLESS=1`).

use std::path::Path;

use crate::compare::{NAMES, files, golden, write};
use crate::harness::{config, edit, hints};
use crate::system::{Daemon, Netns, NsWorld, need};
use crate::tlskit::Pki;

/// Unbound's address in the namespace (plain on 53, DoT on 853, DoH on 443).
const UNBOUND: &str = "127.0.0.53";
/// dnsmasq's address in the namespace (port 53).
const DNSMASQ: &str = "127.0.0.54";

/// The namespace with its world, the resolvers, and a folder with altroot's
/// config (`altroot.toml`, the alt zones, the test CA as `ca.pem`). Fields drop
/// in order: the daemons stop before the namespace goes.
struct Outside {
    _unbound: Daemon,
    _dnsmasq: Daemon,
    dir: tempfile::TempDir,
    world: NsWorld,
    ns: Netns,
}

impl Outside {
    fn start() -> Outside {
        let unbound = need("unbound", "unbound");
        let dnsmasq = need("dnsmasq", "dnsmasq-base");
        let ns = Netns::new();
        let world = NsWorld::start_on(&ns, crate::harness::standard_world, Some(53));
        let shape = world.shape();
        let dir = tempfile::tempdir().unwrap();
        // altroot: the alt root and the fake ICANN root, 1 s per question.
        let cfg = edit(
            &config(&shape, ""),
            "query-timeout = \"3s\"",
            "query-timeout = \"1s\"",
        );
        write(dir.path(), &files(&shape), &cfg);
        let pki = Pki::new();
        let leaf = pki.leaf(&["dns.test", UNBOUND]);
        let d = dir.path();
        for (f, text) in [
            ("ca.pem", &pki.ca_pem),
            ("unbound/cert.pem", &leaf.cert),
            ("unbound/key.pem", &leaf.key),
            ("unbound/root.hints", &hints(&shape)),
        ] {
            std::fs::create_dir_all(d.join(f).parent().unwrap()).unwrap();
            std::fs::write(d.join(f), text).unwrap();
        }
        // An ICANN-only resolver: iterating from the world's root, no validation
        // (the fake world is unsigned).
        let conf = format!(
            "server:\n  directory: \"{u}\"\n  chroot: \"\"\n  username: \"\"\n  pidfile: \"\"\n\
             \x20 use-syslog: no\n  logfile: \"\"\n  verbosity: 1\n  do-daemonize: no\n\
             \x20 num-threads: 1\n  so-reuseport: no\n  do-ip6: no\n  module-config: \"iterator\"\n\
             \x20 root-hints: \"{u}/root.hints\"\n  do-not-query-localhost: no\n\
             \x20 interface: {UNBOUND}@53\n  interface: {UNBOUND}@853\n  interface: {UNBOUND}@443\n\
             \x20 tls-port: 853\n  https-port: 443\n\
             \x20 tls-service-key: \"{u}/key.pem\"\n  tls-service-pem: \"{u}/cert.pem\"\n\
             \x20 access-control: 127.0.0.0/8 allow\n  local-zone: \"big.example.\" static\n\
             {big}remote-control:\n  control-enable: no\n",
            u = d.join("unbound").display(),
            big = big_txt()
        );
        let conf_path = d.join("unbound/unbound.conf");
        std::fs::write(&conf_path, conf).unwrap();
        let mut cmd = ns.command(unbound);
        cmd.arg("-d").arg("-c").arg(&conf_path);
        let mut ub = Daemon::spawn(cmd, "unbound");
        ub.wait_line("start of service");
        let conf_path = d.join("dnsmasq.conf");
        std::fs::write(
            &conf_path,
            format!(
                "port=53\nlisten-address={DNSMASQ}\nbind-interfaces\nno-resolv\nno-hosts\nno-poll\n\
                 cache-size=0\nserver={UNBOUND}\n"
            ),
        )
        .unwrap();
        let mut cmd = ns.command(dnsmasq);
        cmd.args(["--no-daemon", "--pid-file", "--user=root", "-C"])
            .arg(&conf_path);
        let mut dm = Daemon::spawn(cmd, "dnsmasq");
        dm.wait_line("started, version");
        Outside {
            _unbound: ub,
            _dnsmasq: dm,
            dir,
            world,
            ns,
        }
    }

    /// `altroot ARGS` in the namespace, in the folder: (exit code, stdout, stderr).
    fn altroot(&self, args: &[&str]) -> (i32, String, String) {
        let out = self
            .ns
            .command(crate::system::BIN)
            .current_dir(self.dir.path())
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

    /// Replaces the world's random block.
    fn normalise(&self, s: &str) -> String {
        let b = self.world.block;
        s.replace(&format!("{}.{}.{}.", b[0], b[1], b[2]), "127.W.W.")
    }

    fn path(&self, p: &str) -> std::path::PathBuf {
        self.dir.path().join(p)
    }
}

/// Unbound's `local-data` for `big.example. TXT`: 30 records, about 2 KB, more
/// than the 1232 bytes a UDP answer may have, so plain DNS must go on over TCP.
fn big_txt() -> String {
    (0..30)
        .map(|i| format!("  local-data: 'big.example. TXT \"{i:02} padding padding padding padding padding padding\"'\n"))
        .collect()
}

/// `compare --config altroot.toml --tls-ca ca.pem` with the four columns:
/// Unbound over plain DNS, DoT and DoH, and dnsmasq.
const RESOLVERS: &[&str] = &[
    "compare",
    "--config",
    "altroot.toml",
    "--tls-ca",
    "ca.pem",
    "--resolver",
    "unbound=127.0.0.53",
    "--resolver",
    "dot=tls://127.0.0.53#dns.test",
    "--resolver",
    "doh=https://127.0.0.53/dns-query#dns.test",
    "--resolver",
    "dnsmasq=127.0.0.54",
];

// The table with the resolvers' columns: what the ICANN-only resolvers tell
// everyone else (NXDOMAIN for the alternate TLD, ICANN's biz, and a chain from
// the ICANN side into the alternate root that no root shows as they do), the
// same over every transport and through dnsmasq; exit 1 because roots differ.
// The JSON lines carry each resolver's answer and the roots it matches.
#[test]
fn resolvers_as_columns_beside_the_roots() {
    let o = Outside::start();
    let mut args = RESOLVERS.to_vec();
    args.extend(NAMES);
    let (code, out, err) = o.altroot(&args);
    assert_eq!(code, 1, "{out}{err}");
    golden("resolvers.txt", &o.normalise(&out));

    args.push("--json");
    let (code, out, err) = o.altroot(&args);
    assert_eq!(code, 1, "{out}{err}");
    let lines: Vec<serde_json::Value> = out
        .lines()
        .map(|l| serde_json::from_str(l).expect("every line is JSON"))
        .collect();
    let geek = lines.iter().find(|v| v["name"] == "www.geek.").unwrap();
    assert_eq!(geek["verdict"], "only", "{geek}");
    for r in geek["resolvers"].as_array().unwrap() {
        assert_eq!(r["rcode"], "NXDOMAIN", "{r}");
        assert_eq!(r["as"], serde_json::json!(["icann"]), "{r}");
        assert_eq!(r["ad"], false, "{r}");
    }
    let summary = lines.last().unwrap();
    assert_eq!(
        summary["resolvers"]["unbound"], summary["resolvers"]["dnsmasq"],
        "{summary}"
    );
    golden("resolvers.json", &o.normalise(&out));

    // An answer too big for UDP: truncated, asked again over TCP (plain DNS; dnsmasq
    // does the same towards Unbound), whole over DoT and DoH.
    let mut args = RESOLVERS.to_vec();
    args.extend(["--json", "-t", "TXT", "big.example"]);
    let (_, out, err) = o.altroot(&args);
    let row: serde_json::Value = serde_json::from_str(out.lines().next().unwrap()).unwrap();
    for r in row["resolvers"].as_array().unwrap() {
        assert_eq!(r["rcode"], "NOERROR", "{r}{err}");
        assert_eq!(r["records"].as_array().unwrap().len(), 30, "{r}");
    }
}

// Bulk mode (-f, a Tranco-style CSV) gives the same rows as names on the command
// line, and the summary counts each resolver's outcomes.
#[test]
fn resolvers_in_bulk_mode() {
    let o = Outside::start();
    let csv: String = NAMES
        .iter()
        .enumerate()
        .map(|(i, n)| format!("{},{n}\n", i + 1))
        .collect();
    std::fs::write(o.path("names.csv"), csv).unwrap();
    let mut args = RESOLVERS.to_vec();
    args.extend(NAMES);
    let (_, by_name, _) = o.altroot(&args);
    let mut args = RESOLVERS.to_vec();
    args.extend(["-f", "names.csv", "-j", "3"]);
    let (code, bulk, err) = o.altroot(&args);
    assert_eq!(code, 1, "{bulk}{err}");
    assert_eq!(bulk, by_name);
    assert!(
        bulk.contains("\nunbound: ") && bulk.contains("\ndnsmasq: "),
        "{bulk}"
    );
}

// A resolver that is not there and one whose certificate does not cover the name
// asked for are cells that say why, in bounded time (questions, not seconds: after
// three without an answer the dead resolver is not asked again), and exit 2.
#[test]
fn unreachable_resolvers_are_clear_cells() {
    let o = Outside::start();
    let names: Vec<String> = (0..6).map(|i| format!("n{i}.example.com")).collect();
    let mut args = vec![
        "compare",
        "--config",
        "altroot.toml",
        "--tls-ca",
        "ca.pem",
        "-j",
        "1",
        "--resolver",
        "unbound=127.0.0.53",
        "--resolver",
        "gone=127.0.0.99",
        "--resolver",
        "wrongname=tls://127.0.0.53#other.test",
        "--resolver",
        "notls=tls://127.0.0.54",
    ];
    args.extend(names.iter().map(String::as_str));
    let (code, out, err) = o.altroot(&args);
    assert_eq!(code, 2, "{out}{err}");
    golden("resolvers-unreachable.txt", &o.normalise(&out));
    args.push("--json");
    let (_, out, _) = o.altroot(&args);
    let rows: Vec<serde_json::Value> = out
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter(|v| v.get("name").is_some())
        .collect();
    assert_eq!(rows.len(), names.len());
    let errors = |label: &str| -> Vec<String> {
        rows.iter()
            .map(|r| {
                let c = r["resolvers"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .find(|c| c["resolver"] == label)
                    .unwrap();
                assert_eq!(c["rcode"], serde_json::Value::Null, "{c}");
                c["error"].as_str().unwrap().to_string()
            })
            .collect()
    };
    for label in ["gone", "wrongname", "notls"] {
        let e = errors(label);
        let asked = e.iter().filter(|e| !e.starts_with("not asked")).count();
        assert_eq!(asked, 3, "{label}: three tries, then given up: {e:#?}");
    }
    assert!(
        errors("wrongname")[0].contains("other.test"),
        "{:?}",
        errors("wrongname")
    );
}

// Wrong --resolver and --tls-ca arguments are usage errors that name the input
// and the fix, before anything is asked.
#[test]
fn resolver_arguments_are_checked() {
    let dir = tempfile::tempdir().unwrap();
    let w = crate::world::World::elsewhere([127, 9, 9], 53);
    write(dir.path(), &files(&w), &config(&w, ""));
    let run = |args: &[&str]| {
        let out = std::process::Command::new(crate::system::BIN)
            .current_dir(dir.path())
            .args(["compare", "--config", "altroot.toml"])
            .args(args)
            .output()
            .unwrap();
        (
            out.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let (code, err) = run(&["--resolver", "dns.quad9.net", "www.geek"]);
    assert_eq!(code, 2);
    assert!(
        err.contains("--resolver \"dns.quad9.net\": not an address"),
        "{err}"
    );
    let (code, err) = run(&["--resolver", "tls://dns.quad9.net", "www.geek"]);
    assert_eq!(code, 2);
    assert!(err.contains("tls://<address>#dns.quad9.net"), "{err}");
    let (code, err) = run(&["--resolver", "192.0.2.1", "--resolver", "192.0.2.1", "x"]);
    assert_eq!(code, 2);
    assert!(err.contains("a second column named \"192.0.2.1\""), "{err}");
    let (code, err) = run(&["--resolver", "192.0.2.1", "--tls-ca", "ca.pem", "x"]);
    assert_eq!(code, 2);
    assert!(err.contains("--tls-ca is only for"), "{err}");
    let (code, err) = run(&["--resolver", "tls://192.0.2.1", "--tls-ca", "nope.pem", "x"]);
    assert_eq!(code, 2);
    assert!(err.contains("nope.pem"), "{err}");
    assert!(Path::new(&dir.path().join("altroot.toml")).exists());
}

// DoT columns send SNI (hickory-resolver's own DoT path turns it off, and services
// that pick their certificate by SNI then fail): the ClientHello a recording DoT
// server receives names `dns.test`, and its answer is the column's.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dot_resolvers_send_sni() {
    let w = crate::world::World::start(crate::harness::standard_world).await;
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), &files(&w), &config(&w, ""));
    let pki = Pki::new();
    std::fs::write(dir.path().join("ca.pem"), &pki.ca_pem).unwrap();
    let sink = crate::tlskit::TlsSink::start(&pki.leaf(&["dns.test"])).await;
    let resolver = format!("sink=tls://{}#dns.test", sink.addr);
    let out = tokio::process::Command::new(crate::system::BIN)
        .current_dir(dir.path())
        .args([
            "compare",
            "--config",
            "altroot.toml",
            "--tls-ca",
            "ca.pem",
            "--json",
        ])
        .args(["--resolver", &resolver, "www.example.com"])
        .output()
        .await
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    let row: serde_json::Value = serde_json::from_str(text.lines().next().unwrap()).unwrap();
    assert_eq!(
        row["resolvers"][0]["answer"],
        "NOERROR 192.0.2.99",
        "{row}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let raw = sink.raw.lock().unwrap().clone();
    assert!(
        raw.windows(b"dns.test".len()).any(|w| w == b"dns.test"),
        "no SNI in the ClientHello"
    );
}

// A DoQ column (`quic://`, hickory-resolver's QUIC client) against altroot's own
// quic-listen as the outside resolver, since Debian has no DoQ recursive resolver
// to run (Unbound 1.17.1 serves none; it came in 1.22). That altroot knows only
// the fake ICANN root, as an ICANN-only public resolver knows only ICANN's, so
// its column must say what Unbound's says in `resolvers.json` for every name:
// the same answer, matching the same roots.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn doq_resolver_column_from_altroots_quic_listener() {
    let w = crate::world::World::start(crate::harness::standard_world).await;
    let pki = Pki::new();
    let leaf = pki.leaf(&["dns.test"]);
    let outside = crate::harness::Altroot::start(
        &format!(
            "[server]\nlisten = [\"127.0.0.1:0\"]\nquic-listen = [\"127.0.0.1:0\"]\n\
             tls-cert = \"cert.pem\"\ntls-key = \"key.pem\"\nquery-timeout = \"3s\"\n\n\
             [log]\nquery-file = \"q.jsonl\"\n\n{}",
            crate::harness::icann_root(&w)
        ),
        &[
            ("hints.txt", hints(&w)),
            ("cert.pem", leaf.cert.clone()),
            ("key.pem", leaf.key.clone()),
        ],
    )
    .await;
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), &files(&w), &config(&w, ""));
    std::fs::write(dir.path().join("ca.pem"), &pki.ca_pem).unwrap();
    let resolver = format!("doq=quic://{}#dns.test", outside.encrypted.quic_addrs[0]);
    let out = tokio::process::Command::new(crate::system::BIN)
        .current_dir(dir.path())
        .args(["compare", "--config", "altroot.toml", "--tls-ca", "ca.pem"])
        .args(["--json", "--resolver", &resolver])
        .args(NAMES)
        .env_remove("RUST_LOG")
        .output()
        .await
        .unwrap();
    let (text, err) = (
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
    );
    assert_eq!(out.status.code(), Some(1), "roots differ: {text}{err}");
    let rows: Vec<serde_json::Value> = text
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter(|v| v.get("name").is_some())
        .collect();
    assert_eq!(rows.len(), NAMES.len(), "{text}{err}");
    // What Unbound, iterating the same world, says (tests/fixtures/compare).
    let golden = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/compare/resolvers.json"),
    )
    .unwrap();
    let unbound: std::collections::BTreeMap<String, (serde_json::Value, serde_json::Value)> =
        golden
            .lines()
            .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
            .filter_map(|v| {
                let c = v["resolvers"]
                    .as_array()?
                    .iter()
                    .find(|c| c["resolver"] == "unbound")?
                    .clone();
                Some((
                    v["name"].as_str()?.to_string(),
                    (c["answer"].clone(), c["as"].clone()),
                ))
            })
            .collect();
    assert_eq!(unbound.len(), NAMES.len());
    for row in &rows {
        let name = row["name"].as_str().unwrap();
        let c = &row["resolvers"][0];
        assert_eq!(c["resolver"], "doq", "{row}");
        assert_eq!(c["error"], serde_json::Value::Null, "{name}: {c}");
        let (answer, roots) = &unbound[name];
        assert_eq!(&c["answer"], answer, "{name}: {c}");
        assert_eq!(&c["as"], roots, "{name}: {c}");
    }
    let geek = rows.iter().find(|r| r["name"] == "www.geek.").unwrap();
    assert_eq!(geek["resolvers"][0]["rcode"], "NXDOMAIN", "{geek}");
    // The outside altroot's DoQ listener is what answered them.
    for name in ["www.geek.", "www.example.com."] {
        let lines = crate::querylog::json_lines_until(&outside.path("q.jsonl"), "name", name).await;
        assert!(
            lines
                .iter()
                .any(|l| l["name"] == name && l["proto"] == "doq"),
            "{name}: {lines:?}"
        );
    }
}
