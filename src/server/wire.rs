//! Queries read in place, without building a message: the header, the one question
//! and an OPT record, straight from the datagram. This is what the hot path needs to
//! find a ready answer; anything unusual (another opcode, several questions, records
//! besides one OPT, compression in the question, EDNS versions above 0, other
//! classes, ANY and zone transfers) is left to the full parser, which answers it
//! with the right rcode.
//!
//! Replies are walked the same way where only a number is wanted from them
//! ([`min_ttl`], DoH's `max-age`).

use hickory_proto::rr::RecordType;

/// The longest name on the wire (RFC 1035 §3.1), plus type, class and shape.
pub const KEY_MAX: usize = 255 + 5;

/// What a plain query says.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Query {
    pub id: u16,
    /// RD (byte 2, bit 0) as asked.
    pub rd: bool,
    /// CD (byte 3, bit 4) as asked.
    pub cd: bool,
    /// Where the question name ends (exclusive); it starts at 12.
    pub name_end: usize,
    pub qtype: u16,
    /// The client's EDNS buffer size, if it sent EDNS.
    pub edns: Option<u16>,
    pub dnssec_ok: bool,
}

/// The key a ready answer is filed under: the question name in lower case, type,
/// class, and the reply's shape (EDNS or not, DO).
#[derive(Clone)]
pub struct Key {
    buf: [u8; KEY_MAX],
    len: usize,
}

impl Default for Key {
    fn default() -> Key {
        Key {
            buf: [0; KEY_MAX],
            len: 0,
        }
    }
}

impl Key {
    pub fn as_bytes(&self) -> &[u8] {
        &self.buf[..self.len]
    }
}

/// Reads a plain query and fills `key`; `None` for anything the full parser must see.
pub fn parse(m: &[u8], key: &mut Key) -> Option<Query> {
    if m.len() < 17 {
        return None;
    }
    let (b2, b3) = (m[2], m[3]);
    // QR = 0, opcode QUERY, TC = 0; one question, no answers or authority, at most
    // one additional (the OPT).
    if b2 & 0xfa != 0 || m[4..10] != [0, 1, 0, 0, 0, 0] || m[10] != 0 || m[11] > 1 {
        return None;
    }
    let mut i = 12;
    let mut k = 0;
    loop {
        let len = usize::from(*m.get(i)?);
        if len == 0 {
            key.buf[k] = 0;
            k += 1;
            i += 1;
            break;
        }
        if len > 63 || k + 1 + len > 255 {
            return None; // compression or a bad length: the full parser decides
        }
        key.buf[k] = len as u8;
        let label = m.get(i + 1..i + 1 + len)?;
        for (d, s) in key.buf[k + 1..k + 1 + len].iter_mut().zip(label) {
            *d = s.to_ascii_lowercase();
        }
        k += 1 + len;
        i += 1 + len;
    }
    let name_end = i;
    let fixed = m.get(i..i + 4)?;
    let qtype = u16::from_be_bytes([fixed[0], fixed[1]]);
    let qclass = u16::from_be_bytes([fixed[2], fixed[3]]);
    if qclass != 1 || !plain_type(qtype) {
        return None;
    }
    i += 4;
    let (edns, dnssec_ok) = if m[11] == 1 {
        let opt = read_opt(m, i)?;
        (Some(opt.0), opt.1)
    } else if i == m.len() {
        (None, false)
    } else {
        return None;
    };
    key.buf[k..k + 4].copy_from_slice(&m[name_end..name_end + 4]);
    key.buf[k + 4] = match (edns.is_some(), dnssec_ok) {
        (false, _) => 0,
        (true, false) => 1,
        (true, true) => 3,
    };
    key.len = k + 5;
    Some(Query {
        id: u16::from_be_bytes([m[0], m[1]]),
        rd: b2 & 0x01 != 0,
        cd: b3 & 0x10 != 0,
        name_end,
        qtype,
        edns,
        dnssec_ok,
    })
}

