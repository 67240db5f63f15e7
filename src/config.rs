//! The config file (DESIGN §3): its shape on disk, and the validated form the rest of
//! the program uses.
//!
//! [`FileConfig`] mirrors the TOML exactly (`deny_unknown_fields`, kebab-case keys).
//! [`Config::load`] parses it, then resolves paths relative to the file, parses
//! addresses and durations, and checks the rules TOML cannot express (exactly one of
//! `zones`/`hints`/`forward` per root, unique root names, pins naming real roots).
//! Every error carries the file and, where known, the line.

use std::collections::{BTreeMap, HashSet};
use std::fmt;
use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};
use std::time::Duration;

use ipnet::IpNet;
use serde::Deserialize;

//------------ Defaults ------------------------------------------------------

/// Where `serve` listens when the config says nothing (unprivileged, loopback only).
pub const DEFAULT_LISTEN: &[&str] = &["127.0.0.1:5353", "[::1]:5353"];
/// Clients that may query when the config says nothing: loopback and private ranges.
pub const DEFAULT_ALLOW: &[&str] = &[
    "127.0.0.0/8",
    "::1/128",
    "10.0.0.0/8",
    "172.16.0.0/12",
    "192.168.0.0/16",
    "fc00::/7",
    "fe80::/10",
];
/// A client never waits longer than this for an answer.
pub const DEFAULT_QUERY_TIMEOUT: Duration = Duration::from_secs(5);
pub const DEFAULT_CACHE_ENTRIES: usize = 100_000;
pub const DEFAULT_MAX_TTL: Duration = Duration::from_secs(86_400);
pub const DEFAULT_NEGATIVE_MAX_TTL: Duration = Duration::from_secs(3_600);
/// The config file `serve` looks for when no `--config` is given.
pub const DEFAULT_CONFIG_PATH: &str = "config/altroot.toml";

