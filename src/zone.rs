//! Zones served in-process: one [`Zone`] per file, and the [`ZoneSet`] of a `zones`
//! root (DESIGN §2).
//!
//! A zone answers the way an authoritative server would (RFC 1034 §4.3.2, RFC 4592
//! wildcards), but returns a typed [`Lookup`] instead of a message: the resolver
//! engine decides what the client sees. Referrals carry their glue, which is what
//! hickory 0.26's own authority gets wrong (`shared/HICKORY.md` §3).

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use hickory_proto::rr::{LowerName, Name, RData, Record, RecordType};
use hickory_proto::serialize::binary::BinEncodable;

use crate::zonefile::{self, Problem};

//------------ Lookup ----------------------------------------------------------

/// What a zone says about one question.
#[derive(Clone, Debug)]
pub enum Lookup {
    /// Records owned by the query name: the asked type, or a CNAME.
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
}

//------------ Zone ------------------------------------------------------------

/// One RRset, with where its first record was written (for messages). Only the
/// data is stored: the owner is the node's name, and one TTL serves the set
/// (RFC 2181 §5.2), which saves a third of the memory of whole `Record`s.
#[derive(Debug)]
struct RrSet {
    rtype: RecordType,
    file: u16,
    line: u32,
    ttl: u32,
    data: Vec<RData>,
}

impl RrSet {
    /// The set as records owned by `owner`.
    fn records(&self, owner: &Name) -> Vec<Record> {
        self.data
            .iter()
            .map(|d| Record::from_rdata(owner.clone(), self.ttl, d.clone()))
            .collect()
    }
}

/// All RRsets of one owner name (few per name: a Vec beats a map here).
type Node = Vec<RrSet>;

fn set_of(node: &Node, rtype: RecordType) -> Option<&RrSet> {
    node.iter().find(|s| s.rtype == rtype)
}

#[derive(Debug)]
pub struct Zone {
    origin: LowerName,
    origin_name: Name,
    /// The zone's main file, and every file it includes.
    pub files: Vec<PathBuf>,
    nodes: HashMap<LowerName, Node>,
    /// Names that exist only because names below them do (empty non-terminals).
    ents: HashSet<LowerName>,
    /// Names below the apex that have NS records.
    cuts: HashSet<LowerName>,
    soa: Record,
    serial: u32,
    /// What every file held when it was read, to skip unchanged zones on reload.
    stamps: Vec<zonefile::Stamp>,
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
    file_ids: Vec<Arc<PathBuf>>,
    first_line: Option<usize>,
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

    fn add(&mut self, l: zonefile::Located) {
        self.first_line.get_or_insert(l.line);
        let r = l.record;
        let owner = LowerName::new(&r.name);
        let rt = r.record_type();
        if rt == RecordType::SOA && owner != self.lorigin && self.mismatch.is_none() {
            self.mismatch = Some(Problem::error(
                l.file.as_path(),
                l.line,
                format!(
                    "the file name {} makes this zone {}, but its SOA is for {}",
                    l.file
                        .file_name()
                        .map(|f| f.to_string_lossy().into_owned())
                        .unwrap_or_default(),
                    self.origin,
                    r.name
                ),
            ));
            return;
        }
        if !self.lorigin.zone_of(&owner) {
            self.outside.push(Problem::error(
                l.file.as_path(),
                l.line,
                format!("{} is outside the zone's origin {}", r.name, self.origin),
            ));
            return;
        }
        // Data the wire format cannot carry (a TXT string over 255 bytes…) is refused
        // here, with its line, rather than failing every answer later.
        if let Err(e) = r.to_bytes() {
            self.problems.push(Problem::error(
                l.file.as_path(),
                l.line,
                format!("{} {rt} cannot be sent in DNS: {e}", r.name),
            ));
            return;
        }
        let file = self.file_id(&l.file);
        let node = self.nodes.entry(owner).or_default();
        match node.iter_mut().find(|s| s.rtype == rt) {
            None => node.push(RrSet {
                rtype: rt,
                file,
                line: l.line as u32,
                ttl: r.ttl,
                data: vec![r.data],
            }),
            Some(set) => {
                if set.data.contains(&r.data) {
                    return; // duplicate RR: RFC 2181 §5 says sets have no duplicates
                }
                if rt == RecordType::SOA || rt == RecordType::CNAME {
                    let msg = format!("more than one {rt} at {}", r.name);
                    self.problems
                        .push(Problem::error(l.file.as_path(), l.line, msg));
                    return;
                }
                // RFC 2181 §5.2: all TTLs in an RRset are the same; use the smallest.
                set.ttl = set.ttl.min(r.ttl);
                set.data.push(r.data);
            }
        }
    }

