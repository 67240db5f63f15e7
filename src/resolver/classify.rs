//! Pure functions over upstream replies: which records a server may speak for
//! (bailiwick), what kind of reply it is (answer, referral, NODATA, NXDOMAIN or
//! lame), and which part of an answer a client may see. No I/O, no state: each is
//! unit-tested on hand-built messages.
//!
//! Which replies are believed follows Unbound (`iterator/iter_resptype.c`,
//! `iter_scrub.c`) and Knot Resolver (`lib/layer/iterate.c` outside STRICT mode):
//! real authoritative servers, load balancers and middleboxes leave AA clear, so a
//! reply without AA from a server asked about the zone that holds the name is
//! taken, ranked below authoritative data (RFC 2181 §5.4.1), unless it shows it is
//! something else: a downward NS set makes it a referral; an NS set above or
//! beside the zone makes it lame; a negative answer needs the zone's SOA; RA set
//! with AA clear is a recursive server's cached view, and an entirely empty reply
//! may be a middlebox's — both are kept as a last resort, used only when no other
//! server of the zone does better.

use hickory_proto::dnssec::rdata::DNSSECRData;
use hickory_proto::op::{Message, ResponseCode};
use hickory_proto::rr::{DNSClass, LowerName, Name, RData, Record, RecordType};

use super::cache::Trust;
use super::failure::{Lame, ServerError};
use crate::zones as dname;

/// A reply from a server asked as an authority for `zone`, classified.
#[derive(Debug)]
pub enum Reply {
    /// Data (or a CNAME, or a DNAME above the name) for the question.
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
        /// The SOA's RRSIGs and the NSEC/NSEC3 records (with theirs) that came
        /// with it, for DNSSEC-aware clients ([`negative_proof`]).
        proof: Vec<Record>,
    },
    NxDomain {
        soa: Option<Record>,
        proof: Vec<Record>,
    },
}

/// How far a classified reply may be believed.
#[derive(Debug, PartialEq, Eq)]
pub enum Standing {
    /// Use it, with this trust for what it teaches the cache.
    Take(Trust),
    /// Use it only when no other server of the zone gives a reply that can be
    /// taken; the reason is the server's lameness meanwhile.
    LastResort(Lame),
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
            || is_dname_above(zone, sname, r)
    })
}

fn is_dname_above(zone: &Name, sname: &Name, r: &Record) -> bool {
    r.record_type() == RecordType::DNAME
        && r.name != *sname
        && r.name.zone_of(sname)
        && zone.zone_of(&r.name)
}

/// Is the answer a CNAME or DNAME link (rather than the data itself)?
fn is_link(zone: &Name, sname: &Name, stype: RecordType, msg: &Message) -> bool {
    let data = in_class(&msg.answers)
        .any(|r| r.name == *sname && (r.record_type() == stype || stype == RecordType::ANY));
    !data
        && in_class(&msg.answers).any(|r| {
            (r.name == *sname && r.record_type() == RecordType::CNAME)
                || is_dname_above(zone, sname, r)
        })
}

/// Is there a CNAME at `sname`, or a DNAME above it inside `zone`?
fn has_link(zone: &Name, sname: &Name, msg: &Message) -> bool {
    in_class(&msg.answers).any(|r| {
        (r.name == *sname && r.record_type() == RecordType::CNAME) || is_dname_above(zone, sname, r)
    })
}

/// The first NS set of the authority section that is not a downward referral:
/// the zone's own, or one above or beside it.
fn other_ns<'m>(zone: &Name, msg: &'m Message) -> Option<&'m Record> {
    in_class(&msg.authorities)
        .find(|r| r.record_type() == RecordType::NS && !(zone.zone_of(&r.name) && r.name != *zone))
}

