//! The rows of `altroot compare`: every root's answer to a name and type, and the
//! verdict (DESIGN §1, §5).
//!
//! Each name and type is resolved in each selected root independently, with the
//! engine `serve` uses ([`crate::resolver::Resolver::answer_in`]): the name itself in that root,
//! whatever the precedence says, and the later links of a CNAME chain routed as
//! `serve` routes them. Two answers are the same when their rcode and record sets
//! match, ignoring TTLs, record order and the case of names.
//!
//! Each answer also gets its DNSSEC security in its own root, as `serve` gives it
//! to clients (every link of a chain in its own root); with `--dnssec`, each root's
//! data (asked with CD: unvalidated) is checked again under every *other* root's
//! trust anchors, the chain of trust fetched from that root's servers
//! ([`crate::resolver::Resolver::security_under`]): what a validator that trusts
//! only that root's key makes of it.

use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use hickory_proto::op::ResponseCode;
use hickory_proto::rr::{Name, RData, Record, RecordType};

use super::outside::{Answered, Outside};
use crate::dnssec::{Ede, Security, Why};
use crate::resolver::{Answer, Failure, Resolver, Route, rcode_str};

/// What one root answered.
#[derive(Clone, Debug)]
pub struct Cell {
    pub root: String,
    pub rcode: ResponseCode,
    /// The answer section in order (a CNAME chain, then the data).
    pub records: Vec<Record>,
    /// Why the root could not answer (SERVFAIL, timeout).
    pub error: Option<String>,
    /// Its DNSSEC security in its own root, as clients get it.
    pub dnssec: Security,
    /// The SOA of a negative answer (what zone denies it).
    pub authority: Vec<Record>,
    /// With `--dnssec`: the root's data asked with CD (unvalidated), and what
    /// every other root's anchors make of it.
    pub cross: Option<Cross>,
}

/// A root's unvalidated data, checked under the other roots' anchors.
#[derive(Clone, Debug)]
pub struct Cross {
    /// The data, as [`Cell::display`] shows it.
    pub answer: String,
    /// (other root, the data's security under that root's anchors).
    pub under: Vec<(String, Security)>,
}

/// `secure`, `insecure`, `bogus`, `indeterminate` (JSON's `dnssec.state`).
pub fn security_kind(s: &Security) -> &'static str {
    match s {
        Security::Secure => "secure",
        Security::Insecure(_) => "insecure",
        Security::Bogus(_) => "bogus",
        Security::Indeterminate(_) => "indeterminate",
    }
}

/// As the table shows it: the kind, and for `bogus` the reason.
pub fn security_label(s: &Security) -> String {
    match s {
        Security::Bogus(w) => format!("bogus ({})", w.reason),
        s => security_kind(s).into(),
    }
}

impl Cell {
    /// A cell for an answer that failed, or never came.
    pub(super) fn failed(root: String, error: String) -> Cell {
        Cell {
            root,
            rcode: ResponseCode::ServFail,
            records: Vec::new(),
            error: Some(error),
            dnssec: Security::Indeterminate(Why::new(
                Ede::DnssecIndeterminate,
                &Name::root(),
                "no answer to check",
            )),
            authority: Vec::new(),
            cross: None,
        }
    }

    /// With `--dnssec`, for a secure NXDOMAIN: the name its zone proves does not
    /// exist (the label below the denying zone's apex: `geek.` for `www.geek.`
    /// denied by a root), and that zone.
    pub fn proves_absent(&self, qname: &Name) -> Option<(Name, Name)> {
        if !self.dnssec.is_secure() || self.rcode != ResponseCode::NXDomain {
            return None;
        }
        let soa = self
            .authority
            .iter()
            .find(|r| r.record_type() == RecordType::SOA)?;
        // The name denied is the chain's last target, under the SOA's zone.
        let last = match self.records.last().map(|r| &r.data) {
            Some(RData::CNAME(c)) => c.0.clone(),
            _ => qname.clone(),
        };
        let zone = soa.name.to_lowercase();
        if !zone.zone_of(&last) || last.num_labels() <= zone.num_labels() {
            return None;
        }
        Some((
            last.trim_to(usize::from(zone.num_labels()) + 1)
                .to_lowercase(),
            zone,
        ))
    }

