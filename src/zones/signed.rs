//! Serving pre-signed zones: the RRSIGs that go with an answer and the NSEC or
//! NSEC3 records that prove a denial (RFC 4035 §3.1, RFC 5155 §7.2).
//!
//! A zone signed by `dnssec-signzone`, `ldns-signzone` or `kzonesign` holds its
//! RRSIGs, NSEC and NSEC3 records like any other data; serving it needs three
//! things more, built when the zone is ([`Signed`]):
//!
//! - the nodes owning an NSEC in canonical order (RFC 4034 §6.1), to find the
//!   one whose span covers a name that does not exist;
//! - the NSEC3 chain kept apart from the zone's names (hashed owners are not
//!   names of the zone: they must not be found by a query, nor count as TLDs of a
//!   root zone), with the hashes sorted to find the one matching or covering a
//!   name, and the salt and iterations to hash names with;
//! - nothing else: RRSIGs stay one set per owner, and the ones covering a type
//!   are picked by their first two octets (the type covered).
//!
//! An unsigned zone has no [`Signed`]: its answers cost nothing more.
//!
//! What goes where, as NSD and Knot DNS do it:
//!
//! | answer | NSEC | NSEC3 |
//! |---|---|---|
//! | data, CNAME, DNAME | RRSIGs of each RRset | same |
//! | wildcard expansion | + NSEC covering the name | + NSEC3 covering the next closer name |
//! | NODATA | SOA, NSEC at the name (covering it for an empty non-terminal) | NSEC3 matching the name, else the closest provable encloser's proof |
//! | wildcard NODATA | + NSEC covering the name, NSEC at the wildcard | closest encloser, next closer, NSEC3 matching the wildcard |
//! | NXDOMAIN | NSEC covering the name, NSEC covering `*.<closest encloser>` | closest encloser, next closer, NSEC3 covering the wildcard |
//! | referral, DS query at a cut | DS and its RRSIG, or the NSEC at the cut | DS, or NSEC3 matching the cut, else (opt-out) the closest provable encloser's proof |
//!
//! Every NSEC and NSEC3 goes with its RRSIGs, the SOA of a negative answer with
//! its RRSIG; RRSIGs carry the TTL of the RRset they cover (RFC 4035 §2.2).

use std::cmp::Ordering;

use hickory_proto::dnssec::DigestType;
use hickory_proto::dnssec::crypto::Digest;
use hickory_proto::rr::{Name, Record, RecordType};

use super::build::Builder;
use super::problem::Problem;
use super::store::Store;
use super::wire::{decode_rdata, label_count, label_starts, to_name};
use super::zone::Zone;

/// RRSIG and NSEC3 type codes as their RDATA starts (type covered).
const NSEC3_CODE: [u8; 2] = 50u16.to_be_bytes();

/// SHA-1, the one NSEC3 hash (RFC 5155 §11): 20 octets.
pub(super) const HASH_LEN: usize = 20;

/// What serving a signed zone needs beyond its records.
#[derive(Debug)]
pub(super) struct Signed {
    /// Nodes of the zone's store with an NSEC, in canonical order.
    nsec: Box<[u32]>,
    nsec3: Option<Nsec3Chain>,
}

impl Signed {
    /// The NSEC3 chain's records, if the zone has one.
    pub(super) fn nsec3_store(&self) -> Option<&Store> {
        self.nsec3.as_ref().map(|c| &c.store)
    }
}

/// The NSEC3 records and their RRSIGs, apart from the zone's names.
#[derive(Debug)]
pub(super) struct Nsec3Chain {
    /// Hashed owners (`<base32hex>.<origin>`) and their NSEC3 and RRSIG sets.
    store: Store,
    /// Each NSEC3's owner hash and node in `store`, sorted by hash.
    hashes: Box<[([u8; HASH_LEN], u32)]>,
    iterations: u16,
    salt: Box<[u8]>,
}

