//! Building a [`Zone`] from records as they are read, and the structural checks
//! that [`Zone::lookup`] depends on: one SOA and NS at the apex, CNAME alone,
//! nothing but glue below a cut, nothing below a DNAME, addresses for in-zone name
//! servers. Every problem points at the line that causes it.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use hickory_proto::rr::{LowerName, Name, RData, Record, RecordType};
use hickory_proto::serialize::binary::BinEncodable;

use super::dname::dname_target;
use super::problem::Problem;
use super::reader::{self, Located, Parsed};
use super::zone::{Node, RrSet, Zone, set_of};

impl Zone {
    /// Builds a zone from parsed records, checking the rules that serving depends
    /// on. `Ok` carries the zone and its warnings; `Err` every problem found.
    pub fn build(origin: &Name, parsed: Parsed) -> Result<(Zone, Vec<Problem>), Vec<Problem>> {
        let mut b = Builder::new(origin);
        for l in parsed.records {
            b.add(l);
        }
        b.finish(parsed.files)
    }

    /// Reads and builds the zone in `path` whose origin is `origin`, streaming
    /// records from the reader into the zone.
    pub fn load(path: &Path, origin: &Name) -> Result<(Zone, Vec<Problem>), Vec<Problem>> {
        let mut b = Builder::new(origin);
        let read = reader::read_into(path, origin, &mut |l| b.add(l))?;
        let (mut z, w) = b.finish(read.files)?;
        z.stamps = read.stamps;
        Ok((z, w))
    }
}

/// Collects records one by one (straight from the reader) and checks the rules
/// serving depends on when done.
struct Builder {
    origin: Name,
    lorigin: LowerName,
    nodes: HashMap<LowerName, Node>,
    problems: Vec<Problem>,
    /// "Outside the origin" errors: dropped when the SOA says the file is misnamed.
    outside: Vec<Problem>,
    mismatch: Option<Problem>,
    /// The files records came from, in the order first seen ([`RrSet::file`]).
    file_ids: Vec<Arc<PathBuf>>,
    first_line: Option<usize>,
}

/// The names that give a zone its shape: where it delegates, what the NS
/// records name, and where it redirects.
struct Shape {
    cuts: HashSet<LowerName>,
    ns_targets: HashSet<LowerName>,
    dnames: HashSet<LowerName>,
}

impl Builder {
    fn new(origin: &Name) -> Builder {
        Builder {
            origin: origin.clone(),
            lorigin: LowerName::new(origin),
            nodes: HashMap::new(),
            problems: Vec::new(),
            outside: Vec::new(),
            mismatch: None,
            file_ids: Vec::new(),
            first_line: None,
        }
    }

    fn file_id(&mut self, f: &Arc<PathBuf>) -> u16 {
        if let Some(i) = self
            .file_ids
            .iter()
            .position(|x| Arc::ptr_eq(x, f) || x == f)
        {
            return i as u16;
        }
        self.file_ids.push(f.clone());
        (self.file_ids.len() - 1) as u16
    }

    fn path(&self, set: &RrSet) -> PathBuf {
        self.file_ids
            .get(set.file as usize)
            .map(|p| p.to_path_buf())
            .unwrap_or_default()
    }

    /// Where the `rtype` set of `name` was written; the main file's first line
    /// when there is none.
    fn pos(&self, name: &LowerName, rtype: RecordType, main_file: &Path) -> (PathBuf, usize) {
        self.nodes
            .get(name)
            .and_then(|n| set_of(n, rtype))
            .map(|s| (self.path(s), s.line as usize))
            .unwrap_or_else(|| (main_file.to_path_buf(), 1))
    }

    //--- Adding records