/// Sorts a reply from a server asked (RD clear) as an authority for `zone`
/// about `sname`/`stype` (RFC 1034 §5.3.3, RFC 2181 §5.4.1); see the module
/// documentation for the rules.
pub fn classify(
    zone: &Name,
    sname: &Name,
    stype: RecordType,
    msg: Message,
) -> Result<(Reply, Standing), ServerError> {
    let rcode = msg.metadata.response_code;
    let aa = msg.metadata.authoritative;
    let trust = if aa { Trust::Answer } else { Trust::NonAuth };
    // RFC 6672 §2.2: a DNAME whose substitution would be too long.
    if rcode == ResponseCode::YXDomain
        && in_class(&msg.answers).any(|r| is_dname_above(zone, sname, r))
    {
        return Ok((Reply::Answer(msg), Standing::Take(trust)));
    }
    if !matches!(rcode, ResponseCode::NoError | ResponseCode::NXDomain) {
        return Err(ServerError::Rcode(rcode));
    }
    // The servers of a parent that put the child's NS set in the answer section
    // without AA: a referral (Unbound).
    if !aa
        && matches!(stype, RecordType::NS | RecordType::ANY)
        && let Some(r) = answer_referral(zone, sname, &msg)
    {
        return Ok((r, Standing::Take(Trust::Referral)));
    }
    let recursive = msg.metadata.recursion_available && !aa;
    // NXDOMAIN speaks of the name: only a CNAME or DNAME link before it can be an
    // answer (RFC 6604); data for the name with NXDOMAIN contradicts itself and is
    // not taken (a server could otherwise plant records under any rcode).
    let answered = match rcode {
        ResponseCode::NXDomain => has_link(zone, sname, &msg),
        _ => answers_question(zone, sname, stype, &msg),
    };
    if answered {
        if aa || is_link(zone, sname, stype, &msg) {
            return Ok((Reply::Answer(msg), Standing::Take(trust)));
        }
        // Data without AA: a referral if a downward NS set comes with it (the
        // data is a parent's stale copy). An NS set above or beside the zone is
        // not the zone's to give and is dropped, the answer kept (Unbound's
        // scrubber removes it before classifying).
        if let Some(r) = referral(zone, sname, &msg) {
            return Ok((r, Standing::Take(Trust::Referral)));
        }
        let standing = match recursive {
            true => Standing::LastResort(Lame::Recursive),
            false => Standing::Take(trust),
        };
        return Ok((Reply::Answer(msg), standing));
    }
    let soa = negative_soa(zone, sname, &msg.authorities);
    let proof = match &soa {
        Some(_) => negative_proof(zone, &msg.authorities),
        None => Vec::new(),
    };
    if rcode == ResponseCode::NXDomain {
        if aa {
            return Ok((Reply::NxDomain { soa, proof }, Standing::Take(trust)));
        }
        if soa.is_none() {
            return Err(ServerError::Lame(Lame::NotAuthoritative));
        }
        let standing = match recursive {
            true => Standing::LastResort(Lame::Recursive),
            false => Standing::Take(trust),
        };
        return Ok((Reply::NxDomain { soa, proof }, standing));
    }
    if let Some(r) = referral(zone, sname, &msg) {
        return Ok((r, Standing::Take(Trust::Referral)));
    }
    if soa.is_some() {
        let standing = match recursive {
            true => Standing::LastResort(Lame::Recursive),
            false => Standing::Take(trust),
        };
        return Ok((Reply::NoData { soa, proof }, standing));
    }
    // NODATA without an SOA (Unbound's rules, iter_resptype.c and iter_scrub.c):
    // an NS set above or beside the zone, with nothing in the answer section, is
    // an upward referral: lame, AA or not; the zone's own NS set without AA is a
    // parent's copy: lame; an entirely empty reply, AA or not, is tried at the
    // other servers first; and without AA, nothing for the question (records of
    // another type or name) the same.
    match other_ns(zone, &msg) {
        Some(ns) if ns.name != *zone && msg.answers.is_empty() => {
            return Err(ServerError::Lame(Lame::Referral {
                to: ns.name.clone(),
            }));
        }
        Some(ns) if ns.name == *zone && !aa => return Err(ServerError::Lame(Lame::ParentCopy)),
        _ => {}
    }
    let empty = msg.answers.is_empty() && msg.authorities.is_empty() && msg.additionals.is_empty();
    if empty {
        return Ok((
            Reply::NoData {
                soa: None,
                proof: Vec::new(),
            },
            Standing::LastResort(Lame::Empty),
        ));
    }
    if aa {
        return Ok((
            Reply::NoData {
                soa: None,
                proof: Vec::new(),
            },
            Standing::Take(trust),
        ));
    }
    Ok((
        Reply::NoData {
            soa: None,
            proof: Vec::new(),
        },
        Standing::LastResort(Lame::NotAuthoritative),
    ))
}

