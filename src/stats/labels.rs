//! The slots of each counter dimension and their labels, as the metrics endpoint
//! prints them. Slot numbers are positions in these lists.

/// Protocols, by the front end's `Proto` (its `as_str` is the label).
pub const PROTOCOLS: [&str; 5] = ["udp", "tcp", "dot", "doh", "doq"];

/// Where an answer came from (the query log's `cache=`), then `none` for requests
/// rejected before they were resolved (FORMERR, REFUSED, NOTIMP).
pub const SOURCES: [&str; 5] = ["local", "hit", "miss", "stale", "none"];
// The slots of SOURCES by name.
pub const SOURCE_LOCAL: usize = 0;
pub const SOURCE_HIT: usize = 1;
pub const SOURCE_MISS: usize = 2;
pub const SOURCE_STALE: usize = 3;
pub const SOURCE_NONE: usize = 4;

/// DNSSEC validation results of a validating root's links (RFC 4033 §5).
pub const SECURITY: [&str; 4] = ["secure", "insecure", "bogus", "indeterminate"];
pub const SECURITY_SECURE: usize = 0;
pub const SECURITY_INSECURE: usize = 1;
pub const SECURITY_BOGUS: usize = 2;
pub const SECURITY_INDETERMINATE: usize = 3;

/// Rcode slots: 0–15 are the header's rcode, 16 every extended one (BADVERS).
pub const RCODES: usize = 17;

/// The query types counted on their own; every other type shares the slot after
/// the last (`other`).
pub const QTYPES: [(u16, &str); 18] = [
    (1, "A"),
    (2, "NS"),
    (5, "CNAME"),
    (6, "SOA"),
    (12, "PTR"),
    (15, "MX"),
    (16, "TXT"),
    (28, "AAAA"),
    (33, "SRV"),
    (35, "NAPTR"),
    (43, "DS"),
    (48, "DNSKEY"),
    (64, "SVCB"),
    (65, "HTTPS"),
    (251, "IXFR"),
    (252, "AXFR"),
    (255, "ANY"),
    (257, "CAA"),
];

/// The slot of a query type (a `match`, so no search on the answer path; a test
/// keeps it in step with [`QTYPES`]).
#[inline]
pub fn qtype_slot(t: u16) -> usize {
    match t {
        1 => 0,
        2 => 1,
        5 => 2,
        6 => 3,
        12 => 4,
        15 => 5,
        16 => 6,
        28 => 7,
        33 => 8,
        35 => 9,
        43 => 10,
        48 => 11,
        64 => 12,
        65 => 13,
        251 => 14,
        252 => 15,
        255 => 16,
        257 => 17,
        _ => QTYPES.len(),
    }
}

/// The label of a query-type slot.
pub fn qtype_label(slot: usize) -> &'static str {
    QTYPES.get(slot).map_or("other", |(_, l)| l)
}

/// The rcode slot of a 12-bit rcode.
#[inline]
pub fn rcode_slot(rcode: u16) -> usize {
    usize::from(rcode).min(RCODES - 1)
}

/// Failure codes (the resolver's `Failure::code()`), in this order.
pub const REASONS: [&str; 13] = [
    "timeout",
    "unreachable",
    "lame",
    "refused",
    "servfail",
    "bogus",
    "budget",
    "loop",
    "deadline",
    "busy",
    "denied",
    "root-unknown",
    "local",
];

pub fn reason_slot(code: &str) -> usize {
    REASONS
        .iter()
        .position(|r| *r == code)
        .unwrap_or(REASONS.len() - 1)
}

/// Limits that refuse work: the `[limits]` budgets (a question's SERVFAIL
/// `budget:`), the concurrency bounds (`busy:`), and the rate limit's two answers.
pub const LIMITS: [&str; 11] = [
    "max-upstream-queries",
    "max-queries-per-zone",
    "max-referrals",
    "max-glueless-ns",
    "max-failed-ns-lookups",
    "max-cname-chain",
    "max-depth",
    "max-resolutions",
    "max-per-client",
    "rate-limit-drop",
    "rate-limit-slip",
];

pub fn limit_slot(key: &str) -> Option<usize> {
    LIMITS.iter().position(|l| *l == key)
}

pub const RATE_LIMIT_DROP: usize = 9;
pub const RATE_LIMIT_SLIP: usize = 10;

/// How one upstream query went.
pub const UPSTREAM: [&str; 5] = ["reply", "timeout", "unreachable", "error", "local"];
pub const UPSTREAM_REPLY: usize = 0;
pub const UPSTREAM_TIMEOUT: usize = 1;
pub const UPSTREAM_UNREACHABLE: usize = 2;
/// Bogus, lame or an error rcode: the server replied, but not usably.
pub const UPSTREAM_ERROR: usize = 3;
/// No socket: says nothing about the server.
pub const UPSTREAM_LOCAL: usize = 4;

/// Upper bounds (seconds) of the round-trip histogram's buckets; +Inf follows.
pub const RTT_BUCKETS: [f64; 12] = [
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slots_round_trip() {
        for (i, (t, _)) in QTYPES.iter().enumerate() {
            assert_eq!(qtype_slot(*t), i, "type {t}");
        }
        assert_eq!(qtype_label(qtype_slot(28)), "AAAA");
        assert_eq!(qtype_label(qtype_slot(99)), "other");
        assert_eq!(rcode_slot(3), 3);
        assert_eq!(rcode_slot(16), 16);
        assert_eq!(rcode_slot(4000), 16);
        assert_eq!(REASONS[reason_slot("root-unknown")], "root-unknown");
        assert_eq!(limit_slot("max-per-client"), Some(8));
        assert_eq!(LIMITS[RATE_LIMIT_DROP], "rate-limit-drop");
        assert_eq!(LIMITS[RATE_LIMIT_SLIP], "rate-limit-slip");
        assert_eq!(SOURCES[SOURCE_LOCAL], "local");
        assert_eq!(SOURCES[SOURCE_HIT], "hit");
        assert_eq!(SOURCES[SOURCE_MISS], "miss");
        assert_eq!(SOURCES[SOURCE_STALE], "stale");
        assert_eq!(SOURCES[SOURCE_NONE], "none");
    }
}
