//! What the operations tests need from the machine: Debian packages installed on
//! demand (never skipped: as root, CI's case, the test installs what is missing;
//! otherwise it fails saying what to install), network namespaces with a fake
//! world inside, daemons started and stopped, and a small HTTP client.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::world::{Spec, World};

pub const BIN: &str = env!("CARGO_BIN_EXE_altroot");

pub fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions and cannot fail.
    unsafe { libc::geteuid() == 0 }
}

/// Where `program` is, looking in PATH and the sbin folders (root's tools).
pub fn find(program: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain(["/usr/sbin", "/sbin", "/usr/bin", "/bin"].map(PathBuf::from))
        .map(|d| d.join(program))
        .find(|p| p.is_file())
}

/// `program` from the Debian `package`: found, or installed with apt-get (one
/// install at a time across parallel tests and test runs: a lock file), or the
/// test fails naming the package.
pub fn need(program: &str, package: &str) -> PathBuf {
    if let Some(p) = find(program) {
        return p;
    }
    assert!(
        is_root(),
        "{program} is missing and only root may install it: apt-get install {package} \
         (as root, which is how CI runs, the test installs it itself)"
    );
    apt_install(&[package]);
    find(program)
        .unwrap_or_else(|| panic!("apt-get installed {package}, but {program} is not there"))
}

