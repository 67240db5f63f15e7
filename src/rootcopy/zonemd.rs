//! ZONEMD (RFC 8976), scheme SIMPLE (1) with SHA-384 (1): the digest of a whole
//! zone. Hand-written because no crate computes it: hickory 0.26 has no ZONEMD
//! type nor digest (`shared/HICKORY-WAVE2.md` §5), NLnet Labs' `domain` has the
//! RDATA type only. The hash is `ring`'s SHA-384, the canonical record form
//! hickory's encoder (the one its RRSIG code signs with).

use hickory_proto::rr::{Name, RData, Record};
use hickory_proto::serialize::binary::{BinEncodable, BinEncoder, NameEncoding};

/// ZONEMD's type code (hickory reads it as an unknown type).
pub const ZONEMD: u16 = 63;
const SCHEME_SIMPLE: u8 = 1;
const HASH_SHA384: u8 = 1;

/// A ZONEMD record's fields.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Zonemd {
    pub serial: u32,
    pub scheme: u8,
    pub hash: u8,
    pub digest: Vec<u8>,
}

/// The RDATA of `r` in canonical wire form (RFC 4034 §6.2: names uncompressed,
/// lower case in the types listed there).
fn rdata_bytes(r: &Record) -> Result<Vec<u8>, String> {
    let mut buf = Vec::new();
    let mut enc = BinEncoder::new(&mut buf);
    enc.set_canonical_form(true);
    enc.set_name_encoding(NameEncoding::Uncompressed);
    r.data
        .emit(&mut enc)
        .map_err(|e| format!("{} {}: cannot encode: {e}", r.name, r.record_type()))?;
    Ok(buf)
}

/// The fields of a ZONEMD record, `None` for any other record or a short RDATA.
pub fn parse(r: &Record) -> Option<Zonemd> {
    if u16::from(r.record_type()) != ZONEMD {
        return None;
    }
    let b = rdata_bytes(r).ok()?;
    if b.len() < 6 {
        return None;
    }
    Some(Zonemd {
        serial: u32::from_be_bytes([b[0], b[1], b[2], b[3]]),
        scheme: b[4],
        hash: b[5],
        digest: b[6..].to_vec(),
    })
}

/// Is `r` left out of the digest: the apex ZONEMD RRset and the apex RRSIGs
/// covering it (RFC 8976 §3.3.1).
fn excluded(r: &Record, apex: &Name) -> bool {
    if r.name != *apex {
        return false;
    }
    match &r.data {
        RData::DNSSEC(hickory_proto::dnssec::rdata::DNSSECRData::RRSIG(sig)) => {
            u16::from(sig.input().type_covered) == ZONEMD
        }
        _ => u16::from(r.record_type()) == ZONEMD,
    }
}

/// The owner in canonical order (RFC 4034 §6.1): labels from the right, each
/// compared as lower-case bytes.
fn order_key(name: &Name) -> Vec<Vec<u8>> {
    let mut labels: Vec<Vec<u8>> = name.iter().map(|l| l.to_ascii_lowercase()).collect();
    labels.reverse();
    labels
}

/// The SIMPLE SHA-384 digest of the zone at `apex` made of `records`.
pub fn digest(apex: &Name, records: &[Record]) -> Result<Vec<u8>, String> {
    let mut rows = Vec::with_capacity(records.len());
    for r in records.iter().filter(|r| !excluded(r, apex)) {
        rows.push((
            order_key(&r.name),
            u16::from(r.record_type()),
            rdata_bytes(r)?,
            r,
        ));
    }
    rows.sort_by(|a, b| (&a.0, a.1, &a.2).cmp(&(&b.0, b.1, &b.2)));
    rows.dedup_by(|a, b| a.0 == b.0 && a.1 == b.1 && a.2 == b.2);
    let mut ctx = ring::digest::Context::new(&ring::digest::SHA384);
    let mut buf = Vec::with_capacity(512);
    for (_, rtype, rdata, r) in &rows {
        buf.clear();
        {
            let mut enc = BinEncoder::new(&mut buf);
            enc.set_name_encoding(NameEncoding::UncompressedLowercase);
            r.name
                .emit(&mut enc)
                .map_err(|e| format!("{}: cannot encode the owner: {e}", r.name))?;
        }
        buf.extend_from_slice(&rtype.to_be_bytes());
        buf.extend_from_slice(&u16::from(r.dns_class).to_be_bytes());
        buf.extend_from_slice(&r.ttl.to_be_bytes());
        let len = u16::try_from(rdata.len())
            .map_err(|_| format!("{} {}: RDATA too long", r.name, r.record_type()))?;
        buf.extend_from_slice(&len.to_be_bytes());
        buf.extend_from_slice(rdata);
        ctx.update(&buf);
    }
    Ok(ctx.finish().as_ref().to_vec())
}

/// Checks the zone's ZONEMD: one apex ZONEMD of SIMPLE/SHA-384 whose serial is the
/// SOA's must match the digest (RFC 8976 §4). `Err` says why not.
pub fn verify(apex: &Name, soa_serial: u32, records: &[Record]) -> Result<(), String> {
    let found: Vec<Zonemd> = records
        .iter()
        .filter(|r| r.name == *apex)
        .filter_map(parse)
        .collect();
    if found.is_empty() {
        return Err("it has no ZONEMD record".into());
    }
    let usable: Vec<&Zonemd> = found
        .iter()
        .filter(|z| z.scheme == SCHEME_SIMPLE && z.hash == HASH_SHA384)
        .collect();
    if usable.is_empty() {
        return Err("its ZONEMD is not SIMPLE with SHA-384 (scheme 1, hash 1)".into());
    }
    let Some(z) = usable.iter().find(|z| z.serial == soa_serial) else {
        return Err(format!(
            "its ZONEMD serial {} is not the SOA serial {soa_serial}",
            usable[0].serial
        ));
    };
    let d = digest(apex, records)?;
    if d == z.digest {
        Ok(())
    } else {
        Err(format!(
            "its ZONEMD digest does not match the zone data (ZONEMD {}…, computed {}…)",
            data_encoding::HEXLOWER.encode(&z.digest[..z.digest.len().min(8)]),
            data_encoding::HEXLOWER.encode(&d[..8])
        ))
    }
}
