//! Special-use domain names (RFC 6761, RFC 6762, RFC 7686, RFC 9476): the TLDs that
//! never go to a root on their own.
//!
//! A bottom module: the router answers them locally, the zone layer refuses to
//! define them without an opt-in, and the config validates `special-use` against
//! them. None of those depends on another for the lists.

/// TLDs that never go to a root unless one of our zones roots defines them
/// (RFC 6761 `invalid`, `test`; RFC 6762 `local`; RFC 7686 `onion`; RFC 9476 `alt`).
pub const SPECIAL_TLDS: &[&str] = &["invalid", "onion", "local", "test", "alt"];

/// The last label of `name` (its TLD), empty for the root.
fn last_label(name: &hickory_proto::rr::Name) -> &[u8] {
    name.iter().next_back().unwrap_or_default()
}

/// Is `name` `localhost.` or a name below it (RFC 6761 §6.3)?
pub fn under_localhost(name: &hickory_proto::rr::Name) -> bool {
    last_label(name).eq_ignore_ascii_case(b"localhost")
}

/// Is `name`'s TLD one of [`SPECIAL_TLDS`]?
pub fn has_special_tld(name: &hickory_proto::rr::Name) -> bool {
    let l = last_label(name);
    SPECIAL_TLDS
        .iter()
        .any(|s| l.eq_ignore_ascii_case(s.as_bytes()))
}

/// The special-use TLDs a zones root must list in `special-use` before it may
/// serve them (`alt` is meant for alternate namespaces and needs no opt-in).
pub const OPT_IN_TLDS: &[&str] = &["invalid", "onion", "local", "test"];
