//! From the file's shape to the validated [`Config`]: paths resolved relative to the
//! file, addresses, networks and durations parsed, and the rules TOML cannot express
//! checked. Every error names the file and the line of the value at fault.
//!
//! Validation goes on past an error: the value at fault is reported and replaced by
//! its default (or left out), so one run of `check` lists every error in the file.

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use ipnet::IpNet;
use toml::Spanned;

use super::file::{
    FileCache, FileCollisions, FileConfig, FileLimits, FileServer, FileTransfer, Text,
};
use super::{
    CacheConfig, CollisionConfig, Config, ConfigError, LimitsConfig, Policy, ServerConfig,
    TransferConfig, defaults, parse_net, parse_socket_addr,
};

pub(super) struct Validator<'a> {
    pub text: &'a str,
    pub path: &'a Path,
    pub base: &'a Path,
    /// Every error found so far.
    pub errors: RefCell<Vec<ConfigError>>,
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

    /// Records an error at the line where `value` is written, and goes on.
    pub(super) fn report<T>(&self, value: &Spanned<T>, message: String) {
        let e = self.at(value, message);
        self.errors.borrow_mut().push(e);
    }

    /// The value, or `fallback` once the error is recorded.
    pub(super) fn or<T>(&self, r: Result<T, ConfigError>, fallback: T) -> T {
        r.unwrap_or_else(|e| {
            self.errors.borrow_mut().push(e);
            fallback
        })
    }

    fn duration(&self, key: &str, value: Option<&Text>, default: Duration) -> Duration {
        let Some(s) = value else { return default };
        let parsed = humantime::parse_duration(s.get_ref()).map_err(|e| {
            self.at(
                s,
                format!(
                    "{key}: bad duration {:?} ({e}); use e.g. \"5s\", \"1h\"",
                    s.get_ref()
                ),
            )
        });
        self.or(parsed, default)
    }

    /// A count that must be at least `min`.
    fn count(
        &self,
        key: &str,
        value: Option<&Spanned<usize>>,
        default: usize,
        min: usize,
    ) -> usize {
        match value {
            None => default,
            Some(v) if *v.get_ref() < min => {
                self.report(v, format!("{key}: must be at least {min}"));
                default
            }
            Some(v) => *v.get_ref(),
        }
    }

    /// The networks of a list; each one that is not is reported.
    fn networks(&self, key: &str, list: &[Text]) -> Vec<IpNet> {
        list.iter()
            .filter_map(|s| {
                let net = parse_net(s.get_ref());
                if net.is_none() {
                    self.report(
                        s,
                        format!(
                            "{key}: {:?} is not a network (want \"10.0.0.0/8\" or an address)",
                            s.get_ref()
                        ),
                    );
                }
                net
            })
            .collect()
    }

    /// The validated config, or every error found.
    pub fn validate(&self, file: FileConfig) -> Result<Config, Vec<ConfigError>> {
        let server = self.server(&file.server);
        let cache = self.cache(&file.cache);
        let limits = self.limits(&file.limits);
        let transfer = self.transfer(&file.transfer);
        let (roots, declared) = self.roots(&file.roots, &transfer.keys);
        let collisions = self.collisions(&file.collisions, &declared);
        let metrics = self.metrics(&file.metrics);
        let log = self.log(&file.log);
        let mut errors = self.errors.take();
        if !errors.is_empty() {
            errors.sort_by_key(|e| e.line);
            return Err(errors);
        }
        Ok(Config {
            source: Some(self.path.to_path_buf()),
            server,
            cache,
            limits,
            roots,
            collisions,
            metrics,
            log,
            transfer,
        })
    }

    fn transfer(&self, f: &FileTransfer) -> TransferConfig {
        TransferConfig {
            allow: f
                .allow
                .as_ref()
                .map_or_else(Vec::new, |l| self.networks("transfer allow", l)),
            secondaries: f
                .secondaries
                .iter()
                .flatten()
                .filter_map(|s| {
                    let a = parse_socket_addr(s.get_ref(), 53);
                    if a.is_none() {
                        self.report(
                            s,
                            format!(
                                "secondaries: {:?} is not an address (want \"192.0.2.1\" or \"192.0.2.1:5353\")",
                                s.get_ref()
                            ),
                        );
                    }
                    a
                })
                .collect(),
            keys: self.tsig_keys(f.keys.as_deref().unwrap_or_default()),
            require_tsig: f.require_tsig.unwrap_or(false),
        }
    }

    /// `[transfer] keys`: a name, an algorithm hickory signs with, a base64 secret
    /// of at least 16 bytes; each name once.
    fn tsig_keys(&self, keys: &[Spanned<super::file::FileTsigKey>]) -> Vec<super::TsigKey> {
        use hickory_proto::rr::Name;
        use hickory_proto::rr::rdata::tsig::TsigAlgorithm;
        let mut out: Vec<super::TsigKey> = Vec::new();
        for k in keys {
            let k = k.get_ref();
            let name = match Name::from_ascii(k.name.get_ref()) {
                Ok(mut n) if !k.name.get_ref().is_empty() => {
                    n.set_fqdn(true);
                    n
                }
                _ => {
                    self.report(
                        &k.name,
                        format!("keys: {:?} is not a key name", k.name.get_ref()),
                    );
                    continue;
                }
            };
            if out.iter().any(|o| o.name == name) {
                self.report(&k.name, format!("keys: {name} is defined twice"));
                continue;
            }
            let algorithm = match k
                .algorithm
                .as_ref()
                .map(|a| a.get_ref().to_ascii_lowercase())
            {
                None => TsigAlgorithm::HmacSha256,
                Some(a) if a == "hmac-sha256" => TsigAlgorithm::HmacSha256,
                Some(a) if a == "hmac-sha384" => TsigAlgorithm::HmacSha384,
                Some(a) if a == "hmac-sha512" => TsigAlgorithm::HmacSha512,
                Some(a) => {
                    if let Some(at) = &k.algorithm {
                        self.report(
                            at,
                            format!("keys: algorithm {a:?} is not \"hmac-sha256\", \"hmac-sha384\" or \"hmac-sha512\""),
                        );
                    }
                    continue;
                }
            };
            let secret = match data_encoding::BASE64.decode(k.secret.get_ref().trim().as_bytes()) {
                Ok(s) if s.len() >= 16 => s,
                Ok(_) => {
                    self.report(
                        &k.secret,
                        format!("keys: the secret of {name} is shorter than 16 bytes"),
                    );
                    continue;
                }
                Err(e) => {
                    self.report(
                        &k.secret,
                        format!("keys: the secret of {name} is not base64 ({e})"),
                    );
                    continue;
                }
            };
            out.push(super::TsigKey {
                name,
                algorithm,
                secret,
            });
        }
        out
    }

    fn server(&self, f: &FileServer) -> ServerConfig {
        let defaults = ServerConfig::default();
        let listen = match &f.listen {
            None => defaults.listen.clone(),
            Some(list) => {
                let mut out = Vec::new();
                for s in list.get_ref() {
                    match parse_socket_addr(s.get_ref(), 53) {
                        Some(a) => out.push(a),
                        None => self.report(
                            s,
                            format!(
                                "listen: {:?} is not an address (want \"127.0.0.1:5353\" or \"[::1]:5353\")",
                                s.get_ref()
                            ),
                        ),
                    }
                }
                if list.get_ref().is_empty() {
                    self.report(list, "listen: at least one address is needed".into());
                }
                if out.is_empty() {
                    defaults.listen.clone()
                } else {
                    out
                }
            }
        };
        let allow = match &f.allow {
            None => defaults.allow.clone(),
            Some(list) => self.networks("allow", list),
        };
        let upstream_deny = match &f.upstream_deny {
            None => defaults.upstream_deny.clone(),
            Some(list) => self.networks("upstream-deny", list),
        };
        let mut query_timeout = self.duration(
            "query-timeout",
            f.query_timeout.as_ref(),
            defaults.query_timeout,
        );
        // (The default is not 0: only a written value can be.)
        if let Some(s) = &f.query_timeout
            && query_timeout.is_zero()
        {
            self.report(s, "query-timeout: must be more than 0".into());
            query_timeout = defaults.query_timeout;
        }
        let tcp_idle_timeout = self.duration(
            "tcp-idle-timeout",
            f.tcp_idle_timeout.as_ref(),
            defaults.tcp_idle_timeout,
        );
        let (tls_listen, https_listen, quic_listen, tls) = self.encrypted_listeners(f);
        ServerConfig {
            tls_listen,
            https_listen,
            quic_listen,
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
            ),
            tcp_idle_timeout: tcp_idle_timeout.max(Duration::from_millis(100)),
        }
    }

    fn cache(&self, f: &FileCache) -> CacheConfig {
        let d = CacheConfig::default();
        let max_size = match &f.max_size {
            None => d.max_size,
            Some(s) => parse_size(s.get_ref()).unwrap_or_else(|| {
                self.report(
                    s,
                    format!(
                        "max-size: bad size {:?}; use e.g. \"256MiB\", \"1GiB\"",
                        s.get_ref()
                    ),
                );
                d.max_size
            }),
        };
        CacheConfig {
            max_size,
            max_ttl: self.duration("max-ttl", f.max_ttl.as_ref(), d.max_ttl),
            negative_max_ttl: self.duration(
                "negative-max-ttl",
                f.negative_max_ttl.as_ref(),
                d.negative_max_ttl,
            ),
            min_ttl: self.duration("min-ttl", f.min_ttl.as_ref(), d.min_ttl),
            serve_stale: self.duration("serve-stale", f.serve_stale.as_ref(), d.serve_stale),
        }
    }

    fn limits(&self, f: &FileLimits) -> LimitsConfig {
        let d = LimitsConfig::default();
        // A count with its key and lower bound (0: the limit may switch a step off).
        macro_rules! count {
            ($field:ident, $key:literal, $min:expr) => {
                self.count($key, f.$field.as_ref(), d.$field, $min)
            };
        }
        let at_most = |key: &str, v: &Option<Spanned<u8>>, default: u8, max: u8| match v {
            Some(p) if *p.get_ref() > max => {
                self.report(p, format!("{key}: at most {max}"));
                default
            }
            Some(p) => *p.get_ref(),
            None => default,
        };
        let slip = match &f.rate_limit_slip {
            Some(s) if *s.get_ref() > 10 => {
                self.report(s, "rate-limit-slip: 0 to 10".into());
                d.rate_limit_slip
            }
            Some(s) => *s.get_ref(),
            None => d.rate_limit_slip,
        };
        let (v4, v6) = (&f.rate_limit_ipv4_prefix, &f.rate_limit_ipv6_prefix);
        LimitsConfig {
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
            rate_limit_ipv4_prefix: at_most(
                "rate-limit-ipv4-prefix",
                v4,
                d.rate_limit_ipv4_prefix,
                32,
            ),
            rate_limit_ipv6_prefix: at_most(
                "rate-limit-ipv6-prefix",
                v6,
                d.rate_limit_ipv6_prefix,
                128,
            ),
        }
    }

    /// `declared`: every root name the file writes, also of roots with errors (a pin
    /// naming one of those is not a second error).
    fn collisions(&self, f: &FileCollisions, declared: &[String]) -> CollisionConfig {
        let policy = match &f.policy {
            None => Policy::First,
            Some(p) => match p.get_ref().as_str() {
                "first" => Policy::First,
                "interrupt" => Policy::Interrupt,
                "first-come" => Policy::FirstCome,
                other => {
                    self.report(
                        p,
                        format!(
                            "policy: {other:?} is not \"first\", \"interrupt\" or \"first-come\""
                        ),
                    );
                    Policy::First
                }
            },
        };
        let mut pin = BTreeMap::new();
        for (tld, root) in &f.pin {
            if !declared.contains(root.get_ref()) {
                self.report(
                    root,
                    format!("pin: {tld} = {:?} names no [[root]]", root.get_ref()),
                );
                continue;
            }
            pin.insert(
                tld.trim_matches('.').to_ascii_lowercase(),
                root.get_ref().clone(),
            );
        }
        CollisionConfig { policy, pin }
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

pub(super) fn readable_file(p: &PathBuf) -> std::io::Result<()> {
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