/// `program` from the npm `package` (`name@version`), installed on demand into a
/// cache folder shared by test runs (`$TMPDIR/altroot-tests-npm`), one install at
/// a time (the apt lock). npm (and node) come from Debian like any other tool.
/// `NODE_BACKEND=js`: npm no longer runs install scripts, so the packages' native
/// parts are not built and their JavaScript fallbacks are used (hsd's case).
pub fn need_npm(program: &str, package: &str) -> PathBuf {
    let prefix = std::env::temp_dir().join("altroot-tests-npm");
    let bin = prefix.join("node_modules/.bin").join(program);
    if bin.is_file() {
        return bin;
    }
    let npm = need("npm", "npm");
    let lock = std::fs::File::create("/tmp/altroot-tests-apt.lock").expect("install lock file");
    lock.lock().expect("install lock");
    if bin.is_file() {
        return bin;
    }
    std::fs::create_dir_all(&prefix).expect("npm cache folder");
    let out = Command::new(npm)
        .arg("install")
        .arg("--prefix")
        .arg(&prefix)
        .args(["--no-audit", "--no-fund", package])
        .env("NODE_BACKEND", "js")
        .output()
        .expect("npm");
    assert!(
        out.status.success() && bin.is_file(),
        "npm install {package} did not give {}:\n{}{}",
        bin.display(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    bin
}

/// Installs Debian packages (idempotent), serialised by a lock file.
pub fn apt_install(packages: &[&str]) {
    let lock = std::fs::File::create("/tmp/altroot-tests-apt.lock").expect("apt lock file");
    lock.lock().expect("apt lock");
    let install = || {
        Command::new("apt-get")
            .args(["install", "-y", "-q", "--no-install-recommends"])
            .args(packages)
            .env("DEBIAN_FRONTEND", "noninteractive")
            .output()
            .expect("apt-get")
    };
    let mut out = install();
    if !out.status.success() {
        // A fresh machine may have no package lists yet.
        let _ = Command::new("apt-get").args(["update", "-q"]).output();
        out = install();
    }
    assert!(
        out.status.success(),
        "apt-get install {packages:?} failed:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

//------------ Network namespaces --------------------------------------------------

static NS_SEQ: AtomicUsize = AtomicUsize::new(0);

/// A network namespace of this test run (`altroot-t-<pid>-<n>`), with its own
/// `/etc/netns/<name>/` files; deleted when dropped.
pub struct Netns {
    pub name: String,
}

impl Netns {
    pub fn new() -> Netns {
        assert!(
            is_root(),
            "network namespaces need root (CI runs as root): run cargo test as root"
        );
        need("ip", "iproute2");
        Netns::remove_stale();
        let name = format!(
            "altroot-t-{}-{}",
            std::process::id(),
            NS_SEQ.fetch_add(1, Ordering::Relaxed)
        );
        run(Command::new("ip").args(["netns", "add", &name]));
        let ns = Netns { name };
        run(Command::new("ip").args(["-n", &ns.name, "link", "set", "lo", "up"]));
        std::fs::create_dir_all(ns.etc()).unwrap();
        ns
    }

    /// Namespaces left by an earlier run that was killed.
    fn remove_stale() {
        let Ok(out) = Command::new("ip").args(["netns", "list"]).output() else {
            return;
        };
        for line in String::from_utf8_lossy(&out.stdout).lines() {
            let name = line.split_whitespace().next().unwrap_or("");
            let Some(pid) = name
                .strip_prefix("altroot-t-")
                .and_then(|r| r.split('-').next())
            else {
                continue;
            };
            if !Path::new(&format!("/proc/{pid}")).exists() {
                let _ = Command::new("ip").args(["netns", "del", name]).status();
                let _ = std::fs::remove_dir_all(format!("/etc/netns/{name}"));
            }
        }
    }

    /// An interface with a private address (a veth pair, both ends inside): "the
    /// network is up" for programs that check (systemd-resolved sends nothing
    /// while only loopback exists).
    pub fn add_link(&self) {
        let ip = |args: &[&str]| run(Command::new("ip").args(["-n", &self.name]).args(args));
        ip(&[
            "link", "add", "veth0", "type", "veth", "peer", "name", "veth1",
        ]);
        ip(&["addr", "add", "10.53.53.1/24", "dev", "veth0"]);
        ip(&["link", "set", "veth1", "up"]);
        ip(&["link", "set", "veth0", "up"]);
    }

    /// `/etc/netns/<name>`: `ip netns exec` mounts its files over `/etc`'s.
    pub fn etc(&self) -> PathBuf {
        PathBuf::from(format!("/etc/netns/{}", self.name))
    }

    /// A command run inside the namespace (`ip netns exec`).
    pub fn command(&self, program: impl AsRef<std::ffi::OsStr>) -> Command {
        let mut c = Command::new("ip");
        c.args(["netns", "exec", &self.name]).arg(program);
        c
    }
}

impl Drop for Netns {
    fn drop(&mut self) {
        let _ = Command::new("ip")
            .args(["netns", "del", &self.name])
            .status();
        let _ = std::fs::remove_dir_all(self.etc());
    }
}

fn run(c: &mut Command) {
    let out = c.output().expect("spawn");
    assert!(
        out.status.success(),
        "{c:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A fake world running inside a namespace: a thread of its own entered into the
/// namespace (`setns`), with its own runtime. Stops when dropped.
pub struct NsWorld {
    pub block: [u8; 3],
    pub port: u16,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl NsWorld {
    /// Starts `build`'s servers inside `ns`.
    pub fn start(ns: &Netns, build: fn([u8; 3]) -> Vec<Spec>) -> NsWorld {
        NsWorld::start_on(ns, build, None)
    }

    /// As [`NsWorld::start`], every server on `port` when given.
    pub fn start_on(ns: &Netns, build: fn([u8; 3]) -> Vec<Spec>, port: Option<u16>) -> NsWorld {
        let path = format!("/run/netns/{}", ns.name);
        let (tx, rx) = std::sync::mpsc::channel();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let thread = std::thread::spawn(move || {
            use std::os::fd::AsRawFd;
            let f = std::fs::File::open(&path).expect("namespace file");
            // SAFETY: a valid namespace descriptor; this thread alone moves.
            let r = unsafe { libc::setns(f.as_raw_fd(), libc::CLONE_NEWNET) };
            assert_eq!(r, 0, "setns: {}", std::io::Error::last_os_error());
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(async move {
                let w = World::start_on(build, port).await;
                tx.send((w.block, w.port)).unwrap();
                let _ = stopped.await;
                drop(w);
            });
        });
        let (block, port) = rx
            .recv_timeout(Duration::from_secs(20))
            .expect("the world in the namespace did not start");
        NsWorld {
            block,
            port,
            stop: Some(stop),
            thread: Some(thread),
        }
    }

    /// This world's block and port, for the config helpers.
    pub fn shape(&self) -> World {
        World::elsewhere(self.block, self.port)
    }
}

impl Drop for NsWorld {
    fn drop(&mut self) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

//------------ Daemons ---------------------------------------------------------------

/// Unbound (`bin`) on `conf`, once `unbound-checkconf` accepts it, in the foreground,
/// returned when it logs "start of service".
pub fn start_unbound(bin: &Path, conf: &Path) -> Daemon {
    let check = Command::new(need("unbound-checkconf", "unbound"))
        .arg(conf)
        .output()
        .unwrap();
    assert!(
        check.status.success(),
        "unbound-checkconf: {}",
        String::from_utf8_lossy(&check.stderr)
    );
    let mut cmd = Command::new(bin);
    cmd.arg("-d").arg("-c").arg(conf);
    let mut d = Daemon::spawn(cmd, "unbound");
    d.wait_line("start of service");
    d
}

/// A background program whose stderr (and stdout) lines are collected; killed when
/// dropped.
pub struct Daemon {
    pub child: Child,
    pub lines: Arc<Mutex<Vec<String>>>,
    what: String,
}

impl Daemon {
    pub fn spawn(cmd: Command, what: &str) -> Daemon {
        Daemon::spawn_gated(cmd, what, None)
    }

    /// As [`Daemon::spawn`]; with a gate `(needle, gate)`, stderr is no longer read
    /// after a line containing `needle` until the gate opens: the pipe fills up, as
    /// with a log reader that hangs.
    pub fn spawn_gated(
        mut cmd: Command,
        what: &str,
        gate: Option<(&str, std::sync::mpsc::Receiver<()>)>,
    ) -> Daemon {
        let mut child = cmd
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {what}: {e}"));
        let lines = Arc::new(Mutex::new(Vec::new()));
        let out = child
            .stdout
            .take()
            .map(|o| Box::new(o) as Box<dyn Read + Send>);
        let err = child
            .stderr
            .take()
            .map(|e| Box::new(e) as Box<dyn Read + Send>);
        let gate = gate.map(|(needle, g)| (needle.to_string(), g));
        for (r, gate) in [(out, None), (err, gate)] {
            let Some(r) = r else { continue };
            let l = lines.clone();
            std::thread::spawn(move || {
                let mut gate = gate;
                for line in BufReader::new(r).lines().map_while(Result::ok) {
                    let hold = gate
                        .as_ref()
                        .is_some_and(|(n, _)| line.contains(n.as_str()));
                    l.lock().unwrap().push(line);
                    if hold && let Some((_, g)) = gate.take() {
                        let _ = g.recv();
                    }
                }
            });
        }
        Daemon {
            child,
            lines,
            what: what.to_string(),
        }
    }

    /// Waits (bounded) for a line containing `needle`; fails if the program exits.
    pub fn wait_line(&mut self, needle: &str) -> String {
        let deadline = Instant::now() + Duration::from_secs(20);
        while Instant::now() < deadline {
            if let Some(l) = self.find(needle) {
                return l;
            }
            if let Ok(Some(st)) = self.child.try_wait() {
                // Its last lines may still be on their way through the pipe.
                std::thread::sleep(Duration::from_millis(100));
                if let Some(l) = self.find(needle) {
                    return l;
                }
                panic!(
                    "{} exited ({st}) before {needle:?}:\n{}",
                    self.what,
                    self.output()
                );
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        panic!(
            "{}: no line with {needle:?} in 20 s:\n{}",
            self.what,
            self.output()
        );
    }

    /// The first line so far containing `needle`.
    pub fn find(&self, needle: &str) -> Option<String> {
        let lines = self.lines.lock().unwrap();
        lines.iter().find(|l| l.contains(needle)).cloned()
    }

    /// How many lines so far contain `needle`.
    pub fn count(&self, needle: &str) -> usize {
        self.lines
            .lock()
            .unwrap()
            .iter()
            .filter(|l| l.contains(needle))
            .count()
    }

    pub fn output(&self) -> String {
        self.lines.lock().unwrap().join("\n")
    }

    pub fn signal(&self, sig: i32) {
        // SAFETY: kill with our own child's pid.
        let r = unsafe { libc::kill(self.child.id() as i32, sig) };
        assert_eq!(r, 0, "kill {}", self.what);
    }

    /// Waits (bounded) for the program to exit.
    pub fn wait_exit(&mut self) -> std::process::ExitStatus {
        let deadline = Instant::now() + Duration::from_secs(20);
        while Instant::now() < deadline {
            if let Some(st) = self.child.try_wait().unwrap() {
                return st;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        panic!("{} did not exit within 20 s", self.what);
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// A free TCP and UDP port on 127.0.0.1 (bound and released: a small race, retried
/// by callers that care).
pub fn free_port() -> u16 {
    for _ in 0..50 {
        let t = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = t.local_addr().unwrap().port();
        if std::net::UdpSocket::bind(("127.0.0.1", port)).is_ok() {
            return port;
        }
    }
    panic!("no free port");
}

//------------ HTTP ------------------------------------------------------------------

/// A blocking HTTP/1.1 request; returns the status and the body.
pub fn http(
    addr: SocketAddr,
    method: &str,
    path: &str,
    host: &str,
    body: Option<&str>,
) -> (u16, String) {
    http_with(addr, method, path, host, body, "")
}

/// As [`http`], with `headers` (each line ending in `\r\n`) added to the request.
pub fn http_with(
    addr: SocketAddr,
    method: &str,
    path: &str,
    host: &str,
    body: Option<&str>,
    headers: &str,
) -> (u16, String) {
    let mut s = std::net::TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    let body = body.unwrap_or("");
    write!(
        s,
        "{method} {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\nContent-Type: application/json\r\n{headers}Content-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    // Read until the body is complete (a server may keep the connection open).
    let mut raw = Vec::new();
    let mut buf = [0u8; 16384];
    loop {
        let n = s.read(&mut buf).unwrap_or(0);
        if n == 0 {
            break;
        }
        raw.extend_from_slice(&buf[..n]);
        if complete(&raw) {
            break;
        }
    }
    let text = String::from_utf8_lossy(&raw).into_owned();
    let (head, rest) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    let body = if head
        .to_ascii_lowercase()
        .contains("transfer-encoding: chunked")
    {
        dechunk(rest)
    } else {
        rest.to_string()
    };
    (status, body)
}

/// Has a whole response arrived (by Content-Length, or the last chunk)?
fn complete(raw: &[u8]) -> bool {
    let text = String::from_utf8_lossy(raw);
    let Some((head, body)) = text.split_once("\r\n\r\n") else {
        return false;
    };
    let head = head.to_ascii_lowercase();
    if let Some(len) = head
        .lines()
        .find_map(|l| l.strip_prefix("content-length:"))
        .and_then(|v| v.trim().parse::<usize>().ok())
    {
        return body.len() >= len;
    }
    head.contains("transfer-encoding: chunked") && body.ends_with("0\r\n\r\n")
}

pub fn get(addr: SocketAddr, path: &str) -> (u16, String) {
    http(addr, "GET", path, &addr.to_string(), None)
}

fn dechunk(mut s: &str) -> String {
    let mut out = String::new();
    while let Some((size, rest)) = s.split_once("\r\n") {
        let n = usize::from_str_radix(size.trim(), 16).unwrap_or(0);
        if n == 0 || rest.len() < n {
            break;
        }
        out.push_str(&rest[..n]);
        s = rest[n..].trim_start_matches("\r\n");
    }
    out
}

/// Prometheus text: `name{labels}` → value (labels as written).
pub fn samples(text: &str) -> BTreeMap<String, f64> {
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .filter_map(|l| {
            let (k, v) = l.rsplit_once(' ')?;
            Some((k.to_string(), v.parse().ok()?))
        })
        .collect()
}

//------------ Python packages from PyPI ---------------------------------------------

/// The `python` of a virtual environment under /tmp holding `packages` (pip
/// requirement strings, pinned), made on first use with Debian's python3 (and
/// python3-venv, installed as a Debian package is) and kept for later runs;
/// serialised with the Debian installs by the same lock file.
pub fn python_venv(name: &str, packages: &[&str]) -> PathBuf {
    let dir = PathBuf::from(format!("/tmp/altroot-tests-venv-{name}"));
    let python = dir.join("bin/python");
    let marker = dir.join("altroot-packages.txt");
    let want = packages.join("\n");
    let ready = || std::fs::read_to_string(&marker).is_ok_and(|t| t == want);
    if ready() {
        return python;
    }
    let lock = std::fs::File::create("/tmp/altroot-tests-apt.lock").expect("apt lock file");
    lock.lock().expect("apt lock");
    if ready() {
        return python;
    }
    let system = PathBuf::from("/usr/bin/python3");
    let has_venv = || {
        Command::new(&system)
            .args(["-c", "import ensurepip, venv"])
            .output()
            .is_ok_and(|o| o.status.success())
    };
    if !has_venv() {
        assert!(
            is_root(),
            "Debian's python3 with venv is missing: apt-get install python3-venv \
             (as root, which is how CI runs, the test installs it itself)"
        );
        drop(lock); // apt_install takes it
        apt_install(&["python3", "python3-venv"]);
        return python_venv(name, packages);
    }
    let _ = std::fs::remove_dir_all(&dir);
    let run = |cmd: &mut Command, what: &str| {
        let out = cmd.output().unwrap_or_else(|e| panic!("{what}: {e}"));
        assert!(
            out.status.success(),
            "{what} failed:\n{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    };
    run(
        Command::new(&system).args(["-m", "venv"]).arg(&dir),
        "python3 -m venv",
    );
    run(
        Command::new(dir.join("bin/pip"))
            .args(["install", "-q", "--disable-pip-version-check"])
            .args(packages),
        &format!("pip install {packages:?}"),
    );
    std::fs::write(&marker, &want).expect("venv marker");
    python
}
