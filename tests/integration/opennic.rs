//! OpenNIC as a root of its own (issue 17 §2): a fake OpenNIC world beside the fake
//! ICANN world and the alternate root, and the shipped example
//! (`config/examples/opennic/`) checked offline against the bundled lists.
//!
//! The fake OpenNIC root is shaped like the real one: its own TLDs (`geek`,
//! `libre`, `pirate`, the inactive `free`, and `glue`, where its servers' names
//! live) on one server, and ICANN's TLDs carried with ICANN's data (here `com` and
//! `biz`, on a second server: a world has one port, so the copy cannot point at
//! the ICANN world's servers). Its `geek` and `libre` differ from the alternate
//! root's, its `pirate` is the server the alternate root delegates to, and its
//! `free` differs from ICANN's (Amazon's, in the real root).

use std::net::IpAddr;

use hickory_proto::op::ResponseCode;
use hickory_proto::rr::RecordType;

use crate::compare::{run, write};
use crate::harness::*;
use crate::world::{Behaviour, Spec, World, spec};

const ROOT: u8 = 1;
/// `ns0.opennic.glue.`: OpenNIC's own TLDs.
const OWN: u8 = 2;
/// `ns1.opennic.glue.`: the ICANN TLDs OpenNIC's root carries.
const CARRIED: u8 = 3;

pub(crate) fn opennic_world(b: [u8; 3]) -> Vec<Spec> {
    let ip = |h| World::ip(b, h);
    let root = format!(
        "@ SOA ns2.opennic.glue. hostmaster.opennic.glue. 1 1800 900 604800 86400
@ NS ns2.opennic.glue.
ns2.opennic.glue. A {root}
glue. NS ns0.opennic.glue.
ns0.opennic.glue. A {own}
ns1.opennic.glue. A {carried}
geek. NS ns0.opennic.glue.
libre. NS ns0.opennic.glue.
pirate. NS ns0.opennic.glue.
free. NS ns0.opennic.glue.
com. NS ns1.opennic.glue.
biz. NS ns1.opennic.glue.",
        root = ip(ROOT),
        own = ip(OWN),
        carried = ip(CARRIED)
    );
    let tld = |name: &str, data: &str| {
        format!(
            "@ SOA ns0.opennic.glue. h.opennic.glue. 1 1 1 1 300\n@ NS ns0.opennic.glue.\n{data}"
        )
        .replace("ns0.opennic.glue. h", &format!("ns0.opennic.glue. h{name}"))
    };
    let glue = format!(
        "@ SOA ns0.opennic.glue. h.opennic.glue. 1 1 1 1 300\n@ NS ns0.opennic.glue.\nns0.opennic A {}\nns1.opennic A {}\nns2.opennic A {}",
        ip(OWN),
        ip(CARRIED),
        ip(ROOT)
    );
    let carried = |data: &str| {
        format!(
            "@ SOA ns1.opennic.glue. h.opennic.glue. 1 1 1 1 300\n@ NS ns1.opennic.glue.\n{data}"
        )
    };
    vec![
        spec("opennic-root", ip(ROOT), &[(".", &root)], Behaviour::Normal),
        spec(
            "opennic-own",
            ip(OWN),
            &[
                ("glue.", &glue),
                ("geek.", &tld("geek", "www A 198.51.100.1")),
                ("libre.", &tld("libre", "www A 198.51.100.2")),
                ("pirate.", &tld("pirate", "www A 198.51.100.77")),
                ("free.", &tld("free", "www A 198.51.100.3")),
            ],
            Behaviour::Normal,
        ),
        spec(
            "opennic-carried",
            ip(CARRIED),
            &[
                ("com.", &carried("www.example A 203.0.113.10")),
                ("biz.", &carried("www A 203.0.113.60")),
            ],
            Behaviour::Normal,
        ),
    ]
}

/// The standard ICANN world, with ICANN's own `free` (on the biz/web server).
pub(crate) fn icann_world(b: [u8; 3]) -> Vec<Spec> {
    let mut specs = standard_world(b);
    for s in &mut specs {
        match s.name {
            "root" => s.zones[0].1.push_str("\nfree. NS ns.icann-tld.net."),
            "icann-biz-web" => s.zones.push((
                "free.".into(),
                "@ SOA ns.icann-tld.net. h.example. 1 1 1 1 300\n@ NS ns.icann-tld.net.\nwww A 203.0.113.62".into(),
            )),
            _ => {}
        }
    }
    specs
}

