//! Fake DNS hierarchies on loopback: small authoritative servers with canned zones
//! and misbehaviours, written independently of altroot's own zone code so that the
//! two cannot share a bug.
//!
//! Every server of a world listens on the same port (a root's `port` applies to all
//! its servers) on its own address in a random 127.X.Y.0/24 block, so worlds of
//! parallel tests do not meet. A server may have a port of its own instead
//! ([`Spec::on_own_port`]: a root server on `root-port`, as hsd's is).
//!
//! A running world's servers can be stopped and started again on the same address
//! ([`World::stop`], [`World::start_again`]) or switched to another behaviour
//! ([`World::set_behaviour`]); each keeps its log of the queries it saw.

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use hickory_proto::op::{Edns, Message, MessageType, OpCode, ResponseCode};
use hickory_proto::rr::rdata::{A, CNAME, NS, NULL, TXT};
use hickory_proto::rr::{DNSClass, Name, RData, Record, RecordType};
use hickory_proto::serialize::binary::BinDecodable;
use hickory_proto::serialize::txt::Parser;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream, UdpSocket};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

/// How a fake server behaves.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Behaviour {
    /// Answers from its zones like a correct authoritative server.
    Normal,
    /// Reads queries and never answers (UDP or TCP).
    Silent,
    /// Answers REFUSED to everything: a lame delegation.
    Refused,
    /// Answers with an upward referral to the root, not authoritative: lame.
    UpwardReferral,
    /// Over UDP answers only with TC=1 and no records; answers properly over TCP.
    TcpOnly,
    /// A server from before EDNS: FORMERR without OPT to any query that has one.
    NoEdns,
    /// Answers correctly but adds out-of-bailiwick records to every reply: to the
    /// answer section `www.geek.` and `www.example.org.` A 6.6.6.6 and a DNAME
    /// `com.` → `geek.` (above any zone under com), to the additional section
    /// `ns.example.org.` and `a.gtld.com.` A 6.6.6.6.
    Poison,
    /// A recursive resolver: answers RD=1 queries from its zones as if resolved
    /// (no AA), REFUSED when RD=0.
    Recursive,
    /// SERVFAIL to every NS query (breaks QNAME minimisation); correct otherwise.
    ServfailNs,
    /// NXDOMAIN for empty non-terminals (names that own nothing but have names
    /// below them), as some old servers do; correct otherwise.
    NxdomainEnt,
    /// Chases CNAMEs through every record it holds (any of its zones, data below
    /// delegations too) and adds the targets' records to the answer.
    ChaseCname,
    /// Adds to every positive answer an unrelated in-zone record
    /// (`intruder.<zone> A 198.51.100.66`) and a TXT record for the asked name.
    ExtraAnswers,
    /// A DNSSEC-aware server of a signed zone, as far as what it sends goes: to a
    /// query with DO, every RRset of the answer and the SOA of a negative answer
    /// come with an RRSIG, and a negative answer with an NSEC at the apex and its
    /// RRSIG ([`signature`]: well formed, not valid; for relaying, not validating).
    Signs,
    /// Answers every query with a non-authoritative referral to the apex of its first
    /// zone (a sideways referral): its apex NS set, addresses in additional.
    SidewaysReferral,
    /// NOERROR, AA=0, no records at all: lame.
    EmptyNonAa,
    /// Adds the zone's apex NS set to the authority section of positive answers
    /// (and their addresses to additional), like `minimal-responses no`.
    WithAuthority,
    /// Adds every address record at or below the cut (occluded data) to the
    /// additional section of referrals, not only the NS targets' glue.
    ExtraGlue,
    /// TC=1 over UDP; closes TCP connections as soon as they are accepted.
    TcpClose,
    /// Answers correctly, after this many milliseconds (UDP and TCP).
    Slow(u64),
    /// SERVFAIL to everything.
    Servfail,
    /// Replies with bytes that do not decode: the query's ID and the QR bit, then a
    /// header claiming records that are not there.
    Garbage,
    /// Replies with random bytes (another ID).
    GarbageOtherId,
    /// A correct reply (without its OPT record) cut in the middle of its last
    /// record; TC not set.
    Truncated,
    /// TC=1 over UDP, and no TCP listener at all: connections are refused. (Decided
    /// when the server starts; `set_behaviour` cannot add or remove the listener.)
    TcNoTcp,
    /// TC=1 over UDP; over TCP writes the 2-byte length and half the message, then
    /// resets the connection (SO_LINGER 0).
    TcpReset,
    /// A correct reply with another ID, and nothing else.
    WrongId,
    /// A correct reply with another ID, then the right one.
    WrongIdThenRight,
    /// The reply for the asked name, with the same ID but another name in the
    /// question section. Silent over TCP.
    WrongQuestion,
    /// The reply with the same ID and name, but class CH in the question and records.
    WrongClass,
    /// The correct reply, sent from a second socket on another port of the same
    /// address. Silent over TCP (a spoofer has no connection).
    OtherPort,
    /// The correct reply, sent from another address of the world's block
    /// ([`SPOOF_HOST`]). Silent over TCP.
    OtherAddress,
    /// Lame for AAAA questions only (in the given way); correct for every other type.
    LameForAaaa(Lame),
    /// To an A question: AA, NOERROR, an answer section holding only a TXT RRset for
    /// the asked name (no CNAME), nothing in authority. Correct for other types.
    OtherTypeAnswer,
    /// A correct reply plus, in the answer, authority and additional sections,
    /// records for the alternate root's TLDs (`geek.`, `biz.`) pointing at 6.6.6.6.
    PoisonOtherRoots,
    /// Correct replies with AA=0 (answers, NODATA and NXDOMAIN alike).
    NonAaAnswer,
    /// NXDOMAIN with the zone's SOA and AA=0 for every name of its zones.
    NonAaNxdomain,
    /// Below a DNAME owner answers only the DNAME, without the synthesised CNAME.
    DnameNoCname,
}

/// How a [`Behaviour::LameForAaaa`] server fails AAAA questions.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Lame {
    Refused,
    Servfail,
    /// A non-authoritative referral to the root.
    UpwardReferral,
}

/// Host number, in every world's block, that [`Behaviour::OtherAddress`] replies
/// from. Specs must not use it.
pub const SPOOF_HOST: u8 = 254;

/// The address fake servers put into records planted for other roots' names.
pub const EVIL: &str = "6.6.6.6";

/// One query a fake server saw.
#[derive(Clone, Debug)]
pub struct Seen {
    pub name: Name,
    pub qtype: RecordType,
    pub tcp: bool,
    /// The query's EDNS DO bit.
    pub dnssec_ok: bool,
}