/// Is this record part of the NSEC3 chain (kept in its own store)?
pub(super) fn in_nsec3_chain(rtype: RecordType, rdata: &[u8]) -> bool {
    rtype == RecordType::NSEC3 || (rtype == RecordType::RRSIG && rdata.starts_with(&NSEC3_CODE))
}

/// RFC 4034 §6.1: names compared label by label from the right, each label as
/// lowercase octets (both names are lowercased wire names here).
pub(super) fn canonical_cmp(a: &[u8], b: &[u8]) -> Ordering {
    fn label(name: &[u8], at: usize) -> &[u8] {
        let len = name.get(at).copied().unwrap_or(0) as usize;
        name.get(at + 1..at + 1 + len).unwrap_or(&[])
    }
    let (sa, sb) = (label_starts(a), label_starts(b));
    for i in 1..=sa.count().min(sb.count()) {
        let (x, y) = (label(a, sa.suffix(i)), label(b, sb.suffix(i)));
        match x.cmp(y) {
            Ordering::Equal => {}
            o => return o,
        }
    }
    sa.count().cmp(&sb.count())
}

/// The 20-octet hash an NSEC3 owner's first label spells in base32hex; `None`
/// for any other label.
pub(super) fn owner_hash(owner: &[u8]) -> Option<[u8; HASH_LEN]> {
    let len = *owner.first()? as usize;
    let label = owner.get(1..1 + len)?.to_ascii_uppercase();
    let bytes = data_encoding::BASE32HEX_NOPAD.decode(&label).ok()?;
    bytes.try_into().ok()
}

//------------ Building --------------------------------------------------------

impl Builder {
    /// NSEC3 owners are one hash label directly below the apex (RFC 5155 §3).
    pub(super) fn check_nsec3(&self, problems: &mut Vec<Problem>) {
        let olabels = label_count(&self.owire);
        let store = &self.nsec3_store;
        for id in 0..store.node_count() {
            let owner = store.name(id);
            let ok = label_count(owner) == olabels + 1 && owner_hash(owner).is_some();
            if ok {
                continue;
            }
            for set in store.sets(id) {
                let msg = format!(
                    "{} {} is not owned by an NSEC3 hash directly below {} (RFC 5155 §3)",
                    to_name(owner),
                    set.rtype(),
                    self.origin
                );
                self.error(problems, set, msg);
            }
        }
    }

    /// What serving needs when the zone is signed (any RRSIG or NSEC3 in it);
    /// `None` for an unsigned zone.
    pub(super) fn signed(&mut self) -> Option<Box<Signed>> {
        let store = &self.store;
        let has_sigs = (0..store.node_count()).any(|id| store.set(id, RecordType::RRSIG).is_some());
        let nsec3_store = std::mem::replace(&mut self.nsec3_store, Store::new());
        if !has_sigs && nsec3_store.node_count() == 0 {
            return None;
        }
        let mut nsec: Vec<u32> = (0..store.node_count())
            .filter(|&id| store.set(id, RecordType::NSEC).is_some())
            .collect();
        nsec.sort_by(|&a, &b| canonical_cmp(store.name(a), store.name(b)));
        let nsec3 = self.nsec3_chain(nsec3_store);
        Some(Box::new(Signed {
            nsec: nsec.into_boxed_slice(),
            nsec3,
        }))
    }