    fn finish(mut self, files: Vec<PathBuf>) -> Result<(Zone, Vec<Problem>), Vec<Problem>> {
        if let Some(m) = self.mismatch.take() {
            return Err(vec![m]);
        }
        let mut problems = std::mem::take(&mut self.problems);
        problems.append(&mut self.outside);
        let main_file = files.first().cloned().unwrap_or_default();
        let lorigin = self.lorigin.clone();
        let origin = self.origin.clone();
        let nodes = &self.nodes;
        let pos = |name: &LowerName, rt: RecordType| -> (PathBuf, usize) {
            nodes
                .get(name)
                .and_then(|n| set_of(n, rt))
                .map(|s| (self.path(s), s.line as usize))
                .unwrap_or_else(|| (main_file.clone(), 1))
        };

        let mut cuts = HashSet::new();
        let mut glue_names: HashSet<LowerName> = HashSet::new();
        for (name, node) in nodes {
            if set_of(node, RecordType::CNAME).is_some() && node.len() > 1 {
                let (f, l) = pos(name, RecordType::CNAME);
                problems.push(Problem::error(
                    f,
                    l,
                    format!("{name} has a CNAME and other data"),
                ));
            }
            if let Some(ns) = set_of(node, RecordType::NS) {
                if name != &lorigin {
                    cuts.insert(name.clone());
                }
                for d in &ns.data {
                    if let RData::NS(t) = d {
                        glue_names.insert(LowerName::new(&t.0));
                    }
                }
            }
        }

        // Below a delegation only glue may live; at it only NS, DS and glue.
        if !cuts.is_empty() {
            let olabels = lorigin.num_labels();
            let mut sorted: Vec<&LowerName> = nodes.keys().collect();
            sorted.sort();
            for name in sorted {
                let n: Name = name.into();
                let cut = (olabels + 1..=n.num_labels())
                    .map(|k| LowerName::new(&n.trim_to(k as usize)))
                    .find(|c| cuts.contains(c));
                let Some(cut) = cut else { continue };
                for set in &nodes[name] {
                    let rt = set.rtype;
                    let is_glue =
                        matches!(rt, RecordType::A | RecordType::AAAA) && glue_names.contains(name);
                    let ok =
                        is_glue || (name == &cut && matches!(rt, RecordType::NS | RecordType::DS));
                    if !ok {
                        let msg = if name == &cut {
                            format!(
                                "{name} {rt} is at the delegation point {cut}: only NS, DS and glue belong there"
                            )
                        } else {
                            format!("{name} {rt} is below the delegation of {cut} and is not glue")
                        };
                        problems.push(Problem::error(self.path(set), set.line as usize, msg));
                    }
                }
            }
        }

        // Name servers inside the zone need addresses here, or nobody can reach them.
        for (name, node) in nodes {
            let Some(ns) = set_of(node, RecordType::NS) else {
                continue;
            };
            for d in &ns.data {
                let RData::NS(t) = d else { continue };
                let lt = LowerName::new(&t.0);
                let has_addr = nodes.get(&lt).is_some_and(|n| {
                    set_of(n, RecordType::A).is_some() || set_of(n, RecordType::AAAA).is_some()
                });
                if lorigin.zone_of(&lt) && !has_addr {
                    problems.push(Problem::error(
                        self.path(ns),
                        ns.line as usize,
                        format!(
                            "name server {} of {name} is inside {origin} but has no A or AAAA record (glue)",
                            t.0
                        ),
                    ));
                }
            }
        }

        let apex = nodes.get(&lorigin);
        let soa = apex
            .and_then(|n| set_of(n, RecordType::SOA))
            .and_then(|s| s.records(&origin).into_iter().next());
        if soa.is_none() {
            problems.push(Problem::error(
                &main_file,
                self.first_line.unwrap_or(1),
                format!("no SOA record at the apex {origin}"),
            ));
        }
        if apex.and_then(|n| set_of(n, RecordType::NS)).is_none() {
            let (f, l) = pos(&lorigin, RecordType::SOA);
            problems.push(Problem::error(
                f,
                l,
                format!("no NS records at the apex {origin}"),
            ));
        }
        if let Some(soa) = &soa
            && let RData::SOA(s) = &soa.data
            && soa.ttl > s.minimum
        {
            let (f, l) = pos(&lorigin, RecordType::SOA);
            problems.push(Problem::warning(
                f,
                l,
                format!(
                    "SOA TTL {} exceeds its MINIMUM {}: negative answers are cached for {} s (RFC 2308)",
                    soa.ttl, s.minimum, s.minimum
                ),
            ));
        }
        problems.sort();
        let Some(soa) = soa.filter(|_| !problems.iter().any(Problem::is_error)) else {
            return Err(problems);
        };

        // Empty non-terminals: ancestors of owner names that have no data of their own.
        // A walk stops at an ancestor with data (its own walk covers what is above)
        // or at one already seen.
        let mut ents = HashSet::new();
        for name in nodes.keys() {
            let mut n: Name = name.into();
            while n.num_labels() > lorigin.num_labels() {
                n = n.base_name();
                let ln = LowerName::new(&n);
                if ln == lorigin || nodes.contains_key(&ln) || !ents.insert(ln) {
                    break;
                }
            }
        }
        let serial = match &soa.data {
            RData::SOA(s) => s.serial,
            _ => 0,
        };
        Ok((
            Zone {
                origin: lorigin,
                origin_name: origin,
                files,
                nodes: self.nodes,
                ents,
                cuts,
                soa,
                serial,
                stamps: Vec::new(),
            },
            problems,
        ))
    }
}

