//! `altroot collisions`: every TLD that more than one root has, which root wins under
//! the current `policy` and `pin`, and how each root's claim was known.
//!
//! Candidate TLDs are the ones the zones roots define (files and `root.zone`) and
//! the ones forward roots list in `tlds`. For each candidate, each root is asked the
//! way `serve` asks it ([`Resolver::claim`], one rule): a zones root by its files;
//! a hints root by asking its root servers (`<tld>. NS`); a forward root by its
//! `tlds` list, or by asking the upstream (`<tld>. NS`). When a root cannot be
//! reached (or `--offline`), a root that stands for a bundled TLD list falls back
//! to it, and says so: the builtin IANA hints to ICANN's list, a root with
//! `tld-list = "opennic"` to OpenNIC's (plus ICANN's TLDs, which OpenNIC's root
//! carries).
//!
//! For each root that has a colliding TLD, the DNSSEC side: whether that root holds
//! a DS for it (the TLD is signed under the root's key, and every other root's
//! answers for it are bogus to a validator that trusts only this root's key: the
//! ICANN root's DS for its own `.biz` makes every alternate `.biz` bogus), or only
//! the TLD's DNSKEY (signed, but no chain of trust from the root), or neither. It
//! is asked as `compare` asks ([`Resolver::answer_in_checked`] with CD: the root's
//! own data, unvalidated): `<tld>. DS` from the parent side — a zones root's
//! `root.zone`, a hints root's root servers, a forward root's upstream — then
//! `<tld>. DNSKEY`.

use std::collections::BTreeSet;
use std::sync::{Arc, OnceLock};

use hickory_proto::dnssec::rdata::DNSSECRData;
use hickory_proto::rr::{LowerName, Name, RData, RecordType};

use crate::config::{Config, Policy, RootSource, TldList};
use crate::resolver::Resolver;
use crate::resolver::since::ClaimDate;
use crate::{icann, opennic};

/// What collisions.md says about a TLD: the alternate root that had it, and ICANN's
/// delegation.
pub const HISTORY: &str = include_str!("collision-history.tsv");

pub fn history(tld: &str) -> Option<(&'static str, &'static str)> {
    static ROWS: OnceLock<Vec<(&'static str, &'static str, &'static str)>> = OnceLock::new();
    let rows = ROWS.get_or_init(|| {
        HISTORY
            .lines()
            .filter(|l| !l.starts_with('#'))
            .filter_map(|l| {
                let mut f = l.split('\t');
                Some((f.next()?, f.next()?, f.next()?))
            })
            .collect()
    });
    rows.iter()
        .find(|(t, _, _)| t.eq_ignore_ascii_case(tld))
        .map(|(_, a, i)| (*a, *i))
}

/// One root's claim on a TLD.
#[derive(Clone, Debug)]
pub struct Claim {
    pub root: String,
    /// Whether it has the TLD: `None` when it could not be known.
    pub has: Option<bool>,
    /// How that was known.
    pub how: String,
    /// For a root that has it: how the TLD is signed in that root.
    pub dnssec: Option<Signed>,
}

/// How a root signs a TLD it has.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Signed {
    /// The root has a DS RRset for it: these key tags.
    Ds(Vec<u16>),
    /// The TLD has a DNSKEY RRset, but the root no DS for it: no chain of trust.
    KeysWithoutDs,
    /// Neither DS nor DNSKEY.
    Unsigned,
    /// Could not be known (offline, unreachable): why.
    Unknown(String),
}

impl Signed {
    /// `signed`, `keys-without-ds`, `unsigned`, `unknown` (JSON's `dnssec.state`).
    pub fn kind(&self) -> &'static str {
        match self {
            Signed::Ds(_) => "signed",
            Signed::KeysWithoutDs => "keys-without-ds",
            Signed::Unsigned => "unsigned",
            Signed::Unknown(_) => "unknown",
        }
    }

    /// One line for the report, of root `root` and TLD `tld`.
    pub fn text(&self, root: &str, tld: &str) -> String {
        match self {
            Signed::Ds(tags) => {
                let tags: Vec<String> = tags.iter().map(u16::to_string).collect();
                let s = if tags.len() == 1 { "" } else { "s" };
                format!(
                    "DS for {tld} in its root (key tag{s} {}): other roots' {tld} answers are bogus to validators that trust only {root}'s key",
                    tags.join(", ")
                )
            }
            Signed::KeysWithoutDs => {
                format!(
                    "{tld} has a DNSKEY but no DS in {root}'s root: no chain of trust (insecure)"
                )
            }
            Signed::Unsigned => format!("no DS for {tld} in its root: unsigned (insecure)"),
            Signed::Unknown(why) => format!("DNSSEC unknown: {why}"),
        }
    }
}

