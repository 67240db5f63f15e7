//! The config file (DESIGN §3): its shape on disk ([`file`]), the validated form the
//! rest of the program uses (this module), and every default ([`defaults`]).
//!
//! [`Config::load`] parses the TOML (`deny_unknown_fields`, kebab-case keys), then
//! resolves paths relative to the file, parses addresses and durations, and checks
//! the rules TOML cannot express (exactly one of `zones`/`hints`/`forward` per root,
//! unique root names, pins naming real roots, a catch-all forward root last). Every
//! error carries the file and, where known, the line.

use std::collections::BTreeMap;
use std::fmt;
use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};
use std::time::Duration;

use ipnet::IpNet;

pub mod defaults;
pub mod encrypted;
mod file;
mod observe;
mod validate;

pub use encrypted::{CaFile, TlsFiles, Transport, Upstream};
pub use file::FileConfig;
pub use observe::{ClientField, LogConfig, MetricsConfig};

//------------ Config: validated --------------------------------------------

#[derive(Clone, Debug)]
pub struct Config {
    /// The file this came from, if any (for messages and relative paths).
    pub source: Option<PathBuf>,
    pub server: ServerConfig,
    pub cache: CacheConfig,
    pub limits: LimitsConfig,
    pub roots: Vec<RootConfig>,
    pub collisions: CollisionConfig,
    pub metrics: MetricsConfig,
    pub log: LogConfig,
}

#[derive(Clone, Debug)]
pub struct ServerConfig {
    pub listen: Vec<SocketAddr>,
    pub allow: Vec<IpNet>,
    pub query_timeout: Duration,
    /// Addresses never queried (a root's `allow-loopback-upstream` lifts loopback).
    pub upstream_deny: Vec<IpNet>,
    pub tcp_clients: usize,
    pub tcp_idle_timeout: Duration,
    /// DoT listeners (TCP).
    pub tls_listen: Vec<SocketAddr>,
    /// DoH listeners (TCP; HTTP/2 and HTTP/1.1).
    pub https_listen: Vec<SocketAddr>,
    /// The certificate and key of both (required when either is on).
    pub tls: Option<TlsFiles>,
}

