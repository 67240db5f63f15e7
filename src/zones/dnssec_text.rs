//! The DNSSEC record types in RFC presentation format, read by altroot.
//!
//! hickory 0.26's zone parser refuses DNSKEY, RRSIG, NSEC, NSEC3, NSEC3PARAM,
//! CDS and CDNSKEY ("should be dynamically generated"), and reads a DS whose
//! digest does not have its digest type's length. Signers (`dnssec-signzone`,
//! `ldns-signzone`, `kzonesign`) write all of them, so the reader reads them here,
//! from the tokens of one entry (parentheses and comments already gone), into
//! hickory's `RData::DNSSEC` values:
//!
//! - DS, CDS (RFC 4034 §5.3, RFC 7344): key tag, algorithm, digest type, digest in
//!   hex that may be split by white space; a digest of a known type has that
//!   type's length;
//! - DNSKEY, CDNSKEY (§2.2): flags, protocol 3, algorithm, key in base64 that may
//!   be split by white space;
//! - RRSIG (§3.2): type covered, algorithm, labels, original TTL, expiration and
//!   inception as `YYYYMMDDHHmmSS` (UTC) or as seconds, key tag, signer, signature;
//! - NSEC (§4.2): next name and a type list;
//! - NSEC3 (RFC 5155 §3.3): hash algorithm, flags, iterations, salt (`-` for none),
//!   next hashed owner in base32hex, type list; NSEC3PARAM (§4.3) the first four.
//!
//! Algorithms may be numbers or mnemonics, types mnemonics or `TYPEnnn` (RFC 3597).

use hickory_proto::dnssec::rdata::{
    CDNSKEY, CDS, DNSKEY, DNSSECRData, DS, NSEC, NSEC3, NSEC3PARAM, RRSIG, SigInput,
};
use hickory_proto::dnssec::{Algorithm, DigestType, Nsec3HashAlgorithm, PublicKeyBuf};
use hickory_proto::rr::{Name, RData, RecordType, SerialNumber};

/// The types read here rather than by hickory.
pub(super) fn is_dnssec_type(upper: &str) -> Option<RecordType> {
    Some(match upper {
        "DS" => RecordType::DS,
        "CDS" => RecordType::CDS,
        "DNSKEY" => RecordType::DNSKEY,
        "CDNSKEY" => RecordType::CDNSKEY,
        "RRSIG" => RecordType::RRSIG,
        "NSEC" => RecordType::NSEC,
        "NSEC3" => RecordType::NSEC3,
        "NSEC3PARAM" => RecordType::NSEC3PARAM,
        // Not DNSSEC, but signers write it with the rest and hickory cannot read it.
        "ZONEMD" => RecordType::Unknown(63),
        _ => return None,
    })
}