    /// Same rcode and records (names in lower case, TTLs and order ignored)?
    pub(super) fn same_as(&self, other: &Cell) -> bool {
        self.key() == other.key()
    }

    fn has_data(&self) -> bool {
        self.error.is_none() && self.rcode == ResponseCode::NoError && !self.records.is_empty()
    }

    /// The comparable form: rcode and the set of records, names in lower case,
    /// TTLs dropped.
    fn key(&self) -> (ResponseCode, BTreeSet<String>) {
        (self.rcode, self.records.iter().map(normal).collect())
    }

    /// "NOERROR 192.0.2.1 2001:db8::1", "NOERROR CNAME www.iana.org. > 203.0.113.70",
    /// "NODATA" (NOERROR without records), "NXDOMAIN", "SERVFAIL".
    pub fn display(&self) -> String {
        let mut out = rcode_str(self.rcode).to_string();
        if self.error.is_some() {
            return out;
        }
        if self.rcode == ResponseCode::NoError && self.records.is_empty() {
            return "NODATA".into();
        }
        let mut data: Vec<String> = Vec::new();
        for r in &self.records {
            match &r.data {
                RData::CNAME(c) => {
                    if !data.is_empty() {
                        let _ = write!(out, " {}", data.join(" "));
                        data.clear();
                    }
                    let _ = write!(out, " CNAME {} >", c.0.to_lowercase());
                }
                d => data.push(rdata_text(r.record_type(), d)),
            }
        }
        data.sort();
        if !data.is_empty() {
            let _ = write!(out, " {}", data.join(" "));
        }
        out.trim_end_matches(" >").to_string()
    }
}

fn rdata_text(rtype: RecordType, d: &RData) -> String {
    let text = d.to_string();
    if rtype == RecordType::TXT {
        text
    } else {
        text.to_lowercase()
    }
}

pub(super) fn normal(r: &Record) -> String {
    format!(
        "{} {} {}",
        r.name.to_lowercase(),
        r.record_type(),
        rdata_text(r.record_type(), &r.data)
    )
}

/// How the roots compare for one name and type.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Verdict {
    /// Every root gives the same answer, with data.
    Same,
    /// Roots give different answers.
    Differs,
    /// Exactly one root has data; the others have none.
    Only(String),
    /// No root has data, and they agree on that.
    None,
    /// A root could not be asked (unreachable, timeout; a DNSSEC-bogus answer is
    /// an answer, SERVFAIL).
    Error,
}

impl Verdict {
    /// The verdict's name (JSON's `verdict`): `same`, `differs`, `only`, `none`,
    /// `error`.
    pub fn kind(&self) -> &'static str {
        match self {
            Verdict::Same => "same",
            Verdict::Differs => "differs",
            Verdict::Only(_) => "only",
            Verdict::None => "none",
            Verdict::Error => "error",
        }
    }

    /// As the table shows it: the kind, and for `only` the root.
    pub fn label(&self) -> String {
        match self {
            Verdict::Only(r) => format!("only {r}"),
            v => v.kind().into(),
        }
    }

    /// Do the roots agree (for the exit status)?
    pub fn agrees(&self) -> bool {
        matches!(self, Verdict::Same | Verdict::None)
    }
}

/// One line of the comparison.
#[derive(Clone, Debug)]
pub struct Row {
    pub name: Name,
    pub qtype: RecordType,
    pub cells: Vec<Cell>,
    /// The verdict among the roots.
    pub verdict: Verdict,
    /// With `--resolver`: each outside resolver's answer, matched against the roots.
    pub outside: Vec<Answered>,
}

