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

use crate::zonefile::{self, Located, ZoneError};

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

#[derive(Debug)]
pub struct Zone {
    origin: LowerName,
    origin_name: Name,
    /// The zone's main file, and every file it includes.
    pub files: Vec<PathBuf>,
    nodes: HashMap<LowerName, HashMap<RecordType, Vec<Record>>>,
    /// Every owner name and all its ancestors up to the origin (empty non-terminals).
    exists: HashSet<LowerName>,
    /// Names below the apex that have NS records.
    cuts: HashSet<LowerName>,
    soa: Record,
    serial: u32,
}

impl Zone {
    /// Builds a zone from parsed records, checking the rules that serving depends on.
    pub fn build(origin: &Name, parsed: zonefile::Parsed) -> Result<Zone, Vec<ZoneError>> {
        let mut errors = Vec::new();
        let main_file = parsed.files.first().cloned().unwrap_or_default();
        let lorigin = LowerName::new(origin);
        let mut nodes: HashMap<LowerName, HashMap<RecordType, Vec<Record>>> = HashMap::new();
        let mut first_line: HashMap<(LowerName, RecordType), (Arc<PathBuf>, usize)> =
            HashMap::new();
        let mut err = |l: &Located, msg: String| {
            errors.push(ZoneError {
                file: l.file.to_path_buf(),
                line: l.line,
                message: msg,
            })
        };

        for l in &parsed.records {
            let r = &l.record;
            let owner = LowerName::new(&r.name);
            if !lorigin.zone_of(&owner) {
                err(
                    l,
                    format!("{} is outside the zone's origin {origin}", r.name),
                );
                continue;
            }
            let rt = r.record_type();
            if rt == RecordType::SOA && owner != lorigin {
                err(
                    l,
                    format!("SOA at {} is not at the zone apex {origin}", r.name),
                );
                continue;
            }
            let set = nodes
                .entry(owner.clone())
                .or_default()
                .entry(rt)
                .or_default();
            if set.iter().any(|x| x.data == r.data) {
                continue; // duplicate RR: RFC 2181 §5 says sets have no duplicates
            }
            if (rt == RecordType::SOA || rt == RecordType::CNAME) && !set.is_empty() {
                err(l, format!("more than one {rt} at {}", r.name));
                continue;
            }
            set.push(r.clone());
            first_line
                .entry((owner, rt))
                .or_insert((l.file.clone(), l.line));
        }
        // RFC 2181 §5.2: all TTLs in an RRset are the same; use the smallest.
        for sets in nodes.values_mut() {
            for set in sets.values_mut() {
                let min = set.iter().map(|r| r.ttl).min().unwrap_or(0);
                for r in set.iter_mut() {
                    r.ttl = min;
                }
            }
        }

        let mut cuts = HashSet::new();
        for (name, sets) in &nodes {
            if sets.contains_key(&RecordType::CNAME) && sets.len() > 1 {
                let (file, line) = first_line
                    .get(&(name.clone(), RecordType::CNAME))
                    .cloned()
                    .unwrap_or_default();
                errors.push(ZoneError {
                    file: file.to_path_buf(),
                    line,
                    message: format!("{name} has a CNAME and other data"),
                });
            }
            if name != &lorigin && sets.contains_key(&RecordType::NS) {
                cuts.insert(name.clone());
            }
        }

        let soa = nodes
            .get(&lorigin)
            .and_then(|s| s.get(&RecordType::SOA))
            .and_then(|s| s.first())
            .cloned();
        let has_apex_ns = nodes
            .get(&lorigin)
            .is_some_and(|s| s.contains_key(&RecordType::NS));
        if soa.is_none() {
            errors.push(ZoneError {
                file: main_file.clone(),
                line: 0,
                message: format!("no SOA record at the apex {origin}"),
            });
        }
        if !has_apex_ns {
            errors.push(ZoneError {
                file: main_file.clone(),
                line: 0,
                message: format!("no NS records at the apex {origin}"),
            });
        }
        let mut exists = HashSet::new();
        for name in nodes.keys() {
            let mut n: Name = name.into();
            loop {
                let ln = LowerName::new(&n);
                if !exists.insert(ln.clone()) || ln == lorigin || n.is_root() {
                    break;
                }
                n = n.base_name();
            }
        }
        match soa {
            Some(soa) if errors.is_empty() => {
                let serial = match &soa.data {
                    RData::SOA(s) => s.serial,
                    _ => 0,
                };
                Ok(Zone {
                    origin: lorigin,
                    origin_name: origin.clone(),
                    files: parsed.files,
                    nodes,
                    exists,
                    cuts,
                    soa,
                    serial,
                })
            }
            _ => {
                errors.sort();
                Err(errors)
            }
        }
    }

