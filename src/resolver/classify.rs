//! Pure functions over upstream replies: which records a server may speak for
//! (bailiwick), what kind of reply it is (answer, referral, NODATA, NXDOMAIN or
//! lame), and which part of an answer a client may see. No I/O, no state: each is
//! unit-tested on hand-built messages.

use hickory_proto::op::{Message, ResponseCode};
use hickory_proto::rr::{DNSClass, LowerName, Name, RData, Record, RecordType};

use super::failure::ServerError;
use crate::zones as dname;

/// A reply from a server asked as an authority for `zone`, classified.
#[derive(Debug)]
pub enum Reply {
    /// Authoritative data (or a CNAME, or a DNAME above the name) for the question.
    Answer(Message),
    /// A delegation strictly below `zone`, at or above the name asked.
    Referral {
        cut: Name,
        ns: Vec<Record>,
        /// A/AAAA records for the NS names, inside `zone` only.
        glue: Vec<Record>,
    },
    NoData {
        soa: Option<Record>,
    },
    NxDomain {
        soa: Option<Record>,
    },
}

/// Records of class IN only: anything else in a reply is ignored (RFC 5452 §9.1
/// checks the question's class; the sections must not smuggle others in).
fn in_class(records: &[Record]) -> impl Iterator<Item = &Record> {
    records.iter().filter(|r| r.dns_class == DNSClass::IN)
}

/// Does the answer section speak to `sname`/`stype`: its data, its CNAME, or a DNAME
/// at an ancestor inside `zone`?
fn answers_question(zone: &Name, sname: &Name, stype: RecordType, msg: &Message) -> bool {
    in_class(&msg.answers).any(|r| {
        let t = r.record_type();
        (r.name == *sname && (t == stype || t == RecordType::CNAME || stype == RecordType::ANY))
            || (t == RecordType::DNAME
                && r.name != *sname
                && r.name.zone_of(sname)
                && zone.zone_of(&r.name))
    })
}

/// Sorts a reply from a server asked as an authority for `zone` (RFC 1034 §5.3.3,
/// RFC 2181 §5.4.1): data and negative answers are believed only with AA; a
/// referral must lead strictly downward toward the name; anything else is lame.
pub fn classify(
    zone: &Name,
    sname: &Name,
    stype: RecordType,
    msg: Message,
) -> Result<Reply, ServerError> {
    let rcode = msg.metadata.response_code;
    if !matches!(rcode, ResponseCode::NoError | ResponseCode::NXDomain) {
        return Err(ServerError::Rcode(rcode));
    }
    let aa = msg.metadata.authoritative;
    if answers_question(zone, sname, stype, &msg) {
        if !aa {
            return Err(ServerError::Lame("an answer without AA".into()));
        }
        return Ok(Reply::Answer(msg));
    }
    if rcode == ResponseCode::NXDomain {
        if !aa {
            return Err(ServerError::Lame("NXDOMAIN without AA".into()));
        }
        return Ok(Reply::NxDomain {
            soa: negative_soa(zone, &msg.authorities),
        });
    }
    if let Some(r) = referral(zone, sname, &msg) {
        return Ok(r);
    }
    let soa = negative_soa(zone, &msg.authorities);
    if !aa {
        let why = match in_class(&msg.authorities).find(|r| r.record_type() == RecordType::NS) {
            Some(ns) => format!(
                "referral to {} while asked about {sname} in {zone}",
                ns.name
            ),
            None => format!("not authoritative for {zone}"),
        };
        return Err(ServerError::Lame(why));
    }
    Ok(Reply::NoData { soa })
}

/// A downward referral: NS records for a name strictly below `zone`, at or above
/// `sname`, with the glue for those NS names that lies inside `zone`.
fn referral(zone: &Name, sname: &Name, msg: &Message) -> Option<Reply> {
    let first = in_class(&msg.authorities).find(|r| r.record_type() == RecordType::NS)?;
    let cut = first.name.clone();
    if !(zone.zone_of(&cut) && cut != *zone && cut.zone_of(sname)) {
        return None;
    }
    let ns: Vec<Record> = in_class(&msg.authorities)
        .filter(|r| r.record_type() == RecordType::NS && r.name == cut)
        .cloned()
        .collect();
    let glue = glue_for(zone, &ns, &msg.additionals);
    Some(Reply::Referral { cut, ns, glue })
}

/// Addresses of the given NS targets from an additional section, inside `zone`.
/// The NS records owned by `owner` in a reply's answer section.
pub fn ns_rrset(answers: &[Record], owner: &Name) -> Vec<Record> {
    answers
        .iter()
        .filter(|r| r.name == *owner && r.record_type() == RecordType::NS)
        .cloned()
        .collect()
}

pub fn glue_for(zone: &Name, ns: &[Record], additionals: &[Record]) -> Vec<Record> {
    let targets: Vec<&Name> = ns
        .iter()
        .filter_map(|r| match &r.data {
            RData::NS(n) => Some(&n.0),
            _ => None,
        })
        .collect();
    in_class(additionals)
        .filter(|r| matches!(r.record_type(), RecordType::A | RecordType::AAAA))
        .filter(|r| zone.zone_of(&r.name) && targets.contains(&&r.name))
        .cloned()
        .collect()
}

