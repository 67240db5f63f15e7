//! How `compare` prints its rows: an aligned table (colours on a terminal) or one
//! JSON object per row, and the summary of verdicts.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use serde_json::json;

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

/// The aligned table: each root's answer and its DNSSEC security in that root;
/// `color` adds ANSI colours to the verdicts. Rows checked with `--dnssec` are
/// followed by what each root's data is under the other roots' anchors.
pub fn table(rows: &[Row], root_names: &[String], color: bool) -> String {
    let mut header = vec!["NAME".to_string(), "TYPE".to_string()];
    for r in root_names {
        header.push(r.clone());
        header.push(format!("{r} DNSSEC"));
    }
    header.push("VERDICT".into());
    let body: Vec<Vec<String>> = rows
        .iter()
        .map(|r| {
            let mut line = vec![r.name.to_lowercase().to_string(), r.qtype.to_string()];
            for c in &r.cells {
                line.push(c.display());
                line.push(security_label(&c.dnssec));
            }
            line.push(r.verdict.label());
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
            if i == last {
                let text = match (color, verdict) {
                    (true, Some(v)) => paint(v, c),
                    _ => c.clone(),
                };
                out.push_str(&text);
            } else {
                let _ = write!(out, "{c:<w$}  ", w = widths[i]);
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

/// One JSON object for a row (keys documented in the README).
pub fn json_row(row: &Row) -> serde_json::Value {
    let verdict = row.verdict.kind();
    let only = match &row.verdict {
        Verdict::Only(r) => Some(r.clone()),
        _ => None,
    };
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
