//! The "use it as your resolver" recipes (issue 9 §2), each as `altroot config
//! recipes` prints it, with a real client: glibc's `getent` in a network namespace
//! whose resolv.conf points at altroot on port 53; Unbound and dnsmasq from Debian
//! in front of altroot; systemd-resolved (Debian's binary, run on its own) with
//! per-TLD and global routing. Tools missing are installed (as root) or the test
//! fails saying which.

use std::net::{IpAddr, SocketAddr};
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use hickory_proto::rr::RecordType;

use crate::harness::*;
use crate::system::{BIN, Daemon, Netns, NsWorld, free_port, need, start_unbound};
use crate::world::World;

/// `altroot config recipes --system <system>` for a config file.
pub fn recipe(config: &Path, system: &str) -> String {
    let out = Command::new(BIN)
        .args(["config", "recipes", "--system", system, "--config"])
        .arg(config)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// The alt root's zones, plus `web` (a second collision, pinned to ICANN below).
fn zones(w: &World) -> Vec<(&'static str, String)> {
    let mut z = alt_zones(w);
    z.push((
        "zones/web.zone",
        "$TTL 3600\n@ SOA ns.web. h.web. 1 3600 600 86400 300\n@ NS ns.web.\nns A 127.0.0.1\nwww A 192.0.2.80\n".into(),
    ));
    z
}

/// A folder with zones, hints and a config listening on `listen`.
pub fn folder(w: &World, listen: SocketAddr) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let mut files = zones(w);
    files.push(("hints.txt", hints(w)));
    for (p, text) in files {
        let p = dir.path().join(p);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, text).unwrap();
    }
    let cfg = edit(
        &config(w, "[collisions]\npin = { web = \"icann\" }\n"),
        "listen = [\"127.0.0.1:0\"]",
        &format!("listen = [\"{listen}\"]"),
    );
    std::fs::write(dir.path().join("altroot.toml"), cfg).unwrap();
    dir
}

/// `getent hosts NAME` inside the namespace: the first address, or None (not found).
pub fn getent(ns: &Netns, name: &str) -> Option<IpAddr> {
    let out = ns.command("getent").args(["hosts", name]).output().unwrap();
    if !out.status.success() {
        return None;
    }
    let text = String::from_utf8_lossy(&out.stdout);
    text.split_whitespace().next().and_then(|a| a.parse().ok())
}