    fn add(&mut self, l: Located) {
        self.first_line.get_or_insert(l.line);
        if !self.belongs(&l) {
            return;
        }
        let r = l.record;
        let rt = r.record_type();
        // Data the wire format cannot carry (a TXT string over 255 bytes…) is refused
        // here, with its line, rather than failing every answer later.
        if let Err(e) = r.to_bytes() {
            let msg = format!("{} {rt} cannot be sent in DNS: {e}", r.name);
            self.problems
                .push(Problem::error(l.file.as_path(), l.line, msg));
            return;
        }
        // The reader only makes well-formed DNAMEs; records from elsewhere might not
        // be, and lookup could not redirect with them.
        if rt == RecordType::DNAME && dname_target(&r.data).is_none() {
            let msg = format!("{} DNAME has no readable target name", r.name);
            self.problems
                .push(Problem::error(l.file.as_path(), l.line, msg));
            return;
        }
        let file = self.file_id(&l.file);
        let node = self.nodes.entry(LowerName::new(&r.name)).or_default();
        let Some(set) = node.iter_mut().find(|s| s.rtype == rt) else {
            node.push(RrSet {
                rtype: rt,
                file,
                line: l.line as u32,
                ttl: r.ttl,
                data: vec![r.data],
            });
            return;
        };
        if set.data.iter().any(|d| same_rdata(d, &r.data)) {
            return; // duplicate RR: RFC 2181 §5 says sets have no duplicates
        }
        // RFC 6672 §2.4: DNAME is a singleton type, like SOA and CNAME: "The owner
        // name of a DNAME can only have one DNAME RR".
        if matches!(rt, RecordType::SOA | RecordType::CNAME | RecordType::DNAME) {
            let msg = format!("more than one {rt} at {}", r.name);
            self.problems
                .push(Problem::error(l.file.as_path(), l.line, msg));
            return;
        }
        // RFC 2181 §5.2: all TTLs in an RRset are the same; use the smallest.
        set.ttl = set.ttl.min(r.ttl);
        set.data.push(r.data);
    }

    /// Is the record for this zone? An SOA for another name means the file is
    /// misnamed (one problem says so); a name outside the origin is an error.
    fn belongs(&mut self, l: &Located) -> bool {
        let r = &l.record;
        let owner = LowerName::new(&r.name);
        if r.record_type() == RecordType::SOA && owner != self.lorigin {
            if self.mismatch.is_none() {
                let file = l.file.file_name().map(|f| f.to_string_lossy().into_owned());
                self.mismatch = Some(Problem::error(
                    l.file.as_path(),
                    l.line,
                    format!(
                        "the file name {} makes this zone {}, but its SOA is for {}",
                        file.unwrap_or_default(),
                        self.origin,
                        r.name
                    ),
                ));
            }
            return false;
        }
        if !self.lorigin.zone_of(&owner) {
            self.outside.push(Problem::error(
                l.file.as_path(),
                l.line,
                format!("{} is outside the zone's origin {}", r.name, self.origin),
            ));
            return false;
        }
        true
    }

    //--- Checks

    fn finish(mut self, files: Vec<PathBuf>) -> Result<(Zone, Vec<Problem>), Vec<Problem>> {
        if let Some(m) = self.mismatch.take() {
            return Err(vec![m]);
        }
        let mut problems = std::mem::take(&mut self.problems);
        problems.append(&mut self.outside);
        let main_file = files.first().cloned().unwrap_or_default();
        let shape = self.shape();
        self.check_cname_alone(&main_file, &mut problems);
        self.check_cuts(&shape, &mut problems);
        self.check_below_dnames(&shape, &mut problems);
        self.check_glue(&mut problems);
        let soa = self.check_apex(&main_file, &mut problems);
        problems.sort();
        let Some(soa) = soa.filter(|_| !problems.iter().any(Problem::is_error)) else {
            return Err(problems);
        };
        Ok((self.into_zone(files, shape, soa), problems))
    }

    fn shape(&self) -> Shape {
        let mut shape = Shape {
            cuts: HashSet::new(),
            ns_targets: HashSet::new(),
            dnames: HashSet::new(),
        };
        for (name, node) in &self.nodes {
            if set_of(node, RecordType::DNAME).is_some() {
                shape.dnames.insert(name.clone());
            }
            let Some(ns) = set_of(node, RecordType::NS) else {
                continue;
            };
            if name != &self.lorigin {
                shape.cuts.insert(name.clone());
            }
            for d in &ns.data {
                if let RData::NS(t) = d {
                    shape.ns_targets.insert(LowerName::new(&t.0));
                }
            }
        }
        shape
    }

