//! Building a [`Zone`] from records as they are read, and the structural checks
//! that [`Zone::lookup`] depends on: one SOA and NS at the apex, CNAME alone,
//! nothing but glue below a cut, nothing below a DNAME, addresses for in-zone name
//! servers. Every problem points at the line that causes it.
//!
//! Records arrive one by one in wire form ([`Rec`]): each is filed under its
//! owner's node and kept in a flat list; when the files are read the list is
//! sorted by (node, type) into RRsets, and the zone's [`Store`] gets them.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use hickory_proto::rr::{LowerName, Name, RData, Record, RecordType};

use super::dname::dname_target;
use super::problem::Problem;
use super::reader::{self, Rec};
use super::signed::in_nsec3_chain;
use super::signed_checks::Expiry;
use super::store::{CUT, DNAME, NS_TARGET, SetRec, Store, TooBig};
use super::wire::{self, decode_rdata, is_at_or_below, label_starts, to_name};
use super::zone::Zone;

impl Zone {
    /// Builds a zone from parsed records, checking the rules that serving depends
    /// on. `Ok` carries the zone and its warnings; `Err` every problem found.
    /// (Tests build from text, and a root copy from the records it verified, which
    /// it needs as they were written: the zone keeps one TTL per RRSIG owner;
    /// serving loads with [`Zone::load`].)
    pub fn build(
        origin: &Name,
        parsed: reader::Parsed,
    ) -> Result<(Zone, Vec<Problem>), Vec<Problem>> {
        let mut b = Builder::new(origin);
        b.add_located(&parsed.records);
        b.finish(parsed.files)
    }

    /// Reads and builds the zone in `path` whose origin is `origin`, streaming
    /// records from the reader into the zone.
    pub fn load(path: &Path, origin: &Name) -> Result<(Zone, Vec<Problem>), Vec<Problem>> {
        let mut b = Builder::new(origin);
        let read = reader::read_into(path, origin, &mut |r| b.add(r))?;
        let (mut z, w) = b.finish(read.files)?;
        z.stamps = read.stamps;
        Ok((z, w))
    }
}

/// One record waiting to be grouped into its RRset: its RDATA is in
/// [`Builder::data`].
#[derive(Clone, Copy)]
struct Pending {
    node: u32,
    rtype: u16,
    file: u16,
    line: u32,
    ttl: u32,
    data: u32,
    len: u16,
}

/// What [`Builder::mark`] found in the zone, for lookup to skip what it lacks.
#[derive(Clone, Copy)]
struct Marks {
    /// A zone cut or a DNAME.
    cuts_or_dnames: bool,
    /// A wildcard owner (`*.…`).
    wildcards: bool,
}

/// Collects records one by one (straight from the reader) and checks the rules
/// serving depends on when done.
pub(super) struct Builder {
    pub(super) origin: Name,
    /// The origin, lowercased wire form.
    pub(super) owire: Vec<u8>,
    pub(super) store: Store,
    pending: Vec<Pending>,
    /// The NSEC3 chain's records, apart ([`super::signed`]).
    pub(super) nsec3_store: Store,
    nsec3_pending: Vec<Pending>,
    /// RRSIGs expired or expiring soon ([`Builder::check_expiry`]).
    pub(super) expiry: Expiry,
    /// The wall clock's second when the build started (signature times).
    pub(super) now: u64,
    data: Vec<u8>,
    pub(super) problems: Vec<Problem>,
    /// "Outside the origin" errors: dropped when the SOA says the file is misnamed.
    pub(super) outside: Vec<Problem>,
    pub(super) mismatch: Option<Problem>,
    /// The files records came from, in the order first seen ([`SetRec::file`]).
    pub(super) file_ids: Vec<Arc<PathBuf>>,
    pub(super) first_line: Option<usize>,
    /// Where the zone outgrew the store's 32-bit offsets.
    pub(super) too_big: Option<(Arc<PathBuf>, usize)>,
}

impl Builder {
    pub(super) fn new(origin: &Name) -> Builder {
        Builder {
            origin: origin.clone(),
            owire: wire::to_wire(origin, true),
            store: Store::new(),
            pending: Vec::new(),
            nsec3_store: Store::new(),
            nsec3_pending: Vec::new(),
            expiry: Expiry::default(),
            now: crate::clock::unix_now(),
            data: Vec::new(),
            problems: Vec::new(),
            outside: Vec::new(),
            mismatch: None,
            file_ids: Vec::new(),
            first_line: None,
            too_big: None,
        }
    }