pub(super) fn verdict(cells: &[Cell]) -> Verdict {
    // A bogus answer is an answer (the SERVFAIL validating clients get), not a
    // root that could not be asked.
    if cells
        .iter()
        .any(|c| c.error.is_some() && !c.dnssec.is_bogus())
    {
        return Verdict::Error;
    }
    let with_data: Vec<&Cell> = cells.iter().filter(|c| c.has_data()).collect();
    let first = cells.first().map(Cell::key);
    let all_same = cells.iter().all(|c| Some(c.key()) == first);
    match (with_data.len(), all_same) {
        (0, true) => Verdict::None,
        (_, true) => Verdict::Same,
        (1, false) if cells.len() > 1 => Verdict::Only(with_data[0].root.clone()),
        _ => Verdict::Differs,
    }
}

/// The security of root `ri`'s answer `a` in its own root, as `serve` gives it:
/// bogus is the SERVFAIL of a failed check, secure the AD of every link secure in
/// its own root; otherwise what the root's anchors say about it (insecure, or
/// indeterminate: no anchor covers it, or nothing came back to check).
async fn own_security(
    resolver: &Resolver,
    ri: usize,
    name: &Name,
    qtype: RecordType,
    a: &Answer,
) -> Security {
    if let Some(Failure::Dnssec { root, why }) = &a.failure {
        let mut why = (**why).clone();
        if *root != resolver.roots[ri].name {
            why.reason = format!("in root {root}: {}", why.reason);
        }
        return Security::Bogus(why);
    }
    if a.secure {
        return Security::Secure;
    }
    if resolver.roots[ri].anchors.is_none() {
        return Security::Indeterminate(Why::new(
            Ede::DnssecIndeterminate,
            &Name::root(),
            format!("root {} has no trust anchor", resolver.roots[ri].name),
        ));
    }
    if let Some(f) = &a.failure {
        return Security::Indeterminate(Why::new(
            Ede::DnssecIndeterminate,
            name,
            format!("no answer to check: {f}"),
        ));
    }
    if matches!(a.route, Route::Local | Route::Interrupt) {
        return Security::Insecure(Why::new(
            Ede::DnssecIndeterminate,
            name,
            "answered by altroot itself (special-use or controlled interruption): unsigned",
        ));
    }
    match resolver.security_under(ri, name, qtype, a).await {
        s @ (Security::Insecure(_) | Security::Indeterminate(_)) => s,
        // A chain that crosses roots: not secure in one of them (else it had AD),
        // whatever this root's anchors alone make of the whole.
        _ => Security::Insecure(Why::new(
            Ede::DnssecIndeterminate,
            name,
            "a link of the chain is not secure in its own root",
        )),
    }
}

/// Root `ri`'s answer to `name`/`qtype` as a cell, its security in its own root,
/// and with `cross` its unvalidated data under every other root of `roots`.
async fn ask(
    resolver: &Arc<Resolver>,
    ri: usize,
    roots: &[usize],
    name: &Name,
    qtype: RecordType,
    timeout: Duration,
    cross: bool,
) -> Cell {
    let root = resolver.roots[ri].name.clone();
    // The data, not the signatures and proofs a validating root keeps with it for
    // DO clients (two roots signing the same data with their own keys agree on
    // it), unless those are what was asked.
    let data_only = |records: Vec<Record>| -> Vec<Record> {
        if matches!(
            qtype,
            RecordType::RRSIG | RecordType::NSEC | RecordType::NSEC3
        ) {
            return records;
        }
        records
            .into_iter()
            .filter(|r| !crate::resolver::answer::is_dnssec_extra(r))
            .collect()
    };
    let late = || format!("deadline: no answer within {timeout:?}");
    // The answer, then the cross checks, each within `timeout`: a slow check
    // does not cost the root its answer.
    let answer = async {
        let a = resolver.answer_in(ri, name, qtype).await;
        let dnssec = own_security(resolver, ri, name, qtype, &a).await;
        match &a.failure {
            Some(f) if a.rcode == ResponseCode::ServFail => {
                let mut c = Cell::failed(root.clone(), f.to_string());
                c.dnssec = dnssec;
                c
            }
            _ if a.rcode == ResponseCode::ServFail => {
                let mut c = Cell::failed(root.clone(), "server failure".into());
                c.dnssec = dnssec;
                c
            }
            _ => Cell {
                root: root.clone(),
                rcode: a.rcode,
                records: data_only(a.answers),
                error: None,
                dnssec,
                authority: a.authority,
                cross: None,
            },
        }
    };
    let mut cell = match tokio::time::timeout(timeout, answer).await {
        Ok(c) => c,
        Err(_) => Cell::failed(root.clone(), late()),
    };
    if !cross {
        return cell;
    }
    // Roots without anchors have nothing to check it under.
    let others: Vec<usize> = roots
        .iter()
        .copied()
        .filter(|&o| o != ri && resolver.roots[o].anchors.is_some())
        .collect();
    let checks = async {
        let data = resolver.answer_in_checked(ri, name, qtype, true).await;
        let shown = Cell {
            root: root.clone(),
            rcode: data.rcode,
            records: data_only(data.answers.clone()),
            error: data.failure.as_ref().map(|f| f.to_string()),
            dnssec: Security::Secure,
            authority: Vec::new(),
            cross: None,
        };
        let mut under = Vec::new();
        for &other in &others {
            let s = resolver.security_under(other, name, qtype, &data).await;
            under.push((resolver.roots[other].name.clone(), s));
        }
        Cross {
            answer: shown.display(),
            under,
        }
    };
    cell.cross = Some(match tokio::time::timeout(timeout, checks).await {
        Ok(c) => c,
        Err(_) => Cross {
            answer: "SERVFAIL".into(),
            under: others
                .iter()
                .map(|&o| {
                    let why = Why::new(Ede::DnssecIndeterminate, name, late());
                    (resolver.roots[o].name.clone(), Security::Indeterminate(why))
                })
                .collect(),
        },
    });
    cell
}