#[derive(Clone)]
pub struct Zone {
    origin: Name,
    records: Vec<Record>,
}

pub struct FakeServer {
    addr: SocketAddr,
    zones: Arc<Vec<Zone>>,
    behaviour: Arc<Mutex<Behaviour>>,
    seen: Arc<Mutex<Vec<Seen>>>,
    /// Replies sent from another port or address ([`Behaviour::OtherPort`],
    /// [`Behaviour::OtherAddress`]): a test of spoofing checks that some were.
    spoofed: Arc<std::sync::atomic::AtomicUsize>,
    /// Cancels every task of this server (sockets, connections, delayed replies).
    stop: CancellationToken,
    /// Closed when the last task has ended (each task holds a sender).
    ended: Option<mpsc::Receiver<()>>,
}

impl FakeServer {
    pub fn seen(&self) -> Vec<Seen> {
        self.seen.lock().unwrap().clone()
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Replies this server sent from another port or address.
    pub fn spoofed(&self) -> usize {
        self.spoofed.load(std::sync::atomic::Ordering::SeqCst)
    }
}

impl Drop for FakeServer {
    fn drop(&mut self) {
        self.stop.cancel();
    }
}

/// Parses zone text (relative names allowed) with hickory's parser. hickory refuses
/// DNAME, so lines `owner [ttl] DNAME target` are taken out first and made into
/// records of unknown type 39 carrying the target in uncompressed wire format.
pub fn parse_zone(origin: &str, text: &str) -> Zone {
    let origin = Name::from_ascii(origin).unwrap();
    let mut rest = String::new();
    let mut dnames = Vec::new();
    for line in text.lines() {
        match line.split_whitespace().collect::<Vec<_>>().as_slice() {
            [owner, "DNAME", target] => dnames.push(dname(owner, 300, target, &origin)),
            [owner, ttl, "DNAME", target] => {
                dnames.push(dname(owner, ttl.parse().unwrap(), target, &origin))
            }
            _ => {
                rest.push_str(line);
                rest.push('\n');
            }
        }
    }
    let full = format!("$TTL 300\n{rest}\n");
    let (_, sets) = Parser::new(full, None, Some(origin.clone()))
        .parse()
        .unwrap_or_else(|e| panic!("fixture zone {origin}: {e}"));
    let mut records: Vec<Record> = sets
        .values()
        .flat_map(|s| s.records_without_rrsigs().cloned())
        .collect();
    records.extend(dnames);
    Zone { origin, records }
}

/// An RRSIG over `covered` at `owner` by `signer`: every field as a signer would
/// write it, the signature 64 bytes of 0x5a (not valid under any key).
pub fn signature(owner: &Name, covered: RecordType, ttl: u32, signer: &Name) -> Record {
    use hickory_proto::dnssec::Algorithm;
    use hickory_proto::dnssec::rdata::{DNSSECRData, RRSIG, SigInput};
    let input = SigInput {
        type_covered: covered,
        algorithm: Algorithm::ECDSAP256SHA256,
        num_labels: owner.num_labels(),
        original_ttl: ttl,
        sig_expiration: hickory_proto::rr::SerialNumber::new(3_000_000_000),
        sig_inception: hickory_proto::rr::SerialNumber::new(1_700_000_000),
        key_tag: 4242,
        signer_name: signer.clone(),
    };
    Record::from_rdata(
        owner.clone(),
        ttl,
        RData::DNSSEC(DNSSECRData::RRSIG(RRSIG::from_sig(input, vec![0x5a; 64]))),
    )
}

/// What [`Behaviour::Signs`] adds to an authoritative reply.
fn sign(r: &mut Message, zones: &[Zone], qname: &Name) {
    use hickory_proto::dnssec::rdata::{DNSSECRData, NSEC};
    let Some(zone) = zone_for(zones, qname) else {
        return;
    };
    let apex = zone.origin.clone();
    let mut sigs = Vec::new();
    let mut seen: Vec<(Name, RecordType)> = Vec::new();
    for x in &r.answers {
        let key = (x.name.clone(), x.record_type());
        if !seen.contains(&key) {
            sigs.push(signature(&x.name, x.record_type(), x.ttl, &apex));
            seen.push(key);
        }
    }
    r.add_answers(sigs);
    let soa = r
        .authorities
        .iter()
        .find(|x| x.record_type() == RecordType::SOA)
        .cloned();
    if r.answers.is_empty()
        && let Some(soa) = soa
    {
        r.add_authority(signature(&soa.name, RecordType::SOA, soa.ttl, &apex));
        let nsec = Record::from_rdata(
            apex.clone(),
            soa.ttl,
            RData::DNSSEC(DNSSECRData::NSEC(NSEC::new(
                apex.clone(),
                [
                    RecordType::NS,
                    RecordType::SOA,
                    RecordType::RRSIG,
                    RecordType::NSEC,
                ],
            ))),
        );
        r.add_authority(nsec);
        r.add_authority(signature(&apex, RecordType::NSEC, soa.ttl, &apex));
    }
}

/// A zone-text name: `@`, absolute, or relative to `origin`.
fn zone_name(s: &str, origin: &Name) -> Name {
    match s {
        "@" => origin.clone(),
        _ if s.ends_with('.') => Name::from_ascii(s).unwrap(),
        _ => Name::from_ascii(s).unwrap().append_domain(origin).unwrap(),
    }
}

/// A DNAME record (RFC 6672) as hickory carries unknown types.
pub fn dname(owner: &str, ttl: u32, target: &str, origin: &Name) -> Record {
    let target = zone_name(target, origin);
    Record::from_rdata(
        zone_name(owner, origin),
        ttl,
        RData::Unknown {
            code: RecordType::DNAME,
            rdata: NULL::with(name_wire(&target)),
        },
    )
}

/// A name in uncompressed wire format: length-prefixed labels, then the root.
fn name_wire(n: &Name) -> Vec<u8> {
    let mut out = Vec::new();
    for label in n.iter() {
        out.push(label.len() as u8);
        out.extend_from_slice(label);
    }
    out.push(0);
    out
}

/// The target of a DNAME record built by [`dname`] (or decoded from the wire).
pub fn dname_target(r: &Record) -> Option<Name> {
    match &r.data {
        RData::Unknown { code, rdata } if *code == RecordType::DNAME => {
            Name::from_bytes(&rdata.anything).ok()
        }
        _ => None,
    }
}

/// The reply a correct authoritative server gives.
fn authoritative(zones: &[Zone], query: &Message) -> Message {
    let q = &query.queries[0];
    let (qname, qtype) = (q.name().clone(), q.query_type());
    let mut resp = bare(query);
    resp.metadata.recursion_desired = query.metadata.recursion_desired;
    let Some(zone) = zone_for(zones, &qname) else {
        resp.metadata.response_code = ResponseCode::Refused;
        return resp;
    };
    let soa = zone
        .records
        .iter()
        .find(|r| r.record_type() == RecordType::SOA)
        .cloned()
        .expect("fixture zone needs a SOA");
    let rrs = |n: &Name, t: RecordType| -> Vec<Record> {
        zone.records
            .iter()
            .filter(|r| &r.name == n && r.record_type() == t)
            .cloned()
            .collect()
    };
    // Delegation: topmost NS below the apex, at or above the name.
    for n in zone.origin.num_labels() + 1..=qname.num_labels() {
        let cut = qname.trim_to(n as usize);
        let ns = rrs(&cut, RecordType::NS);
        if !(ns.is_empty() || cut == qname && qtype == RecordType::DS) {
            for r in &ns {
                if let RData::NS(t) = &r.data {
                    resp.add_additionals(rrs(&t.0, RecordType::A));
                    resp.add_additionals(rrs(&t.0, RecordType::AAAA));
                }
            }
            resp.add_authorities(ns);
            return resp;
        }
    }
    resp.metadata.authoritative = true;
    // RFC 6672 §3.2: below a DNAME owner, the DNAME and a CNAME from the asked name to
    // the name with the owner replaced by the target, with the DNAME's TTL.
    if let Some(d) = zone
        .records
        .iter()
        .filter(|r| r.record_type() == RecordType::DNAME)
        .filter(|r| r.name != qname && r.name.zone_of(&qname))
        .max_by_key(|r| r.name.num_labels())
    {
        let target = dname_target(d).expect("a DNAME built by dname()");
        let keep = (qname.num_labels() - d.name.num_labels()) as usize;
        let synth =
            Name::from_labels(qname.iter().take(keep)).and_then(|n| n.append_domain(&target));
        resp.add_answer(d.clone());
        // RFC 6672 §2.2: a substitution longer than 255 octets is YXDOMAIN, with
        // the DNAME and no CNAME.
        let Ok(synth) = synth else {
            resp.metadata.response_code = ResponseCode::YXDomain;
            return resp;
        };
        resp.add_answer(Record::from_rdata(
            qname.clone(),
            d.ttl,
            RData::CNAME(CNAME(synth)),
        ));
        return resp;
    }
    let exact: Vec<&Record> = zone.records.iter().filter(|r| r.name == qname).collect();
    let below = zone.records.iter().any(|r| qname.zone_of(&r.name));
    // RFC 4592 §3.3.1: the wildcard is the one at the closest encloser, the
    // nearest ancestor that exists (has a record at or below it), however many
    // labels up: `*.uk.` answers `bbc.co.uk.` when `co.uk.` does not exist.
    let exists = |n: &Name| zone.records.iter().any(|r| n.zone_of(&r.name));
    let encloser = (zone.origin.num_labels()..qname.num_labels())
        .rev()
        .map(|n| qname.trim_to(n as usize))
        .find(|n| exists(n));
    let wild = encloser
        .and_then(|e| e.prepend_label("*").ok())
        .filter(|w| !below && zone.records.iter().any(|r| &r.name == w));
    let owner = match (&wild, below) {
        (_, true) => qname.clone(),
        (Some(w), false) => w.clone(),
        (None, false) => {
            resp.metadata.response_code = ResponseCode::NXDomain;
            resp.add_authority(soa);
            return resp;
        }
    };
    let _ = exact;
    // ANY: every RRset of the name (a server may give a subset, RFC 8482; ours gives
    // them all, so the resolver's minimising is what the client sees).
    let mut answer = if qtype == RecordType::ANY {
        zone.records
            .iter()
            .filter(|r| r.name == owner)
            .cloned()
            .collect()
    } else {
        rrs(&owner, qtype)
    };
    if answer.is_empty() {
        answer = rrs(&owner, RecordType::CNAME);
    }
    for r in &mut answer {
        r.name = qname.clone();
    }
    if answer.is_empty() {
        resp.add_authority(soa);
    } else {
        resp.add_answers(answer);
    }
    resp
}

/// The zone a correct server would answer from (the deepest that holds the name).
fn zone_for<'a>(zones: &'a [Zone], qname: &Name) -> Option<&'a Zone> {
    zones
        .iter()
        .filter(|z| z.origin.zone_of(qname))
        .max_by_key(|z| z.origin.num_labels())
}

