//! The records of one zone, packed: every owner name in one byte arena, every
//! RDATA in another, a node and a set table of plain numbers, and a hash index
//! from lowercased wire name to node.
//!
//! A zone is built once and then only read (a reload builds a new one), so
//! nothing needs to be its own allocation: a record costs its RDATA bytes, two
//! length octets, and its share of a 24-byte set entry, a 16-byte node entry, its
//! owner name and a 4-byte index slot. hashbrown's `HashTable` is what makes an
//! index of plain `u32`s possible (std's `HashMap` would need each key to own
//! its name).

use foldhash::fast::RandomState;
use hashbrown::HashTable;
use hickory_proto::rr::{Name, Record, RecordType};
use std::hash::BuildHasher;

use super::wire::{MAX_NAME, decode_rdata};

/// The node is a zone cut: NS below the apex.
pub(super) const CUT: u8 = 1;
/// The node owns a DNAME.
pub(super) const DNAME: u8 = 2;
/// An NS record in the zone names this node (its A/AAAA are glue).
pub(super) const NS_TARGET: u8 = 4;

/// One owner name: where its name and its sets are. A node without sets is an
/// empty non-terminal.
#[derive(Clone, Copy, Debug)]
pub(super) struct NodeRec {
    name: u32,
    name_len: u8,
    pub(super) flags: u8,
    nsets: u16,
    sets: u32,
}

/// One RRset: its type, one TTL (RFC 2181 §5.2), where its first record was
/// written, and its records' RDATA in the data arena, each as a 2-octet length
/// and the bytes.
#[derive(Clone, Copy, Debug)]
pub(super) struct SetRec {
    rtype: u16,
    /// Index into the zone's files.
    pub(super) file: u16,
    pub(super) line: u32,
    pub(super) ttl: u32,
    pub(super) count: u32,
    data: u32,
    len: u32,
}

impl SetRec {
    pub(super) fn new(rtype: RecordType, file: u16, line: u32, ttl: u32) -> SetRec {
        SetRec {
            rtype: u16::from(rtype),
            file,
            line,
            ttl,
            count: 0,
            data: 0,
            len: 0,
        }
    }

    pub(super) fn rtype(&self) -> RecordType {
        RecordType::from(self.rtype)
    }
}

/// The zone store. Names are lowercased wire names ([`super::wire`]).
#[derive(Debug)]
pub(super) struct Store {
    hasher: RandomState,
    index: HashTable<u32>,
    names: Vec<u8>,
    nodes: Vec<NodeRec>,
    sets: Vec<SetRec>,
    data: Vec<u8>,
}

/// The zone grew past what the store's 32-bit offsets address (4 GiB of data).
#[derive(Debug)]
pub(super) struct TooBig;

impl Store {
    pub(super) fn new() -> Store {
        Store {
            hasher: RandomState::default(),
            index: HashTable::new(),
            names: Vec::new(),
            nodes: Vec::new(),
            sets: Vec::new(),
            data: Vec::new(),
        }
    }

    //--- Names

    /// The node of `name`, if the zone has it.
    pub(super) fn find(&self, name: &[u8]) -> Option<u32> {
        let hash = self.hasher.hash_one(name);
        self.index.find(hash, |&id| self.name(id) == name).copied()
    }

    /// The node of wire name `name` in any case (a name in record data, say),
    /// lowercased on the stack: no allocation per lookup.
    pub(super) fn find_any_case(&self, name: &[u8]) -> Option<u32> {
        let mut buf = [0u8; MAX_NAME];
        let lower = buf.get_mut(..name.len())?;
        // Length octets (at most 63) are below b'A': lowercasing leaves them be.
        for (d, s) in lower.iter_mut().zip(name) {
            *d = s.to_ascii_lowercase();
        }
        self.find(lower)
    }

    /// The node of `name`, made (without sets) if the zone does not have it yet.
    pub(super) fn intern(&mut self, name: &[u8]) -> Result<u32, TooBig> {
        if let Some(id) = self.find(name) {
            return Ok(id);
        }
        let id = u32::try_from(self.nodes.len()).map_err(|_| TooBig)?;
        let at = u32::try_from(self.names.len()).map_err(|_| TooBig)?;
        self.names.extend_from_slice(name);
        self.nodes.push(NodeRec {
            name: at,
            // A wire name is at most 255 octets.
            name_len: name.len() as u8,
            flags: 0,
            nsets: 0,
            sets: 0,
        });
        let hash = self.hasher.hash_one(name);
        let (names, nodes, hasher) = (&self.names, &self.nodes, &self.hasher);
        self.index.insert_unique(hash, id, |&i| {
            let n = &nodes[i as usize];
            hasher.hash_one(&names[n.name as usize..][..n.name_len as usize])
        });
        Ok(id)
    }

    pub(super) fn name(&self, id: u32) -> &[u8] {
        let n = &self.nodes[id as usize];
        &self.names[n.name as usize..][..n.name_len as usize]
    }

    pub(super) fn node(&self, id: u32) -> &NodeRec {
        &self.nodes[id as usize]
    }

    pub(super) fn node_mut(&mut self, id: u32) -> &mut NodeRec {
        &mut self.nodes[id as usize]
    }

    /// Number of nodes (empty non-terminals included).
    pub(super) fn node_count(&self) -> u32 {
        self.nodes.len() as u32
    }

