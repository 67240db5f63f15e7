//! Fake DNS hierarchies on loopback: small authoritative servers with canned zones
//! and misbehaviours, written independently of altroot's own zone code so that the
//! two cannot share a bug.
//!
//! Every server of a world listens on the same port (a root's `port` applies to all
//! its servers) on its own address in a random 127.X.Y.0/24 block, so worlds of
//! parallel tests do not meet.

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::{Arc, Mutex};

use hickory_proto::op::{Edns, Message, MessageType, OpCode, ResponseCode};
use hickory_proto::rr::{Name, RData, Record, RecordType};
use hickory_proto::serialize::txt::Parser;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, UdpSocket};
use tokio::task::JoinHandle;

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
    /// Answers correctly but adds out-of-bailiwick records to every section: an
    /// address for an alt-root name and for another ICANN zone's name.
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
}

/// One query a fake server saw.
#[derive(Clone, Debug)]
pub struct Seen {
    pub name: Name,
    pub qtype: RecordType,
    pub tcp: bool,
}

#[derive(Clone)]
struct Zone {
    origin: Name,
    records: Vec<Record>,
}

pub struct FakeServer {
    seen: Arc<Mutex<Vec<Seen>>>,
    tasks: Vec<JoinHandle<()>>,
}

impl FakeServer {
    pub fn seen(&self) -> Vec<Seen> {
        self.seen.lock().unwrap().clone()
    }
}

impl Drop for FakeServer {
    fn drop(&mut self) {
        for t in &self.tasks {
            t.abort();
        }
    }
}

/// Parses zone text (relative names allowed) with hickory's parser.
fn parse_zone(origin: &str, text: &str) -> Zone {
    let origin = Name::from_ascii(origin).unwrap();
    let full = format!("$TTL 300\n{text}\n");
    let (_, sets) = Parser::new(full, None, Some(origin.clone()))
        .parse()
        .unwrap_or_else(|e| panic!("fixture zone {origin}: {e}"));
    let records = sets
        .values()
        .flat_map(|s| s.records_without_rrsigs().cloned())
        .collect();
    Zone { origin, records }
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
    let exact: Vec<&Record> = zone.records.iter().filter(|r| r.name == qname).collect();
    let below = zone.records.iter().any(|r| qname.zone_of(&r.name));
    let wild = qname
        .base_name()
        .prepend_label("*")
        .ok()
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
    let mut answer = rrs(&owner, qtype);
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

/// Starts one fake server on `addr` (UDP and TCP).
async fn serve(
    addr: SocketAddr,
    zones: Vec<Zone>,
    behaviour: Behaviour,
) -> std::io::Result<FakeServer> {
    let udp = UdpSocket::bind(addr).await?;
    let tcp = TcpListener::bind(addr).await?;
    let seen = Arc::new(Mutex::new(Vec::new()));
    let zones = Arc::new(zones);
    let mut tasks = Vec::new();

    let (z, s) = (zones.clone(), seen.clone());
    tasks.push(tokio::spawn(async move {
        let mut buf = vec![0u8; 65_535];
        // Bounded by the test's lifetime: the task is aborted when the server drops.
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
            });
            if let Some(r) = reply(&z, behaviour, &q, false) {
                let limit = q.edns.as_ref().map_or(512, |e| e.max_payload() as usize);
                let _ = udp.send_to(&encode(&r, limit), from).await;
            }
        }
    }));
    let (z, s) = (zones.clone(), seen.clone());
    tasks.push(tokio::spawn(async move {
        while let Ok((mut conn, _)) = tcp.accept().await {
            let (z, s) = (z.clone(), s.clone());
            tokio::spawn(async move {
                if behaviour == Behaviour::TcpClose {
                    return; // dropping the connection closes it
                }
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
                    s.lock().unwrap().push(Seen {
                        name: first.name().clone(),
                        qtype: first.query_type(),
                        tcp: true,
                    });
                    let Some(r) = reply(&z, behaviour, &q, true) else {
                        continue;
                    };
                    let bytes = r.to_vec().unwrap();
                    let mut framed = (bytes.len() as u16).to_be_bytes().to_vec();
                    framed.extend_from_slice(&bytes);
                    if conn.write_all(&framed).await.is_err() {
                        return;
                    }
                }
            });
        }
    }));
    Ok(FakeServer { seen, tasks })
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
}

impl World {
    /// An address in this world's block.
    pub fn ip(block: [u8; 3], host: u8) -> IpAddr {
        IpAddr::V4(Ipv4Addr::new(block[0], block[1], block[2], host))
    }

    /// Picks a random block and a free port, and starts every server. Retries a few
    /// times if a parallel test holds the port on one of the addresses.
    pub async fn start(build: impl Fn([u8; 3]) -> Vec<Spec>) -> World {
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
            let port = probe.local_addr().unwrap().port();
            drop(probe);
            let mut servers = BTreeMap::new();
            let mut ok = true;
            for s in specs {
                let zones = s.zones.iter().map(|(o, t)| parse_zone(o, t)).collect();
                match serve(SocketAddr::new(s.ip, port), zones, s.behaviour).await {
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
    }
}
