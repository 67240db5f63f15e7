//! The Debian package (issue 18 §1). `config/deb/` holds the files that differ in
//! the package — the config with its zones in `/etc/altroot/zones/`, the unit with
//! the binary in `/usr/bin` — derived from `config/` (`BLESS=1` rewrites them when
//! their sources change). As root (CI), the package is built with cargo-deb from the
//! binary under test, checked by lintian, installed, checked, edited, removed and
//! purged on this machine; a guard purges it whatever happens, and a lock keeps two
//! test runs apart.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use crate::harness::manifest_dir;
use crate::system::{BIN, find, is_root, need};

//------------ config/deb/ follows config/ --------------------------------------

const CONFIG_HEADER: &str = "\
# /etc/altroot/altroot.toml, from the Debian package altroot (altroot.toml(5)).
# A conffile: your edits are kept on upgrade and on `dpkg -r altroot`;
# `dpkg --purge altroot` removes it. The zones are in /etc/altroot/zones/.
# After an edit: altroot check --config /etc/altroot/altroot.toml
#                systemctl reload altroot
# To be this machine's resolver, listen on port 53 (listen = [\"127.0.0.1:53\",
# \"[::1]:53\"]), then: systemctl enable --now altroot (the package starts nothing).
#
";

/// The package's config: the shipped one with a header saying where it is, and its
/// zones beside it (`/etc/altroot/zones/`) instead of in `../zones`.
fn deb_config() -> String {
    let text = std::fs::read_to_string(manifest_dir().join("config/altroot.toml")).unwrap();
    let line = "zones = \"../zones\"\n";
    assert_eq!(
        text.matches(line).count(),
        1,
        "config/altroot.toml: expected one {line:?} (the alt root's zones)"
    );
    format!(
        "{CONFIG_HEADER}{}",
        text.replace(line, "zones = \"zones\"\n")
    )
}

const UNIT_INSTALL: &str = "\
# Installed by the Debian package altroot, which neither enables nor starts it:
#   edit /etc/altroot/altroot.toml (listen on :53 to be the machine's resolver)
#   altroot check --config /etc/altroot/altroot.toml
#   systemctl enable --now altroot
#
";

/// The package's unit: the shipped one with the binary in `/usr/bin` and the
/// package's words instead of the manual install steps (its comment block that
/// starts `# Install (`, up to the next `#` line).
fn deb_unit() -> String {
    let text = std::fs::read_to_string(manifest_dir().join("config/altroot.service")).unwrap();
    let start = text
        .find("# Install (")
        .expect("config/altroot.service: no `# Install (` comment block");
    let end = start
        + text[start..]
            .find("\n#\n")
            .expect("config/altroot.service: the install block ends with a `#` line")
        + 3;
    let unit = format!("{}{UNIT_INSTALL}{}", &text[..start], &text[end..]);
    assert_eq!(
        unit.matches("/usr/local/bin/altroot").count(),
        1,
        "config/altroot.service: expected one /usr/local/bin/altroot (ExecStart)"
    );
    unit.replace("/usr/local/bin/altroot", "/usr/bin/altroot")
}

