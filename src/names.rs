//! Special-use domain names (RFC 6761, RFC 6762, RFC 7686, RFC 9476): the TLDs that
//! never go to a root on their own.
//!
//! A bottom module: the router answers them locally, the zone layer refuses to
//! define them without an opt-in, and the config validates `special-use` against
//! them. None of those depends on another for the lists.

/// TLDs that never go to a root unless one of our zones roots defines them
/// (RFC 6761 `invalid`, `test`; RFC 6762 `local`; RFC 7686 `onion`; RFC 9476 `alt`).
pub const SPECIAL_TLDS: &[&str] = &["invalid", "onion", "local", "test", "alt"];

/// The special-use TLDs a zones root must list in `special-use` before it may
/// serve them (`alt` is meant for alternate namespaces and needs no opt-in).
pub const OPT_IN_TLDS: &[&str] = &["invalid", "onion", "local", "test"];
