//! NSEC3 proofs (RFC 5155 §8) over a zone's validated NSEC3 records: the closest
//! encloser proof, the next closer name's cover, the wildcard, opt-out, and RFC
//! 9276's iteration limit (above it the answer is insecure, as in Unbound).
//! hickory decodes only hash algorithm 1 (SHA-1) and the opt-out flag; an NSEC3 with
//! another algorithm or unknown flags does not decode, so it never reaches here
//! (RFC 5155 §8.1 and §8.2: such records are ignored).

use hickory_proto::dnssec::Nsec3HashAlgorithm;
use hickory_proto::dnssec::rdata::NSEC3;
use hickory_proto::rr::{Name, RecordType};

use super::nsec::{ancestor, label_count, wildcard_of};
use super::{Ede, Security, Why};

/// One NSEC3 record with its owner's hash decoded.
#[derive(Clone, Debug)]
pub(super) struct Nsec3 {
    pub owner: Name,
    pub hash: Vec<u8>,
    pub rdata: NSEC3,
}

impl Nsec3 {
    /// `None` when the owner's first label is not base32hex or the owner is not
    /// directly below `zone`.
    pub fn new(owner: &Name, rdata: &NSEC3, zone: &Name) -> Option<Nsec3> {
        let label = owner.iter().next()?;
        if owner.base_name() != *zone {
            return None;
        }
        let hash = data_encoding::BASE32HEX_NOPAD
            .decode(&label.to_ascii_uppercase())
            .ok()?;
        Some(Nsec3 {
            owner: owner.clone(),
            hash,
            rdata: rdata.clone(),
        })
    }

    fn covers(&self, h: &[u8]) -> bool {
        let next = self.rdata.next_hashed_owner_name();
        let own = self.hash.as_slice();
        if own < next {
            own < h && h < next
        } else {
            // The last NSEC3 of the chain wraps around (or the only one: all but itself).
            h > own || h < next
        }
    }

    pub(super) fn is_cut(&self) -> bool {
        let t = self.rdata.type_set();
        t.contains(RecordType::DNAME)
            || (t.contains(RecordType::NS) && !t.contains(RecordType::SOA))
    }
}

/// NSEC3 hashes one proof may compute. A closest-encloser proof hashes each
/// ancestor of the name; a name of 127 labels at 150 iterations would cost about
/// 19,000 SHA-1 rounds per question, which a hostile zone could ask for at will
/// (Unbound bounds the same work, `MAX_NSEC3_CALCULATIONS`). 64 covers names 30
/// labels below their zone, with their wildcards; past it the proof fails (bogus).
pub(super) const MAX_HASHES: u16 = 64;

/// The NSEC3 records of one zone, one parameter set.
pub(super) struct Chain<'a> {
    pub zone: &'a Name,
    pub records: &'a [Nsec3],
    pub max_iterations: u16,
    /// Hashes computed so far (bounded by [`MAX_HASHES`]).
    pub hashes: std::cell::Cell<u16>,
}

/// A closest encloser proof (RFC 5155 §8.3).
struct Encloser<'a> {
    ce: Name,
    /// The NSEC3 covering the next closer name.
    nc_cover: &'a Nsec3,
}

