//! From the file's shape to the validated [`Config`]: paths resolved relative to the
//! file, addresses, networks and durations parsed, and the rules TOML cannot express
//! checked. Every error names the file and the line of the value at fault.

use std::collections::{BTreeMap, HashSet};
use std::path::{Path, PathBuf};
use std::time::Duration;

use ipnet::IpNet;
use toml::Spanned;

use super::file::{FileCache, FileCollisions, FileConfig, FileLimits, FileRoot, FileServer, Text};
use super::{
    CacheConfig, CollisionConfig, Config, ConfigError, Hints, LimitsConfig, Policy, RootConfig,
    RootSource, ServerConfig, defaults, join_clean, parse_net, parse_socket_addr,
};

pub(super) struct Validator<'a> {
    pub text: &'a str,
    pub path: &'a Path,
    pub base: &'a Path,
}

/// 1-based line of a byte offset.
pub(super) fn line_of(text: &str, offset: usize) -> usize {
    text.as_bytes()[..offset.min(text.len())]
        .iter()
        .filter(|&&b| b == b'\n')
        .count()
        + 1
}

impl Validator<'_> {
    /// An error at the line where `value` is written.
    pub(super) fn at<T>(&self, value: &Spanned<T>, message: String) -> ConfigError {
        ConfigError {
            file: self.path.to_path_buf(),
            line: Some(line_of(self.text, value.span().start)),
            message,
        }
    }

    fn duration(
        &self,
        key: &str,
        value: Option<&Text>,
        default: Duration,
    ) -> Result<Duration, ConfigError> {
        match value {
            None => Ok(default),
            Some(s) => humantime::parse_duration(s.get_ref()).map_err(|e| {
                self.at(
                    s,
                    format!(
                        "{key}: bad duration {:?} ({e}); use e.g. \"5s\", \"1h\"",
                        s.get_ref()
                    ),
                )
            }),
        }
    }

    /// A count that must be at least `min`.
    fn count(
        &self,
        key: &str,
        value: Option<&Spanned<usize>>,
        default: usize,
        min: usize,
    ) -> Result<usize, ConfigError> {
        match value {
            None => Ok(default),
            Some(v) if *v.get_ref() < min => {
                Err(self.at(v, format!("{key}: must be at least {min}")))
            }
            Some(v) => Ok(*v.get_ref()),
        }
    }

    fn networks(&self, key: &str, list: &[Text]) -> Result<Vec<IpNet>, ConfigError> {
        list.iter()
            .map(|s| {
                parse_net(s.get_ref()).ok_or_else(|| {
                    self.at(
                        s,
                        format!(
                            "{key}: {:?} is not a network (want \"10.0.0.0/8\" or an address)",
                            s.get_ref()
                        ),
                    )
                })
            })
            .collect()
    }

    pub fn validate(&self, file: FileConfig) -> Result<Config, ConfigError> {
        let server = self.server(&file.server)?;
        let cache = self.cache(&file.cache)?;
        let limits = self.limits(&file.limits)?;
        let roots = self.roots(&file.roots)?;
        let collisions = self.collisions(&file.collisions, &roots)?;
        let metrics = self.metrics(&file.metrics)?;
        let log = self.log(&file.log)?;
        Ok(Config {
            source: Some(self.path.to_path_buf()),
            server,
            cache,
            limits,
            roots,
            collisions,
            metrics,
            log,
        })
    }

    fn server(&self, f: &FileServer) -> Result<ServerConfig, ConfigError> {
        let defaults = ServerConfig::default();
        let listen = match &f.listen {
            None => defaults.listen,
            Some(list) => {
                let mut out = Vec::new();
                for s in list.get_ref() {
                    out.push(parse_socket_addr(s.get_ref(), 53).ok_or_else(|| {
                        self.at(
                            s,
                            format!(
                                "listen: {:?} is not an address (want \"127.0.0.1:5353\" or \"[::1]:5353\")",
                                s.get_ref()
                            ),
                        )
                    })?);
                }
                if out.is_empty() {
                    return Err(self.at(list, "listen: at least one address is needed".into()));
                }
                out
            }
        };
        let allow = match &f.allow {
            None => defaults.allow,
            Some(list) => self.networks("allow", list)?,
        };
        let upstream_deny = match &f.upstream_deny {
            None => defaults.upstream_deny,
            Some(list) => self.networks("upstream-deny", list)?,
        };
        let query_timeout = self.duration(
            "query-timeout",
            f.query_timeout.as_ref(),
            defaults.query_timeout,
        )?;
        // (The default is not 0: only a written value can be.)
        if let Some(s) = &f.query_timeout
            && query_timeout.is_zero()
        {
            return Err(self.at(s, "query-timeout: must be more than 0".into()));
        }
        let tcp_idle_timeout = self.duration(
            "tcp-idle-timeout",
            f.tcp_idle_timeout.as_ref(),
            defaults.tcp_idle_timeout,
        )?;
        let (tls_listen, https_listen, tls) = self.encrypted_listeners(f)?;
        Ok(ServerConfig {
            tls_listen,
            https_listen,
            tls,
            listen,
            allow,
            query_timeout,
            upstream_deny,
            tcp_clients: self.count(
                "tcp-clients",
                f.tcp_clients.as_ref(),
                defaults.tcp_clients,
                1,
            )?,
            tcp_idle_timeout: tcp_idle_timeout.max(Duration::from_millis(100)),
        })
    }

    fn cache(&self, f: &FileCache) -> Result<CacheConfig, ConfigError> {
        let d = CacheConfig::default();
        Ok(CacheConfig {
            max_size: match &f.max_size {
                None => d.max_size,
                Some(s) => parse_size(s.get_ref()).ok_or_else(|| {
                    self.at(
                        s,
                        format!(
                            "max-size: bad size {:?}; use e.g. \"256MiB\", \"1GiB\"",
                            s.get_ref()
                        ),
                    )
                })?,
            },
            max_ttl: self.duration("max-ttl", f.max_ttl.as_ref(), d.max_ttl)?,
            negative_max_ttl: self.duration(
                "negative-max-ttl",
                f.negative_max_ttl.as_ref(),
                d.negative_max_ttl,
            )?,
            min_ttl: self.duration("min-ttl", f.min_ttl.as_ref(), d.min_ttl)?,
            serve_stale: self.duration("serve-stale", f.serve_stale.as_ref(), d.serve_stale)?,
        })
    }

    fn limits(&self, f: &FileLimits) -> Result<LimitsConfig, ConfigError> {
        let d = LimitsConfig::default();
        // A count with its key and lower bound (0: the limit may switch a step off).
        macro_rules! count {
            ($field:ident, $key:literal, $min:expr) => {
                self.count($key, f.$field.as_ref(), d.$field, $min)?
            };
        }
        let prefix = |key: &str, v: &Option<Spanned<u8>>, default: u8, max: u8| match v {
            Some(p) if *p.get_ref() > max => Err(self.at(p, format!("{key}: at most {max}"))),
            Some(p) => Ok(*p.get_ref()),
            None => Ok(default),
        };
        let slip = match &f.rate_limit_slip {
            Some(s) if *s.get_ref() > 10 => {
                return Err(self.at(s, "rate-limit-slip: 0 to 10".into()));
            }
            Some(s) => *s.get_ref(),
            None => d.rate_limit_slip,
        };
        let (v4, v6) = (&f.rate_limit_ipv4_prefix, &f.rate_limit_ipv6_prefix);
        Ok(LimitsConfig {
            max_upstream_queries: count!(max_upstream_queries, "max-upstream-queries", 1),
            max_queries_per_zone: count!(max_queries_per_zone, "max-queries-per-zone", 1),
            max_referrals: count!(max_referrals, "max-referrals", 1),
            max_ns_per_zone: count!(max_ns_per_zone, "max-ns-per-zone", 1),
            max_glueless_ns: count!(max_glueless_ns, "max-glueless-ns", 0),
            max_failed_ns_lookups: count!(max_failed_ns_lookups, "max-failed-ns-lookups", 0),
            max_cname_chain: count!(max_cname_chain, "max-cname-chain", 0),
            max_depth: count!(max_depth, "max-depth", 0),
            max_resolutions: count!(max_resolutions, "max-resolutions", 1),
            max_per_client: count!(max_per_client, "max-per-client", 1),
            rate_limit: f.rate_limit.unwrap_or(d.rate_limit),
            rate_limit_slip: slip,
            rate_limit_ipv4_prefix: prefix(
                "rate-limit-ipv4-prefix",
                v4,
                d.rate_limit_ipv4_prefix,
                32,
            )?,
            rate_limit_ipv6_prefix: prefix(
                "rate-limit-ipv6-prefix",
                v6,
                d.rate_limit_ipv6_prefix,
                128,
            )?,
        })
    }

    fn roots(&self, list: &[Spanned<FileRoot>]) -> Result<Vec<RootConfig>, ConfigError> {
        if list.is_empty() {
            return Ok(Config::builtin().roots);
        }
        let mut seen = HashSet::new();
        let mut roots = Vec::new();
        for (i, r) in list.iter().enumerate() {
            let r = r.get_ref();
            let root = self.root(r)?;
            if !seen.insert(root.name.clone()) {
                return Err(self.at(&r.name, format!("root name {:?} is used twice", root.name)));
            }
            let catch_all =
                matches!(&root.source, RootSource::Forward { tlds, .. } if tlds.is_empty());
            if catch_all && i + 1 < list.len() {
                return Err(self.at(
                    &r.name,
                    format!(
                        "root {:?}: a forward root without tlds takes every TLD, so it must be the last root (or list its tlds)",
                        root.name
                    ),
                ));
            }
            roots.push(root);
        }
        Ok(roots)
    }

    fn root(&self, r: &FileRoot) -> Result<RootConfig, ConfigError> {
        let name = r.name.get_ref().clone();
        if name.is_empty() {
            return Err(self.at(&r.name, "root: name must not be empty".into()));
        }
        let count = [r.zones.is_some(), r.hints.is_some(), r.forward.is_some()]
            .iter()
            .filter(|b| **b)
            .count();
        if count != 1 {
            return Err(self.at(
                &r.name,
                format!(
                    "root {name:?}: needs exactly one of zones, hints or forward (has {count})"
                ),
            ));
        }
        let source = self.source(&name, r)?;
        if let Some(c) = &r.tls_ca
            && r.forward.is_none()
        {
            return Err(self.at(
                c,
                format!("root {name:?}: tls-ca is only for forward roots"),
            ));
        }
        if let Some(t) = &r.tlds
            && !matches!(source, RootSource::Forward { .. })
        {
            return Err(self.at(t, format!("root {name:?}: tlds is only for forward roots")));
        }
        let mut special_use = Vec::new();
        for t in r.special_use.iter().flatten() {
            let label = t.get_ref().trim_matches('.').to_ascii_lowercase();
            if !matches!(source, RootSource::Zones(_)) {
                return Err(self.at(
                    t,
                    format!("root {name:?}: special-use is only for zones roots"),
                ));
            }
            if !crate::names::OPT_IN_TLDS.contains(&label.as_str()) {
                return Err(self.at(
                    t,
                    format!(
                        "root {name:?}: special-use {label:?} is not one of {} (localhost is always answered locally)",
                        crate::names::OPT_IN_TLDS.join(", ")
                    ),
                ));
            }
            special_use.push(label);
        }
        Ok(RootConfig {
            name,
            source,
            special_use,
            port: r.port.unwrap_or(53),
            qname_minimisation: r.qname_minimisation.unwrap_or(true),
            ipv6: r.ipv6.unwrap_or(false),
            allow_loopback_upstream: r.allow_loopback_upstream.unwrap_or(false),
        })
    }

    fn source(&self, name: &str, r: &FileRoot) -> Result<RootSource, ConfigError> {
        if let Some(z) = &r.zones {
            let dir = join_clean(self.base, z.get_ref());
            if !dir.is_dir() {
                return Err(self.at(
                    z,
                    format!(
                        "root {name:?}: zones folder {} does not exist",
                        dir.display()
                    ),
                ));
            }
            return Ok(RootSource::Zones(dir));
        }
        if let Some(h) = &r.hints {
            if h.get_ref() == "builtin" {
                return Ok(RootSource::Hints(Hints::Builtin));
            }
            let p = join_clean(self.base, h.get_ref());
            return match readable_file(&p) {
                Ok(()) => Ok(RootSource::Hints(Hints::File(p))),
                Err(e) => Err(self.at(
                    h,
                    format!("root {name:?}: cannot read hints file {}: {e}", p.display()),
                )),
            };
        }
        let (upstreams, tls_ca) = self.forward_upstreams(name, r)?;
        if upstreams.is_empty() {
            return Err(self.at(
                &r.name,
                format!("root {name:?}: forward needs at least one upstream"),
            ));
        }
        let tlds = r
            .tlds
            .as_ref()
            .map(|t| {
                t.get_ref()
                    .iter()
                    .map(|t| t.trim_matches('.').to_ascii_lowercase())
                    .collect()
            })
            .unwrap_or_default();
        Ok(RootSource::Forward {
            upstreams,
            tlds,
            tls_ca,
        })
    }

    fn collisions(
        &self,
        f: &FileCollisions,
        roots: &[RootConfig],
    ) -> Result<CollisionConfig, ConfigError> {
        let policy = match &f.policy {
            None => Policy::First,
            Some(p) => match p.get_ref().as_str() {
                "first" => Policy::First,
                "interrupt" => Policy::Interrupt,
                other => {
                    return Err(self.at(
                        p,
                        format!("policy: {other:?} is not \"first\" or \"interrupt\""),
                    ));
                }
            },
        };
        let mut pin = BTreeMap::new();
        for (tld, root) in &f.pin {
            if !roots.iter().any(|r| &r.name == root.get_ref()) {
                return Err(self.at(
                    root,
                    format!("pin: {tld} = {:?} names no [[root]]", root.get_ref()),
                ));
            }
            pin.insert(
                tld.trim_matches('.').to_ascii_lowercase(),
                root.get_ref().clone(),
            );
        }
        Ok(CollisionConfig { policy, pin })
    }
}

