//! How cache entries are kept small: names and record data in wire form (one boxed
//! slice each), not as hickory `Record`s (272 bytes each before any heap), and keys as
//! a seeded 64-bit hash of (root, kind, type, name), checked against the name kept
//! in the entry, so a lookup builds nothing.

use std::hash::{BuildHasher, Hasher as _};

use hickory_proto::rr::{LowerName, Name, RData, Record, RecordType};
use hickory_proto::serialize::binary::{
    BinDecodable, BinDecoder, BinEncodable, BinEncoder, Restrict,
};

use crate::zones::wire;

/// A fast hash with a per-process random seed (names come from the network).
pub type Hasher = foldhash::fast::RandomState;

/// The kinds of entry a name can have.
pub const SET: u8 = 0;
pub const NXDOMAIN: u8 = 1;
pub const DELEGATION: u8 = 2;

/// The hash an entry is filed under.
pub fn hash(h: &Hasher, root: u8, kind: u8, rtype: u16, name: &LowerName) -> u64 {
    let mut s = h.build_hasher();
    s.write_u8(root);
    s.write_u8(kind);
    s.write_u16(rtype);
    // LowerName's labels are already lower case.
    for label in name.iter() {
        s.write_u8(label.len() as u8);
        s.write(label);
    }
    s.finish()
}

/// A name in (lower-case) wire form.
pub fn name_bytes(name: &LowerName) -> Box<[u8]> {
    let mut out = Vec::with_capacity(name.len() + 2);
    // LowerName's labels are already lower case.
    wire::push_wire(name, false, &mut out);
    out.into_boxed_slice()
}

/// Is `wire` (from [`name_bytes`]) this name?
pub fn same_name(wire: &[u8], name: &LowerName) -> bool {
    let mut i = 0;
    for label in name.iter() {
        let Some(&len) = wire.get(i) else {
            return false;
        };
        if usize::from(len) != label.len() || wire.get(i + 1..i + 1 + label.len()) != Some(label) {
            return false;
        }
        i += 1 + label.len();
    }
    wire.get(i..) == Some(&[0][..])
}

/// The data of an RRset: each record's data behind its length, written by one
/// encoder so that names inside may point at earlier ones.
pub fn encode_set(records: &[Record]) -> Option<Box<[u8]>> {
    let mut buf = Vec::with_capacity(records.len() * 8);
    let mut enc = BinEncoder::new(&mut buf);
    for r in records {
        let place = enc.place::<u16>().ok()?;
        let start = enc.offset();
        r.data.emit(&mut enc).ok()?;
        let len = u16::try_from(enc.offset() - start).ok()?;
        place.replace(&mut enc, len).ok()?;
    }
    Some(buf.into_boxed_slice())
}

/// An RRset back: owner, type and TTL from the entry, data from [`encode_set`].
pub fn decode_set(owner: &Name, rtype: RecordType, ttl: u32, data: &[u8]) -> Vec<Record> {
    let mut out = Vec::new();
    let mut dec = BinDecoder::new(data);
    while !dec.is_empty() {
        let Ok(len) = dec.read_u16() else { break };
        let len = len.unverified();
        match RData::read(&mut dec, rtype, Restrict::new(len)) {
            Ok(d) => out.push(Record::from_rdata(owner.clone(), ttl, d)),
            Err(_) => break,
        }
    }
    out
}

/// A whole record (a negative answer's SOA): owner, TTL, type, data.
pub fn encode_record(r: &Record) -> Option<Box<[u8]>> {
    let mut buf = Vec::new();
    let mut enc = BinEncoder::new(&mut buf);
    r.name.emit(&mut enc).ok()?;
    enc.emit_u16(u16::from(r.record_type())).ok()?;
    enc.emit_u32(r.ttl).ok()?;
    r.data.emit(&mut enc).ok()?;
    Some(buf.into_boxed_slice())
}

pub fn decode_record(b: &[u8], ttl: u32) -> Option<Record> {
    let mut dec = BinDecoder::new(b);
    let name = Name::read(&mut dec).ok()?;
    let rtype = RecordType::from(dec.read_u16().ok()?.unverified());
    let _stored_ttl = dec.read_u32().ok()?;
    let len = u16::try_from(dec.len()).ok()?;
    let data = RData::read(&mut dec, rtype, Restrict::new(len)).ok()?;
    Some(Record::from_rdata(name, ttl, data))
}

#[cfg(test)]
mod tests {
    use super::*;
    use hickory_proto::rr::rdata::{A, MX, NS, SOA};

    fn n(s: &str) -> Name {
        Name::from_ascii(s).unwrap()
    }

    #[test]
    fn sets_and_records_round_trip() {
        let owner = n("example.com.");
        let set = vec![
            Record::from_rdata(
                owner.clone(),
                60,
                RData::MX(MX::new(10, n("mx1.example.com."))),
            ),
            Record::from_rdata(
                owner.clone(),
                60,
                RData::MX(MX::new(20, n("mx2.example.com."))),
            ),
        ];
        let b = encode_set(&set).unwrap();
        assert_eq!(decode_set(&owner, RecordType::MX, 60, &b), set);
        let a = vec![Record::from_rdata(
            owner.clone(),
            5,
            RData::A(A::new(192, 0, 2, 1)),
        )];
        assert_eq!(encode_set(&a).unwrap().len(), 6, "length and four bytes");
        let ns = vec![Record::from_rdata(
            owner.clone(),
            5,
            RData::NS(NS(n("ns.example.net."))),
        )];
        assert_eq!(
            decode_set(&owner, RecordType::NS, 5, &encode_set(&ns).unwrap()),
            ns
        );
        let soa = Record::from_rdata(
            owner.clone(),
            30,
            RData::SOA(SOA::new(
                n("ns.example.com."),
                n("h.example.com."),
                1,
                2,
                3,
                4,
                5,
            )),
        );
        assert_eq!(
            decode_record(&encode_record(&soa).unwrap(), 30).unwrap(),
            soa
        );
    }

    #[test]
    fn names_compare_and_hash_without_building_anything() {
        let h = Hasher::default();
        let a = LowerName::new(&n("WWW.Example.COM."));
        let b = LowerName::new(&n("www.example.com."));
        assert_eq!(hash(&h, 0, SET, 1, &a), hash(&h, 0, SET, 1, &b));
        assert_ne!(hash(&h, 0, SET, 1, &a), hash(&h, 1, SET, 1, &a), "per root");
        assert_ne!(
            hash(&h, 0, SET, 1, &a),
            hash(&h, 0, SET, 28, &a),
            "per type"
        );
        let w = name_bytes(&a);
        assert!(same_name(&w, &b));
        assert!(!same_name(&w, &LowerName::new(&n("example.com."))));
        assert_eq!(wire::to_name(&w), n("www.example.com."));
        assert!(same_name(
            &name_bytes(&LowerName::new(&Name::root())),
            &LowerName::new(&Name::root())
        ));
    }
}
