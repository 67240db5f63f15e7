//! What `check` (and every load) says about a signed zone's DNSSEC records:
//! signatures expired or expiring within a week, and broken NSEC/NSEC3 chains,
//! as `FILE:LINE` warnings. Serving them is [`super::signed`].

use hickory_proto::rr::RecordType;

use super::build::Builder;
use super::problem::Problem;
use super::signed::{HASH_LEN, canonical_cmp, owner_hash};
use super::wire::to_name;

/// Signatures expiring within this many seconds get a warning.
const EXPIRY_WARNING: u32 = 7 * 86_400;

/// At most this many chain warnings a zone, then one that counts the rest.
const MAX_CHAIN_WARNINGS: usize = 10;

/// What [`Builder::note_rrsig`] saw: how many RRSIGs are expired or expire soon,
/// and the first of each (expiration, file, line, what it covers).
#[derive(Debug, Default)]
pub(super) struct Expiry {
    expired: Vec<(u32, std::sync::Arc<std::path::PathBuf>, usize, String)>,
    soon: Vec<(u32, std::sync::Arc<std::path::PathBuf>, usize, String)>,
}

/// RRSIG RDATA: type covered (2), algorithm, labels, original TTL (4), then the
/// expiration (4).
fn rrsig_expiration(rdata: &[u8]) -> Option<u32> {
    Some(u32::from_be_bytes(rdata.get(8..12)?.try_into().ok()?))
}

/// `YYYY-MM-DD HH:MM UTC` of a signature time (RFC 1982 serial, read as the
/// second nearest `now`).
fn utc(t: u32, now: u64) -> String {
    let delta = i64::from(t.wrapping_sub(now as u32) as i32);
    let secs = now as i64 + delta;
    let (days, rest) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    // Civil from days (H. Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02} {:02}:{:02} UTC",
        rest / 3600,
        rest % 3600 / 60
    )
}

impl Builder {
    /// Notes an RRSIG's expiration as it is read (each record has its line
    /// here; in the store only a set's first does).
    pub(super) fn note_rrsig(
        &mut self,
        owner: &[u8],
        rdata: &[u8],
        file: &std::sync::Arc<std::path::PathBuf>,
        line: usize,
    ) {
        let Some(exp) = rrsig_expiration(rdata) else {
            return;
        };
        let now = self.now as u32;
        let left = exp.wrapping_sub(now) as i32;
        let list = match left {
            l if l < 0 => &mut self.expiry.expired,
            l if l < EXPIRY_WARNING as i32 => &mut self.expiry.soon,
            _ => return,
        };
        let covered = u16::from_be_bytes([rdata[0], rdata[1]]);
        let what = format!("{} {}", to_name(owner), RecordType::from(covered));
        list.push((exp, file.clone(), line, what));
    }

    /// RRSIGs expired or expiring within 7 days: one warning for each kind, at
    /// the one that expires first, with how many there are.
    pub(super) fn check_expiry(&self, problems: &mut Vec<Problem>) {
        let now = self.now;
        for (list, verb) in [
            (&self.expiry.expired, "expired"),
            (&self.expiry.soon, "expires"),
        ] {
            let Some((exp, file, line, what)) = list
                .iter()
                .min_by_key(|(e, ..)| e.wrapping_sub(now as u32) as i32)
            else {
                continue;
            };
            let more = match list.len() - 1 {
                0 => String::new(),
                n => format!(
                    " ({n} more RRSIGs of this zone {})",
                    match verb {
                        "expired" => "have expired too",
                        _ => "expire within 7 days",
                    }
                ),
            };
            let msg = format!(
                "the RRSIG over {what} {verb} {}{more}: validators will reject what it signs; sign the zone again",
                utc(*exp, now)
            );
            problems.push(Problem::warning(file.as_path(), *line, msg));
        }
    }