impl Default for ServerConfig {
    fn default() -> ServerConfig {
        let nets = |list: &[&str]| list.iter().filter_map(|s| parse_net(s)).collect();
        ServerConfig {
            listen: defaults::LISTEN
                .iter()
                .filter_map(|s| s.parse().ok())
                .collect(),
            allow: nets(defaults::ALLOW),
            query_timeout: defaults::QUERY_TIMEOUT,
            upstream_deny: nets(defaults::UPSTREAM_DENY),
            tcp_clients: defaults::TCP_CLIENTS,
            tcp_idle_timeout: defaults::TCP_IDLE_TIMEOUT,
            tls_listen: Vec::new(),
            https_listen: Vec::new(),
            tls: None,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CacheConfig {
    /// Bytes all caches may hold together.
    pub max_size: u64,
    pub max_ttl: Duration,
    pub negative_max_ttl: Duration,
    pub min_ttl: Duration,
    /// How long past expiry an answer may still be served when servers fail (0: off).
    pub serve_stale: Duration,
}

impl Default for CacheConfig {
    fn default() -> CacheConfig {
        CacheConfig {
            max_size: defaults::CACHE_SIZE,
            max_ttl: defaults::MAX_TTL,
            negative_max_ttl: defaults::NEGATIVE_MAX_TTL,
            min_ttl: defaults::MIN_TTL,
            serve_stale: defaults::SERVE_STALE,
        }
    }
}

/// Budgets and bounds (`[limits]`; the defaults and their anchors are in [`defaults`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LimitsConfig {
    pub max_upstream_queries: usize,
    pub max_queries_per_zone: usize,
    pub max_referrals: usize,
    pub max_ns_per_zone: usize,
    pub max_glueless_ns: usize,
    pub max_failed_ns_lookups: usize,
    pub max_cname_chain: usize,
    pub max_depth: usize,
    pub max_resolutions: usize,
    pub max_per_client: usize,
    pub rate_limit: u32,
    pub rate_limit_slip: u32,
    pub rate_limit_ipv4_prefix: u8,
    pub rate_limit_ipv6_prefix: u8,
}

#[derive(Clone, Debug)]
pub struct RootConfig {
    pub name: String,
    pub source: RootSource,
    /// Destination port for every server of this root (53 unless set).
    pub port: u16,
    pub qname_minimisation: bool,
    pub ipv6: bool,
    /// Special-use TLDs (RFC 6761) a zones root serves on purpose.
    pub special_use: Vec<String>,
    /// Loopback servers may be asked (roots you run yourself, test worlds).
    pub allow_loopback_upstream: bool,
}

impl RootConfig {
    fn new(name: &str, source: RootSource) -> RootConfig {
        RootConfig {
            name: name.into(),
            source,
            port: 53,
            qname_minimisation: true,
            ipv6: false,
            special_use: Vec::new(),
            allow_loopback_upstream: false,
        }
    }
}

#[derive(Clone, Debug)]
pub enum RootSource {
    /// A zones folder served in-process.
    Zones(PathBuf),
    /// Iterate from root hints.
    Hints(Hints),
    /// Send queries to recursive upstreams; `tlds` empty means "everything" (then the
    /// root is the last one).
    Forward {
        upstreams: Vec<Upstream>,
        tlds: Vec<String>,
        /// Verify tls:// and https:// upstreams with these CAs, not the system's.
        tls_ca: Option<CaFile>,
    },
}

#[derive(Clone, Debug)]
pub enum Hints {
    Builtin,
    File(PathBuf),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Policy {
    /// The earlier root wins.
    First,
    /// Names in a colliding TLD get the controlled-interruption answer.
    Interrupt,
}

impl Policy {
    /// As the config spells it (`policy = "first"`), and as reports print it.
    pub fn as_str(self) -> &'static str {
        match self {
            Policy::First => "first",
            Policy::Interrupt => "interrupt",
        }
    }
}

#[derive(Clone, Debug)]
pub struct CollisionConfig {
    pub policy: Policy,
    /// TLD (lower case, no dot) → root name.
    pub pin: BTreeMap<String, String>,
}

//------------ Errors --------------------------------------------------------

/// A config problem, with the file and (when known) the 1-based line it is on.
#[derive(Debug, thiserror::Error)]
pub struct ConfigError {
    pub file: PathBuf,
    pub line: Option<usize>,
    pub message: String,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.line {
            Some(line) => write!(
                f,
                "{}:{}: error: {}",
                self.file.display(),
                line,
                self.message
            ),
            None => write!(f, "{}: error: {}", self.file.display(), self.message),
        }
    }
}

//------------ Loading -------------------------------------------------------

impl Config {
    /// Reads and validates a config file.
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|e| ConfigError {
            file: path.to_path_buf(),
            line: None,
            message: format!("cannot read config: {e}"),
        })?;
        Self::from_toml(&text, path)
    }

    /// Parses config text as if read from `path` (paths inside are relative to its folder).
    pub fn from_toml(text: &str, path: &Path) -> Result<Config, ConfigError> {
        let file: FileConfig = toml::from_str(text).map_err(|e| ConfigError {
            file: path.to_path_buf(),
            line: e.span().map(|s| validate::line_of(text, s.start)),
            message: e.message().trim().to_string(),
        })?;
        let base = path.parent().unwrap_or(Path::new(".")).to_path_buf();
        validate::Validator {
            text,
            path,
            base: &base,
        }
        .validate(file)
    }

    /// The built-in defaults (DESIGN §3): an `alt` root on `./zones` if that folder
    /// exists, then `icann` from the compiled-in root hints.
    pub fn builtin() -> Config {
        let mut roots = Vec::new();
        if Path::new("zones").is_dir() {
            roots.push(RootConfig::new(
                "alt",
                RootSource::Zones(PathBuf::from("zones")),
            ));
        }
        roots.push(RootConfig::new("icann", RootSource::Hints(Hints::Builtin)));
        Config {
            source: None,
            server: ServerConfig::default(),
            cache: CacheConfig::default(),
            limits: LimitsConfig::default(),
            roots,
            collisions: CollisionConfig {
                policy: Policy::First,
                pin: BTreeMap::new(),
            },
            metrics: MetricsConfig::default(),
            log: LogConfig::default(),
        }
    }

    /// `--config FILE` if given, else `config/altroot.toml` if present, else built-in.
    pub fn discover(explicit: Option<&Path>) -> Result<Config, ConfigError> {
        match explicit {
            Some(p) => Config::load(p),
            None if Path::new(defaults::CONFIG_PATH).is_file() => {
                Config::load(Path::new(defaults::CONFIG_PATH))
            }
            None => Ok(Config::builtin()),
        }
    }

    /// Position of the root called `name` in consultation order.
    pub fn root_index(&self, name: &str) -> Option<usize> {
        self.roots.iter().position(|r| r.name == name)
    }
}