impl Zone {
    /// Builds a zone from parsed records, checking the rules that serving depends
    /// on. `Ok` carries the zone and its warnings; `Err` every problem found.
    pub fn build(
        origin: &Name,
        parsed: zonefile::Parsed,
    ) -> Result<(Zone, Vec<Problem>), Vec<Problem>> {
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
        let read = zonefile::read_into(path, origin, &mut |l| b.add(l))?;
        let (mut z, w) = b.finish(read.files)?;
        z.stamps = read.stamps;
        Ok((z, w))
    }

    /// True when none of the zone's files changed since it was read.
    fn unchanged(&self) -> bool {
        !self.stamps.is_empty() && self.stamps.iter().all(zonefile::Stamp::still_valid)
    }

    /// Where an RRset was first written (for messages).
    fn position(&self, name: &LowerName, rtype: RecordType) -> (PathBuf, usize) {
        self.nodes
            .get(name)
            .and_then(|n| set_of(n, rtype).or(n.first()))
            .map(|s| {
                let f = self.files.get(s.file as usize).cloned().unwrap_or_default();
                (f, s.line as usize)
            })
            .unwrap_or_else(|| (self.files.first().cloned().unwrap_or_default(), 1))
    }

    /// Where the SOA was written (for messages about the whole zone).
    pub fn soa_line(&self) -> (PathBuf, usize) {
        self.position(&self.origin, RecordType::SOA)
    }

    /// In a root zone: each TLD name and where it was first written.
    fn tld_lines(&self) -> BTreeMap<LowerName, (PathBuf, usize)> {
        let mut out: BTreeMap<LowerName, (PathBuf, usize)> = BTreeMap::new();
        if !self.origin.is_root() {
            return out;
        }
        for (name, node) in &self.nodes {
            if name.num_labels() == 0 {
                continue;
            }
            let tld = LowerName::new(&Name::from(name).trim_to(1));
            for set in node {
                let f = self
                    .files
                    .get(set.file as usize)
                    .cloned()
                    .unwrap_or_default();
                let here = (f, set.line as usize);
                let e = out.entry(tld.clone()).or_insert_with(|| here.clone());
                if here < *e {
                    *e = here;
                }
            }
        }
        out
    }

