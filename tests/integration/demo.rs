//! The shipped config/ and zones/: the demo must load, check clean, and answer as the
//! tour in README.md and docs/ say, with its outside delegations (pirate on 127.53.53.1, lab.geek on
//! 127.53.53.2) served by fake servers and the ICANN side by the fake ICANN world.

use std::net::IpAddr;
use std::process::Command;

use hickory_proto::op::ResponseCode;
use hickory_proto::rr::RecordType;

use crate::harness::*;
use crate::world::{Behaviour, World, spec};

fn demo_world(b: [u8; 3]) -> Vec<crate::world::Spec> {
    let mut specs: Vec<_> = standard_world(b)
        .into_iter()
        .filter(|s| s.name != "pirate" && s.name != "lab.geek")
        .collect();
    let ip = |s: &str| s.parse::<IpAddr>().unwrap();
    specs.push(spec(
        "demo-pirate",
        ip("127.53.53.1"),
        &[("pirate.", "@ SOA ns1.nic.pirate. h.pirate. 1 1 1 1 60\n@ NS ns1.nic.pirate.\nns1.nic A 127.53.53.1\nwww A 198.51.100.77")],
        Behaviour::Normal,
    ));
    specs.push(spec(
        "demo-lab",
        ip("127.53.53.2"),
        &[(
            "lab.geek.",
            "@ SOA ns1.lab.geek. h.geek. 1 1 1 1 60\n@ NS ns1.lab.geek.\nrobot A 198.51.100.99",
        )],
        Behaviour::Normal,
    ));
    specs
}

pub async fn demo() -> (World, Altroot) {
    let w = World::start(demo_world).await;
    let shipped = manifest_dir().join("zones");
    let mut files: Vec<(&str, String)> = Vec::new();
    let mut names = Vec::new();
    for e in std::fs::read_dir(&shipped).unwrap() {
        let p = e.unwrap().path();
        names.push((
            format!("zones/{}", p.file_name().unwrap().to_str().unwrap()),
            std::fs::read_to_string(&p).unwrap(),
        ));
    }
    let names: &'static [(String, String)] = Box::leak(names.into_boxed_slice());
    for (n, t) in names {
        files.push((n.as_str(), t.clone()));
    }
    files.push(("hints.txt", hints(&w)));
    // The shipped config, with the demo's servers moved to this world's port and the
    // ICANN root pointed at the fake one.
    let shipped_cfg = std::fs::read_to_string(manifest_dir().join("config/altroot.toml")).unwrap();
    let cfg = edit(
        &shipped_cfg,
        "listen = [\"127.0.0.1:5353\", \"[::1]:5353\"]",
        "listen = [\"127.0.0.1:0\"]",
    );
    let cfg = edit(
        &cfg,
        "zones = \"../zones\"",
        &format!("zones = \"zones\"\nport = {}", w.port),
    );
    let cfg = edit(
        &cfg,
        "hints = \"builtin\"",
        &format!(
            "hints = \"hints.txt\"\nport = {}\nallow-loopback-upstream = true",
            w.port
        ),
    );
    assert_ne!(
        cfg, shipped_cfg,
        "the shipped config changed shape; update this test"
    );
    let a = Altroot::start(&cfg, &files).await;
    (w, a)
}

#[tokio::test]
async fn demo_answers_as_the_readme_says() {
    let (w, a) = demo().await;
    let q = |n: &'static str, t| {
        let addr = a.addr;
        async move { query(addr, n, t).await }
    };
    // Never-colliding OpenNIC TLDs, served in-process.
    assert_eq!(
        lines(&q("www.geek.", RecordType::A).await.answers),
        vec!["www.geek. 3600 A 192.0.2.1"]
    );
    assert_eq!(
        lines(&q("wiki.geek.", RecordType::A).await.answers),
        vec![
            "wiki.geek. 3600 CNAME www.geek.",
            "www.geek. 3600 A 192.0.2.1"
        ]
    );
    assert_eq!(
        lines(&q("geek.", RecordType::MX).await.answers),
        vec!["geek. 3600 MX 10 mail.geek."]
    );
    assert_eq!(
        lines(&q("_xmpp-server._tcp.libre.", RecordType::SRV).await.answers),
        vec!["_xmpp-server._tcp.libre. 3600 SRV 5 0 5269 chat.libre."]
    );
    assert_eq!(
        lines(&q("x.users.geek.", RecordType::A).await.answers),
        vec!["x.users.geek. 3600 A 192.0.2.3"]
    );
    assert_eq!(
        lines(&q("www.libre.", RecordType::AAAA).await.answers),
        vec!["www.libre. 3600 AAAA 2001:db8:1::7"]
    );
    // The colliding TLDs: the alternate root is first, so its data wins.
    assert_eq!(
        lines(&q("www.biz.", RecordType::A).await.answers),
        vec!["www.biz. 3600 A 192.0.2.10"]
    );
    assert_eq!(
        lines(&q("www.web.", RecordType::A).await.answers),
        vec!["www.web. 3600 A 192.0.2.80"]
    );
    assert_eq!(q("biz.", RecordType::TXT).await.answers.len(), 1);
    assert_eq!(
        lines(&q("a.sites.web.", RecordType::TXT).await.answers),
        vec!["a.sites.web. 3600 TXT wildcard site"]
    );
    // Delegated outside altroot, and a sub-delegation.
    assert_eq!(
        lines(&q("www.pirate.", RecordType::A).await.answers),
        vec!["www.pirate. 300 A 198.51.100.77"]
    );
    assert_eq!(
        lines(&q("robot.lab.geek.", RecordType::A).await.answers),
        vec!["robot.lab.geek. 300 A 198.51.100.99"]
    );
    // Across roots: an alt name aliasing an ICANN name.
    assert_eq!(
        lines(&q("iana.geek.", RecordType::A).await.answers),
        vec![
            "iana.geek. 3600 CNAME www.iana.org.",
            "www.iana.org. 300 A 203.0.113.70"
        ]
    );
    // ICANN names go to the (fake) ICANN root.
    assert_eq!(
        lines(&q("www.example.com.", RecordType::A).await.answers),
        vec!["www.example.com. 600 A 203.0.113.10"]
    );
    assert_eq!(
        q("nosuch.geek.", RecordType::A)
            .await
            .metadata
            .response_code,
        ResponseCode::NXDomain
    );
    assert!(w.server("demo-pirate").seen().len() == 1);
}

#[test]
fn shipped_config_and_zones_check_clean() {
    let out = Command::new(env!("CARGO_BIN_EXE_altroot"))
        .current_dir(manifest_dir())
        .args(["check", "--config", "config/altroot.toml"])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}");
}

// A compare session on the shipped demo, ICANN side played by the fake ICANN world
// (README.md and docs/comparing.md quote tests/fixtures/compare/demo.txt).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn compare_session_on_the_demo() {
    let (w, a) = demo().await;
    let out = Command::new(env!("CARGO_BIN_EXE_altroot"))
        .current_dir(a.path(""))
        .args([
            "compare",
            "--config",
            "altroot.toml",
            "www.biz",
            "www.web",
            "www.geek",
            "iana.geek",
            "www.example.com",
            "nosuch.geek",
            "localhost",
        ])
        .env_remove("RUST_LOG")
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert_eq!(out.status.code(), Some(1), "{text}");
    let path = manifest_dir().join("tests/fixtures/compare/demo.txt");
    if std::env::var_os("BLESS").is_some() {
        std::fs::write(&path, &text).unwrap();
    } else {
        assert_eq!(text, std::fs::read_to_string(&path).unwrap_or_default());
    }
    drop(w);
}
