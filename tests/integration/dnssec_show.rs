//! The DNSSEC side made visible (issue 15 §4): two signed roots side by side,
//! each validated under its own key. NSD serves an ICANN-like signed root
//! (tests/fixtures/dnssec-roots/icann: its own signed biz., an unsigned com., no
//! geek.), altroot serves a signed alternate root from pre-signed zone files
//! (tests/fixtures/dnssec-roots/alt: signed geek. and biz., unsigned web., and
//! bad. whose DS in alt's root is wrong); both
//! made by BIND's and ldns's signers (make.sh there), never by altroot. Asserted:
//! `compare`'s DNSSEC columns and its `--dnssec` cross results, `collisions`'
//! DS lines, the per-root validation counters and the status page.

use std::net::SocketAddr;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use hickory_proto::op::{Edns, Message, ResponseCode};
use hickory_proto::rr::RecordType;

use crate::harness::*;
use crate::system::{BIN, Daemon, free_port, need};
use crate::world::World;

const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/dnssec-roots");

/// The ICANN-like zones one NSD serves (on .53-.55), and the alternate root's TLD
/// zones another serves (on .60-.62), by origin.
const ICANN: &[(&str, &str)] = &[
    (".", "icann/root.zone"),
    ("biz.", "icann/biz.zone"),
    ("com.", "icann/com.zone"),
];
const ALT_TLDS: &[(&str, &str)] = &[
    ("geek.", "alt/geek.zone"),
    ("biz.", "alt/biz.zone"),
    ("web.", "alt/web.zone"),
    ("bad.", "alt/bad.zone"),
];

/// The two signed roots: two NSDs, and a folder with the config (`altroot.toml`),
/// the alternate root's root.zone and both roots' anchors.
pub struct TwoRoots {
    _nsd: [(Daemon, tempfile::TempDir); 2],
    pub dir: tempfile::TempDir,
    pub block: [u8; 3],
}