//------------ FileConfig: the shape on disk ---------------------------------

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct FileConfig {
    #[serde(default)]
    pub server: FileServer,
    #[serde(default)]
    pub cache: FileCache,
    #[serde(default, rename = "root")]
    pub roots: Vec<FileRoot>,
    #[serde(default)]
    pub collisions: FileCollisions,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct FileServer {
    pub listen: Option<Vec<String>>,
    pub allow: Option<Vec<String>>,
    pub query_timeout: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct FileCache {
    pub max_entries: Option<usize>,
    pub max_ttl: Option<String>,
    pub negative_max_ttl: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct FileRoot {
    pub name: String,
    pub zones: Option<String>,
    pub hints: Option<String>,
    pub forward: Option<Vec<String>>,
    pub port: Option<u16>,
    pub qname_minimisation: Option<bool>,
    pub ipv6: Option<bool>,
    pub tlds: Option<Vec<String>>,
    pub special_use: Option<Vec<String>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct FileCollisions {
    pub policy: Option<String>,
    #[serde(default)]
    pub pin: BTreeMap<String, String>,
}

//------------ Config: validated --------------------------------------------

#[derive(Clone, Debug)]
pub struct Config {
    /// The file this came from, if any (for messages and relative paths).
    pub source: Option<PathBuf>,
    pub server: ServerConfig,
    pub cache: CacheConfig,
    pub roots: Vec<RootConfig>,
    pub collisions: CollisionConfig,
}

#[derive(Clone, Debug)]
pub struct ServerConfig {
    pub listen: Vec<SocketAddr>,
    pub allow: Vec<IpNet>,
    pub query_timeout: Duration,
}

#[derive(Clone, Debug)]
pub struct CacheConfig {
    pub max_entries: usize,
    pub max_ttl: Duration,
    pub negative_max_ttl: Duration,
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
}

#[derive(Clone, Debug)]
pub enum RootSource {
    /// A zones folder served in-process.
    Zones(PathBuf),
    /// Iterate from root hints.
    Hints(Hints),
    /// Send queries to recursive upstreams; `tlds` empty means "everything".
    Forward {
        upstreams: Vec<SocketAddr>,
        tlds: Vec<String>,
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
        let file: FileConfig = toml::from_str(text).map_err(|e| {
            let line = e.span().map(|s| line_of(text, s.start));
            ConfigError {
                file: path.to_path_buf(),
                line,
                message: e.message().trim().to_string(),
            }
        })?;
        let base = path.parent().unwrap_or(Path::new(".")).to_path_buf();
        let v = Validator {
            text,
            path,
            base: &base,
        };
        v.validate(file)
    }

    /// The built-in defaults (DESIGN §3): an `alt` root on `./zones` if that folder
    /// exists, then `icann` from the compiled-in root hints.
    pub fn builtin() -> Config {
        let mut roots = Vec::new();
        if Path::new("zones").is_dir() {
            roots.push(RootConfig {
                name: "alt".into(),
                source: RootSource::Zones(PathBuf::from("zones")),
                port: 53,
                qname_minimisation: true,
                ipv6: false,
                special_use: Vec::new(),
            });
        }
        roots.push(RootConfig {
            name: "icann".into(),
            source: RootSource::Hints(Hints::Builtin),
            port: 53,
            qname_minimisation: true,
            ipv6: false,
            special_use: Vec::new(),
        });
        Config {
            source: None,
            server: ServerConfig {
                listen: DEFAULT_LISTEN
                    .iter()
                    .filter_map(|s| s.parse().ok())
                    .collect(),
                allow: DEFAULT_ALLOW
                    .iter()
                    .filter_map(|s| s.parse().ok())
                    .collect(),
                query_timeout: DEFAULT_QUERY_TIMEOUT,
            },
            cache: CacheConfig {
                max_entries: DEFAULT_CACHE_ENTRIES,
                max_ttl: DEFAULT_MAX_TTL,
                negative_max_ttl: DEFAULT_NEGATIVE_MAX_TTL,
            },
            roots,
            collisions: CollisionConfig {
                policy: Policy::First,
                pin: BTreeMap::new(),
            },
        }
    }

    /// `--config FILE` if given, else `config/altroot.toml` if present, else built-in.
    pub fn discover(explicit: Option<&Path>) -> Result<Config, ConfigError> {
        match explicit {
            Some(p) => Config::load(p),
            None if Path::new(DEFAULT_CONFIG_PATH).is_file() => {
                Config::load(Path::new(DEFAULT_CONFIG_PATH))
            }
            None => Ok(Config::builtin()),
        }
    }

    /// Position of the root called `name` in consultation order.
    pub fn root_index(&self, name: &str) -> Option<usize> {
        self.roots.iter().position(|r| r.name == name)
    }
}

fn line_of(text: &str, offset: usize) -> usize {
    text.as_bytes()[..offset.min(text.len())]
        .iter()
        .filter(|&&b| b == b'\n')
        .count()
        + 1
}

struct Validator<'a> {
    text: &'a str,
    path: &'a Path,
    base: &'a Path,
}

impl Validator<'_> {
    /// The line where `key` is assigned — anywhere (`root` = None) or inside the
    /// `root`-th `[[root]]` table — or, with `value`, the line from there on that
    /// holds that quoted value (arrays may span lines). TOML spans are gone after
    /// deserialising, so the text is searched; comments are skipped.
    fn locate(&self, root: Option<usize>, key: &str, value: Option<&str>) -> Option<usize> {
        let mut table_root: Option<usize> = None;
        let mut roots_seen = 0usize;
        let mut header_line = None;
        let mut key_line: Option<usize> = None;
        for (i, raw) in self.text.lines().enumerate() {
            let l = raw.trim_start();
            if l.starts_with('#') {
                continue;
            }
            if l.starts_with('[') {
                if key_line.is_some() {
                    break; // the value was not found within the key's table
                }
                if l.starts_with("[[root]]") {
                    table_root = Some(roots_seen);
                    roots_seen += 1;
                    if Some(roots_seen - 1) == root {
                        header_line = Some(i + 1);
                    }
                } else {
                    table_root = None;
                }
                continue;
            }
            if root.is_some() && table_root != root {
                continue;
            }
            let code = l.split('#').next().unwrap_or("");
            if key_line.is_none() {
                let assigns = code
                    .strip_prefix(key)
                    .is_some_and(|rest| rest.trim_start().starts_with('='));
                if !assigns {
                    continue;
                }
                key_line = Some(i + 1);
            }
            match value {
                None => return key_line,
                Some(v) if code.contains(&format!("\"{v}\"")) => return Some(i + 1),
                Some(_) => {}
            }
        }
        key_line.or(header_line)
    }

    fn at(&self, line: Option<usize>, message: String) -> ConfigError {
        ConfigError {
            file: self.path.to_path_buf(),
            line,
            message,
        }
    }

    /// An error at the line assigning `key` (in any table).
    fn err(&self, key: &str, message: String) -> ConfigError {
        self.at(self.locate(None, key, None), message)
    }

    /// An error at the line holding `value` of `key` (in any table).
    fn err_value(&self, key: &str, value: &str, message: String) -> ConfigError {
        self.at(self.locate(None, key, Some(value)), message)
    }

    /// An error inside the `root`-th `[[root]]` table, at `key` (or its header).
    fn err_root(&self, root: usize, key: &str, message: String) -> ConfigError {
        self.at(self.locate(Some(root), key, None), message)
    }

    fn duration(
        &self,
        key: &str,
        value: Option<&String>,
        default: Duration,
    ) -> Result<Duration, ConfigError> {
        match value {
            None => Ok(default),
            Some(s) => humantime::parse_duration(s).map_err(|e| {
                self.err(
                    key,
                    format!("{key}: bad duration {s:?} ({e}); use e.g. \"5s\", \"1h\""),
                )
            }),
        }
    }

    fn validate(&self, file: FileConfig) -> Result<Config, ConfigError> {
        let defaults = Config::builtin();

        let listen = match &file.server.listen {
            None => defaults.server.listen.clone(),
            Some(list) => {
                let mut out = Vec::new();
                for s in list {
                    let addr = parse_socket_addr(s, 53).ok_or_else(|| {
                        self.err_value(
                            "listen",
                            s,
                            format!("listen: {s:?} is not an address (want \"127.0.0.1:5353\" or \"[::1]:5353\")"),
                        )
                    })?;
                    out.push(addr);
                }
                if out.is_empty() {
                    return Err(self.err("listen", "listen: at least one address is needed".into()));
                }
                out
            }
        };
        let allow = match &file.server.allow {
            None => defaults.server.allow.clone(),
            Some(list) => {
                let mut out = Vec::new();
                for s in list {
                    let net = parse_net(s).ok_or_else(|| {
                        self.err_value(
                            "allow",
                            s,
                            format!(
                                "allow: {s:?} is not a network (want \"10.0.0.0/8\" or an address)"
                            ),
                        )
                    })?;
                    out.push(net);
                }
                out
            }
        };
        let query_timeout = self.duration(
            "query-timeout",
            file.server.query_timeout.as_ref(),
            DEFAULT_QUERY_TIMEOUT,
        )?;
        if query_timeout.is_zero() {
            return Err(self.err("query-timeout", "query-timeout: must be more than 0".into()));
        }

        let cache = CacheConfig {
            max_entries: file.cache.max_entries.unwrap_or(DEFAULT_CACHE_ENTRIES),
            max_ttl: self.duration("max-ttl", file.cache.max_ttl.as_ref(), DEFAULT_MAX_TTL)?,
            negative_max_ttl: self.duration(
                "negative-max-ttl",
                file.cache.negative_max_ttl.as_ref(),
                DEFAULT_NEGATIVE_MAX_TTL,
            )?,
        };

        let roots = if file.roots.is_empty() {
            defaults.roots.clone()
        } else {
            let mut seen = HashSet::new();
            let mut roots = Vec::new();
            for (i, r) in file.roots.iter().enumerate() {
                roots.push(self.root(i, r)?);
                if !seen.insert(r.name.clone()) {
                    return Err(self.err_root(
                        i,
                        "name",
                        format!("root name {:?} is used twice", r.name),
                    ));
                }
            }
            roots
        };

        let policy = match file.collisions.policy.as_deref() {
            None | Some("first") => Policy::First,
            Some("interrupt") => Policy::Interrupt,
            Some(other) => {
                return Err(self.err(
                    "policy",
                    format!("policy: {other:?} is not \"first\" or \"interrupt\""),
                ));
            }
        };
        let mut pin = BTreeMap::new();
        for (tld, root) in &file.collisions.pin {
            if !roots.iter().any(|r| &r.name == root) {
                return Err(self.err("pin", format!("pin: {tld} = {root:?} names no [[root]]")));
            }
            pin.insert(tld.trim_matches('.').to_ascii_lowercase(), root.clone());
        }

        Ok(Config {
            source: Some(self.path.to_path_buf()),
            server: ServerConfig {
                listen,
                allow,
                query_timeout,
            },
            cache,
            roots,
            collisions: CollisionConfig { policy, pin },
        })
    }

    fn root(&self, idx: usize, r: &FileRoot) -> Result<RootConfig, ConfigError> {
        if r.name.is_empty() {
            return Err(self.err_root(idx, "name", "root: name must not be empty".into()));
        }
        let count = [r.zones.is_some(), r.hints.is_some(), r.forward.is_some()]
            .iter()
            .filter(|b| **b)
            .count();
        if count != 1 {
            return Err(self.err_root(
                idx,
                "name",
                format!(
                    "root {:?}: needs exactly one of zones, hints or forward (has {count})",
                    r.name
                ),
            ));
        }
        let source = if let Some(z) = &r.zones {
            let dir = join_clean(self.base, z);
            if !dir.is_dir() {
                return Err(self.err_root(
                    idx,
                    "zones",
                    format!(
                        "root {:?}: zones folder {} does not exist",
                        r.name,
                        dir.display()
                    ),
                ));
            }
            RootSource::Zones(dir)
        } else if let Some(h) = &r.hints {
            if h == "builtin" {
                RootSource::Hints(Hints::Builtin)
            } else {
                let p = join_clean(self.base, h);
                if let Err(e) = std::fs::metadata(&p).and_then(|m| {
                    if m.is_file() {
                        std::fs::File::open(&p).map(|_| ())
                    } else {
                        Err(std::io::Error::other("not a file"))
                    }
                }) {
                    return Err(self.err_root(
                        idx,
                        "hints",
                        format!(
                            "root {:?}: cannot read hints file {}: {e}",
                            r.name,
                            p.display()
                        ),
                    ));
                }
                RootSource::Hints(Hints::File(p))
            }
        } else {
            let list = r.forward.as_deref().unwrap_or_default();
            let port = r.port.unwrap_or(53);
            let mut upstreams = Vec::new();
            for s in list {
                upstreams.push(parse_socket_addr(s, port).ok_or_else(|| {
                    self.err_root(
                        idx,
                        "forward",
                        format!("root {:?}: forward {s:?} is not an address", r.name),
                    )
                })?);
            }
            if upstreams.is_empty() {
                return Err(self.err_root(
                    idx,
                    "forward",
                    format!("root {:?}: forward needs at least one upstream", r.name),
                ));
            }
            let tlds = r
                .tlds
                .clone()
                .unwrap_or_default()
                .into_iter()
                .map(|t| t.trim_matches('.').to_ascii_lowercase())
                .collect();
            RootSource::Forward { upstreams, tlds }
        };
        if r.tlds.is_some() && !matches!(source, RootSource::Forward { .. }) {
            return Err(self.err_root(
                idx,
                "tlds",
                format!("root {:?}: tlds is only for forward roots", r.name),
            ));
        }
        let mut special_use = Vec::new();
        for t in r.special_use.iter().flatten() {
            let t = t.trim_matches('.').to_ascii_lowercase();
            if !matches!(source, RootSource::Zones(_)) {
                return Err(self.err_root(
                    idx,
                    "special-use",
                    format!("root {:?}: special-use is only for zones roots", r.name),
                ));
            }
            if !crate::names::OPT_IN_TLDS.contains(&t.as_str()) {
                return Err(self.err_root(idx, "special-use",
                    format!(
                        "root {:?}: special-use {t:?} is not one of {} (localhost is always answered locally)",
                        r.name,
                        crate::names::OPT_IN_TLDS.join(", ")
                    ),
                ));
            }
            special_use.push(t);
        }
        Ok(RootConfig {
            name: r.name.clone(),
            source,
            special_use,
            port: r.port.unwrap_or(53),
            qname_minimisation: r.qname_minimisation.unwrap_or(true),
            ipv6: r.ipv6.unwrap_or(false),
        })
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
            "[[root]]\nname = \"x\"\nhints = \"builtin\"",
            "[collisions]",
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
        assert_eq!(c.server.query_timeout, DEFAULT_QUERY_TIMEOUT);
        match &c.roots[0].source {
            RootSource::Forward { upstreams, tlds } => {
                assert_eq!(upstreams[0], "127.0.0.9:53".parse().unwrap());
                assert_eq!(upstreams[1], "[::1]:5300".parse().unwrap());
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
    fn shipped_config_parses() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("config/altroot.toml");
        let c = Config::load(&path).unwrap();
        assert_eq!(c.roots[0].name, "alt");
        assert_eq!(c.roots.last().map(|r| r.name.as_str()), Some("icann"));
        assert_eq!(c.server.query_timeout, DEFAULT_QUERY_TIMEOUT);
        assert_eq!(c.cache.max_entries, DEFAULT_CACHE_ENTRIES);
    }
}