    /// The chain, hashed with the apex NSEC3PARAM's salt and iterations (those
    /// of the first NSEC3 without one).
    fn nsec3_chain(&self, mut store: Store) -> Option<Nsec3Chain> {
        let mut hashes: Vec<([u8; HASH_LEN], u32)> = (0..store.node_count())
            .filter(|&id| store.set(id, RecordType::NSEC3).is_some())
            .filter_map(|id| Some((owner_hash(store.name(id))?, id)))
            .collect();
        if hashes.is_empty() {
            return None;
        }
        hashes.sort_unstable();
        let apex = self.store.find(&self.owire);
        let param = apex
            .and_then(|id| self.store.set(id, RecordType::NSEC3PARAM))
            .and_then(|s| self.store.rdatas(s).next());
        let first = store
            .set(hashes[0].1, RecordType::NSEC3)
            .and_then(|s| store.rdatas(s).next());
        // Both start: algorithm, flags, iterations (2), salt length, salt.
        let p = param.or(first)?;
        let iterations = u16::from_be_bytes([*p.get(2)?, *p.get(3)?]);
        let salt_len = *p.get(4)? as usize;
        let salt = p.get(5..5 + salt_len)?.into();
        store.shrink();
        Some(Nsec3Chain {
            store,
            hashes: hashes.into_boxed_slice(),
            iterations,
            salt,
        })
    }
}

//------------ Serving ---------------------------------------------------------

/// Appends `store`'s records of `rtype` at node `id`, owned by `owner`, and the
/// RRSIGs covering them with the set's TTL.
fn push_signed_set(store: &Store, id: u32, rtype: RecordType, owner: &Name, out: &mut Vec<Record>) {
    let Some(set) = store.set(id, rtype) else {
        return;
    };
    out.extend(store.records(set, owner));
    push_sigs(store, id, rtype, owner, set.ttl, out);
}

/// Appends the RRSIGs at node `id` covering `covered`, owned by `owner`, with
/// TTL `ttl` (that of the RRset they cover, RFC 4035 §2.2).
pub(super) fn push_sigs(
    store: &Store,
    id: u32,
    covered: RecordType,
    owner: &Name,
    ttl: u32,
    out: &mut Vec<Record>,
) {
    let Some(sigs) = store.set(id, RecordType::RRSIG) else {
        return;
    };
    let code = u16::from(covered).to_be_bytes();
    for rdata in store.rdatas(sigs).filter(|r| r.starts_with(&code)) {
        if let Ok(data) = decode_rdata(RecordType::RRSIG, rdata) {
            out.push(Record::from_rdata(owner.clone(), ttl, data));
        }
    }
}

impl Nsec3Chain {
    fn hash(&self, name: &[u8]) -> Option<[u8; HASH_LEN]> {
        let d = Digest::iterated(&self.salt, name, DigestType::SHA1, self.iterations).ok()?;
        d.as_ref().try_into().ok()
    }

    /// The NSEC3 whose owner is `name`'s hash.
    fn matching(&self, name: &[u8]) -> Option<u32> {
        let h = self.hash(name)?;
        let at = self.hashes.binary_search_by(|(x, _)| x.cmp(&h)).ok()?;
        Some(self.hashes[at].1)
    }

    /// The NSEC3 whose span covers `name`'s hash (the last one for a hash
    /// before the first: the chain wraps).
    fn covering(&self, name: &[u8]) -> Option<u32> {
        let h = self.hash(name)?;
        let at = self.hashes.partition_point(|(x, _)| *x <= h);
        let i = at.checked_sub(1).unwrap_or(self.hashes.len() - 1);
        Some(self.hashes[i].1)
    }

    fn push(&self, id: u32, out: &mut Vec<Record>) {
        let owner = to_name(self.store.name(id));
        push_signed_set(&self.store, id, RecordType::NSEC3, &owner, out);
    }

    /// RFC 5155 §7.2.1: the NSEC3 matching the closest provable encloser of
    /// `name` (its closest ancestor with an NSEC3; `name` itself excluded) and
    /// the one covering the next closer name. Returns that encloser's labels.
    fn closest_encloser_proof(&self, name: &[u8], olabels: usize, ids: &mut Vec<u32>) -> usize {
        let starts = label_starts(name);
        for n in (olabels..starts.count()).rev() {
            if let Some(m) = self.matching(&name[starts.suffix(n)..]) {
                ids.push(m);
                ids.extend(self.covering(&name[starts.suffix(n + 1)..]));
                return n;
            }
        }
        olabels
    }
}

