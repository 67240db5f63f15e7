//! `[metrics]` and `[log]`: how a running altroot is watched. Validated here, like
//! every other section, with the line of the value at fault.

use std::net::SocketAddr;
use std::path::PathBuf;

use super::file::{FileLog, FileMetrics};
use super::validate::{Validator, parse_size};
use super::{defaults, join_clean};

/// `[metrics]`: the HTTP listener for `/metrics`, the status page and its API.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct MetricsConfig {
    /// Off when `None`. A non-loopback address needs `allow_remote`.
    pub listen: Option<SocketAddr>,
    /// Lets `listen` be a non-loopback address, and accepts any `Host` header.
    pub allow_remote: bool,
}

/// `[log]`: the query log's JSON-lines file and what both query logs show.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LogConfig {
    /// One JSON object per query, besides the stderr line; off when `None`.
    pub query_file: Option<PathBuf>,
    /// Rotate when the file grows past this many bytes (0: never; SIGUSR1 reopens).
    pub query_file_max_size: u64,
    /// Rotated files kept (`file.1` … `file.N`).
    pub query_file_keep: usize,
    /// How the client appears in the query logs.
    pub client: ClientField,
}

impl Default for LogConfig {
    fn default() -> LogConfig {
        LogConfig {
            query_file: None,
            query_file_max_size: defaults::QUERY_FILE_MAX_SIZE,
            query_file_keep: defaults::QUERY_FILE_KEEP,
            client: ClientField::Address,
        }
    }
}

/// How much of the client's address the query logs keep.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ClientField {
    /// Address and port.
    Address,
    /// The network only: /24 for IPv4, /56 for IPv6 (the rate limit's prefixes).
    Prefix,
    /// Left out.
    None,
}

impl Validator<'_> {
    pub(super) fn metrics(&self, f: &FileMetrics) -> MetricsConfig {
        let allow_remote = f.allow_remote.unwrap_or(false);
        let off = MetricsConfig {
            listen: None,
            allow_remote,
        };
        let Some(text) = &f.listen else {
            return off;
        };
        let Ok(addr) = text.get_ref().parse::<SocketAddr>() else {
            self.report(
                text,
                format!(
                    "listen: {:?} is not an address with a port (want \"127.0.0.1:9153\")",
                    text.get_ref()
                ),
            );
            return off;
        };
        // The page runs `compare` and shows what the resolver saw: the machine's
        // business unless the operator says otherwise, in so many words.
        if !addr.ip().is_loopback() && !allow_remote {
            self.report(
                text,
                format!(
                    "listen: {addr} is not a loopback address; the metrics and status page \
                     would be open to the network: set allow-remote = true to mean it"
                ),
            );
            return off;
        }
        MetricsConfig {
            listen: Some(addr),
            allow_remote,
        }
    }

    pub(super) fn log(&self, f: &FileLog) -> LogConfig {
        let d = LogConfig::default();
        let query_file = f
            .query_file
            .as_ref()
            .map(|p| join_clean(self.base, p.get_ref()));
        let query_file_max_size = match &f.query_file_max_size {
            None => d.query_file_max_size,
            Some(s) => parse_size(s.get_ref()).unwrap_or_else(|| {
                self.report(
                    s,
                    format!(
                        "query-file-max-size: bad size {:?}; use e.g. \"100MiB\", or \"0\" for never",
                        s.get_ref()
                    ),
                );
                d.query_file_max_size
            }),
        };
        let query_file_keep = match &f.query_file_keep {
            None => d.query_file_keep,
            Some(k) if *k.get_ref() == 0 || *k.get_ref() > 100 => {
                self.report(k, "query-file-keep: 1 to 100".into());
                d.query_file_keep
            }
            Some(k) => *k.get_ref(),
        };
        let client = match &f.client {
            None => d.client,
            Some(c) => match c.get_ref().as_str() {
                "address" => ClientField::Address,
                "prefix" => ClientField::Prefix,
                "none" => ClientField::None,
                other => {
                    self.report(
                        c,
                        format!("client: {other:?} is not \"address\", \"prefix\" or \"none\""),
                    );
                    d.client
                }
            },
        };
        LogConfig {
            query_file,
            query_file_max_size,
            query_file_keep,
            client,
        }
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use crate::config::{ClientField, Config, ConfigError, defaults};

    fn parse(text: &str) -> Result<Config, ConfigError> {
        Config::from_toml(text, Path::new("/etc/altroot/altroot.toml"))
            .map_err(|e| e.first().clone())
    }

    #[test]
    fn metrics_are_off_by_default_and_loopback_only_unless_allowed() {
        let c = parse("").unwrap();
        assert_eq!(c.metrics.listen, None);
        let c = parse("[metrics]\nlisten = \"127.0.0.1:9153\"\n").unwrap();
        assert_eq!(c.metrics.listen, Some("127.0.0.1:9153".parse().unwrap()));
        parse("[metrics]\nlisten = \"[::1]:9153\"\n").unwrap();
        let e = parse("[metrics]\nlisten = \"0.0.0.0:9153\"\n").unwrap_err();
        assert_eq!(e.line, Some(2), "{e}");
        assert!(e.message.contains("allow-remote = true"), "{e}");
        let c = parse("[metrics]\nlisten = \"0.0.0.0:9153\"\nallow-remote = true\n").unwrap();
        assert!(c.metrics.allow_remote);
        let e = parse("[metrics]\nlisten = \"127.0.0.1\"\n").unwrap_err();
        assert!(e.message.contains("with a port"), "{e}");
        let e = parse("[metrics]\nlisten = \"127.0.0.1:9153\"\nport = 1\n").unwrap_err();
        assert!(e.message.contains("port"), "{e}");
    }

    #[test]
    fn log_settings() {
        let c = parse("").unwrap();
        assert_eq!(c.log.query_file, None);
        assert_eq!(c.log.query_file_max_size, defaults::QUERY_FILE_MAX_SIZE);
        assert_eq!(c.log.client, ClientField::Address);
        let c = parse("[log]\nquery-file = \"q/queries.jsonl\"\nquery-file-max-size = \"1MiB\"\nquery-file-keep = 2\nclient = \"none\"\n").unwrap();
        assert_eq!(
            c.log.query_file.as_deref(),
            Some(Path::new("/etc/altroot/q/queries.jsonl"))
        );
        assert_eq!(c.log.query_file_max_size, 1 << 20);
        assert_eq!(c.log.query_file_keep, 2);
        assert_eq!(c.log.client, ClientField::None);
        let e = parse("[log]\nclient = \"hashed\"\n").unwrap_err();
        assert_eq!(e.line, Some(2), "{e}");
        let e = parse("[log]\nquery-file-keep = 0\n").unwrap_err();
        assert!(e.message.contains("1 to 100"), "{e}");
        let e = parse("[log]\nquery-file-max-size = \"big\"\n").unwrap_err();
        assert!(e.message.contains("bad size"), "{e}");
    }
}