    /// A CNAME is alone at its name (RFC 1034 §3.6.2); beside a DNAME that is
    /// RFC 6672 §2.4: "no CNAME RRs can exist at that name", so that one name has
    /// one redirection.
    fn check_cname_alone(&self, main_file: &Path, problems: &mut Vec<Problem>) {
        for (name, node) in &self.nodes {
            if set_of(node, RecordType::CNAME).is_none() || node.len() == 1 {
                continue;
            }
            let (f, l) = self.pos(name, RecordType::CNAME, main_file);
            let msg = if set_of(node, RecordType::DNAME).is_some() {
                format!(
                    "{name} has a CNAME and a DNAME: a name has one redirection (RFC 6672 §2.4)"
                )
            } else {
                format!("{name} has a CNAME and other data")
            };
            problems.push(Problem::error(f, l, msg));
        }
    }

    /// Below a delegation only glue may live; at it only NS, DS and glue. A DNAME
    /// at a delegation point gets its own message: RFC 6672 §2.3 allows DNAME
    /// beside NS only at a zone apex, so it belongs at the child's apex.
    fn check_cuts(&self, shape: &Shape, problems: &mut Vec<Problem>) {
        if shape.cuts.is_empty() {
            return;
        }
        for name in self.sorted_names() {
            let Some(cut) = self.ancestor_in(name, &shape.cuts, true) else {
                continue;
            };
            for set in &self.nodes[name] {
                let rt = set.rtype;
                let is_glue = matches!(rt, RecordType::A | RecordType::AAAA)
                    && shape.ns_targets.contains(name);
                let at_cut = name == &cut;
                if is_glue || (at_cut && matches!(rt, RecordType::NS | RecordType::DS)) {
                    continue;
                }
                let msg = match (at_cut, rt) {
                    (true, RecordType::DNAME) => format!(
                        "{name} DNAME is at the delegation point {cut}: beside NS a DNAME belongs only at a zone apex, so put it in the child zone (RFC 6672 §2.3)"
                    ),
                    (true, _) => format!(
                        "{name} {rt} is at the delegation point {cut}: only NS, DS and glue belong there"
                    ),
                    (false, _) => {
                        format!("{name} {rt} is below the delegation of {cut} and is not glue")
                    }
                };
                problems.push(Problem::error(self.path(set), set.line as usize, msg));
            }
        }
    }

    /// RFC 6672 §2.4: "Resource records MUST NOT exist at any subdomain of the
    /// owner of a DNAME RR." Lookup redirects every name below the owner, so such
    /// data could never be answered. (A DNAME at the apex is fine, RFC 6672 §2.3,
    /// but then the zone holds nothing below its apex.)
    fn check_below_dnames(&self, shape: &Shape, problems: &mut Vec<Problem>) {
        if shape.dnames.is_empty() {
            return;
        }
        for name in self.sorted_names() {
            let Some(owner) = self.ancestor_in(name, &shape.dnames, false) else {
                continue;
            };
            for set in &self.nodes[name] {
                let msg = format!(
                    "{name} {} is below the DNAME at {owner} and can never be answered (RFC 6672 §2.4)",
                    set.rtype
                );
                problems.push(Problem::error(self.path(set), set.line as usize, msg));
            }
        }
    }

    /// Name servers inside the zone need addresses here, or nobody can reach them.
    fn check_glue(&self, problems: &mut Vec<Problem>) {
        for (name, node) in &self.nodes {
            let Some(ns) = set_of(node, RecordType::NS) else {
                continue;
            };
            for d in &ns.data {
                let RData::NS(t) = d else { continue };
                let lt = LowerName::new(&t.0);
                let has_addr = self.nodes.get(&lt).is_some_and(|n| {
                    set_of(n, RecordType::A).is_some() || set_of(n, RecordType::AAAA).is_some()
                });
                if self.lorigin.zone_of(&lt) && !has_addr {
                    problems.push(Problem::error(
                        self.path(ns),
                        ns.line as usize,
                        format!(
                            "name server {} of {name} is inside {} but has no A or AAAA record (glue)",
                            t.0, self.origin
                        ),
                    ));
                }
            }
        }
    }

