//! Applying IXFR changes (RFC 1995 §4) to a zone's records.

use std::collections::HashMap;

use hickory_proto::rr::{LowerName, Name, RData, Record, RecordType};

use super::client::{Change, XfrError};

/// Applies IXFR changes to a zone's records (SOA included; the result has the new SOA).
/// Err when a change does not fit (its `from` is not the zone's serial, a removed record is absent).
///
/// Records are matched by owner (any case), type, class and RDATA; the TTL is
/// not compared (a TTL change comes as a removal and an addition). An addition of
/// a record already there replaces it (its TTL is the new one). The result keeps
/// the zone's order, additions at the end.
pub fn apply(records: Vec<Record>, changes: &[Change]) -> Result<Vec<Record>, XfrError> {
    let soas: Vec<usize> = records
        .iter()
        .enumerate()
        .filter(|(_, r)| matches!(r.data, RData::SOA(_)))
        .map(|(i, _)| i)
        .collect();
    let &[soa_at] = &soas[..] else {
        return Err(XfrError::Apply {
            zone: records.first().map_or_else(Name::root, |r| r.name.clone()),
            why: format!("the zone has {} SOA records, not one", soas.len()),
        });
    };
    let zone = records[soa_at].name.clone();
    let fail = |why: String| XfrError::Apply {
        zone: zone.clone(),
        why,
    };
    let mut slots: Vec<Option<Record>> = records.into_iter().map(Some).collect();
    let mut index: HashMap<(LowerName, RecordType), Vec<usize>> = HashMap::new();
    for (i, r) in slots.iter().enumerate() {
        if let Some(r) = r {
            index.entry(key(r)).or_default().push(i);
        }
    }
    let find = |slots: &[Option<Record>], index: &HashMap<_, Vec<usize>>, r: &Record| {
        index.get(&key(r)).and_then(|at| {
            at.iter().copied().find(|&i| {
                slots[i]
                    .as_ref()
                    .is_some_and(|s| s.dns_class == r.dns_class && s.data == r.data)
            })
        })
    };
    for c in changes {
        let serial = match slots[soa_at].as_ref().map(|r| &r.data) {
            Some(RData::SOA(s)) => s.serial,
            _ => return Err(fail("the SOA went missing".into())),
        };
        if serial != c.from {
            return Err(fail(format!(
                "a change from serial {} to {}, but the zone is at {serial}",
                c.from, c.to
            )));
        }
        if !matches!(c.soa.data, RData::SOA(ref s) if s.serial == c.to) || c.soa.name != zone {
            return Err(fail(format!(
                "the change to {} has no SOA of the zone",
                c.to
            )));
        }
        for r in &c.removed {
            match find(&slots, &index, r) {
                Some(i) => slots[i] = None,
                None => {
                    return Err(fail(format!(
                        "serial {} → {}: {r} is to be removed but is not in the zone",
                        c.from, c.to
                    )));
                }
            }
        }
        for r in &c.added {
            match find(&slots, &index, r) {
                Some(i) => slots[i] = Some(r.clone()),
                None => {
                    index.entry(key(r)).or_default().push(slots.len());
                    slots.push(Some(r.clone()));
                }
            }
        }
        slots[soa_at] = Some(c.soa.clone());
    }
    Ok(slots.into_iter().flatten().collect())
}

fn key(r: &Record) -> (LowerName, RecordType) {
    (LowerName::new(&r.name), r.record_type())
}
