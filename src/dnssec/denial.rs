//! Denial of existence: a zone's validated NSEC or NSEC3 records, and what they
//! prove about a name and type. The same records serve a fresh response's proof and
//! RFC 8198's aggressive use of cached ones ([`Denials::deny`]).

use hickory_proto::dnssec::rdata::{DNSSECRData, NSEC};
use hickory_proto::rr::{Name, RData, Record, RecordType};

use super::keys::ZoneKeys;
use super::nsec::{self, NoData};
use super::nsec3::{Chain, Nsec3};
use super::rrsig::{RrsetOutcome, signer_of, sigs_for, verify_rrset};
use super::{Ede, Security, Settings, Why};

/// What [`Denials::deny`] proves.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Denied {
    /// The name does not exist.
    NxDomain,
    /// The name exists, without the type.
    NoData,
}

/// A zone's validated NSEC or NSEC3 records.
#[derive(Clone, Debug)]
pub struct Denials {
    zone: Name,
    nsec: Vec<(Name, NSEC)>,
    nsec3: Vec<Nsec3>,
    /// The smallest TTL among them (capped by their signatures).
    ttl: u32,
    max_iterations: u16,
}

impl Denials {
    /// Verifies every NSEC and NSEC3 RRset among `section` (an authority section: the
    /// RRSIGs over them are taken from it too) under the zone's `keys`. One that does
    /// not verify, or has no RRSIG, makes the whole response bogus (Unbound does the
    /// same); one signed by another zone is left out.
    pub fn verify(
        section: &[Record],
        keys: &ZoneKeys,
        settings: &Settings,
    ) -> Result<Denials, Why> {
        Denials::verify_with(section, keys, settings, None)
    }

    /// [`Denials::verify`], with RRsets verified earlier taken from `memo`.
    pub fn verify_with(
        section: &[Record],
        keys: &ZoneKeys,
        settings: &Settings,
        memo: Option<&super::VerifyMemo>,
    ) -> Result<Denials, Why> {
        let mut denials = Denials {
            zone: keys.zone.clone(),
            nsec: Vec::new(),
            nsec3: Vec::new(),
            ttl: u32::MAX,
            max_iterations: settings.nsec3_max_iterations,
        };
        let mut seen: Vec<(Name, RecordType)> = Vec::new();
        for r in section {
            let rtype = r.record_type();
            if !matches!(rtype, RecordType::NSEC | RecordType::NSEC3) {
                continue;
            }
            if seen.iter().any(|(n, t)| *n == r.name && *t == rtype) {
                continue;
            }
            seen.push((r.name.clone(), rtype));
            if signer_of(section, &r.name, rtype).is_some_and(|s| s != keys.zone) {
                // Another zone's proof (a response may cross a zone cut): not ours to
                // check, and no part of ours.
                continue;
            }
            let rrset: Vec<Record> = section
                .iter()
                .filter(|x| x.name == r.name && x.record_type() == rtype)
                .cloned()
                .collect();
            let sigs: Vec<Record> = sigs_for(section, &r.name, rtype).cloned().collect();
            let outcome = match memo {
                Some(m) => m.verify(&rrset, &sigs, keys, settings),
                None => verify_rrset(&rrset, &sigs, keys, settings),
            };
            match outcome {
                RrsetOutcome::Secure {
                    wildcard: Some(w), ..
                } => {
                    return Err(Why::new(
                        Ede::DnssecBogus,
                        &keys.zone,
                        format!("{} {rtype} claims to come from the wildcard {w}", r.name),
                    ));
                }
                RrsetOutcome::Secure {
                    ttl,
                    wildcard: None,
                } => {
                    denials.ttl = denials.ttl.min(ttl);
                    denials.push(&rrset);
                }
                RrsetOutcome::Bogus(why) => return Err(why),
            }
        }
        if denials.ttl == u32::MAX {
            denials.ttl = 0;
        }
        Ok(denials)
    }

    /// NSEC and NSEC3 records of `zone` that were validated earlier (a cache's), for
    /// [`Denials::deny`]. RRSIGs and other records among them are ignored.
    pub fn from_validated(zone: &Name, records: &[Record], settings: &Settings) -> Denials {
        let mut denials = Denials {
            zone: zone.clone(),
            nsec: Vec::new(),
            nsec3: Vec::new(),
            ttl: records.iter().map(|r| r.ttl).min().unwrap_or(0),
            max_iterations: settings.nsec3_max_iterations,
        };
        denials.push(records);
        denials
    }

