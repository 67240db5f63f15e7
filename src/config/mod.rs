//! The config file (DESIGN §3): its shape on disk ([`file`]), the validated form the
//! rest of the program uses (this module), and every default ([`defaults`]).
//!
//! [`Config::load`] parses the TOML (`deny_unknown_fields`, kebab-case keys), then
//! resolves paths relative to the file, parses addresses and durations, and checks
//! the rules TOML cannot express (exactly one of `zones`/`hints`/`forward` per root,
//! unique root names, pins naming real roots, a catch-all forward root last). Every
//! error carries the file and, where known, the line, and one load reports them all
//! (`shape.rs` for unknown keys and wrong types, `validate.rs` and `roots.rs` for values).

use std::collections::BTreeMap;
use std::fmt;
use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use ipnet::IpNet;

use crate::dnssec::TrustAnchors;

mod anchors;
pub mod defaults;
pub mod encrypted;
mod file;
mod observe;
mod roots;
mod shape;
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
    pub transfer: TransferConfig,
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
    /// DoQ listeners (UDP, QUIC).
    pub quic_listen: Vec<SocketAddr>,
    /// The certificate and key of all three (required when any is on).
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
            quic_listen: Vec::new(),
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
    /// Destination port for the servers of this root (53 unless set).
    pub port: u16,
    /// Destination port for a hints root's root servers (the hints and the `. NS`
    /// set they prime): `root-port`, else `port`. hsd's root server listens on
    /// its own port (5349 on mainnet) while the TLD servers below are on 53.
    pub root_port: u16,
    pub qname_minimisation: bool,
    pub ipv6: bool,
    /// Special-use TLDs (RFC 6761) a zones root serves on purpose.
    pub special_use: Vec<String>,
    /// Loopback servers may be asked (roots you run yourself, test worlds).
    pub allow_loopback_upstream: bool,
    /// DNSSEC trust anchors and negative trust anchors (`trust-anchors`,
    /// `negative-trust-anchors`); no positive anchor means no validation. The root
    /// with the built-in hints has IANA's root KSKs unless the file says otherwise.
    pub trust_anchors: Arc<TrustAnchors>,
    /// The `trust-anchors` files, as resolved.
    pub trust_anchor_files: Vec<PathBuf>,
    /// A hints root's local copy of its root zone (RFC 8806, `copy`, `verify`).
    pub copy: Option<RootCopy>,
    /// Zones fed by zone transfer from primaries (`transfer-from`): a zones root's
    /// zones, or a hints root's copy of its root zone.
    pub transfer_in: Option<TransferIn>,
    /// Since when this root has had each TLD (`since`, for `policy = "first-come"`):
    /// TLD label (lower case, no dot) → date.
    pub since: BTreeMap<String, crate::resolver::since::Date>,
    /// The bundled TLD list this root stands for (`tld-list`; the builtin hints:
    /// ICANN's), which answers for it when its servers are not asked.
    pub tld_list: Option<TldList>,
}

/// A bundled TLD list a hints or forward root stands for (`tld-list`): offline, and
/// when its servers cannot be reached, `collisions` takes the root's TLDs from it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TldList {
    /// [`crate::icann`]: the TLDs of ICANN's root zone.
    Icann,
    /// [`crate::opennic`]: OpenNIC's own TLDs, and ICANN's, which its root carries.
    Opennic,
}

impl TldList {
    /// As the config spells it.
    pub fn as_str(self) -> &'static str {
        match self {
            TldList::Icann => "icann",
            TldList::Opennic => "opennic",
        }
    }
}

/// Where a root's transferred zones come from (`transfer-from`, `transfer-zones`,
/// `transfer-key`).
#[derive(Clone, Debug)]
pub struct TransferIn {
    /// Primaries, asked in this order.
    pub primaries: Vec<SocketAddr>,
    /// The zones to transfer; empty: the root zone and every TLD it delegates
    /// that a primary gives out (zones roots), the root zone (hints roots).
    pub zones: Vec<hickory_proto::rr::Name>,
    /// Signs requests and checks replies (a key of `[transfer] keys`).
    pub key: Option<TsigKey>,
}

