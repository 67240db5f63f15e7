//! What one NSEC record proves (RFC 4035 §5.4, RFC 4034 §4), as Unbound's
//! `val_nsec.c` applies it: the owner and the next name bracket the names that do
//! not exist; the type bitmap lists the types at the owner.

use hickory_proto::dnssec::rdata::NSEC;
use hickory_proto::rr::{Name, RecordType};

/// `a` is below `b` (not equal).
pub(super) fn strictly_below(a: &Name, b: &Name) -> bool {
    b.zone_of(a) && a != b
}

/// The longest name both `a` and `b` end with.
pub(super) fn shared_ancestor(a: &Name, b: &Name) -> Name {
    let common = a
        .iter()
        .rev()
        .zip(b.iter().rev())
        .take_while(|(x, y)| x.eq_ignore_ascii_case(y))
        .count();
    let mut n = a.trim_to(common);
    n.set_fqdn(true);
    n
}

/// `*.` + `name`, if it fits.
pub(super) fn wildcard_of(name: &Name) -> Option<Name> {
    name.prepend_label("*").ok()
}

/// `name` with its leftmost labels cut so it has `labels` labels (root = 0).
pub(super) fn ancestor(name: &Name, labels: usize) -> Name {
    let mut n = name.trim_to(labels);
    n.set_fqdn(true);
    n
}

/// The number of labels of `name`, a leading `*` counted.
pub(super) fn label_count(name: &Name) -> usize {
    name.iter().count()
}

/// A delegation point's NSEC (NS without SOA) or a DNAME owner: such an NSEC says
/// nothing about the names below its owner.
pub(super) fn is_cut(nsec: &NSEC) -> bool {
    let t = nsec.type_set();
    t.contains(RecordType::DNAME) || (t.contains(RecordType::NS) && !t.contains(RecordType::SOA))
}

/// This NSEC proves that `qname` does not exist: it falls strictly between owner and
/// next name (the last NSEC of a zone wraps to the apex), and the owner is not a
/// delegation or DNAME above `qname`.
pub(super) fn proves_name_error(owner: &Name, nsec: &NSEC, qname: &Name) -> bool {
    let next = nsec.next_domain_name();
    if owner == qname {
        return false;
    }
    if owner.zone_of(qname) && is_cut(nsec) {
        return false;
    }
    if strictly_below(next, qname) {
        // The next name is below qname: qname is an empty non-terminal, it exists.
        return false;
    }
    if owner == next {
        // The only NSEC of the zone: everything below the apex does not exist.
        strictly_below(qname, next)
    } else if owner > next {
        // The last NSEC: names after the owner, within the zone (the next name).
        owner < qname && strictly_below(qname, next)
    } else {
        owner < qname && qname < next
    }
}

/// The closest encloser this NSEC implies for `qname`: the longest ancestor of
/// `qname` shared with its owner or its next name.
pub(super) fn closest_encloser(owner: &Name, nsec: &NSEC, qname: &Name) -> Name {
    let a = shared_ancestor(owner, qname);
    let b = shared_ancestor(nsec.next_domain_name(), qname);
    if label_count(&a) > label_count(&b) {
        a
    } else {
        b
    }
}

/// This NSEC proves that no wildcard could have produced `qname`: it covers
/// `*.<closest encloser>`.
pub(super) fn proves_no_wildcard(owner: &Name, nsec: &NSEC, qname: &Name) -> bool {
    let ce = closest_encloser(owner, nsec, qname);
    if label_count(qname) <= label_count(&ce) {
        return false;
    }
    wildcard_of(&ce).is_some_and(|w| proves_name_error(owner, nsec, &w))
}

/// What an NSEC proves about `qname`/`qtype` having no data.
pub(super) enum NoData {
    /// `qname` exists without `qtype` (or is an empty non-terminal).
    Proved,
    /// A wildcard at `*.<ce>` exists without `qtype`; that `qname` itself does not
    /// exist must be proven too.
    Wildcard(Name),
}

/// This NSEC proves that `qname` has no `qtype` (Unbound's `nsec_proves_nodata`).
pub(super) fn proves_nodata(
    owner: &Name,
    nsec: &NSEC,
    qname: &Name,
    qtype: RecordType,
) -> Option<NoData> {
    let types = nsec.type_set();
    let next = nsec.next_domain_name();
    if owner != qname {
        // An empty non-terminal: the next name is below qname, the owner before it.
        if strictly_below(next, qname) && owner < qname {
            return Some(NoData::Proved);
        }
        if !owner.is_wildcard() {
            // The wildcard may be an empty non-terminal: an ancestor of the next name,
            // after the owner (Unbound's `nsec_proves_nodata`). The next name itself
            // is no ENT: it has its own NSEC, whose types count.
            let mut nm = next.base_name();
            while owner < &nm && !nm.is_root() {
                if nm.zone_of(qname) {
                    break;
                }
                if nm.is_wildcard() {
                    let ce = nm.base_name();
                    if strictly_below(qname, &ce) {
                        return Some(NoData::Wildcard(ce));
                    }
                }
                nm = nm.base_name();
            }
        }
        if owner.is_wildcard() {
            let ce = owner.base_name();
            let parent_side = types.contains(RecordType::NS) && !types.contains(RecordType::SOA);
            if strictly_below(qname, &ce)
                && !types.contains(RecordType::CNAME)
                && !parent_side
                && !types.contains(qtype)
            {
                return Some(NoData::Wildcard(ce));
            }
        }
        return None;
    }
    if types.contains(qtype) || types.contains(RecordType::CNAME) {
        return None;
    }
    let parent_side = types.contains(RecordType::NS) && !types.contains(RecordType::SOA);
    if qtype != RecordType::DS && parent_side {
        // A delegation's NSEC (we should have had a referral).
        return None;
    }
    if qtype == RecordType::DS && types.contains(RecordType::SOA) && !qname.is_root() {
        // The child's apex NSEC answers no DS question.
        return None;
    }
    Some(NoData::Proved)
}

/// This NSEC is an unsigned delegation at or above `qname`: NS, no DS, no SOA
/// (for a DS question, strictly above `qname`, since at it the answer is NODATA).
pub(super) fn proves_insecure_delegation(
    owner: &Name,
    nsec: &NSEC,
    qname: &Name,
    qtype: RecordType,
) -> bool {
    let t = nsec.type_set();
    if !t.contains(RecordType::NS) || t.contains(RecordType::DS) || t.contains(RecordType::SOA) {
        return false;
    }
    if qtype == RecordType::DS {
        strictly_below(qname, owner)
    } else {
        owner.zone_of(qname)
    }
}
