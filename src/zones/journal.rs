//! The IXFR journal (RFC 1995) of one zone: the differences between its contents
//! at each reload that changed its serial, newest last, so a secondary that has an
//! older serial gets only what changed. Bounded: at most [`MAX_DIFFS`] reloads and
//! [`MAX_RECORDS`] records in all, the oldest dropped first; a secondary whose
//! serial is no longer in it (or was never: a restart starts an empty journal)
//! gets the whole zone.

use std::collections::{HashMap, VecDeque};

use hickory_proto::rr::{Record, RecordType};
use hickory_proto::serialize::binary::{BinEncodable, BinEncoder};

use super::Zone;

/// Reloads kept.
pub const MAX_DIFFS: usize = 64;
/// Records (removed and added) kept over all diffs.
pub const MAX_RECORDS: usize = 100_000;

/// What one reload changed: from the zone at `from` (its SOA) to the zone at `to`.
#[derive(Clone, Debug)]
pub struct Diff {
    pub from: Record,
    pub to: Record,
    pub removed: Vec<Record>,
    pub added: Vec<Record>,
}

impl Diff {
    /// The difference between two versions of a zone (SOA records apart: they
    /// frame the diff). `None` when it alone is over [`MAX_RECORDS`].
    pub fn between(old: &Zone, new: &Zone) -> Option<Diff> {
        let key = |r: &Record| {
            let mut b = Vec::with_capacity(64);
            let mut e = BinEncoder::new(&mut b);
            e.set_canonical_form(true);
            r.emit(&mut e).ok().map(|()| b)
        };
        let body = |z: &Zone| -> HashMap<Vec<u8>, Record> {
            z.records()
                .into_iter()
                .filter(|r| r.record_type() != RecordType::SOA || r.name != *z.origin())
                .filter_map(|r| Some((key(&r)?, r)))
                .collect()
        };
        let (mut before, after) = (body(old), body(new));
        let mut added = Vec::new();
        for (k, r) in after {
            if before.remove(&k).is_none() {
                added.push(r);
            }
        }
        let removed: Vec<Record> = before.into_values().collect();
        (removed.len() + added.len() <= MAX_RECORDS).then(|| Diff {
            from: old.soa(),
            to: new.soa(),
            removed,
            added,
        })
    }

    fn records(&self) -> usize {
        self.removed.len() + self.added.len()
    }
}

fn serial(soa: &Record) -> Option<u32> {
    match &soa.data {
        hickory_proto::rr::RData::SOA(s) => Some(s.serial),
        _ => None,
    }
}

/// One zone's diffs, oldest first, each starting where the one before ended.
#[derive(Clone, Debug, Default)]
pub struct Journal {
    diffs: VecDeque<Diff>,
    records: usize,
}

impl Journal {
    /// This journal with `diff` appended (a diff that does not follow on from the
    /// last one starts the journal afresh), then trimmed to the bounds.
    pub fn with(&self, diff: Diff) -> Journal {
        let mut j = self.clone();
        if j.diffs
            .back()
            .is_some_and(|d| serial(&d.to) != serial(&diff.from))
        {
            j = Journal::default();
        }
        j.records += diff.records();
        j.diffs.push_back(diff);
        while j.diffs.len() > MAX_DIFFS || j.records > MAX_RECORDS {
            match j.diffs.pop_front() {
                Some(d) => j.records -= d.records(),
                None => break,
            }
        }
        j
    }

    /// The diffs from `serial` to the newest, if `serial` is where one starts.
    pub fn since(&self, serial_have: u32) -> Option<impl Iterator<Item = &Diff>> {
        let at = self
            .diffs
            .iter()
            .position(|d| serial(&d.from) == Some(serial_have))?;
        Some(self.diffs.iter().skip(at))
    }

    /// The serial of the newest version it leads to.
    pub fn last_serial(&self) -> Option<u32> {
        self.diffs.back().and_then(|d| serial(&d.to))
    }

