//! One zone in memory, and [`Zone::lookup`]: answering a question the way an
//! authoritative server for it would.
//!
//! Zones are made by [`super::build`], which checks the rules this module relies
//! on (one SOA, nothing but glue below a cut, nothing below a DNAME …).

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::PathBuf;

use hickory_proto::rr::rdata::CNAME;
use hickory_proto::rr::{LowerName, Name, RData, Record, RecordType};

use super::dname::{dname_target, synthesize};
use super::stamp::Stamp;

//------------ Lookup ----------------------------------------------------------

/// What a zone says about one question.
#[derive(Clone, Debug)]
pub enum Lookup {
    /// Records owned by the query name: the asked type, or a CNAME. Below a DNAME:
    /// the DNAME (owned by its owner), then the CNAME synthesised from it (owned by
    /// the query name as asked, with the DNAME's TTL; RFC 6672 §3.1).
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

//------------ RrSet -----------------------------------------------------------

/// One RRset, with where its first record was written (for messages). Only the
/// data is stored: the owner is the node's name, and one TTL serves the set
/// (RFC 2181 §5.2), which saves a third of the memory of whole `Record`s.
#[derive(Debug)]
pub(super) struct RrSet {
    pub(super) rtype: RecordType,
    /// Index into the zone's files.
    pub(super) file: u16,
    pub(super) line: u32,
    pub(super) ttl: u32,
    pub(super) data: Vec<RData>,
}

impl RrSet {
    /// The set as records owned by `owner`.
    pub(super) fn records(&self, owner: &Name) -> Vec<Record> {
        self.data
            .iter()
            .map(|d| Record::from_rdata(owner.clone(), self.ttl, d.clone()))
            .collect()
    }
}

/// All RRsets of one owner name (few per name: a Vec beats a map here).
pub(super) type Node = Vec<RrSet>;

pub(super) fn set_of(node: &Node, rtype: RecordType) -> Option<&RrSet> {
    node.iter().find(|s| s.rtype == rtype)
}

//------------ Zone ------------------------------------------------------------

#[derive(Debug)]
pub struct Zone {
    pub(super) origin: LowerName,
    pub(super) origin_name: Name,
    /// The zone's main file, and every file it includes.
    pub files: Vec<PathBuf>,
    pub(super) nodes: HashMap<LowerName, Node>,
    /// Names that exist only because names below them do (empty non-terminals).
    pub(super) ents: HashSet<LowerName>,
    /// Names below the apex that have NS records.
    pub(super) cuts: HashSet<LowerName>,
    /// Names (the apex included) that have a DNAME record.
    pub(super) dnames: HashSet<LowerName>,
    pub(super) soa: Record,
    pub(super) serial: u32,
    /// What every file held when it was read, to skip unchanged zones on reload.
    pub(super) stamps: Vec<Stamp>,
}

impl Zone {
    /// True when none of the zone's files changed since it was read.
    pub(super) fn unchanged(&self) -> bool {
        !self.stamps.is_empty() && self.stamps.iter().all(Stamp::still_valid)
    }

    /// Where an RRset was first written (for messages).
    fn position(&self, name: &LowerName, rtype: RecordType) -> (PathBuf, usize) {
        self.nodes
            .get(name)
            .and_then(|n| set_of(n, rtype).or(n.first()))
            .map(|s| (self.file_of(s), s.line as usize))
            .unwrap_or_else(|| (self.files.first().cloned().unwrap_or_default(), 1))
    }

    fn file_of(&self, set: &RrSet) -> PathBuf {
        self.files
            .get(set.file as usize)
            .cloned()
            .unwrap_or_default()
    }

    /// Where the SOA was written (for messages about the whole zone).
    pub fn soa_line(&self) -> (PathBuf, usize) {
        self.position(&self.origin, RecordType::SOA)
    }

