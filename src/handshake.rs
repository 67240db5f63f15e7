//! Handshake's reserved names, compiled in: the ICANN TLDs and the 2018 top-100k
//! names (and hsd's hand-added trademarks and projects) that Handshake keeps for
//! their holders to claim. An alternate TLD that is one of them may appear in a
//! Handshake root whenever its holder claims it (`collisions` says so).
//!
//! Compiled in rather than read at run time: like the bundled ICANN list
//! ([`crate::icann`]) it answers offline and with no file to install; the list is
//! fixed (hsd's `names/valid.json` of 2018), so it never goes stale the way a
//! root zone does. One line per name (1.7 MB of text, about 90 000 names).

use std::collections::HashMap;
use std::sync::OnceLock;

const LIST: &str = include_str!("handshake-reserved.txt");

/// Why Handshake reserves a name.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Reserved {
    /// An ICANN TLD: hsd answers it from ICANN's root until ICANN's registry claims it.
    Icann,
    /// Kept for the holder of `<name>.<suffix>`; `rank` is its 2018 Alexa rank
    /// (-1: hsd's trademarks list, -2: its list of projects).
    Holder { suffix: &'static str, rank: i32 },
}

fn map() -> &'static HashMap<&'static str, Reserved> {
    static MAP: OnceLock<HashMap<&'static str, Reserved>> = OnceLock::new();
    MAP.get_or_init(|| {
        LIST.lines()
            .filter(|l| !l.starts_with('#'))
            .filter_map(|l| {
                let mut f = l.split(' ');
                let name = f.next()?;
                let r = match (f.next()?, f.next()) {
                    (".", _) => Reserved::Icann,
                    (suffix, Some(rank)) => Reserved::Holder {
                        suffix,
                        rank: rank.parse().ok()?,
                    },
                    _ => return None,
                };
                Some((name, r))
            })
            .collect()
    })
}

/// Is `tld` (any case, with or without the trailing dot) reserved on Handshake?
pub fn reserved(tld: &str) -> Option<Reserved> {
    map()
        .get(tld.trim_end_matches('.').to_ascii_lowercase().as_str())
        .copied()
}

/// What `collisions` says about a reserved TLD.
pub fn text(tld: &str, r: Reserved) -> String {
    let tld = tld.trim_end_matches('.').to_ascii_lowercase();
    match r {
        Reserved::Icann => format!(
            "reserved on Handshake for ICANN's {tld}: a Handshake root (hsd) answers it from ICANN's root"
        ),
        Reserved::Holder { suffix, rank } => {
            let why = match rank {
                -1 => "hsd's trademarks list".to_string(),
                -2 => "hsd's list of projects".to_string(),
                r => format!("2018 top-100k rank {r}"),
            };
            format!(
                "reserved on Handshake for the holder of {tld}.{suffix} ({why}): they may claim {tld} there"
            )
        }
    }
}

/// Number of reserved names.
pub fn len() -> usize {
    map().len()
}

#[cfg(test)]
mod tests {
    use super::*;

    // Figures from valid.json: 90 043 names, 1 516 of them ICANN TLDs (2018).
    #[test]
    fn the_list_as_hsd_reserves_it() {
        assert_eq!(len(), 90_043);
        assert_eq!(reserved("com"), Some(Reserved::Icann));
        assert_eq!(reserved("BIZ."), Some(Reserved::Icann));
        assert_eq!(
            reserved("geek"),
            Some(Reserved::Holder {
                suffix: "com",
                rank: 15496
            })
        );
        assert_eq!(
            reserved("a16z"),
            Some(Reserved::Holder {
                suffix: "com",
                rank: -1
            })
        );
        assert_eq!(reserved("pirate"), None);
        assert_eq!(reserved("hnsonly"), None);
        assert_eq!(
            text("web", reserved("web").unwrap()),
            "reserved on Handshake for the holder of web.de (2018 top-100k rank 327): they may claim web there"
        );
        assert!(text("biz", Reserved::Icann).contains("from ICANN's root"));
    }
}