/// The RDATA of a record of type `rtype` (one [`is_dnssec_type`] gave) from its
/// presentation tokens; names in it are relative to `origin` unless they end in
/// a dot. The error says what is wrong, for `FILE:LINE: `.
pub(super) fn rdata(rtype: RecordType, tokens: &[&str], origin: &Name) -> Result<RData, String> {
    let mut t = Tokens {
        rest: tokens,
        rtype,
    };
    if rtype == RecordType::Unknown(63) {
        return zonemd(&mut t);
    }
    let data = match rtype {
        RecordType::DS | RecordType::CDS => {
            let key_tag = t.number::<u16>("key tag")?;
            let algorithm = t.algorithm()?;
            let digest_type = DigestType::from(t.number::<u8>("digest type")?);
            let digest = hex(&t.joined("digest")?, "digest", rtype)?;
            // CDS 0 0 0 00 asks for the DS set to be deleted (RFC 8078 §4).
            let delete = rtype == RecordType::CDS && u8::from(algorithm) == 0;
            if let Some(want) = digest_len(digest_type).filter(|_| !delete)
                && digest.len() != want
            {
                return Err(format!(
                    "{rtype} digest type {} takes a digest of {want} octets ({} hex digits), not {} octets",
                    u8::from(digest_type),
                    want * 2,
                    digest.len()
                ));
            }
            if rtype == RecordType::DS {
                DNSSECRData::DS(DS::new(key_tag, algorithm, digest_type, digest))
            } else {
                let algorithm = (!delete).then_some(algorithm);
                DNSSECRData::CDS(CDS::new(key_tag, algorithm, digest_type, digest))
            }
        }
        RecordType::DNSKEY | RecordType::CDNSKEY => {
            let flags = t.number::<u16>("flags")?;
            let protocol = t.number::<u8>("protocol")?;
            if protocol != 3 {
                return Err(format!("{rtype} protocol must be 3, not {protocol}"));
            }
            let algorithm = t.algorithm()?;
            let key = base64(&t.joined("public key")?, "public key", rtype)?;
            if rtype == RecordType::DNSKEY {
                let key = PublicKeyBuf::new(key, algorithm);
                DNSSECRData::DNSKEY(DNSKEY::with_flags(flags, key))
            } else {
                // CDNSKEY 0 3 0 AA== asks for the DS set to be deleted (RFC 8078 §4).
                let algorithm = (u8::from(algorithm) != 0).then_some(algorithm);
                DNSSECRData::CDNSKEY(CDNSKEY::with_flags(flags, algorithm, key))
            }
        }
        RecordType::RRSIG => {
            let type_covered = t.record_type("type covered")?;
            let algorithm = t.algorithm()?;
            let num_labels = t.number::<u8>("labels")?;
            let original_ttl = t.number::<u32>("original TTL")?;
            let sig_expiration = t.time("expiration")?;
            let sig_inception = t.time("inception")?;
            let key_tag = t.number::<u16>("key tag")?;
            let signer_name = t.name("signer name", origin)?;
            let sig = base64(&t.joined("signature")?, "signature", rtype)?;
            let input = SigInput {
                type_covered,
                algorithm,
                num_labels,
                original_ttl,
                sig_expiration,
                sig_inception,
                key_tag,
                signer_name,
            };
            DNSSECRData::RRSIG(RRSIG::from_sig(input, sig))
        }
        RecordType::NSEC => {
            let next = t.name("next domain name", origin)?;
            let types = t.type_list()?;
            DNSSECRData::NSEC(NSEC::new(next, types))
        }
        RecordType::NSEC3 | RecordType::NSEC3PARAM => {
            let alg = t.hash_algorithm()?;
            let opt_out = t.nsec3_flags()?;
            let iterations = t.number::<u16>("iterations")?;
            let salt = t.salt()?;
            if rtype == RecordType::NSEC3PARAM {
                t.end()?;
                DNSSECRData::NSEC3PARAM(NSEC3PARAM::new(alg, opt_out, iterations, salt))
            } else {
                let next = t.next_hashed()?;
                let types = t.type_list()?;
                DNSSECRData::NSEC3(NSEC3::new(alg, opt_out, iterations, salt, next, types))
            }
        }
        other => return Err(format!("{other} is not a DNSSEC record type")),
    };
    Ok(RData::DNSSEC(data))
}

/// The length of a digest of a known type (RFC 4034 §5.1.4, RFC 4509, RFC 5933,
/// RFC 6605); `None` for types whose length is not known here.
fn digest_len(t: DigestType) -> Option<usize> {
    match t {
        DigestType::SHA1 => Some(20),
        DigestType::SHA256 => Some(32),
        DigestType::SHA384 => Some(48),
        // GOST R 34.11-94 (RFC 5933).
        DigestType::Unknown(3) => Some(32),
        _ => None,
    }
}

/// The RDATA tokens of one entry not read yet.
struct Tokens<'a, 't> {
    rest: &'t [&'a str],
    rtype: RecordType,
}