    fn push(&mut self, records: &[Record]) {
        for r in records {
            match &r.data {
                RData::DNSSEC(DNSSECRData::NSEC(n)) if self.zone.zone_of(&r.name) => {
                    self.nsec.push((r.name.clone(), n.clone()));
                }
                RData::DNSSEC(DNSSECRData::NSEC3(n)) => {
                    self.nsec3.extend(Nsec3::new(&r.name, n, &self.zone));
                }
                _ => {}
            }
        }
    }

    pub fn zone(&self) -> &Name {
        &self.zone
    }

    /// How long these proofs may be kept.
    pub fn ttl(&self) -> u32 {
        self.ttl
    }

    /// No NSEC or NSEC3 at all.
    pub fn is_empty(&self) -> bool {
        self.nsec.is_empty() && self.nsec3.is_empty()
    }

    fn chain(&self) -> Chain<'_> {
        Chain {
            zone: &self.zone,
            records: &self.nsec3,
            max_iterations: self.max_iterations,
            hashes: std::cell::Cell::new(0),
        }
    }

    fn missing(&self, what: String) -> Security {
        Security::Bogus(Why::new(Ede::NsecMissing, &self.zone, what))
    }

    /// That `qname` does not exist: the name itself and the wildcard that could have
    /// produced it are both proven absent (RFC 4035 §5.4, RFC 5155 §8.4). Under an
    /// NSEC3 opt-out span: insecure.
    pub fn nxdomain(&self, qname: &Name) -> Security {
        let qname = &fqdn(qname);
        if !self.nsec.is_empty() {
            let covered = self
                .nsec
                .iter()
                .any(|(o, n)| nsec::proves_name_error(o, n, qname));
            let no_wildcard = self
                .nsec
                .iter()
                .any(|(o, n)| nsec::proves_no_wildcard(o, n, qname));
            return match (covered, no_wildcard) {
                (true, true) => Security::Secure,
                (false, _) => self.missing(format!("no NSEC proves that {qname} does not exist")),
                (true, false) => self.missing(format!(
                    "no NSEC proves that no wildcard could have produced {qname}"
                )),
            };
        }
        if !self.nsec3.is_empty() {
            return self.chain().nxdomain(qname);
        }
        self.missing(format!("no NSEC or NSEC3 for NXDOMAIN {qname}"))
    }

    /// That `qname` exists without `qtype` (or is an empty non-terminal), or that a
    /// wildcard without `qtype` covers it (RFC 4035 §5.4, RFC 5155 §8.5–8.7). With
    /// `RecordType::DS` this is the proof that a delegation is unsigned: secure with
    /// NSEC, or with a matching NSEC3; insecure when an NSEC3 opt-out span covers it.
    pub fn nodata(&self, qname: &Name, qtype: RecordType) -> Security {
        let qname = &fqdn(qname);
        if !self.nsec.is_empty() {
            for (o, n) in &self.nsec {
                match nsec::proves_nodata(o, n, qname, qtype) {
                    Some(NoData::Proved) => return Security::Secure,
                    Some(NoData::Wildcard(ce)) => {
                        // The wildcard applies only if qname itself does not exist.
                        let absent = self.nsec.iter().any(|(o2, n2)| {
                            nsec::proves_name_error(o2, n2, qname)
                                && nsec::closest_encloser(o2, n2, qname) == ce
                        });
                        if absent {
                            return Security::Secure;
                        }
                    }
                    None => {}
                }
            }
            if self
                .nsec
                .iter()
                .any(|(o, n)| nsec::proves_insecure_delegation(o, n, qname, qtype))
            {
                return Security::Insecure(Why::new(
                    Ede::DnssecIndeterminate,
                    &self.zone,
                    format!("{qname} is below an unsigned delegation"),
                ));
            }
            return self.missing(format!("no NSEC proves that {qname} has no {qtype}"));
        }
        if !self.nsec3.is_empty() {
            return self.chain().nodata(qname, qtype);
        }
        self.missing(format!("no NSEC or NSEC3 for NODATA {qname} {qtype}"))
    }

    /// For an answer [`super::verify_rrset`] found synthesised from `wildcard`: that
    /// `qname` itself does not exist, so the wildcard applied (RFC 4035 §5.3.4,
    /// RFC 5155 §8.8).
    pub fn wildcard_answer(&self, qname: &Name, wildcard: &Name) -> Security {
        let qname = &fqdn(qname);
        let ce = wildcard.base_name();
        if !self.nsec.is_empty() {
            let proved = self.nsec.iter().any(|(o, n)| {
                nsec::proves_name_error(o, n, qname) && nsec::closest_encloser(o, n, qname) == ce
            });
            return if proved {
                Security::Secure
            } else {
                self.missing(format!(
                    "no NSEC proves that {qname} does not exist beside {wildcard}"
                ))
            };
        }
        if !self.nsec3.is_empty() {
            return self.chain().wildcard_answer(qname, wildcard);
        }
        self.missing(format!("no NSEC or NSEC3 for the wildcard answer {qname}"))
    }

    /// Whether `name` is a delegation (NS without SOA, or a DNAME owner), as the NSEC
    /// or NSEC3 record that matches it says; `None` when none matches it. The engine
    /// asks this after a proven DS NODATA at `name`: a delegation there is an
    /// unsigned child zone, anything else is a name inside the same zone.
    pub fn delegation_at(&self, name: &Name) -> Option<bool> {
        let name = &fqdn(name);
        if let Some((_, n)) = self.nsec.iter().find(|(o, _)| o == name) {
            return Some(nsec::is_cut(n));
        }
        self.chain().matching(name).map(|r| r.is_cut())
    }

    /// The NSEC and NSEC3 records among these that bear on `qname` (owner and
    /// type): an NSEC at it, covering it, or covering the wildcard of its closest
    /// encloser; an NSEC3 matching or covering it, one of its ancestors in the zone,
    /// or their wildcards. What an answer synthesised from cached proofs (RFC 8198)
    /// carries, instead of every proof of the zone.
    pub fn bearing_on(&self, qname: &Name) -> Vec<(Name, RecordType)> {
        let qname = &fqdn(qname);
        let mut out: Vec<(Name, RecordType)> = Vec::new();
        let mut add = |n: &Name, t: RecordType| {
            if !out.iter().any(|(o, ot)| o == n && *ot == t) {
                out.push((n.clone(), t));
            }
        };
        for (o, n) in &self.nsec {
            if o == qname
                || nsec::proves_name_error(o, n, qname)
                || nsec::proves_no_wildcard(o, n, qname)
            {
                add(o, RecordType::NSEC);
            }
        }
        if !self.nsec3.is_empty() {
            let chain = self.chain();
            let zone_labels = nsec::label_count(&self.zone);
            let mut names = Vec::new();
            for l in zone_labels..=nsec::label_count(qname) {
                let a = nsec::ancestor(qname, l);
                if let Some(w) = nsec::wildcard_of(&a) {
                    names.push(w);
                }
                names.push(a);
            }
            for name in &names {
                if let Some(r) = chain.matching(name).or_else(|| chain.covering(name)) {
                    add(&r.owner, RecordType::NSEC3);
                }
            }
        }
        out
    }

    /// For a referral to `child` without DS: that the delegation is unsigned. The
    /// same as [`Denials::nodata`] for `child`/DS; secure and insecure both mean the
    /// child zone is insecure, bogus means the DS may have been stripped.
    pub fn no_ds(&self, child: &Name) -> Security {
        self.nodata(child, RecordType::DS)
    }

    /// RFC 8198: whether these (validated, cached) records prove on their own that
    /// `qname` does not exist or has no `qtype`. Only secure proofs count: never an
    /// NSEC3 opt-out span, never NSEC3 above the iteration limit.
    pub fn deny(&self, qname: &Name, qtype: RecordType) -> Option<Denied> {
        if self.nxdomain(qname).is_secure() {
            Some(Denied::NxDomain)
        } else if self.nodata(qname, qtype).is_secure() {
            Some(Denied::NoData)
        } else {
            None
        }
    }
}

fn fqdn(name: &Name) -> Name {
    let mut n = name.clone();
    n.set_fqdn(true);
    n
}
