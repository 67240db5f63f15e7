//! DNSSEC validation, sans I/O (issue 15): the chain of trust inside one root, from
//! that root's trust anchors down to an RRset or a proof that a name or type does not
//! exist. Nothing here sends a query, reads a clock or keeps a cache: the caller
//! (the resolver's engine) fetches DS and DNSKEY RRsets from the root's own servers,
//! hands them in with the time, and caches what comes back validated.
//!
//! # Use
//!
//! 1. [`TrustAnchors`] per root: DS or DNSKEY records at the root or any name below
//!    it, and negative trust anchors (RFC 7646). [`TrustAnchors::icann`] holds IANA's
//!    root KSKs 20326 and 38696. [`TrustAnchors::anchor_for`] gives the closest anchor
//!    at or above a name as a [`Trust`]; [`TrustAnchors::is_negative`] says whether
//!    a name is under a negative anchor (then answer as insecure).
//! 2. [`validate_dnskeys`]: a zone's DNSKEY RRset (with its RRSIGs) checked against a
//!    [`Trust`] — the parent's validated DS RRset, or an anchor — gives
//!    [`KeysOutcome::Secure`] with the [`ZoneKeys`] to verify the zone's data with,
//!    [`KeysOutcome::Insecure`] (only unsupported algorithms or digests: RFC 4035 §5.2,
//!    RFC 6840 §5.2), or [`KeysOutcome::Bogus`].
//! 3. [`verify_rrset`]: one RRset and the RRSIGs over it, under a zone's keys
//!    (whose keys: [`signer_of`] reads the RRSIGs' signer name):
//!    [`RrsetOutcome::Secure`] with the TTL to cache it for and, when the answer was
//!    synthesised from a wildcard, the wildcard's name; or bogus.
//! 4. [`Denials::verify`]: the NSEC and NSEC3 RRsets of a response's authority section,
//!    each verified under the zone's keys. Then [`Denials::nxdomain`],
//!    [`Denials::nodata`] (with `RecordType::DS`: the proof that a delegation is
//!    unsigned), [`Denials::wildcard_answer`] and [`Denials::no_ds`] say whether they
//!    prove what the answer claims. [`Denials::deny`] is RFC 8198's aggressive use: over
//!    cached, validated NSEC/NSEC3 ([`Denials::from_validated`]) it says whether a
//!    name or a type provably does not exist.
//!
//! Every check that fails says why in a [`Why`]: the RFC 8914 Extended DNS Error
//! ([`Ede`]), the zone, and a sentence for the one log line. [`Security`] is the
//! answer-level result: secure, insecure, bogus or indeterminate.
//!
//! # How the engine is meant to call it
//!
//! ```text
//! anchors = root.trust_anchors                      (config: RootConfig::trust_anchors)
//! anchors.is_empty()            -> no validation for this root
//! anchors.is_negative(qname)    -> Insecure (RFC 7646)
//! anchors.anchor_for(qname)     -> None: Indeterminate; Some((zone, trust)):
//! validate_dnskeys(zone, DNSKEY answer, trust, s)   -> keys of the anchored zone (cache them)
//! for each zone cut below it, towards qname:
//!     DS answer from the parent: verify_rrset(ds, sigs, parent_keys, s), then
//!         validate_dnskeys(child, DNSKEY answer, Trust::ds(&ds_set(..)), s)
//!     no DS: Denials::verify(authority, parent_keys, s)?.no_ds(child)
//!         Secure or Insecure -> the child and everything below it is insecure
//! the answer RRset: verify_rrset(rrset, sigs, keys of signer_of(..), s)
//!     Secure { wildcard: Some(w) } -> also Denials::…::wildcard_answer(qname, &w)
//! NXDOMAIN / NODATA: Denials::verify(authority, keys, s)?.nxdomain(qname) / .nodata(qname, qtype)
//! ```
//!
//! A DNSKEY or DS RRset that cannot be fetched is the engine's to call
//! `Security::Indeterminate` (hickory's own validator calls it bogus: #3932).
//!
//! Time is seconds since the epoch in [`Settings::now`]; signature times are compared
//! in serial arithmetic (RFC 4034 §3.1.5) with Unbound's skew allowance (a tenth of
//! the signature's validity period, at least an hour and at most a day:
//! `val-sig-skew-min`/`val-sig-skew-max`). NSEC3 with more iterations than
//! [`Settings::nsec3_max_iterations`] (150, Unbound's `val-nsec3-keysize-iterations`
//! after RFC 9276) makes the answer insecure. Algorithms 5, 7, 8, 10, 13, 14 and 15 are
//! verified (hickory-proto's ring backend); any other algorithm, and DS digest types
//! other than SHA-1, SHA-256 and SHA-384, make a zone insecure (RFC 8624).
//!
//! The rules follow RFC 4033–4035, 5155, 6840, 8198 and 9276, checked against how
//! Unbound (`validator/val_*.c`) and Knot Resolver (`lib/dnssec/`) apply them.

use std::fmt;

use hickory_proto::rr::Name;

mod anchors;
mod checked;
mod denial;
mod keys;
mod nsec;
mod nsec3;
mod rrsig;

#[cfg(test)]
mod tests;

pub use anchors::{AnchorError, ROOT_ANCHORS, TrustAnchors};
pub use denial::{Denials, Denied};
pub use keys::{KeysOutcome, Trust, ZoneKeys, ds_set, validate_dnskeys};
pub use rrsig::{RrsetOutcome, VerifyMemo, signer_of, verify_rrset};