/// The three roots of the shipped example, in its order, on the fake worlds: the
/// alternate root (the standard test zones plus its own `libre`), OpenNIC's
/// (`tld-list = "opennic"`) and ICANN's (standing for ICANN's list, as the builtin
/// hints do).
pub(crate) fn setup(w: &World, o: &World) -> (Vec<(&'static str, String)>, String) {
    let mut files = alt_zones(w);
    files.push((
        "zones/libre.zone",
        "$TTL 600\n@ SOA ns.libre. h.libre. 1 3600 600 86400 300\n@ NS ns.libre.\nns A 127.0.0.1\nwww A 192.0.2.5\nwww TXT \"<script>alert(1)</script> & 'co'\"\n".into(),
    ));
    files.push(("hints.txt", hints(w)));
    files.push((
        "opennic-hints.txt",
        format!(
            ".                 86400 IN  NS    ns2.opennic.glue.\nns2.opennic.glue. 7200  IN  A     {}\n",
            World::ip(o.block, ROOT)
        ),
    ));
    let cfg = format!(
        "[server]
listen = [\"127.0.0.1:0\"]
query-timeout = \"3s\"

[[root]]
name = \"alt\"
zones = \"zones\"
port = {port}
allow-loopback-upstream = true

[[root]]
name = \"opennic\"
hints = \"opennic-hints.txt\"
tld-list = \"opennic\"
port = {oport}
allow-loopback-upstream = true

[[root]]
name = \"icann\"
hints = \"hints.txt\"
tld-list = \"icann\"
port = {port}
allow-loopback-upstream = true
",
        port = w.port,
        oport = o.port
    );
    (files, cfg)
}

/// The worlds' addresses and ports, made the same on every run.
pub(crate) fn normalise(w: &World, o: &World, s: &str) -> String {
    let block = |b: [u8; 3]| format!("{}.{}.{}.", b[0], b[1], b[2]);
    s.replace(&block(w.block), "127.W.W.")
        .replace(&block(o.block), "127.O.O.")
        .replace(&format!(":{}", w.port), ":PORT")
        .replace(&format!(":{}", o.port), ":OPORT")
}

fn golden(name: &str, got: &str) {
    let path = manifest_dir().join("tests/fixtures/opennic").join(name);
    if std::env::var_os("BLESS").is_some() {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
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

// Serving: each TLD from the first root that has it. libre and geek are the
// alternate root's, free is OpenNIC's (before ICANN's), and com comes through
// OpenNIC's root, which carries it: its carried copy is asked, ICANN's com never.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_tld_from_the_first_root_that_has_it() {
    let w = World::start(icann_world).await;
    let o = World::start(opennic_world).await;
    let (files, cfg) = setup(&w, &o);
    let a = Altroot::start(&cfg, &files).await;
    for (qname, want) in [
        ("www.libre.", "192.0.2.5"),
        ("www.geek.", "192.0.2.1"),
        ("www.free.", "198.51.100.3"),
        ("www.example.com.", "203.0.113.10"),
    ] {
        let m = a.query(qname, RecordType::A).await;
        assert_eq!(m.metadata.response_code, ResponseCode::NoError, "{qname}");
        assert_eq!(addrs(&m), vec![want.parse::<IpAddr>().unwrap()], "{qname}");
        assert_resolver_flags(&m);
    }
    assert!(
        asked(&o, "opennic-carried")
            .iter()
            .any(|q| q.starts_with("www.example.com.")),
        "{:?}",
        asked(&o, "opennic-carried")
    );
    assert!(asked(&w, "com").is_empty(), "{:?}", asked(&w, "com"));
    assert!(asked(&w, "icann-biz-web").is_empty());
    a.stop().await;
}

// compare with the three roots: geek and libre differ between the alternate root
// and OpenNIC, pirate is the same (the alternate root delegates it to OpenNIC's
// server), free differs between OpenNIC and ICANN, com is the same in OpenNIC's
// root and ICANN's. collisions, online, finds exactly those TLDs by asking each
// root's servers (OpenNIC's own TLDs are candidates: free collides though no
// zones root has it); offline, from the bundled lists.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn compare_and_collisions_with_an_opennic_root() {
    let w = World::start(icann_world).await;
    let o = World::start(opennic_world).await;
    let (files, cfg) = setup(&w, &o);
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), &files, &cfg);
    let (code, out, err) = run(
        dir.path(),
        &[
            "compare",
            "--config",
            "altroot.toml",
            "www.geek",
            "www.libre",
            "www.pirate",
            "www.free",
            "www.biz",
            "www.example.com",
        ],
    );
    assert_eq!(code, 1, "{err}");
    golden("compare.txt", &normalise(&w, &o, &out));

    let (code, out, err) = run(dir.path(), &["collisions", "--config", "altroot.toml"]);
    assert_eq!(code, 0, "{err}");
    let heads: Vec<&str> = out.lines().filter(|l| !l.starts_with(' ')).collect();
    assert_eq!(
        heads,
        [
            "biz  in alt, opennic, icann: alt answers (policy \"first\")",
            "free  in opennic, icann: opennic answers (policy \"first\")",
            "geek  in alt, opennic: alt answers (policy \"first\")",
            "libre  in alt, opennic: alt answers (policy \"first\")",
            "pirate  in alt, opennic: alt answers (policy \"first\")",
            "bbs  reserved on Handshake for the holder of bbs.net (2018 top-100k rank 67233): they may claim bbs there",
            "dyn  reserved on Handshake for the holder of dyn.com (2018 top-100k rank 35693): they may claim dyn there",
            "epic  reserved on Handshake for the holder of epic.com (2018 top-100k rank 36331): they may claim epic there",
            "gopher  reserved on Handshake for the holder of gopher.com (2018 top-100k rank 26660): they may claim gopher there",
            "oz  reserved on Handshake for the holder of oz.by (2018 top-100k rank 27288): they may claim oz there",
            "5 collisions among 20 TLDs of this config's roots",
        ],
        "{out}"
    );
    golden("collisions.txt", &normalise(&w, &o, &out));

    let (code, out, err) = run(
        dir.path(),
        &["collisions", "--config", "altroot.toml", "--offline"],
    );
    assert_eq!(code, 0, "{err}");
    golden("collisions-offline.txt", &normalise(&w, &o, &out));
    // Offline, OpenNIC's root is known by the bundled lists and says which.
    assert!(out.contains("opennic  has it   bundled OpenNIC TLD list (current, "));
    assert!(out.contains("opennic  has it   an ICANN TLD, which OpenNIC's root carries"));
    assert!(out.contains("opennic  has it   bundled OpenNIC TLD list (inactive, "));
}

