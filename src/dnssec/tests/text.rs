//! Names and RRSIG-style times for the tests.

use std::str::FromStr;

use hickory_proto::rr::Name;

pub fn name(s: &str) -> Result<Name, String> {
    let mut n = Name::from_ascii(s).map_err(|e| format!("name {s}: {e}"))?;
    n.set_fqdn(true);
    Ok(n)
}

fn num<T: FromStr>(s: &str) -> Result<T, String>
where
    T::Err: std::fmt::Display,
{
    s.parse().map_err(|e| format!("number {s}: {e}"))
}

/// `YYYYMMDDHHmmSS` or seconds.
pub fn time(s: &str) -> Result<u32, String> {
    if s.len() != 14 {
        return num(s);
    }
    let f = |r: std::ops::Range<usize>| num::<i64>(&s[r]);
    let (y, m, d) = (f(0..4)?, f(4..6)?, f(6..8)?);
    let (hh, mm, ss) = (f(8..10)?, f(10..12)?, f(12..14)?);
    // Days from civil (Howard Hinnant).
    let y2 = if m <= 2 { y - 1 } else { y };
    let era = y2.div_euclid(400);
    let yoe = y2 - era * 400;
    let mp = if m > 2 { m - 3 } else { m + 9 };
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    Ok((days * 86_400 + hh * 3600 + mm * 60 + ss) as u32)
}
