//! One zone in memory, and [`Zone::lookup`]: answering a question the way an
//! authoritative server for it would.
//!
//! Zones are made by [`super::build`], which checks the rules this module relies
//! on (one SOA, nothing but glue below a cut, nothing below a DNAME …).

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use hickory_proto::rr::{LowerName, Name, Record, RecordType};

use super::dname::synthesized_cname;
use super::signed::Signed;
use super::stamp::Stamp;
use super::store::{CUT, DNAME, Store};
use super::wire::{LabelStarts, MAX_NAME, label_count, label_starts, to_name};

//------------ Lookup ----------------------------------------------------------

/// What a zone says about one question.
#[derive(Clone, Debug)]
pub enum Lookup {
    /// Records owned by the query name: the asked type, or a CNAME. Below a DNAME:
    /// the DNAME (owned by its owner), then the CNAME synthesised from it (owned by
    /// the query name as asked, with the DNAME's TTL; RFC 6672 §3.1). In a signed
    /// zone each RRset is followed by its RRSIGs (the synthesised CNAME has none).
    Answer(Vec<Record>),
    /// The name is at or below a zone cut: NS of the child and in-zone glue.
    Referral {
        cut: Name,
        ns: Vec<Record>,
        glue: Vec<Record>,
    },
    /// The name exists but has no data of the asked type.
    NoData { soa: Record },
    /// The name does not exist.
    NxDomain { soa: Record },
    /// The name is below a DNAME, but substituting its target gives a name longer
    /// than 255 octets: the answer is YXDOMAIN, with the DNAME (RFC 6672 §2.2).
    NameTooLong { dname: Record },
}

//------------ Zone ------------------------------------------------------------

#[derive(Debug)]
pub struct Zone {
    pub(super) origin: LowerName,
    pub(super) origin_name: Name,
    /// The origin, lowercased wire form.
    pub(super) origin_wire: Box<[u8]>,
    /// The zone's main file, and every file it includes.
    pub files: Vec<PathBuf>,
    /// Every name with data, and every empty non-terminal (a node without sets).
    pub(super) store: Store,
    /// Whether any node is a cut or owns a DNAME (most leaf zones have neither,
    /// and lookup then skips the walk down from the apex).
    pub(super) has_cuts_or_dnames: bool,
    /// Whether any name with data is a wildcard (`*.…`): without one, a name
    /// that is not in the zone is NXDOMAIN without the closest-encloser search.
    pub(super) has_wildcards: bool,
    /// What serving a signed zone needs (the NSEC order, the NSEC3 chain);
    /// `None` for an unsigned zone.
    pub(super) signed: Option<Box<Signed>>,
    /// The SOA as negative answers carry it, built at load: TTL min(SOA TTL,
    /// MINIMUM) (RFC 2308 §5).
    pub(super) negative_soa: Record,
    pub(super) serial: u32,
    pub(super) records: usize,
    /// What every file held when it was read, to skip unchanged zones on reload.
    pub(super) stamps: Vec<Stamp>,
    /// Signed by altroot ([`super::sign`]): when to sign it again (Unix time).
    pub(super) resign_at: Option<u64>,
    /// Signed by altroot: the zones of its folder it holds a DS for.
    pub(super) signed_children: Vec<Name>,
}

/// A query name lowercased in wire form, on the stack.
struct QName {
    buf: [u8; MAX_NAME + 1],
    len: usize,
}

impl QName {
    fn new(name: &Name) -> QName {
        let mut q = QName {
            buf: [0; MAX_NAME + 1],
            len: 0,
        };
        for label in name.iter() {
            // A Name is at most 255 octets in wire form, so this fits.
            let end = q.len + 1 + label.len();
            if end >= q.buf.len() {
                break;
            }
            q.buf[q.len] = label.len() as u8;
            for (d, s) in q.buf[q.len + 1..end].iter_mut().zip(label) {
                *d = s.to_ascii_lowercase();
            }
            q.len = end;
        }
        q.buf[q.len] = 0;
        q.len += 1;
        q
    }

    fn wire(&self) -> &[u8] {
        &self.buf[..self.len]
    }
}

impl Zone {
    /// True when none of the zone's files changed since it was read.
    pub(super) fn unchanged(&self) -> bool {
        !self.stamps.is_empty() && self.stamps.iter().all(Stamp::still_valid)
    }

    /// Where an RRset was first written (for messages).
    fn position(&self, name: &[u8], rtype: RecordType) -> (PathBuf, usize) {
        self.store
            .find(name)
            .and_then(|id| {
                let sets = self.store.sets(id);
                self.store.set(id, rtype).or(sets.first())
            })
            .map(|s| (self.file_of(s.file), s.line as usize))
            .unwrap_or_else(|| (self.files.first().cloned().unwrap_or_default(), 1))
    }