// config/deb/altroot.toml and config/deb/altroot.service are what their sources
// make now, and the package's config passes `altroot check` where it is installed:
// in a folder with the shipped zones beside it.
#[test]
fn deb_files_follow_their_sources() {
    let deb = manifest_dir().join("config/deb");
    for (file, want) in [
        ("altroot.toml", deb_config()),
        ("altroot.service", deb_unit()),
    ] {
        let path = deb.join(file);
        if std::env::var_os("BLESS").is_some() {
            std::fs::create_dir_all(&deb).unwrap();
            std::fs::write(&path, &want).unwrap();
        }
        let got = std::fs::read_to_string(&path).unwrap_or_default();
        assert_eq!(
            got,
            want,
            "{} differs from what config/ makes (BLESS=1 to rewrite)",
            path.display()
        );
    }
    let unit = deb_unit();
    for line in [
        "ExecStart=/usr/bin/altroot serve --config /etc/altroot/altroot.toml",
        "ExecReload=/bin/kill -HUP $MAINPID",
        "DynamicUser=yes",
        "ReadOnlyPaths=/etc/altroot",
    ] {
        assert!(unit.lines().any(|l| l == line), "{line} missing:\n{unit}");
    }

    // The Debian changelog's newest entry is this version (revision 1).
    let changelog = std::fs::read_to_string(deb.join("changelog")).unwrap();
    let want = format!("altroot ({}-1) ", env!("CARGO_PKG_VERSION"));
    assert!(
        changelog.starts_with(&want),
        "config/deb/changelog must start with {want:?} (add an entry for the new version)"
    );

    let etc = tempfile::tempdir().unwrap();
    let config = etc.path().join("altroot/altroot.toml");
    std::fs::create_dir_all(etc.path().join("altroot/zones")).unwrap();
    std::fs::copy(deb.join("altroot.toml"), &config).unwrap();
    for zone in shipped_zones() {
        std::fs::copy(
            &zone,
            etc.path()
                .join("altroot/zones")
                .join(zone.file_name().unwrap()),
        )
        .unwrap();
    }
    let out = Command::new(BIN)
        .args(["check", "--config"])
        .arg(&config)
        .env_remove("RUST_LOG")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "altroot check on the package's config:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    // ...and without the zones beside it, it fails: the check looked at them.
    std::fs::remove_dir_all(etc.path().join("altroot/zones")).unwrap();
    let out = Command::new(BIN)
        .args(["check", "--config"])
        .arg(&config)
        .env_remove("RUST_LOG")
        .output()
        .unwrap();
    assert!(!out.status.success(), "check passed without the zones");
}

/// The zone files the package ships (`zones/*.zone`).
fn shipped_zones() -> Vec<PathBuf> {
    let mut zones: Vec<PathBuf> = std::fs::read_dir(manifest_dir().join("zones"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "zone"))
        .collect();
    zones.sort();
    assert!(zones.len() >= 2, "{zones:?}");
    zones
}

//------------ The package on this machine ---------------------------------------

/// Where the test notes that it installed the package: a run killed before its
/// guard purged it leaves this behind, which tells the next run the package is
/// the test's to purge (and not an operator's install to leave alone).
const MARKER: &str = "/var/lib/altroot-test-package";

fn run(c: &mut Command) -> Output {
    let out = c.output().unwrap_or_else(|e| panic!("{c:?}: {e}"));
    assert!(
        out.status.success(),
        "{c:?} failed ({}):\n{}{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// `dpkg-query`'s status of the package: "install ok installed",
/// "deinstall ok config-files", or None when dpkg does not know it.
fn status() -> Option<String> {
    let out = Command::new("dpkg-query")
        .args(["-W", "-f=${Status}", "altroot"])
        .output()
        .unwrap();
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).into_owned())
        .filter(|s| !s.contains("not-installed"))
}

/// dpkg and apt-get must not run at once: the lock `system::apt_install` takes.
fn dpkg(args: &[&str]) -> Output {
    let lock = std::fs::File::create("/tmp/altroot-tests-apt.lock").expect("apt lock file");
    lock.lock().expect("apt lock");
    run(Command::new("dpkg").args(args))
}

/// Purges the package when dropped, whether the test passed or not.
struct Installed;

impl Drop for Installed {
    fn drop(&mut self) {
        let lock = std::fs::File::create("/tmp/altroot-tests-apt.lock");
        if let Ok(l) = &lock {
            let _ = l.lock();
        }
        let _ = Command::new("dpkg").args(["--purge", "altroot"]).output();
        // What the test itself put there (empty folders only: nothing else goes).
        let _ = std::fs::remove_file("/etc/altroot/zones/.altroot-serials");
        let _ = std::fs::remove_dir("/etc/altroot/zones");
        let _ = std::fs::remove_dir("/etc/altroot");
        let _ = std::fs::remove_file(MARKER);
    }
}

/// `cargo deb`, installed with `cargo install` when missing (cargo-deb is a cargo
/// subcommand, not a Debian package).
fn cargo_deb(cargo: &Path) {
    let have = |c: &Path| {
        Command::new(c)
            .args(["deb", "--version"])
            .output()
            .is_ok_and(|o| o.status.success())
    };
    if have(cargo) {
        return;
    }
    let lock = std::fs::File::create("/tmp/altroot-tests-cargo-deb.lock").expect("lock file");
    lock.lock().expect("cargo-deb lock");
    if !have(cargo) {
        run(Command::new(cargo).args(["install", "cargo-deb", "--locked"]));
    }
}

