//! Zone transfers out: a zone of a zones root sent over TCP or DoT as AXFR (RFC
//! 5936) — the SOA first, every other record, the SOA again last — split over as
//! many messages as it takes (each well under the 64 KiB a stream message may
//! hold; hickory-server's AXFR puts the whole zone in one message, which breaks
//! past 64 KiB, so this is our own). IXFR (RFC 1995) is answered with the SOA alone
//! when the client's serial is current, with the changes since its serial when
//! the zone's journal ([`crate::zones::journal`]) has them, else with the whole
//! zone in AXFR form (RFC 1995 §4).

use hickory_proto::op::{Message, MessageType, OpCode, Query, ResponseCode};
use hickory_proto::rr::{Record, RecordType};
use hickory_proto::serialize::binary::{BinEncodable, BinEncoder};

use super::tsig::Signing;
use crate::zones::Zone;

/// Record bytes (uncompressed, an upper bound of what they take in the message)
/// put in one message. Well below 64 KiB, so a message always fits a stream frame
/// with its header and question; about what NSD sends per message.
pub const MESSAGE_BUDGET: usize = 16 * 1024;

/// One zone transfer under way: the messages are made one at a time, as the
/// connection takes them.
pub struct Transfer {
    id: u16,
    query: Query,
    soa: Record,
    /// Every record but the apex SOA.
    records: Vec<Record>,
    /// The next record to send; `records.len()` once all are sent (the closing SOA
    /// goes with the last of them).
    next: usize,
    messages: usize,
    done: bool,
    /// The request was signed: so is every message (RFC 8945 §5.3.1).
    signing: Option<Signing>,
}

impl Transfer {
    /// The whole zone, AXFR style (for AXFR, and for IXFR from a serial we have no
    /// history for).
    pub fn full(id: u16, query: Query, zone: &Zone, signing: Option<Signing>) -> Transfer {
        let soa = zone.soa();
        let records = zone
            .records()
            .into_iter()
            .filter(|r| r.record_type() != RecordType::SOA || r.name != soa.name)
            .collect();
        Transfer {
            id,
            query,
            soa,
            records,
            next: 0,
            messages: 0,
            done: false,
            signing,
        }
    }

    /// The changes from the client's serial on, in IXFR form (RFC 1995 §4): the
    /// new SOA, then per reload the old SOA, what went, the new SOA, what came;
    /// the new SOA again last.
    pub fn incremental<'a>(
        id: u16,
        query: Query,
        zone: &Zone,
        diffs: impl Iterator<Item = &'a crate::zones::Diff>,
        signing: Option<Signing>,
    ) -> Transfer {
        let mut records = Vec::new();
        for d in diffs {
            records.push(d.from.clone());
            records.extend(d.removed.iter().cloned());
            records.push(d.to.clone());
            records.extend(d.added.iter().cloned());
        }
        Transfer {
            id,
            query,
            soa: zone.soa(),
            records,
            next: 0,
            messages: 0,
            done: false,
            signing,
        }
    }

    /// Records this transfer sends, both SOAs included.
    pub fn record_count(&self) -> usize {
        self.records.len() + 2
    }

    /// Messages made so far.
    pub fn messages(&self) -> usize {
        self.messages
    }

    /// The next message of the transfer, `None` once the closing SOA was sent. An
    /// error (a message hickory cannot encode) ends the transfer early: the client
    /// sees no closing SOA and keeps what it had.
    pub fn next_message(&mut self) -> Option<Result<Vec<u8>, String>> {
        if self.done {
            return None;
        }
        let mut m = self.header();
        if self.messages == 0 {
            m.add_query(self.query.clone());
            m.add_answer(self.soa.clone());
        }
        let mut used = 0;
        let mut scratch = Vec::with_capacity(512);
        while let Some(r) = self.records.get(self.next) {
            let size = encoded_len(r, &mut scratch);
            if used > 0 && used + size > MESSAGE_BUDGET {
                break;
            }
            used += size;
            m.add_answer(r.clone());
            self.next += 1;
        }
        if self.next == self.records.len() {
            m.add_answer(self.soa.clone());
            self.done = true;
        }
        self.messages += 1;
        let n = self.messages;
        let signed = m
            .to_vec()
            .map_err(|e| format!("cannot encode message {n} of the transfer: {e}"))
            .and_then(|mut b| match &mut self.signing {
                Some(s) => s
                    .sign(self.id, &mut b, crate::clock::unix_now())
                    .map(|()| b)
                    .map_err(|e| format!("cannot sign message {n} of the transfer: {e}")),
                None => Ok(b),
            });
        if signed.is_err() {
            self.done = true;
        }
        Some(signed)
    }

    fn header(&self) -> Message {
        let mut m = Message::new(self.id, MessageType::Response, OpCode::Query);
        m.metadata.authoritative = true;
        m.metadata.response_code = ResponseCode::NoError;
        m
    }
}