    fn file_id(&mut self, f: &Arc<PathBuf>) -> u16 {
        if let Some(i) = self
            .file_ids
            .iter()
            .rposition(|x| Arc::ptr_eq(x, f) || x == f)
        {
            return i as u16;
        }
        self.file_ids.push(f.clone());
        (self.file_ids.len() - 1) as u16
    }

    pub(super) fn path(&self, set: &SetRec) -> PathBuf {
        self.file_ids
            .get(set.file as usize)
            .map(|p| p.to_path_buf())
            .unwrap_or_default()
    }

    //--- Adding records

    /// Adds records already read as hickory records (tests); one whose data
    /// cannot be encoded is an error at its line.
    fn add_located(&mut self, records: &[reader::Located]) {
        let (mut owner, mut rdata) = (Vec::new(), Vec::new());
        for l in records {
            owner.clear();
            rdata.clear();
            wire::push_wire(&l.record.name, true, &mut owner);
            let rt = l.record.record_type();
            if let Err(e) = wire::encode_rdata(&l.record.data, &mut rdata) {
                let msg = format!("{} {rt} cannot be sent in DNS: {e}", l.record.name);
                self.problems
                    .push(Problem::error(l.file.as_path(), l.line, msg));
                continue;
            }
            self.add(Rec {
                owner: &owner,
                rtype: rt,
                ttl: l.record.ttl,
                rdata: &rdata,
                file: &l.file,
                line: l.line,
            });
        }
    }

    pub(super) fn add(&mut self, r: Rec<'_>) {
        self.first_line.get_or_insert(r.line);
        if !self.belongs(&r) {
            return;
        }
        // The reader makes well-formed DNAMEs; records from elsewhere might not
        // be, and lookup could not redirect with them.
        if r.rtype == RecordType::DNAME
            && decode_rdata(r.rtype, r.rdata)
                .ok()
                .and_then(|d| dname_target(&d))
                .is_none()
        {
            let msg = format!("{} DNAME has no readable target name", to_name(r.owner));
            self.problems
                .push(Problem::error(r.file.as_path(), r.line, msg));
            return;
        }
        if r.rtype == RecordType::RRSIG {
            self.note_rrsig(r.owner, r.rdata, r.file, r.line);
        }
        let file = self.file_id(r.file);
        // NSEC3 records (and their RRSIGs) are not names of the zone.
        let chain = in_nsec3_chain(r.rtype, r.rdata);
        let store = match chain {
            true => &mut self.nsec3_store,
            false => &mut self.store,
        };
        let (Ok(node), Ok(data)) = (store.intern(r.owner), u32::try_from(self.data.len())) else {
            self.too_big.get_or_insert((r.file.clone(), r.line));
            return;
        };
        self.data.extend_from_slice(r.rdata);
        let pending = match chain {
            true => &mut self.nsec3_pending,
            false => &mut self.pending,
        };
        pending.push(Pending {
            node,
            rtype: u16::from(r.rtype),
            file,
            line: r.line as u32,
            ttl: r.ttl,
            data,
            // The reader refuses RDATA over 65535 octets.
            len: r.rdata.len() as u16,
        });
    }

    /// Is the record for this zone? An SOA for another name means the file is
    /// misnamed (one problem says so); a name outside the origin is an error.
    fn belongs(&mut self, r: &Rec<'_>) -> bool {
        if r.rtype == RecordType::SOA && r.owner != self.owire.as_slice() {
            if self.mismatch.is_none() {
                let file = r.file.file_name().map(|f| f.to_string_lossy().into_owned());
                self.mismatch = Some(Problem::error(
                    r.file.as_path(),
                    r.line,
                    format!(
                        "the file name {} makes this zone {}, but its SOA is for {}",
                        file.unwrap_or_default(),
                        self.origin,
                        to_name(r.owner)
                    ),
                ));
            }
            return false;
        }
        if !is_at_or_below(r.owner, &self.owire) {
            self.outside.push(Problem::error(
                r.file.as_path(),
                r.line,
                format!(
                    "{} is outside the zone's origin {}",
                    to_name(r.owner),
                    self.origin
                ),
            ));
            return false;
        }
        true
    }

    //--- RRsets

