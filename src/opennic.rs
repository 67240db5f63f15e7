//! A bundled snapshot of OpenNIC's TLD list, for offline answers to "does this TLD
//! collide with OpenNIC's?" (`check` warnings; `collisions` for a root with
//! `tld-list = "opennic"`), as [`crate::icann`] does for ICANN's root.
//!
//! The list is `opennic-tlds.csv` (`tld,status,source`), derived from OpenNIC's wiki
//! (`opennic/wikipages`, page `opennic/dot`, last changed 2026-08-21; the page says
//! it was checked "as of 2022-11-27") and its sub-pages for TLDs since dropped. It
//! is a snapshot: OpenNIC adds and drops TLDs by vote.
//!
//! OpenNIC's root zone also carries every ICANN TLD (its root servers answer for
//! `com` as ICANN's do), so a root that stands for OpenNIC has ICANN's TLDs too:
//! [`in_root`] says which list a TLD comes from.

use std::collections::BTreeMap;
use std::sync::OnceLock;

/// The list: one row per TLD with its status on the wiki.
const LIST: &str = include_str!("opennic-tlds.csv");

/// Which snapshot this is, for messages.
pub const VERSION: &str = "OpenNIC wiki snapshot of 2026-08-21";

/// A TLD's standing in OpenNIC, as the wiki lists it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Status {
    /// "Current Top-Level Domains": served and open.
    Current,
    /// "Inactive Top-Level Domains": still in the root, to be removed.
    Inactive,
    /// "Peered Top-Level Domains": run by another organisation, in OpenNIC's root.
    Peered,
    /// "Technical Zones": `glue` (the names of OpenNIC's own servers).
    Technical,
    /// "Pending Peered": announced, not in the root.
    Pending,
    /// Once an OpenNIC or peered TLD, no longer on the list.
    Former,
}

impl Status {
    /// Is a TLD of this status delegated in OpenNIC's root?
    pub fn in_root(self) -> bool {
        matches!(
            self,
            Status::Current | Status::Inactive | Status::Peered | Status::Technical
        )
    }

    /// As messages say it: "current", "inactive", "peered", "technical",
    /// "pending peering", "former".
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Current => "current",
            Status::Inactive => "inactive",
            Status::Peered => "peered",
            Status::Technical => "technical",
            Status::Pending => "pending peering",
            Status::Former => "former",
        }
    }

    /// The wiki's section heading (the CSV's `status`, up to its first parenthesis).
    fn from_wiki(s: &str) -> Option<Status> {
        let s = s.trim();
        Some(if s.starts_with("Current") {
            Status::Current
        } else if s.starts_with("Inactive") {
            Status::Inactive
        } else if s.starts_with("Peered") {
            Status::Peered
        } else if s.starts_with("Technical") {
            Status::Technical
        } else if s.starts_with("Pending") {
            Status::Pending
        } else if s.starts_with("Former") {
            Status::Former
        } else {
            return None;
        })
    }
}

/// Reads the CSV: the header, then `tld,status,source` rows. Rows for names below a
/// TLD (`opennic.glue`) are not TLDs and are left out; so is a row whose status is
/// none of the wiki's sections (none is, in the shipped file: a unit test checks).
fn parse(text: &str) -> BTreeMap<String, Status> {
    text.lines()
        .skip(1)
        .filter_map(|l| {
            let (tld, rest) = l.split_once(',')?;
            let status = rest.rsplit_once(',').map_or(rest, |(s, _)| s);
            let tld = tld.trim().to_ascii_lowercase();
            if tld.is_empty() || tld.contains('.') {
                return None;
            }
            Some((tld, Status::from_wiki(status)?))
        })
        .collect()
}

fn map() -> &'static BTreeMap<String, Status> {
    static MAP: OnceLock<BTreeMap<String, Status>> = OnceLock::new();
    MAP.get_or_init(|| parse(LIST))
}

/// OpenNIC's standing of `tld` (any case, with or without the trailing dot), if the
/// list has it at all.
pub fn status(tld: &str) -> Option<Status> {
    map()
        .get(&tld.trim_end_matches('.').to_ascii_lowercase())
        .copied()
}

/// OpenNIC's own TLDs delegated in its root (current, inactive, peered,
/// technical), in order.
pub fn own_tlds() -> impl Iterator<Item = &'static str> {
    map()
        .iter()
        .filter(|(_, s)| s.in_root())
        .map(|(t, _)| t.as_str())
}

/// Why OpenNIC's root has a TLD, by the bundled lists.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Has {
    /// One of OpenNIC's own TLDs.
    Own(Status),
    /// An ICANN TLD, which OpenNIC's root carries.
    Icann,
    /// Neither: not in OpenNIC's root (the status, if the list has it as pending
    /// or former).
    No(Option<Status>),
}

/// Whether OpenNIC's root has `tld`, by the bundled OpenNIC and ICANN lists.
pub fn in_root(tld: &str) -> Has {
    match status(tld) {
        Some(s) if s.in_root() => Has::Own(s),
        _ if crate::icann::has_tld(tld) => Has::Icann,
        s => Has::No(s),
    }
}

/// Number of OpenNIC's own TLDs in its root.
pub fn len() -> usize {
    own_tlds().count()
}

#[cfg(test)]
mod tests {
    use super::*;

    // Every row of the shipped list is understood (a new status on the wiki would
    // otherwise drop its TLDs silently).
    #[test]
    fn every_row_is_read() {
        let rows = LIST.lines().skip(1).filter(|l| !l.trim().is_empty());
        let tlds = rows.filter(|l| !l.split(',').next().unwrap().contains('.'));
        assert_eq!(tlds.count(), parse(LIST).len());
        assert_eq!(
            parse("tld,status,src\nx,Something new,p\ny,Current Top-Level Domains,p\n").len(),
            1
        );
    }

    #[test]
    fn statuses_as_the_wiki_lists_them() {
        assert_eq!(status("GEEK."), Some(Status::Current));
        assert_eq!(status("pirate"), Some(Status::Current));
        assert_eq!(status("free"), Some(Status::Inactive));
        assert_eq!(status("fur"), Some(Status::Peered));
        assert_eq!(status("glue"), Some(Status::Technical));
        assert_eq!(status("2s"), Some(Status::Pending));
        assert_eq!(status("bit"), Some(Status::Former));
        assert_eq!(status("nic"), Some(Status::Former));
        assert_eq!(status("opennic.glue"), None);
        assert_eq!(status("com"), None);
        assert_eq!(len(), 19);
        assert!(own_tlds().any(|t| t == "libre"));
        assert!(!own_tlds().any(|t| t == "bit"));
    }

    // OpenNIC's root carries ICANN's TLDs; its own come first (free is both).
    #[test]
    fn root_has_its_own_and_icanns() {
        assert_eq!(in_root("libre"), Has::Own(Status::Current));
        assert_eq!(in_root("free"), Has::Own(Status::Inactive));
        assert_eq!(in_root("com"), Has::Icann);
        assert_eq!(in_root("bit"), Has::No(Some(Status::Former)));
        assert_eq!(in_root("nosuchtld"), Has::No(None));
    }
}
