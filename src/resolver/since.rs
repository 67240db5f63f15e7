//! Claim dates for `policy = "first-come"`: since when a root has had a TLD, and
//! how that is known. Sources, first match wins: the root's `since` map in the
//! config; the bundled history of real collisions (`collision-history.tsv`, from
//! `shared/data/collisions.md`: the alternate roots' year for roots that are not
//! ICANN's, ICANN's delegation for the roots that are — the built-in hints, a
//! catch-all forward root); for a zones root, the SOA serial of the TLD's zone
//! (or of `root.zone`) when it reads as a date (`YYYYMMDDnn`). Otherwise the date
//! is unknown.
//!
//! The rule: among the roots that have the TLD, in root order, a later root
//! takes the TLD from the one holding it only when both dates are known and the
//! later one's is strictly earlier at the precision both give ("1995" against
//! "1995-06" is a tie). Ties and unknown dates keep root order.

use std::cmp::Ordering;
use std::collections::HashMap;
use std::fmt;

use hickory_proto::rr::LowerName;

/// A date as precise as its source: a year, a month, a day.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Date {
    pub year: u16,
    pub month: Option<u8>,
    pub day: Option<u8>,
}

impl Date {
    /// `YYYY`, `YYYY-MM` or `YYYY-MM-DD` (years 1970 to 2199).
    pub fn parse(s: &str) -> Option<Date> {
        let mut parts = s.trim().split('-');
        let y = parts.next()?;
        if y.len() != 4 {
            return None;
        }
        let year: u16 = y.parse().ok()?;
        let two = |p: Option<&str>, max: u8| -> Result<Option<u8>, ()> {
            match p {
                None => Ok(None),
                Some(t) if t.len() == 2 => match t.parse::<u8>() {
                    Ok(v) if (1..=max).contains(&v) => Ok(Some(v)),
                    _ => Err(()),
                },
                Some(_) => Err(()),
            }
        };
        let month = two(parts.next(), 12).ok()?;
        let day = two(parts.next(), 31).ok()?;
        if parts.next().is_some()
            || !(1970..2200).contains(&year)
            || (day.is_some() && month.is_none())
        {
            return None;
        }
        Some(Date { year, month, day })
    }

    /// A serial that reads as `YYYYMMDDnn` (RFC 1912 §2.2's convention).
    pub fn from_serial(serial: u32) -> Option<Date> {
        let s = serial.to_string();
        if s.len() != 10 {
            return None;
        }
        Date::parse(&format!("{}-{}-{}", &s[0..4], &s[4..6], &s[6..8]))
    }

    /// Earlier, later, or `None` when the precision both give cannot tell.
    pub fn compare(&self, other: &Date) -> Option<Ordering> {
        match self.year.cmp(&other.year) {
            Ordering::Equal => {}
            o => return Some(o),
        }
        match (self.month, other.month) {
            (Some(a), Some(b)) if a != b => return Some(a.cmp(&b)),
            (Some(_), Some(_)) => {}
            _ => return None,
        }
        match (self.day, other.day) {
            (Some(a), Some(b)) if a != b => Some(a.cmp(&b)),
            _ => None,
        }
    }
}

impl fmt::Display for Date {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.year)?;
        if let Some(m) = self.month {
            write!(f, "-{m:02}")?;
        }
        if let Some(d) = self.day {
            write!(f, "-{d:02}")?;
        }
        Ok(())
    }
}

/// Where a claim date comes from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Source {
    /// The root's `since` in the config.
    Config,
    /// The bundled history; the words name who had it.
    History(&'static str),
    /// A zones root's SOA serial read as a date.
    Serial(u32),
}

impl Source {
    /// For JSON: "config", "history", "serial".
    pub fn kind(&self) -> &'static str {
        match self {
            Source::Config => "config",
            Source::History(_) => "history",
            Source::Serial(_) => "serial",
        }
    }
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Source::Config => write!(f, "since in the config"),
            Source::History(who) => write!(f, "history: {who}"),
            Source::Serial(s) => write!(f, "SOA serial {s}"),
        }
    }
}

/// A root's claim date on a TLD.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClaimDate {
    pub date: Date,
    pub source: Source,
}

impl fmt::Display for ClaimDate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "since {} ({})", self.date, self.source)
    }
}

/// The bundled history: TLD → (alternate roots' date and who, ICANN's date).
struct Row {
    tld: &'static str,
    alt: Option<Date>,
    who: &'static str,
    icann: Option<Date>,
}

fn history_rows() -> &'static [Row] {
    static ROWS: std::sync::OnceLock<Vec<Row>> = std::sync::OnceLock::new();
    ROWS.get_or_init(|| {
        crate::commands::collisions::HISTORY
            .lines()
            .filter(|l| !l.starts_with('#'))
            .filter_map(|l| {
                let f: Vec<&'static str> = l.split('\t').collect();
                let (tld, who) = (*f.first()?, *f.get(1)?);
                let who = who.split([';', ',', '(']).next().unwrap_or(who).trim();
                Some(Row {
                    tld,
                    alt: f.get(3).and_then(|d| Date::parse(d)),
                    who,
                    icann: f.get(4).and_then(|d| Date::parse(d)),
                })
            })
            .collect()
    })
}

/// The history's date for a TLD, for an ICANN root or another one.
pub fn history(tld: &str, icann: bool) -> Option<ClaimDate> {
    let row = history_rows()
        .iter()
        .find(|r| r.tld.eq_ignore_ascii_case(tld))?;
    let (date, who) = if icann {
        (row.icann?, "ICANN")
    } else {
        (row.alt?, row.who)
    };
    Some(ClaimDate {
        date,
        source: Source::History(who),
    })
}