    /// The NSEC chain (RFC 4034 §4.1.1): every NSEC names the next NSEC owner
    /// in canonical order, the last one the apex, and every name with
    /// authoritative data or a delegation has one; the NSEC3 chain (RFC 5155
    /// §3.1.7): every NSEC3 names the next hash. Warnings: the zone still serves,
    /// but validators may reject its denials.
    pub(super) fn check_chains(&self, problems: &mut Vec<Problem>) {
        let mut found = Vec::new();
        let store = &self.store;
        let mut nsec: Vec<u32> = (0..store.node_count())
            .filter(|&id| store.set(id, RecordType::NSEC).is_some())
            .collect();
        if !nsec.is_empty() {
            nsec.sort_by(|&a, &b| canonical_cmp(store.name(a), store.name(b)));
            for (i, &id) in nsec.iter().enumerate() {
                let Some(set) = store.set(id, RecordType::NSEC) else {
                    continue;
                };
                let want = store.name(nsec[(i + 1) % nsec.len()]);
                let Some(next) = store.rdatas(set).next().and_then(next_name) else {
                    continue;
                };
                if !next.eq_ignore_ascii_case(want) {
                    let msg = format!(
                        "NSEC chain broken: the NSEC of {} points at {}, but the next name with an NSEC is {}",
                        to_name(store.name(id)),
                        to_name(&next),
                        to_name(want)
                    );
                    found.push(Problem::warning(self.path(set), set.line as usize, msg));
                }
            }
            for id in 0..store.node_count() {
                let sets = store.sets(id);
                let below_cut = self.ancestor_with(id, super::store::CUT, false).is_some();
                if sets.is_empty() || below_cut || store.set(id, RecordType::NSEC).is_some() {
                    continue;
                }
                let msg = format!(
                    "{} has no NSEC: the NSEC chain skips it",
                    to_name(store.name(id))
                );
                found.push(Problem::warning(
                    self.path(&sets[0]),
                    sets[0].line as usize,
                    msg,
                ));
            }
        }
        let n3 = &self.nsec3_store;
        let mut hashes: Vec<([u8; HASH_LEN], u32)> = (0..n3.node_count())
            .filter(|&id| n3.set(id, RecordType::NSEC3).is_some())
            .filter_map(|id| Some((owner_hash(n3.name(id))?, id)))
            .collect();
        hashes.sort_unstable();
        for (i, (_, id)) in hashes.iter().enumerate() {
            let Some(set) = n3.set(*id, RecordType::NSEC3) else {
                continue;
            };
            let (want, _) = hashes[(i + 1) % hashes.len()];
            let Some(next) = n3.rdatas(set).next().and_then(next_hash) else {
                continue;
            };
            if next != want {
                let b32 = |h: &[u8]| {
                    data_encoding::BASE32HEX_NOPAD
                        .encode(h)
                        .to_ascii_lowercase()
                };
                let msg = format!(
                    "NSEC3 chain broken: the NSEC3 of {} points at {}, but the next hash is {}",
                    to_name(n3.name(*id)),
                    b32(next),
                    b32(&want)
                );
                found.push(Problem::warning(self.path(set), set.line as usize, msg));
            }
        }
        found.sort();
        let extra = found.len().saturating_sub(MAX_CHAIN_WARNINGS);
        if extra > 0 {
            found.truncate(MAX_CHAIN_WARNINGS);
            let last = found
                .last()
                .map(|p| (p.file.clone(), p.line))
                .unwrap_or_default();
            found.push(Problem::warning(
                last.0,
                last.1,
                format!("{extra} more NSEC/NSEC3 chain problems in this zone"),
            ));
        }
        problems.append(&mut found);
    }
}

/// The next domain name at the start of NSEC RDATA (uncompressed, in its case).
fn next_name(rdata: &[u8]) -> Option<Vec<u8>> {
    let mut at = 0;
    loop {
        let len = *rdata.get(at)? as usize;
        at += 1 + len;
        if len == 0 {
            return rdata.get(..at).map(<[u8]>::to_vec);
        }
    }
}

/// The next hashed owner of NSEC3 RDATA: algorithm, flags, iterations (2), salt
/// length and salt, hash length and hash.
fn next_hash(rdata: &[u8]) -> Option<&[u8]> {
    let salt = *rdata.get(4)? as usize;
    let len = *rdata.get(5 + salt)? as usize;
    rdata.get(6 + salt..6 + salt + len)
}