    pub fn origin(&self) -> &Name {
        &self.origin_name
    }

    pub fn serial(&self) -> u32 {
        self.serial
    }

    /// Number of records (for logs).
    pub fn len(&self) -> usize {
        self.nodes
            .values()
            .flat_map(|n| n.iter())
            .map(|s| s.data.len())
            .sum()
    }

    pub fn is_empty(&self) -> bool {
        self.nodes.is_empty()
    }

    /// The SOA for negative answers: TTL is min(SOA TTL, MINIMUM) (RFC 2308 §5).
    pub fn negative_soa(&self) -> Record {
        let mut soa = self.soa.clone();
        if let RData::SOA(s) = &soa.data {
            soa.ttl = soa.ttl.min(s.minimum);
        }
        soa
    }

    /// True when the zone has this exact name (with data or as an empty non-terminal).
    pub fn has_name(&self, name: &LowerName) -> bool {
        self.nodes.contains_key(name) || self.ents.contains(name)
    }

    /// True when `name` is a delegation point in this zone.
    pub fn is_cut(&self, name: &LowerName) -> bool {
        self.cuts.contains(name)
    }

    /// Answers one question the way an authoritative server for this zone would.
    /// `qname` must be at or below the origin.
    pub fn lookup(&self, qname: &LowerName, qtype: RecordType) -> Lookup {
        // 1. A zone cut at or above the name (but below the apex) means a referral.
        let qlabels = qname.num_labels();
        let olabels = self.origin.num_labels();
        let qn: Name = qname.into();
        if !self.cuts.is_empty() {
            for n in olabels + 1..=qlabels {
                let cut = LowerName::new(&qn.trim_to(n as usize));
                if self.cuts.contains(&cut) {
                    if n == qlabels && qtype == RecordType::DS {
                        // DS lives in the parent; we hold none (no DNSSEC yet).
                        return Lookup::NoData {
                            soa: self.negative_soa(),
                        };
                    }
                    return self.referral(&cut);
                }
            }
        }
        // 2. The exact name.
        if let Some(node) = self.nodes.get(qname) {
            return self.answer_from(node, qtype, &qn);
        }
        if self.ents.contains(qname) {
            return Lookup::NoData {
                soa: self.negative_soa(),
            };
        }
        // 3. Wildcard at the closest encloser (RFC 4592 §3.3.1).
        let mut encloser = qn.base_name();
        loop {
            let le = LowerName::new(&encloser);
            if self.has_name(&le) || le == self.origin || encloser.is_root() {
                break;
            }
            encloser = encloser.base_name();
        }
        if let Ok(wild) = encloser.prepend_label("*")
            && let Some(node) = self.nodes.get(&LowerName::new(&wild))
        {
            return self.answer_from(node, qtype, &qn);
        }
        Lookup::NxDomain {
            soa: self.negative_soa(),
        }
    }

    fn answer_from(&self, node: &Node, qtype: RecordType, owner: &Name) -> Lookup {
        let rename = |set: &RrSet| set.records(owner);
        if qtype == RecordType::ANY {
            let mut all: Vec<Record> = node.iter().flat_map(rename).collect();
            all.sort_by_key(|r| u16::from(r.record_type()));
            return Lookup::Answer(all);
        }
        if let Some(set) = set_of(node, qtype) {
            return Lookup::Answer(rename(set));
        }
        if let Some(set) = set_of(node, RecordType::CNAME) {
            return Lookup::Answer(rename(set));
        }
        Lookup::NoData {
            soa: self.negative_soa(),
        }
    }