/// What the config says about each root's dates.
#[derive(Clone, Debug, Default)]
pub struct Dates {
    /// Per root: its `since` map (TLD → date).
    pub since: Vec<HashMap<LowerName, Date>>,
    /// Per root: is it ICANN's (the built-in hints, a catch-all forward root)?
    pub icann: Vec<bool>,
}

impl Dates {
    /// Root `i`'s date for `tld` from the config or the history (a zones root's
    /// serial is the caller's: it needs the zones).
    pub fn configured(&self, i: usize, tld: &LowerName) -> Option<ClaimDate> {
        if let Some(d) = self.since.get(i).and_then(|m| m.get(tld)) {
            return Some(ClaimDate {
                date: *d,
                source: Source::Config,
            });
        }
        let label = crate::zones::tld_label(tld);
        history(&label, self.icann.get(i).copied().unwrap_or(false))
    }
}

/// The first-come winner among `having` (root indexes in root order, each with
/// its date if known), and the words saying why.
pub fn pick(having: &[(usize, Option<ClaimDate>)], names: &[String]) -> (usize, String) {
    if having.is_empty() {
        return (0, "no root has it".into());
    }
    let mut best = 0;
    for k in 1..having.len() {
        let earlier = match (&having[k].1, &having[best].1) {
            (Some(a), Some(b)) => a.date.compare(&b.date) == Some(Ordering::Less),
            _ => false,
        };
        if earlier {
            best = k;
        }
    }
    let name = |i: usize| names.get(i).map_or("?", String::as_str);
    let describe = |(i, d): &(usize, Option<ClaimDate>)| match d {
        Some(d) => format!("{} {d}", name(*i)),
        None => format!("{} since an unknown date", name(*i)),
    };
    let winner = having[best].0;
    let others: Vec<String> = having
        .iter()
        .enumerate()
        .filter(|(k, _)| *k != best)
        .map(|(_, h)| describe(h))
        .collect();
    let all_known = having.iter().all(|(_, d)| d.is_some());
    let rule = if best != 0 {
        "earlier claim"
    } else if !all_known {
        "an unknown date: root order"
    } else if having[1..].iter().any(|(_, d)| {
        d.as_ref()
            .zip(having[0].1.as_ref())
            .is_some_and(|(a, b)| a.date.compare(&b.date).is_none())
    }) {
        "a tie: root order"
    } else {
        "earlier claim"
    };
    (
        winner,
        format!(
            "{} before {} ({rule})",
            describe(&having[best]),
            others.join(", ")
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> Date {
        Date::parse(s).unwrap()
    }

    #[test]
    fn dates_parse_at_three_precisions_and_refuse_the_rest() {
        assert_eq!(d("1995").to_string(), "1995");
        assert_eq!(d("2001-03").to_string(), "2001-03");
        assert_eq!(d("2026-07-23").to_string(), "2026-07-23");
        for bad in [
            "95",
            "1995-3",
            "1995-13",
            "1995-01-32",
            "1995-01-01-01",
            "x",
            "",
            "1900",
            "1995--01",
        ] {
            assert_eq!(Date::parse(bad), None, "{bad}");
        }
        assert_eq!(Date::from_serial(2026112701), Some(d("2026-11-27")));
        assert_eq!(Date::from_serial(1), None);
        assert_eq!(Date::from_serial(2026139901), None);
    }

    #[test]
    fn comparison_stops_at_the_common_precision() {
        assert_eq!(d("1995").compare(&d("2001")), Some(Ordering::Less));
        assert_eq!(d("1995").compare(&d("1995-06")), None);
        assert_eq!(d("1995-05").compare(&d("1995-06")), Some(Ordering::Less));
        assert_eq!(
            d("1995-06-02").compare(&d("1995-06-01")),
            Some(Ordering::Greater)
        );
        assert_eq!(d("1995-06").compare(&d("1995-06-01")), None);
    }

    fn cd(s: &str) -> Option<ClaimDate> {
        Some(ClaimDate {
            date: d(s),
            source: Source::Config,
        })
    }

    #[test]
    fn the_earliest_known_claim_wins_and_ties_and_unknowns_keep_root_order() {
        let names: Vec<String> = ["alt", "onic", "icann"].map(String::from).to_vec();
        let (w, why) = pick(&[(0, cd("2010")), (2, cd("2001"))], &names);
        assert_eq!(w, 2);
        assert!(why.starts_with("icann since 2001"), "{why}");
        assert!(why.ends_with("(earlier claim)"), "{why}");
        let (w, why) = pick(&[(0, cd("1995")), (2, cd("1995-06"))], &names);
        assert_eq!(
            (w, why.ends_with("(a tie: root order)")),
            (0, true),
            "{why}"
        );
        let (w, why) = pick(&[(0, None), (2, cd("2001"))], &names);
        assert_eq!(
            (w, why.ends_with("(an unknown date: root order)")),
            (0, true),
            "{why}"
        );
        let (w, _) = pick(&[(0, cd("2005")), (1, None), (2, cd("2001"))], &names);
        assert_eq!(w, 2);
    }

    #[test]
    fn history_dates_the_demo_collisions() {
        let biz_alt = history("biz", false).unwrap();
        assert_eq!(biz_alt.date.to_string(), "1995");
        assert!(matches!(biz_alt.source, Source::History(w) if w.starts_with("AtlanticRoot")));
        assert_eq!(history("biz", true).unwrap().date.to_string(), "2001");
        assert_eq!(history("web", true).unwrap().date.to_string(), "2026-07");
        assert!(history("web", false).is_some());
        assert!(history("example", false).is_none());
    }
}
