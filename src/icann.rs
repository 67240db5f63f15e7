//! A bundled snapshot of the TLDs in ICANN's root zone, for offline answers to
//! "does this TLD collide?" (`check` warnings, `collisions` without network).

use std::collections::HashSet;
use std::sync::OnceLock;

/// The list: the owner names of NS sets in the ICANN root zone of this serial.
const LIST: &str = include_str!("icann-tlds.txt");

/// Which snapshot this is, for messages.
pub const VERSION: &str = "ICANN root zone serial 2026082201";

fn set() -> &'static HashSet<String> {
    static SET: OnceLock<HashSet<String>> = OnceLock::new();
    SET.get_or_init(|| {
        LIST.lines()
            .map(str::trim)
            .filter(|l| !l.is_empty() && !l.starts_with('#'))
            .map(str::to_ascii_lowercase)
            .collect()
    })
}

/// Is `tld` (any case, with or without the trailing dot) delegated in ICANN's root?
pub fn has_tld(tld: &str) -> bool {
    set().contains(&tld.trim_end_matches('.').to_ascii_lowercase())
}

/// Number of TLDs in the snapshot.
pub fn len() -> usize {
    set().len()
}

#[cfg(test)]
mod tests {
    #[test]
    fn knows_collisions_and_not_alt_tlds() {
        assert!(super::has_tld("biz"));
        assert!(super::has_tld("WEB."));
        assert!(!super::has_tld("geek"));
        assert!(!super::has_tld("libre"));
        assert!(super::len() > 1400);
    }
}