    /// In a root zone: each TLD name and where it was first written.
    pub(super) fn tld_lines(&self) -> BTreeMap<LowerName, (PathBuf, usize)> {
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
                let here = (self.file_of(set), set.line as usize);
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

    /// True when this exact name owns data in the zone.
    pub(super) fn has_data(&self, name: &LowerName) -> bool {
        self.nodes.contains_key(name)
    }

    /// True when `name` is a delegation point in this zone.
    pub fn is_cut(&self, name: &LowerName) -> bool {
        self.cuts.contains(name)
    }

    /// The records of one exact name and type (no wildcards, no cuts).
    pub fn rrset(&self, name: &LowerName, rtype: RecordType) -> Option<Vec<Record>> {
        self.nodes
            .get(name)
            .and_then(|n| set_of(n, rtype))
            .map(|s| s.records(&Name::from(name)))
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
    ///    itself is NODATA: DS lives in the parent, and we hold none). A DNAME at
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
        let lname = LowerName::new(qname);
        if let Some(l) = self.cut_or_dname(qname, qtype) {
            return l;
        }
        if let Some(node) = self.nodes.get(&lname) {
            return self.answer_from(node, qtype, qname);
        }
        if self.ents.contains(&lname) {
            return Lookup::NoData {
                soa: self.negative_soa(),
            };
        }
        if let Some(node) = self.wildcard_for(qname) {
            return self.answer_from(node, qtype, qname);
        }
        Lookup::NxDomain {
            soa: self.negative_soa(),
        }
    }

    /// Step 1 of [`Zone::lookup`]: the first cut or DNAME above `qname`, from the
    /// apex down.
    fn cut_or_dname(&self, qname: &Name, qtype: RecordType) -> Option<Lookup> {
        if self.cuts.is_empty() && self.dnames.is_empty() {
            return None;
        }
        let qlabels = qname.num_labels();
        let olabels = self.origin.num_labels();
        if olabels < qlabels
            && self.dnames.contains(&self.origin)
            && let Some(l) = self.redirect(qname, &self.origin)
        {
            return Some(l);
        }
        for n in olabels + 1..=qlabels {
            let above = LowerName::new(&qname.trim_to(n as usize));
            if self.cuts.contains(&above) {
                if n == qlabels && qtype == RecordType::DS {
                    return Some(Lookup::NoData {
                        soa: self.negative_soa(),
                    });
                }
                return Some(self.referral(&above));
            }
            if n < qlabels
                && self.dnames.contains(&above)
                && let Some(l) = self.redirect(qname, &above)
            {
                return Some(l);
            }
        }
        None
    }

    /// The DNAME at `owner` applied to `qname` (RFC 6672 §3.1). `None` only if the
    /// zone holds no readable DNAME there (the builder refuses unreadable ones).
    fn redirect(&self, qname: &Name, owner: &LowerName) -> Option<Lookup> {
        let set = self
            .nodes
            .get(owner)
            .and_then(|n| set_of(n, RecordType::DNAME))?;
        let data = set.data.first()?;
        let target = dname_target(data)?;
        let owner = Name::from(owner);
        let dname = Record::from_rdata(owner.clone(), set.ttl, data.clone());
        Some(match synthesize(qname, &owner, &target) {
            Ok(to) => {
                let cname = RData::CNAME(CNAME(to));
                Lookup::Answer(vec![
                    dname,
                    Record::from_rdata(qname.clone(), set.ttl, cname),
                ])
            }
            Err(_) => Lookup::NameTooLong { dname },
        })
    }

    /// Step 3 of [`Zone::lookup`]: the wildcard node at the closest encloser.
    fn wildcard_for(&self, qname: &Name) -> Option<&Node> {
        let mut encloser = qname.base_name();
        loop {
            let le = LowerName::new(&encloser);
            if self.has_name(&le) || le == self.origin || encloser.is_root() {
                break;
            }
            encloser = encloser.base_name();
        }
        let wild = encloser.prepend_label("*").ok()?;
        self.nodes.get(&LowerName::new(&wild))
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
}

#[cfg(test)]
#[path = "zone_tests.rs"]
mod tests;