    fn referral(&self, cut: &LowerName) -> Lookup {
        let ns = self.rrset(cut, RecordType::NS).unwrap_or_default();
        let mut glue = Vec::new();
        for r in &ns {
            if let RData::NS(target) = &r.data {
                let lt = LowerName::new(&target.0);
                if !self.origin.zone_of(&lt) {
                    continue;
                }
                for t in [RecordType::A, RecordType::AAAA] {
                    if let Some(rs) = self.rrset(&lt, t) {
                        glue.extend(rs);
                    }
                }
            }
        }
        Lookup::Referral {
            cut: cut.into(),
            ns,
            glue,
        }
    }

    /// The records of one exact name and type (no wildcards, no cuts).
    pub fn rrset(&self, name: &LowerName, rtype: RecordType) -> Option<Vec<Record>> {
        self.nodes
            .get(name)
            .and_then(|n| set_of(n, rtype))
            .map(|s| s.records(&Name::from(name)))
    }
}

//------------ ZoneSet ----------------------------------------------------------

fn tld_label(tld: &LowerName) -> String {
    tld.to_string().trim_end_matches('.').to_string()
}

/// A special-use TLD defined without `special-use` saying so.
fn special_problem(label: &str, file: &Path, line: usize, opts: &LoadOptions) -> Option<Problem> {
    if label == "localhost" {
        return Some(Problem::error(
            file,
            line,
            "localhost is always answered locally (RFC 6761) and cannot be defined",
        ));
    }
    if crate::names::OPT_IN_TLDS.contains(&label) && !opts.special_use.iter().any(|s| s == label) {
        return Some(Problem::error(
            file,
            line,
            format!(
                "{label} is a special-use TLD (RFC 6761/6762/7686): add special-use = [\"{label}\"] to this root to serve it on purpose"
            ),
        ));
    }
    None
}

/// Warnings about a TLD this root defines: it collides with ICANN's, or it is an
/// alternate TLD outside `.alt` (RFC 9476; informational).
fn tld_warnings(label: &str, file: &Path, line: usize) -> Vec<Problem> {
    let mut out = Vec::new();
    if crate::icann::has_tld(label) {
        out.push(Problem::warning(
            file,
            line,
            format!(
                "{label} is also a TLD in ICANN's root ({}): a collision",
                crate::icann::VERSION
            ),
        ));
    } else if label != "alt" && !crate::names::SPECIAL_TLDS.contains(&label) {
        out.push(Problem::warning(
            file,
            line,
            format!("{label} is an alternate TLD outside .alt (RFC 9476); informational"),
        ));
    }
    out
}

/// RFC 1982 serial number arithmetic: is `a` before `b`?
pub fn serial_lt(a: u32, b: u32) -> bool {
    a != b && b.wrapping_sub(a) < 0x8000_0000
}

/// A root's zones as served now; reload swaps the inner `Arc` whole, so a query
/// sees either the old set or the new one.
pub type SharedZones = std::sync::Arc<std::sync::RwLock<Arc<ZoneSet>>>;

/// All zones of one `zones` root, by origin.
#[derive(Debug, Default)]
pub struct ZoneSet {
    pub dir: PathBuf,
    zones: BTreeMap<LowerName, Arc<Zone>>,
}

/// The origin a zone file's name implies: `root.zone` → `.`, `geek.zone` → `geek.`.
pub fn origin_for_file(path: &Path) -> Option<Name> {
    let file = path.file_name()?.to_str()?;
    if file.starts_with('.') {
        return None; // editor swap and temp files
    }
    let stem = file.strip_suffix(".zone")?;
    if stem == "root" {
        return Some(Name::root());
    }
    let mut n = Name::from_ascii(stem).ok()?;
    n.set_fqdn(true);
    Some(n)
}

/// What a zones root may define, beyond the defaults.
#[derive(Clone, Debug, Default)]
pub struct LoadOptions {
    /// Special-use TLDs (RFC 6761) this root serves on purpose (config `special-use`).
    pub special_use: Vec<String>,
    /// Serials last served, by origin, when there is no previous set to compare
    /// with (`check` reads them from the state file that `serve` writes).
    pub last_serials: HashMap<LowerName, u32>,
}

/// The file in a zones folder where `serve` records the serials it loaded, so that
/// `check` can tell when an edit lowers one. A dot file: never read as a zone.
pub const SERIALS_FILE: &str = ".altroot-serials";