    fn file_of(&self, file: u16) -> PathBuf {
        self.files.get(file as usize).cloned().unwrap_or_default()
    }

    /// Where the SOA was written (for messages about the whole zone).
    pub fn soa_line(&self) -> (PathBuf, usize) {
        self.position(&self.origin_wire, RecordType::SOA)
    }

    /// In a root zone: each TLD name and where it was first written.
    pub(super) fn tld_lines(&self) -> BTreeMap<LowerName, (PathBuf, usize)> {
        let mut first: HashMap<&[u8], (&Path, u32)> = HashMap::new();
        if !self.origin.is_root() {
            return BTreeMap::new();
        }
        let none = Path::new("");
        for id in 0..self.store.node_count() {
            let name = self.store.name(id);
            let starts = label_starts(name);
            if starts.count() == 0 {
                continue;
            }
            let tld = &name[starts.suffix(1)..];
            for set in self.store.sets(id) {
                let file = self
                    .files
                    .get(set.file as usize)
                    .map_or(none, |p| p.as_path());
                let here = (file, set.line);
                let e = first.entry(tld).or_insert(here);
                if here < *e {
                    *e = here;
                }
            }
        }
        first
            .into_iter()
            .map(|(t, (f, l))| (LowerName::new(&to_name(t)), (f.to_path_buf(), l as usize)))
            .collect()
    }

