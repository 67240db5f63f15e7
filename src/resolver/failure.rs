//! Why a question could not be answered: one typed value, printed the same way in
//! the query log, in `compare`, and to clients as an Extended DNS Error (RFC 8914).
//!
//! Every variant has a short stable code (`timeout`, `lame`, …) that starts its
//! text, so logs can be grepped and tests can assert on the cause.

use std::fmt;
use std::net::SocketAddr;

use hickory_proto::op::ResponseCode;
use hickory_proto::rr::Name;

/// What went wrong with one server for one question.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ServerError {
    /// No reply within the try's time limit.
    Timeout,
    /// The server or the path to it said no (ICMP unreachable, TCP refused or reset).
    Unreachable(String),
    /// A reply that is not a DNS message, or is cut short, or breaks the protocol.
    Bogus(String),
    /// A well-formed reply that cannot be used: an upward or sideways referral, a
    /// negative answer without AA or SOA, a recursive server's cached view.
    Lame(Lame),
    /// An error rcode: REFUSED, SERVFAIL, NOTIMP…
    Rcode(ResponseCode),
    /// A local problem (no sockets or memory left): says nothing about the server.
    Local(String),
    /// An encrypted upstream's TLS handshake or certificate check failed (never
    /// followed by a clear-text try).
    Tls(String),
}

impl fmt::Display for ServerError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ServerError::Timeout => write!(f, "no reply in time"),
            ServerError::Rcode(rc) => write!(f, "answered {rc}"),
            ServerError::Lame(l) => write!(f, "{l}"),
            ServerError::Unreachable(s)
            | ServerError::Bogus(s)
            | ServerError::Local(s)
            | ServerError::Tls(s) => write!(f, "{s}"),
        }
    }
}

/// Why a well-formed reply from a server asked as an authority cannot be used (or
/// only when no other server of the zone gives better: [`Lame::Recursive`],
/// [`Lame::Empty`]). The rules are Unbound's and Knot Resolver's
/// (`resolver::classify`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Lame {
    /// An NS set above or beside the zone asked about.
    Referral { to: Name },
    /// A negative answer without AA and without an SOA of the zone (an NXDOMAIN:
    /// never taken; a NODATA: a last resort).
    NotAuthoritative,
    /// A server with recursion on answering from its cache: RA set, AA clear.
    Recursive,
    /// NOERROR without AA, and nothing at all in the reply.
    Empty,
    /// NODATA without AA or SOA that holds the zone's own NS set: a parent's copy
    /// of the delegation, served by a server that is not authoritative.
    ParentCopy,
    /// No root NS set in a priming reply.
    NoPrimingSet,
}

impl fmt::Display for Lame {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Lame::Referral { to } => write!(f, "an upward or sideways referral to {to}"),
            Lame::NotAuthoritative => write!(f, "a negative answer without AA or SOA"),
            Lame::Recursive => write!(f, "a recursive server's answer (RA set, AA clear)"),
            Lame::Empty => write!(f, "an empty reply without AA"),
            Lame::ParentCopy => write!(f, "NODATA without AA or SOA holding the zone's own NS set"),
            Lame::NoPrimingSet => write!(f, "no root NS set in the priming reply"),
        }
    }
}

/// Which budget ran out (`[limits]`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Budget {
    UpstreamQueries,
    QueriesPerZone,
    Referrals,
    GluelessNs,
    FailedNsLookups,
    CnameChain,
    Depth,
}

impl Budget {
    /// The config key that sets this budget.
    pub fn key(self) -> &'static str {
        match self {
            Budget::UpstreamQueries => "max-upstream-queries",
            Budget::QueriesPerZone => "max-queries-per-zone",
            Budget::Referrals => "max-referrals",
            Budget::GluelessNs => "max-glueless-ns",
            Budget::FailedNsLookups => "max-failed-ns-lookups",
            Budget::CnameChain => "max-cname-chain",
            Budget::Depth => "max-depth",
        }
    }
}