/// Reads the serials file of a zones folder (missing or unreadable: empty).
pub fn read_serials(dir: &Path) -> HashMap<LowerName, u32> {
    let Ok(text) = std::fs::read_to_string(dir.join(SERIALS_FILE)) else {
        return HashMap::new();
    };
    text.lines()
        .filter_map(|l| {
            let mut w = l.split_whitespace();
            let name = Name::from_ascii(w.next()?).ok()?;
            let serial = w.next()?.parse().ok()?;
            Some((LowerName::new(&name), serial))
        })
        .collect()
}

impl ZoneSet {
    /// Loads every `*.zone` file of `dir` and checks the rules between them. With
    /// `previous`, a file that fails keeps its previous zone (if there was one).
    /// Returns the set and every problem, warnings included.
    /// Unless `force`, zones whose files did not change since `previous` read them
    /// are kept as they are, without reading.
    pub fn load(
        dir: &Path,
        previous: Option<&ZoneSet>,
        opts: &LoadOptions,
        force: bool,
    ) -> (ZoneSet, Vec<Problem>) {
        let mut set = ZoneSet {
            dir: dir.to_path_buf(),
            zones: BTreeMap::new(),
        };
        let mut problems = Vec::new();
        let entries = match std::fs::read_dir(dir) {
            Ok(e) => e,
            Err(e) => {
                problems.push(Problem::error(
                    dir,
                    1,
                    format!("cannot read zones folder: {e}"),
                ));
                if let Some(prev) = previous {
                    set.zones = prev.zones.clone();
                }
                return (set, problems);
            }
        };
        let mut paths: Vec<PathBuf> = entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
        paths.sort();
        let keep_previous = |set: &mut ZoneSet, origin: &LowerName| {
            if let Some(old) = previous.and_then(|p| p.zones.get(origin)) {
                set.zones.insert(origin.clone(), old.clone());
            }
        };
        for path in paths {
            let Some(origin) = origin_for_file(&path) else {
                // Not a zone file by its name; but one meant as such must not vanish
                // silently.
                let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
                if name.ends_with(".zone") && !name.starts_with('.') {
                    problems.push(Problem::error(
                        &path,
                        1,
                        format!(
                            "{name:?} does not name a zone: want <domain>.zone, e.g. geek.zone"
                        ),
                    ));
                }
                continue;
            };
            let lorigin = LowerName::new(&origin);
            if !path.is_file() {
                problems.push(Problem::error(
                    &path,
                    1,
                    "a zone file must be a regular file",
                ));
                keep_previous(&mut set, &lorigin);
                continue;
            }
            if set.zones.contains_key(&lorigin) {
                let first = set.zones[&lorigin]
                    .files
                    .first()
                    .map(|p| p.display().to_string())
                    .unwrap_or_default();
                problems.push(Problem::error(
                    &path,
                    1,
                    format!("{origin} is defined twice: by this file and by {first}"),
                ));
                continue;
            }
            if !force
                && let Some(old) = previous.and_then(|p| p.zones.get(&lorigin))
                && old.files.first() == Some(&path)
                && old.unchanged()
            {
                set.zones.insert(lorigin, old.clone());
                continue;
            }
            let tld_label = tld_label(&lorigin);
            if lorigin.num_labels() == 1
                && let Some(p) = special_problem(&tld_label, &path, 1, opts)
            {
                problems.push(p);
                continue;
            }
            match Zone::load(&path, &origin) {
                Ok((z, mut warnings)) => {
                    problems.append(&mut warnings);
                    let (f, l) = z.soa_line();
                    if lorigin.num_labels() == 1 {
                        problems.extend(tld_warnings(&tld_label, &f, l));
                    }
                    let old_serial = match previous {
                        Some(p) => p.zones.get(&lorigin).map(|o| o.serial),
                        None => opts.last_serials.get(&lorigin).copied(),
                    };
                    if let Some(old) = old_serial.filter(|old| serial_lt(z.serial, *old)) {
                        problems.push(Problem::warning(
                            &f,
                            l,
                            format!(
                                "serial went down from {old} to {} (RFC 1982): secondaries would keep the old zone",
                                z.serial
                            ),
                        ));
                    }
                    set.zones.insert(lorigin, Arc::new(z));
                }
                Err(mut e) => {
                    problems.append(&mut e);
                    keep_previous(&mut set, &lorigin);
                }
            }
        }

        // The root zone's own TLD names: special use, collisions, and TLDs that a zone
        // file of this folder also defines (the file would win; say so).
        let root = LowerName::new(&Name::root());
        if let Some(rz) = set.zones.get(&root).cloned() {
            let mut root_bad = false;
            for (tld, (f, l)) in &rz.tld_lines() {
                let label = tld_label(tld);
                if let Some(p) = special_problem(&label, f, *l, opts) {
                    problems.push(p);
                    root_bad = true;
                    continue;
                }
                if let Some(z) = set.zones.get(tld) {
                    let zf = z
                        .files
                        .first()
                        .map(|p| p.display().to_string())
                        .unwrap_or_default();
                    if rz.is_cut(tld) {
                        problems.push(Problem::error(
                            f,
                            *l,
                            format!("{tld} is defined twice: delegated here in the root zone and served from {zf}"),
                        ));
                        root_bad = true;
                    } else {
                        problems.push(Problem::warning(
                            f,
                            *l,
                            format!("names under {tld} here are hidden by {zf}, which serves all of {tld}"),
                        ));
                    }
                    continue;
                }
                if rz.is_cut(tld) {
                    problems.extend(tld_warnings(&label, f, *l));
                }
            }
            if root_bad {
                set.zones.remove(&root);
                keep_previous(&mut set, &root);
            }
        }
        problems.sort();
        problems.dedup();
        (set, problems)
    }

