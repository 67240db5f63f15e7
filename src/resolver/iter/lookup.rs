//! Reads of the cache the machine makes, and small pure helpers.

use std::net::IpAddr;

use hickory_proto::op::ResponseCode;
use hickory_proto::rr::{LowerName, Name, RData, Record, RecordType};

use super::*;

/// A cached answer a client may see (trust NonAuth or Answer): NXDOMAIN for the name, the
/// RRset, a CNAME, or NODATA.
pub fn cached_answer(cache: &Cache, name: &Name, qtype: RecordType, now: u64) -> Option<Outcome> {
    answer_from(cache, name, qtype, now, Source::Cache)
}

/// A stale answer for a failed question (RFC 8767), TTLs 30.
pub fn stale_answer(cache: &Cache, name: &Name, qtype: RecordType, now: u64) -> Option<Outcome> {
    answer_from(cache, name, qtype, now, Source::Stale)
}

/// [`cached_answer`] from fresh entries, [`stale_answer`] (`source` Stale) from
/// expired ones inside the serve-stale window.
fn answer_from(
    cache: &Cache,
    name: &Name,
    qtype: RecordType,
    now: u64,
    source: Source,
) -> Option<Outcome> {
    if qtype == RecordType::ANY {
        return None;
    }
    let get = |k: &Key| {
        if source == Source::Stale {
            cache.get_stale(k, now)
        } else {
            cache.get(k, now)
        }
    };
    let ln = LowerName::new(name);
    if let Some(h) = get(&Key::NxDomain(ln.clone()))
        && let Data::NxDomain(soa) = h.data
    {
        return Some(Outcome::negative(ResponseCode::NXDomain, soa, source));
    }
    let types: &[RecordType] = if qtype == RecordType::CNAME {
        &[RecordType::CNAME]
    } else {
        &[qtype, RecordType::CNAME]
    };
    for &t in types {
        let Some(h) = get(&Key::Set(ln.clone(), t)) else {
            continue;
        };
        if h.trust < Trust::NonAuth {
            continue;
        }
        match h.data {
            Data::Records(r) => {
                let next = chain_target(name, qtype, &r);
                return Some(Outcome {
                    rcode: ResponseCode::NoError,
                    records: r,
                    soa: None,
                    next,
                    source,
                    proof: Vec::new(),
                });
            }
            Data::NoData(soa) if t == qtype => {
                return Some(Outcome::negative(ResponseCode::NoError, soa, source));
            }
            _ => {}
        }
    }
    cached_dname(cache, name, qtype, &get, source)
}

/// What the cache knows of a TLD claim: an NXDOMAIN for the TLD means no; its
/// delegation or NS set means yes.
pub(super) fn cached_claim(cache: &Cache, tld: &LowerName, now: u64) -> Option<Outcome> {
    if cache.has(&Key::NxDomain(tld.clone()), now) {
        return Some(Outcome::negative(
            ResponseCode::NXDomain,
            None,
            Source::Cache,
        ));
    }
    let has = cache.has(&Key::Delegation(tld.clone()), now)
        || cache.has(&Key::Set(tld.clone(), RecordType::NS), now);
    has.then(|| Outcome::negative(ResponseCode::NoError, None, Source::Cache))
}

/// The CNAME target that continues an answer: a CNAME owned by `name` (a
/// synthesised one after a DNAME too), unless the CNAME itself was asked for, or
/// it comes from a DNAME whose target lies under the DNAME itself (the chain would
/// only grow: the DNAME and its CNAME are the answer, as Unbound answers).
pub fn chain_target(name: &Name, qtype: RecordType, records: &[Record]) -> Option<Name> {
    if qtype == RecordType::CNAME || qtype == RecordType::ANY {
        return None;
    }
    let target = records.iter().find_map(|r| match &r.data {
        RData::CNAME(c) if r.name == *name => Some(c.0.clone()),
        _ => None,
    })?;
    let under_own_dname = records
        .iter()
        .any(|r| r.record_type() == RecordType::DNAME && r.name.zone_of(name) && grows(r));
    (!under_own_dname).then_some(target)
}

/// Does this DNAME point strictly below itself (`x. DNAME sub.x.`), so that every
/// substitution lands under it again? A DNAME to its own owner is not one: its
/// CNAME points at the name asked, a loop the chain reports.
pub(super) fn grows(dname: &Record) -> bool {
    crate::zones::dname_target(&dname.data)
        .is_some_and(|t| t != dname.name && dname.name.zone_of(&t))
}

/// A DNAME cached at an ancestor of `name` (the closest), applied to it: the DNAME
/// and the CNAME synthesised from it (RFC 6672 §3.2), or YXDOMAIN when the
/// substitution is too long.
fn cached_dname(
    cache: &Cache,
    name: &Name,
    qtype: RecordType,
    get: &dyn Fn(&Key) -> Option<super::super::cache::Hit>,
    source: Source,
) -> Option<Outcome> {
    if !cache.holds_dnames() {
        return None;
    }
    let mut owner = name.base_name();
    for _ in 0..name.num_labels() {
        if let Some(h) = get(&Key::Set(LowerName::new(&owner), RecordType::DNAME))
            && h.trust >= Trust::NonAuth
            && let Data::Records(set) = h.data
            && let Some(d) = set.first()
        {
            return Some(match crate::zones::synthesized_cname(name, d)? {
                Ok(cname) => {
                    let records = vec![d.clone(), cname];
                    let next = chain_target(name, qtype, &records);
                    Outcome {
                        rcode: ResponseCode::NoError,
                        records,
                        soa: None,
                        next,
                        source,
                        proof: Vec::new(),
                    }
                }
                Err(_) => Outcome {
                    rcode: ResponseCode::YXDomain,
                    records: vec![d.clone()],
                    soa: None,
                    next: None,
                    source,
                    proof: Vec::new(),
                },
            });
        }
        if owner.is_root() {
            break;
        }
        owner = owner.base_name();
    }
    None
}

pub(super) fn glue_pairs(glue: &[Record]) -> Vec<(Name, IpAddr)> {
    glue.iter()
        .filter_map(|r| crate::resolver::cut::addr_of(r).map(|a| (r.name.clone(), a)))
        .collect()
}

/// How many labels of the name to show in the next minimised question (RFC 9156
/// §2.3): one more than is known (the cut, or an empty non-terminal seen), one label
/// at a time for the first questions, then in steps that reach the full name within
/// `MAX_MINIMISE_COUNT` questions — so a 34-label ip6.arpa name needs ten, not 34.
pub fn minimised_labels(zone_labels: u8, next_labels: u8, name_labels: u8, sent: usize) -> u8 {
    let known = zone_labels.max(next_labels.saturating_sub(1));
    let left = name_labels.saturating_sub(known) as usize;
    let step = if sent < MINIMISE_ONE_LAB {
        1
    } else {
        let rounds = MAX_MINIMISE_COUNT.saturating_sub(sent).max(1);
        left.div_ceil(rounds).max(1)
    };
    let k = known as usize + step;
    k.min(name_labels as usize) as u8
}
