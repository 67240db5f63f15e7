//! How `compare` prints its rows: an aligned table (colours on a terminal) or one
//! JSON object per row, and the summary of verdicts.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use serde_json::json;

use super::rows::{Cell, Row, Verdict, normal};
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

/// The aligned table; `color` adds ANSI colours to the verdicts.
pub fn table(rows: &[Row], root_names: &[String], color: bool) -> String {
    let mut header = vec!["NAME".to_string(), "TYPE".to_string()];
    header.extend(root_names.iter().cloned());
    header.push("VERDICT".into());
    let body: Vec<Vec<String>> = rows
        .iter()
        .map(|r| {
            let mut line = vec![r.name.to_lowercase().to_string(), r.qtype.to_string()];
            line.extend(r.cells.iter().map(Cell::display));
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
    }
    out
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
        "roots": row.cells.iter().map(|c| json!({
            "root": c.root,
            "rcode": rcode_str(c.rcode),
            "answer": c.display(),
            "records": c.records.iter().map(normal).collect::<Vec<_>>(),
            "error": c.error,
        })).collect::<Vec<_>>(),
    })
}
