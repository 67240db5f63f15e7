//! DNAME (RFC 6672): redirection of every name below an owner to the same name
//! below a target.
//!
//! hickory-proto 0.26 has no DNAME RData: its zone parser refuses the type, and
//! from the wire a DNAME decodes as `RData::Unknown { code: DNAME, rdata: NULL }`
//! holding the RDATA bytes. altroot uses that very form everywhere, for records
//! read from zone files as for records received, so one representation reaches
//! the cache, the engine and the encoder:
//! `RData::Unknown { code: RecordType::DNAME, rdata: NULL::with(<target in
//! uncompressed wire format>) }`. hickory's encoder writes those bytes as they
//! are, so the target is never compressed (RFC 6672 §2.5).

use std::fmt;

use hickory_proto::rr::rdata::{CNAME, NULL};
use hickory_proto::rr::{Name, RData, Record, RecordType};
use hickory_proto::serialize::binary::{BinDecodable, BinDecoder};

/// A DNAME substitution whose result would be longer than a domain name may be
/// (255 octets): the answer is YXDOMAIN (RFC 6672 §2.2).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TooLong;

impl fmt::Display for TooLong {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("the DNAME substitution is longer than 255 octets (YXDOMAIN, RFC 6672 §2.2)")
    }
}

impl std::error::Error for TooLong {}

/// A DNAME record: `owner` redirects to `target`.
pub fn dname(owner: Name, ttl: u32, target: &Name) -> Record {
    let data = RData::Unknown {
        code: RecordType::DNAME,
        rdata: NULL::with(super::wire::to_wire(target, false)),
    };
    Record::from_rdata(owner, ttl, data)
}

/// The target of a DNAME's data; `None` when `data` is not a DNAME, or its target
/// is malformed or compressed (a pointer means nothing outside its message, and
/// RFC 6672 §2.5 forbids it anyway).
pub fn dname_target(data: &RData) -> Option<Name> {
    let RData::Unknown {
        code: RecordType::DNAME,
        rdata,
    } = data
    else {
        return None;
    };
    let wire = rdata.anything.as_slice();
    // Walk the length octets first: only plain labels (top bits 00), ending with
    // the root label exactly at the end of the data.
    let mut at = 0;
    loop {
        let len = *wire.get(at)? as usize;
        if len & 0xC0 != 0 {
            return None;
        }
        at += 1 + len;
        if len == 0 {
            break;
        }
    }
    if at != wire.len() {
        return None;
    }
    let mut decoder = BinDecoder::new(wire);
    Name::read(&mut decoder).ok()
}

/// `qname` with its `owner` suffix replaced by `target` (RFC 6672 §2.2); the
/// labels kept from `qname` keep their case.
///
/// `owner` must be an ancestor of `qname` (as [`synthesized_cname`] checks);
/// otherwise the result is `qname`'s leading labels, as many as it has more than
/// `owner`, before `target`.
pub fn synthesize(qname: &Name, owner: &Name, target: &Name) -> Result<Name, TooLong> {
    let keep = usize::from(qname.num_labels().saturating_sub(owner.num_labels()));
    let prefix = Name::from_labels(qname.iter().take(keep)).map_err(|_| TooLong)?;
    prefix.append_domain(target).map_err(|_| TooLong)
}