/// A size like `"512KiB"`, `"256MiB"`, `"1GiB"` or a plain number of bytes (K, M and
/// G are binary multiples, with or without `iB`/`B`).
pub(super) fn parse_size(s: &str) -> Option<u64> {
    let s = s.trim();
    let digits = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
    let n: u64 = s[..digits].parse().ok()?;
    let shift = match s[digits..].trim().to_ascii_lowercase().as_str() {
        "" | "b" => 0,
        "k" | "kb" | "kib" => 10,
        "m" | "mb" | "mib" => 20,
        "g" | "gb" | "gib" => 30,
        _ => return None,
    };
    n.checked_mul(1 << shift)
}

fn readable_file(p: &PathBuf) -> std::io::Result<()> {
    let m = std::fs::metadata(p)?;
    if !m.is_file() {
        return Err(std::io::Error::other("not a file"));
    }
    std::fs::File::open(p).map(|_| ())
}

/// The defaults as `LimitsConfig` (used by `Config::builtin` and the validator).
impl Default for LimitsConfig {
    fn default() -> LimitsConfig {
        LimitsConfig {
            max_upstream_queries: defaults::MAX_UPSTREAM_QUERIES,
            max_queries_per_zone: defaults::MAX_QUERIES_PER_ZONE,
            max_referrals: defaults::MAX_REFERRALS,
            max_ns_per_zone: defaults::MAX_NS_PER_ZONE,
            max_glueless_ns: defaults::MAX_GLUELESS_NS,
            max_failed_ns_lookups: defaults::MAX_FAILED_NS_LOOKUPS,
            max_cname_chain: defaults::MAX_CNAME_CHAIN,
            max_depth: defaults::MAX_DEPTH,
            max_resolutions: defaults::MAX_RESOLUTIONS,
            max_per_client: defaults::MAX_PER_CLIENT,
            rate_limit: defaults::RATE_LIMIT,
            rate_limit_slip: defaults::RATE_LIMIT_SLIP,
            rate_limit_ipv4_prefix: defaults::RATE_LIMIT_IPV4_PREFIX,
            rate_limit_ipv6_prefix: defaults::RATE_LIMIT_IPV6_PREFIX,
        }
    }
}