    /// Sorts the records into RRsets in the store: duplicates dropped (RFC 2181
    /// §5), one TTL per set (the smallest, §5.2), a second SOA, CNAME or DNAME
    /// at a name refused.
    fn group(&mut self) -> Result<(), TooBig> {
        let data = std::mem::take(&mut self.data);
        let pending = std::mem::take(&mut self.pending);
        let mut store = std::mem::replace(&mut self.store, Store::new());
        let r = self.group_into(&mut store, pending, &data);
        self.store = store;
        r?;
        let pending = std::mem::take(&mut self.nsec3_pending);
        let mut store = std::mem::replace(&mut self.nsec3_store, Store::new());
        let r = self.group_into(&mut store, pending, &data);
        self.nsec3_store = store;
        r
    }

    /// [`Builder::group`] for one store and the records pending for it.
    fn group_into(
        &mut self,
        store: &mut Store,
        mut pending: Vec<Pending>,
        data: &[u8],
    ) -> Result<(), TooBig> {
        // Stable: a set's records stay in the order they were written.
        pending.sort_by_key(|p| (p.node, p.rtype));
        let bytes = |p: &Pending| &data[p.data as usize..][..p.len as usize];
        let mut kept: Vec<&[u8]> = Vec::new();
        let mut at = 0;
        while at < pending.len() {
            let first = pending[at];
            let n = pending[at..]
                .iter()
                .take_while(|p| p.node == first.node && p.rtype == first.rtype)
                .count();
            let rtype = RecordType::from(first.rtype);
            let mut set = SetRec::new(rtype, first.file, first.line, first.ttl);
            kept.clear();
            for p in &pending[at..at + n] {
                let b = bytes(p);
                if kept.iter().any(|k| same_rdata(rtype, k, b)) {
                    continue;
                }
                // RFC 6672 §2.4: DNAME is a singleton type, like SOA and CNAME.
                if !kept.is_empty()
                    && matches!(
                        rtype,
                        RecordType::SOA | RecordType::CNAME | RecordType::DNAME
                    )
                {
                    let msg = format!("more than one {rtype} at {}", to_name(store.name(p.node)));
                    let file = self.file_ids.get(p.file as usize).map(|f| f.to_path_buf());
                    self.problems.push(Problem::error(
                        file.unwrap_or_default(),
                        p.line as usize,
                        msg,
                    ));
                    continue;
                }
                set.ttl = set.ttl.min(p.ttl);
                kept.push(b);
            }
            if at == 0 || pending[at - 1].node != first.node {
                store.begin_sets(first.node);
            }
            store.push_set(first.node, set, kept.iter().copied())?;
            at += n;
        }
        Ok(())
    }

    /// Marks cuts, DNAME owners and the names NS records point at, and says
    /// whether the zone has cuts or DNAMEs, and wildcards (run before empty
    /// non-terminals are added: every node has data).
    fn mark(&mut self) -> Marks {
        let mut marks = Marks {
            cuts_or_dnames: false,
            wildcards: false,
        };
        for id in 0..self.store.node_count() {
            marks.wildcards |= self.store.name(id).starts_with(b"\x01*");
            let mut flags = 0;
            if self.store.set(id, RecordType::DNAME).is_some() {
                flags |= DNAME;
            }
            if self.store.set(id, RecordType::NS).is_some() && self.store.name(id) != self.owire {
                flags |= CUT;
            }
            self.store.node_mut(id).flags |= flags;
            marks.cuts_or_dnames |= flags != 0;
        }
        let mut targets = Vec::new();
        for id in 0..self.store.node_count() {
            let Some(ns) = self.store.set(id, RecordType::NS) else {
                continue;
            };
            let store = &self.store;
            targets.extend(store.rdatas(ns).filter_map(|t| store.find_any_case(t)));
        }
        for tid in targets {
            self.store.node_mut(tid).flags |= NS_TARGET;
        }
        marks
    }

    //--- Checks

    pub(super) fn finish(
        mut self,
        files: Vec<PathBuf>,
    ) -> Result<(Zone, Vec<Problem>), Vec<Problem>> {
        if let Some(m) = self.mismatch.take() {
            return Err(vec![m]);
        }
        if self.group().is_err() && self.too_big.is_none() {
            self.too_big = Some((Arc::new(files.first().cloned().unwrap_or_default()), 1));
        }
        if let Some((f, l)) = self.too_big.take() {
            let msg = "the zone is too large: over 4 GiB of data or 4 billion names";
            return Err(vec![Problem::error(f.as_path(), l, msg)]);
        }
        let marks = self.mark();
        let mut problems = std::mem::take(&mut self.problems);
        problems.append(&mut self.outside);
        let main_file = files.first().cloned().unwrap_or_default();
        self.check_cname_alone(&mut problems);
        self.check_cuts(&mut problems);
        self.check_below_dnames(&mut problems);
        self.check_glue(&mut problems);
        self.check_nsec3(&mut problems);
        self.check_expiry(&mut problems);
        self.check_chains(&mut problems);
        let soa = self.check_apex(&main_file, &mut problems);
        problems.sort();
        let Some(soa) = soa.filter(|_| !problems.iter().any(Problem::is_error)) else {
            return Err(problems);
        };
        Ok((self.into_zone(files, soa, marks), problems))
    }