/// Compares every (name, type) across `roots` (indexes into the resolver's roots),
/// at most `concurrency` names at a time, each answer bounded by `timeout`;
/// `cross` also checks each root's data under the other roots' anchors
/// (`--dnssec`). `progress` is called once per finished name. Rows come back in
/// input order.
#[allow(clippy::too_many_arguments)]
pub async fn compare(
    resolver: &Arc<Resolver>,
    roots: &[usize],
    names: Vec<Name>,
    types: &[RecordType],
    timeout: Duration,
    concurrency: usize,
    cross: bool,
    progress: &(dyn Fn() + Sync),
) -> Vec<Row> {
    compare_with(
        resolver,
        roots,
        &[],
        names,
        types,
        timeout,
        concurrency,
        cross,
        progress,
    )
    .await
}

/// [`compare`], and each (name, type) also asked of the `outside` resolvers
/// (`--resolver`), at the same time as the roots.
#[allow(clippy::too_many_arguments)]
pub async fn compare_with(
    resolver: &Arc<Resolver>,
    roots: &[usize],
    outside: &[Outside],
    names: Vec<Name>,
    types: &[RecordType],
    timeout: Duration,
    concurrency: usize,
    cross: bool,
    progress: &(dyn Fn() + Sync),
) -> Vec<Row> {
    let jobs: Vec<(Name, RecordType)> = names
        .into_iter()
        .flat_map(|n| types.iter().map(move |t| (n.clone(), *t)))
        .collect();
    futures::stream::iter(jobs)
        .map(|(name, qtype)| async move {
            let asks = roots
                .iter()
                .map(|&i| ask(resolver, i, roots, &name, qtype, timeout, cross));
            let others = outside.iter().map(|o| o.ask(&name, qtype));
            let (cells, mut others) = futures::future::join(
                futures::future::join_all(asks),
                futures::future::join_all(others),
            )
            .await;
            for o in &mut others {
                o.judge(&cells);
            }
            progress();
            let verdict = verdict(&cells);
            Row {
                name,
                qtype,
                cells,
                verdict,
                outside: others,
            }
        })
        .buffered(concurrency.max(1))
        .collect()
        .await
}

/// Names read from a file, and the lines that were not names.
#[derive(Debug, Default)]
pub struct NameList {
    pub names: Vec<Name>,
    /// (1-based line, why it is not a name), in file order.
    pub bad: Vec<(usize, String)>,
}

