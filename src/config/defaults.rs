//! Every default of the config file, in one place. `config/altroot.toml` shows the
//! same values uncommented, and a test keeps the two in sync.
//!
//! The resolver budgets follow what Unbound, BIND, PowerDNS and Knot Resolver ship
//! (`shared/RESOLVER-LIMITS.md` has the sources); each constant says which.

use std::time::Duration;

//--- [server]

/// Where `serve` listens when the config says nothing (unprivileged, loopback only).
pub const LISTEN: &[&str] = &["127.0.0.1:5353", "[::1]:5353"];
/// Clients that may query when the config says nothing: loopback and private ranges.
pub const ALLOW: &[&str] = &[
    "127.0.0.0/8",
    "::1/128",
    "10.0.0.0/8",
    "172.16.0.0/12",
    "192.168.0.0/16",
    "fc00::/7",
    "fe80::/10",
];
/// A client never waits longer than this for an answer (anchors: 7–10 s).
pub const QUERY_TIMEOUT: Duration = Duration::from_secs(5);
/// Addresses altroot never sends a query to (Unbound `do-not-query-localhost`,
/// Knot `query-loopback` false, PowerDNS `dont-query`): this host, "this network",
/// link-local, multicast, broadcast, and IPv4-mapped IPv6 (which would bypass the
/// IPv4 entries). A root may lift the loopback entries with
/// `allow-loopback-upstream = true`.
pub const UPSTREAM_DENY: &[&str] = &[
    "127.0.0.0/8",
    "::1/128",
    "0.0.0.0/8",
    "::/128",
    "169.254.0.0/16",
    "fe80::/10",
    "224.0.0.0/4",
    "ff00::/8",
    "255.255.255.255/32",
    "::ffff:0:0/96",
];
/// Client TCP connections open at once (BIND `tcp-clients`).
pub const TCP_CLIENTS: usize = 150;
/// A TCP connection that sends no complete query for this long is closed.
pub const TCP_IDLE_TIMEOUT: Duration = Duration::from_secs(10);

//--- [cache]

/// Bytes all caches may hold together: a quarter for ready answers (wire replies),
/// the rest shared by the roots' caches.
pub const CACHE_SIZE: u64 = 256 << 20;
pub const MAX_TTL: Duration = Duration::from_secs(86_400);
pub const NEGATIVE_MAX_TTL: Duration = Duration::from_secs(3_600);
/// TTLs below this are raised to it, for clients and the cache (Unbound
/// `cache-min-ttl` 0). With 0, TTL-0 answers are answered but never cached.
pub const MIN_TTL: Duration = Duration::ZERO;
/// How long past expiry an answer may be served when a root's servers fail
/// (RFC 8767). Off, as in Unbound, BIND, PowerDNS and Knot.
pub const SERVE_STALE: Duration = Duration::ZERO;

//--- [limits]

/// Upstream queries for one client question, nested name-server lookups and
/// every CNAME link included; never reset (Unbound `max-global-quota` 200, BIND
/// `max-query-count` 200).
pub const MAX_UPSTREAM_QUERIES: usize = 200;
/// Upstream queries to the servers of one zone cut within one resolution (Unbound
/// `max-sent-count` 32, which resets on each referral).
pub const MAX_QUERIES_PER_ZONE: usize = 32;
/// Referrals followed for one name (delegation loops end here).
pub const MAX_REFERRALS: usize = 32;
/// NS names considered per delegation; larger sets are sampled (BIND
/// `max-delegation-servers` 13, PowerDNS `max-ns-per-resolve` 13).
pub const MAX_NS_PER_ZONE: usize = 13;
/// Glueless NS names resolved for one delegation at dependency depth 0; one fewer
/// per level below, at least 1 (BIND 9.21 and Unbound `target-fetch-policy`: 3, 2, 1).
pub const MAX_GLUELESS_NS: usize = 3;
/// NS-name lookups per client question that give no address before SERVFAIL
/// (Unbound `MAX_TARGET_NX` 5, Knot `KR_COUNT_NO_NSADDR_LIMIT` 5).
pub const MAX_FAILED_NS_LOOKUPS: usize = 5;
/// CNAME (and DNAME) links followed (Unbound and BIND 11, PowerDNS 10, Knot 13).
pub const MAX_CNAME_CHAIN: usize = 11;
/// Nested name-server address lookups (Unbound 4 levels, BIND 7).
pub const MAX_DEPTH: usize = 4;
/// Resolutions that talk to upstream servers at once; past it new ones are
/// answered SERVFAIL at once (BIND `recursive-clients` 1000).
pub const MAX_RESOLUTIONS: usize = 1000;
/// Questions one client address may have waiting on the network at once.
pub const MAX_PER_CLIENT: usize = 200;
/// Responses per second per client prefix; 0 = no rate limit (the default of every
/// resolver anchor: RRL is for authoritative servers).
pub const RATE_LIMIT: u32 = 0;
/// Over the rate limit, every `slip`-th response is sent as an empty TC=1 reply (the
/// client retries over TCP), the others are dropped; 0 drops all (BIND `slip` 2).
pub const RATE_LIMIT_SLIP: u32 = 2;
/// Client prefixes the rate limit counts together (BIND RRL /24 and /56).
pub const RATE_LIMIT_IPV4_PREFIX: u8 = 24;
pub const RATE_LIMIT_IPV6_PREFIX: u8 = 56;

//--- [metrics] and [log]

/// The address the docs and the unit suggest for `[metrics] listen` (CoreDNS's
/// Prometheus port); metrics are off unless `listen` is set.
pub const METRICS_LISTEN_EXAMPLE: &str = "127.0.0.1:9153";
/// The query-log file is renamed to `.1` when it grows past this (0: never).
pub const QUERY_FILE_MAX_SIZE: u64 = 100 << 20;
/// Rotated query-log files kept.
pub const QUERY_FILE_KEEP: usize = 5;

/// The config file `serve` looks for when no `--config` is given.
pub const CONFIG_PATH: &str = "config/altroot.toml";