/// A root and its claim date on a TLD, if known.
pub type RootDate = (String, Option<ClaimDate>);

/// A TLD more than one root has.
#[derive(Clone, Debug)]
pub struct Finding {
    pub tld: String,
    /// Every root's claim, in consultation order (also roots that do not have it).
    pub claims: Vec<Claim>,
    /// The root that answers, or "interrupt".
    pub winner: String,
    /// Decided by a `pin` rather than the policy.
    pub pinned: bool,
    /// Under `first-come`: each root that has it with its claim date (if known),
    /// in root order, and the words saying which dates decided.
    pub first_come: Option<(Vec<RootDate>, String)>,
}

impl Finding {
    pub fn roots(&self) -> Vec<&str> {
        self.claims
            .iter()
            .filter(|c| c.has == Some(true))
            .map(|c| c.root.as_str())
            .collect()
    }
}

/// Candidate TLDs: defined by zones roots, listed by forward roots, or OpenNIC's
/// own (the bundled list) when a root stands for OpenNIC (`tld-list = "opennic"`).
/// ICANN's list is not a source of candidates: each of its 1,400 TLDs would be
/// asked of every root, and only those another root has can collide.
fn candidates(resolver: &Resolver, config: &Config) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for (i, rc) in config.roots.iter().enumerate() {
        if let Some(z) = resolver.zones(i) {
            out.extend(z.tld_labels());
        }
        if let RootSource::Forward { tlds, .. } = &rc.source {
            out.extend(tlds.iter().cloned());
        }
        if rc.tld_list == Some(TldList::Opennic) {
            out.extend(opennic::own_tlds().map(String::from));
        }
    }
    out
}

/// One root's claim, by the rule `serve` uses ([`Resolver::claim`]). Offline, or
/// when a root that stands for a bundled TLD list (`tld-list`; the builtin hints
/// stand for ICANN's) cannot be reached, that list answers for it, and says so.
async fn claim(
    resolver: &Arc<Resolver>,
    config: &Config,
    i: usize,
    tld: &str,
    offline: bool,
) -> Claim {
    let root = resolver.roots[i].name.clone();
    let Ok(name) = Name::from_ascii(format!("{tld}.")) else {
        return Claim {
            root,
            has: None,
            how: "not a TLD".into(),
            dnssec: None,
        };
    };
    let rc = &config.roots[i];
    let asks_network = match &rc.source {
        RootSource::Zones(_) => false,
        RootSource::Forward { tlds, .. } => tlds.is_empty(),
        RootSource::Hints(_) => true,
    };
    if offline && asks_network {
        return offline_claim(root, rc, tld, "offline");
    }
    let c = resolver.claim(i, &name).await;
    match c.has {
        Ok(has) => Claim {
            root,
            has: Some(has),
            how: c.how,
            dnssec: None,
        },
        Err(_) if rc.tld_list.is_some() => {
            let why = match rc.source {
                RootSource::Forward { .. } => "upstreams unreachable",
                _ => "root servers unreachable",
            };
            offline_claim(root, rc, tld, why)
        }
        Err(f) => Claim {
            root,
            has: None,
            how: format!("unknown: {f}"),
            dnssec: None,
        },
    }
}

