//! A client's request as the front end needs it: parsed once, checked for what
//! altroot does not resolve, and the reply encoded to fit the transport (RFC 1035
//! §4.2.1 512 bytes, or the client's EDNS size up to ours; TC when it does not fit),
//! its OPT saying our size and copying DO.

use hickory_proto::op::{Edns, Message, MessageType, OpCode, Query, ResponseCode};
use hickory_proto::rr::rdata::TSIG;
use hickory_proto::rr::rdata::opt::EdnsOption;
use hickory_proto::rr::{DNSClass, Name, Record, RecordType};

use crate::resolver::answer::is_dnssec_extra;
use crate::resolver::transport::EDNS_PAYLOAD;
use crate::zones::wire::cursor::Cursor;

/// Extended DNS Error option code (RFC 8914).
pub const EDE: u16 = 15;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Proto {
    Udp,
    Tcp,
    /// DNS over TLS (RFC 7858).
    Dot,
    /// DNS over HTTPS (RFC 8484).
    Doh,
    /// DNS over QUIC (RFC 9250).
    Doq,
}

impl Proto {
    pub fn as_str(self) -> &'static str {
        match self {
            Proto::Udp => "udp",
            Proto::Tcp => "tcp",
            Proto::Dot => "dot",
            Proto::Doh => "doh",
            Proto::Doq => "doq",
        }
    }
}

/// What the reply must echo and respect.
#[derive(Clone, Debug)]
pub struct Request {
    pub id: u16,
    pub op_code: OpCode,
    pub rd: bool,
    pub cd: bool,
    /// AD as the client set it: it understands the AD bit (RFC 6840 §5.7).
    pub ad: bool,
    /// The one question, as the client wrote it (case kept).
    pub query: Option<Query>,
    /// The client's EDNS buffer size, if it sent EDNS.
    pub edns: Option<u16>,
    /// DO, as the client set it in its OPT (copied into ours, RFC 3225 §3).
    pub dnssec_ok: bool,
}

impl Request {
    pub fn name(&self) -> Option<&Name> {
        self.query.as_ref().map(|q| q.name())
    }

    pub fn qtype(&self) -> RecordType {
        self.query
            .as_ref()
            .map_or(RecordType::NULL, |q| q.query_type())
    }
}

/// What a datagram or TCP frame is.
pub enum Parsed {
    /// A query altroot may resolve.
    Query(Request),
    /// Answer at once with this rcode.
    Reject(Request, ResponseCode),
    /// A zone transfer (AXFR, or IXFR with the serial the client has, RFC 1995
    /// §3), class IN, and its TSIG record if signed: whether it may have the zone
    /// is the front end's call.
    Transfer(Request, Option<u32>, Option<Box<Record<TSIG>>>),
    /// A NOTIFY (RFC 1996) for one zone (question IN SOA), and its TSIG record
    /// if signed: whether a root takes that zone from the sender is the front
    /// end's call.
    Notify(Request, Option<Box<Record<TSIG>>>),
    /// Not worth an answer: shorter than a header, or a response.
    Drop,
}