/// The SOA of a negative answer, if it belongs to `zone` (or, forwarding from the
/// root zone ".", any).
pub fn negative_soa(zone: &Name, authority: &[Record]) -> Option<Record> {
    in_class(authority)
        .find(|r| r.record_type() == RecordType::SOA && zone.zone_of(&r.name))
        .cloned()
}

/// Groups records into RRsets (same owner and type), keeping first-seen order and
/// dropping duplicates.
pub fn group(records: impl IntoIterator<Item = Record>) -> Vec<Vec<Record>> {
    let mut out: Vec<Vec<Record>> = Vec::new();
    for r in records {
        match out
            .iter_mut()
            .find(|s| s[0].name == r.name && s[0].record_type() == r.record_type())
        {
            Some(s) => {
                if !s.iter().any(|x| x.data == r.data) {
                    s.push(r)
                }
            }
            None => out.push(vec![r]),
        }
    }
    out
}

/// What an answer section says about `name`, as far as it may be believed.
#[derive(Debug, PartialEq, Eq)]
pub enum Taken {
    /// The RRset of the asked type (or all of `ANY`'s first RRset).
    Data(Vec<Record>),
    /// A CNAME at the name; `target` still to be resolved.
    Cname { set: Vec<Record>, target: Name },
    /// A DNAME at an ancestor: the DNAME RRset, the CNAME synthesised from it
    /// (RFC 6672 §3.2), and the target still to be resolved.
    Dname {
        dname: Vec<Record>,
        cname: Box<Record>,
        target: Name,
    },
    /// A DNAME whose substitution would make a name too long (YXDOMAIN).
    TooLong { dname: Vec<Record> },
    /// Nothing for the name: NODATA (or NXDOMAIN, by the rcode).
    Nothing,
}

/// Takes what the answer RRsets (already limited to the zone that may speak for
/// them, TTLs clamped) say about `name`/`qtype`. A CNAME or DNAME synthesised by the
/// server is not trusted: the resolver synthesises its own (RFC 6672 §3.4).
pub fn take(sets: &[Vec<Record>], name: &Name, qtype: RecordType) -> Taken {
    let owned = |t: RecordType| {
        sets.iter()
            .find(|s| s[0].name == *name && s[0].record_type() == t)
    };
    if qtype == RecordType::ANY {
        // RFC 8482: one RRset is enough.
        return match sets.iter().find(|s| s[0].name == *name) {
            Some(s) => Taken::Data(s.clone()),
            None => Taken::Nothing,
        };
    }
    if let Some(s) = owned(qtype) {
        return Taken::Data(s.clone());
    }
    // The closest DNAME above the name wins over a CNAME the server made from it.
    let dname_set = sets
        .iter()
        .filter(|s| {
            s[0].record_type() == RecordType::DNAME && s[0].name != *name && s[0].name.zone_of(name)
        })
        .max_by_key(|s| s[0].name.num_labels());
    if let Some(d) = dname_set {
        let Some(target) = dname::dname_target(&d[0].data) else {
            return Taken::Nothing;
        };
        return match dname::synthesize(name, &d[0].name, &target) {
            Ok(to) => Taken::Dname {
                dname: d.clone(),
                cname: Box::new(Record::from_rdata(
                    name.clone(),
                    d[0].ttl,
                    RData::CNAME(hickory_proto::rr::rdata::CNAME(to.clone())),
                )),
                target: to,
            },
            Err(_) => Taken::TooLong { dname: d.clone() },
        };
    }
    if let Some(s) = owned(RecordType::CNAME)
        && let RData::CNAME(c) = &s[0].data
    {
        return Taken::Cname {
            set: s.clone(),
            target: c.0.clone(),
        };
    }
    Taken::Nothing
}

/// The name's TLD, lower case (the root for the root).
pub fn tld_of(name: &Name) -> LowerName {
    LowerName::new(&name.trim_to(1))
}

#[cfg(test)]
mod tests {
    use super::*;
    use hickory_proto::op::{MessageType, OpCode};
    use hickory_proto::rr::rdata::{A, CNAME, NS, SOA, TXT};

    fn n(s: &str) -> Name {
        Name::from_ascii(s).unwrap()
    }

    fn rec(name: &str, data: RData) -> Record {
        Record::from_rdata(n(name), 300, data)
    }

    fn a(name: &str) -> Record {
        rec(name, RData::A(A::new(192, 0, 2, 1)))
    }

    fn ns(owner: &str, target: &str) -> Record {
        rec(owner, RData::NS(NS(n(target))))
    }

    fn soa(owner: &str) -> Record {
        rec(
            owner,
            RData::SOA(SOA::new(n(owner), n(owner), 1, 1, 1, 1, 60)),
        )
    }

    fn reply(aa: bool, rcode: ResponseCode) -> Message {
        let mut m = Message::new(1, MessageType::Response, OpCode::Query);
        m.metadata.authoritative = aa;
        m.metadata.response_code = rcode;
        m
    }