/// How root `i` signs `tld` (see the module doc): its DS RRset for it, else the
/// TLD's DNSKEY RRset, each asked in that root with CD and bounded by the query
/// timeout. Offline, a root that would need the network is not asked.
async fn signed(
    resolver: &Arc<Resolver>,
    config: &Config,
    i: usize,
    tld: &str,
    offline: bool,
) -> Signed {
    let Ok(name) = Name::from_ascii(format!("{tld}.")) else {
        return Signed::Unknown("not a TLD".into());
    };
    if offline && !matches!(config.roots[i].source, RootSource::Zones(_)) {
        return Signed::Unknown("not asked (offline)".into());
    }
    let timeout = config.server.query_timeout;
    let name = &name;
    let ask = move |qtype| async move {
        match tokio::time::timeout(timeout, resolver.answer_in_checked(i, name, qtype, true)).await
        {
            Err(_) => Err(format!("no answer to {tld}. {qtype} within {timeout:?}")),
            Ok(a) => match a.failure {
                Some(f) => Err(format!("{tld}. {qtype}: {f}")),
                None => Ok(a.answers),
            },
        }
    };
    let ds = match ask(RecordType::DS).await {
        Ok(records) => records,
        Err(why) => return Signed::Unknown(why),
    };
    let mut tags: Vec<u16> = ds
        .iter()
        .filter_map(|r| match &r.data {
            RData::DNSSEC(DNSSECRData::DS(d)) => Some(d.key_tag()),
            _ => None,
        })
        .collect();
    tags.sort_unstable();
    tags.dedup();
    if !tags.is_empty() {
        return Signed::Ds(tags);
    }
    // Offline, a TLD a zones root only delegates has its keys on servers outside
    // altroot: not asked.
    let delegated = resolver
        .zones(i)
        .is_some_and(|z| z.get(&LowerName::new(name)).is_none());
    if offline && delegated {
        return Signed::Unknown(format!(
            "no DS for {tld} in its root; its DNSKEY not asked (offline: its servers are outside altroot)"
        ));
    }
    match ask(RecordType::DNSKEY).await {
        Ok(keys) if keys.iter().any(|r| r.record_type() == RecordType::DNSKEY) => {
            Signed::KeysWithoutDs
        }
        Ok(_) => Signed::Unsigned,
        Err(why) => Signed::Unknown(why),
    }
}

fn offline_claim(root: String, rc: &crate::config::RootConfig, tld: &str, why: &str) -> Claim {
    let listed = |has: bool, how: String| Claim {
        root: root.clone(),
        has: Some(has),
        how: format!("{how}, {why}"),
        dnssec: None,
    };
    match (rc.tld_list, &rc.source) {
        (Some(TldList::Icann), _) => listed(
            icann::has_tld(tld),
            format!("bundled ICANN TLD list ({})", icann::VERSION),
        ),
        (Some(TldList::Opennic), _) => match opennic::in_root(tld) {
            opennic::Has::Own(s) => listed(
                true,
                format!(
                    "bundled OpenNIC TLD list ({}, {})",
                    s.as_str(),
                    opennic::VERSION
                ),
            ),
            opennic::Has::Icann => listed(
                true,
                format!(
                    "an ICANN TLD, which OpenNIC's root carries (bundled ICANN TLD list, {})",
                    icann::VERSION
                ),
            ),
            opennic::Has::No(s) => listed(
                false,
                format!(
                    "in neither bundled list (OpenNIC{}, ICANN)",
                    s.map(|s| format!(": {}", s.as_str())).unwrap_or_default()
                ),
            ),
        },
        (None, RootSource::Forward { .. }) => Claim {
            root,
            has: None,
            how: format!("forwards everything; not asked ({why})"),
            dnssec: None,
        },
        (None, _) => Claim {
            root,
            has: None,
            how: format!("unknown: {why}"),
            dnssec: None,
        },
    }
}

/// Who answers a TLD that several roots have.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Winner<'a> {
    /// The root its `pin` names.
    Pin(&'a str),
    /// Policy `interrupt`: the controlled-interruption answer.
    Interrupt,
    /// Policy `first`: the first root that has it.
    First(&'a str),
    /// Policy `first-come`: the root with the oldest claim, and why.
    FirstCome(String, String),
}

impl Winner<'_> {
    /// The root that answers, or "interrupt".
    pub fn root(&self) -> &str {
        match self {
            Winner::Pin(r) | Winner::First(r) => r,
            Winner::FirstCome(r, _) => r,
            Winner::Interrupt => "interrupt",
        }
    }
}

/// The winner of `tld` (lower case, no dot), which the roots `having` (indexes,
/// in root order) have: its `pin`, then policy `interrupt`, `first-come` (the
/// oldest claim, [`crate::resolver::since`]) or `first`.
pub fn winner<'a>(
    config: &'a Config,
    resolver: &Resolver,
    tld: &str,
    having: &[usize],
) -> Winner<'a> {
    let first = having
        .first()
        .and_then(|&i| config.roots.get(i))
        .map_or("", |r| r.name.as_str());
    match (config.collisions.pin.get(tld), config.collisions.policy) {
        (Some(root), _) => Winner::Pin(root),
        (None, Policy::Interrupt) => Winner::Interrupt,
        (None, Policy::First) => Winner::First(first),
        (None, Policy::FirstCome) => {
            let (w, why) = resolver.first_come_now(&lower(tld), having);
            let name = resolver.roots.get(w).map_or("", |r| r.name.as_str());
            Winner::FirstCome(name.to_string(), why)
        }
    }
}

