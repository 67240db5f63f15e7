//! The whole answer to a client's question, as the resolver hands it to the front
//! end: rcode, sections, which root answered, where the data came from, and why it
//! failed if it did.

use hickory_proto::op::ResponseCode;
use hickory_proto::rr::{Record, RecordType};

use super::failure::Failure;

/// Where an answer came from, for the query log.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Source {
    /// In-process zones or a synthesised answer: no cache, no network.
    Local,
    /// A root's cache.
    Cache,
    /// At least one server was asked.
    Network,
    /// Expired data served because the servers failed (RFC 8767).
    Stale,
}

impl Source {
    pub fn as_str(self) -> &'static str {
        match self {
            Source::Local => "local",
            Source::Cache => "hit",
            Source::Network => "miss",
            Source::Stale => "stale",
        }
    }
}

/// Who answers a name.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Route {
    /// Answered here without any root (special-use names, RFC 6761).
    Local,
    /// The controlled-interruption answer (a colliding TLD under `interrupt`).
    Interrupt,
    /// The root at this index.
    Root(usize),
    /// Nobody: the question failed before it was routed (busy, deadline).
    Unrouted,
}

/// The whole answer to a client's question.
#[derive(Clone, Debug)]
pub struct Answer {
    pub rcode: ResponseCode,
    pub answers: Vec<Record>,
    /// The SOA of a negative answer.
    pub authority: Vec<Record>,
    /// Who answered the last link.
    pub route: Route,
    /// The most expensive source of any link.
    pub source: Source,
    pub failure: Option<Failure>,
    /// Until this Unix second the routing of every link holds as decided (a
    /// claim learned from a root's servers expires with its TTL); `u64::MAX`:
    /// as long as the zones. A reply kept ready lives no longer.
    pub valid_until: u64,
    /// Every link validated secure in its own root (DNSSEC, RFC 4035 §3.2.3: the
    /// AD bit for clients that set AD or DO).
    pub secure: bool,
}

impl Answer {
    pub fn fail(route: Route, failure: Failure) -> Answer {
        Answer {
            rcode: ResponseCode::ServFail,
            answers: Vec::new(),
            authority: Vec::new(),
            route,
            source: Source::Network,
            failure: Some(failure),
            valid_until: 0,
            secure: false,
        }
    }
}

/// The mnemonic DNS people read in logs (RFC 1035, 2136, 6891).
pub fn rcode_str(code: ResponseCode) -> &'static str {
    match code {
        ResponseCode::NoError => "NOERROR",
        ResponseCode::FormErr => "FORMERR",
        ResponseCode::ServFail => "SERVFAIL",
        ResponseCode::NXDomain => "NXDOMAIN",
        ResponseCode::NotImp => "NOTIMP",
        ResponseCode::Refused => "REFUSED",
        ResponseCode::YXDomain => "YXDOMAIN",
        ResponseCode::BADVERS => "BADVERS",
        _ => "OTHER",
    }
}

/// Is this one of the records only a DNSSEC-aware client is given unasked
/// (RFC 4035 §3.2.1): a signature or a denial-of-existence proof?
pub fn is_dnssec_extra(r: &Record) -> bool {
    matches!(
        r.record_type(),
        RecordType::RRSIG | RecordType::NSEC | RecordType::NSEC3
    )
}

/// A well-formed RRSIG over `covered` at `owner` (signature bytes not valid), for
/// unit tests of code that carries signatures without checking them.
#[cfg(test)]
pub(crate) fn test_rrsig(owner: &hickory_proto::rr::Name, covered: RecordType) -> Record {
    use hickory_proto::dnssec::Algorithm;
    use hickory_proto::dnssec::rdata::{DNSSECRData, RRSIG, SigInput};
    use hickory_proto::rr::{RData, SerialNumber};
    let input = SigInput {
        type_covered: covered,
        algorithm: Algorithm::ECDSAP256SHA256,
        num_labels: owner.num_labels(),
        original_ttl: 60,
        sig_expiration: SerialNumber::new(2_000_000_000),
        sig_inception: SerialNumber::new(1_000_000_000),
        key_tag: 4242,
        signer_name: owner.clone(),
    };
    Record::from_rdata(
        owner.clone(),
        60,
        RData::DNSSEC(DNSSECRData::RRSIG(RRSIG::from_sig(input, vec![7; 64]))),
    )
}