/// Parses a request and applies the checks that need no resolver: a response or a
/// runt is dropped; what cannot be decoded is FORMERR; other opcodes NOTIMP (UPDATE
/// included); zero or several questions FORMERR; EDNS versions above 0 BADVERS;
/// other classes and meta types REFUSED; zone transfers of class IN are
/// [`Parsed::Transfer`].
pub fn parse(bytes: &[u8]) -> Parsed {
    let mut c = Cursor::new(bytes);
    let (Some(id), Some(flags), Some(_)) = (c.u16(), c.u8(), c.skip(9)) else {
        return Parsed::Drop; // shorter than a header
    };
    if flags & 0x80 != 0 {
        return Parsed::Drop;
    }
    let msg = match Message::from_vec(bytes) {
        Ok(m) => m,
        Err(_) => {
            let req = Request {
                id,
                op_code: OpCode::from_u8((flags >> 3) & 0x0f),
                rd: flags & 0x01 != 0,
                cd: false,
                ad: false,
                query: None,
                edns: None,
                dnssec_ok: false,
            };
            return Parsed::Reject(req, ResponseCode::FormErr);
        }
    };
    let req = Request {
        id,
        op_code: msg.metadata.op_code,
        rd: msg.metadata.recursion_desired,
        cd: msg.metadata.checking_disabled,
        ad: msg.metadata.authentic_data,
        query: match &msg.queries[..] {
            [q] => Some(q.clone()),
            _ => None,
        },
        edns: msg.edns.as_ref().map(|e| e.max_payload()),
        dnssec_ok: msg.edns.as_ref().is_some_and(|e| e.flags().dnssec_ok),
    };
    if msg.metadata.op_code == OpCode::Notify {
        let soa_in =
            |q: &Query| q.query_class() == DNSClass::IN && q.query_type() == RecordType::SOA;
        return match &msg.queries[..] {
            [q] if soa_in(q) => Parsed::Notify(req, msg.signature.clone()),
            _ => Parsed::Reject(req, ResponseCode::FormErr),
        };
    }
    let code = if msg.metadata.op_code != OpCode::Query {
        Some(ResponseCode::NotImp)
    } else if msg.queries.len() != 1 {
        Some(ResponseCode::FormErr)
    } else if msg.edns.as_ref().is_some_and(|e| e.version() > 0) {
        Some(ResponseCode::BADVERS)
    } else if let [q] = &msg.queries[..] {
        let unsupported = q.query_class() != DNSClass::IN || q.query_type() == RecordType::OPT;
        if !unsupported && matches!(q.query_type(), RecordType::AXFR | RecordType::IXFR) {
            let serial = (q.query_type() == RecordType::IXFR)
                .then(|| ixfr_serial(&msg))
                .flatten();
            return Parsed::Transfer(req, serial, msg.signature.clone());
        }
        unsupported.then_some(ResponseCode::Refused)
    } else {
        Some(ResponseCode::FormErr)
    };
    match code {
        Some(c) => Parsed::Reject(req, c),
        None => Parsed::Query(req),
    }
}

/// The serial of the SOA an IXFR request carries in its authority section
/// (RFC 1995 §3), owned by the zone asked for.
fn ixfr_serial(msg: &Message) -> Option<u32> {
    let q = msg.queries.first()?;
    msg.authorities.iter().find_map(|r| match &r.data {
        hickory_proto::rr::RData::SOA(soa) if &r.name == q.name() => Some(soa.serial),
        _ => None,
    })
}

/// How long a reply to this client may be: over UDP its EDNS size, capped at ours
/// and never below 512, or 512 without EDNS; stream transports carry any DNS
/// message whole (never truncated).
#[inline]
pub(crate) fn reply_limit(proto: Proto, edns: Option<u16>) -> usize {
    match (proto, edns) {
        (Proto::Tcp | Proto::Dot | Proto::Doh | Proto::Doq, _) => usize::from(u16::MAX),
        (Proto::Udp, Some(size)) => usize::from(size.clamp(512, EDNS_PAYLOAD)),
        (Proto::Udp, None) => 512,
    }
}

