//! The structural checks of a zone being built ([`super::build`]): CNAME alone,
//! nothing but glue below a cut, nothing below a DNAME, addresses for in-zone
//! name servers, SOA and NS at the apex. Every problem points at the line that
//! causes it.

use std::path::Path;

use hickory_proto::rr::{RData, Record, RecordType};

use super::build::Builder;
use super::problem::Problem;
use super::store::{CUT, DNAME, NS_TARGET, SetRec};
use super::wire::{self, is_at_or_below, label_starts, to_name};

impl Builder {
    pub(super) fn error(&self, problems: &mut Vec<Problem>, set: &SetRec, message: String) {
        problems.push(Problem::error(self.path(set), set.line as usize, message));
    }

    /// A CNAME is alone at its name (RFC 1034 §3.6.2); beside a DNAME that is
    /// RFC 6672 §2.4: "no CNAME RRs can exist at that name", so that one name has
    /// one redirection.
    pub(super) fn check_cname_alone(&self, problems: &mut Vec<Problem>) {
        for id in 0..self.store.node_count() {
            let Some(cname) = self.store.set(id, RecordType::CNAME) else {
                continue;
            };
            // RFC 4035 §2.5 (and RFC 2181 §10.1's SIG/NXT): a signed CNAME has
            // its RRSIG and NSEC beside it.
            let others = self
                .store
                .sets(id)
                .iter()
                .filter(|s| !matches!(s.rtype(), RecordType::RRSIG | RecordType::NSEC))
                .count();
            if others == 1 {
                continue;
            }
            let name = to_name(self.store.name(id));
            let msg = if self.store.set(id, RecordType::DNAME).is_some() {
                format!(
                    "{name} has a CNAME and a DNAME: a name has one redirection (RFC 6672 §2.4)"
                )
            } else {
                format!("{name} has a CNAME and other data")
            };
            self.error(problems, cname, msg);
        }
    }

    /// Below a delegation only glue may live; at it only NS, DS, glue and the
    /// parent's NSEC and RRSIGs (over the DS and the NSEC, RFC 4035 §2.2). A DNAME
    /// at a delegation point gets its own message: RFC 6672 §2.3 allows DNAME
    /// beside NS only at a zone apex, so it belongs at the child's apex.
    pub(super) fn check_cuts(&self, problems: &mut Vec<Problem>) {
        for id in 0..self.store.node_count() {
            let Some(cut) = self.ancestor_with(id, CUT, true) else {
                continue;
            };
            let (name, cut_name) = (to_name(self.store.name(id)), to_name(self.store.name(cut)));
            let ns_target = self.store.node(id).flags & NS_TARGET != 0;
            for set in self.store.sets(id) {
                let rt = set.rtype();
                let is_glue = matches!(rt, RecordType::A | RecordType::AAAA) && ns_target;
                let at_cut = id == cut;
                let parent_side = matches!(
                    rt,
                    RecordType::NS | RecordType::DS | RecordType::NSEC | RecordType::RRSIG
                );
                if is_glue || (at_cut && parent_side) {
                    continue;
                }
                let msg = match (at_cut, rt) {
                    (true, RecordType::DNAME) => format!(
                        "{name} DNAME is at the delegation point {cut_name}: beside NS a DNAME belongs only at a zone apex, so put it in the child zone (RFC 6672 §2.3)"
                    ),
                    (true, _) => format!(
                        "{name} {rt} is at the delegation point {cut_name}: only NS, DS and glue belong there"
                    ),
                    (false, _) => {
                        format!("{name} {rt} is below the delegation of {cut_name} and is not glue")
                    }
                };
                self.error(problems, set, msg);
            }
        }
    }

    /// RFC 6672 §2.4: "Resource records MUST NOT exist at any subdomain of the
    /// owner of a DNAME RR." Lookup redirects every name below the owner, so such
    /// data could never be answered. (A DNAME at the apex is fine, RFC 6672 §2.3,
    /// but then the zone holds nothing below its apex.)
    pub(super) fn check_below_dnames(&self, problems: &mut Vec<Problem>) {
        for id in 0..self.store.node_count() {
            let Some(owner) = self.ancestor_with(id, DNAME, false) else {
                continue;
            };
            let (name, owner) = (
                to_name(self.store.name(id)),
                to_name(self.store.name(owner)),
            );
            for set in self.store.sets(id) {
                let msg = format!(
                    "{name} {} is below the DNAME at {owner} and can never be answered (RFC 6672 §2.4)",
                    set.rtype()
                );
                self.error(problems, set, msg);
            }
        }
    }

    /// Name servers inside the zone need addresses here, or nobody can reach them.
    pub(super) fn check_glue(&self, problems: &mut Vec<Problem>) {
        let store = &self.store;
        for id in 0..store.node_count() {
            let Some(ns) = store.set(id, RecordType::NS) else {
                continue;
            };
            for t in store.rdatas(ns) {
                let lt = t.to_ascii_lowercase();
                if !is_at_or_below(&lt, &self.owire) {
                    continue;
                }
                let has_addr = store.find(&lt).is_some_and(|n| {
                    store.set(n, RecordType::A).is_some()
                        || store.set(n, RecordType::AAAA).is_some()
                });
                if !has_addr {
                    let msg = format!(
                        "name server {} of {} is inside {} but has no A or AAAA record (glue)",
                        to_name(t),
                        to_name(store.name(id)),
                        self.origin
                    );
                    self.error(problems, ns, msg);
                }
            }
        }
    }

    /// SOA and NS at the apex, and an SOA TTL that does not outlive negative
    /// answers (RFC 2308). Returns the SOA, if there is one.
    pub(super) fn check_apex(
        &self,
        main_file: &Path,
        problems: &mut Vec<Problem>,
    ) -> Option<Record> {
        let origin = &self.origin;
        let apex = self.store.find(&self.owire);
        let soa_set = apex.and_then(|id| self.store.set(id, RecordType::SOA));
        let soa = soa_set.and_then(|s| self.store.records(s, origin).into_iter().next());
        let (f, l) = match soa_set {
            Some(s) => (self.path(s), s.line as usize),
            None => {
                problems.push(Problem::error(
                    main_file,
                    self.first_line.unwrap_or(1),
                    format!("no SOA record at the apex {origin}"),
                ));
                (main_file.to_path_buf(), 1)
            }
        };
        if apex
            .and_then(|id| self.store.set(id, RecordType::NS))
            .is_none()
        {
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

    /// The highest ancestor of node `id` with `flag`, from the apex down: the
    /// apex itself counts, `id` itself only when `inclusive`.
    pub(super) fn ancestor_with(&self, id: u32, flag: u8, inclusive: bool) -> Option<u32> {
        let name = self.store.name(id);
        let starts = label_starts(name);
        let last = starts.count().checked_sub(usize::from(!inclusive))?;
        let first = wire::label_count(&self.owire);
        (first..=last)
            .filter_map(|k| self.store.find(&name[starts.suffix(k)..]))
            .find(|&a| self.store.node(a).flags & flag != 0)
    }
}