/// An empty reply to `query` (no flags, NOERROR).
fn bare(query: &Message) -> Message {
    let mut r = Message::new(query.metadata.id, MessageType::Response, OpCode::Query);
    r.add_queries(query.queries.clone());
    r
}

/// An empty reply with an error rcode.
fn error_reply(query: &Message, rcode: ResponseCode) -> Message {
    let mut r = bare(query);
    r.metadata.response_code = rcode;
    r
}

/// Adds the zone's apex NS set to the authority section and their A records to
/// the additional section.
fn add_apex_ns(r: &mut Message, z: &Zone) {
    for ns in z
        .records
        .iter()
        .filter(|x| x.name == z.origin && x.record_type() == RecordType::NS)
    {
        r.add_authority(ns.clone());
        if let RData::NS(t) = &ns.data {
            let glue: Vec<Record> = z
                .records
                .iter()
                .filter(|x| x.name == t.0 && x.record_type() == RecordType::A)
                .cloned()
                .collect();
            r.add_additionals(glue);
        }
    }
}

fn reply(zones: &[Zone], behaviour: Behaviour, query: &Message, tcp: bool) -> Option<Message> {
    let qname = query.queries[0].name().clone();
    let qtype = query.queries[0].query_type();
    let mut resp = match behaviour {
        Behaviour::ServfailNs if qtype == RecordType::NS => {
            error_reply(query, ResponseCode::ServFail)
        }
        Behaviour::NxdomainEnt => {
            let mut r = authoritative(zones, query);
            let owns = zones
                .iter()
                .any(|z| z.records.iter().any(|x| x.name == qname));
            if r.metadata.authoritative
                && r.answers.is_empty()
                && r.metadata.response_code == ResponseCode::NoError
                && !owns
            {
                r.metadata.response_code = ResponseCode::NXDomain;
            }
            r
        }
        Behaviour::ChaseCname => {
            let mut r = authoritative(zones, query);
            let mut target = r.answers.iter().find_map(|a| match &a.data {
                RData::CNAME(c) if qtype != RecordType::CNAME => Some(c.0.clone()),
                _ => None,
            });
            for _ in 0..8 {
                let Some(t) = target.take() else { break };
                let all: Vec<Record> = zones
                    .iter()
                    .flat_map(|z| z.records.iter())
                    .filter(|x| x.name == t)
                    .cloned()
                    .collect();
                let data: Vec<Record> = all
                    .iter()
                    .filter(|x| x.record_type() == qtype)
                    .cloned()
                    .collect();
                if !data.is_empty() {
                    r.add_answers(data);
                    break;
                }
                if let Some(c) = all.iter().find(|x| x.record_type() == RecordType::CNAME) {
                    r.add_answer(c.clone());
                    if let RData::CNAME(n) = &c.data {
                        target = Some(n.0.clone());
                    }
                }
            }
            r
        }
        Behaviour::Signs => {
            let mut r = authoritative(zones, query);
            if query.edns.as_ref().is_some_and(|e| e.flags().dnssec_ok) && r.metadata.authoritative
            {
                sign(&mut r, zones, &qname);
            }
            r
        }
        Behaviour::ExtraAnswers => {
            let mut r = authoritative(zones, query);
            if r.metadata.authoritative && !r.answers.is_empty() {
                if let Some(z) = zone_for(zones, &qname) {
                    let intruder = z.origin.prepend_label("intruder").unwrap();
                    if intruder != qname {
                        r.add_answer(Record::from_rdata(
                            intruder,
                            86400,
                            RData::A(hickory_proto::rr::rdata::A::new(198, 51, 100, 66)),
                        ));
                    }
                }
                if qtype != RecordType::TXT {
                    r.add_answer(Record::from_rdata(
                        qname.clone(),
                        86400,
                        RData::TXT(hickory_proto::rr::rdata::TXT::new(vec!["extra".into()])),
                    ));
                }
            }
            r
        }
        Behaviour::SidewaysReferral => {
            let mut r = bare(query);
            if let Some(z) = zones.first() {
                add_apex_ns(&mut r, z);
            }
            r
        }
        Behaviour::EmptyNonAa => bare(query),
        Behaviour::WithAuthority => {
            let mut r = authoritative(zones, query);
            if r.metadata.authoritative
                && !r.answers.is_empty()
                && let Some(z) = zone_for(zones, &qname)
            {
                add_apex_ns(&mut r, z);
            }
            r
        }
        Behaviour::ExtraGlue => {
            let mut r = authoritative(zones, query);
            let cut = r
                .authorities
                .first()
                .filter(|x| !r.metadata.authoritative && x.record_type() == RecordType::NS)
                .map(|x| x.name.clone());
            if let (Some(cut), Some(z)) = (cut, zone_for(zones, &qname)) {
                let extra: Vec<Record> = z
                    .records
                    .iter()
                    .filter(|x| x.record_type() == RecordType::A && cut.zone_of(&x.name))
                    .filter(|x| !r.additionals.iter().any(|y| y == *x))
                    .cloned()
                    .collect();
                r.add_additionals(extra);
            }
            r
        }
        Behaviour::TcpClose if !tcp => {
            let mut r = bare(query);
            r.metadata.truncation = true;
            r
        }
        Behaviour::Silent => return None,
        Behaviour::Refused => error_reply(query, ResponseCode::Refused),
        Behaviour::UpwardReferral => {
            let mut r = bare(query);
            r.add_authority(Record::from_rdata(
                Name::root(),
                300,
                RData::NS(hickory_proto::rr::rdata::NS(
                    Name::from_ascii("a.root-servers.net.").unwrap(),
                )),
            ));
            r
        }
        Behaviour::TcpOnly if !tcp => {
            let mut r = bare(query);
            r.metadata.truncation = true;
            r
        }
        Behaviour::Recursive => {
            if !query.metadata.recursion_desired {
                error_reply(query, ResponseCode::Refused)
            } else {
                let mut r = authoritative(zones, query);
                r.metadata.authoritative = false;
                r.metadata.recursion_available = true;
                r
            }
        }
        Behaviour::NoEdns if query.edns.is_some() => {
            return Some(error_reply(query, ResponseCode::FormErr));
        }
        Behaviour::Poison => {
            let mut r = authoritative(zones, query);
            let evil = |n: &str| {
                Record::from_rdata(
                    Name::from_ascii(n).unwrap(),
                    86400,
                    RData::A(hickory_proto::rr::rdata::A::new(6, 6, 6, 6)),
                )
            };
            r.add_answer(evil("www.geek."));
            r.add_answer(evil("www.example.org."));
            r.add_additional(evil("ns.example.org."));
            r.add_additional(evil("a.gtld.com."));
            r.add_answer(dname("com.", 86400, "geek.", &Name::root()));
            r
        }
        Behaviour::TcNoTcp | Behaviour::TcpReset if !tcp => {
            let mut r = bare(query);
            r.metadata.truncation = true;
            r
        }
        Behaviour::Servfail => error_reply(query, ResponseCode::ServFail),
        Behaviour::LameForAaaa(kind) if qtype == RecordType::AAAA => match kind {
            Lame::Refused => error_reply(query, ResponseCode::Refused),
            Lame::Servfail => error_reply(query, ResponseCode::ServFail),
            Lame::UpwardReferral => return reply(zones, Behaviour::UpwardReferral, query, tcp),
        },
        Behaviour::OtherTypeAnswer if qtype == RecordType::A => {
            let mut r = authoritative(zones, query);
            if r.metadata.authoritative {
                r.metadata.response_code = ResponseCode::NoError;
                r.answers = vec![Record::from_rdata(
                    qname.clone(),
                    300,
                    RData::TXT(TXT::new(vec!["not an address".into()])),
                )];
                r.authorities.clear();
            }
            r
        }
        Behaviour::PoisonOtherRoots => {
            let mut r = authoritative(zones, query);
            let evil_ns = Name::from_ascii("ns.evil.").unwrap();
            let a = |n: &str| {
                Record::from_rdata(
                    Name::from_ascii(n).unwrap(),
                    86400,
                    RData::A(EVIL.parse::<A>().unwrap()),
                )
            };
            let ns = |n: &str| {
                Record::from_rdata(
                    Name::from_ascii(n).unwrap(),
                    86400,
                    RData::NS(NS(evil_ns.clone())),
                )
            };
            r.add_answers([a("www.geek."), a("www.biz."), ns("geek.")]);
            r.add_authorities([ns("geek."), ns("biz.")]);
            r.add_additionals([a("ns.evil."), a("www.geek."), a("www.biz.")]);
            r
        }
        Behaviour::NonAaAnswer => {
            let mut r = authoritative(zones, query);
            r.metadata.authoritative = false;
            r
        }
        Behaviour::NonAaNxdomain => match zone_for(zones, &qname) {
            None => error_reply(query, ResponseCode::Refused),
            Some(z) => {
                let mut r = error_reply(query, ResponseCode::NXDomain);
                r.add_authorities(
                    z.records
                        .iter()
                        .filter(|x| x.record_type() == RecordType::SOA)
                        .cloned(),
                );
                r
            }
        },
        Behaviour::DnameNoCname => {
            let mut r = authoritative(zones, query);
            if r.answers
                .iter()
                .any(|x| x.record_type() == RecordType::DNAME)
            {
                r.answers.retain(|x| x.record_type() != RecordType::CNAME);
            }
            r
        }
        Behaviour::WrongQuestion => {
            let mut r = authoritative(zones, query);
            let other = qname.prepend_label("wrong-question").unwrap();
            r.queries[0].name = other;
            r
        }
        Behaviour::WrongClass => {
            let mut r = authoritative(zones, query);
            r.queries[0].set_query_class(DNSClass::CH);
            for x in r
                .answers
                .iter_mut()
                .chain(r.authorities.iter_mut())
                .chain(r.additionals.iter_mut())
            {
                x.dns_class = DNSClass::CH;
            }
            r
        }
        _ => authoritative(zones, query),
    };
    if let Some(e) = &query.edns {
        let mut mine = Edns::new();
        mine.set_max_payload(e.max_payload().max(512));
        resp.set_edns(mine);
    }
    Some(resp)
}

