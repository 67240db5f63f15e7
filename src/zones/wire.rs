//! Names and record data in wire form, the way the zone store keeps them.
//!
//! A zone holds its owner names lowercased in uncompressed wire form (RFC 1035
//! §3.1) and each record's RDATA as the bytes it is sent as, with names in it
//! uncompressed and in the case they were written. That is a fraction of the
//! memory of hickory's `Name` and `RData` (a `Name` alone is 72 bytes before its
//! labels spill to the heap), and a name's ancestors are its suffixes: slices,
//! not new values.
//!
//! [`cursor`] reads and patches messages as they come off the wire, bounds-checked.

use hickory_proto::ProtoError;
use hickory_proto::rr::{Name, RData, RecordType};
use hickory_proto::serialize::binary::{
    BinDecodable, BinDecoder, BinEncodable, BinEncoder, NameEncoding, Restrict,
};

pub mod cursor;

/// The longest name in wire form (RFC 1035 §2.3.4).
pub(super) const MAX_NAME: usize = 255;

/// Appends `name` in wire form to `out`, lowercased when `lower` (else in the
/// case it was written). The one place a `Name` becomes wire bytes: the zone
/// store, the zone reader, DNAME data and the cache all use it.
pub(crate) fn push_wire(name: &Name, lower: bool, out: &mut Vec<u8>) {
    for label in name.iter() {
        // A Name's labels are 1..=63 octets, so the length fits in its octet.
        out.push(label.len() as u8);
        if lower {
            out.extend(label.iter().map(u8::to_ascii_lowercase));
        } else {
            out.extend_from_slice(label);
        }
    }
    out.push(0);
}

/// `name` in wire form, lowercased when `lower`.
pub(super) fn to_wire(name: &Name, lower: bool) -> Vec<u8> {
    let mut out = Vec::with_capacity(name.len() + 2);
    push_wire(name, lower, &mut out);
    out
}

/// The offsets where the labels of a well-formed wire name start, the root label
/// excluded: `name[starts[i]..]` is the name without its first `i` labels.
pub(super) fn label_starts(name: &[u8]) -> LabelStarts {
    let mut s = LabelStarts {
        at: [0; 128],
        len: 0,
        root: 0,
    };
    let mut i = 0;
    while let Some(&n) = name.get(i) {
        if n == 0 || s.len == s.at.len() {
            break;
        }
        s.at[s.len] = i as u8;
        s.len += 1;
        i += 1 + n as usize;
    }
    s.root = i;
    s
}

/// Label offsets of one name (a name has at most 127 labels).
pub(super) struct LabelStarts {
    at: [u8; 128],
    len: usize,
    /// Where the root label is.
    root: usize,
}

impl LabelStarts {
    /// Number of labels, the root label excluded.
    pub(super) fn count(&self) -> usize {
        self.len
    }

    /// Where the suffix with `labels` labels starts (0 is the root label; more than
    /// [`Self::count`] is the whole name).
    pub(super) fn suffix(&self, labels: usize) -> usize {
        match labels {
            0 => self.root,
            l if l >= self.len => 0,
            l => self.at[self.len - l] as usize,
        }
    }
}

/// The number of labels of a well-formed wire name, the root label excluded.
pub(super) fn label_count(name: &[u8]) -> usize {
    label_starts(name).count()
}

/// True when wire name `name` is `zone` or below it (both lowercased).
pub(super) fn is_at_or_below(name: &[u8], zone: &[u8]) -> bool {
    if name.len() < zone.len() || !name.ends_with(zone) {
        return false;
    }
    // The match must start at a label boundary.
    let cut = name.len() - zone.len();
    let mut i = 0;
    while i < cut {
        i += 1 + name[i] as usize;
    }
    i == cut
}

/// The name a well-formed wire name stands for (for messages and answers; the
/// root for bytes that are not one).
pub(crate) fn to_name(wire: &[u8]) -> Name {
    let mut d = BinDecoder::new(wire);
    Name::read(&mut d).unwrap_or_else(|_| Name::root())
}

/// `rdata` in wire form, names uncompressed and in their case, appended to `out`.
pub(super) fn encode_rdata(rdata: &RData, out: &mut Vec<u8>) -> Result<(), ProtoError> {
    let start = out.len();
    let mut e = BinEncoder::new(out);
    e.set_offset(start);
    e.set_name_encoding(NameEncoding::Uncompressed);
    let r = rdata.emit(&mut e);
    if r.is_err() {
        out.truncate(start);
    }
    r
}

/// Record data of type `rtype` read back from its wire form.
pub(super) fn decode_rdata(rtype: RecordType, bytes: &[u8]) -> Result<RData, ProtoError> {
    let len = u16::try_from(bytes.len()).map_err(|_| ProtoError::from("RDATA over 65535 bytes"))?;
    let mut d = BinDecoder::new(bytes);
    let data = RData::read(&mut d, rtype, Restrict::new(len))?;
    if d.index() != bytes.len() {
        return Err(ProtoError::from("RDATA has bytes left over"));
    }
    Ok(data)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn wire(s: &str) -> Vec<u8> {
        to_wire(&Name::from_ascii(s).unwrap(), true)
    }

    #[test]
    fn suffixes_and_boundaries() {
        let w = wire("WWW.Example.com.");
        assert_eq!(w, b"\x03www\x07example\x03com\x00");
        let s = label_starts(&w);
        assert_eq!(s.count(), 3);
        assert_eq!(&w[s.suffix(3)..], &w[..]);
        assert_eq!(&w[s.suffix(2)..], b"\x07example\x03com\x00");
        assert_eq!(&w[s.suffix(1)..], b"\x03com\x00");
        assert!(is_at_or_below(&w, &wire("example.com.")));
        assert!(is_at_or_below(&w, b"\x00"));
        assert!(!is_at_or_below(&wire("xample.com."), &wire("ample.com.")));
        assert!(!is_at_or_below(&wire("a.xcom."), &wire("com.")));
        assert_eq!(to_name(&w), Name::from_ascii("www.example.com.").unwrap());
        assert_eq!(label_count(b"\x00"), 0);
    }

    #[test]
    fn rdata_round_trips_with_names_uncompressed() {
        let soa = "ns.example. host.example. 1 2 3 4 5";
        let rd = RData::try_from_str(RecordType::SOA, soa).unwrap();
        let mut out = vec![9];
        encode_rdata(&rd, &mut out).unwrap();
        // No compression pointer: both names in full.
        assert_eq!(
            out[1..].windows(8).filter(|w| w == b"\x07example").count(),
            2
        );
        assert_eq!(out[1..].iter().filter(|&&b| b & 0xC0 == 0xC0).count(), 0);
        assert_eq!(decode_rdata(RecordType::SOA, &out[1..]).unwrap(), rd);
    }
}