/// A downward referral: NS records for a name strictly below `zone`, at or above
/// `sname`, with the glue for those NS names that lies inside `zone`.
fn referral(zone: &Name, sname: &Name, msg: &Message) -> Option<Reply> {
    referral_in(zone, sname, &msg.authorities, &msg.additionals)
}

/// The same, from an NS set a parent put into the answer section.
fn answer_referral(zone: &Name, sname: &Name, msg: &Message) -> Option<Reply> {
    referral_in(zone, sname, &msg.answers, &msg.additionals)
}

fn referral_in(zone: &Name, sname: &Name, section: &[Record], add: &[Record]) -> Option<Reply> {
    let first = in_class(section).find(|r| {
        r.record_type() == RecordType::NS
            && zone.zone_of(&r.name)
            && r.name != *zone
            && r.name.zone_of(sname)
    })?;
    let cut = first.name.clone();
    let ns: Vec<Record> = in_class(section)
        .filter(|r| r.record_type() == RecordType::NS && r.name == cut)
        .cloned()
        .collect();
    let glue = glue_for(zone, &ns, add);
    Some(Reply::Referral { cut, ns, glue })
}

/// The NS records owned by `owner` in a reply's answer section.
pub fn ns_rrset(answers: &[Record], owner: &Name) -> Vec<Record> {
    answers
        .iter()
        .filter(|r| r.name == *owner && r.record_type() == RecordType::NS)
        .cloned()
        .collect()
}

/// Addresses of the given NS targets from an additional section, inside `zone`.
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

/// The SOA of a negative answer for `sname`: inside `zone` (forwarding, the root
/// zone "."), at or above `sname` (RFC 2308 §2: the SOA of the zone that holds
/// the name; Unbound and Knot check the same).
pub fn negative_soa(zone: &Name, sname: &Name, authority: &[Record]) -> Option<Record> {
    in_class(authority)
        .find(|r| {
            r.record_type() == RecordType::SOA && zone.zone_of(&r.name) && r.name.zone_of(sname)
        })
        .cloned()
}

/// What proves a negative answer to a DNSSEC-aware client (RFC 4035 §3.1.3): the
/// RRSIGs of the zone's SOA, and every NSEC and NSEC3 record inside `zone` with its
/// RRSIGs, from the authority section. Checked by the validator, never trusted
/// for anything by itself.
pub fn negative_proof(zone: &Name, authority: &[Record]) -> Vec<Record> {
    // Unsigned zones (most replies): nothing to group or copy.
    if !authority.iter().any(|r| {
        matches!(
            r.record_type(),
            RecordType::RRSIG | RecordType::NSEC | RecordType::NSEC3
        )
    }) {
        return Vec::new();
    }
    group(
        in_class(authority)
            .filter(|r| zone.zone_of(&r.name))
            .cloned(),
    )
    .into_iter()
    .flat_map(|set| match set[0].record_type() {
        RecordType::NSEC | RecordType::NSEC3 => set,
        RecordType::SOA => set.into_iter().filter(|r| covers(r).is_some()).collect(),
        _ => Vec::new(),
    })
    .collect()
}

/// The first SOA of a forwarder's negative answer (a resolved view: the SOA is
/// that of the zone where the chain ended, whatever the name asked).
pub fn forwarded_soa(authority: &[Record]) -> Option<Record> {
    in_class(authority)
        .find(|r| r.record_type() == RecordType::SOA)
        .cloned()
}