/// `*.` before the wire name `encloser`, on the stack; `None` when too long.
fn with_star(encloser: &[u8], buf: &mut [u8; 256]) -> Option<usize> {
    let len = encloser.len() + 2;
    if len > 255 {
        return None;
    }
    buf[..2].copy_from_slice(b"\x01*");
    buf[2..len].copy_from_slice(encloser);
    Some(len)
}

impl Zone {
    fn olabels(&self) -> usize {
        self.origin.num_labels() as usize
    }

    /// The records of node `id` of type `rtype`, owned by `owner`, with their
    /// RRSIGs when the zone is signed (none for RRSIG and ANY answers, which
    /// hold every RRSIG already).
    pub(super) fn answer_records(&self, id: u32, rtype: RecordType, owner: &Name) -> Vec<Record> {
        let Some(set) = self.store.set(id, rtype) else {
            return Vec::new();
        };
        let mut out = self.store.records(set, owner);
        if self.signed.is_some() && !matches!(rtype, RecordType::RRSIG | RecordType::ANY) {
            push_sigs(&self.store, id, rtype, owner, set.ttl, &mut out);
        }
        out
    }

    /// The SOA's RRSIG, for the authority section of a negative answer (with the
    /// negative SOA's TTL).
    fn push_soa_sig(&self, out: &mut Vec<Record>) {
        if let Some(apex) = self.store.find(&self.origin_wire) {
            let soa = &self.negative_soa;
            push_sigs(&self.store, apex, RecordType::SOA, &soa.name, soa.ttl, out);
        }
    }

    /// The NSEC node whose span covers `name` (or owns it).
    fn nsec_covering(&self, s: &Signed, name: &[u8]) -> Option<u32> {
        let at = s
            .nsec
            .partition_point(|&id| canonical_cmp(self.store.name(id), name) != Ordering::Greater);
        let i = at.checked_sub(1).or(s.nsec.len().checked_sub(1))?;
        Some(s.nsec[i])
    }

    /// Appends each NSEC node's NSEC and RRSIG, each node once.
    fn push_nsecs(&self, ids: &mut Vec<u32>, out: &mut Vec<Record>) {
        dedup(ids);
        for &id in ids.iter() {
            let owner = to_name(self.store.name(id));
            push_signed_set(&self.store, id, RecordType::NSEC, &owner, out);
        }
    }

    fn push_nsec3s(&self, c: &Nsec3Chain, ids: &mut Vec<u32>, out: &mut Vec<Record>) {
        dedup(ids);
        for &id in ids.iter() {
            c.push(id, out);
        }
    }

    /// NODATA at `name` (node `id` if it exists): the SOA's RRSIG and the proof
    /// that the name has no such type.
    pub(super) fn nodata_proof(&self, name: &[u8], id: Option<u32>, out: &mut Vec<Record>) {
        let Some(s) = &self.signed else { return };
        self.push_soa_sig(out);
        self.no_type_proof(s, name, id, out);
    }

    /// The NSEC at `name` (covering it for an empty non-terminal), or the NSEC3
    /// matching it, else its closest provable encloser's proof (a name opt-out
    /// left out of the chain).
    fn no_type_proof(&self, s: &Signed, name: &[u8], id: Option<u32>, out: &mut Vec<Record>) {
        let mut ids = Vec::with_capacity(2);
        if let Some(c) = &s.nsec3 {
            match c.matching(name) {
                Some(m) => ids.push(m),
                None => {
                    c.closest_encloser_proof(name, self.olabels(), &mut ids);
                }
            }
            return self.push_nsec3s(c, &mut ids, out);
        }
        let own = id.filter(|&i| self.store.set(i, RecordType::NSEC).is_some());
        ids.extend(own.or_else(|| self.nsec_covering(s, name)));
        self.push_nsecs(&mut ids, out);
    }

