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
#[path = "classify_tests.rs"]
mod tests;