    /// Records the serials of this set in its folder's serials file (best effort:
    /// a read-only folder is fine).
    pub fn write_serials(&self) {
        let mut text =
            String::from("# serials altroot serve last loaded; read by `altroot check`\n");
        for z in self.zones.values() {
            text.push_str(&format!("{} {}\n", z.origin(), z.serial));
        }
        if let Err(e) = std::fs::write(self.dir.join(SERIALS_FILE), text) {
            tracing::debug!(
                "cannot write {}: {e}",
                self.dir.join(SERIALS_FILE).display()
            );
        }
    }

    /// True when both sets hold the very same zones (nothing was re-read).
    pub fn same_zones(&self, other: &ZoneSet) -> bool {
        self.zones.len() == other.zones.len()
            && self
                .zones
                .iter()
                .zip(other.zones.iter())
                .all(|((a, za), (b, zb))| a == b && Arc::ptr_eq(za, zb))
    }

    /// The deepest zone that contains `name`.
    pub fn find(&self, name: &LowerName) -> Option<&Arc<Zone>> {
        let mut n: Name = name.into();
        loop {
            if let Some(z) = self.zones.get(&LowerName::new(&n)) {
                return Some(z);
            }
            if n.is_root() {
                return None;
            }
            n = n.base_name();
        }
    }

    /// The zone with exactly this origin.
    pub fn get(&self, origin: &LowerName) -> Option<&Arc<Zone>> {
        self.zones.get(origin)
    }

    /// Does this root have the TLD: a zone file for it, or in root.zone a delegation
    /// of it or data owned by the TLD name itself? Names merely below it (glue for
    /// a name server under an ICANN TLD, say `ns.example.org.`) do not claim it.
    pub fn has_tld(&self, tld: &LowerName) -> bool {
        if self.zones.contains_key(tld) {
            return true;
        }
        self.zones
            .get(&LowerName::new(&Name::root()))
            .is_some_and(|root| root.is_cut(tld) || root.nodes.contains_key(tld))
    }

    pub fn zones(&self) -> impl Iterator<Item = &Arc<Zone>> {
        self.zones.values()
    }