    #[test]
    fn answers_need_aa() {
        let mut m = reply(true, ResponseCode::NoError);
        m.add_answer(a("www.example.com."));
        let com = n("example.com.");
        assert!(matches!(
            classify(&com, &n("www.example.com."), RecordType::A, m.clone()),
            Ok(Reply::Answer(_))
        ));
        m.metadata.authoritative = false;
        assert!(matches!(
            classify(&com, &n("www.example.com."), RecordType::A, m),
            Err(ServerError::Lame(_))
        ));
        let mut nx = reply(false, ResponseCode::NXDomain);
        nx.add_authority(soa("example.com."));
        assert!(matches!(
            classify(&com, &n("no.example.com."), RecordType::A, nx.clone()),
            Err(ServerError::Lame(_))
        ));
        nx.metadata.authoritative = true;
        match classify(&com, &n("no.example.com."), RecordType::A, nx) {
            Ok(Reply::NxDomain { soa: Some(s) }) => assert_eq!(s.name, com),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn error_rcodes_are_lame() {
        for rc in [
            ResponseCode::Refused,
            ResponseCode::ServFail,
            ResponseCode::NotImp,
        ] {
            let m = reply(true, rc);
            assert!(matches!(
                classify(&n("com."), &n("x.com."), RecordType::A, m),
                Err(ServerError::Rcode(_))
            ));
        }
    }

    #[test]
    fn referrals_go_strictly_down_with_in_bailiwick_glue_only() {
        let mut m = reply(false, ResponseCode::NoError);
        m.add_authority(ns("example.com.", "ns1.example.com."));
        m.add_authority(ns("example.com.", "ns.other.net."));
        m.add_additional(a("ns1.example.com."));
        m.add_additional(a("ns.other.net."));
        match classify(&n("com."), &n("www.example.com."), RecordType::A, m.clone()) {
            Ok(Reply::Referral { cut, ns, glue }) => {
                assert_eq!(cut, n("example.com."));
                assert_eq!(ns.len(), 2);
                assert_eq!(glue.len(), 1, "glue outside com. is not believed");
                assert_eq!(glue[0].name, n("ns1.example.com."));
            }
            other => panic!("{other:?}"),
        }
        // Asked about example.com. itself: a referral to example.com. is not downward.
        assert!(matches!(
            classify(
                &n("example.com."),
                &n("www.example.com."),
                RecordType::A,
                m.clone()
            ),
            Err(ServerError::Lame(_))
        ));
        // Sideways: asked about www.example.org. in org., got example.com.
        assert!(matches!(
            classify(&n("org."), &n("www.example.org."), RecordType::A, m),
            Err(ServerError::Lame(_))
        ));
        // Upward: a referral to the root.
        let mut up = reply(false, ResponseCode::NoError);
        up.add_authority(ns(".", "a.root-servers.net."));
        assert!(matches!(
            classify(
                &n("example.com."),
                &n("www.example.com."),
                RecordType::A,
                up
            ),
            Err(ServerError::Lame(_))
        ));
    }

    #[test]
    fn other_types_only_is_nodata_and_other_classes_are_ignored() {
        let mut m = reply(true, ResponseCode::NoError);
        m.add_answer(rec(
            "www.example.com.",
            RData::TXT(TXT::new(vec!["x".into()])),
        ));
        m.add_authority(soa("example.com."));
        assert!(matches!(
            classify(&n("example.com."), &n("www.example.com."), RecordType::A, m),
            Ok(Reply::NoData { soa: Some(_) })
        ));
        let mut ch = reply(true, ResponseCode::NoError);
        let mut r = a("www.example.com.");
        r.dns_class = DNSClass::CH;
        ch.add_answer(r);
        assert!(matches!(
            classify(
                &n("example.com."),
                &n("www.example.com."),
                RecordType::A,
                ch
            ),
            Ok(Reply::NoData { soa: None })
        ));
    }

    #[test]
    fn take_prefers_data_then_dname_then_cname() {
        let www = n("www.example.com.");
        let data = vec![vec![a("www.example.com.")]];
        assert!(matches!(take(&data, &www, RecordType::A), Taken::Data(_)));
        let cname = vec![vec![rec(
            "www.example.com.",
            RData::CNAME(CNAME(n("x.example.net."))),
        )]];
        match take(&cname, &www, RecordType::A) {
            Taken::Cname { target, .. } => assert_eq!(target, n("x.example.net.")),
            other => panic!("{other:?}"),
        }
        let dn = dname::dname(n("example.com."), 120, &n("example.net."));
        let sets = vec![vec![dn], cname[0].clone()];
        match take(&sets, &www, RecordType::A) {
            Taken::Dname { cname, target, .. } => {
                assert_eq!(
                    target,
                    n("www.example.net."),
                    "our own synthesis, not the server's"
                );
                assert_eq!(cname.ttl, 120);
                assert_eq!(cname.name, www);
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(take(&[], &www, RecordType::A), Taken::Nothing);
        // Data for the name itself beats both, whatever comes first.
        let all = vec![sets[0].clone(), cname[0].clone(), data[0].clone()];
        assert!(matches!(take(&all, &www, RecordType::A), Taken::Data(_)));
    }
}
