//! altroot: a DNS resolver that serves an alternate DNS root beside the ICANN root.
//!
//! # Layout: a query's path through the modules
//!
//! 1. [`server`] receives it over UDP or TCP (our own listeners, bounded per client
//!    and per connection), applies the `allow` list and the rate limit, rejects what
//!    it does not resolve (FORMERR, NOTIMP, REFUSED) and logs one line per query.
//! 2. [`resolver`] answers it: from local zones and caches at once when it can
//!    ([`resolver::Resolver::answer_now`]), else by one shared, budgeted resolution.
//!    Routing picks the root ([`resolver::Resolver::claim`] is the one rule for "does
//!    root R have TLD T"), failing closed; the driver steps a
//!    [`resolver::iter::Iteration`] — one question in one root, a value stepped
//!    without I/O — sending, caching and following CNAME/DNAME links through
//!    routing again. Failures are typed ([`resolver::Failure`]) and reach the client
//!    as Extended DNS Errors.
//! 3. [`zones`] answers for the zones served in-process ([`zones::Zone::lookup`]).
//!
//! Around that:
//! - [`config`]: the TOML file, validated, every error with file and line, every
//!   default with its anchor;
//! - [`zones`] also reads master files with line numbers, checks zones, loads root
//!   hints, and reports `FILE:LINE` problems; [`names`]: the special-use names
//!   (RFC 6761 and after); [`icann`] and [`opennic`]: the bundled ICANN and
//!   OpenNIC TLD lists; [`clock`]: the wall clock TTLs follow; [`tls`]: PEM
//!   certificates, keys and CA stores;
//! - [`xfrin`]: zone transfer in (AXFR/IXFR with TSIG) from a primary, and
//!   [`zones::write_zone`] to keep what came on disk;
//! - [`dnssec`]: DNSSEC validation without I/O — trust anchors per root, DNSKEY
//!   RRsets against DS, RRSIGs, NSEC/NSEC3 denial — for the resolver to call;
//! - [`service`]: building all of it from a config, reloading zones (one reload at a
//!   time), watching the files, and keeping the last loads and their problems;
//! - [`stats`]: the counters behind the metrics and the status page, written per
//!   thread (no shared write on the answer path) and summed when read;
//! - [`commands`]: the command line — `serve` (with its HTTP listener for metrics
//!   and the status page, [`commands::web`], and systemd's readiness protocol),
//!   `check`, `compare`, `collisions`, `config recipes`, and the man pages and shell
//!   completions made from its definitions (`main.rs` only calls it).
//!
//! Modules only call down: commands → service, server → resolver → zones → config;
//! `stats` is a leaf, like `clock`.

pub mod clock;
pub mod commands;
pub mod config;
pub mod dnssec;
pub mod handshake;
pub mod icann;
pub mod memory;
pub mod names;
pub mod opennic;
pub mod resolver;
pub mod rootcopy;
pub mod server;
pub mod service;
pub mod stats;
pub mod tls;
pub mod xfrin;
pub mod zones;