/// Where a hints root's copy of its root zone is, and what it must pass.
#[derive(Clone, Debug)]
pub struct RootCopy {
    pub file: PathBuf,
    pub verify: crate::rootcopy::Verify,
}

impl RootConfig {
    /// Is this ICANN's root, for the bundled history's dates: a root named
    /// "icann", the built-in hints, or a forward root that takes every TLD (a
    /// public resolver).
    pub fn is_icann(&self) -> bool {
        if self.name.eq_ignore_ascii_case("icann") {
            return true;
        }
        match &self.source {
            RootSource::Hints(Hints::Builtin) => true,
            RootSource::Forward { tlds, .. } => tlds.is_empty(),
            _ => false,
        }
    }

    fn new(name: &str, source: RootSource) -> RootConfig {
        let anchors = match source {
            RootSource::Hints(Hints::Builtin) => TrustAnchors::icann(),
            _ => TrustAnchors::new(hickory_proto::rr::Name::root()),
        };
        RootConfig {
            name: name.into(),
            port: 53,
            root_port: 53,
            qname_minimisation: true,
            ipv6: false,
            special_use: Vec::new(),
            allow_loopback_upstream: false,
            trust_anchors: Arc::new(anchors),
            trust_anchor_files: Vec::new(),
            copy: None,
            transfer_in: None,
            since: BTreeMap::new(),
            tld_list: matches!(source, RootSource::Hints(Hints::Builtin)).then_some(TldList::Icann),
            source,
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
        /// Verify tls://, https:// and quic:// upstreams with these CAs, not the system's.
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
    /// The root whose claim on the TLD is oldest answers ([`crate::resolver::since`]).
    FirstCome,
}

impl Policy {
    /// As the config spells it (`policy = "first"`), and as reports print it.
    pub fn as_str(self) -> &'static str {
        match self {
            Policy::First => "first",
            Policy::Interrupt => "interrupt",
            Policy::FirstCome => "first-come",
        }
    }
}

/// As the config spells it, for log lines and messages (never `Debug`'s `First`).
impl fmt::Display for Policy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Clone, Debug)]
pub struct CollisionConfig {
    pub policy: Policy,
    /// TLD (lower case, no dot) → root name.
    pub pin: BTreeMap<String, String>,
}

/// Zone transfers out (`[transfer]`): who may pull the zones of the zones roots.
#[derive(Clone, Debug, Default)]
pub struct TransferConfig {
    /// Clients that may transfer (AXFR, IXFR); empty (the default): nobody, every
    /// transfer is REFUSED.
    pub allow: Vec<IpNet>,
    /// Servers sent NOTIFY (RFC 1996) when a reload changes a zone's serial.
    pub secondaries: Vec<SocketAddr>,
    /// TSIG keys (RFC 8945) a transfer request may be signed with.
    pub keys: Vec<TsigKey>,
    /// Only signed requests may transfer (from an address in `allow` still).
    pub require_tsig: bool,
}

/// A TSIG key of `[transfer] keys`.
#[derive(Clone)]
pub struct TsigKey {
    /// The key's name, as both sides write it in the TSIG record.
    pub name: hickory_proto::rr::Name,
    pub algorithm: hickory_proto::rr::rdata::tsig::TsigAlgorithm,
    pub secret: Vec<u8>,
}

impl fmt::Debug for TsigKey {
    // Never the secret (configs are printed in debug logs and test failures).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "TsigKey({} {})", self.name, self.algorithm)
    }
}

//------------ Errors --------------------------------------------------------

/// A config problem, with the file and (when known) the 1-based line it is on.
#[derive(Clone, Debug, thiserror::Error)]
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

/// Why a config cannot be used.
#[derive(Debug)]
pub enum ConfigErrors {
    /// There is no file to read, or it cannot be read: nothing was checked.
    Unread(ConfigError),
    /// The file was read: every problem found in it, in file order.
    Invalid(Vec<ConfigError>),
}

impl ConfigErrors {
    /// Every error, in file order.
    pub fn errors(&self) -> &[ConfigError] {
        match self {
            ConfigErrors::Unread(e) => std::slice::from_ref(e),
            ConfigErrors::Invalid(list) => list,
        }
    }

    /// The first error (file order).
    pub fn first(&self) -> &ConfigError {
        match self {
            ConfigErrors::Unread(e) => e,
            ConfigErrors::Invalid(list) => &list[0],
        }
    }
}