    /// TLDs this root has (for `collisions` and logs).
    pub fn tlds(&self) -> Vec<Name> {
        let mut out: Vec<Name> = self
            .zones
            .keys()
            .filter(|k| k.num_labels() == 1)
            .map(Name::from)
            .collect();
        if let Some(root) = self.zones.get(&LowerName::new(&Name::root())) {
            for n in root.tld_lines().keys() {
                if self.has_tld(n) && !out.iter().any(|o| LowerName::new(o) == *n) {
                    out.push(n.into());
                }
            }
        }
        out.sort();
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn zone(origin: &str, text: &str) -> Zone {
        let o = Name::from_ascii(origin).unwrap();
        let p = zonefile::read_str(text, Path::new("t.zone"), &o).unwrap();
        Zone::build(&o, p).unwrap().0
    }

    const GEEK: &str = "$TTL 300\n@ SOA ns1 host 1 3600 600 86400 60\n@ NS ns1\nns1 A 192.0.2.53\nwww A 192.0.2.1\nalias CNAME www\n*.wild TXT \"w\"\na.b.c A 192.0.2.9\nsub NS ns.sub\nns.sub A 192.0.2.54\n";

    fn ln(s: &str) -> LowerName {
        LowerName::new(&Name::from_ascii(s).unwrap())
    }

    #[test]
    fn answers_nodata_nxdomain_and_ent() {
        let z = zone("geek.", GEEK);
        assert!(
            matches!(z.lookup(&ln("www.geek."), RecordType::A), Lookup::Answer(r) if r.len() == 1)
        );
        assert!(matches!(
            z.lookup(&ln("www.geek."), RecordType::MX),
            Lookup::NoData { .. }
        ));
        assert!(matches!(
            z.lookup(&ln("b.c.geek."), RecordType::A),
            Lookup::NoData { .. }
        ));
        match z.lookup(&ln("nope.geek."), RecordType::A) {
            Lookup::NxDomain { soa } => assert_eq!(soa.ttl, 60, "SOA TTL capped at MINIMUM"),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn cname_and_wildcard() {
        let z = zone("geek.", GEEK);
        match z.lookup(&ln("alias.geek."), RecordType::A) {
            Lookup::Answer(r) => assert_eq!(r[0].record_type(), RecordType::CNAME),
            other => panic!("{other:?}"),
        }
        match z.lookup(&ln("x.y.wild.geek."), RecordType::TXT) {
            Lookup::Answer(r) => assert_eq!(r[0].name, Name::from_ascii("x.y.wild.geek.").unwrap()),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn referral_carries_glue() {
        let z = zone("geek.", GEEK);
        match z.lookup(&ln("deep.sub.geek."), RecordType::A) {
            Lookup::Referral { cut, ns, glue } => {
                assert_eq!(cut, Name::from_ascii("sub.geek.").unwrap());
                assert_eq!(ns.len(), 1);
                assert_eq!(glue.len(), 1);
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn structural_errors() {
        let o = Name::from_ascii("geek.").unwrap();
        let p = zonefile::read_str(
            "$TTL 1\nwww A 192.0.2.1\nwww CNAME x\nexample.com. A 192.0.2.2\n",
            Path::new("t"),
            &o,
        )
        .unwrap();
        let e = Zone::build(&o, p).unwrap_err();
        let msgs: Vec<String> = e.iter().map(|e| e.to_string()).collect();
        assert!(msgs.iter().any(|m| m.contains("no SOA")), "{msgs:?}");
        assert!(msgs.iter().any(|m| m.contains("no NS")), "{msgs:?}");
        assert!(
            msgs.iter()
                .any(|m| m.contains("t:3: error:") && m.contains("CNAME and other data")),
            "{msgs:?}"
        );
        assert!(
            msgs.iter()
                .any(|m| m.contains("t:4: error:") && m.contains("outside")),
            "{msgs:?}"
        );
    }

    #[test]
    fn file_names() {
        assert_eq!(
            origin_for_file(Path::new("z/root.zone")),
            Some(Name::root())
        );
        assert_eq!(
            origin_for_file(Path::new("z/geek.zone")),
            Name::from_ascii("geek.").ok()
        );
        assert_eq!(origin_for_file(Path::new("z/.geek.zone.swp")), None);
        assert_eq!(origin_for_file(Path::new("z/geek.zone~")), None);
    }
}