/// The config of the two roots; `extra` goes at the end.
fn config(port: u16, extra: &str) -> String {
    format!(
        "[server]
listen = [\"127.0.0.1:0\"]
query-timeout = \"4s\"

[[root]]
name = \"alt\"
zones = \"zones\"
port = {port}
allow-loopback-upstream = true
trust-anchors = [\"alt.ds\"]

[[root]]
name = \"icann\"
hints = \"hints.txt\"
port = {port}
allow-loopback-upstream = true
trust-anchors = [\"icann.ds\"]
{extra}"
    )
}

fn fixture(path: &str) -> String {
    std::fs::read_to_string(Path::new(FIXTURES).join(path)).unwrap()
}

/// `text` with the servers' addresses (192.0.2.x of `ns.` names) moved to the
/// loopback block: glue and name-server addresses, which no validation checks.
fn moved(block: [u8; 3], text: &str) -> String {
    text.lines()
        .map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            match f.as_slice() {
                [owner, .., "A", addr] if owner.starts_with("ns.") => {
                    let host: u8 = addr.rsplit('.').next().unwrap().parse().unwrap();
                    l.replace(addr, &World::ip(block, host).to_string())
                }
                _ => l.to_string(),
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
        + "\n"
}

/// NSD serving `zones` on the block's addresses `hosts`, `port`, once it answers.
async fn nsd(
    block: [u8; 3],
    port: u16,
    hosts: &[u8],
    zones: &[(&str, &str)],
) -> (Daemon, tempfile::TempDir) {
    let nsd = need("nsd", "nsd");
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().display();
    let mut conf = format!(
        "server:\n    port: {port}\n    do-ip6: no\n    server-count: 1\n    username: \"\"\n    chroot: \"\"\n    zonesdir: \"{d}\"\n    pidfile: \"{d}/nsd.pid\"\n    database: \"\"\n    xfrdfile: \"{d}/xfrd.state\"\n    zonelistfile: \"{d}/zone.list\"\n    verbosity: 1\n    rrl-ratelimit: 0\n    rrl-whitelist-ratelimit: 0\n"
    );
    for h in hosts {
        conf.push_str(&format!("    ip-address: {}\n", World::ip(block, *h)));
    }
    conf.push_str("remote-control:\n    control-enable: no\n");
    for (i, (origin, file)) in zones.iter().enumerate() {
        let name = format!("z{i}.zone");
        std::fs::write(dir.path().join(&name), moved(block, &fixture(file))).unwrap();
        conf.push_str(&format!(
            "zone:\n    name: \"{origin}\"\n    zonefile: \"{name}\"\n"
        ));
    }
    let conf_path = dir.path().join("nsd.conf");
    std::fs::write(&conf_path, conf).unwrap();
    let mut cmd = Command::new(nsd);
    cmd.arg("-d").arg("-c").arg(&conf_path);
    let daemon = Daemon::spawn(cmd, "nsd");
    let server = SocketAddr::new(World::ip(block, hosts[0]), port);
    let t = Instant::now();
    loop {
        let q = make_query(zones[0].0, RecordType::SOA, Some(1232));
        if let Some(m) = send_udp_from("127.0.0.1:0".parse().unwrap(), server, &q).await
            && m.metadata.response_code == ResponseCode::NoError
        {
            break;
        }
        assert!(
            t.elapsed() < Duration::from_secs(20),
            "NSD did not start: {}",
            daemon.output()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    (daemon, dir)
}

impl TwoRoots {
    pub async fn start(extra: &str) -> TwoRoots {
        let block = [127, 100 + rand::random::<u8>() % 100, rand::random::<u8>()];
        let port = free_port();
        let icann = nsd(block, port, &[53, 54, 55], ICANN).await;
        let alt = nsd(block, port, &[60, 61, 62, 63], ALT_TLDS).await;
        let dir = tempfile::tempdir().unwrap();
        let files = [
            ("zones/root.zone", moved(block, &fixture("alt/root.zone"))),
            ("alt.ds", fixture("alt.ds")),
            ("icann.ds", fixture("icann.ds")),
            (
                "hints.txt",
                format!(". 3600 NS ns.\nns. 3600 A {}\n", World::ip(block, 53)),
            ),
            ("altroot.toml", config(port, extra)),
        ];
        for (p, t) in &files {
            let p = dir.path().join(p);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(p, t).unwrap();
        }
        TwoRoots {
            _nsd: [icann, alt],
            dir,
            block,
        }
    }

    /// An altroot serving this folder's config in-process.
    pub async fn altroot(&self) -> Altroot {
        let path = self.dir.path().join("altroot.toml");
        let cfg = altroot::config::Config::load(&path).unwrap_or_else(|e| panic!("{e}"));
        let dir = tempfile::tempdir().unwrap();
        Altroot::serve(cfg, dir).await
    }

    /// Runs the binary in the folder: (exit status, stdout, stderr).
    pub fn run(&self, args: &[&str]) -> (i32, String, String) {
        let out = Command::new(BIN)
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

    /// `s` with what differs between runs (the loopback block) made stable.
    pub fn normalise(&self, s: &str) -> String {
        let b = self.block;
        s.replace(&format!("{}.{}.{}.", b[0], b[1], b[2]), "127.W.W.")
    }
}

/// A query with EDNS and DO.
fn ask_do(name: &str, qtype: RecordType) -> Message {
    let mut m = make_query(name, qtype, Some(1232));
    let mut e = Edns::new();
    e.set_max_payload(1232);
    e.set_dnssec_ok(true);
    m.set_edns(e);
    m
}

// Each root validates its own answers under its own key: the world the other
// tests show is what a client of altroot gets.
#[tokio::test]
async fn each_root_is_secure_under_its_own_key() {
    let w = TwoRoots::start("").await;
    let a = w.altroot().await;
    for (name, rcode, ad) in [
        ("www.geek.", ResponseCode::NoError, true),
        ("www.biz.", ResponseCode::NoError, true),
        ("nope.geek.", ResponseCode::NXDomain, true),
        ("www.web.", ResponseCode::NoError, false),
        ("www.example.com.", ResponseCode::NoError, false),
        ("nothere.", ResponseCode::NXDomain, true),
    ] {
        let m = send_udp(a.addr, &ask_do(name, RecordType::A)).await;
        assert_eq!(m.metadata.response_code, rcode, "{name}: {m:?}");
        assert_eq!(m.metadata.authentic_data, ad, "{name}: {m:?}");
    }
}

/// The names of the demo: only alt, both (each its own), only ICANN (insecure
/// there), insecure in alt, denied by both roots.
const NAMES: &[&str] = &[
    "www.geek",
    "www.biz",
    "www.example.com",
    "www.web",
    "nothere.geek",
    "nothere",
    "www.bad",
];

fn golden(name: &str, got: &str) {
    let path = manifest_dir().join("tests/fixtures/compare").join(name);
    if std::env::var_os("BLESS").is_some() {
        std::fs::write(&path, got).unwrap();
        return;
    }
    let want = std::fs::read_to_string(&path).unwrap_or_default();
    assert_eq!(
        got,
        want,
        "golden file {} differs (BLESS=1 to rewrite)",
        path.display()
    );
}

// compare's DNSSEC columns: each root's answer as its own root validates it
// (secure in both roots for their own geek./biz., insecure for an unsigned
// delegation, secure NXDOMAIN where a root proves the TLD does not exist); with
// --dnssec each root's data under the other root's key: alt's www.geek. and
// www.biz. are bogus under ICANN's key (its root proves geek. does not exist, and
// holds a DS for its own biz.), and the other way round. Signatures are not
// part of the answers compared.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn compare_shows_each_roots_dnssec_and_cross_checks() {
    let w = TwoRoots::start("").await;
    let mut args = vec!["compare", "--config", "altroot.toml"];
    args.extend(NAMES);
    let (code, out, err) = w.run(&args);
    assert_eq!(code, 1, "{err}");
    assert!(!out.contains("RRSIG") && !out.contains("ecdsa"), "{out}");
    let row = |out: &str, name: &str| -> Vec<String> {
        out.lines()
            .find(|l| l.starts_with(name))
            .unwrap_or_else(|| panic!("{name}: {out}"))
            .split("  ")
            .map(|c| c.trim().to_string())
            .filter(|c| !c.is_empty())
            .collect()
    };
    assert_eq!(
        row(&out, "www.geek."),
        [
            "www.geek.",
            "A",
            "NOERROR 192.0.2.1",
            "secure",
            "NXDOMAIN",
            "secure",
            "only alt"
        ]
    );
    assert_eq!(
        row(&out, "www.biz."),
        [
            "www.biz.",
            "A",
            "NOERROR 192.0.2.10",
            "secure",
            "NOERROR 203.0.113.60",
            "secure",
            "differs"
        ]
    );
    assert_eq!(row(&out, "www.example.com.")[5], "insecure");
    assert_eq!(row(&out, "www.web.")[3], "insecure");
    golden("dnssec-table.txt", &w.normalise(&out));

    args.push("--dnssec");
    let (code, out, err) = w.run(&args);
    assert_eq!(code, 1, "{err}");
    for line in [
        "    icann's NXDOMAIN is secure: icann's root zone proves geek. does not exist",
        "    alt's NOERROR 192.0.2.1 under icann's anchors: bogus (RRSIG over www.geek. A is signed by geek., not by the zone .)",
        "    alt's NOERROR 192.0.2.10 under icann's anchors: bogus (",
        "    icann's NOERROR 203.0.113.60 under alt's anchors: bogus (",
        "    icann's NXDOMAIN under alt's anchors: bogus (",
    ] {
        assert!(out.contains(line), "{line}\n{out}");
    }
    golden("dnssec-cross.txt", &w.normalise(&out));

    args.push("--json");
    let (code, out, err) = w.run(&args);
    assert_eq!(code, 1, "{err}");
    let rows: Vec<serde_json::Value> = out
        .lines()
        .map(|l| serde_json::from_str(l).expect("every line is JSON"))
        .collect();
    let biz = rows.iter().find(|r| r["name"] == "www.biz.").unwrap();
    let alt = &biz["roots"][0];
    assert_eq!(alt["dnssec"]["state"], "secure", "{biz}");
    assert_eq!(alt["records"], serde_json::json!(["www.biz. A 192.0.2.10"]));
    let under = &alt["checked"]["under"][0];
    assert_eq!(under["root"], "icann", "{biz}");
    assert_eq!(under["state"], "bogus", "{biz}");
    assert_eq!(
        under["zone"], "biz.",
        "{biz}: the ICANN root's DS for its biz. decides"
    );
    let geek = rows.iter().find(|r| r["name"] == "www.geek.").unwrap();
    assert_eq!(
        geek["roots"][1]["dnssec"]["proves_absent"], "geek.",
        "{geek}"
    );
    golden("dnssec-cross.json", &w.normalise(&out));
}

// The metrics count each root's validation results by exactly the questions
// asked (each first asked once: one validated link each), and the status page
// shows each root's validation state: where its anchors come from, its negative
// anchors, the counts, and the last bogus link's reason.
#[tokio::test]
async fn metrics_and_status_show_each_roots_validation() {
    use crate::observe::aget;
    let w = TwoRoots::start("negative-trust-anchors = [\"com\"]\n").await;
    let a = w.altroot().await;
    let web = a.start_web().await;
    let scrape = || async {
        let (code, body) = aget(web.addr, "/metrics").await;
        assert_eq!(code, 200, "{body}");
        crate::system::samples(&body)
    };
    let before = scrape().await;
    for (name, rcode) in [
        ("www.geek.", ResponseCode::NoError),        // alt: secure
        ("www.biz.", ResponseCode::NoError),         // alt (first root): secure
        ("www.web.", ResponseCode::NoError),         // alt: insecure
        ("www.bad.", ResponseCode::ServFail),        // alt: bogus
        ("www.example.com.", ResponseCode::NoError), // icann: insecure (negative anchor)
        ("nothere.", ResponseCode::NXDomain),        // icann: secure
    ] {
        let m = send_udp(a.addr, &ask_do(name, RecordType::A)).await;
        assert_eq!(m.metadata.response_code, rcode, "{name}: {m:?}");
    }
    let after = scrape().await;
    let moved = |root: &str, result: &str| {
        let k = format!("altroot_dnssec_validations_total{{root=\"{root}\",result=\"{result}\"}}");
        assert!(after.contains_key(&k), "{k} is listed: {after:?}");
        after[&k] - before.get(&k).copied().unwrap_or(0.0)
    };
    assert_eq!(moved("alt", "secure"), 2.0);
    assert_eq!(moved("alt", "insecure"), 1.0);
    assert_eq!(moved("alt", "bogus"), 1.0);
    assert_eq!(moved("alt", "indeterminate"), 0.0);
    assert_eq!(moved("icann", "secure"), 1.0);
    assert_eq!(moved("icann", "insecure"), 1.0);
    assert_eq!(moved("icann", "bogus"), 0.0);
    assert_eq!(after["altroot_dnssec_validating{root=\"alt\"}"], 1.0);
    assert_eq!(
        after["altroot_dnssec_negative_trust_anchors{root=\"icann\"}"],
        1.0
    );
    assert!(after["altroot_dnssec_last_bogus_timestamp_seconds{root=\"alt\"}"] > 0.0);
    assert_eq!(
        after["altroot_dnssec_last_bogus_timestamp_seconds{root=\"icann\"}"],
        0.0
    );

    let (code, body) = aget(web.addr, "/api/status").await;
    assert_eq!(code, 200, "{body}");
    let s: serde_json::Value = serde_json::from_str(&body).unwrap();
    let root = |n: &str| {
        s["roots"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["name"] == n)
            .unwrap()["dnssec"]
            .clone()
    };
    let alt = root("alt");
    assert_eq!(alt["validating"], true, "{alt}");
    assert_eq!(alt["anchors"]["source"], "files", "{alt}");
    assert!(
        alt["anchors"]["files"][0]
            .as_str()
            .unwrap()
            .ends_with("alt.ds"),
        "{alt}"
    );
    assert_eq!(alt["anchors"]["names"], serde_json::json!(["."]), "{alt}");
    assert_eq!(alt["counts"]["secure"], 2, "{alt}");
    assert_eq!(alt["counts"]["bogus"], 1, "{alt}");
    let why = alt["last_bogus"]["why"].as_str().unwrap();
    assert!(why.contains("bad."), "the zone that failed: {why}");
    let icann = root("icann");
    assert_eq!(icann["negative"], serde_json::json!(["com."]), "{icann}");
    assert_eq!(icann["last_bogus"], serde_json::Value::Null, "{icann}");
    assert_eq!(icann["counts"]["insecure"], 1, "{icann}");
}

// collisions says, per root that has the colliding biz., whether that root
// holds a DS for it: both do here (each signs its own biz.), so to a validator
// that trusts only ICANN's key alt's biz. is bogus, and the other way round.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn collisions_say_which_root_has_a_ds_for_the_tld() {
    let w = TwoRoots::start("").await;
    let key_tag = |file: &str, owner: &str| -> String {
        fixture(file)
            .lines()
            .find(|l| {
                l.starts_with(owner) && l.contains("\tDS\t")
                    || l.starts_with(&format!("{owner} ")) && l.contains(" DS ")
            })
            .and_then(|l| {
                l.split_whitespace()
                    .skip_while(|f| *f != "DS")
                    .nth(1)
                    .map(String::from)
            })
            .unwrap_or_else(|| panic!("no DS for {owner} in {file}"))
    };
    let alt_tag = key_tag("alt/root.zone", "biz.");
    let icann_tag = key_tag("icann/root.zone", "biz.");
    let (code, out, err) = w.run(&["collisions", "--config", "altroot.toml"]);
    assert_eq!(code, 0, "{err}");
    assert!(out.starts_with("biz  in alt, icann: alt answers"), "{out}");
    assert!(
        out.contains(&format!("    icann  dnssec   DS for biz in its root (key tag {icann_tag}): other roots' biz answers are bogus to validators that trust only icann's key\n")),
        "{out}"
    );
    assert!(
        out.contains(&format!(
            "    alt    dnssec   DS for biz in its root (key tag {alt_tag}): "
        )),
        "{out}"
    );
    golden("dnssec-collisions.txt", &out);
    let (code, out, _) = w.run(&["collisions", "--config", "altroot.toml", "--json"]);
    assert_eq!(code, 0);
    let biz: serde_json::Value = serde_json::from_str(out.lines().next().unwrap()).unwrap();
    let claims = biz["claims"].as_array().unwrap();
    assert_eq!(claims[1]["root"], "icann");
    assert_eq!(claims[1]["dnssec"]["state"], "signed", "{biz}");
    assert_eq!(
        claims[1]["dnssec"]["ds_key_tags"],
        serde_json::json!([icann_tag.parse::<u16>().unwrap()]),
        "{biz}"
    );
}