/// One error per line.
impl fmt::Display for ConfigErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, e) in self.errors().iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "{e}")?;
        }
        Ok(())
    }
}

impl std::error::Error for ConfigErrors {}

impl From<ConfigError> for ConfigErrors {
    fn from(e: ConfigError) -> ConfigErrors {
        ConfigErrors::Invalid(vec![e])
    }
}

//------------ Loading -------------------------------------------------------

impl Config {
    /// Reads and validates a config file.
    pub fn load(path: &Path) -> Result<Config, ConfigErrors> {
        let text = std::fs::read_to_string(path).map_err(|e| {
            ConfigErrors::Unread(ConfigError {
                file: path.to_path_buf(),
                line: None,
                message: format!("cannot read config: {e}"),
            })
        })?;
        Self::from_toml(&text, path)
    }

    /// Parses config text as if read from `path` (paths inside are relative to its folder).
    /// Every error is reported, in file order: the TOML's shape errors (unknown keys,
    /// wrong types; a syntax error stops there), then the values' own.
    pub fn from_toml(text: &str, path: &Path) -> Result<Config, ConfigErrors> {
        let (file, mut errors) = shape::read(text, path);
        let Some(file) = file else {
            return Err(ConfigErrors::Invalid(errors));
        };
        let base = path.parent().unwrap_or(Path::new(".")).to_path_buf();
        let validated = validate::Validator {
            text,
            path,
            base: &base,
            errors: Default::default(),
        }
        .validate(file);
        match validated {
            Ok(config) if errors.is_empty() => Ok(config),
            Ok(_) => Err(ConfigErrors::Invalid(errors)),
            Err(mut more) => {
                errors.append(&mut more);
                errors.sort_by_key(|e| e.line);
                Err(ConfigErrors::Invalid(errors))
            }
        }
    }

    /// The built-in defaults (DESIGN §3), which a config file changes key by key:
    /// with no `[[root]]`, the one root every machine has, `icann` from the
    /// compiled-in root hints.
    pub fn builtin() -> Config {
        let roots = vec![RootConfig::new("icann", RootSource::Hints(Hints::Builtin))];
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
            transfer: TransferConfig::default(),
        }
    }

    /// `--config FILE` if given, else `config/altroot.toml` in the current folder.
    /// Without either it is an error, never a silent run on the built-in defaults
    /// (which would serve an ICANN-only resolver where an alternate root was meant).
    pub fn discover(explicit: Option<&Path>) -> Result<Config, ConfigErrors> {
        let path = explicit.unwrap_or(Path::new(defaults::CONFIG_PATH));
        if explicit.is_none() && !path.exists() {
            let here = std::env::current_dir()
                .map(|d| d.display().to_string())
                .unwrap_or_else(|_| "the current folder".into());
            return Err(ConfigErrors::Unread(ConfigError {
                file: path.to_path_buf(),
                line: None,
                message: format!(
                    "no such file in {here} (without --config, altroot reads {} from the \
                     current folder); pass a config with --config FILE",
                    defaults::CONFIG_PATH
                ),
            }));
        }
        Config::load(path)
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

/// `"1.2.3.4"`, `"1.2.3.4:53"`, `"::1"`, `"[::1]"`, `"[::1]:53"`.
pub fn parse_socket_addr(s: &str, default_port: u16) -> Option<SocketAddr> {
    if let Ok(a) = s.parse::<SocketAddr>() {
        return Some(a);
    }
    // "[2620:fe::fe]": an IPv6 address bracketed as in a URL, without a port.
    let bare = s
        .strip_prefix('[')
        .and_then(|r| r.strip_suffix(']'))
        .filter(|r| r.contains(':'))
        .unwrap_or(s);
    bare.parse::<IpAddr>()
        .ok()
        .map(|ip| SocketAddr::new(ip, default_port))
}

fn parse_net(s: &str) -> Option<IpNet> {
    s.parse::<IpNet>()
        .ok()
        .or_else(|| s.parse::<IpAddr>().ok().map(IpNet::from))
}

#[cfg(test)]
mod docs_tests;
#[cfg(test)]
mod root_tests;
#[cfg(test)]
mod tests;