impl Chain<'_> {
    fn why(&self, ede: Ede, reason: String) -> Why {
        Why::new(ede, self.zone, reason)
    }

    fn bogus(&self, reason: String) -> Security {
        Security::Bogus(self.why(Ede::NsecMissing, reason))
    }

    /// Insecure when the iterations are above the limit, bogus when the records mix
    /// parameter sets (Unbound's `param_set_same`), else `None`.
    fn precheck(&self) -> Option<Security> {
        let first = self.records.first()?;
        let (salt, iterations) = (first.rdata.salt(), first.rdata.iterations());
        if self
            .records
            .iter()
            .any(|r| r.rdata.salt() != salt || r.rdata.iterations() != iterations)
        {
            return Some(Security::Bogus(self.why(
                Ede::DnssecBogus,
                "NSEC3 records with different salts or iterations".into(),
            )));
        }
        if self
            .records
            .iter()
            .any(|r| r.rdata.iterations() > self.max_iterations)
        {
            return Some(Security::Insecure(self.why(
                Ede::UnsupportedNsec3Iterations,
                format!(
                    "NSEC3 with {iterations} iterations, above the limit of {}",
                    self.max_iterations
                ),
            )));
        }
        None
    }

    fn hash(&self, name: &Name) -> Option<Vec<u8>> {
        let n = self.hashes.get();
        if n >= MAX_HASHES {
            return None;
        }
        self.hashes.set(n + 1);
        let first = self.records.first()?;
        Nsec3HashAlgorithm::SHA1
            .hash(first.rdata.salt(), name, first.rdata.iterations())
            .ok()
            .map(|d| d.as_ref().to_vec())
    }

    pub(super) fn matching(&self, name: &Name) -> Option<&Nsec3> {
        let h = self.hash(name)?;
        self.records.iter().find(|r| r.hash == h)
    }

    pub(super) fn covering(&self, name: &Name) -> Option<&Nsec3> {
        let h = self.hash(name)?;
        self.records.iter().find(|r| r.covers(&h))
    }

    /// The closest encloser of `qname` and the cover of its next closer name.
    /// `Err(None)`: `qname` itself has a matching NSEC3.
    fn encloser(&self, qname: &Name) -> Result<Encloser<'_>, Option<String>> {
        let zone_labels = label_count(self.zone);
        let qlabels = label_count(qname);
        if !self.zone.zone_of(qname) {
            return Err(Some(format!("{qname} is not in {}", self.zone)));
        }
        for n in (zone_labels..=qlabels).rev() {
            let candidate = ancestor(qname, n);
            let Some(m) = self.matching(&candidate) else {
                continue;
            };
            if n == qlabels {
                return Err(None);
            }
            if m.is_cut() {
                return Err(Some(format!(
                    "the NSEC3 {} matching {candidate} is a delegation or DNAME, not a closest encloser",
                    m.owner
                )));
            }
            let next_closer = ancestor(qname, n + 1);
            return match self.covering(&next_closer) {
                Some(c) => Ok(Encloser {
                    ce: candidate,
                    nc_cover: c,
                }),
                None => Err(Some(format!(
                    "no NSEC3 covers {next_closer}, the next closer name of {qname}"
                ))),
            };
        }
        Err(Some(format!(
            "no NSEC3 matches an ancestor of {qname} (no closest encloser)"
        )))
    }

    fn opt_out(&self, e: &Encloser<'_>, what: &str) -> Security {
        if e.nc_cover.rdata.opt_out() {
            Security::Insecure(self.why(
                Ede::DnssecIndeterminate,
                format!("{what}: the next closer name is in an opt-out span"),
            ))
        } else {
            Security::Secure
        }
    }

    /// RFC 5155 §8.4.
    pub fn nxdomain(&self, qname: &Name) -> Security {
        if let Some(s) = self.precheck() {
            return s;
        }
        let e = match self.encloser(qname) {
            Ok(e) => e,
            Err(None) => return self.bogus(format!("an NSEC3 matches {qname}: it exists")),
            Err(Some(r)) => return self.bogus(r),
        };
        let Some(wild) = wildcard_of(&e.ce) else {
            return self.bogus(format!("no wildcard name below {}", e.ce));
        };
        if self.matching(&wild).is_some() {
            return self.bogus(format!(
                "{wild} exists, so {qname} should have been synthesised"
            ));
        }
        if self.covering(&wild).is_none() {
            return self.bogus(format!("no NSEC3 covers the wildcard {wild}"));
        }
        self.opt_out(&e, &format!("NXDOMAIN for {qname}"))
    }

    /// RFC 5155 §8.5 (and §8.6 for DS, §8.7 for a wildcard).
    pub fn nodata(&self, qname: &Name, qtype: RecordType) -> Security {
        if let Some(s) = self.precheck() {
            return s;
        }
        if let Some(m) = self.matching(qname) {
            let t = m.rdata.type_set();
            if t.contains(qtype) || t.contains(RecordType::CNAME) {
                return self.bogus(format!("the NSEC3 of {qname} lists {qtype} or CNAME"));
            }
            let parent_side = t.contains(RecordType::NS) && !t.contains(RecordType::SOA);
            if qtype != RecordType::DS && parent_side {
                return self.bogus(format!(
                    "the NSEC3 of {qname} is a delegation's: it proves no {qtype}"
                ));
            }
            if qtype == RecordType::DS && t.contains(RecordType::SOA) && !qname.is_root() {
                return self.bogus(format!(
                    "the NSEC3 of {qname} is the child zone's apex: it proves nothing about DS"
                ));
            }
            return Security::Secure;
        }
        let e = match self.encloser(qname) {
            Ok(e) => e,
            Err(None) => return unreachable_match(self, qname),
            Err(Some(r)) => return self.bogus(r),
        };
        if qtype == RecordType::DS {
            // §8.6: no NSEC3 for the name, an opt-out span over it: an unsigned delegation.
            return if e.nc_cover.rdata.opt_out() {
                self.opt_out(&e, &format!("no DS for {qname}"))
            } else {
                self.bogus(format!(
                    "no NSEC3 matches {qname} and its next closer name is not in an opt-out span"
                ))
            };
        }
        let Some(wild) = wildcard_of(&e.ce) else {
            return self.bogus(format!("no wildcard name below {}", e.ce));
        };
        match self.matching(&wild) {
            Some(w) => {
                let t = w.rdata.type_set();
                if t.contains(qtype) || t.contains(RecordType::CNAME) {
                    self.bogus(format!("the wildcard {wild} has {qtype} or CNAME"))
                } else {
                    self.opt_out(&e, &format!("wildcard NODATA for {qname}"))
                }
            }
            None => self.bogus(format!("no NSEC3 matches {qname} or the wildcard {wild}")),
        }
    }

    /// RFC 5155 §8.8: an answer synthesised from `wildcard` needs the next closer
    /// name of `qname` covered.
    pub fn wildcard_answer(&self, qname: &Name, wildcard: &Name) -> Security {
        if let Some(s) = self.precheck() {
            return s;
        }
        let ce = wildcard.base_name();
        if !ce.zone_of(qname) || label_count(qname) <= label_count(&ce) {
            return self.bogus(format!("{wildcard} cannot have produced {qname}"));
        }
        let next_closer = ancestor(qname, label_count(&ce) + 1);
        if self.covering(&next_closer).is_some() {
            Security::Secure
        } else {
            self.bogus(format!(
                "no NSEC3 covers {next_closer}: {qname} may exist beside {wildcard}"
            ))
        }
    }
}

/// `encloser` reports a match of `qname` itself only when `matching(qname)` found
/// one, which `nodata` handled before: treat it as a failed proof.
fn unreachable_match(chain: &Chain<'_>, qname: &Name) -> Security {
    chain.bogus(format!("inconsistent NSEC3 records for {qname}"))
}