    /// SOA and NS at the apex, and an SOA TTL that does not outlive negative
    /// answers (RFC 2308). Returns the SOA, if there is one.
    fn check_apex(&self, main_file: &Path, problems: &mut Vec<Problem>) -> Option<Record> {
        let (apex, origin) = (self.nodes.get(&self.lorigin), &self.origin);
        let soa = apex
            .and_then(|n| set_of(n, RecordType::SOA))
            .and_then(|s| s.records(origin).into_iter().next());
        if soa.is_none() {
            problems.push(Problem::error(
                main_file,
                self.first_line.unwrap_or(1),
                format!("no SOA record at the apex {origin}"),
            ));
        }
        let (f, l) = self.pos(&self.lorigin, RecordType::SOA, main_file);
        if apex.and_then(|n| set_of(n, RecordType::NS)).is_none() {
            let msg = format!("no NS records at the apex {origin}");
            problems.push(Problem::error(f.clone(), l, msg));
        }
        if let Some(soa) = &soa
            && let RData::SOA(s) = &soa.data
            && soa.ttl > s.minimum
        {
            problems.push(Problem::warning(
                f,
                l,
                format!(
                    "SOA TTL {} exceeds its MINIMUM {}: negative answers are cached for {} s (RFC 2308)",
                    soa.ttl, s.minimum, s.minimum
                ),
            ));
        }
        soa
    }

    fn sorted_names(&self) -> Vec<&LowerName> {
        let mut sorted: Vec<&LowerName> = self.nodes.keys().collect();
        sorted.sort();
        sorted
    }

    /// The highest ancestor of `name` in `set`, from the apex down: the apex
    /// itself counts, `name` itself only when `inclusive`.
    fn ancestor_in(
        &self,
        name: &LowerName,
        set: &HashSet<LowerName>,
        inclusive: bool,
    ) -> Option<LowerName> {
        let n: Name = name.into();
        let last = n.num_labels().checked_sub(u8::from(!inclusive))?;
        (self.lorigin.num_labels()..=last)
            .map(|k| LowerName::new(&n.trim_to(k as usize)))
            .find(|c| set.contains(c))
    }

    //--- The zone

    fn into_zone(self, files: Vec<PathBuf>, shape: Shape, soa: Record) -> Zone {
        let ents = self.empty_non_terminals();
        let serial = match &soa.data {
            RData::SOA(s) => s.serial,
            _ => 0,
        };
        let (files, nodes) = renumber_files(files, &self.file_ids, self.nodes);
        Zone {
            origin: self.lorigin,
            origin_name: self.origin,
            files,
            nodes,
            ents,
            cuts: shape.cuts,
            dnames: shape.dnames,
            soa,
            serial,
            stamps: Vec::new(),
        }
    }

    /// Empty non-terminals: ancestors of owner names that have no data of their own.
    /// A walk stops at an ancestor with data (its own walk covers what is above)
    /// or at one already seen.
    fn empty_non_terminals(&self) -> HashSet<LowerName> {
        let mut ents = HashSet::new();
        for name in self.nodes.keys() {
            let mut n: Name = name.into();
            while n.num_labels() > self.lorigin.num_labels() {
                n = n.base_name();
                let ln = LowerName::new(&n);
                if ln == self.lorigin || self.nodes.contains_key(&ln) || !ents.insert(ln) {
                    break;
                }
            }
        }
        ents
    }
}

/// Two RDATAs that are the same record: equal, or DNAMEs whose targets differ only
/// in case (names compare case-insensitively, RFC 4343).
fn same_rdata(a: &RData, b: &RData) -> bool {
    a == b || dname_target(a).is_some_and(|t| Some(t) == dname_target(b))
}

/// The builder numbers files in the order it first sees records from them; the
/// zone's `files` list the main file first, then includes as read. Makes the sets'
/// numbers index `files` (a file with records is always in it).
fn renumber_files(
    mut files: Vec<PathBuf>,
    file_ids: &[Arc<PathBuf>],
    mut nodes: HashMap<LowerName, Node>,
) -> (Vec<PathBuf>, HashMap<LowerName, Node>) {
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
        for set in nodes.values_mut().flatten() {
            set.file = map.get(set.file as usize).copied().unwrap_or(set.file);
        }
    }
    (files, nodes)
}

/// A zone built without its checks, for lookup tests of zones `check` refuses
/// (it still needs an SOA).
#[cfg(test)]
pub(super) fn unchecked(origin: &Name, text: &str) -> Zone {
    let parsed = reader::read_str(text, Path::new("t.zone"), origin).unwrap();
    let mut b = Builder::new(origin);
    for l in parsed.records {
        b.add(l);
    }
    let soa = b.check_apex(Path::new("t.zone"), &mut Vec::new()).unwrap();
    let shape = b.shape();
    b.into_zone(parsed.files, shape, soa)
}

#[cfg(test)]
#[path = "build_tests.rs"]
mod tests;