/// The reply to `req`: RA always, AA never (DESIGN §4.3), RD and CD echoed, an OPT
/// record when the client sent EDNS — advertising our buffer size (RFC 6891
/// §6.2.5: a responder's OPT states what it can take, not what the client said),
/// with DO copied (RFC 3225 §3) — and an Extended DNS Error when given. Over UDP, an
/// answer that does not fit the client's size (capped at ours, never below 512)
/// goes out with TC set and empty sections (RFC 2181 §9).
pub fn reply(
    req: &Request,
    rcode: ResponseCode,
    answers: &[Record],
    authority: &[Record],
    ede: Option<(u16, &str)>,
    proto: Proto,
) -> Vec<u8> {
    let mut m = Message::new(req.id, MessageType::Response, req.op_code);
    m.metadata.recursion_desired = req.rd;
    m.metadata.checking_disabled = req.cd;
    m.metadata.recursion_available = true;
    m.metadata.authoritative = false;
    m.metadata.response_code = rcode;
    if let Some(q) = &req.query {
        m.add_query(q.clone());
    }
    let limit = reply_limit(proto, req.edns);
    if req.edns.is_some() {
        let mut e = Edns::new();
        e.set_max_payload(EDNS_PAYLOAD);
        e.set_dnssec_ok(req.dnssec_ok);
        if let Some((code, text)) = ede {
            let mut data = code.to_be_bytes().to_vec();
            data.extend_from_slice(text.as_bytes());
            e.options_mut().insert(EdnsOption::Unknown(EDE, data));
        }
        m.set_edns(e);
    }
    // The rcode may not fit the header alone (BADVERS): hickory sets the extended
    // bits in the OPT record.
    // RFC 4035 §3.2.1: RRSIGs and NSEC/NSEC3 proofs only to a client that set DO,
    // unless it asked for that type.
    let asked = req.query.as_ref().map(Query::query_type);
    let keep = |r: &&Record| req.dnssec_ok || !is_dnssec_extra(r) || Some(r.record_type()) == asked;
    m.add_answers(answers.iter().filter(keep).cloned());
    m.add_authorities(
        authority
            .iter()
            .filter(|r| req.dnssec_ok || !is_dnssec_extra(r))
            .cloned(),
    );
    match m.to_vec() {
        Ok(b) if b.len() <= limit => b,
        Ok(_) => {
            m.answers.clear();
            m.authorities.clear();
            m.metadata.truncation = true;
            m.to_vec().unwrap_or_else(|_| servfail(req))
        }
        Err(e) => {
            tracing::warn!("cannot encode an answer: {e}");
            servfail(req)
        }
    }
}

/// Sets AD in an encoded reply when the answer is secure and the client set AD or
/// DO (RFC 4035 §3.2.3, RFC 6840 §5.7); clears it otherwise.
pub fn set_ad(reply: &mut [u8], req: &Request, secure: bool) {
    if let Some(b) = reply.get_mut(3) {
        if secure && (req.ad || req.dnssec_ok) {
            *b |= 0x20;
        } else {
            *b &= !0x20;
        }
    }
}

/// The smallest valid SERVFAIL: the header alone (when encoding fails, or the
/// work of the query panicked).
pub(super) fn servfail(req: &Request) -> Vec<u8> {
    let mut b = req.id.to_be_bytes().to_vec();
    b.extend_from_slice(&[0x80 | u8::from(req.rd), 0x80 | 2, 0, 0, 0, 0, 0, 0, 0, 0]);
    b
}

#[cfg(test)]
mod tests {
    use super::*;
    use hickory_proto::rr::RData;
    use hickory_proto::rr::rdata::{A, TXT};

    fn query(qtype: RecordType, edns: Option<u16>) -> Vec<u8> {
        let mut m = Message::new(7, MessageType::Query, OpCode::Query);
        m.metadata.recursion_desired = true;
        m.add_query(Query::query(Name::from_ascii("WwW.Geek.").unwrap(), qtype));
        if let Some(s) = edns {
            let mut e = Edns::new();
            e.set_max_payload(s);
            m.set_edns(e);
        }
        m.to_vec().unwrap()
    }

    #[test]
    fn checks_without_a_resolver() {
        assert!(matches!(parse(&[0u8; 5]), Parsed::Drop));
        let mut resp = query(RecordType::A, None);
        resp[2] |= 0x80;
        assert!(matches!(parse(&resp), Parsed::Drop));
        let mut update = query(RecordType::A, None);
        update[2] = (update[2] & 0x87) | (5 << 3);
        assert!(matches!(
            parse(&update),
            Parsed::Reject(_, ResponseCode::NotImp)
        ));
        assert!(matches!(
            parse(&query(RecordType::AXFR, None)),
            Parsed::Transfer(_, None, None)
        ));
        assert!(matches!(
            parse(&query(RecordType::IXFR, None)),
            Parsed::Transfer(_, None, None)
        ));
        let mut junk = query(RecordType::A, None);
        junk.truncate(20);
        assert!(matches!(
            parse(&junk),
            Parsed::Reject(_, ResponseCode::FormErr)
        ));
        match parse(&query(RecordType::A, Some(4096))) {
            Parsed::Query(r) => {
                assert_eq!(r.name().unwrap().to_string(), "WwW.Geek.", "case kept");
                assert_eq!(r.edns, Some(4096));
            }
            _ => panic!("a plain query"),
        }
    }