/// Builds the .deb into `out` from the binary under test (no compiling: `cargo deb
/// --no-build` with the profile that built it) and returns its path.
fn build_deb(out: &Path) -> PathBuf {
    let cargo = PathBuf::from(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()));
    cargo_deb(&cargo);
    // dpkg-shlibdeps works out the package's Depends ($auto).
    need("dpkg-shlibdeps", "dpkg-dev");
    // The target folder's profile folder: "debug" is the dev profile.
    let profile = Path::new(BIN)
        .parent()
        .and_then(|p| p.file_name())
        .map(|p| p.to_string_lossy().into_owned())
        .unwrap_or_else(|| "debug".into());
    let profile = if profile == "debug" {
        "dev".to_string()
    } else {
        profile
    };
    // cargo-deb finds the binary in CARGO_TARGET_DIR (or target/), as cargo does:
    // the folder two above the binary under test.
    let target = Path::new(BIN).parent().and_then(Path::parent).unwrap();
    let deb = out.join("altroot.deb");
    run(Command::new(&cargo)
        .current_dir(manifest_dir())
        .args([
            "deb",
            "--no-build",
            "--fast",
            "--profile",
            &profile,
            "--output",
        ])
        .arg(&deb)
        .env("CARGO_TARGET_DIR", target));
    deb
}