    pub fn len(&self) -> usize {
        self.diffs.len()
    }

    pub fn is_empty(&self) -> bool {
        self.diffs.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::zones::ZoneSet;
    use hickory_proto::rr::{LowerName, Name};

    fn zone(dir: &std::path::Path, serial: u32, body: &str) -> std::sync::Arc<Zone> {
        std::fs::write(
            dir.join("j.zone"),
            format!("$TTL 60\n@ SOA ns.j. h.j. {serial} 1 1 1 1\n@ NS ns\nns A 192.0.2.1\n{body}"),
        )
        .unwrap();
        let (set, p) = ZoneSet::load(dir, None, &Default::default(), true);
        assert!(p.iter().all(|p| !p.is_error()), "{p:?}");
        set.get(&LowerName::new(&Name::from_ascii("j.").unwrap()))
            .unwrap()
            .clone()
    }

    fn strings(rs: &[Record]) -> Vec<String> {
        let mut v: Vec<String> = rs.iter().map(ToString::to_string).collect();
        v.sort();
        v
    }

    // A diff holds what went and what came, changed TTLs and RDATA as a removal
    // and an addition, never the SOA; the journal chains diffs and finds the
    // ones from a serial on.
    #[test]
    fn diffs_and_the_chain() {
        let dir = tempfile::tempdir().unwrap();
        let z1 = zone(
            dir.path(),
            1,
            "a A 192.0.2.10\nb A 192.0.2.11\nc TXT \"x\"\n",
        );
        let z2 = zone(
            dir.path(),
            2,
            "a A 192.0.2.10\nb A 192.0.2.12\nc 30 TXT \"x\"\nd AAAA ::1\n",
        );
        let z3 = zone(dir.path(), 3, "a A 192.0.2.10\n");
        let d12 = Diff::between(&z1, &z2).unwrap();
        assert_eq!(
            strings(&d12.removed),
            vec!["b.j. 60 IN A 192.0.2.11", "c.j. 60 IN TXT x"]
        );
        assert_eq!(
            strings(&d12.added),
            vec![
                "b.j. 60 IN A 192.0.2.12",
                "c.j. 30 IN TXT x",
                "d.j. 60 IN AAAA ::1"
            ]
        );
        assert_eq!(serial(&d12.from), Some(1));
        assert_eq!(serial(&d12.to), Some(2));
        let j = Journal::default()
            .with(d12)
            .with(Diff::between(&z2, &z3).unwrap());
        assert_eq!(j.len(), 2);
        assert_eq!(j.last_serial(), Some(3));
        let from1: Vec<u32> = j.since(1).unwrap().filter_map(|d| serial(&d.to)).collect();
        assert_eq!(from1, vec![2, 3]);
        let from2: Vec<u32> = j.since(2).unwrap().filter_map(|d| serial(&d.to)).collect();
        assert_eq!(from2, vec![3]);
        assert!(j.since(3).is_none() && j.since(0).is_none());
        // A diff that does not follow on (3 → 1 after a restart elsewhere) starts over.
        let j = j.with(Diff::between(&z3, &z1).unwrap());
        assert_eq!(j.len(), 3);
        let back = Diff::between(&z2, &z1).unwrap();
        let j = j.with(back);
        assert_eq!(j.len(), 1);
    }

    // The journal keeps at most MAX_DIFFS reloads, oldest dropped first.
    #[test]
    fn bounded() {
        let dir = tempfile::tempdir().unwrap();
        let mut j = Journal::default();
        let mut prev = zone(dir.path(), 1, "");
        for s in 2..(MAX_DIFFS as u32 + 10) {
            let next = zone(dir.path(), s, &format!("x A 192.0.2.{}\n", s % 200));
            j = j.with(Diff::between(&prev, &next).unwrap());
            prev = next;
        }
        assert_eq!(j.len(), MAX_DIFFS);
        assert!(j.since(1).is_none());
        assert!(j.since(10).is_some());
    }
}