    #[test]
    fn replies_fit_or_truncate() {
        let Parsed::Query(req) = parse(&query(RecordType::TXT, Some(512))) else {
            panic!()
        };
        let big: Vec<Record> = (0..20)
            .map(|i| {
                Record::from_rdata(
                    Name::from_ascii("www.geek.").unwrap(),
                    60,
                    RData::TXT(TXT::new(vec![format!("{i:02} {}", "x".repeat(60))])),
                )
            })
            .collect();
        let udp = Message::from_vec(&reply(
            &req,
            ResponseCode::NoError,
            &big,
            &[],
            None,
            Proto::Udp,
        ))
        .unwrap();
        assert!(udp.metadata.truncation);
        assert!(udp.answers.is_empty());
        assert!(udp.metadata.recursion_available && !udp.metadata.authoritative);
        let tcp = Message::from_vec(&reply(
            &req,
            ResponseCode::NoError,
            &big,
            &[],
            None,
            Proto::Tcp,
        ))
        .unwrap();
        assert!(!tcp.metadata.truncation);
        assert_eq!(tcp.answers.len(), 20);
        let ede = Message::from_vec(&reply(
            &req,
            ResponseCode::ServFail,
            &[],
            &[],
            Some((22, "timeout: x")),
            Proto::Udp,
        ))
        .unwrap();
        let opts = ede.edns.unwrap();
        let found = opts.options().as_ref().iter().any(|(_, o)| matches!(o, EdnsOption::Unknown(15, d) if d[..2] == [0, 22] && &d[2..] == b"timeout: x"));
        assert!(found, "EDE option");
    }

    // RFC 4035 §3.2.1: RRSIGs and NSEC/NSEC3 records go only to clients that set
    // DO, unless the question asks for their type.
    #[test]
    fn dnssec_records_only_with_do_or_when_asked_for() {
        use crate::resolver::answer::test_rrsig;
        use hickory_proto::dnssec::rdata::{DNSSECRData, NSEC};
        let www = Name::from_ascii("www.geek.").unwrap();
        let geek = Name::from_ascii("geek.").unwrap();
        let answers = vec![
            Record::from_rdata(www.clone(), 60, RData::A(A::new(192, 0, 2, 1))),
            test_rrsig(&www, RecordType::A),
        ];
        let authority = vec![
            Record::from_rdata(
                geek.clone(),
                60,
                RData::DNSSEC(DNSSECRData::NSEC(NSEC::new(
                    geek.clone(),
                    [RecordType::SOA],
                ))),
            ),
            test_rrsig(&geek, RecordType::NSEC),
        ];
        let types = |qtype: RecordType, dnssec_ok: bool| {
            let Parsed::Query(mut req) = parse(&query(qtype, Some(1232))) else {
                panic!()
            };
            req.dnssec_ok = dnssec_ok;
            let m = Message::from_vec(&reply(
                &req,
                ResponseCode::NoError,
                &answers,
                &authority,
                None,
                Proto::Udp,
            ))
            .unwrap();
            let t = |rs: &[Record]| rs.iter().map(Record::record_type).collect::<Vec<_>>();
            (t(&m.answers), t(&m.authorities))
        };
        use RecordType::{A as TA, NSEC as TNSEC, RRSIG as TRRSIG};
        assert_eq!(types(TA, true), (vec![TA, TRRSIG], vec![TNSEC, TRRSIG]));
        assert_eq!(types(TA, false), (vec![TA], vec![]));
        // Asked for, an RRSIG is data (the A here only shows nothing else is cut).
        assert_eq!(types(TRRSIG, false), (vec![TA, TRRSIG], vec![]));
    }
}
