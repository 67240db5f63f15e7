//! A hints root's local copy of its root zone (RFC 8806): read from a file,
//! verified (ZONEMD, RFC 8976; the root's DNSSEC signatures under its trust
//! anchors), and served in-process as the hints root's one zone, so that "does
//! this root have TLD T" and TLD referrals are answered without asking its root
//! servers. A copy that fails verification or is past its SOA expire is not used:
//! the root asks its servers, as without a copy.

pub mod zonemd;

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant, UNIX_EPOCH};

use hickory_proto::dnssec::rdata::DNSSECRData;
use hickory_proto::rr::{Name, RData, Record, RecordType};

use crate::dnssec::{
    KeysOutcome, RrsetOutcome, Settings, TrustAnchors, validate_dnskeys, verify_rrset,
};
use crate::zones::{Zone, ZoneSet};

/// What a copy must pass before it is used (`verify = …`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verify {
    /// The default: ZONEMD, and DNSSEC when the root has trust anchors.
    Default,
    ZonemdDnssec,
    Zonemd,
    Dnssec,
    /// Nothing: logged at start as unverified, with the copy's age.
    None,
}

impl Verify {
    pub fn parse(s: &str) -> Option<Verify> {
        Some(match s {
            "zonemd+dnssec" => Verify::ZonemdDnssec,
            "zonemd" => Verify::Zonemd,
            "dnssec" => Verify::Dnssec,
            "none" => Verify::None,
            _ => return None,
        })
    }

    /// (ZONEMD, DNSSEC) for a root with or without anchors.
    fn checks(self, has_anchors: bool) -> (bool, bool) {
        match self {
            Verify::Default => (true, has_anchors),
            Verify::ZonemdDnssec => (true, true),
            Verify::Zonemd => (true, false),
            Verify::Dnssec => (false, true),
            Verify::None => (false, false),
        }
    }
}

/// A copy that passed its checks.
pub struct Copy {
    pub set: Arc<ZoneSet>,
    pub serial: u32,
    /// When it was fetched (the file's modification time, Unix seconds).
    pub fetched: u64,
    /// Past this Unix second (fetched + SOA expire) it is not used.
    pub expires: u64,
    /// What was checked, for the log line ("ZONEMD and DNSSEC", "nothing").
    pub verified: &'static str,
    pub records: usize,
    /// Time taken by the checks (for the log line).
    pub verify_time: Duration,
}

/// Reads and checks the copy in `path` at Unix time `now`. `Err` says why it
/// cannot be used, for the WARN line.
pub fn load(path: &Path, verify: Verify, anchors: &TrustAnchors, now: u64) -> Result<Copy, String> {
    let fetched = std::fs::metadata(path)
        .and_then(|m| m.modified())
        .map_err(|e| format!("cannot read it: {e}"))?
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let root = Name::root();
    // The records as written (ZONEMD and signatures are over those), then the zone.
    let parsed = crate::zones::read(path, &root).map_err(|e| {
        let first = e.first().map(|p| p.to_string());
        format!(
            "it does not load: {}",
            first.unwrap_or_else(|| "unreadable".into())
        )
    })?;
    let records: Vec<Record> = parsed.records.iter().map(|l| l.record.clone()).collect();
    let zone = match Zone::build(&root, parsed) {
        Ok((z, _warnings)) => z,
        Err(problems) => {
            let first = problems
                .first()
                .map(|p| p.to_string())
                .unwrap_or_else(|| "unreadable".into());
            return Err(format!("it does not load: {first}"));
        }
    };
    let (expire, serial) = match &zone.negative_soa().data {
        RData::SOA(soa) => (u64::from(soa.expire.max(0) as u32), soa.serial),
        _ => return Err("it has no SOA".into()),
    };
    let expires = fetched.saturating_add(expire);
    if now >= expires {
        return Err(format!(
            "it is past its SOA expire: fetched {} s ago, expire is {expire} s",
            now.saturating_sub(fetched)
        ));
    }
    let started = Instant::now();
    let (want_zonemd, want_dnssec) = verify.checks(!anchors.is_empty());
    if want_zonemd {
        zonemd::verify(&root, serial, &records)?;
    }
    if want_dnssec {
        verify_dnssec(&records, anchors, now)?;
    }
    let verified = match (want_zonemd, want_dnssec) {
        (true, true) => "ZONEMD and DNSSEC",
        (true, false) => "ZONEMD",
        (false, true) => "DNSSEC",
        (false, false) => "nothing",
    };
    let n = zone.len();
    Ok(Copy {
        set: Arc::new(ZoneSet::of_root_copy(path, zone)),
        serial,
        fetched,
        expires,
        verified,
        records: n,
        verify_time: started.elapsed(),
    })
}

/// Checks the root's DNSKEY RRset under `anchors`, then every RRset the root
/// signs: everything at the apex, and the DS and NSEC RRsets of the delegations
/// (the NS RRsets of delegations and glue are not signed, RFC 4035 §2.2; ZONEMD
/// covers them). Returns how many RRsets verified.
pub fn verify_dnssec(
    records: &[Record],
    anchors: &TrustAnchors,
    now: u64,
) -> Result<usize, String> {
    let root = Name::root();
    let Some((_, trust)) = anchors.anchor_for(&root) else {
        return Err("the root has no trust anchor to check its DNSSEC with".into());
    };
    let settings = Settings::at(now);
    let keys = match validate_dnskeys(&root, records, trust, &settings) {
        KeysOutcome::Secure(k) => k,
        KeysOutcome::Insecure(why) | KeysOutcome::Bogus(why) => {
            return Err(format!("its DNSKEY RRset does not verify: {}", why.reason));
        }
    };
    let mut sets: BTreeMap<(&Name, u16), Vec<Record>> = BTreeMap::new();
    let mut sigs: BTreeMap<&Name, Vec<Record>> = BTreeMap::new();
    for r in records {
        match &r.data {
            RData::DNSSEC(DNSSECRData::RRSIG(_)) => {
                sigs.entry(&r.name).or_default().push(r.clone())
            }
            _ => {
                let t = r.record_type();
                if r.name == root || matches!(t, RecordType::DS | RecordType::NSEC) {
                    sets.entry((&r.name, u16::from(t)))
                        .or_default()
                        .push(r.clone());
                }
            }
        }
    }
    let none = Vec::new();
    for ((owner, _), set) in &sets {
        let s = sigs.get(owner).unwrap_or(&none);
        match verify_rrset(set, s, &keys, &settings) {
            RrsetOutcome::Secure { .. } => {}
            RrsetOutcome::Bogus(why) => {
                return Err(format!("its signatures do not verify: {}", why.reason));
            }
        }
    }
    Ok(sets.len())
}

/// Human age: "3 days", "5 h", "12 min".
pub fn age(secs: u64) -> String {
    match secs {
        s if s >= 2 * 86400 => format!("{} days", s / 86400),
        s if s >= 3600 => format!("{} h", s / 3600),
        s => format!("{} min", s / 60),
    }
}

#[cfg(test)]
mod tests;
