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

/// Marks where an RRset's RRSIGs begin in [`encode_set`]'s output (no record data
/// is 65,535 bytes long: it would not fit a message with its header).
const SIGS: u16 = u16::MAX;

/// Marks where the proof kept with an RRset begins (the NSEC or NSEC3 records, and
/// their RRSIGs, that came with a wildcard answer: whole records, see
/// [`encode_records`]).
const PROOF: u16 = u16::MAX - 1;

/// Is this record part of a proof of non-existence (NSEC, NSEC3, or an RRSIG over
/// one)?
pub fn is_denial(r: &Record) -> bool {
    let denial = |t| matches!(t, RecordType::NSEC | RecordType::NSEC3);
    denial(r.record_type())
        || matches!(&r.data, RData::DNSSEC(hickory_proto::dnssec::rdata::DNSSECRData::RRSIG(s)) if denial(s.input().type_covered))
}

/// The data of an RRset: each record's data behind its length, written by one
/// encoder so that names inside may point at earlier ones. The RRSIGs covering the
/// set, when it has them, follow its records behind a [`SIGS`] marker, and the
/// proof of a wildcard answer behind a [`PROOF`] marker, so an unsigned set costs
/// nothing more. `None` for records that are not one RRset in that order.
pub fn encode_set(records: &[Record]) -> Option<Box<[u8]>> {
    let mut buf = Vec::with_capacity(records.len() * 8);
    let mut enc = BinEncoder::new(&mut buf);
    let first = records.first()?;
    let (owner, rtype) = (&first.name, first.record_type());
    let mut part = 0; // 0 data, 1 signatures, 2 proof
    for (i, r) in records.iter().enumerate() {
        let t = r.record_type();
        let now = if t == rtype && r.name == *owner {
            0
        } else if t == RecordType::RRSIG && r.name == *owner && !is_denial(r) {
            1
        } else if is_denial(r) {
            2
        } else {
            return None;
        };
        if now < part {
            return None;
        }
        if now == 2 {
            let rest = records.get(i..)?;
            if !rest.iter().all(is_denial) {
                return None;
            }
            enc.emit_u16(PROOF).ok()?;
            let rest = encode_records(rest)?;
            enc.emit_vec(&rest).ok()?;
            break;
        }
        if now == 1 && part == 0 {
            enc.emit_u16(SIGS).ok()?;
        }
        part = now;
        let place = enc.place::<u16>().ok()?;
        let start = enc.offset();
        r.data.emit(&mut enc).ok()?;
        let len = u16::try_from(enc.offset() - start).ok()?;
        place.replace(&mut enc, len).ok()?;
    }
    Some(buf.into_boxed_slice())
}

/// An RRset back (its RRSIGs after it): owner, type and TTL from the entry, data
/// from [`encode_set`].
pub fn decode_set(owner: &Name, rtype: RecordType, ttl: u32, data: &[u8]) -> Vec<Record> {
    let mut out = Vec::new();
    let mut dec = BinDecoder::new(data);
    let mut rtype = rtype;
    while !dec.is_empty() {
        let Ok(len) = dec.read_u16() else { break };
        let len = len.unverified();
        if len == SIGS {
            rtype = RecordType::RRSIG;
            continue;
        }
        if len == PROOF {
            if let Ok(rest) = dec.read_slice(dec.len()) {
                out.extend(decode_records(rest.unverified(), ttl));
            }
            break;
        }
        match RData::read(&mut dec, rtype, Restrict::new(len)) {
            Ok(d) => out.push(Record::from_rdata(owner.clone(), ttl, d)),
            Err(_) => break,
        }
    }
    out
}

/// Whole records (a negative answer's SOA and its proof: RRSIGs, NSEC, NSEC3):
/// for each, owner, type and data behind its length. TTLs are the entry's.
pub fn encode_records(records: &[Record]) -> Option<Box<[u8]>> {
    let mut buf = Vec::new();
    let mut enc = BinEncoder::new(&mut buf);
    for r in records {
        r.name.emit(&mut enc).ok()?;
        enc.emit_u16(u16::from(r.record_type())).ok()?;
        let place = enc.place::<u16>().ok()?;
        let start = enc.offset();
        r.data.emit(&mut enc).ok()?;
        let len = u16::try_from(enc.offset() - start).ok()?;
        place.replace(&mut enc, len).ok()?;
    }
    Some(buf.into_boxed_slice())
}

/// The records of [`encode_records`] back, TTLs set to `ttl`.
pub fn decode_records(b: &[u8], ttl: u32) -> Vec<Record> {
    let mut out = Vec::new();
    let mut dec = BinDecoder::new(b);
    while !dec.is_empty() {
        let Ok(name) = Name::read(&mut dec) else {
            break;
        };
        let Ok(rtype) = dec.read_u16() else { break };
        let Ok(len) = dec.read_u16() else { break };
        let rtype = RecordType::from(rtype.unverified());
        match RData::read(&mut dec, rtype, Restrict::new(len.unverified())) {
            Ok(d) => out.push(Record::from_rdata(name, ttl, d)),
            Err(_) => break,
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use hickory_proto::dnssec::rdata::{DNSSECRData, NSEC};
    use hickory_proto::rr::rdata::{A, MX, NS, SOA};

    use crate::resolver::answer::test_rrsig as rrsig;

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
        let nsec = Record::from_rdata(
            n("a.example.com."),
            30,
            RData::DNSSEC(DNSSECRData::NSEC(NSEC::new(
                n("b.example.com."),
                [RecordType::A, RecordType::RRSIG, RecordType::NSEC],
            ))),
        );
        let negative = vec![soa.clone(), rrsig(&owner, RecordType::SOA), nsec];
        assert_eq!(
            decode_records(&encode_records(&negative).unwrap(), 30),
            negative
        );
        // An RRset's signatures come back after it, as RRSIGs.
        let mut signed = set.clone();
        signed.push(rrsig(&owner, RecordType::MX));
        let b = encode_set(&signed).unwrap();
        assert_eq!(decode_set(&owner, RecordType::MX, 60, &b), signed);
        assert_eq!(
            encode_set(&set).unwrap().len()
                + 2
                + 2
                + rrsig(&owner, RecordType::MX).data.to_bytes().unwrap().len(),
            b.len(),
            "the marker, the length, the signature: nothing else"
        );
        // A wildcard answer's proof comes back after the set and its RRSIGs.
        let mut proved = signed.clone();
        proved.push(negative[2].clone());
        proved.push(rrsig(&n("a.example.com."), RecordType::NSEC));
        let b = encode_set(&proved).unwrap();
        let mut back = decode_set(&owner, RecordType::MX, 60, &b);
        for r in &mut back {
            r.ttl = 60;
        }
        let mut want = proved.clone();
        for r in &mut want {
            r.ttl = 60;
        }
        assert_eq!(back, want);
        assert!(
            encode_set(&[set[0].clone(), negative[2].clone(), set[1].clone()]).is_none(),
            "data after the proof"
        );
        // Records of two types that are not an RRset and its RRSIGs are refused.
        assert!(encode_set(&[set[0].clone(), soa]).is_none());
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