/// The TLD `tld` (a label) as a name.
fn lower(tld: &str) -> LowerName {
    Name::from_ascii(format!("{tld}."))
        .map(|n| LowerName::new(&n))
        .unwrap_or_else(|_| LowerName::new(&Name::root()))
}

/// Each root of `having` with its claim date on `tld`.
fn dates(resolver: &Resolver, tld: &str, having: &[usize]) -> Vec<RootDate> {
    let snap = resolver.zones_snapshot();
    having
        .iter()
        .map(|&i| {
            (
                resolver.roots[i].name.clone(),
                resolver.claim_date(&snap, i, &lower(tld)),
            )
        })
        .collect()
}

/// Finds every TLD that more than one root has.
pub async fn collisions(resolver: &Arc<Resolver>, config: &Config, offline: bool) -> Vec<Finding> {
    let mut out = Vec::new();
    let tlds = candidates(resolver, config);
    let checks = tlds.iter().map(|tld| async move {
        let mut claims = futures::future::join_all(
            (0..resolver.roots.len()).map(|i| claim(resolver, config, i, tld, offline)),
        )
        .await;
        if claims.iter().filter(|c| c.has == Some(true)).count() > 1 {
            let signs = claims.iter().enumerate().map(|(i, c)| async move {
                match c.has {
                    Some(true) => Some(signed(resolver, config, i, tld, offline).await),
                    _ => None,
                }
            });
            let signs = futures::future::join_all(signs).await;
            for (c, s) in claims.iter_mut().zip(signs) {
                c.dnssec = s;
            }
        }
        (tld.clone(), claims)
    });
    for (tld, claims) in futures::future::join_all(checks).await {
        let having: Vec<usize> = claims
            .iter()
            .enumerate()
            .filter(|(_, c)| c.has == Some(true))
            .map(|(i, _)| i)
            .collect();
        if having.len() < 2 {
            continue;
        }
        let w = winner(config, resolver, &tld, &having);
        let (winner, pinned) = (w.root().to_string(), matches!(w, Winner::Pin(_)));
        let first_come = (config.collisions.policy == Policy::FirstCome).then(|| {
            let why = match &w {
                Winner::FirstCome(_, why) => why.clone(),
                _ => resolver.first_come_now(&lower(&tld), &having).1,
            };
            (dates(resolver, &tld, &having), why)
        });
        out.push(Finding {
            tld,
            claims,
            winner,
            pinned,
            first_come,
        });
    }
    out
}

pub use super::collisions_report::{json_finding, report};

/// `altroot collisions`: the report, or one JSON object per finding.
pub async fn run(config: Option<std::path::PathBuf>, json: bool, offline: bool) -> u8 {
    let service = match super::service_for(config) {
        Ok(s) => s,
        Err(code) => return code,
    };
    let found = collisions(&service.resolver, &service.config, offline).await;
    if json {
        for f in &found {
            println!("{}", json_finding(f, &service.config));
        }
    } else {
        let all = candidates(&service.resolver, &service.config);
        print!("{}", report(&found, &service.config, &all));
    }
    0
}

#[cfg(test)]
mod tests {
    use super::Signed;

    // The report's dnssec line says what a DS means for the other roots.
    #[test]
    fn signed_lines() {
        assert_eq!(
            Signed::Ds(vec![2, 1]).text("icann", "biz"),
            "DS for biz in its root (key tags 2, 1): other roots' biz answers are bogus to validators that trust only icann's key"
        );
        assert!(
            Signed::Ds(vec![7])
                .text("alt", "geek")
                .contains("(key tag 7)")
        );
        assert_eq!(Signed::KeysWithoutDs.kind(), "keys-without-ds");
        assert!(
            Signed::Unsigned
                .text("alt", "web")
                .contains("no DS for web")
        );
        assert_eq!(
            Signed::Unknown("not asked (offline)".into()).text("icann", "biz"),
            "DNSSEC unknown: not asked (offline)"
        );
    }

    #[test]
    fn history_has_the_demo_collisions() {
        let (alt, icann) = super::history("biz").unwrap();
        assert!(alt.contains("AtlanticRoot"));
        assert!(icann.contains("2000"));
        assert!(
            super::history("WEB")
                .unwrap()
                .0
                .contains("Image Online Design")
        );
        assert!(super::history("law").is_some());
        assert!(super::history("geek").is_none());
    }
}
