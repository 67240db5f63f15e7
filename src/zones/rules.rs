//! Rules about which TLDs a zones root defines: special-use names (RFC 6761,
//! RFC 6762, RFC 7686), collisions with ICANN's root, and alternate TLDs outside
//! `.alt` (RFC 9476).

use std::path::Path;

use hickory_proto::rr::LowerName;

use super::problem::Problem;
use crate::names::{OPT_IN_TLDS, SPECIAL_TLDS};

/// A TLD's label, without the trailing dot.
pub(crate) fn tld_label(tld: &LowerName) -> String {
    tld.to_string().trim_end_matches('.').to_string()
}

/// A special-use TLD defined without `special-use` (in `special_use`) saying so.
pub(super) fn special_problem(
    label: &str,
    file: &Path,
    line: usize,
    special_use: &[String],
) -> Option<Problem> {
    if label == "localhost" {
        return Some(Problem::error(
            file,
            line,
            "localhost is always answered locally (RFC 6761) and cannot be defined",
        ));
    }
    if OPT_IN_TLDS.contains(&label) && !special_use.iter().any(|s| s == label) {
        return Some(Problem::error(
            file,
            line,
            format!(
                "{label} is a special-use TLD (RFC 6761/6762/7686): add special-use = [\"{label}\"] to this root to serve it on purpose"
            ),
        ));
    }
    None
}

/// Warnings about a TLD this root defines: it collides with ICANN's, or with one of
/// OpenNIC's (the bundled lists, [`crate::icann`], [`crate::opennic`]), or it is an
/// alternate TLD outside `.alt` (RFC 9476; informational, only when it collides
/// with neither).
pub(super) fn tld_warnings(label: &str, file: &Path, line: usize) -> Vec<Problem> {
    let mut out = Vec::new();
    if crate::icann::has_tld(label) {
        out.push(Problem::warning(
            file,
            line,
            format!(
                "{label} is also a TLD in ICANN's root ({}): a collision",
                crate::icann::VERSION
            ),
        ));
    }
    match crate::opennic::status(label) {
        Some(s) if s.in_root() => out.push(Problem::warning(
            file,
            line,
            format!(
                "{label} is also a TLD in OpenNIC's list ({}, {}): a collision for OpenNIC's users",
                s.as_str(),
                crate::opennic::VERSION
            ),
        )),
        Some(s) => out.push(Problem::warning(
            file,
            line,
            format!(
                "{label} is in OpenNIC's list as a {} TLD, not in its root ({}); informational",
                s.as_str(),
                crate::opennic::VERSION
            ),
        )),
        None => {}
    }
    if out.is_empty() && label != "alt" && !SPECIAL_TLDS.contains(&label) {
        out.push(Problem::warning(
            file,
            line,
            format!("{label} is an alternate TLD outside .alt (RFC 9476); informational"),
        ));
    }
    out
}