impl<'a> Tokens<'a, '_> {
    fn next(&mut self, what: &str) -> Result<&'a str, String> {
        let (first, rest) = self
            .rest
            .split_first()
            .ok_or_else(|| format!("{} has no {what}", self.rtype))?;
        self.rest = rest;
        Ok(first)
    }

    fn end(&self) -> Result<(), String> {
        match self.rest.first() {
            None => Ok(()),
            Some(t) => Err(format!("{} has {t:?} after its data", self.rtype)),
        }
    }

    fn number<N: std::str::FromStr>(&mut self, what: &str) -> Result<N, String> {
        let t = self.next(what)?;
        t.parse().map_err(|_| {
            format!(
                "{} {what} {t:?} is not a number in range ({})",
                self.rtype,
                std::any::type_name::<N>()
            )
        })
    }

    /// Every token left, as one (base64 and hex may be split by white space).
    fn joined(&mut self, what: &str) -> Result<String, String> {
        if self.rest.is_empty() {
            return Err(format!("{} has no {what}", self.rtype));
        }
        let s = self.rest.concat();
        self.rest = &[];
        Ok(s)
    }

    fn algorithm(&mut self) -> Result<Algorithm, String> {
        let t = self.next("algorithm")?;
        if let Ok(n) = t.parse::<u8>() {
            return Ok(Algorithm::from_u8(n));
        }
        algorithm_mnemonic(t)
            .map(Algorithm::from_u8)
            .ok_or_else(|| format!("{} algorithm {t:?} is unknown", self.rtype))
    }

    fn hash_algorithm(&mut self) -> Result<Nsec3HashAlgorithm, String> {
        let n = self.number::<u8>("hash algorithm")?;
        Nsec3HashAlgorithm::try_from(n).map_err(|_| {
            format!(
                "{} hash algorithm {n} is not supported (only 1, SHA-1)",
                self.rtype
            )
        })
    }

    /// RFC 5155 §3.1.2: the opt-out bit is the only flag defined; a record
    /// with others could not be served as written.
    fn nsec3_flags(&mut self) -> Result<bool, String> {
        match self.number::<u8>("flags")? {
            0 => Ok(false),
            1 => Ok(true),
            n => Err(format!(
                "{} flags {n} has bits no NSEC3 defines (only 1, opt-out)",
                self.rtype
            )),
        }
    }

    fn salt(&mut self) -> Result<Vec<u8>, String> {
        let t = self.next("salt")?;
        if t == "-" {
            return Ok(Vec::new());
        }
        let salt = hex(t, "salt", self.rtype)?;
        if salt.len() > 255 {
            return Err(format!("{} salt is over 255 octets", self.rtype));
        }
        Ok(salt)
    }

    fn next_hashed(&mut self) -> Result<Vec<u8>, String> {
        let t = self.next("next hashed owner name")?;
        let bytes = data_encoding::BASE32HEX_NOPAD
            .decode(t.to_ascii_uppercase().as_bytes())
            .map_err(|_| {
                format!(
                    "{} next hashed owner name {t:?} is not base32hex (RFC 4648 §7)",
                    self.rtype
                )
            })?;
        if bytes.is_empty() || bytes.len() > 255 {
            return Err(format!(
                "{} next hashed owner name must be 1 to 255 octets",
                self.rtype
            ));
        }
        Ok(bytes)
    }

    fn record_type(&mut self, what: &str) -> Result<RecordType, String> {
        let t = self.next(what)?;
        record_type(t).ok_or_else(|| format!("{} {what} {t:?} is not a record type", self.rtype))
    }

    fn type_list(&mut self) -> Result<Vec<RecordType>, String> {
        let mut out = Vec::with_capacity(self.rest.len());
        for t in std::mem::take(&mut self.rest) {
            match record_type(t) {
                Some(rt) => out.push(rt),
                None => {
                    return Err(format!(
                        "{} type list: {t:?} is not a record type",
                        self.rtype
                    ));
                }
            }
        }
        Ok(out)
    }

    /// RFC 4034 §3.2: `YYYYMMDDHHmmSS` in UTC, or seconds since 1970 (at most
    /// ten digits); a date past 2106 wraps as serial arithmetic does (§3.1.5).
    fn time(&mut self, what: &str) -> Result<SerialNumber, String> {
        let t = self.next(what)?;
        let bad = || {
            format!(
                "{} {what} {t:?} is neither YYYYMMDDHHmmSS nor a number of seconds",
                self.rtype
            )
        };
        if !t.bytes().all(|b| b.is_ascii_digit()) {
            return Err(bad());
        }
        if t.len() == 14 {
            return date_seconds(t)
                .map(|s| SerialNumber::new(s as u32))
                .ok_or_else(bad);
        }
        if t.len() <= 10 {
            return t.parse::<u32>().map(SerialNumber::new).map_err(|_| bad());
        }
        Err(bad())
    }

    fn name(&mut self, what: &str, origin: &Name) -> Result<Name, String> {
        let t = self.next(what)?;
        if t == "@" {
            return Ok(origin.clone());
        }
        let mut n = Name::parse(t, Some(origin))
            .map_err(|e| format!("{} {what} {t:?}: {e}", self.rtype))?;
        n.set_fqdn(true);
        Ok(n)
    }
}