fn encode(resp: &Message, limit: usize) -> Vec<u8> {
    let bytes = resp.to_vec().unwrap();
    if bytes.len() > limit {
        resp.truncate().to_vec().unwrap()
    } else {
        bytes
    }
}

//------------ Sending ----------------------------------------------------------

/// Where a reply datagram comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Via {
    /// The server's own socket (over TCP: its connection).
    Same,
    /// A second socket on another port of the server's address (UDP only).
    OtherPort,
    /// A socket on [`SPOOF_HOST`] of the server's block (UDP only).
    OtherAddress,
    /// TCP only: the length and half the message, then a reset.
    HalfThenReset,
}

/// One reply to send: after `delay`, `bytes` via `via`.
pub struct Send {
    pub delay: Duration,
    pub via: Via,
    pub bytes: Vec<u8>,
}

/// Undecodable bytes that start like a reply to `id`: the ID, QR and AA, a header
/// claiming one question and three answers, then a compression pointer past the end.
pub fn garbage(id: u16) -> Vec<u8> {
    let mut b = id.to_be_bytes().to_vec();
    b.extend_from_slice(&[0x84, 0x00, 0, 1, 0, 3, 0, 0, 0, 0]);
    b.extend_from_slice(&[0xc0, 0xff, 0xc0, 0xff, 0x3f]);
    b
}

