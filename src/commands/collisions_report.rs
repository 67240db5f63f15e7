//! `altroot collisions`' output: the human-readable report and one JSON object
//! per finding (keys documented in docs/comparing.md).

use std::collections::BTreeSet;

use serde_json::json;

use super::collisions::{Finding, Signed, history};
use crate::config::Config;
use crate::handshake;

/// The human-readable report: the findings, then the candidate TLDs that collide
/// with no root of this config but are reserved on Handshake (see
/// [`crate::handshake`]).
pub fn report(findings: &[Finding], config: &Config, candidates: &BTreeSet<String>) -> String {
    let policy = config.collisions.policy.as_str();
    let mut s = String::new();
    for f in findings {
        let decided = if f.pinned {
            format!("pin {} = \"{}\"", f.tld, f.winner)
        } else {
            format!("policy \"{policy}\"")
        };
        let decided = match &f.first_come {
            Some((_, why)) if !f.pinned => format!("{decided}: {why}"),
            _ => decided,
        };
        let answer = if f.winner == "interrupt" {
            "controlled interruption (127.0.53.53) answers".to_string()
        } else {
            format!("{} answers", f.winner)
        };
        s.push_str(&format!(
            "{}  in {}: {answer} ({decided})\n",
            f.tld,
            f.roots().join(", ")
        ));
        let w = f.claims.iter().map(|c| c.root.len()).max().unwrap_or(0);
        for c in &f.claims {
            let has = match c.has {
                Some(true) => "has it",
                Some(false) => "has not",
                None => "unknown",
            };
            s.push_str(&format!("    {:<w$}  {has:<7}  {}\n", c.root, c.how, w = w));
        }
        for c in &f.claims {
            if let Some(d) = &c.dnssec {
                s.push_str(&format!(
                    "    {:<w$}  dnssec   {}\n",
                    c.root,
                    d.text(&c.root, &f.tld),
                    w = w
                ));
            }
        }
        if let Some((dates, _)) = &f.first_come {
            for (root, d) in dates {
                let d = d.as_ref().map_or(
                    "since an unknown date (root order)".to_string(),
                    ToString::to_string,
                );
                s.push_str(&format!("    {root:<w$}  claim    {d}\n", w = w));
            }
        }
        if let Some((alt, icann)) = history(&f.tld) {
            s.push_str(&format!("    history: {alt}. ICANN: {icann}\n"));
        }
        if let Some(r) = handshake::reserved(&f.tld) {
            s.push_str(&format!("    handshake: {}\n", handshake::text(&f.tld, r)));
        }
    }
    for tld in candidates {
        if findings.iter().any(|f| &f.tld == tld) {
            continue;
        }
        if let Some(r) = handshake::reserved(tld) {
            s.push_str(&format!("{tld}  {}\n", handshake::text(tld, r)));
        }
    }
    s.push_str(&format!(
        "{} among {} of this config's roots\n",
        super::count(findings.len(), "collision", "collisions"),
        super::count(candidates.len(), "TLD", "TLDs")
    ));
    s
}

/// One JSON object per finding (keys documented in docs/comparing.md).
pub fn json_finding(f: &Finding, config: &Config) -> serde_json::Value {
    let mut v = json!({
        "tld": f.tld,
        "roots": f.roots(),
        "winner": f.winner,
        "decided_by": if f.pinned { "pin" } else { config.collisions.policy.as_str() },
        "claims": f.claims.iter().map(|c| json!({
            "root": c.root, "has": c.has, "how": c.how,
            "dnssec": c.dnssec.as_ref().map(|d| json!({
                "state": d.kind(),
                "ds_key_tags": match d { Signed::Ds(t) => Some(t.clone()), _ => None },
                "text": d.text(&c.root, &f.tld),
            })),
        })).collect::<Vec<_>>(),
        "history": history(&f.tld).map(|(a, i)| json!({"alternate": a, "icann": i})),
        "handshake_reserved": handshake::reserved(&f.tld).map(|r| handshake::text(&f.tld, r)),
        "first_come": f.first_come.as_ref().map(|(dates, why)| json!({
            "decided": why,
            "claims": dates.iter().map(|(root, d)| json!({
                "root": root,
                "since": d.as_ref().map(|d| d.date.to_string()),
                "source": d.as_ref().map(|d| d.source.kind()),
                "text": d.as_ref().map(ToString::to_string),
            })).collect::<Vec<_>>(),
        })),
    });
    // Only under `first-come`: other policies' objects are as they were.
    if f.first_come.is_none()
        && let Some(o) = v.as_object_mut()
    {
        o.remove("first_come");
    }
    v
}
