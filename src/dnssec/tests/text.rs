//! A test-only reader for fully qualified, one-record-per-line master files (what
//! `ldns-read-zone` prints and the ICANN root zone files are): enough record types
//! for the fixtures and the root zone. Lines of other types are skipped.

use std::str::FromStr;

use hickory_proto::dnssec::rdata::{DNSKEY, DNSSECRData, DS, NSEC, NSEC3, RRSIG, SigInput};
use hickory_proto::dnssec::{Algorithm, DigestType, Nsec3HashAlgorithm, PublicKeyBuf};
use hickory_proto::rr::rdata::{A, AAAA, CNAME, NS, SOA, TXT};
use hickory_proto::rr::{Name, RData, Record, RecordType};

/// Every record of `text` this reader knows.
pub fn records(text: &str) -> Vec<Record> {
    text.lines()
        .enumerate()
        .filter_map(|(i, l)| {
            let l = l.trim();
            if l.is_empty() || l.starts_with(';') || l.starts_with('$') {
                return None;
            }
            record(l).unwrap_or_else(|e| panic!("line {}: {e}: {l}", i + 1))
        })
        .collect()
}

/// One line: `owner ttl [IN] type rdata…`. `Ok(None)` for types not read here.
pub fn record(line: &str) -> Result<Option<Record>, String> {
    let line = line.split(';').next().unwrap_or("");
    let mut t: Vec<&str> = line.split_whitespace().collect();
    if t.len() < 4 {
        return Err("too few fields".into());
    }
    let owner = name(t[0])?;
    // The TTL may be left out (DS lines as dnssec-dsfromkey writes them).
    let (ttl, mut i) = match t[1].parse::<u32>() {
        Ok(ttl) => (ttl, 2),
        Err(_) => (0, 1),
    };
    if t[i] == "IN" {
        i += 1;
    }
    let rtype = t[i];
    let rd: Vec<&str> = t.split_off(i + 1);
    let data = match rtype {
        "A" => RData::A(A(rd[0].parse().map_err(|e| format!("{e}"))?)),
        "AAAA" => RData::AAAA(AAAA(rd[0].parse().map_err(|e| format!("{e}"))?)),
        "NS" => RData::NS(NS(name(rd[0])?)),
        "CNAME" => RData::CNAME(CNAME(name(rd[0])?)),
        "TXT" => RData::TXT(TXT::new(
            rd.iter().map(|s| s.trim_matches('"').to_string()).collect(),
        )),
        "SOA" => RData::SOA(SOA::new(
            name(rd[0])?,
            name(rd[1])?,
            num(rd[2])?,
            num(rd[3])?,
            num(rd[4])?,
            num(rd[5])?,
            num(rd[6])?,
        )),
        "DS" => RData::DNSSEC(DNSSECRData::DS(DS::new(
            num(rd[0])?,
            Algorithm::from_u8(num(rd[1])?),
            DigestType::from(num::<u8>(rd[2])?),
            hex(&rd[3..].concat())?,
        ))),
        "DNSKEY" => RData::DNSSEC(DNSSECRData::DNSKEY(DNSKEY::with_flags(
            num(rd[0])?,
            PublicKeyBuf::new(b64(&rd[3..].concat())?, Algorithm::from_u8(num(rd[2])?)),
        ))),
        "RRSIG" => RData::DNSSEC(DNSSECRData::RRSIG(RRSIG::from_sig(
            SigInput {
                type_covered: rtype_of(rd[0])?,
                algorithm: Algorithm::from_u8(num(rd[1])?),
                num_labels: num(rd[2])?,
                original_ttl: num(rd[3])?,
                sig_expiration: time(rd[4])?.into(),
                sig_inception: time(rd[5])?.into(),
                key_tag: num(rd[6])?,
                signer_name: name(rd[7])?,
            },
            b64(&rd[8..].concat())?,
        ))),
        "NSEC" => RData::DNSSEC(DNSSECRData::NSEC(NSEC::new(
            name(rd[0])?,
            rd[1..]
                .iter()
                .map(|s| rtype_of(s))
                .collect::<Result<Vec<_>, _>>()?,
        ))),
        "NSEC3" => {
            let alg: u8 = num(rd[0])?;
            if alg != 1 {
                return Ok(None);
            }
            RData::DNSSEC(DNSSECRData::NSEC3(NSEC3::new(
                Nsec3HashAlgorithm::SHA1,
                num::<u8>(rd[1])? & 1 == 1,
                num(rd[2])?,
                if rd[3] == "-" {
                    Vec::new()
                } else {
                    hex(rd[3])?
                },
                data_encoding::BASE32HEX_NOPAD
                    .decode(rd[4].to_ascii_uppercase().as_bytes())
                    .map_err(|e| format!("{e}"))?,
                rd[5..]
                    .iter()
                    .map(|s| rtype_of(s))
                    .collect::<Result<Vec<_>, _>>()?,
            )))
        }
        _ => return Ok(None),
    };
    Ok(Some(Record::from_rdata(owner, ttl, data)))
}

pub fn name(s: &str) -> Result<Name, String> {
    let mut n = Name::from_ascii(s).map_err(|e| format!("name {s}: {e}"))?;
    n.set_fqdn(true);
    Ok(n)
}

fn num<T: FromStr>(s: &str) -> Result<T, String>
where
    T::Err: std::fmt::Display,
{
    s.parse().map_err(|e| format!("number {s}: {e}"))
}

fn hex(s: &str) -> Result<Vec<u8>, String> {
    data_encoding::HEXUPPER_PERMISSIVE
        .decode(s.as_bytes())
        .map_err(|e| format!("hex: {e}"))
}

fn b64(s: &str) -> Result<Vec<u8>, String> {
    data_encoding::BASE64
        .decode(s.as_bytes())
        .map_err(|e| format!("base64: {e}"))
}

fn rtype_of(s: &str) -> Result<RecordType, String> {
    if let Some(n) = s.strip_prefix("TYPE") {
        return Ok(RecordType::from(num::<u16>(n)?));
    }
    RecordType::from_str(s).map_err(|e| format!("type {s}: {e}"))
}

/// `YYYYMMDDHHmmSS` or seconds.
pub fn time(s: &str) -> Result<u32, String> {
    if s.len() != 14 {
        return num(s);
    }
    let f = |r: std::ops::Range<usize>| num::<i64>(&s[r]);
    let (y, m, d) = (f(0..4)?, f(4..6)?, f(6..8)?);
    let (hh, mm, ss) = (f(8..10)?, f(10..12)?, f(12..14)?);
    // Days from civil (Howard Hinnant).
    let y2 = if m <= 2 { y - 1 } else { y };
    let era = y2.div_euclid(400);
    let yoe = y2 - era * 400;
    let mp = if m > 2 { m - 3 } else { m + 9 };
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    Ok((days * 86_400 + hh * 3600 + mm * 60 + ss) as u32)
}