/// A correct reply without its OPT record, cut in the middle of its last record.
fn cut(resp: &Message) -> Vec<u8> {
    let mut m = resp.clone();
    m.edns = None;
    let bytes = m.to_vec().unwrap();
    let last = m
        .additionals
        .last()
        .or(m.authorities.last())
        .or(m.answers.last());
    // An A record is 16 bytes here (the owner compressed to a pointer); cut 5 bytes
    // into its end: inside the RDATA. Without records, cut the question.
    let keep = if last.is_some() {
        bytes.len() - 5
    } else {
        bytes.len() - 3
    };
    bytes[..keep].to_vec()
}

/// What a server of `behaviour` sends back for `query`.
pub fn respond(zones: &[Zone], behaviour: Behaviour, query: &Message, tcp: bool) -> Vec<Send> {
    let now = |via, bytes| Send {
        delay: Duration::ZERO,
        via,
        bytes,
    };
    let id = query.metadata.id;
    match behaviour {
        Behaviour::Garbage => return vec![now(Via::Same, garbage(id))],
        Behaviour::GarbageOtherId => {
            let mut b: Vec<u8> = (0..40).map(|_| rand::random()).collect();
            if b[..2] == id.to_be_bytes() {
                b[0] ^= 0xff;
            }
            return vec![now(Via::Same, b)];
        }
        Behaviour::WrongQuestion | Behaviour::OtherPort | Behaviour::OtherAddress if tcp => {
            return Vec::new();
        }
        _ => {}
    }
    let Some(resp) = reply(zones, behaviour, query, tcp) else {
        return Vec::new();
    };
    let limit = if tcp {
        65_535
    } else {
        query
            .edns
            .as_ref()
            .map_or(512, |e| e.max_payload() as usize)
    };
    let right = encode(&resp, limit);
    let wrong = || {
        let mut m = resp.clone();
        m.metadata.id = id.wrapping_add(1);
        encode(&m, limit)
    };
    match behaviour {
        Behaviour::Slow(ms) => vec![Send {
            delay: Duration::from_millis(ms),
            via: Via::Same,
            bytes: right,
        }],
        Behaviour::Truncated => vec![now(Via::Same, cut(&resp))],
        Behaviour::TcpReset if tcp => vec![now(Via::HalfThenReset, right)],
        Behaviour::WrongId => vec![now(Via::Same, wrong())],
        Behaviour::WrongIdThenRight => vec![now(Via::Same, wrong()), now(Via::Same, right)],
        Behaviour::OtherPort => vec![now(Via::OtherPort, right)],
        Behaviour::OtherAddress => vec![now(Via::OtherAddress, right)],
        _ => vec![now(Via::Same, right)],
    }
}

/// Sends one UDP reply from the socket `via` asks for; true when it went from
/// another port or address than the server's own.
async fn send_udp(udp: &UdpSocket, via: Via, bytes: &[u8], to: SocketAddr) -> bool {
    let me = udp.local_addr().unwrap();
    match via {
        Via::OtherPort => {
            let s = UdpSocket::bind(SocketAddr::new(me.ip(), 0))
                .await
                .unwrap_or_else(|e| panic!("the spoofer cannot bind {}: {e}", me.ip()));
            s.send_to(bytes, to)
                .await
                .unwrap_or_else(|e| panic!("the spoofer cannot send: {e}"));
            true
        }
        Via::OtherAddress => {
            let IpAddr::V4(v4) = me.ip() else {
                return false;
            };
            let o = v4.octets();
            let spoof = World::ip([o[0], o[1], o[2]], SPOOF_HOST);
            // The world's port on another address if free, else any port.
            // Loopback addresses can always be bound on Linux: a spoofer that
            // cannot would make the test pass without testing anything.
            let s = match UdpSocket::bind(SocketAddr::new(spoof, me.port())).await {
                Ok(s) => s,
                Err(_) => UdpSocket::bind(SocketAddr::new(spoof, 0))
                    .await
                    .unwrap_or_else(|e| panic!("the spoofer cannot bind {spoof}: {e}")),
            };
            s.send_to(bytes, to)
                .await
                .unwrap_or_else(|e| panic!("the spoofer cannot send from {spoof}: {e}"));
            true
        }
        Via::Same | Via::HalfThenReset => {
            let _ = udp.send_to(bytes, to).await;
            false
        }
    }
}

