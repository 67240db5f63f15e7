//! altroot: a DNS resolver that serves an alternate DNS root beside the ICANN root.
//!
//! # Layout: a query's path through the modules
//!
//! 1. [`server`] receives it over UDP or TCP (hickory-server), applies the `allow`
//!    list, rejects what it does not resolve (FORMERR, NOTIMP, REFUSED) and logs one
//!    line per query.
//! 2. [`router`] decides who answers: special-use names locally, a `pin`, else the
//!    first root that has the TLD, with the collision policy on top. It follows CNAME
//!    chains link by link, each link routed by its own TLD.
//! 3. [`resolve`] is one root's engine: in-process [`zones`], iteration from root
//!    [`zones::hints`], or forwarding; it talks to servers through [`transport`] and
//!    keeps its own [`cache`].
//!
//! Around that:
//! - [`config`]: the TOML file, validated, every error with file and line;
//! - [`zones`]: master files with line numbers, zones and their lookup (DNAME
//!   included), the checks that serving depends on, root hints, and the
//!   `FILE:LINE` problems of all of them; [`names`]: the special-use names
//!   (RFC 6761 and after); [`icann`]: the bundled ICANN TLD list;
//! - [`service`]: building all of it from a config, and reloading zones; [`watch`]:
//!   live reload of edited zone files;
//! - [`check`], [`compare`] and [`collisions`]: the other commands; [`cli`]: the
//!   command line, logging and signals (`main.rs` only calls it).

pub mod clock;
pub mod commands;
pub mod config;
pub mod icann;
pub mod names;
pub mod resolver;
pub mod server;
pub mod service;
pub mod zones;