/// Reads names from a file: one per line, or `rank,domain` CSV (the Tranco list).
/// Blank lines and `#` comments are skipped, a trailing dot is added, and a name
/// already listed is skipped. A line that is not a name (nor UTF-8) is set aside
/// with its reason, and reading goes on.
pub fn read_names(bytes: &[u8]) -> NameList {
    let mut out = NameList::default();
    let mut seen = std::collections::HashSet::new();
    for (i, line) in bytes.split(|&b| b == b'\n').enumerate() {
        let Ok(line) = std::str::from_utf8(line) else {
            out.bad.push((i + 1, "not UTF-8 text".into()));
            continue;
        };
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let field = line.rsplit(',').next().unwrap_or(line).trim();
        match parse_name(field) {
            // A list may name the same domain twice (Tranco lowercases differently
            // spelled entries to one name): compare it once.
            Ok(name) => {
                if seen.insert(name.to_lowercase()) {
                    out.names.push(name);
                }
            }
            Err(e) => out.bad.push((i + 1, e)),
        }
    }
    out
}

/// Parses a name as typed by a person: `www.geek` means `www.geek.`; UTF-8 labels
/// become IDNA (`bücher` is `xn--bcher-kva`); ASCII labels are taken as they are
/// (`_dmarc` and SRV owners included). An error says what is wrong.
pub fn parse_name(s: &str) -> Result<Name, String> {
    if s.trim().is_empty() {
        return Err("an empty name is not a domain name (the root is \".\")".into());
    }
    let bad = |why: String| format!("{s:?} is not a domain name: {why}");
    if let Some(c) = s.chars().find(|c| c.is_whitespace() || c.is_control()) {
        let what = match c {
            ' ' => "a space".to_string(),
            '\t' => "a tab".to_string(),
            c if c.is_whitespace() => format!("white space ({:?})", c),
            c => format!("a control character ({:?})", c),
        };
        return Err(bad(format!("it contains {what}")));
    }
    if s != "." && !s.contains('\\') {
        let labels = s.strip_suffix('.').unwrap_or(s).split('.');
        let mut wire = 1;
        for label in labels {
            if label.is_empty() {
                return Err(bad(
                    "an empty label (two dots in a row, or a dot at the start)".into(),
                ));
            }
            if label.is_ascii() {
                ascii_label(label).map_err(bad)?;
            }
            wire += label.len() + 1;
        }
        if s.is_ascii() && wire > 255 {
            return Err(bad(format!(
                "it is {wire} bytes long in DNS; a name has at most 255 (RFC 1035)"
            )));
        }
    }
    // Lower case, as IDNA gives it (rows show names in lower case anyway).
    let parsed = if s.is_ascii() {
        Name::from_ascii(s.to_ascii_lowercase())
    } else {
        Name::from_utf8(s)
    };
    let mut n = parsed.map_err(|e| {
        bad(match e.to_string() {
            m if m.contains("exceed 63") => {
                "a label is over 63 bytes once IDNA-encoded (RFC 1035)".into()
            }
            m if m.contains("exceed 255") => {
                "it is over 255 bytes once IDNA-encoded (RFC 1035)".into()
            }
            m if m.contains("invalid characters") => {
                "a label is not a valid internationalised name (IDNA, RFC 5891)".into()
            }
            m => m,
        })
    })?;
    n.set_fqdn(true);
    Ok(n)
}

/// An ASCII label DNS names can have: at most 63 bytes of letters, digits, `-`
/// (not first) and `_`, or the wildcard `*`.
fn ascii_label(label: &str) -> Result<(), String> {
    if label.len() > 63 {
        return Err(format!(
            "a label is {} bytes long; a label has at most 63 (RFC 1035)",
            label.len()
        ));
    }
    if label == "*" {
        return Ok(());
    }
    if label.starts_with('-') {
        return Err(format!("the label {label:?} starts with a hyphen"));
    }
    match label
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || *c == '-' || *c == '_'))
    {
        Some(c) => Err(format!(
            "{c:?} in {label:?}: a label has letters, digits, '-' and '_' only"
        )),
        None => Ok(()),
    }
}

#[cfg(test)]
#[path = "rows_tests.rs"]
mod tests;