/// Reads framed queries from one TCP connection and answers them.
async fn serve_tcp(
    mut conn: TcpStream,
    zones: Arc<Vec<Zone>>,
    behaviour: Arc<Mutex<Behaviour>>,
    seen: Arc<Mutex<Vec<Seen>>>,
) {
    if *behaviour.lock().unwrap() == Behaviour::TcpClose {
        return; // dropping the connection closes it
    }
    // Bounded by the client: each round needs a new query.
    loop {
        let mut len = [0u8; 2];
        if conn.read_exact(&mut len).await.is_err() {
            return;
        }
        let mut buf = vec![0u8; u16::from_be_bytes(len) as usize];
        if conn.read_exact(&mut buf).await.is_err() {
            return;
        }
        let Ok(q) = Message::from_vec(&buf) else {
            return;
        };
        let Some(first) = q.queries.first() else {
            return;
        };
        seen.lock().unwrap().push(Seen {
            name: first.name().clone(),
            qtype: first.query_type(),
            tcp: true,
            dnssec_ok: q.edns.as_ref().is_some_and(|e| e.flags().dnssec_ok),
        });
        let b = *behaviour.lock().unwrap();
        for send in respond(&zones, b, &q, true) {
            tokio::time::sleep(send.delay).await;
            let mut framed = (send.bytes.len() as u16).to_be_bytes().to_vec();
            framed.extend_from_slice(&send.bytes);
            if send.via == Via::HalfThenReset {
                let _ = conn.write_all(&framed[..2 + send.bytes.len() / 2]).await;
                let _ = conn.set_zero_linger();
                return; // dropped with SO_LINGER 0: a reset
            }
            if conn.write_all(&framed).await.is_err() {
                return;
            }
        }
    }
}

impl FakeServer {
    /// Starts one fake server on `addr` (UDP, and TCP unless `TcNoTcp`).
    async fn start(
        addr: SocketAddr,
        zones: Arc<Vec<Zone>>,
        behaviour: Arc<Mutex<Behaviour>>,
        seen: Arc<Mutex<Vec<Seen>>>,
    ) -> std::io::Result<FakeServer> {
        let udp = Arc::new(UdpSocket::bind(addr).await?);
        let no_tcp = *behaviour.lock().unwrap() == Behaviour::TcNoTcp;
        let tcp = if no_tcp {
            None
        } else {
            Some(TcpListener::bind(addr).await?)
        };
        let stop = CancellationToken::new();
        let (alive, ended) = mpsc::channel::<()>(1);
        let spoofed = Arc::new(std::sync::atomic::AtomicUsize::new(0));

        let (z, s, b, st, al, sp) = (
            zones.clone(),
            seen.clone(),
            behaviour.clone(),
            stop.clone(),
            alive.clone(),
            spoofed.clone(),
        );
        tokio::spawn(st.clone().run_until_cancelled_owned(async move {
            let _alive = al.clone();
            let mut buf = vec![0u8; 65_535];
            // Bounded by the test's lifetime: cancelled when the server stops or drops.
            while let Ok((n, from)) = udp.recv_from(&mut buf).await {
                let Ok(q) = Message::from_vec(&buf[..n]) else {
                    continue;
                };
                let Some(first) = q.queries.first() else {
                    continue;
                };
                s.lock().unwrap().push(Seen {
                    name: first.name().clone(),
                    qtype: first.query_type(),
                    tcp: false,
                    dnssec_ok: q.edns.as_ref().is_some_and(|e| e.flags().dnssec_ok),
                });
                let behaviour = *b.lock().unwrap();
                for send in respond(&z, behaviour, &q, false) {
                    if send.delay.is_zero() {
                        if send_udp(&udp, send.via, &send.bytes, from).await {
                            sp.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                        }
                        continue;
                    }
                    let (udp, al, sp) = (udp.clone(), al.clone(), sp.clone());
                    tokio::spawn(st.clone().run_until_cancelled_owned(async move {
                        let _alive = al;
                        tokio::time::sleep(send.delay).await;
                        if send_udp(&udp, send.via, &send.bytes, from).await {
                            sp.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                        }
                    }));
                }
            }
        }));
        if let Some(tcp) = tcp {
            let (z, s, b, st, al) = (
                zones.clone(),
                seen.clone(),
                behaviour.clone(),
                stop.clone(),
                alive.clone(),
            );
            tokio::spawn(st.clone().run_until_cancelled_owned(async move {
                let _alive = al.clone();
                while let Ok((conn, _)) = tcp.accept().await {
                    let (z, s, b, al) = (z.clone(), s.clone(), b.clone(), al.clone());
                    tokio::spawn(st.clone().run_until_cancelled_owned(async move {
                        let _alive = al;
                        serve_tcp(conn, z, b, s).await;
                    }));
                }
            }));
        }
        drop(alive);
        Ok(FakeServer {
            addr,
            zones,
            behaviour,
            seen,
            spoofed,
            stop,
            ended: Some(ended),
        })
    }

    /// Stops every task and waits until its sockets are closed (at most 5 s).
    async fn halt(&mut self) {
        self.stop.cancel();
        if let Some(mut ended) = self.ended.take() {
            tokio::time::timeout(Duration::from_secs(5), ended.recv())
                .await
                .expect("a fake server's sockets still open after 5 s");
        }
    }
}

//------------ World -----------------------------------------------------------

/// A set of fake servers sharing one port, addressed by name.
pub struct World {
    pub port: u16,
    /// The first three octets of this world's 127.X.Y.0/24 block.
    pub block: [u8; 3],
    servers: BTreeMap<String, FakeServer>,
}

/// One server to start: a name for the test, its host number in the block (or a
/// fixed address), its zones as (origin, text), and its behaviour.
pub struct Spec {
    pub name: &'static str,
    pub ip: IpAddr,
    pub zones: Vec<(String, String)>,
    pub behaviour: Behaviour,
    /// Listens on another free port than the world's (see [`FakeServer::addr`]).
    pub own_port: bool,
}