// Build, lintian, `dpkg -i`, the installed config checks, man and the completions
// in place, nothing enabled; an edit to the config survives `dpkg -r`, which removes
// the binary; `dpkg --purge` removes the config.
#[test]
fn deb_installs_checks_removes_and_purges() {
    assert!(
        is_root(),
        "installing the Debian package needs root (CI runs as root): run cargo test as root"
    );
    // One run at a time on this machine.
    let lock = std::fs::File::create("/tmp/altroot-tests-package.lock").expect("lock file");
    lock.lock().expect("package lock");
    if let Some(s) = status() {
        assert!(
            Path::new(MARKER).exists(),
            "the altroot package is on this machine ({s}), not installed by this test: \
             the test would replace it (dpkg --purge altroot first)"
        );
        // Left by a run that was killed before its guard purged it.
        drop(Installed);
    }
    need("man", "man-db");
    let lintian = need("lintian", "lintian");

    let dir = tempfile::tempdir().unwrap();
    let deb = build_deb(dir.path());

    // lintian: no errors (warnings are printed for the record).
    let out = Command::new(&lintian)
        .args(["--no-tag-display-limit"])
        .arg(&deb)
        .output()
        .unwrap();
    let tags = String::from_utf8_lossy(&out.stdout);
    eprintln!("lintian:\n{tags}");
    let errors: Vec<&str> = tags.lines().filter(|l| l.starts_with("E:")).collect();
    assert!(errors.is_empty(), "lintian errors:\n{}", errors.join("\n"));

    std::fs::write(MARKER, std::process::id().to_string()).unwrap();
    let _guard = Installed;
    dpkg(&["-i", deb.to_str().unwrap()]);
    assert_eq!(status().as_deref(), Some("install ok installed"));

    // The installed config passes check, with the installed zones.
    let out = run(Command::new("/usr/bin/altroot").args([
        "check",
        "--config",
        "/etc/altroot/altroot.toml",
    ]));
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(said.contains("/etc/altroot/zones"), "{said}");
    for zone in shipped_zones() {
        let name = zone.file_name().unwrap();
        assert_eq!(
            std::fs::read(Path::new("/etc/altroot/zones").join(name)).unwrap(),
            std::fs::read(&zone).unwrap()
        );
    }

    // The man pages, found by man.
    for (args, want) in [
        (&["-w", "altroot"][..], "/usr/share/man/man8/altroot.8.gz"),
        (
            &["-w", "altroot-serve"],
            "/usr/share/man/man8/altroot-serve.8.gz",
        ),
        (
            &["-w", "5", "altroot.toml"],
            "/usr/share/man/man5/altroot.toml.5.gz",
        ),
    ] {
        let out = run(Command::new("man").args(args));
        assert_eq!(
            String::from_utf8_lossy(&out.stdout).trim(),
            want,
            "man {args:?}"
        );
    }
    // The completions where each shell looks, as shipped.
    for (path, shipped) in [
        (
            "/usr/share/bash-completion/completions/altroot",
            "altroot.bash",
        ),
        ("/usr/share/zsh/vendor-completions/_altroot", "_altroot"),
        (
            "/usr/share/fish/vendor_completions.d/altroot.fish",
            "altroot.fish",
        ),
    ] {
        assert_eq!(
            std::fs::read(path).unwrap_or_default(),
            std::fs::read(manifest_dir().join("docs/completions").join(shipped)).unwrap(),
            "{path}"
        );
    }
    // The README and the documents it links to, beside each other as in the
    // repository, so its links into docs/ resolve in /usr/share/doc/altroot/.
    let doc = Path::new("/usr/share/doc/altroot");
    assert_eq!(
        std::fs::read(doc.join("README.md")).unwrap_or_default(),
        std::fs::read(manifest_dir().join("README.md")).unwrap(),
        "README.md"
    );
    let mut shipped = 0;
    for e in std::fs::read_dir(manifest_dir().join("docs")).unwrap() {
        let p = e.unwrap().path();
        if p.extension().is_some_and(|x| x == "md" || x == "png") {
            let name = p.file_name().unwrap();
            assert_eq!(
                std::fs::read(doc.join("docs").join(name)).unwrap_or_default(),
                std::fs::read(&p).unwrap(),
                "docs/{}",
                name.to_string_lossy()
            );
            shipped += 1;
        }
    }
    assert!(shipped >= 10, "{shipped} documents");
    // The unit is there, and nothing enabled it.
    let unit = std::fs::read_to_string("/usr/lib/systemd/system/altroot.service").unwrap();
    assert_eq!(unit, deb_unit());
    assert!(
        !Path::new("/etc/systemd/system/multi-user.target.wants/altroot.service").exists(),
        "the package enabled the unit"
    );
    // systemd-analyze verify, with its binary and the man pages of Documentation=.
    let analyze = need("systemd-analyze", "systemd");
    let out = Command::new(analyze)
        .args(["verify", "/usr/lib/systemd/system/altroot.service"])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success() && !err.contains("altroot"),
        "systemd-analyze verify:\n{err}"
    );
    let conffiles = run(Command::new("dpkg-query").args(["-W", "-f=${Conffiles}", "altroot"]));
    let conffiles = String::from_utf8_lossy(&conffiles.stdout);
    assert!(
        conffiles.contains("/etc/altroot/altroot.toml "),
        "{conffiles}"
    );
    assert!(
        conffiles.contains("/etc/altroot/zones/root.zone "),
        "{conffiles}"
    );

    // An edit is kept by `dpkg -r`, which removes the binary.
    let config = Path::new("/etc/altroot/altroot.toml");
    let edited = std::fs::read_to_string(config)
        .unwrap()
        .replace("query-timeout = \"5s\"", "query-timeout = \"4s\"");
    std::fs::write(config, &edited).unwrap();
    run(Command::new("/usr/bin/altroot").args(["check", "--config", "/etc/altroot/altroot.toml"]));
    dpkg(&["-r", "altroot"]);
    assert_eq!(status().as_deref(), Some("deinstall ok config-files"));
    assert!(
        !Path::new("/usr/bin/altroot").exists(),
        "dpkg -r left the binary"
    );
    assert!(find("altroot").is_none_or(|p| p != Path::new("/usr/bin/altroot")));
    assert!(!Path::new("/usr/share/man/man8/altroot.8.gz").exists());
    assert_eq!(std::fs::read_to_string(config).unwrap(), edited);

    // `dpkg --purge` removes the config and the zones, and the serials file
    // `altroot serve` writes beside zones it loads (as root, outside the unit).
    std::fs::write("/etc/altroot/zones/.altroot-serials", "geek. 1\n").unwrap();
    dpkg(&["--purge", "altroot"]);
    assert_eq!(status(), None);
    assert!(!config.exists(), "dpkg --purge left the config");
    assert!(
        !Path::new("/etc/altroot").exists(),
        "dpkg --purge left /etc/altroot"
    );
}