/// Types the hot path answers (the rest — ANY, transfers, OPT, meta types — go to
/// the full path).
fn plain_type(t: u16) -> bool {
    !matches!(
        RecordType::from(t),
        RecordType::ANY | RecordType::AXFR | RecordType::IXFR | RecordType::OPT | RecordType::NULL
    ) && t != 0
}

/// An OPT record at `i` that ends the message: (buffer size, DO). EDNS version 0 only.
fn read_opt(m: &[u8], i: usize) -> Option<(u16, bool)> {
    let rr = m.get(i..i + 11)?;
    // Root owner, type OPT.
    if rr[0] != 0 || rr[1..3] != [0, 41] {
        return None;
    }
    let payload = u16::from_be_bytes([rr[3], rr[4]]);
    let version = rr[6];
    let dnssec_ok = rr[7] & 0x80 != 0;
    let rdlen = usize::from(u16::from_be_bytes([rr[9], rr[10]]));
    if version != 0 || i + 11 + rdlen != m.len() {
        return None;
    }
    Some((payload, dnssec_ok))
}

/// The smallest TTL of a reply's answer and authority records (a negative
/// answer's SOA included), read in place; 0 when it has none, or when its sections
/// do not hold together (a count past the end, a bad name, an RDATA length past
/// the end), as a reply that does not decode has no freshness to give.
pub fn min_ttl(m: &[u8]) -> u32 {
    min_ttl_of(m).unwrap_or(0)
}

fn min_ttl_of(m: &[u8]) -> Option<u32> {
    let header = m.get(..12)?;
    let count = |at: usize| usize::from(u16::from_be_bytes([header[at], header[at + 1]]));
    let (questions, answers, authority, additional) = (count(4), count(6), count(8), count(10));
    let mut i = 12;
    for _ in 0..questions {
        i = skip_name(m, i)? + 4;
    }
    let mut min: Option<u32> = None;
    for n in 0..answers + authority + additional {
        i = skip_name(m, i)?;
        let fixed = m.get(i..i + 10)?;
        let ttl = u32::from_be_bytes([fixed[4], fixed[5], fixed[6], fixed[7]]);
        i += 10 + usize::from(u16::from_be_bytes([fixed[8], fixed[9]]));
        if n < answers + authority {
            min = Some(min.map_or(ttl, |m| m.min(ttl)));
        }
    }
    // The additional section is walked too: a reply cut short anywhere has no TTL.
    if i > m.len() {
        return None;
    }
    min
}

