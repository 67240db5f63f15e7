//! One cache entry as kept in the store: key and data in wire form, in one
//! allocation beside the entry's own.

use hickory_proto::rr::{LowerName, Record, RecordType};

use super::{Data, Delegation, Trust, compact};

/// One entry as kept: its key (root, kind, type, name in wire form) and its data in
/// wire form, the name and the data in one allocation (`wire`: the name's
/// `name_len` bytes, then the data): a cold name's entry is two allocations (this
/// and its `Arc`), not four (issue 19: bytes per cached name).
pub(super) struct Entry {
    pub(super) root: u8,
    kind: u8,
    rtype: u16,
    pub(super) trust: Trust,
    name_len: u16,
    /// Unix seconds.
    pub(super) expires: u64,
    wire: Box<[u8]>,
    stored: Stored,
}

/// What the data after the name is (empty for a negative answer without SOA or
/// proof); a delegation is kept as it is.
pub(super) enum Stored {
    Set,
    NoData,
    NxDomain,
    Delegation(Box<Delegation>),
}

impl Entry {
    pub(super) fn new(
        (root, kind, rtype): (u8, u8, u16),
        name: &LowerName,
        data: Option<Box<[u8]>>,
        stored: Stored,
        trust: Trust,
        expires: u64,
    ) -> Option<Entry> {
        let name = compact::name_bytes(name);
        let data = data.as_deref().unwrap_or_default();
        let mut wire = Vec::with_capacity(name.len() + data.len());
        wire.extend_from_slice(&name);
        wire.extend_from_slice(data);
        Some(Entry {
            root,
            kind,
            rtype,
            trust,
            name_len: u16::try_from(name.len()).ok()?,
            expires,
            wire: wire.into_boxed_slice(),
            stored,
        })
    }

    fn name(&self) -> &[u8] {
        self.wire
            .get(..usize::from(self.name_len))
            .unwrap_or_default()
    }

    /// The data after the name; `None` when there is none.
    fn payload(&self) -> Option<&[u8]> {
        self.wire
            .get(usize::from(self.name_len)..)
            .filter(|d| !d.is_empty())
    }

    pub(super) fn is(&self, root: u8, kind: u8, rtype: u16, name: &LowerName) -> bool {
        self.root == root
            && self.kind == kind
            && self.rtype == rtype
            && compact::same_name(self.name(), name)
    }

    /// The data as hickory records, TTLs set to `ttl`.
    pub(super) fn data(&self, ttl: u32) -> Data {
        let neg = || {
            let mut rs = self
                .payload()
                .map_or_else(Vec::new, |b| compact::decode_records(b, ttl));
            let soa = (rs.first().map(Record::record_type) == Some(RecordType::SOA))
                .then(|| rs.remove(0));
            (soa, rs)
        };
        match &self.stored {
            Stored::Set => {
                let owner = crate::zones::wire::to_name(self.name());
                Data::Records(compact::decode_set(
                    &owner,
                    RecordType::from(self.rtype),
                    ttl,
                    self.payload().unwrap_or_default(),
                ))
            }
            Stored::NoData => {
                let (soa, proof) = neg();
                Data::NoData(soa, proof)
            }
            Stored::NxDomain => {
                let (soa, proof) = neg();
                Data::NxDomain(soa, proof)
            }
            Stored::Delegation(d) => Data::Delegation((**d).clone()),
        }
    }

    pub(super) fn bytes(&self) -> usize {
        let delegation = match &self.stored {
            Stored::Delegation(d) => (d.ns.len() + d.glue.len()) * 96,
            _ => 0,
        };
        std::mem::size_of::<Entry>() + self.wire.len() + delegation
    }
}
