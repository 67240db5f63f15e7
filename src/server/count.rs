//! The front end's counting for the metrics: its values mapped to the counters'
//! slots ([`crate::stats::labels`]). Each call writes this thread's counters only.

use super::request::Proto;
use crate::resolver::{Failure, Route, Source};
use crate::stats::labels as slot;
use crate::stats::{QuerySlots, Stats};

/// One answered query.
#[inline]
pub fn query(stats: &Stats, route: Route, proto: Proto, source: Source, rcode: u16, qtype: u16) {
    stats.query(QuerySlots {
        route: route_slot(stats, route),
        proto: proto_slot(proto),
        source: source_slot(source),
        rcode: slot::rcode_slot(rcode),
        qtype: slot::qtype_slot(qtype),
    });
}

/// A request rejected before it was resolved (FORMERR, REFUSED, NOTIMP…).
pub fn rejected(stats: &Stats, proto: Proto, rcode: u16, qtype: u16) {
    stats.query(QuerySlots {
        route: stats.none(),
        proto: proto_slot(proto),
        source: slot::SOURCE_NONE,
        rcode: slot::rcode_slot(rcode),
        qtype: slot::qtype_slot(qtype),
    });
}

/// A failed answer, by its code and the limit that refused it; the root keeps it
/// as its last failure for the status page (failures are the cold path).
pub fn failure(stats: &Stats, now: u64, route: Route, f: &Failure) {
    let limit = match f {
        Failure::Budget { which, .. } => slot::limit_slot(which.key()),
        Failure::Busy { what, .. } => slot::limit_slot(what),
        _ => None,
    };
    stats.failure(route_slot(stats, route), slot::reason_slot(f.code()), limit);
    if let Route::Root(i) = route {
        stats.last_failure(i, now, || f.to_string());
    }
}

#[inline]
fn route_slot(stats: &Stats, route: Route) -> usize {
    match route {
        Route::Root(i) => i,
        Route::Local => stats.local(),
        Route::Interrupt => stats.interrupt(),
        Route::Unrouted => stats.none(),
    }
}

/// The slot of a protocol ([`slot::PROTOCOLS`]).
#[inline]
pub(super) fn proto_slot(p: Proto) -> usize {
    match p {
        Proto::Udp => 0,
        Proto::Tcp => 1,
        Proto::Dot => 2,
        Proto::Doh => 3,
        Proto::Doq => 4,
    }
}

#[inline]
fn source_slot(s: Source) -> usize {
    match s {
        Source::Local => slot::SOURCE_LOCAL,
        Source::Cache => slot::SOURCE_HIT,
        Source::Network => slot::SOURCE_MISS,
        Source::Stale => slot::SOURCE_STALE,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slots_carry_their_labels() {
        for p in [Proto::Udp, Proto::Tcp, Proto::Dot, Proto::Doh, Proto::Doq] {
            assert_eq!(slot::PROTOCOLS[proto_slot(p)], p.as_str());
        }
        for s in [Source::Local, Source::Cache, Source::Network, Source::Stale] {
            assert_eq!(slot::SOURCES[source_slot(s)], s.as_str());
        }
    }
}