/// The CNAME that a DNAME makes for `qname`, as a server adds it to the answer
/// and a resolver checks it (RFC 6672 §3.1; §5.3.1: it is never signed): owned by
/// `qname` as asked, pointing at the substituted name, with the DNAME's TTL.
///
/// `None` when `dname` is not a DNAME record that applies to `qname`: one whose
/// owner is a proper ancestor of it (the owner itself is not redirected, §2.3).
pub fn synthesized_cname(qname: &Name, dname: &Record) -> Option<Result<Record, TooLong>> {
    let target = dname_target(&dname.data)?;
    if !dname.name.zone_of(qname) || qname.num_labels() <= dname.name.num_labels() {
        return None;
    }
    Some(synthesize(qname, &dname.name, &target).map(|to| {
        let mut name = qname.clone();
        name.set_fqdn(true);
        Record::from_rdata(name, dname.ttl, RData::CNAME(CNAME(to)))
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use hickory_proto::op::{Message, OpCode, Query};

    fn n(s: &str) -> Name {
        Name::from_ascii(s).unwrap()
    }

    #[test]
    fn target_round_trips_and_is_uncompressed() {
        let r = dname(n("old.geek."), 300, &n("New.Example."));
        assert_eq!(r.record_type(), RecordType::DNAME);
        let RData::Unknown { rdata, .. } = &r.data else {
            panic!("{r:?}")
        };
        assert_eq!(rdata.anything, b"\x03New\x07Example\x00");
        assert_eq!(dname_target(&r.data), Some(n("new.example.")));
        assert_eq!(dname(n("x."), 1, &Name::root()).data, {
            RData::Unknown {
                code: RecordType::DNAME,
                rdata: NULL::with(vec![0]),
            }
        });
    }

    #[test]
    fn malformed_or_compressed_targets_are_refused() {
        let bad = |bytes: &[u8]| RData::Unknown {
            code: RecordType::DNAME,
            rdata: NULL::with(bytes.to_vec()),
        };
        assert_eq!(dname_target(&bad(b"\x03abc")), None, "no root label");
        assert_eq!(
            dname_target(&bad(b"\x03abc\x00\x00")),
            None,
            "bytes after it"
        );
        assert_eq!(
            dname_target(&bad(b"\x05ab\x00")),
            None,
            "label past the end"
        );
        assert_eq!(dname_target(&bad(b"\x03abc\xc0\x0c")), None, "a pointer");
        assert_eq!(
            dname_target(&bad(b"\x40abc\x00")),
            None,
            "reserved label type"
        );
        let other = RData::Unknown {
            code: RecordType::NULL,
            rdata: NULL::with(b"\x00".to_vec()),
        };
        assert_eq!(dname_target(&other), None, "not a DNAME");
    }

    // The encoded DNAME must survive hickory's encoder (which compresses names it
    // knows, but must not touch our bytes) and decoder (Unknown again).
    #[test]
    fn survives_a_message_round_trip() {
        let owner = n("old.geek.");
        let mut m = Message::response(1, OpCode::Query);
        m.add_query(Query::query(n("www.old.geek."), RecordType::A));
        // The target repeats names already in the message: a compressing encoder
        // would point at them.
        m.add_answer(dname(owner.clone(), 300, &n("old.geek.")));
        m.add_answer(dname(n("b.geek."), 60, &n("www.old.geek.")));
        let bytes = m.to_vec().unwrap();
        let back = Message::from_vec(&bytes).unwrap();
        let targets: Vec<_> = back
            .answers
            .iter()
            .map(|r| (r.name.clone(), r.ttl, dname_target(&r.data)))
            .collect();
        assert_eq!(
            targets,
            vec![
                (owner, 300, Some(n("old.geek."))),
                (n("b.geek."), 60, Some(n("www.old.geek.")))
            ]
        );
        assert_eq!(back.answers[0].data, m.answers[0].data, "bytes unchanged");
    }

    #[test]
    fn synthesis_replaces_the_owner_suffix() {
        let got = synthesize(&n("A.b.Old.geek."), &n("old.geek."), &n("new.example."));
        assert_eq!(got.map(|x| x.to_string()), Ok("A.b.new.example.".into()));
        let got = synthesize(&n("x.old.geek."), &n("old.geek."), &Name::root());
        assert_eq!(got.map(|x| x.to_string()), Ok("x.".into()));
        // The apex of the root: every name below redirects.
        let got = synthesize(&n("www.geek."), &Name::root(), &n("alt."));
        assert_eq!(got.map(|x| x.to_string()), Ok("www.geek.alt.".into()));
    }

    #[test]
    fn synthesis_over_255_octets_is_too_long() {
        let l63 = "a".repeat(63);
        // The target takes 195 octets: a 59-octet label before it makes 255 (the
        // most a name may have), a 60-octet one 256.
        let target = n(&format!("{l63}.{l63}.{l63}.x."));
        let ok = synthesize(&n(&format!("{}.d.", "b".repeat(59))), &n("d."), &target);
        assert_eq!(
            ok.map(|x| x.len()),
            Ok(255 - 1),
            "254 characters: 255 octets"
        );
        let long = synthesize(&n(&format!("{}.d.", "b".repeat(60))), &n("d."), &target);
        assert_eq!(long, Err(TooLong));
    }

    #[test]
    fn synthesized_cname_is_owned_by_the_asked_name_with_the_dname_ttl() {
        let d = dname(n("old.geek."), 42, &n("new.example."));
        let c = synthesized_cname(&n("WWW.old.geek."), &d).unwrap().unwrap();
        assert_eq!(c.name.to_string(), "WWW.old.geek.");
        assert_eq!(c.ttl, 42);
        assert_eq!(c.data, RData::CNAME(CNAME(n("WWW.new.example."))));
        assert!(synthesized_cname(&n("old.geek."), &d).is_none(), "owner");
        assert!(synthesized_cname(&n("www.geek."), &d).is_none(), "outside");
        let cname = Record::from_rdata(n("old.geek."), 1, RData::CNAME(CNAME(n("x."))));
        assert!(synthesized_cname(&n("a.old.geek."), &cname).is_none());
    }
}