/// Joins a config-relative path and removes `.` and `a/..` without touching the
/// file system, so messages say `zones/geek.zone`, not `config/../zones/geek.zone`.
pub fn join_clean(base: &Path, rel: &str) -> PathBuf {
    use std::path::Component;
    let mut out = PathBuf::new();
    for c in base.join(rel).components() {
        match c {
            Component::CurDir => {}
            Component::ParentDir => {
                if matches!(out.components().next_back(), Some(Component::Normal(_))) {
                    out.pop();
                } else {
                    out.push("..");
                }
            }
            other => out.push(other.as_os_str()),
        }
    }
    if out.as_os_str().is_empty() {
        out.push(".");
    }
    out
}

/// `"1.2.3.4"`, `"1.2.3.4:53"`, `"::1"`, `"[::1]:53"`.
pub fn parse_socket_addr(s: &str, default_port: u16) -> Option<SocketAddr> {
    if let Ok(a) = s.parse::<SocketAddr>() {
        return Some(a);
    }
    s.parse::<IpAddr>()
        .ok()
        .map(|ip| SocketAddr::new(ip, default_port))
}

fn parse_net(s: &str) -> Option<IpNet> {
    s.parse::<IpNet>()
        .ok()
        .or_else(|| s.parse::<IpAddr>().ok().map(IpNet::from))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Config, ConfigError> {
        Config::from_toml(text, Path::new("/nonexistent/altroot.toml"))
    }

    #[test]
    fn unknown_key_names_key_and_line() {
        let e = parse("[server]\nlisten = [\"127.0.0.1:53\"]\nbogus = 1\n").unwrap_err();
        assert_eq!(e.line, Some(3), "{e}");
        assert!(e.to_string().contains("bogus"), "{e}");
        assert!(
            e.to_string()
                .starts_with("/nonexistent/altroot.toml:3: error:"),
            "{e}"
        );
    }

    #[test]
    fn unknown_key_in_every_table_is_rejected() {
        for table in [
            "[server]",
            "[cache]",
            "[limits]",
            "[[root]]\nname = \"x\"\nhints = \"builtin\"",
            "[collisions]",
            "[metrics]",
            "[log]",
        ] {
            let text = format!("{table}\nnot-a-key = 1\n");
            let e = parse(&text).unwrap_err();
            assert!(e.message.contains("not-a-key"), "{table}: {e}");
        }
    }

    #[test]
    fn root_needs_exactly_one_source() {
        let e = parse("[[root]]\nname = \"a\"\nhints = \"builtin\"\nforward = [\"127.0.0.1\"]\n")
            .unwrap_err();
        assert!(e.message.contains("exactly one"), "{e}");
        assert_eq!(e.line, Some(2));
    }

    #[test]
    fn duplicate_root_name() {
        let e = parse("[[root]]\nname = \"a\"\nhints = \"builtin\"\n[[root]]\nname = \"a\"\nhints = \"builtin\"\n")
            .unwrap_err();
        assert!(e.message.contains("used twice"), "{e}");
    }

    #[test]
    fn bad_address_and_duration() {
        let e = parse("[server]\nlisten = [\"nope\"]\n").unwrap_err();
        assert_eq!(e.line, Some(2));
        let e = parse("[server]\nquery-timeout = \"soon\"\n").unwrap_err();
        assert!(e.message.contains("bad duration"), "{e}");
    }

    #[test]
    fn defaults_and_forward() {
        let c = parse("[[root]]\nname = \"up\"\nforward = [\"127.0.0.9\", \"[::1]:5300\"]\ntlds = [\"Example.\"]\n")
            .unwrap();
        assert_eq!(c.server.query_timeout, defaults::QUERY_TIMEOUT);
        match &c.roots[0].source {
            RootSource::Forward {
                upstreams, tlds, ..
            } => {
                assert_eq!(upstreams[0].addr, "127.0.0.9:53".parse().unwrap());
                assert_eq!(upstreams[1].addr, "[::1]:5300".parse().unwrap());
                assert_eq!(tlds, &vec!["example".to_string()]);
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn pin_must_name_a_root() {
        let e = parse(
            "[[root]]\nname = \"a\"\nhints = \"builtin\"\n[collisions]\npin = { biz = \"zz\" }\n",
        )
        .unwrap_err();
        assert!(e.message.contains("names no [[root]]"), "{e}");
    }

    #[test]
    fn paths_are_cleaned() {
        assert_eq!(
            join_clean(Path::new("config"), "../zones"),
            PathBuf::from("zones")
        );
        assert_eq!(join_clean(Path::new(""), "zones"), PathBuf::from("zones"));
        assert_eq!(
            join_clean(Path::new("/etc/altroot"), "./z"),
            PathBuf::from("/etc/altroot/z")
        );
        assert_eq!(join_clean(Path::new("a"), "../../z"), PathBuf::from("../z"));
    }

    #[test]
    fn shipped_config_parses_and_shows_the_defaults() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("config/altroot.toml");
        let c = Config::load(&path).unwrap();
        assert_eq!(c.roots[0].name, "alt");
        assert!(
            c.roots[0].allow_loopback_upstream,
            "the demo's pirate delegation"
        );
        assert_eq!(c.roots.last().map(|r| r.name.as_str()), Some("icann"));
        assert!(!c.roots[1].allow_loopback_upstream);
        let d = Config::builtin();
        assert_eq!(c.server.listen, d.server.listen);
        assert_eq!(c.server.allow, d.server.allow);
        assert_eq!(c.server.query_timeout, d.server.query_timeout);
        assert_eq!(c.server.upstream_deny, d.server.upstream_deny);
        assert_eq!(c.server.tcp_clients, d.server.tcp_clients);
        assert_eq!(c.server.tcp_idle_timeout, d.server.tcp_idle_timeout);
        assert_eq!(c.server.tls_listen, d.server.tls_listen);
        assert_eq!(c.server.https_listen, d.server.https_listen);
        assert_eq!(c.cache, d.cache);
        assert_eq!(c.limits, d.limits);
        assert_eq!(c.log, d.log);
        assert_eq!(
            c.metrics.listen.map(|a| a.to_string()).as_deref(),
            Some(defaults::METRICS_LISTEN_EXAMPLE),
            "the demo turns the status page on"
        );
        assert_eq!(c.metrics.allow_remote, d.metrics.allow_remote);
    }

    #[test]
    fn catch_all_forward_root_must_be_last() {
        let e = parse("[[root]]\nname = \"up\"\nforward = [\"192.0.2.1\"]\n[[root]]\nname = \"icann\"\nhints = \"builtin\"\n")
            .unwrap_err();
        assert!(e.message.contains("must be the last root"), "{e}");
        assert_eq!(e.line, Some(2));
        parse("[[root]]\nname = \"up\"\nforward = [\"192.0.2.1\"]\ntlds = [\"x\"]\n[[root]]\nname = \"icann\"\nhints = \"builtin\"\n")
            .unwrap();
    }

    #[test]
    fn limits_and_new_keys() {
        let c = parse("[limits]\nmax-upstream-queries = 7\nmax-glueless-ns = 1\nrate-limit = 20\n[cache]\nmin-ttl = \"5s\"\nserve-stale = \"1d\"\n[server]\nupstream-deny = [\"10.0.0.0/8\"]\n")
            .unwrap();
        assert_eq!(c.limits.max_upstream_queries, 7);
        assert_eq!(c.limits.max_glueless_ns, 1);
        assert_eq!(c.limits.rate_limit, 20);
        assert_eq!(c.limits.max_cname_chain, defaults::MAX_CNAME_CHAIN);
        assert_eq!(c.cache.min_ttl, Duration::from_secs(5));
        assert_eq!(c.cache.serve_stale, Duration::from_secs(86_400));
        assert_eq!(validate::parse_size("1GiB"), Some(1 << 30));
        assert_eq!(validate::parse_size("512k"), Some(512 << 10));
        assert_eq!(validate::parse_size("4096"), Some(4096));
        assert_eq!(validate::parse_size("12 parsecs"), None);
        assert_eq!(
            c.server.upstream_deny,
            vec!["10.0.0.0/8".parse::<IpNet>().unwrap()]
        );
        let e = parse("[limits]\nmax-resolutions = 0\n").unwrap_err();
        assert_eq!(e.line, Some(2), "{e}");
        assert!(e.message.contains("at least 1"), "{e}");
        let e = parse("[server]\nupstream-deny = [\"nope\"]\n").unwrap_err();
        assert_eq!(e.line, Some(2), "{e}");
        let e = parse("[limits]\nrate-limit-slip = 11\n").unwrap_err();
        assert!(e.message.contains("0 to 10"), "{e}");
    }
}