    //--- Sets

    /// The sets of node `id`, in type order.
    pub(super) fn sets(&self, id: u32) -> &[SetRec] {
        let n = &self.nodes[id as usize];
        &self.sets[n.sets as usize..][..n.nsets as usize]
    }

    pub(super) fn set(&self, id: u32, rtype: RecordType) -> Option<&SetRec> {
        let t = u16::from(rtype);
        self.sets(id).iter().find(|s| s.rtype == t)
    }

    /// Starts the sets of node `id`: [`Store::push_set`] adds them, all of one
    /// node's sets in a row.
    pub(super) fn begin_sets(&mut self, id: u32) {
        let first = self.sets.len() as u32;
        let n = &mut self.nodes[id as usize];
        n.sets = first;
        n.nsets = 0;
    }

    /// Adds `set` with the records in `rdatas` to node `id` (after
    /// [`Store::begin_sets`] for it).
    pub(super) fn push_set<'a>(
        &mut self,
        id: u32,
        mut set: SetRec,
        rdatas: impl Iterator<Item = &'a [u8]>,
    ) -> Result<(), TooBig> {
        let start = self.data.len();
        set.data = u32::try_from(start).map_err(|_| TooBig)?;
        for r in rdatas {
            // RDATA is at most 65535 octets: the reader refuses longer.
            self.data.extend_from_slice(&(r.len() as u16).to_be_bytes());
            self.data.extend_from_slice(r);
            set.count += 1;
        }
        set.len = u32::try_from(self.data.len() - start).map_err(|_| TooBig)?;
        self.sets.push(set);
        let n = &mut self.nodes[id as usize];
        n.nsets = n.nsets.checked_add(1).ok_or(TooBig)?;
        Ok(())
    }

    /// The RDATA of each record of `set`.
    pub(super) fn rdatas<'s>(&'s self, set: &SetRec) -> impl Iterator<Item = &'s [u8]> + 's {
        let mut rest = &self.data[set.data as usize..][..set.len as usize];
        std::iter::from_fn(move || {
            let (len, tail) = rest.split_first_chunk::<2>()?;
            let len = u16::from_be_bytes(*len) as usize;
            let (one, tail) = tail.split_at_checked(len)?;
            rest = tail;
            Some(one)
        })
    }

    /// The set as records owned by `owner`.
    pub(super) fn records(&self, set: &SetRec, owner: &Name) -> Vec<Record> {
        let rtype = set.rtype();
        self.rdatas(set)
            // The builder stores only RDATA that decodes.
            .filter_map(|b| decode_rdata(rtype, b).ok())
            .map(|d| Record::from_rdata(owner.clone(), set.ttl, d))
            .collect()
    }

    /// Renumbers the sets' files: `map[old] = new`.
    pub(super) fn renumber_files(&mut self, map: &[u16]) {
        for set in &mut self.sets {
            set.file = map.get(set.file as usize).copied().unwrap_or(set.file);
        }
    }

    /// Number of records.
    pub(super) fn record_count(&self) -> usize {
        self.sets.iter().map(|s| s.count as usize).sum()
    }

    /// Gives back what the arenas reserved beyond their contents.
    pub(super) fn shrink(&mut self) {
        self.names.shrink_to_fit();
        self.nodes.shrink_to_fit();
        self.sets.shrink_to_fit();
        self.data.shrink_to_fit();
        let (names, nodes, hasher) = (&self.names, &self.nodes, &self.hasher);
        self.index.shrink_to_fit(|&i| {
            let n = &nodes[i as usize];
            hasher.hash_one(&names[n.name as usize..][..n.name_len as usize])
        });
    }

    /// Bytes held (for the bench's per-record figure and logs).
    pub(super) fn heap_bytes(&self) -> usize {
        self.index.capacity() * (4 + 1)
            + self.names.capacity()
            + self.nodes.capacity() * size_of::<NodeRec>()
            + self.sets.capacity() * size_of::<SetRec>()
            + self.data.capacity()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn interned_names_find_their_sets() {
        let mut s = Store::new();
        let a = s.intern(b"\x01a\x00").unwrap();
        let b = s.intern(b"\x01b\x00").unwrap();
        assert_eq!(s.intern(b"\x01a\x00").unwrap(), a);
        assert_ne!(a, b);
        s.begin_sets(b);
        let set = SetRec::new(RecordType::A, 0, 7, 300);
        let rd: [&[u8]; 2] = [&[192, 0, 2, 1], &[192, 0, 2, 2]];
        s.push_set(b, set, rd.into_iter()).unwrap();
        assert_eq!(s.find(b"\x01b\x00"), Some(b));
        assert_eq!(s.find(b"\x01c\x00"), None);
        assert_eq!(s.find_any_case(b"\x01B\x00"), Some(b));
        assert_eq!(s.find_any_case(&[1; 300]), None);
        let got = s.set(b, RecordType::A).unwrap();
        assert_eq!((got.count, got.line, got.ttl), (2, 7, 300));
        assert_eq!(s.rdatas(got).collect::<Vec<_>>(), rd);
        assert!(s.sets(a).is_empty());
        let owner = Name::from_ascii("b.").unwrap();
        assert_eq!(s.records(got, &owner).len(), 2);
        assert_eq!(s.record_count(), 2);
    }
}