    /// In a root zone: the TLD names it has itself, by delegation or by data
    /// they own ([`Zone::is_cut`] or [`Zone::has_data`] of the TLD); names merely
    /// below a TLD do not count.
    pub(super) fn own_tlds(&self) -> impl Iterator<Item = LowerName> + '_ {
        let store = &self.store;
        let nodes = if self.origin.is_root() {
            store.node_count()
        } else {
            0
        };
        (0..nodes)
            .filter(move |&id| {
                label_count(store.name(id)) == 1
                    && (store.node(id).flags & CUT != 0 || !store.sets(id).is_empty())
            })
            .map(move |id| LowerName::new(&to_name(store.name(id))))
    }

    pub fn origin(&self) -> &Name {
        &self.origin_name
    }

    pub fn serial(&self) -> u32 {
        self.serial
    }

    /// Number of records (for logs).
    pub fn len(&self) -> usize {
        self.records
    }

    pub fn is_empty(&self) -> bool {
        self.records == 0
    }

    /// Bytes the zone's records take in memory (for logs and the bench).
    pub fn store_bytes(&self) -> usize {
        self.store.heap_bytes()
    }

    /// The zone's SOA record as written (its own TTL): what a zone transfer
    /// starts and ends with. Falls back to the negative-answer SOA, which every
    /// zone has (built at load from the one SOA the zone must have).
    pub fn soa(&self) -> Record {
        match self.lookup(&self.origin_name, RecordType::SOA) {
            Lookup::Answer(rs) => rs
                .into_iter()
                .find(|r| r.record_type() == RecordType::SOA)
                .unwrap_or_else(|| self.negative_soa.clone()),
            _ => self.negative_soa.clone(),
        }
    }

    /// The SOA for negative answers: TTL is min(SOA TTL, MINIMUM) (RFC 2308 §5).
    pub fn negative_soa(&self) -> Record {
        self.negative_soa.clone()
    }

    /// True when this exact name owns data in the zone.
    pub(super) fn has_data(&self, name: &LowerName) -> bool {
        self.store
            .find(QName::new(name).wire())
            .is_some_and(|id| !self.store.sets(id).is_empty())
    }

    /// Every record of the zone, the NSEC3 chain included, owners in lower
    /// case, RRsets together (to write the zone out: tests, tools).
    pub fn records(&self) -> Vec<Record> {
        let mut out = Vec::with_capacity(self.records);
        let mut dump = |store: &Store| {
            for id in 0..store.node_count() {
                let owner = to_name(store.name(id));
                for set in store.sets(id) {
                    out.extend(store.records(set, &owner));
                }
            }
        };
        dump(&self.store);
        if let Some(c) = self.signed.as_ref().and_then(|s| s.nsec3_store()) {
            dump(c);
        }
        out
    }

    /// When altroot signed this zone, when it signs it again (Unix time);
    /// `None` for a zone altroot did not sign.
    pub fn resign_at(&self) -> Option<u64> {
        self.resign_at
    }

    /// True when `name` owns a DS RRset in this zone.
    pub fn has_ds(&self, name: &LowerName) -> bool {
        self.store
            .find(QName::new(name).wire())
            .is_some_and(|id| self.store.set(id, RecordType::DS).is_some())
    }

    /// True when `name` owns nothing but DS, NSEC and RRSIG records here (what
    /// altroot adds for a zone of the folder).
    pub(super) fn only_dnssec_at(&self, name: &LowerName) -> bool {
        self.store.find(QName::new(name).wire()).is_some_and(|id| {
            self.store.sets(id).iter().all(|s| {
                matches!(
                    s.rtype(),
                    RecordType::DS | RecordType::NSEC | RecordType::RRSIG
                )
            })
        })
    }

    /// True when `name` is a delegation point in this zone.
    pub fn is_cut(&self, name: &LowerName) -> bool {
        self.store
            .find(QName::new(name).wire())
            .is_some_and(|id| self.store.node(id).flags & CUT != 0)
    }

    //--- Lookup

    /// Answers one question the way an authoritative server for this zone would.
    /// `qname` must be at or below the origin; answers are owned by `qname` as
    /// asked (its case kept; a `&LowerName` works too and asks in lower case).
    ///
    /// The order is RFC 1034 §4.3.2 step 3 with RFC 6672 §3.1's DNAME step:
    ///
    /// 1. Walking from the apex down to `qname`, label by label: a zone cut (NS
    ///    below the apex) at or above `qname` means a referral (DS at the cut
    ///    itself is answered here, the parent side: the DS set, or NODATA). A DNAME at
    ///    a *proper* ancestor of `qname` (the apex included) redirects it: the
    ///    answer is the DNAME and the CNAME synthesised from it, or
    ///    [`Lookup::NameTooLong`]. Whichever comes first on the way down wins; at
    ///    one name a cut is looked at before a DNAME. The DNAME owner itself is not
    ///    redirected (RFC 6672 §2.3): it answers from its own data like any name.
    /// 2. The exact name: its data of the asked type, else its CNAME, else NODATA.
    ///    An empty non-terminal is NODATA.
    /// 3. A wildcard at the closest encloser (RFC 4592 §3.3.1). A name below a
    ///    DNAME never gets here, so no wildcard matches below a DNAME.
    /// 4. NXDOMAIN.
    pub fn lookup(&self, qname: &Name, qtype: RecordType) -> Lookup {
        self.lookup_with_proof(qname, qtype).0
    }

    /// [`Zone::lookup`], and what a signed zone adds to the authority section
    /// (RFC 4035 §3.1, RFC 5155 §7.2; [`super::signed`]): the SOA's RRSIG and the
    /// NSEC or NSEC3 records (with theirs) proving a NODATA, an NXDOMAIN or a
    /// wildcard expansion; at a referral the DS and its RRSIG, or the proof that
    /// there is no DS. The RRSIGs of the answer's own RRsets are in the answer.
    /// Empty, and no allocation, for an unsigned zone. A client that did not set
    /// DO gets none of this (the reply leaves it out).
    pub fn lookup_with_proof(&self, qname: &Name, qtype: RecordType) -> (Lookup, Vec<Record>) {
        let mut proof = Vec::new();
        let q = QName::new(qname);
        let starts = label_starts(q.wire());
        if let Some(l) = self.cut_or_dname(qname, &q, &starts, qtype, &mut proof) {
            return (l, proof);
        }
        let lookup = match self.store.find(q.wire()) {
            Some(id) if !self.store.sets(id).is_empty() => {
                let l = self.answer_from(id, qtype, qname);
                if matches!(l, Lookup::NoData { .. }) {
                    self.nodata_proof(q.wire(), Some(id), &mut proof);
                }
                l
            }
            Some(id) => {
                self.nodata_proof(q.wire(), Some(id), &mut proof);
                Lookup::NoData {
                    soa: self.negative_soa(),
                }
            }
            None => match self.wildcard_for(&q, &starts) {
                Some(id) => {
                    let l = self.answer_from(id, qtype, qname);
                    let answered = !matches!(l, Lookup::NoData { .. });
                    self.wildcard_proof(q.wire(), id, answered, &mut proof);
                    l
                }
                None => {
                    self.nxdomain_proof(q.wire(), &mut proof);
                    Lookup::NxDomain {
                        soa: self.negative_soa(),
                    }
                }
            },
        };
        (lookup, proof)
    }

    /// Step 1 of [`Zone::lookup`]: the first cut or DNAME above `qname`, from the
    /// apex down.
    fn cut_or_dname(
        &self,
        qname: &Name,
        q: &QName,
        starts: &LabelStarts,
        qtype: RecordType,
        proof: &mut Vec<Record>,
    ) -> Option<Lookup> {
        if !self.has_cuts_or_dnames {
            return None;
        }
        let qlabels = starts.count();
        let olabels = self.origin.num_labels() as usize;
        for n in olabels..=qlabels {
            let Some(id) = self.store.find(&q.wire()[starts.suffix(n)..]) else {
                continue;
            };
            let flags = self.store.node(id).flags;
            if n > olabels && flags & CUT != 0 {
                // DS lives on the parent side of the cut (RFC 4035 §3.1.4.1).
                if n == qlabels && qtype == RecordType::DS {
                    let owner = &to_name(self.store.name(id));
                    let ds = self.answer_records(id, RecordType::DS, owner);
                    if ds.is_empty() {
                        self.nodata_proof(q.wire(), Some(id), proof);
                        return Some(Lookup::NoData {
                            soa: self.negative_soa(),
                        });
                    }
                    let ds = ds.into_iter().map(|mut r| {
                        r.name = qname.clone();
                        r
                    });
                    return Some(Lookup::Answer(ds.collect()));
                }
                self.delegation_proof(id, proof);
                return Some(self.referral(id));
            }
            if n < qlabels
                && flags & DNAME != 0
                && let Some(l) = self.redirect(qname, id)
            {
                return Some(l);
            }
        }
        None
    }

    /// The DNAME at node `owner` applied to `qname` (RFC 6672 §3.1). `None` only
    /// if the zone holds no readable DNAME there (the builder refuses unreadable
    /// ones).
    fn redirect(&self, qname: &Name, owner: u32) -> Option<Lookup> {
        let owner_name = to_name(self.store.name(owner));
        // The DNAME and its RRSIGs; the CNAME made from it is never signed
        // (RFC 6672 §5.3.1).
        let mut records = self.answer_records(owner, RecordType::DNAME, &owner_name);
        let dname = records.first()?.clone();
        Some(match synthesized_cname(qname, &dname)? {
            Ok(cname) => {
                records.push(cname);
                Lookup::Answer(records)
            }
            Err(_) => Lookup::NameTooLong { dname },
        })
    }

    /// Step 3 of [`Zone::lookup`]: the wildcard node at the closest encloser.
    fn wildcard_for(&self, q: &QName, starts: &LabelStarts) -> Option<u32> {
        if !self.has_wildcards {
            return None;
        }
        let olabels = self.origin.num_labels() as usize;
        let mut n = starts.count().checked_sub(1)?;
        while n > olabels && self.store.find(&q.wire()[starts.suffix(n)..]).is_none() {
            n -= 1;
        }
        let encloser = &q.wire()[starts.suffix(n)..];
        // `*.<encloser>` on the stack; longer than a name can be, it is not here.
        let mut buf = [0u8; MAX_NAME];
        let wild = buf.get_mut(..encloser.len() + 2)?;
        wild[..2].copy_from_slice(b"\x01*");
        wild[2..].copy_from_slice(encloser);
        self.store
            .find(wild)
            .filter(|&id| !self.store.sets(id).is_empty())
    }

    fn answer_from(&self, id: u32, qtype: RecordType, owner: &Name) -> Lookup {
        let store = &self.store;
        if qtype == RecordType::ANY {
            let all = store.sets(id).iter().flat_map(|s| store.records(s, owner));
            return Lookup::Answer(all.collect());
        }
        if store.set(id, qtype).is_some() {
            return Lookup::Answer(self.answer_records(id, qtype, owner));
        }
        if store.set(id, RecordType::CNAME).is_some() {
            return Lookup::Answer(self.answer_records(id, RecordType::CNAME, owner));
        }
        Lookup::NoData {
            soa: self.negative_soa(),
        }
    }

    fn referral(&self, cut: u32) -> Lookup {
        let store = &self.store;
        let cut_name = to_name(store.name(cut));
        let Some(set) = store.set(cut, RecordType::NS) else {
            return Lookup::Referral {
                cut: cut_name,
                ns: Vec::new(),
                glue: Vec::new(),
            };
        };
        let ns = store.records(set, &cut_name);
        let mut glue = Vec::new();
        // The store holds only names at or below the origin: a target outside
        // the zone is simply not found.
        for target in store.rdatas(set) {
            let Some(id) = store.find_any_case(target) else {
                continue;
            };
            let owner = to_name(store.name(id));
            for t in [RecordType::A, RecordType::AAAA] {
                if let Some(s) = store.set(id, t) {
                    glue.extend(store.records(s, &owner));
                }
            }
        }
        Lookup::Referral {
            cut: cut_name,
            ns,
            glue,
        }
    }
}

#[cfg(test)]
#[path = "zone_tests.rs"]
mod tests;