/// Where the name at `i` ends: after its root label or its compression pointer
/// (which must point back, at most 255 bytes of labels before it).
fn skip_name(m: &[u8], mut i: usize) -> Option<usize> {
    let mut len = 0;
    loop {
        let b = *m.get(i)?;
        match b & 0xc0 {
            0x00 if b == 0 => return Some(i + 1),
            0x00 => {
                len += 1 + usize::from(b);
                if len > 255 {
                    return None;
                }
                i += 1 + usize::from(b);
            }
            0xc0 => {
                let to = usize::from(b & 0x3f) << 8 | usize::from(*m.get(i + 1)?);
                return (to < i).then_some(i + 2);
            }
            _ => return None, // extended label types (RFC 6891 §5) are not used
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use hickory_proto::op::{Edns, Message, MessageType, OpCode, Query as HQuery, ResponseCode};
    use hickory_proto::rr::rdata::{A, NS, SOA};
    use hickory_proto::rr::{DNSClass, Name, RData, Record};

    fn q(name: &str, t: RecordType, edns: Option<u16>, dnssec: bool) -> Vec<u8> {
        let mut m = Message::new(0xbeef, MessageType::Query, OpCode::Query);
        m.metadata.recursion_desired = true;
        m.add_query(HQuery::query(Name::from_ascii(name).unwrap(), t));
        if let Some(s) = edns {
            let mut e = Edns::new();
            e.set_max_payload(s);
            e.set_dnssec_ok(dnssec);
            m.set_edns(e);
        }
        m.to_vec().unwrap()
    }

    #[test]
    fn reads_a_plain_query_and_keys_it_in_lower_case() {
        let mut k1 = Key::default();
        let b = q("WwW.GeeK.", RecordType::A, Some(1232), false);
        let p = parse(&b, &mut k1).unwrap();
        assert_eq!(
            (p.id, p.rd, p.qtype, p.edns, p.dnssec_ok),
            (0xbeef, true, 1, Some(1232), false)
        );
        assert_eq!(&b[12..p.name_end], b"\x03WwW\x04GeeK\x00");
        let mut k2 = Key::default();
        parse(&q("www.geek.", RecordType::A, Some(512), false), &mut k2).unwrap();
        assert_eq!(
            k1.as_bytes(),
            k2.as_bytes(),
            "case and buffer size do not matter"
        );
        let mut k3 = Key::default();
        parse(&q("www.geek.", RecordType::A, None, false), &mut k3).unwrap();
        assert_ne!(k1.as_bytes(), k3.as_bytes(), "EDNS or not is another shape");
        let mut k4 = Key::default();
        parse(&q("www.geek.", RecordType::A, Some(1232), true), &mut k4).unwrap();
        assert_ne!(k1.as_bytes(), k4.as_bytes(), "DO is another shape");
        let mut k5 = Key::default();
        parse(&q("www.geek.", RecordType::AAAA, None, false), &mut k5).unwrap();
        assert_ne!(k3.as_bytes(), k5.as_bytes());
    }

    #[test]
    fn leaves_the_unusual_to_the_full_parser() {
        let mut k = Key::default();
        assert!(parse(&q("x.", RecordType::ANY, None, false), &mut k).is_none());
        assert!(parse(&q("x.", RecordType::AXFR, None, false), &mut k).is_none());
        let mut resp = q("x.", RecordType::A, None, false);
        resp[2] |= 0x80;
        assert!(parse(&resp, &mut k).is_none(), "a response");
        let mut update = q("x.", RecordType::A, None, false);
        update[2] |= 5 << 3;
        assert!(parse(&update, &mut k).is_none(), "another opcode");
        let mut ch = Message::new(1, MessageType::Query, OpCode::Query);
        let mut hq = HQuery::query(Name::from_ascii("x.").unwrap(), RecordType::A);
        hq.set_query_class(DNSClass::CH);
        ch.add_query(hq);
        assert!(
            parse(&ch.to_vec().unwrap(), &mut k).is_none(),
            "another class"
        );
        let mut v1 = q("x.", RecordType::A, Some(1232), false);
        let n = v1.len();
        v1[n - 5] = 1; // EDNS version 1
        assert!(parse(&v1, &mut k).is_none());
        let mut junk = q("x.", RecordType::A, None, false);
        junk.push(0);
        assert!(parse(&junk, &mut k).is_none(), "trailing bytes");
        for cut in 0..q("www.geek.", RecordType::A, Some(1232), false).len() {
            let b = q("www.geek.", RecordType::A, Some(1232), false);
            assert!(parse(&b[..cut], &mut k).is_none(), "cut at {cut}");
        }
    }

    /// What DoH's `max-age` was before [`min_ttl`]: the whole reply decoded.
    fn decoded_min_ttl(b: &[u8]) -> u32 {
        let Ok(m) = Message::from_vec(b) else {
            return 0;
        };
        m.answers
            .iter()
            .chain(m.authorities.iter())
            .map(|r| r.ttl)
            .min()
            .unwrap_or(0)
    }

    fn reply(rcode: ResponseCode, answers: &[Record], authority: &[Record]) -> Vec<u8> {
        let mut m = Message::new(7, MessageType::Response, OpCode::Query);
        m.metadata.response_code = rcode;
        m.add_query(HQuery::query(
            Name::from_ascii("www.geek.").unwrap(),
            RecordType::A,
        ));
        m.add_answers(answers.iter().cloned());
        m.add_authorities(authority.iter().cloned());
        m.add_additional(Record::from_rdata(
            Name::from_ascii("ns.geek.").unwrap(),
            1,
            RData::A(A::new(192, 0, 2, 53)),
        ));
        let mut e = Edns::new();
        e.set_max_payload(1232);
        m.set_edns(e);
        m.to_vec().unwrap()
    }

    fn a(name: &str, ttl: u32) -> Record {
        Record::from_rdata(
            Name::from_ascii(name).unwrap(),
            ttl,
            RData::A(A::new(192, 0, 2, 1)),
        )
    }

    fn soa(ttl: u32) -> Record {
        let n = |s: &str| Name::from_ascii(s).unwrap();
        Record::from_rdata(
            n("geek."),
            ttl,
            RData::SOA(SOA::new(n("ns.geek."), n("admin.geek."), 1, 2, 3, 4, 60)),
        )
    }

    #[test]
    fn min_ttl_of_a_positive_answer() {
        let ns = Record::from_rdata(
            Name::from_ascii("geek.").unwrap(),
            3600,
            RData::NS(NS(Name::from_ascii("ns.geek.").unwrap())),
        );
        let b = reply(
            ResponseCode::NoError,
            &[a("www.geek.", 300), a("www.geek.", 120)],
            &[ns],
        );
        assert_eq!(min_ttl(&b), 120, "the glue's TTL 1 is not counted");
        assert_eq!(min_ttl(&b), decoded_min_ttl(&b));
        let authority_lower = reply(ResponseCode::NoError, &[a("www.geek.", 300)], &[soa(30)]);
        assert_eq!(min_ttl(&authority_lower), 30);
    }

    #[test]
    fn min_ttl_of_a_negative_answer_is_the_soa_record_s() {
        let b = reply(ResponseCode::NXDomain, &[], &[soa(900)]);
        assert_eq!(min_ttl(&b), 900, "the record's TTL, not the SOA minimum");
        assert_eq!(min_ttl(&b), decoded_min_ttl(&b));
        let empty = reply(ResponseCode::ServFail, &[], &[]);
        assert_eq!(min_ttl(&empty), 0, "no records: 0");
        assert_eq!(min_ttl(&empty), decoded_min_ttl(&empty));
    }

    #[test]
    fn min_ttl_of_a_cut_or_garbage_reply_is_0() {
        let b = reply(ResponseCode::NoError, &[a("www.geek.", 300)], &[soa(900)]);
        for cut in 0..b.len() {
            assert_eq!(min_ttl(&b[..cut]), 0, "cut at {cut}");
            assert_eq!(
                min_ttl(&b[..cut]),
                decoded_min_ttl(&b[..cut]),
                "cut at {cut}"
            );
        }
        // One answer whose owner is a pointer to itself, one past the end, one with
        // an extended label type, and a name of more than 255 bytes.
        let header = [0, 7, 0x81, 0x80, 0, 0, 0, 1, 0, 0, 0, 0];
        for owner in [&[0xc0, 12][..], &[0xc0, 200], &[0x41, 0]] {
            let mut m = header.to_vec();
            m.extend_from_slice(owner);
            m.extend_from_slice(&[0, 1, 0, 1, 0, 0, 1, 0, 0, 0]);
            assert_eq!(min_ttl(&m), 0, "{owner:?}");
        }
        let mut long = header.to_vec();
        for _ in 0..5 {
            long.push(63);
            long.extend_from_slice(&[b'x'; 63]);
        }
        long.extend_from_slice(&[0, 0, 1, 0, 1, 0, 0, 1, 0, 0, 0]);
        assert_eq!(min_ttl(&long), 0);
        // Anything at all: no panic.
        let mut x: u32 = 1;
        for len in 0..200 {
            let junk: Vec<u8> = (0..len)
                .map(|_| {
                    x = x.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
                    (x >> 24) as u8
                })
                .collect();
            let _ = min_ttl(&junk);
        }
    }
}