    /// Reads and builds the zone in `path` whose origin is `origin`.
    pub fn load(path: &Path, origin: &Name) -> Result<Zone, Vec<ZoneError>> {
        Zone::build(origin, zonefile::read(path, origin)?)
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
            .flat_map(|s| s.values())
            .map(Vec::len)
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
        self.exists.contains(name)
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
        // 2. The exact name.
        if let Some(sets) = self.nodes.get(qname) {
            return self.answer_from(sets, qtype, &qn);
        }
        if self.exists.contains(qname) {
            return Lookup::NoData {
                soa: self.negative_soa(),
            };
        }
        // 3. Wildcard at the closest encloser (RFC 4592 §3.3.1).
        let mut encloser = qn.base_name();
        loop {
            let le = LowerName::new(&encloser);
            if self.exists.contains(&le) || le == self.origin {
                break;
            }
            if encloser.is_root() {
                break;
            }
            encloser = encloser.base_name();
        }
        if let Ok(wild) = encloser.prepend_label("*")
            && let Some(sets) = self.nodes.get(&LowerName::new(&wild))
        {
            return self.answer_from(sets, qtype, &qn);
        }
        Lookup::NxDomain {
            soa: self.negative_soa(),
        }
    }

    fn answer_from(
        &self,
        sets: &HashMap<RecordType, Vec<Record>>,
        qtype: RecordType,
        owner: &Name,
    ) -> Lookup {
        let rename = |rs: &Vec<Record>| -> Vec<Record> {
            rs.iter()
                .map(|r| {
                    let mut r = r.clone();
                    r.name = owner.clone();
                    r
                })
                .collect()
        };
        if qtype == RecordType::ANY {
            let mut all: Vec<Record> = sets.values().flat_map(rename).collect();
            all.sort_by_key(|r| u16::from(r.record_type()));
            return Lookup::Answer(all);
        }
        if let Some(rs) = sets.get(&qtype) {
            return Lookup::Answer(rename(rs));
        }
        if let Some(rs) = sets.get(&RecordType::CNAME) {
            return Lookup::Answer(rename(rs));
        }
        Lookup::NoData {
            soa: self.negative_soa(),
        }
    }

    fn referral(&self, cut: &LowerName) -> Lookup {
        let ns = self
            .nodes
            .get(cut)
            .and_then(|s| s.get(&RecordType::NS))
            .cloned()
            .unwrap_or_default();
        let mut glue = Vec::new();
        for r in &ns {
            if let RData::NS(target) = &r.data {
                let lt = LowerName::new(&target.0);
                if !self.origin.zone_of(&lt) {
                    continue;
                }
                if let Some(sets) = self.nodes.get(&lt) {
                    for t in [RecordType::A, RecordType::AAAA] {
                        if let Some(rs) = sets.get(&t) {
                            glue.extend(rs.iter().cloned());
                        }
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
    pub fn rrset(&self, name: &LowerName, rtype: RecordType) -> Option<&[Record]> {
        self.nodes
            .get(name)
            .and_then(|s| s.get(&rtype))
            .map(Vec::as_slice)
    }
}

//------------ ZoneSet ----------------------------------------------------------

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

impl ZoneSet {
    /// Loads every `*.zone` file of `dir`. With `previous`, a file that fails keeps its
    /// previous zone (if there was one); errors are returned alongside.
    pub fn load(dir: &Path, previous: Option<&ZoneSet>) -> (ZoneSet, Vec<ZoneError>) {
        let mut set = ZoneSet {
            dir: dir.to_path_buf(),
            zones: BTreeMap::new(),
        };
        let mut errors = Vec::new();
        let entries = match std::fs::read_dir(dir) {
            Ok(e) => e,
            Err(e) => {
                errors.push(ZoneError {
                    file: dir.to_path_buf(),
                    line: 0,
                    message: format!("cannot read zones folder: {e}"),
                });
                if let Some(prev) = previous {
                    set.zones = prev.zones.clone();
                }
                return (set, errors);
            }
        };
        let mut paths: Vec<PathBuf> = entries
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.is_file())
            .collect();
        paths.sort();
        for path in paths {
            let Some(origin) = origin_for_file(&path) else {
                continue;
            };
            let lorigin = LowerName::new(&origin);
            if set.zones.contains_key(&lorigin) {
                errors.push(ZoneError {
                    file: path.clone(),
                    line: 0,
                    message: format!("a second file for zone {origin}"),
                });
                continue;
            }
            match Zone::load(&path, &origin) {
                Ok(z) => {
                    set.zones.insert(lorigin, Arc::new(z));
                }
                Err(mut e) => {
                    errors.append(&mut e);
                    if let Some(old) = previous.and_then(|p| p.zones.get(&lorigin)) {
                        set.zones.insert(lorigin, old.clone());
                    }
                }
            }
        }
        errors.sort();
        (set, errors)
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

    /// Does this root have the TLD: a zone file for it, or the name in root.zone
    /// (a delegation or data)?
    pub fn has_tld(&self, tld: &LowerName) -> bool {
        if self.zones.contains_key(tld) {
            return true;
        }
        self.zones
            .get(&LowerName::new(&Name::root()))
            .is_some_and(|root| root.has_name(tld))
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
            for n in &root.exists {
                if n.num_labels() == 1 && !out.iter().any(|o| LowerName::new(o) == *n) {
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
        Zone::build(&o, p).unwrap()
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