/// Unbound's `val-sig-skew-min`: a signature may be this far outside its validity
/// period, at least (clocks off by an hour: daylight saving).
pub const SKEW_MIN: u32 = 3600;
/// Unbound's `val-sig-skew-max`: at most this far (clocks off by a time zone).
pub const SKEW_MAX: u32 = 86_400;
/// NSEC3 iterations above this make an answer insecure (RFC 9276 §3.2; Unbound's
/// `val-nsec3-keysize-iterations` is 150 for every key size).
pub const NSEC3_MAX_ITERATIONS: u16 = 150;

/// The time and the limits one validation runs under.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Settings {
    /// Seconds since 1970-01-01 UTC.
    pub now: u64,
    pub skew_min: u32,
    pub skew_max: u32,
    pub nsec3_max_iterations: u16,
}

impl Settings {
    /// The defaults at time `now` (seconds since the epoch).
    pub fn at(now: u64) -> Settings {
        Settings {
            now,
            skew_min: SKEW_MIN,
            skew_max: SKEW_MAX,
            nsec3_max_iterations: NSEC3_MAX_ITERATIONS,
        }
    }

    /// `now` as an RRSIG time: serial arithmetic modulo 2^32 (RFC 4034 §3.1.5).
    fn serial_now(&self) -> u32 {
        self.now as u32
    }
}

/// The security of an answer (RFC 4033 §5, RFC 4035 §4.3).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Security {
    /// The chain of trust holds from an anchor to every record.
    Secure,
    /// Provably not signed (or signed with what we cannot verify): answer without AD.
    /// The [`Why`] is for the log line; Unbound sends no EDE with an insecure answer
    /// (its `ede` is the nearest code: 1, 2, 27, or 5 for an unsigned delegation or
    /// an opt-out span).
    Insecure(Why),
    /// Should be signed and is not, or the signatures fail: SERVFAIL with the EDE.
    Bogus(Why),
    /// No anchor covers it, or what the proof needs could not be fetched.
    Indeterminate(Why),
}

impl Security {
    pub fn is_secure(&self) -> bool {
        matches!(self, Security::Secure)
    }

    pub fn is_bogus(&self) -> bool {
        matches!(self, Security::Bogus(_))
    }

    /// Why it is not secure.
    pub fn why(&self) -> Option<&Why> {
        match self {
            Security::Secure => None,
            Security::Insecure(w) | Security::Bogus(w) | Security::Indeterminate(w) => Some(w),
        }
    }
}

/// Why a check did not end secure: the EDE to send, the zone, and what failed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Why {
    pub ede: Ede,
    /// The zone whose keys or records failed.
    pub zone: Name,
    /// One sentence for the log line ("RRSIG over www.example. A expired …").
    pub reason: String,
}

impl Why {
    pub fn new(ede: Ede, zone: &Name, reason: impl Into<String>) -> Why {
        Why {
            ede,
            zone: zone.clone(),
            reason: reason.into(),
        }
    }
}

impl fmt::Display for Why {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "zone {}: {} ({})", self.zone, self.reason, self.ede)
    }
}

/// The RFC 8914 Extended DNS Errors a validation failure maps to (and RFC 9276's 27).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Ede {
    UnsupportedDnskeyAlgorithm,
    UnsupportedDsDigestType,
    DnssecIndeterminate,
    DnssecBogus,
    SignatureExpired,
    SignatureNotYetValid,
    DnskeyMissing,
    RrsigsMissing,
    NoZoneKeyBitSet,
    NsecMissing,
    UnsupportedNsec3Iterations,
}

impl Ede {
    /// The INFO-CODE (RFC 8914 §4, RFC 9276 §6).
    pub fn code(self) -> u16 {
        match self {
            Ede::UnsupportedDnskeyAlgorithm => 1,
            Ede::UnsupportedDsDigestType => 2,
            Ede::DnssecIndeterminate => 5,
            Ede::DnssecBogus => 6,
            Ede::SignatureExpired => 7,
            Ede::SignatureNotYetValid => 8,
            Ede::DnskeyMissing => 9,
            Ede::RrsigsMissing => 10,
            Ede::NoZoneKeyBitSet => 11,
            Ede::NsecMissing => 12,
            Ede::UnsupportedNsec3Iterations => 27,
        }
    }

    /// RFC 8914's name for it.
    pub fn name(self) -> &'static str {
        match self {
            Ede::UnsupportedDnskeyAlgorithm => "Unsupported DNSKEY Algorithm",
            Ede::UnsupportedDsDigestType => "Unsupported DS Digest Type",
            Ede::DnssecIndeterminate => "DNSSEC Indeterminate",
            Ede::DnssecBogus => "DNSSEC Bogus",
            Ede::SignatureExpired => "Signature Expired",
            Ede::SignatureNotYetValid => "Signature Not Yet Valid",
            Ede::DnskeyMissing => "DNSKEY Missing",
            Ede::RrsigsMissing => "RRSIGs Missing",
            Ede::NoZoneKeyBitSet => "No Zone Key Bit Set",
            Ede::NsecMissing => "NSEC Missing",
            Ede::UnsupportedNsec3Iterations => "Unsupported NSEC3 Iterations Value",
        }
    }
}

impl fmt::Display for Ede {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "EDE {} {}", self.code(), self.name())
    }
}