/// The reply to an IXFR whose serial is current (or newer): the SOA alone (RFC
/// 1995 §2), also the reply to any IXFR over UDP (RFC 1995 §2: the client then
/// asks over TCP).
pub fn soa_only(
    id: u16,
    query: Query,
    zone: &Zone,
    signing: Option<&mut Signing>,
) -> Result<Vec<u8>, String> {
    let mut m = Message::new(id, MessageType::Response, OpCode::Query);
    m.metadata.authoritative = true;
    m.add_query(query);
    m.add_answer(zone.soa());
    let mut b = m
        .to_vec()
        .map_err(|e| format!("cannot encode the SOA reply: {e}"))?;
    if let Some(s) = signing {
        s.sign(id, &mut b, crate::clock::unix_now())?;
    }
    Ok(b)
}

/// A record's length in wire form without name compression.
fn encoded_len(r: &Record, scratch: &mut Vec<u8>) -> usize {
    scratch.clear();
    let mut e = BinEncoder::new(scratch);
    e.set_canonical_form(true); // no compression pointers
    match r.emit(&mut e) {
        Ok(()) => scratch.len(),
        // Counted as a full message of its own; encoding the message reports it.
        Err(_) => MESSAGE_BUDGET,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::zones::ZoneSet;
    use hickory_proto::rr::{LowerName, Name, RData};

    /// A zone of `n` TXT records of 100 bytes each: far more than 64 KiB.
    fn big_zone(dir: &std::path::Path, n: usize) -> std::sync::Arc<Zone> {
        let mut text = String::from(
            "$TTL 3600\n@ SOA ns.big. host.big. 7 3600 600 86400 60\n@ NS ns\nns A 192.0.2.1\n",
        );
        for i in 0..n {
            text.push_str(&format!("r{i} TXT \"{}\"\n", "x".repeat(100)));
        }
        std::fs::write(dir.join("big.zone"), text).unwrap();
        let (set, problems) = ZoneSet::load(dir, None, &Default::default(), true);
        assert!(problems.iter().all(|p| !p.is_error()), "{problems:?}");
        let name = LowerName::new(&Name::from_ascii("big.").unwrap());
        set.get(&name).unwrap().clone()
    }

    fn query() -> Query {
        Query::query(Name::from_ascii("big.").unwrap(), RecordType::AXFR)
    }

    // RFC 5936 §2.2: the SOA first and last, every record once between them, the
    // question in the first message, each message a valid DNS message that fits a
    // stream frame; a zone over 64 KiB takes several.
    #[test]
    fn a_large_zone_is_split_with_the_soa_first_and_last() {
        let dir = tempfile::tempdir().unwrap();
        let zone = big_zone(dir.path(), 2000);
        let mut t = Transfer::full(99, query(), &zone, None);
        assert_eq!(t.record_count(), zone.len() + 1);
        let mut all = Vec::new();
        let mut sizes = Vec::new();
        while let Some(m) = t.next_message() {
            let bytes = m.unwrap();
            sizes.push(bytes.len());
            let msg = Message::from_vec(&bytes).unwrap();
            assert_eq!(msg.metadata.id, 99);
            assert!(msg.metadata.authoritative);
            assert_eq!(msg.queries.len(), usize::from(sizes.len() == 1));
            all.extend(msg.answers);
        }
        assert!(sizes.len() > 4, "{sizes:?}");
        assert!(sizes.iter().all(|&s| s < 65_535), "{sizes:?}");
        assert!(sizes.iter().sum::<usize>() > 200_000, "{sizes:?}");
        assert_eq!(t.messages(), sizes.len());
        let soa = |r: &Record| matches!(&r.data, RData::SOA(s) if s.serial == 7);
        assert!(soa(&all[0]) && soa(all.last().unwrap()));
        assert_eq!(all.iter().filter(|r| soa(r)).count(), 2);
        let mut sent: Vec<String> = all[1..all.len() - 1]
            .iter()
            .map(ToString::to_string)
            .collect();
        let mut want: Vec<String> = zone
            .records()
            .iter()
            .filter(|r| r.record_type() != RecordType::SOA)
            .map(ToString::to_string)
            .collect();
        sent.sort();
        want.sort();
        assert_eq!(sent.len(), 2002);
        assert_eq!(sent, want);
        assert!(t.next_message().is_none());
    }

    // A zone of the SOA alone is one message: SOA, SOA.
    #[test]
    fn a_tiny_zone_is_one_message() {
        let dir = tempfile::tempdir().unwrap();
        let zone = big_zone(dir.path(), 0);
        let mut t = Transfer::full(1, query(), &zone, None);
        let m = Message::from_vec(&t.next_message().unwrap().unwrap()).unwrap();
        let types: Vec<RecordType> = m.answers.iter().map(Record::record_type).collect();
        assert_eq!(types.first(), Some(&RecordType::SOA));
        assert_eq!(types.last(), Some(&RecordType::SOA));
        assert_eq!(types.len(), 4);
        assert!(t.next_message().is_none());
    }
}