/// `getent` until it answers (the server in front may still be starting).
pub fn getent_eventually(ns: &Netns, name: &str) -> Option<IpAddr> {
    let t = Instant::now();
    loop {
        if let Some(a) = getent(ns, name) {
            return Some(a);
        }
        if t.elapsed() > Duration::from_secs(10) {
            return None;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn ip(s: &str) -> Option<IpAddr> {
    Some(s.parse().unwrap())
}

/// altroot inside the namespace, as `serve` with the folder's config.
pub fn serve_in(ns: &Netns, dir: &tempfile::TempDir) -> Daemon {
    let mut cmd = ns.command(BIN);
    cmd.args(["serve", "--config"])
        .arg(dir.path().join("altroot.toml"))
        .env_remove("RUST_LOG");
    let mut d = Daemon::spawn(cmd, "altroot in the namespace");
    d.wait_line("altroot ready");
    d
}

// /etc/netns/<ns>/resolv.conf from the recipe, altroot on port 53 in the namespace,
// a fake ICANN world there too: glibc resolves an alternate name, an ICANN-side name
// and the two collisions as the policy and the pin say.
#[test]
fn resolv_conf_in_a_namespace_with_getent() {
    need("getent", "libc-bin");
    let ns = Netns::new();
    let world = NsWorld::start(&ns, standard_world);
    let dir = folder(&world.shape(), "127.0.0.1:53".parse().unwrap());
    let conf = recipe(&dir.path().join("altroot.toml"), "netns");
    assert_eq!(conf, "nameserver 127.0.0.1\n", "port 53: no note");
    std::fs::write(ns.etc().join("resolv.conf"), &conf).unwrap();
    let mut altroot = serve_in(&ns, &dir);

    assert_eq!(
        getent(&ns, "alice.users.geek"),
        ip("192.0.2.3"),
        "alternate TLD"
    );
    assert_eq!(
        getent(&ns, "www.example.org"),
        ip("203.0.113.40"),
        "ICANN side"
    );
    assert_eq!(
        getent(&ns, "www.biz"),
        ip("192.0.2.10"),
        "collision: policy first, alt"
    );
    assert_eq!(
        getent(&ns, "www.web"),
        ip("203.0.113.61"),
        "collision: pinned to icann"
    );
    assert_eq!(getent(&ns, "nope.geek"), None, "NXDOMAIN");
    // None is also what a SERVFAIL or a timeout gives: altroot said NXDOMAIN.
    let l = altroot.wait_line("name=nope.geek. ");
    assert!(l.contains("rcode=NXDOMAIN"), "{l}");
    // The query log writes its lines in batches (every 10 ms): wait for them.
    for name in [
        "alice.users.geek.",
        "www.example.org.",
        "www.biz.",
        "www.web.",
    ] {
        altroot.wait_line(&format!("name={name}"));
    }
}

/// The fake recursive server: the rest of the world for the resolvers in front.
fn recursive(w: &World) -> SocketAddr {
    SocketAddr::new(World::ip(w.block, host::RECURSIVE), w.port)
}

/// The standard world and altroot on this module's zones; its config file is then
/// rewritten to the bound address, since recipes are printed from the config.
async fn altroot_for_recipes() -> (World, Altroot, std::path::PathBuf) {
    let w = World::start(standard_world).await;
    let mut files = zones(&w);
    files.push(("hints.txt", hints(&w)));
    let cfg = config(&w, "[collisions]\npin = { web = \"icann\" }\n");
    let a = Altroot::start(&cfg, &files).await;
    let path = a.path("altroot.toml");
    let bound = edit(
        &cfg,
        "listen = [\"127.0.0.1:0\"]",
        &format!("listen = [\"{}\"]", a.addr),
    );
    std::fs::write(&path, bound).unwrap();
    (w, a, path)
}

/// Asks `server` and returns the addresses of the answer.
async fn ask(server: SocketAddr, name: &str) -> Vec<IpAddr> {
    addrs(&query(server, name, RecordType::A).await)
}

// Unbound from Debian in front: the recipe's forward-zones send the alternate TLDs
// to altroot, everything else goes where Unbound sent it before (here the fake
// recursive server), and altroot never sees those.
#[tokio::test]
async fn unbound_in_front_forwards_the_alternate_tlds() {
    let unbound = need("unbound", "unbound");
    let (w, a, cfg) = altroot_for_recipes().await;
    let dir = tempfile::tempdir().unwrap();
    let body = recipe(&cfg, "unbound");
    assert!(
        body.contains(&format!("forward-addr: {}@{}", a.addr.ip(), a.addr.port())),
        "{body}"
    );
    std::fs::write(dir.path().join("altroot.conf"), &body).unwrap();
    let port = free_port();
    let conf = dir.path().join("unbound.conf");
    std::fs::write(
        &conf,
        format!(
            "server:\n    interface: 127.0.0.1\n    port: {port}\n    do-ip6: no\n    username: \"\"\n    chroot: \"\"\n    directory: \"{d}\"\n    pidfile: \"\"\n    use-syslog: no\n    logfile: \"\"\n    verbosity: 1\n    access-control: 127.0.0.0/8 allow\n    # the test world has no trust anchor\n    module-config: \"iterator\"\ninclude: \"{d}/altroot.conf\"\nforward-zone:\n    name: \".\"\n    forward-addr: {r}@{rp}\n",
            d = dir.path().display(),
            r = recursive(&w).ip(),
            rp = w.port
        ),
    )
    .unwrap();
    let _d = start_unbound(&unbound, &conf);
    let front: SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
    assert_front_end(&w, &a, front).await;
}

/// What every resolver in front must do: alternate names and collisions through
/// altroot, other names elsewhere.
async fn assert_front_end(w: &World, a: &Altroot, front: SocketAddr) {
    let before = a.router().stats().snapshot();
    let seen =
        |s: &altroot::stats::Snapshot| (0..s.routes()).map(|r| s.route_total(r)).sum::<u64>();
    assert_eq!(
        ask(front, "www.geek.").await,
        vec![ip("192.0.2.1").unwrap()]
    );
    assert_eq!(
        ask(front, "alice.users.geek.").await,
        vec![ip("192.0.2.3").unwrap()]
    );
    assert_eq!(
        ask(front, "www.biz.").await,
        vec![ip("192.0.2.10").unwrap()],
        "policy first"
    );
    assert_eq!(
        ask(front, "www.web.").await,
        vec![ip("203.0.113.61").unwrap()],
        "pin"
    );
    let through_altroot = seen(&a.router().stats().snapshot()) - seen(&before);
    assert_eq!(
        through_altroot, 4,
        "each alternate name once through altroot"
    );
    assert_eq!(
        ask(front, "www.example.net.").await,
        vec![ip("203.0.113.80").unwrap()]
    );
    assert_eq!(
        seen(&a.router().stats().snapshot()) - seen(&before),
        4,
        "www.example.net went elsewhere"
    );
    let r = asked(w, "recursive");
    assert!(r.iter().any(|q| q.starts_with("www.example.net.")), "{r:?}");
    assert!(
        !r.iter()
            .any(|q| q.contains("geek") || q.contains("biz.") || q.contains("web.")),
        "alternate names leaked: {r:?}"
    );
}

// dnsmasq from Debian in front (and NetworkManager's dnsmasq plugin, which reads the
// same lines): server=/tld/ sends the alternate TLDs to altroot.
#[tokio::test]
async fn dnsmasq_in_front_forwards_the_alternate_tlds() {
    let dnsmasq = need("dnsmasq", "dnsmasq-base");
    let (w, a, cfg) = altroot_for_recipes().await;
    let dir = tempfile::tempdir().unwrap();
    let body = recipe(&cfg, "dnsmasq");
    let nm = recipe(&cfg, "networkmanager");
    let lines = |t: &str| {
        t.lines()
            .filter(|l| l.starts_with("server="))
            .map(String::from)
            .collect::<Vec<_>>()
    };
    assert_eq!(
        lines(&body),
        lines(&nm),
        "NetworkManager's file carries the same lines"
    );
    std::fs::write(dir.path().join("altroot.conf"), &body).unwrap();
    let port = free_port();
    let conf = dir.path().join("dnsmasq.conf");
    std::fs::write(
        &conf,
        format!(
            "port={port}\nlisten-address=127.0.0.1\nbind-interfaces\nno-resolv\nno-hosts\nno-poll\ncache-size=0\nserver={r}#{rp}\nconf-file={d}/altroot.conf\n",
            r = recursive(&w).ip(),
            rp = w.port,
            d = dir.path().display()
        ),
    )
    .unwrap();
    let mut cmd = Command::new(dnsmasq);
    cmd.args([
        "--no-daemon",
        "--log-queries",
        "--pid-file",
        "--user=root",
        "-C",
    ])
    .arg(&conf);
    let mut d = Daemon::spawn(cmd, "dnsmasq");
    d.wait_line("started, version");
    let front: SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
    assert_front_end(&w, &a, front).await;
}

// Issue 9 §2: `config recipes` fills in this config's alternate TLDs and address.
#[test]
fn recipes_list_the_configs_alternate_tlds() {
    let cfg = manifest_dir().join("config/altroot.toml");
    let cfg = cfg.to_str().unwrap();
    let (ok, all, err) = crate::observe::binary(&["config", "recipes", "--config", cfg]);
    assert!(ok, "{err}");
    assert!(
        all.starts_with("# altroot at 127.0.0.1:5353; alternate TLDs: biz geek libre pirate web\n"),
        "{all}"
    );
    let (ok, dnsmasq, _) =
        crate::observe::binary(&["config", "recipes", "--config", cfg, "--system", "dnsmasq"]);
    assert!(ok);
    assert!(
        dnsmasq.contains("server=/geek/127.0.0.1#5353\nserver=/libre/127.0.0.1#5353\n"),
        "{dnsmasq}"
    );
    assert!(!dnsmasq.contains("==="), "one system: the body alone");
    let (ok, _, err) =
        crate::observe::binary(&["config", "recipes", "--config", cfg, "--system", "nope"]);
    assert!(!ok && err.contains("possible values"), "{err}");
}
