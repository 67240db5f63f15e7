//! Answers made here, without any root: special-use names (RFC 6761) and ICANN's
//! controlled interruption for colliding TLDs under `policy = "interrupt"`.

use std::net::{Ipv4Addr, Ipv6Addr};

use hickory_proto::op::ResponseCode;
use hickory_proto::rr::rdata::{A, AAAA, MX, SOA, TXT};
use hickory_proto::rr::{Name, RData, Record, RecordType};

use super::answer::Source;
use super::iter::Outcome;

/// TTL of controlled-interruption and special-use answers.
const LOCAL_TTL: u32 = 3600;

fn soa_for(zone: &Name) -> Record {
    let rname = Name::from_ascii("nobody.invalid.").unwrap_or_else(|_| Name::root());
    Record::from_rdata(
        zone.clone(),
        LOCAL_TTL,
        RData::SOA(SOA::new(
            zone.clone(),
            rname,
            1,
            3600,
            1200,
            604_800,
            LOCAL_TTL,
        )),
    )
}

/// RFC 6761 answers: `localhost` and names below it are loopback; the other special
/// TLDs do not exist.
pub fn special_answer(name: &Name, qtype: RecordType) -> Outcome {
    let tld = name.trim_to(1);
    let is_localhost = crate::names::under_localhost(name);
    let rec = |data: RData| Record::from_rdata(name.clone(), LOCAL_TTL, data);
    let (rcode, records) = if is_localhost {
        let r = match qtype {
            RecordType::A => vec![rec(RData::A(A(Ipv4Addr::LOCALHOST)))],
            RecordType::AAAA => vec![rec(RData::AAAA(AAAA(Ipv6Addr::LOCALHOST)))],
            _ => vec![],
        };
        (ResponseCode::NoError, r)
    } else {
        (ResponseCode::NXDomain, vec![])
    };
    let soa = records.is_empty().then(|| soa_for(&tld));
    Outcome {
        rcode,
        records,
        soa,
        next: None,
        source: Source::Local,
        proof: Vec::new(),
    }
}

/// ICANN's controlled interruption (name-collision framework, 2014): 127.0.53.53 and
/// a note saying why, for every name in a colliding TLD.
pub fn interruption_answer(name: &Name, qtype: RecordType) -> Outcome {
    let tld = name.trim_to(1);
    let rec = |data: RData| Record::from_rdata(name.clone(), LOCAL_TTL, data);
    let records = match qtype {
        RecordType::A => vec![rec(RData::A(A(Ipv4Addr::new(127, 0, 53, 53))))],
        RecordType::AAAA => vec![rec(RData::AAAA(AAAA(
            Ipv4Addr::new(127, 0, 53, 53).to_ipv6_mapped(),
        )))],
        RecordType::TXT => vec![rec(RData::TXT(TXT::new(vec![format!(
            "Your DNS configuration needs immediate attention: {tld} is in more than one root (altroot collisions policy = interrupt)"
        )])))],
        RecordType::MX => {
            let target = tld
                .prepend_label("your-dns-needs-immediate-attention")
                .unwrap_or_else(|_| tld.clone());
            vec![rec(RData::MX(MX::new(10, target)))]
        }
        _ => vec![],
    };
    let soa = records.is_empty().then(|| soa_for(&tld));
    Outcome {
        rcode: ResponseCode::NoError,
        records,
        soa,
        next: None,
        source: Source::Local,
        proof: Vec::new(),
    }
}
