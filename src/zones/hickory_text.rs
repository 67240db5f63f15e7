//! What hickory's zone-file parser needs around it: the types it cannot read,
//! its error messages reworded for people, and the one name it leaves relative.

use hickory_proto::rr::rdata::{HTTPS, SVCB};
use hickory_proto::rr::{Name, RData};

/// Record types that exist but hickory's zone parser cannot read, and RFC 3597
/// `TYPEnnn` (see `shared/HICKORY.md`). DNAME is read here, as a CNAME turned
/// into a DNAME ([`super::dname()`]), and the DNSSEC types by
/// [`super::dnssec_text`].
const KNOWN_UNSUPPORTED: &[&str] = &[
    "LOC", "URI", "SPF", "KEY", "SIG", "NXT", "APL", "DHCID", "IPSECKEY", "HIP",
];

/// RFC 9460 §2.1: an SVCB or HTTPS TargetName is a domain name in RFC 1035
/// presentation format, so a relative one is relative to the origin. hickory
/// 0.26's SVCB parser reads it with `Name::from_str`, without the origin.
pub(super) fn qualify(data: RData, origin: &Name) -> RData {
    let fix = |mut s: SVCB| {
        if !s.target_name.is_fqdn()
            && let Ok(n) = s.target_name.clone().append_domain(origin)
        {
            s.target_name = n;
        }
        s
    };
    match data {
        RData::SVCB(s) => RData::SVCB(fix(s)),
        RData::HTTPS(h) => RData::HTTPS(HTTPS(fix(h.0))),
        d => d,
    }
}

/// hickory's message for an entry, said the way a zone's author needs it.
pub(super) fn clean_hickory_message(msg: &str, body: &str) -> String {
    let mut msg = msg.trim();
    for prefix in ["proto error: ", "decoding error: ", "parse error: "] {
        msg = msg.strip_prefix(prefix).unwrap_or(msg);
    }
    if msg.contains("should be dynamically generated") {
        let t = body
            .split_whitespace()
            .find(|w| KNOWN_UNSUPPORTED.contains(&w.to_ascii_uppercase().as_str()));
        return format!(
            "record type {} is not supported yet, in {body:?}",
            t.unwrap_or("?").to_ascii_uppercase()
        );
    }
    if let Some(t) = msg.strip_prefix("record type string unknown: ") {
        // hickory reads the first word it cannot place as the type: say what is
        // really wrong when that word is data or a type it does not support.
        if t.parse::<std::net::IpAddr>().is_ok() || t.parse::<u64>().is_ok() {
            return format!("no record type in {body:?} ({t:?} is data, not a type)");
        }
        let upper = t.to_ascii_uppercase();
        if KNOWN_UNSUPPORTED.contains(&upper.as_str()) || upper.starts_with("TYPE") {
            return format!("record type {upper} is not supported yet, in {body:?}");
        }
        return format!("unknown record type {t:?} in {body:?}");
    }
    // Name errors: hickory's text is empty after the colon for an empty label, and
    // Debug-formatted for IDNA (`Err(Errors)`).
    if let Some(label) = msg.strip_prefix("Malformed label:") {
        let label = label.trim();
        return if label.is_empty() {
            format!("a name with an empty label (two dots in a row) in {body:?}")
        } else {
            format!("{label:?} is not a label a domain name can have, in {body:?}")
        };
    }
    if msg.starts_with("Label contains invalid characters") {
        return format!("a label has characters no domain name can have (IDNA), in {body:?}");
    }
    if msg.is_empty() {
        format!("cannot parse {body:?}")
    } else {
        format!("{msg} in {body:?}")
    }
}