impl Spec {
    /// This server listens on a free port of its own, not the world's.
    pub fn on_own_port(mut self) -> Spec {
        self.own_port = true;
        self
    }
}

impl World {
    /// An address in this world's block.
    pub fn ip(block: [u8; 3], host: u8) -> IpAddr {
        IpAddr::V4(Ipv4Addr::new(block[0], block[1], block[2], host))
    }

    /// A world's block and port with no servers here: one running elsewhere (in a
    /// network namespace), for the config helpers.
    pub fn elsewhere(block: [u8; 3], port: u16) -> World {
        World {
            port,
            block,
            servers: BTreeMap::new(),
        }
    }

    /// Picks a random block and a free port, and starts every server. Retries a few
    /// times if a parallel test holds the port on one of the addresses.
    pub async fn start(build: impl Fn([u8; 3]) -> Vec<Spec>) -> World {
        World::start_on(build, None).await
    }

    /// As [`World::start`], every server on `port` when given (53 inside a network
    /// namespace, for programs that iterate only to port 53).
    pub async fn start_on(build: impl Fn([u8; 3]) -> Vec<Spec>, port: Option<u16>) -> World {
        for _ in 0..20 {
            let block = [
                127,
                rand::random_range(100..=250),
                rand::random_range(1..=250),
            ];
            let specs = build(block);
            let probe = match UdpSocket::bind(SocketAddr::new(specs[0].ip, 0)).await {
                Ok(s) => s,
                Err(_) => continue,
            };
            let port = port.unwrap_or(probe.local_addr().unwrap().port());
            drop(probe);
            let mut servers = BTreeMap::new();
            let mut ok = true;
            for s in specs {
                let zones = s.zones.iter().map(|(o, t)| parse_zone(o, t)).collect();
                let port = if s.own_port {
                    match UdpSocket::bind(SocketAddr::new(s.ip, 0)).await {
                        Ok(p) => p.local_addr().unwrap().port(),
                        Err(_) => {
                            ok = false;
                            break;
                        }
                    }
                } else {
                    port
                };
                match FakeServer::start(
                    SocketAddr::new(s.ip, port),
                    Arc::new(zones),
                    Arc::new(Mutex::new(s.behaviour)),
                    Arc::default(),
                )
                .await
                {
                    Ok(f) => {
                        servers.insert(s.name.to_string(), f);
                    }
                    Err(_) => {
                        ok = false;
                        break;
                    }
                }
            }
            if ok {
                return World {
                    port,
                    block,
                    servers,
                };
            }
        }
        panic!("could not bind a test world on loopback");
    }

    /// Stops a server: its sockets are closed when this returns (queries to it meet
    /// a closed port). Its zones, behaviour and `seen` are kept for [`World::start_again`].
    pub async fn stop(&mut self, name: &str) {
        self.servers
            .get_mut(name)
            .unwrap_or_else(|| panic!("no fake server {name}"))
            .halt()
            .await;
    }

    /// Starts a stopped server again on the same address and port, with the same
    /// zones, behaviour and query log.
    pub async fn start_again(&mut self, name: &str) {
        let old = self
            .servers
            .get(name)
            .unwrap_or_else(|| panic!("no fake server {name}"));
        let (addr, zones, behaviour, seen) = (
            old.addr,
            old.zones.clone(),
            old.behaviour.clone(),
            old.seen.clone(),
        );
        let new = FakeServer::start(addr, zones, behaviour, seen)
            .await
            .unwrap_or_else(|e| panic!("cannot start {name} again on {addr}: {e}"));
        self.servers.insert(name.to_string(), new);
    }

    /// Changes how a running server behaves from its next query on (e.g. `Silent`
    /// to mute it, `Normal` to bring it back).
    pub fn set_behaviour(&self, name: &str, behaviour: Behaviour) {
        *self.server(name).behaviour.lock().unwrap() = behaviour;
    }

    pub fn server(&self, name: &str) -> &FakeServer {
        self.servers
            .get(name)
            .unwrap_or_else(|| panic!("no fake server {name}"))
    }

    /// Every query any server of this world has seen.
    pub fn all_seen(&self) -> Vec<(String, Seen)> {
        self.servers
            .iter()
            .flat_map(|(n, s)| s.seen().into_iter().map(move |q| (n.clone(), q)))
            .collect()
    }

    pub fn total_queries(&self) -> usize {
        self.all_seen().len()
    }
}

pub fn spec(name: &'static str, ip: IpAddr, zones: &[(&str, &str)], behaviour: Behaviour) -> Spec {
    Spec {
        name,
        ip,
        zones: zones
            .iter()
            .map(|(o, t)| (o.to_string(), t.to_string()))
            .collect(),
        behaviour,
        own_port: false,
    }
}

//------------ Self-tests of the fakes ---------------------------------------------

#[cfg(test)]
mod tests {
    use super::*;
    use hickory_proto::op::Query;

    fn ask(name: &str, qtype: RecordType) -> Message {
        let mut m = Message::new(4242, MessageType::Query, OpCode::Query);
        m.add_query(Query::query(Name::from_ascii(name).unwrap(), qtype));
        m
    }

    fn zone() -> Vec<Zone> {
        vec![parse_zone(
            "example.com.",
            "@ SOA ns h 1 1 1 1 60\n@ NS ns\nns A 192.0.2.1\nwww A 192.0.2.2\nold DNAME new.example.net.\nrel 60 DNAME @",
        )]
    }

    // RFC 4592: a wildcard answers names any number of labels below the closest
    // encloser, and only there: an existing name (`sub`, an empty non-terminal)
    // without its own wildcard stops it.
    #[test]
    fn wildcards_answer_below_the_closest_encloser() {
        let z = vec![parse_zone(
            "uk.",
            "@ SOA ns h 1 1 1 1 60\n@ NS ns\nns A 192.0.2.1\n* A 192.0.2.9\nx.sub A 192.0.2.3",
        )];
        for (name, want) in [
            ("bbc.uk.", Some("192.0.2.9")),
            ("bbc.co.uk.", Some("192.0.2.9")),
            ("a.b.c.uk.", Some("192.0.2.9")),
            ("y.sub.uk.", None),
            ("a.y.sub.uk.", None),
        ] {
            let r = authoritative(&z, &ask(name, RecordType::A));
            let got: Vec<String> = r
                .answers
                .iter()
                .map(|a| format!("{} {}", a.name, a.data))
                .collect();
            match want {
                Some(a) => assert_eq!(got, [format!("{name} {a}")], "{name}"),
                None => assert_eq!(r.metadata.response_code, ResponseCode::NXDomain, "{name}"),
            }
        }
    }

