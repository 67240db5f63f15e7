//! DNAME (RFC 6672) for upstream answers. hickory-proto 0.26 has no DNAME RData;
//! from the wire a DNAME decodes as `RData::Unknown` with the target name in
//! uncompressed wire format (RFC 6672 §2.5 forbids compressing it).
//! TEMPORARY: replaced by `crate::zones::dname` when the zone layer lands.

use hickory_proto::rr::rdata::NULL;
use hickory_proto::rr::{Name, RData, Record, RecordType};
use hickory_proto::serialize::binary::{BinDecodable, BinDecoder, BinEncodable};

/// A DNAME record.
pub fn dname(owner: Name, ttl: u32, target: &Name) -> Record {
    let bytes = target.to_bytes().unwrap_or_default();
    Record::from_rdata(
        owner,
        ttl,
        RData::Unknown {
            code: RecordType::DNAME,
            rdata: NULL::with(bytes),
        },
    )
}

/// The target of a DNAME's data.
pub fn dname_target(data: &RData) -> Option<Name> {
    let RData::Unknown { code, rdata } = data else {
        return None;
    };
    if *code != RecordType::DNAME {
        return None;
    }
    let bytes = rdata.anything.as_slice();
    let mut d = BinDecoder::new(bytes);
    let n = Name::read(&mut d).ok()?;
    d.is_empty().then_some(n)
}

/// `qname` with the `owner` suffix replaced by `target`; too long is an error.
pub fn synthesize(qname: &Name, owner: &Name, target: &Name) -> Result<Name, ()> {
    let keep = qname.num_labels() - owner.num_labels();
    let mut out = target.clone();
    for label in qname
        .iter()
        .take(keep as usize)
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
    {
        out = out.prepend_label(label).map_err(|_| ())?;
    }
    Ok(out)
}
