//! systemd-resolved in front of altroot (issue 9 §2), both recipes: only the
//! alternate TLDs (`Domains=~geek …`), and every name (`Domains=~.`).
//!
//! No systemd runs here, so resolved runs on its own, the way its unit would run
//! it: Debian's `systemd-resolved` binary (unpacked from its package, never
//! installed — installing it would take over the machine's /etc/resolv.conf), as
//! an unprivileged user with CAP_NET_BIND_SERVICE, inside a network namespace
//! with a private /run and the recipe as its `resolved.conf.d` drop-in. glibc's
//! `getent` asks its stub listener (127.0.0.53) through the namespace's resolv.conf.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::recipes::recipe;
use crate::system::{Daemon, Netns, NsWorld, apt_install, is_root, need};

/// The systemd-resolved binary matching the installed systemd (whose private
/// library it links), unpacked once into /var/cache/altroot-tests.
fn resolved_binary() -> PathBuf {
    assert!(
        is_root(),
        "running systemd-resolved needs root (CI runs as root)"
    );
    need("dpkg-deb", "dpkg");
    let version = || {
        Command::new("dpkg-query")
            .args(["-W", "-f=${Version}", "systemd"])
            .output()
            .ok()
            .filter(|o| o.status.success())
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
            .filter(|v| !v.is_empty())
    };
    if version().is_none() {
        apt_install(&["systemd"]);
    }
    let v = version().expect("systemd is installed");
    let dir = PathBuf::from(format!("/var/cache/altroot-tests/systemd-resolved-{v}"));
    let bin = dir.join("lib/systemd/systemd-resolved");
    if bin.is_file() {
        return bin;
    }
    let lock = std::fs::File::create("/tmp/altroot-tests-apt.lock").unwrap();
    lock.lock().unwrap();
    if bin.is_file() {
        return bin;
    }
    let debs = PathBuf::from(format!("{}.debs", dir.display()));
    std::fs::create_dir_all(&debs).unwrap();
    let download = |what: &str| {
        Command::new("apt-get")
            .args(["download", "-q", what])
            .current_dir(&debs)
            .output()
            .is_ok_and(|o| o.status.success())
    };
    // The same version as systemd (its private library must match); failing
    // that, the candidate.
    if !download(&format!("systemd-resolved={v}")) && !download("systemd-resolved") {
        let _ = Command::new("apt-get").args(["update", "-q"]).output();
        assert!(
            download("systemd-resolved"),
            "apt-get download systemd-resolved failed"
        );
    }
    let deb = std::fs::read_dir(&debs)
        .unwrap()
        .filter_map(Result::ok)
        .map(|e| e.path())
        .find(|p| p.extension().is_some_and(|e| e == "deb"))
        .expect("a downloaded .deb");
    let st = Command::new("dpkg-deb")
        .arg("-x")
        .arg(&deb)
        .arg(&dir)
        .status()
        .unwrap();
    assert!(
        st.success() && bin.is_file(),
        "cannot unpack {}",
        deb.display()
    );
    bin
}

/// systemd-resolved inside the namespace with `dropin` as its only configuration.
fn start_resolved(ns: &Netns, bin: &Path, etc: &Path, dropin: &str) -> Daemon {
    let d = etc.join("resolved.conf.d");
    std::fs::create_dir_all(&d).unwrap();
    std::fs::write(d.join("altroot.conf"), dropin).unwrap();
    // Not part of the recipe: keep link-local protocols quiet in the test.
    std::fs::write(
        d.join("zz-test.conf"),
        "[Resolve]\nLLMNR=no\nMulticastDNS=no\n",
    )
    .unwrap();
    let script = "set -e
mount -t tmpfs tmpfs /run
mkdir -p /run/systemd/resolve
chown nobody /run/systemd/resolve
mount --bind \"$ETC\" /etc/systemd
exec setpriv --reuid=nobody --regid=nogroup --clear-groups \
  --inh-caps=+net_bind_service,+net_raw,+setpcap --ambient-caps=+net_bind_service,+net_raw,+setpcap \"$BIN\"";
    let mut cmd = ns.command("sh");
    cmd.args(["-c", script]).env("ETC", etc).env("BIN", bin);
    Daemon::spawn(cmd, "systemd-resolved")
}

/// Both recipes route the alternate TLDs, the collisions and ICANN names through
/// altroot here (this namespace has no network DNS servers, so resolved's global
/// server — altroot — also gets the names no routing domain matches, as its
/// documentation says).
fn resolves_through_altroot(ns: &Netns, r: &Daemon, altroot: &mut Daemon) {
    let ip = |s: &str| Some(s.parse().unwrap());
    let got = crate::recipes::getent_eventually(ns, "alice.users.geek");
    assert_eq!(got, ip("192.0.2.3"), "systemd-resolved:\n{}", r.output());
    assert_eq!(
        crate::recipes::getent(ns, "www.biz"),
        ip("192.0.2.10"),
        "policy first"
    );
    assert_eq!(
        crate::recipes::getent(ns, "www.web"),
        ip("203.0.113.61"),
        "pinned to icann"
    );
    assert_eq!(
        crate::recipes::getent(ns, "www.example.org"),
        ip("203.0.113.40")
    );
    assert_eq!(crate::recipes::getent(ns, "nope.geek"), None);
    // None is also what a SERVFAIL or a timeout gives: altroot said NXDOMAIN.
    let l = altroot.wait_line("name=nope.geek. ");
    assert!(l.contains("rcode=NXDOMAIN"), "{l}");
    // The query log writes its lines in batches (every 10 ms): wait for them.
    for name in [
        "alice.users.geek.",
        "www.biz.",
        "www.web.",
        "www.example.org.",
    ] {
        altroot.wait_line(&format!("name={name}"));
    }
}

#[test]
fn systemd_resolved_split_and_global() {
    need("getent", "libc-bin");
    need("setpriv", "util-linux");
    let bin = resolved_binary();
    let ns = Netns::new();
    ns.add_link();
    let world = NsWorld::start(&ns, crate::harness::standard_world);
    let dir = crate::recipes::folder(&world.shape(), "127.0.0.1:5353".parse().unwrap());
    let cfg = dir.path().join("altroot.toml");
    std::fs::write(ns.etc().join("resolv.conf"), "nameserver 127.0.0.53\n").unwrap();
    let etc = tempfile::tempdir().unwrap();

    let split = recipe(&cfg, "systemd-resolved-split");
    assert!(
        split.contains("DNS=127.0.0.1:5353\nDomains=~biz ~geek ~pirate ~web\n"),
        "{split}"
    );
    let mut altroot = crate::recipes::serve_in(&ns, &dir);
    let r = start_resolved(&ns, &bin, etc.path(), &split);
    resolves_through_altroot(&ns, &r, &mut altroot);
    drop(r);
    drop(altroot);

    let global = recipe(&cfg, "systemd-resolved");
    assert!(
        global.contains("DNS=127.0.0.1:5353\nDomains=~.\n"),
        "{global}"
    );
    let mut altroot = crate::recipes::serve_in(&ns, &dir);
    let r = start_resolved(&ns, &bin, etc.path(), &global);
    resolves_through_altroot(&ns, &r, &mut altroot);
}