/// Groups records into RRsets (same owner and type), keeping first-seen order and
/// dropping duplicates; each RRset's RRSIGs follow its records.
pub fn group(records: impl IntoIterator<Item = Record>) -> Vec<Vec<Record>> {
    let mut out: Vec<Vec<Record>> = Vec::new();
    let mut sigs = Vec::new();
    for r in records {
        if let Some(covered) = covers(&r) {
            sigs.push((covered, r));
            continue;
        }
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
    // RRSIGs go after the records of the RRset they cover (RFC 4035 §3.1.1), so a
    // set and its signatures travel, are cached and expire together. Signatures
    // without their RRset (the answer to a question for type RRSIG) are a set of
    // their own.
    let mut orphans: Vec<Vec<Record>> = Vec::new();
    for (covered, r) in sigs {
        let home = out
            .iter_mut()
            .find(|s| s[0].name == r.name && s[0].record_type() == covered)
            .or_else(|| orphans.iter_mut().find(|s| s[0].name == r.name));
        match home {
            Some(s) => {
                if !s.iter().any(|x| x.data == r.data) {
                    s.push(r)
                }
            }
            None => orphans.push(vec![r]),
        }
    }
    out.extend(orphans);
    out
}

/// The type an RRSIG covers (`None` for any other record).
pub fn covers(r: &Record) -> Option<RecordType> {
    match &r.data {
        RData::DNSSEC(DNSSECRData::RRSIG(sig)) => Some(sig.input().type_covered),
        _ => None,
    }
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
        return match dname::synthesized_cname(name, &d[0]) {
            None => Taken::Nothing,
            Some(Ok(cname)) => match &cname.data {
                RData::CNAME(c) => Taken::Dname {
                    dname: d.clone(),
                    target: c.0.clone(),
                    cname: Box::new(cname),
                },
                _ => Taken::Nothing,
            },
            Some(Err(_)) => Taken::TooLong { dname: d.clone() },
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
    use crate::resolver::answer::test_rrsig;
    use hickory_proto::dnssec::rdata::NSEC;
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

    fn kind(r: &Result<(Reply, Standing), ServerError>) -> String {
        match r {
            Ok((reply, standing)) => {
                let what = match reply {
                    Reply::Answer(_) => "answer",
                    Reply::Referral { .. } => "referral",
                    Reply::NoData { .. } => "nodata",
                    Reply::NxDomain { .. } => "nxdomain",
                };
                match standing {
                    Standing::Take(Trust::Answer) => format!("{what} aa"),
                    Standing::Take(Trust::NonAuth) => format!("{what} nonauth"),
                    Standing::Take(t) => format!("{what} {t:?}"),
                    Standing::LastResort(l) => format!("{what} last-resort {l:?}"),
                }
            }
            Err(ServerError::Lame(l)) => format!("lame {l:?}"),
            Err(e) => format!("error {e}"),
        }
    }

    // Every reply shape from a server asked about example.com. for www A, with and
    // without AA (and with RA), sorted the way Unbound and Knot Resolver sort it.
    #[test]
    fn reply_shapes_with_and_without_aa() {
        let zone = n("example.com.");
        let www = n("www.example.com.");
        let cname = rec("www.example.com.", RData::CNAME(CNAME(n("x.example.net."))));
        let down = ns("sub.example.com.", "ns.sub.example.com.");
        type Build = fn(&mut Message);
        let shapes: Vec<(&str, ResponseCode, Build)> = vec![
            ("data", ResponseCode::NoError, |m| {
                m.add_answer(a("www.example.com."));
            }),
            ("data + zone NS", ResponseCode::NoError, |m| {
                m.add_answer(a("www.example.com."));
                m.add_authority(ns("example.com.", "ns.example.com."));
            }),
            ("data + upward NS", ResponseCode::NoError, |m| {
                m.add_answer(a("www.example.com."));
                m.add_authority(ns("com.", "a.gtld.com."));
            }),
            ("cname", ResponseCode::NoError, |m| {
                m.add_answer(rec(
                    "www.example.com.",
                    RData::CNAME(CNAME(n("x.example.net."))),
                ));
            }),
            ("nodata + soa", ResponseCode::NoError, |m| {
                m.add_authority(soa("example.com."));
            }),
            ("nodata + zone NS", ResponseCode::NoError, |m| {
                m.add_authority(ns("example.com.", "ns.example.com."));
            }),
            ("nodata + upward NS", ResponseCode::NoError, |m| {
                m.add_authority(ns(".", "a.root."));
            }),
            ("empty", ResponseCode::NoError, |_| {}),
            ("another type only", ResponseCode::NoError, |m| {
                m.add_answer(rec(
                    "www.example.com.",
                    RData::TXT(TXT::new(vec!["x".into()])),
                ));
            }),
            ("nxdomain + soa", ResponseCode::NXDomain, |m| {
                m.add_authority(soa("example.com."));
            }),
            ("nxdomain bare", ResponseCode::NXDomain, |_| {}),
            (
                "nxdomain + soa of another zone",
                ResponseCode::NXDomain,
                |m| {
                    m.add_authority(soa("example.org."));
                },
            ),
        ];
        let want: &[(&str, &str, &str, &str)] = &[
            // shape, AA, no AA, no AA with RA
            (
                "data",
                "answer aa",
                "answer nonauth",
                "answer last-resort Recursive",
            ),
            (
                "data + zone NS",
                "answer aa",
                "answer nonauth",
                "answer last-resort Recursive",
            ),
            (
                "data + upward NS",
                "answer aa",
                "answer nonauth",
                "answer last-resort Recursive",
            ),
            ("cname", "answer aa", "answer nonauth", "answer nonauth"),
            (
                "nodata + soa",
                "nodata aa",
                "nodata nonauth",
                "nodata last-resort Recursive",
            ),
            (
                "nodata + zone NS",
                "nodata aa",
                "lame ParentCopy",
                "lame ParentCopy",
            ),
            (
                "nodata + upward NS",
                "lame Referral { to: Name(\".\") }",
                "lame Referral { to: Name(\".\") }",
                "lame Referral { to: Name(\".\") }",
            ),
            (
                "empty",
                "nodata last-resort Empty",
                "nodata last-resort Empty",
                "nodata last-resort Empty",
            ),
            (
                "another type only",
                "nodata aa",
                "nodata last-resort NotAuthoritative",
                "nodata last-resort NotAuthoritative",
            ),
            (
                "nxdomain + soa",
                "nxdomain aa",
                "nxdomain nonauth",
                "nxdomain last-resort Recursive",
            ),
            (
                "nxdomain bare",
                "nxdomain aa",
                "lame NotAuthoritative",
                "lame NotAuthoritative",
            ),
            (
                "nxdomain + soa of another zone",
                "nxdomain aa",
                "lame NotAuthoritative",
                "lame NotAuthoritative",
            ),
        ];
        for ((name, rcode, build), (wname, w_aa, w_non, w_ra)) in shapes.iter().zip(want) {
            assert_eq!(name, wname);
            for (aa, ra, w) in [
                (true, false, w_aa),
                (false, false, w_non),
                (false, true, w_ra),
            ] {
                let mut m = reply(aa, *rcode);
                m.metadata.recursion_available = ra;
                build(&mut m);
                let got = kind(&classify(&zone, &www, RecordType::A, m));
                assert_eq!(&got, w, "{name} aa={aa} ra={ra}");
            }
        }
        // A downward NS set with data and no AA: the data is a parent's copy.
        let mut m = reply(false, ResponseCode::NoError);
        m.add_answer(a("www.sub.example.com."));
        m.add_authority(down.clone());
        assert_eq!(
            kind(&classify(
                &zone,
                &n("www.sub.example.com."),
                RecordType::A,
                m
            )),
            "referral Referral"
        );
        // The child's NS set in the answer section without AA, asked NS: a referral.
        let mut m = reply(false, ResponseCode::NoError);
        m.add_answer(down);
        assert_eq!(
            kind(&classify(&zone, &n("sub.example.com."), RecordType::NS, m)),
            "referral Referral"
        );
        // CNAME with NXDOMAIN (RFC 6604): the chain, not a negative answer.
        let mut m = reply(false, ResponseCode::NXDomain);
        m.add_answer(cname);
        assert_eq!(
            kind(&classify(&zone, &www, RecordType::A, m)),
            "answer nonauth"
        );
    }

    #[test]
    fn error_rcodes_are_lame() {
        for rc in [
            ResponseCode::Refused,
            ResponseCode::ServFail,
            ResponseCode::NotImp,
            ResponseCode::YXDomain,
        ] {
            let m = reply(true, rc);
            assert!(matches!(
                classify(&n("com."), &n("x.com."), RecordType::A, m),
                Err(ServerError::Rcode(_))
            ));
        }
        // YXDOMAIN with a DNAME above the name: the DNAME is the answer (RFC 6672).
        let mut m = reply(true, ResponseCode::YXDomain);
        m.add_answer(dname::dname(n("example.com."), 60, &n("example.net.")));
        assert_eq!(
            kind(&classify(
                &n("example.com."),
                &n("x.example.com."),
                RecordType::A,
                m
            )),
            "answer aa"
        );
    }

    #[test]
    fn referrals_go_strictly_down_with_in_bailiwick_glue_only() {
        let mut m = reply(false, ResponseCode::NoError);
        m.add_authority(ns("example.com.", "ns1.example.com."));
        m.add_authority(ns("example.com.", "ns.other.net."));
        m.add_additional(a("ns1.example.com."));
        m.add_additional(a("ns.other.net."));
        match classify(&n("com."), &n("www.example.com."), RecordType::A, m.clone()) {
            Ok((Reply::Referral { cut, ns, glue }, _)) => {
                assert_eq!(cut, n("example.com."));
                assert_eq!(ns.len(), 2);
                assert_eq!(glue.len(), 1, "glue outside com. is not believed");
                assert_eq!(glue[0].name, n("ns1.example.com."));
            }
            other => panic!("{other:?}"),
        }
        // Asked about example.com. itself: its own NS set without SOA is lame.
        assert!(matches!(
            classify(
                &n("example.com."),
                &n("www.example.com."),
                RecordType::A,
                m.clone()
            ),
            Err(ServerError::Lame(Lame::ParentCopy))
        ));
        // Sideways: asked about www.example.org. in org., got example.com.
        assert!(matches!(
            classify(&n("org."), &n("www.example.org."), RecordType::A, m),
            Err(ServerError::Lame(Lame::Referral { .. }))
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
            Err(ServerError::Lame(Lame::Referral { .. }))
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
            Ok((Reply::NoData { soa: Some(_), .. }, _))
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
            Ok((Reply::NoData { soa: None, .. }, _))
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

    // RRSIGs travel with the RRset they cover, after its records; signatures
    // without their RRset (a question for type RRSIG) are a set of their own.
    #[test]
    fn rrsigs_join_the_rrset_they_cover() {
        let www = n("www.geek.");
        let sets = group(vec![
            test_rrsig(&www, RecordType::A),
            a("www.geek."),
            test_rrsig(&www, RecordType::TXT),
            test_rrsig(&www, RecordType::A),
            rec("www.geek.", RData::TXT(TXT::new(vec!["t".into()]))),
        ]);
        let shape: Vec<Vec<(RecordType, Option<RecordType>)>> = sets
            .iter()
            .map(|s| s.iter().map(|r| (r.record_type(), covers(r))).collect())
            .collect();
        assert_eq!(
            shape,
            vec![
                vec![
                    (RecordType::A, None),
                    (RecordType::RRSIG, Some(RecordType::A))
                ],
                vec![
                    (RecordType::TXT, None),
                    (RecordType::RRSIG, Some(RecordType::TXT))
                ],
            ],
            "duplicates dropped"
        );
        let alone = group(vec![
            test_rrsig(&www, RecordType::A),
            test_rrsig(&www, RecordType::AAAA),
        ]);
        assert_eq!(alone.len(), 1);
        assert_eq!(alone[0].len(), 2);
    }

    // The proof of a negative answer: the SOA's RRSIGs and the NSEC/NSEC3 records
    // inside the zone with theirs; nothing else of the authority section.
    #[test]
    fn negative_proof_takes_soa_signatures_and_nsec_records_inside_the_zone() {
        let zone = n("geek.");
        let nsec = |owner: &str| {
            rec(
                owner,
                RData::DNSSEC(DNSSECRData::NSEC(NSEC::new(n("z.geek."), [RecordType::A]))),
            )
        };
        let authority = vec![
            soa("geek."),
            test_rrsig(&zone, RecordType::SOA),
            nsec("a.geek."),
            test_rrsig(&n("a.geek."), RecordType::NSEC),
            nsec("other."),
            ns("geek.", "ns.geek."),
            test_rrsig(&zone, RecordType::NS),
        ];
        let proof = negative_proof(&zone, &authority);
        let shape: Vec<(Name, RecordType)> = proof
            .iter()
            .map(|r| (r.name.clone(), r.record_type()))
            .collect();
        assert_eq!(
            shape,
            vec![
                (zone.clone(), RecordType::RRSIG),
                (n("a.geek."), RecordType::NSEC),
                (n("a.geek."), RecordType::RRSIG),
            ]
        );
    }
}