/// Seconds since 1970 of a `YYYYMMDDHHmmSS` time in UTC; `None` when a field is
/// out of range.
fn date_seconds(t: &str) -> Option<i64> {
    let field = |r: std::ops::Range<usize>| t.get(r)?.parse::<i64>().ok();
    let (y, mo, d) = (field(0..4)?, field(4..6)?, field(6..8)?);
    let (h, mi, s) = (field(8..10)?, field(10..12)?, field(12..14)?);
    let leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    let days_in = [
        31,
        if leap { 29 } else { 28 },
        31,
        30,
        31,
        30,
        31,
        31,
        30,
        31,
        30,
        31,
    ];
    if !(1..=12).contains(&mo) || d < 1 || d > days_in[(mo - 1) as usize] {
        return None;
    }
    if h > 23 || mi > 59 || s > 60 {
        return None;
    }
    // Days from the civil date (H. Hinnant's algorithm, proleptic Gregorian).
    let y2 = if mo <= 2 { y - 1 } else { y };
    let era = y2.div_euclid(400);
    let yoe = y2 - era * 400;
    let mp = (mo + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    Some(days * 86_400 + h * 3600 + mi * 60 + s)
}

/// A record type from its mnemonic (any case) or `TYPEnnn`.
pub(super) fn record_type(t: &str) -> Option<RecordType> {
    let upper = t.to_ascii_uppercase();
    if let Some(n) = upper.strip_prefix("TYPE")
        && !n.is_empty()
        && n.bytes().all(|b| b.is_ascii_digit())
    {
        return n.parse::<u16>().ok().map(RecordType::from);
    }
    if let Ok(rt) = upper.parse::<RecordType>() {
        // `*` and ANY are query types, never in a type list or covered.
        return (rt != RecordType::ANY).then_some(rt);
    }
    // Types hickory has no name for, which signers still write by name.
    let code = match upper.as_str() {
        "MD" => 3,
        "MF" => 4,
        "MB" => 7,
        "MG" => 8,
        "MR" => 9,
        "WKS" => 11,
        "MINFO" => 14,
        "RP" => 17,
        "AFSDB" => 18,
        "X25" => 19,
        "ISDN" => 20,
        "RT" => 21,
        "NSAP" => 22,
        "PX" => 26,
        "GPOS" => 27,
        "LOC" => 29,
        "NXT" => 30,
        "KX" => 36,
        "A6" => 38,
        "APL" => 42,
        "IPSECKEY" => 45,
        "DHCID" => 49,
        "HIP" => 55,
        "NINFO" => 56,
        "RKEY" => 57,
        "TALINK" => 58,
        "ZONEMD" => 63,
        "SPF" => 99,
        "NID" => 104,
        "L32" => 105,
        "L64" => 106,
        "LP" => 107,
        "EUI48" => 108,
        "EUI64" => 109,
        "URI" => 256,
        "AVC" => 258,
        "DOA" => 259,
        "AMTRELAY" => 260,
        "RESINFO" => 261,
        "TA" => 32768,
        "DLV" => 32769,
        _ => return None,
    };
    Some(RecordType::from(code))
}

/// RFC 4034 Appendix A.1 and the IANA registry: algorithm mnemonics.
fn algorithm_mnemonic(t: &str) -> Option<u8> {
    Some(match t.to_ascii_uppercase().as_str() {
        "RSAMD5" => 1,
        "DH" => 2,
        "DSA" => 3,
        "RSASHA1" => 5,
        "DSA-NSEC3-SHA1" => 6,
        "RSASHA1-NSEC3-SHA1" => 7,
        "RSASHA256" => 8,
        "RSASHA512" => 10,
        "ECC-GOST" => 12,
        "ECDSAP256SHA256" => 13,
        "ECDSAP384SHA384" => 14,
        "ED25519" => 15,
        "ED448" => 16,
        "INDIRECT" => 252,
        "PRIVATEDNS" => 253,
        "PRIVATEOID" => 254,
        _ => return None,
    })
}

/// ZONEMD (RFC 8976 §2.3): serial, scheme, hash algorithm, digest in hex that
/// may be split by white space; kept as RFC 3597 unknown data (hickory has no
/// ZONEMD type). A digest shorter than 12 octets is an error (§2.2.4).
fn zonemd(t: &mut Tokens<'_, '_>) -> Result<RData, String> {
    let serial = t.number::<u32>("serial")?;
    let scheme = t.number::<u8>("scheme")?;
    let hash = t.number::<u8>("hash algorithm")?;
    let digest = hex(&t.joined("digest")?, "digest", t.rtype)?;
    if digest.len() < 12 {
        return Err(format!(
            "ZONEMD digest has {} octets, fewer than 12",
            digest.len()
        ));
    }
    let mut data = serial.to_be_bytes().to_vec();
    data.extend_from_slice(&[scheme, hash]);
    data.extend_from_slice(&digest);
    Ok(RData::Unknown {
        code: RecordType::Unknown(63),
        rdata: hickory_proto::rr::rdata::NULL::with(data),
    })
}

fn hex(t: &str, what: &str, rtype: RecordType) -> Result<Vec<u8>, String> {
    data_encoding::HEXUPPER_PERMISSIVE
        .decode(t.as_bytes())
        .map_err(|_| format!("{rtype} {what} is not hexadecimal: {t:?}"))
}

fn base64(t: &str, what: &str, rtype: RecordType) -> Result<Vec<u8>, String> {
    let bytes = data_encoding::BASE64
        .decode(t.as_bytes())
        .map_err(|e| format!("{rtype} {what} is not base64 ({e})"))?;
    if bytes.is_empty() {
        return Err(format!("{rtype} {what} is empty"));
    }
    Ok(bytes)
}

#[cfg(test)]
#[path = "dnssec_text_tests.rs"]
mod tests;