    //--- The zone

    fn into_zone(mut self, files: Vec<PathBuf>, soa: Record, marks: Marks) -> Zone {
        let serial = match &soa.data {
            RData::SOA(s) => s.serial,
            _ => 0,
        };
        // What every negative answer carries (RFC 2308 §5), made once.
        let mut negative_soa = soa;
        if let RData::SOA(s) = &negative_soa.data {
            negative_soa.ttl = negative_soa.ttl.min(s.minimum);
        }
        let records = self.store.record_count() + self.nsec3_store.record_count();
        let signed = self.signed();
        // Empty non-terminals are a failure only if 4 billion names are exceeded,
        // which `group` has already refused.
        let _ = self.add_empty_non_terminals();
        let files = renumber_files(files, &self.file_ids, &mut self.store);
        self.store.shrink();
        Zone {
            origin: LowerName::new(&self.origin),
            origin_name: self.origin,
            origin_wire: self.owire.into_boxed_slice(),
            files,
            store: self.store,
            has_cuts_or_dnames: marks.cuts_or_dnames,
            has_wildcards: marks.wildcards,
            signed,
            negative_soa,
            serial,
            records,
            stamps: Vec::new(),
            resign_at: None,
            signed_children: Vec::new(),
        }
    }

    /// Empty non-terminals: ancestors of owner names that have no data of their
    /// own, as nodes without sets. A walk stops at an ancestor already in the
    /// store (its own walk covers what is above).
    fn add_empty_non_terminals(&mut self) -> Result<(), TooBig> {
        let olabels = wire::label_count(&self.owire);
        let with_data = self.store.node_count();
        let mut name = Vec::with_capacity(wire::MAX_NAME);
        for id in 0..with_data {
            name.clear();
            name.extend_from_slice(self.store.name(id));
            let starts = label_starts(&name);
            for k in (olabels + 1..starts.count()).rev() {
                let before = self.store.node_count();
                if self.store.intern(&name[starts.suffix(k)..])? < before {
                    break;
                }
            }
        }
        Ok(())
    }
}

/// Two RDATAs that are the same record: equal bytes, or equal but for the case
/// of names in them (names compare case-insensitively, RFC 4343; hickory's
/// `RData` equality says which parts are names).
fn same_rdata(rtype: RecordType, a: &[u8], b: &[u8]) -> bool {
    if a == b {
        return true;
    }
    if !a.eq_ignore_ascii_case(b) {
        return false;
    }
    match (decode_rdata(rtype, a), decode_rdata(rtype, b)) {
        (Ok(x), Ok(y)) => x == y || dname_target(&x).is_some_and(|t| Some(t) == dname_target(&y)),
        _ => false,
    }
}

/// The builder numbers files in the order it first sees records from them; the
/// zone's `files` list the main file first, then includes as read. Makes the sets'
/// numbers index `files` (a file with records is always in it).
fn renumber_files(
    mut files: Vec<PathBuf>,
    file_ids: &[Arc<PathBuf>],
    store: &mut Store,
) -> Vec<PathBuf> {
    let map: Vec<u16> = file_ids
        .iter()
        .map(|f| match files.iter().position(|p| p == f.as_ref()) {
            Some(i) => i as u16,
            None => {
                files.push(f.to_path_buf());
                (files.len() - 1) as u16
            }
        })
        .collect();
    if map.iter().enumerate().any(|(i, &to)| i as u16 != to) {
        store.renumber_files(&map);
    }
    files
}

/// A zone built without its checks, for lookup tests of zones `check` refuses
/// (it still needs an SOA).
#[cfg(test)]
pub(super) fn unchecked(origin: &Name, text: &str) -> Zone {
    let parsed = reader::read_str(text, Path::new("t.zone"), origin).unwrap();
    let mut b = Builder::new(origin);
    b.add_located(&parsed.records);
    b.group().unwrap();
    let marks = b.mark();
    let soa = b.check_apex(Path::new("t.zone"), &mut Vec::new()).unwrap();
    b.into_zone(parsed.files, soa, marks)
}

#[cfg(test)]
#[path = "build_tests.rs"]
mod tests;
