//! How `compare` prints its rows: an aligned table (colours on a terminal) or one
//! JSON object per row, and the summary of verdicts.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use serde_json::json;

use super::outside::{Seen, resolver_counts, resolvers_line};
use super::rows::{Row, Verdict, normal, security_kind, security_label};
use crate::dnssec::Security;
use crate::resolver::rcode_str;

/// How many rows got each verdict.
fn counts(rows: &[Row]) -> BTreeMap<Verdict, usize> {
    let mut m = BTreeMap::new();
    for r in rows {
        *m.entry(r.verdict.clone()).or_insert(0) += 1;
    }
    m
}

/// Counts per verdict label, in a stable order.
pub fn summary(rows: &[Row]) -> BTreeMap<String, usize> {
    counts(rows)
        .into_iter()
        .map(|(v, n)| (v.label(), n))
        .collect()
}

/// "3 rows: 1 same, 1 differs, 1 only alt".
pub fn summary_line(rows: &[Row]) -> String {
    let parts: Vec<String> = counts(rows)
        .iter()
        .map(|(v, n)| format!("{n} {}", v.label()))
        .collect();
    format!(
        "{} {}: {}",
        rows.len(),
        if rows.len() == 1 { "row" } else { "rows" },
        if parts.is_empty() {
            "nothing compared".into()
        } else {
            parts.join(", ")
        }
    )
}

/// The aligned table: each root's answer and its DNSSEC security in that root,
/// then each `--resolver`'s answer and its AD bit, the verdict among the roots,
/// and which roots each resolver answered as; `color` adds ANSI colours to the
/// verdicts. Rows checked with `--dnssec` are followed by what each root's data
/// is under the other roots' anchors.
pub fn table(rows: &[Row], root_names: &[String], color: bool) -> String {
    let mut header = vec!["NAME".to_string(), "TYPE".to_string()];
    for r in root_names {
        header.push(r.clone());
        header.push(format!("{r} DNSSEC"));
    }
    let resolvers: Vec<&str> = rows
        .first()
        .map(|r| r.outside.iter().map(|o| o.cell.root.as_str()).collect())
        .unwrap_or_default();
    for r in &resolvers {
        header.push(r.to_string());
        header.push(format!("{r} DNSSEC"));
    }
    header.push("VERDICT".into());
    let verdict_col = header.len() - 1;
    if !resolvers.is_empty() {
        header.push("RESOLVERS".into());
    }
    let body: Vec<Vec<String>> = rows
        .iter()
        .map(|r| {
            let mut line = vec![r.name.to_lowercase().to_string(), r.qtype.to_string()];
            for c in &r.cells {
                line.push(c.display());
                line.push(security_label(&c.dnssec));
            }
            for o in &r.outside {
                line.push(o.display());
                line.push(o.ad_label().into());
            }
            line.push(r.verdict.label());
            if !r.outside.is_empty() {
                line.push(resolvers_line(&r.outside, r.cells.len()));
            }
            line
        })
        .collect();
    let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
    for line in &body {
        for (w, c) in widths.iter_mut().zip(line) {
            *w = (*w).max(c.chars().count());
        }
    }
    let mut out = String::new();
    let last = header.len() - 1;
    let fmt_line = |out: &mut String, line: &[String], verdict: Option<&Verdict>| {
        for (i, c) in line.iter().enumerate() {
            let text = match (color, verdict) {
                (true, Some(v)) if i == verdict_col => paint(v, c),
                _ => c.clone(),
            };
            if i == last {
                out.push_str(&text);
            } else {
                // Padding by the plain text's width: colour codes take no room.
                let pad = widths[i].saturating_sub(c.chars().count());
                let _ = write!(out, "{text}{:pad$}  ", "");
            }
        }
        out.push('\n');
    };
    fmt_line(&mut out, &header, None);
    for (line, row) in body.iter().zip(rows) {
        fmt_line(&mut out, line, Some(&row.verdict));
        out.push_str(&cross_lines(row));
    }
    out
}

/// One line per `--resolver` under the summary: how many rows it answered as
/// which roots ("unbound: 2 as every root, 4 as icann, 1 as no root"), then why
/// answers did not come ("gone: 3 × timeout: no answer within 1s").
pub fn resolver_lines(rows: &[Row], roots: usize) -> Vec<String> {
    let mut out = Vec::new();
    let tallies = resolver_counts(rows, roots);
    for t in &tallies {
        let parts: Vec<String> = t.outcomes.iter().map(|(l, n)| format!("{n} {l}")).collect();
        out.push(format!("{}: {}", t.label, parts.join(", ")));
    }
    for t in &tallies {
        for (why, n) in &t.reasons {
            out.push(format!("{}: {n} × {why}", t.label));
        }
    }
    out
}