    /// NXDOMAIN for `name`: the SOA's RRSIG, the name's non-existence and the
    /// wildcard's at its closest encloser.
    pub(super) fn nxdomain_proof(&self, name: &[u8], out: &mut Vec<Record>) {
        let Some(s) = &self.signed else { return };
        self.push_soa_sig(out);
        let mut buf = [0u8; 256];
        let mut ids = Vec::with_capacity(3);
        if let Some(c) = &s.nsec3 {
            let starts = label_starts(name);
            let n = c.closest_encloser_proof(name, self.olabels(), &mut ids);
            if let Some(len) = with_star(&name[starts.suffix(n)..], &mut buf) {
                ids.extend(c.covering(&buf[..len]));
            }
            return self.push_nsec3s(c, &mut ids, out);
        }
        ids.extend(self.nsec_covering(s, name));
        let encloser = self.closest_encloser(name);
        if let Some(len) = with_star(&name[encloser..], &mut buf) {
            ids.extend(self.nsec_covering(s, &buf[..len]));
        }
        self.push_nsecs(&mut ids, out);
    }

    /// Where in `name` its closest encloser starts: the longest ancestor the
    /// zone has (a node, empty non-terminals included).
    fn closest_encloser(&self, name: &[u8]) -> usize {
        let starts = label_starts(name);
        let olabels = self.olabels();
        let mut n = starts.count().saturating_sub(1);
        while n > olabels && self.store.find(&name[starts.suffix(n)..]).is_none() {
            n -= 1;
        }
        starts.suffix(n.max(olabels))
    }

    /// A wildcard answered `name` (`wild` is the wildcard node; `answered`: with
    /// data, else NODATA): the proof that no closer name exists, and for NODATA
    /// that the wildcard has no such type (RFC 4035 §3.1.3.3-4, RFC 5155
    /// §7.2.5-6).
    pub(super) fn wildcard_proof(
        &self,
        name: &[u8],
        wild: u32,
        answered: bool,
        out: &mut Vec<Record>,
    ) {
        let Some(s) = &self.signed else { return };
        if !answered {
            self.push_soa_sig(out);
        }
        let mut ids = Vec::with_capacity(3);
        if let Some(c) = &s.nsec3 {
            let starts = label_starts(name);
            // The wildcard's parent is the closest encloser.
            let encloser = label_count(self.store.name(wild)) - 1;
            if !answered {
                ids.extend(c.matching(&name[starts.suffix(encloser)..]));
            }
            ids.extend(c.covering(&name[starts.suffix(encloser + 1)..]));
            if !answered {
                ids.extend(c.matching(self.store.name(wild)));
            }
            return self.push_nsec3s(c, &mut ids, out);
        }
        ids.extend(self.nsec_covering(s, name));
        if !answered && self.store.set(wild, RecordType::NSEC).is_some() {
            ids.push(wild);
        }
        self.push_nsecs(&mut ids, out);
    }

    /// At the delegation `cut`: its DS and RRSIG, else the proof it has none
    /// (an insecure delegation; with opt-out, the closest provable encloser's).
    pub(super) fn delegation_proof(&self, cut: u32, out: &mut Vec<Record>) {
        let Some(s) = &self.signed else { return };
        let owner = to_name(self.store.name(cut));
        if self.store.set(cut, RecordType::DS).is_some() {
            return push_signed_set(&self.store, cut, RecordType::DS, &owner, out);
        }
        let name = self.store.name(cut);
        self.no_type_proof(s, name, Some(cut), out);
    }
}

/// Drops repeated ids, keeping the first of each.
fn dedup(ids: &mut Vec<u32>) {
    let mut seen = Vec::with_capacity(ids.len());
    ids.retain(|id| {
        let new = !seen.contains(id);
        seen.push(*id);
        new
    });
}

#[cfg(test)]
#[path = "signed_tests.rs"]
mod tests;