// The shipped example: it checks clean, with the alternate root's TLDs that
// OpenNIC has named as collisions; offline, collisions reads OpenNIC's and ICANN's
// bundled lists and asks no server (golden).
#[test]
fn the_shipped_example_offline() {
    let cfg = "config/examples/opennic/altroot.toml";
    let (code, out, err) = run(manifest_dir(), &["check", "--config", cfg]);
    assert_eq!(code, 0, "{out}{err}");
    for tld in ["geek", "libre", "pirate"] {
        assert!(
            out.contains(&format!(
                "warning: {tld} is also a TLD in OpenNIC's list (current, OpenNIC wiki snapshot of 2026-08-21): a collision for OpenNIC's users"
            )),
            "{out}"
        );
    }
    assert!(
        err.contains("3 roots, 5 zones: 0 errors, 5 warnings"),
        "{err}"
    );
    let (code, out, err) = run(
        manifest_dir(),
        &["collisions", "--offline", "--config", cfg],
    );
    assert_eq!(code, 0, "{err}");
    golden("example-offline.txt", &out);
}

/// A stand-in for a Handshake root (the real one, hsd, is tested in its own
/// module): one TLD, `nb`, as a name registered on the chain would be.
fn handshake_world(b: [u8; 3]) -> Vec<Spec> {
    let ip = |h| World::ip(b, h);
    let root = format!(
        "@ SOA ns.hs. h.hs. 1 1800 900 604800 86400\n@ NS ns.hs.\nns.hs. A {}\nnb. NS ns.nic.nb.\nns.nic.nb. A {}",
        ip(1),
        ip(2)
    );
    let nb = format!(
        "@ SOA ns.nic.nb. h.nb. 1 1 1 1 300\n@ NS ns.nic.nb.\nns.nic A {}\nwww A 198.51.100.90",
        ip(2)
    );
    vec![
        spec("hs-root", ip(1), &[(".", &root)], Behaviour::Normal),
        spec("hs-nb", ip(2), &[("nb.", &nb)], Behaviour::Normal),
    ]
}

// The four roots at once of docs/comparing.md: alternate, OpenNIC, Handshake (a stand-in),
// ICANN, each name asked of each (golden four-roots.txt).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn four_roots_side_by_side() {
    let w = World::start(icann_world).await;
    let o = World::start(opennic_world).await;
    let h = World::start(handshake_world).await;
    let (mut files, cfg) = setup(&w, &o);
    files.push((
        "handshake-hints.txt",
        format!(". NS ns.hs.\nns.hs. A {}\n", World::ip(h.block, 1)),
    ));
    let cfg = edit(
        &cfg,
        "[[root]]\nname = \"icann\"",
        &format!(
            "[[root]]\nname = \"handshake\"\nhints = \"handshake-hints.txt\"\nport = {}\nallow-loopback-upstream = true\n\n[[root]]\nname = \"icann\"",
            h.port
        ),
    );
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), &files, &cfg);
    let (code, out, err) = run(
        dir.path(),
        &[
            "compare",
            "--config",
            "altroot.toml",
            "www.geek",
            "www.libre",
            "www.nb",
            "www.free",
            "www.biz",
            "www.example.com",
        ],
    );
    assert_eq!(code, 1, "{err}");
    let hb = format!("{}.{}.{}.", h.block[0], h.block[1], h.block[2]);
    golden(
        "four-roots.txt",
        &normalise(&w, &o, &out).replace(&hb, "127.H.H."),
    );
    assert!(out.contains("www.nb."), "{out}");
}