/// Why a question got SERVFAIL.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Failure {
    /// The servers of `zone` were asked and none replied in time.
    Timeout { zone: Name },
    /// No server of `zone` could be reached, or none has a usable address.
    Unreachable { zone: Name, why: String },
    /// Every server of `zone` that replied was lame for this question; the last
    /// one that did, and how.
    Lame {
        zone: Name,
        server: SocketAddr,
        why: Box<Lame>,
    },
    /// A forwarder answered REFUSED.
    Refused { server: SocketAddr },
    /// A forwarder answered SERVFAIL (or another error rcode).
    ServFail {
        server: SocketAddr,
        rcode: ResponseCode,
    },
    /// A reply that is not usable DNS.
    Bogus { server: SocketAddr, why: String },
    /// A budget ran out; `limit` is its configured value.
    Budget { which: Budget, limit: usize },
    /// A CNAME or DNAME loop, a referral loop, or a name server that depends on itself.
    Loop { what: String },
    /// `query-timeout` passed before an answer was found.
    Deadline,
    /// Too many resolutions at once (`max-resolutions`, `max-per-client`).
    Busy { what: &'static str, limit: usize },
    /// Every server address of `zone` is refused by the upstream address policy.
    Denied { zone: Name, why: String },
    /// An earlier root could not say whether it has the TLD: answering from a later
    /// root could hand out the wrong tree, so nobody answers.
    RootUnknown {
        root: String,
        tld: Name,
        cause: Box<Failure>,
    },
    /// A local resource problem (sockets).
    Local { why: String },
    /// Something that should not happen did (a bug, or shutting down): named, so
    /// that it is never mistaken for a loop or a timeout.
    Internal { what: &'static str },
    /// An encrypted upstream failed its TLS handshake or certificate check.
    Tls { server: SocketAddr, why: String },
    /// DNSSEC validation in `root` failed: the answer is bogus (RFC 4035 §5.5).
    Dnssec {
        root: String,
        why: Box<crate::dnssec::Why>,
    },
}

impl Failure {
    /// The short stable code that starts the text.
    pub fn code(&self) -> &'static str {
        match self {
            Failure::Timeout { .. } => "timeout",
            Failure::Unreachable { .. } => "unreachable",
            Failure::Lame { .. } => "lame",
            Failure::Refused { .. } => "refused",
            Failure::ServFail { .. } => "servfail",
            Failure::Bogus { .. } => "bogus",
            Failure::Budget { .. } => "budget",
            Failure::Loop { .. } => "loop",
            Failure::Deadline => "deadline",
            Failure::Busy { .. } => "busy",
            Failure::Denied { .. } => "denied",
            Failure::RootUnknown { .. } => "root-unknown",
            Failure::Local { .. } => "local",
            Failure::Internal { .. } => "internal",
            Failure::Tls { .. } => "tls",
            Failure::Dnssec { .. } => "dnssec",
        }
    }

    /// The Extended DNS Error INFO-CODE (RFC 8914 §4) clients get with SERVFAIL.
    pub fn ede_code(&self) -> u16 {
        match self {
            Failure::Timeout { .. }
            | Failure::Unreachable { .. }
            | Failure::Lame { .. }
            | Failure::Refused { .. }
            | Failure::ServFail { .. }
            | Failure::Denied { .. }
            | Failure::RootUnknown { .. } => 22, // No Reachable Authority
            Failure::Bogus { .. } | Failure::Tls { .. } => 23, // Network Error
            Failure::Dnssec { why, .. } => why.ede.code(),
            _ => 0, // Other
        }
    }

    /// May an expired answer stand in for this failure (RFC 8767 §4: when the
    /// authorities cannot be reached)? Not for our own limits or loops.
    pub fn allows_stale(&self) -> bool {
        matches!(
            self,
            Failure::Timeout { .. }
                | Failure::Unreachable { .. }
                | Failure::Lame { .. }
                | Failure::Refused { .. }
                | Failure::ServFail { .. }
                | Failure::Bogus { .. }
                | Failure::Tls { .. }
                | Failure::Deadline
                | Failure::Busy { .. }
        )
    }

    /// The failure of a set of servers, from what the last of them did.
    pub fn from_server(zone: &Name, server: SocketAddr, e: &ServerError) -> Failure {
        match e {
            ServerError::Timeout => Failure::Timeout { zone: zone.clone() },
            ServerError::Unreachable(why) => Failure::Unreachable {
                zone: zone.clone(),
                why: format!("{server}: {why}"),
            },
            ServerError::Bogus(why) => Failure::Bogus {
                server,
                why: why.clone(),
            },
            ServerError::Lame(why) => Failure::Lame {
                zone: zone.clone(),
                server,
                why: Box::new(why.clone()),
            },
            ServerError::Local(why) => Failure::Local { why: why.clone() },
            ServerError::Tls(why) => Failure::Tls {
                server,
                why: why.clone(),
            },
            ServerError::Rcode(ResponseCode::Refused) => Failure::Refused { server },
            ServerError::Rcode(rcode) => Failure::ServFail {
                server,
                rcode: *rcode,
            },
        }
    }
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: ", self.code())?;
        match self {
            Failure::Timeout { zone } => write!(f, "no server of {zone} replied in time"),
            Failure::Unreachable { zone, why } => write!(f, "servers of {zone}: {why}"),
            Failure::Lame { zone, server, why } => {
                write!(f, "servers of {zone} are lame: {server}: {why}")
            }
            Failure::Refused { server } => write!(f, "{server} answered REFUSED"),
            Failure::ServFail { server, rcode } => write!(f, "{server} answered {rcode}"),
            Failure::Bogus { server, why } => write!(f, "{server}: {why}"),
            Failure::Budget { which, limit } => write!(f, "{} = {limit} reached", which.key()),
            Failure::Loop { what } => write!(f, "{what}"),
            Failure::Deadline => write!(f, "no answer within query-timeout"),
            Failure::Busy { what, limit } => write!(f, "{what} = {limit} reached"),
            Failure::Denied { zone, why } => write!(f, "servers of {zone}: {why}"),
            Failure::RootUnknown { root, tld, cause } => {
                write!(
                    f,
                    "root {root} could not say whether it has {tld} ({cause})"
                )
            }
            Failure::Local { why } => write!(f, "{why}"),
            Failure::Internal { what } => write!(f, "{what}"),
            Failure::Tls { server, why } => write!(f, "{server}: {why}"),
            Failure::Dnssec { root, why } => write!(f, "bogus in root {root}: {why}"),
        }
    }
}

impl std::error::Error for Failure {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_starts_with_the_code() {
        let z = Name::from_ascii("example.").unwrap();
        let all = [
            Failure::Timeout { zone: z.clone() },
            Failure::Budget {
                which: Budget::GluelessNs,
                limit: 3,
            },
            Failure::RootUnknown {
                root: "opennic".into(),
                tld: z.clone(),
                cause: Box::new(Failure::Deadline),
            },
        ];
        for f in all {
            assert!(f.to_string().starts_with(&format!("{}: ", f.code())), "{f}");
        }
        assert_eq!(
            Failure::Budget {
                which: Budget::GluelessNs,
                limit: 3
            }
            .to_string(),
            "budget: max-glueless-ns = 3 reached"
        );
    }
}