    // The garbage reply starts like a reply to our ID but never decodes.
    #[test]
    fn garbage_has_the_id_and_does_not_decode() {
        let g = garbage(0xbeef);
        assert_eq!(&g[..2], &[0xbe, 0xef]);
        assert_eq!(g[2] & 0x80, 0x80, "QR set");
        assert!(Message::from_vec(&g).is_err());
    }

    // The cut reply is a real reply minus the end of its last record: undecodable.
    #[test]
    fn cut_reply_does_not_decode() {
        let q = ask("www.example.com.", RecordType::A);
        let r = authoritative(&zone(), &q);
        assert_eq!(r.answers.len(), 1);
        let whole = r.to_vec().unwrap();
        let c = cut(&r);
        assert!(c.len() > 12 && c.len() < whole.len());
        assert!(Message::from_vec(&c).is_err());
    }

    // RFC 6672 §3.2: DNAME and synthesised CNAME, AA; the variant without the CNAME;
    // the DNAME itself at its owner.
    #[test]
    fn dname_is_synthesised() {
        let r = authoritative(&zone(), &ask("a.b.old.example.com.", RecordType::A));
        assert!(r.metadata.authoritative);
        assert_eq!(r.answers.len(), 2);
        assert_eq!(r.answers[0].record_type(), RecordType::DNAME);
        assert_eq!(
            r.answers[0].name,
            Name::from_ascii("old.example.com.").unwrap()
        );
        assert_eq!(
            dname_target(&r.answers[0]),
            Some(Name::from_ascii("new.example.net.").unwrap())
        );
        assert_eq!(
            r.answers[1].data,
            RData::CNAME(CNAME(Name::from_ascii("a.b.new.example.net.").unwrap()))
        );
        assert_eq!(r.answers[1].ttl, 300);
        // Through the wire: the DNAME comes back as the same unknown-type record.
        let back = Message::from_vec(&r.to_vec().unwrap()).unwrap();
        assert_eq!(back.answers, r.answers);

        let q = ask("x.old.example.com.", RecordType::A);
        let r = reply(&zone(), Behaviour::DnameNoCname, &q, false).unwrap();
        assert_eq!(r.answers.len(), 1);
        assert_eq!(r.answers[0].record_type(), RecordType::DNAME);

        let r = authoritative(&zone(), &ask("old.example.com.", RecordType::DNAME));
        assert_eq!(r.answers.len(), 1);
        let r = authoritative(&zone(), &ask("x.rel.example.com.", RecordType::A));
        assert_eq!(r.answers[0].ttl, 60);
        assert_eq!(
            r.answers[1].data,
            RData::CNAME(CNAME(Name::from_ascii("x.example.com.").unwrap()))
        );
    }

    // OtherPort and OtherAddress really send the correct reply, from where they say;
    // WrongIdThenRight sends a wrong ID first. (Replies are read until the right ID
    // has come, not until a quiet time has passed.)
    #[tokio::test]
    async fn spoofing_servers_send_from_elsewhere() {
        let zone = "@ SOA ns h 1 1 1 1 60\n@ NS ns\nwww A 192.0.2.2";
        let w = World::start(|b| {
            vec![
                spec(
                    "port",
                    World::ip(b, 1),
                    &[("example.com.", zone)],
                    Behaviour::OtherPort,
                ),
                spec(
                    "addr",
                    World::ip(b, 2),
                    &[("example.com.", zone)],
                    Behaviour::OtherAddress,
                ),
                spec(
                    "ids",
                    World::ip(b, 3),
                    &[("example.com.", zone)],
                    Behaviour::WrongIdThenRight,
                ),
            ]
        })
        .await;
        let sock = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let mut buf = vec![0u8; 4096];
        for (name, host) in [("port", 1), ("addr", 2), ("ids", 3)] {
            let to = SocketAddr::new(World::ip(w.block, host), w.port);
            let q = ask("www.example.com.", RecordType::A);
            sock.send_to(&q.to_vec().unwrap(), to).await.unwrap();
            // Every reply up to the one with the right ID, which each fake sends last.
            let mut got: Vec<(SocketAddr, Message)> = Vec::new();
            while got.last().is_none_or(|(_, m)| m.metadata.id != 4242) {
                let (n, from) =
                    tokio::time::timeout(Duration::from_secs(5), sock.recv_from(&mut buf))
                        .await
                        .expect("no reply with the right ID within 5 s")
                        .unwrap();
                got.push((from, Message::from_vec(&buf[..n]).unwrap()));
            }
            match name {
                "port" => {
                    assert_eq!(got.len(), 1);
                    assert_eq!(got[0].0.ip(), to.ip());
                    assert_ne!(got[0].0.port(), to.port());
                }
                "addr" => {
                    assert_eq!(got.len(), 1);
                    assert_eq!(got[0].0.ip(), World::ip(w.block, SPOOF_HOST));
                }
                _ => {
                    assert_eq!(got.len(), 2);
                    assert_ne!(got[0].1.metadata.id, 4242);
                    assert_eq!(got[1].1.metadata.id, 4242);
                }
            }
            assert_eq!(got.last().unwrap().1.answers.len(), 1);
        }
    }

    // A stopped server's port is closed (UDP and TCP); started again it answers on
    // the same address, and its query log goes on.
    #[tokio::test]
    async fn stop_and_start_again() {
        let zone = "@ SOA ns h 1 1 1 1 60\n@ NS ns\nwww A 192.0.2.2";
        let mut w = World::start(|b| {
            vec![spec(
                "s",
                World::ip(b, 1),
                &[("example.com.", zone)],
                Behaviour::Normal,
            )]
        })
        .await;
        let to = w.server("s").addr();
        let q = ask("www.example.com.", RecordType::A).to_vec().unwrap();
        let sock = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        sock.connect(to).await.unwrap();
        let mut buf = vec![0u8; 4096];
        let mut once = async || {
            sock.send(&q).await.unwrap();
            tokio::time::timeout(Duration::from_millis(500), sock.recv(&mut buf)).await
        };
        assert!(matches!(once().await, Ok(Ok(_))));
        w.stop("s").await;
        // A closed UDP port answers ICMP port unreachable: the connected socket
        // reports it (or, at worst, nothing comes).
        assert!(!matches!(once().await, Ok(Ok(_))));
        assert!(TcpStream::connect(to).await.is_err());
        w.start_again("s").await;
        assert!(matches!(once().await, Ok(Ok(_))));
        assert!(TcpStream::connect(to).await.is_ok());
        assert_eq!(w.server("s").seen().len(), 2);
        w.set_behaviour("s", Behaviour::Silent);
        assert!(once().await.is_err());
    }
}