/// The resolvers' counts for the JSON summary: `{label: {outcome: rows}}`.
pub fn resolvers_summary(rows: &[Row], roots: usize) -> serde_json::Value {
    let mut m = serde_json::Map::new();
    for t in resolver_counts(rows, roots) {
        m.insert(t.label, json!(t.outcomes));
    }
    serde_json::Value::Object(m)
}

/// `--dnssec`'s lines under a row: each root's data under each other root's
/// anchors, and what a secure NXDOMAIN proves.
///
/// ```text
///     alt's NOERROR 192.0.2.1 under icann's anchors: bogus (…)
///     icann's NXDOMAIN is secure: icann's root zone proves geek. does not exist
/// ```
pub fn cross_lines(row: &Row) -> String {
    let mut out = String::new();
    for c in &row.cells {
        if let Some((absent, zone)) = c.proves_absent(&row.name).filter(|_| c.cross.is_some()) {
            let by = if zone.is_root() {
                format!("{}'s root zone", c.root)
            } else {
                format!("{}'s zone {zone}", c.root)
            };
            let _ = writeln!(
                out,
                "    {}'s NXDOMAIN is secure: {by} proves {absent} does not exist",
                c.root
            );
        }
        let Some(cross) = &c.cross else { continue };
        for (other, s) in &cross.under {
            let _ = writeln!(
                out,
                "    {}'s {} under {other}'s anchors: {}",
                c.root,
                cross.answer,
                security_label(s)
            );
        }
    }
    out
}

/// A security as JSON: `{"state", "reason", "zone", "ede"}` (the last three null
/// when secure).
fn security_json(s: &Security) -> serde_json::Value {
    let why = s.why();
    json!({
        "state": security_kind(s),
        "reason": why.map(|w| w.reason.clone()),
        "zone": why.map(|w| w.zone.to_lowercase().to_string()),
        "ede": why.map(|w| w.ede.code()),
    })
}

fn paint(v: &Verdict, text: &str) -> String {
    let code = match v {
        Verdict::Same => "32",
        Verdict::Differs => "31",
        Verdict::Only(_) => "33",
        Verdict::None => "2",
        Verdict::Error => "1;31",
    };
    format!("\x1b[{code}m{text}\x1b[0m")
}

/// One JSON object for a row (keys documented in docs/comparing.md).
pub fn json_row(row: &Row) -> serde_json::Value {
    let verdict = row.verdict.kind();
    let only = match &row.verdict {
        Verdict::Only(r) => Some(r.clone()),
        _ => None,
    };
    let mut v = json_roots(row, verdict, only);
    if !row.outside.is_empty() {
        v["resolvers"] = row
            .outside
            .iter()
            .map(|o| {
                let answered = o.cell.error.is_none();
                json!({
                    "resolver": o.cell.root,
                    "address": o.address,
                    "rcode": answered.then(|| rcode_str(o.cell.rcode)),
                    "answer": answered.then(|| o.cell.display()),
                    "records": o.cell.records.iter().map(normal).collect::<Vec<_>>(),
                    "error": o.cell.error,
                    "ad": o.ad,
                    "as": match &o.seen {
                        Seen::As(r) => json!(r),
                        Seen::NoAnswer => serde_json::Value::Null,
                    },
                })
            })
            .collect();
    }
    v
}

fn json_roots(row: &Row, verdict: &str, only: Option<String>) -> serde_json::Value {
    json!({
        "name": row.name.to_lowercase().to_string(),
        "type": row.qtype.to_string(),
        "verdict": verdict,
        "only": only,
        "roots": row.cells.iter().map(|c| {
            let mut o = json!({
                "root": c.root,
                "rcode": rcode_str(c.rcode),
                "answer": c.display(),
                "records": c.records.iter().map(normal).collect::<Vec<_>>(),
                "error": c.error,
                "dnssec": security_json(&c.dnssec),
            });
            if let Some((absent, zone)) = c.proves_absent(&row.name) {
                o["dnssec"]["proves_absent"] = json!(absent.to_string());
                o["dnssec"]["denied_by"] = json!(zone.to_string());
            }
            if let Some(cross) = &c.cross {
                o["checked"] = json!({
                    "answer": cross.answer,
                    "under": cross.under.iter().map(|(r, s)| {
                        let mut v = security_json(s);
                        v["root"] = json!(r);
                        v
                    }).collect::<Vec<_>>(),
                });
            }
            o
        }).collect::<Vec<_>>(),
    })
}
