//! The config file's shape on disk: exactly the TOML, nothing validated yet.
//! Unknown keys are errors (`deny_unknown_fields`); values that need checking beyond
//! their TOML type carry their position (`Spanned`) so errors can name the line.

use std::collections::BTreeMap;

use serde::Deserialize;
use toml::Spanned;

/// A string with its position in the file.
pub type Text = Spanned<String>;

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct FileConfig {
    #[serde(default)]
    pub server: FileServer,
    #[serde(default)]
    pub cache: FileCache,
    #[serde(default)]
    pub limits: FileLimits,
    #[serde(default, rename = "root")]
    pub roots: Vec<Spanned<FileRoot>>,
    #[serde(default)]
    pub collisions: FileCollisions,
    #[serde(default)]
    pub metrics: FileMetrics,
    #[serde(default)]
    pub log: FileLog,
    #[serde(default)]
    pub transfer: FileTransfer,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct FileServer {
    pub listen: Option<Spanned<Vec<Text>>>,
    pub allow: Option<Vec<Text>>,
    pub query_timeout: Option<Text>,
    pub upstream_deny: Option<Vec<Text>>,
    pub tcp_clients: Option<Spanned<usize>>,
    pub tcp_idle_timeout: Option<Text>,
    pub tls_listen: Option<Spanned<Vec<Text>>>,
    pub https_listen: Option<Spanned<Vec<Text>>>,
    pub quic_listen: Option<Spanned<Vec<Text>>>,
    pub tls_cert: Option<Text>,
    pub tls_key: Option<Text>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct FileCache {
    pub max_size: Option<Text>,
    pub max_ttl: Option<Text>,
    pub negative_max_ttl: Option<Text>,
    pub min_ttl: Option<Text>,
    pub serve_stale: Option<Text>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct FileLimits {
    pub max_upstream_queries: Option<Spanned<usize>>,
    pub max_queries_per_zone: Option<Spanned<usize>>,
    pub max_referrals: Option<Spanned<usize>>,
    pub max_ns_per_zone: Option<Spanned<usize>>,
    pub max_glueless_ns: Option<Spanned<usize>>,
    pub max_failed_ns_lookups: Option<Spanned<usize>>,
    pub max_cname_chain: Option<Spanned<usize>>,
    pub max_depth: Option<Spanned<usize>>,
    pub max_resolutions: Option<Spanned<usize>>,
    pub max_per_client: Option<Spanned<usize>>,
    pub rate_limit: Option<u32>,
    pub rate_limit_slip: Option<Spanned<u32>>,
    pub rate_limit_ipv4_prefix: Option<Spanned<u8>>,
    pub rate_limit_ipv6_prefix: Option<Spanned<u8>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct FileRoot {
    pub name: Text,
    pub zones: Option<Text>,
    pub hints: Option<Text>,
    pub forward: Option<Vec<Text>>,
    pub port: Option<u16>,
    pub root_port: Option<Spanned<u16>>,
    pub qname_minimisation: Option<bool>,
    pub ipv6: Option<bool>,
    pub tlds: Option<Spanned<Vec<String>>>,
    pub special_use: Option<Vec<Text>>,
    pub allow_loopback_upstream: Option<bool>,
    pub tls_ca: Option<Text>,
    pub trust_anchors: Option<Spanned<Vec<Text>>>,
    pub negative_trust_anchors: Option<Vec<Text>>,
    pub copy: Option<Text>,
    pub verify: Option<Text>,
    pub transfer_from: Option<Spanned<Vec<Text>>>,
    pub transfer_zones: Option<Vec<Text>>,
    pub transfer_key: Option<Text>,
    pub since: Option<BTreeMap<String, Text>>,
    pub tld_list: Option<Text>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct FileCollisions {
    pub policy: Option<Text>,
    #[serde(default)]
    pub pin: BTreeMap<String, Text>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct FileMetrics {
    pub listen: Option<Text>,
    pub allow_remote: Option<bool>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct FileLog {
    pub query_file: Option<Text>,
    pub query_file_max_size: Option<Text>,
    pub query_file_keep: Option<Spanned<usize>>,
    pub client: Option<Text>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct FileTransfer {
    pub allow: Option<Vec<Text>>,
    pub secondaries: Option<Vec<Text>>,
    pub keys: Option<Vec<Spanned<FileTsigKey>>>,
    pub require_tsig: Option<bool>,
}

/// A TSIG key: `{ name = "xfr.", algorithm = "hmac-sha256", secret = "base64" }`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct FileTsigKey {
    pub name: Text,
    pub algorithm: Option<Text>,
    pub secret: Text,
}
