//! `compare --report FILE`: one self-contained HTML page of a bulk comparison
//! (inline CSS and SVG; no script, no external fetch), to read and to share.
//!
//! It shows, in this order: the verdict counts of every pair of columns (a chart,
//! then a table), the collisions of the config's roots (which root answers, and the
//! TLD's history), and the names that disagree grouped by TLD, the TLDs with a
//! collision first, each with the collision it stems from.
//!
//! The data model is a list of [`Column`]s, each with its cell in every row at the
//! same index: the roots today; outside resolvers (`compare --resolver`) are columns
//! of another [`ColumnKind`] and go through the same code.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use super::rows::{Cell, Row, Verdict, verdict};
use crate::commands::collisions::{Finding, history};

/// What a column asks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ColumnKind {
    /// A root of the config, resolved by altroot.
    Root,
    /// An outside recursive resolver.
    Resolver,
}

impl ColumnKind {
    fn as_str(self) -> &'static str {
        match self {
            ColumnKind::Root => "root",
            ColumnKind::Resolver => "resolver",
        }
    }
}

/// One column of the comparison: a name, and what it is.
#[derive(Clone, Debug)]
pub struct Column {
    pub name: String,
    pub kind: ColumnKind,
}

/// Everything the page shows.
pub struct Report<'a> {
    /// The columns, in the order of every row's cells.
    pub columns: Vec<Column>,
    pub rows: &'a [Row],
    /// The collisions of the config's roots (`altroot collisions`).
    pub findings: &'a [Finding],
    /// The collision policy, as the config spells it.
    pub policy: &'a str,
    /// Where the names came from (`-f FILE`, or "the command line").
    pub source: String,
    /// Disagreeing names listed per TLD; the rest are counted.
    pub names_per_tld: usize,
}

/// The verdicts of one pair of columns, over every row.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PairCounts {
    pub same: usize,
    pub differs: usize,
    /// Only the first column has data.
    pub only_a: usize,
    /// Only the second column has data.
    pub only_b: usize,
    pub none: usize,
    pub error: usize,
}

impl PairCounts {
    pub fn total(&self) -> usize {
        self.same + self.differs + self.only_a + self.only_b + self.none + self.error
    }
}

/// The counts of columns `a` and `b` compared alone (as `compare --roots a,b`
/// would judge them).
pub fn pair_counts(rows: &[Row], a: usize, b: usize) -> PairCounts {
    let mut c = PairCounts::default();
    for r in rows {
        let (Some(x), Some(y)) = (r.cells.get(a), r.cells.get(b)) else {
            continue;
        };
        match verdict(&[x.clone(), y.clone()]) {
            Verdict::Same => c.same += 1,
            Verdict::Differs => c.differs += 1,
            Verdict::Only(who) if who == x.root => c.only_a += 1,
            Verdict::Only(_) => c.only_b += 1,
            Verdict::None => c.none += 1,
            Verdict::Error => c.error += 1,
        }
    }
    c
}

/// Every pair of columns, in column order: (a, b) with a < b.
fn pairs(n: usize) -> Vec<(usize, usize)> {
    (0..n)
        .flat_map(|a| (a + 1..n).map(move |b| (a, b)))
        .collect()
}

/// The TLD of a row's name, lower case without the dot ("." for the root).
fn tld_of(row: &Row) -> String {
    let n = row.name.to_lowercase();
    match n.iter().next_back() {
        Some(l) => String::from_utf8_lossy(l).into_owned(),
        None => ".".into(),
    }
}

/// Text made safe for HTML (element content and quoted attributes).
pub fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// The segments of a pair's bar: (class, label, count).
fn segments<'a>(c: &PairCounts, a: &'a str, b: &'a str) -> [(&'static str, String, usize); 6] {
    [
        ("same", "same".into(), c.same),
        ("differs", "differs".into(), c.differs),
        ("only-a", format!("only {a}"), c.only_a),
        ("only-b", format!("only {b}"), c.only_b),
        ("none", "none".into(), c.none),
        ("error", "error".into(), c.error),
    ]
}

const CSS: &str = "
:root{--same:#2e7d32;--differs:#c62828;--only-a:#ef6c00;--only-b:#1565c0;--none:#9e9e9e;--error:#37474f}
*{box-sizing:border-box}
body{font:15px/1.45 system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;margin:0;color:#1b1b1b;background:#fafafa}
header,main{max-width:1100px;margin:0 auto;padding:0 16px}
header{padding-top:20px}
h1{font-size:1.5em;margin:0 0 4px}
h2{font-size:1.2em;margin:28px 0 8px;border-bottom:1px solid #ddd;padding-bottom:4px}
.meta{color:#555;margin:0}
table{border-collapse:collapse;width:100%;background:#fff;margin:6px 0}
th,td{border:1px solid #e0e0e0;padding:4px 8px;text-align:left;vertical-align:top}
th{background:#f0f0f0;font-weight:600}
td.n{text-align:right;font-variant-numeric:tabular-nums}
.wrap{overflow-x:auto}
code,.cell{font-family:ui-monospace,'SFMono-Regular',Menlo,Consolas,monospace;font-size:.9em;word-break:break-all}
.v{white-space:nowrap;font-weight:600}
.v-same{color:var(--same)}.v-differs{color:var(--differs)}.v-only{color:var(--only-a)}.v-none{color:var(--none)}.v-error{color:var(--error)}
svg text{font:13px system-ui,sans-serif}
.seg-same{fill:var(--same)}.seg-differs{fill:var(--differs)}.seg-only-a{fill:var(--only-a)}.seg-only-b{fill:var(--only-b)}.seg-none{fill:var(--none)}.seg-error{fill:var(--error)}
.legend span{display:inline-block;margin-right:14px}
.legend i{display:inline-block;width:12px;height:12px;margin-right:4px;vertical-align:-1px}
details{background:#fff;border:1px solid #e0e0e0;margin:8px 0;padding:6px 10px}
summary{cursor:pointer;font-weight:600}
.collision{color:#8a3b00}
.more{color:#555;font-style:italic}
";

impl Report<'_> {
    /// The page.
    pub fn html(&self) -> String {
        let mut out = String::new();
        let names: Vec<&str> = self.columns.iter().map(|c| c.name.as_str()).collect();
        let _ = write!(
            out,
            "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
             <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
             <title>altroot compare: {}</title>\n<style>{CSS}</style>\n</head>\n<body>\n",
            esc(&names.join(", "))
        );
        self.header(&mut out);
        out.push_str("<main>\n");
        self.pairs_section(&mut out);
        self.collisions_section(&mut out);
        self.tlds_section(&mut out);
        out.push_str("</main>\n</body>\n</html>\n");
        out
    }

    fn header(&self, out: &mut String) {
        let cols: Vec<String> = self
            .columns
            .iter()
            .map(|c| format!("<code>{}</code> ({})", esc(&c.name), c.kind.as_str()))
            .collect();
        let mut types: Vec<String> = self.rows.iter().map(|r| r.qtype.to_string()).collect();
        types.sort();
        types.dedup();
        let _ = write!(
            out,
            "<header>\n<h1>altroot compare</h1>\n\
             <p class=\"meta\" id=\"what\">{} from {}, type {}, asked of {}.</p>\n\
             <p class=\"meta\" id=\"summary\">{}</p>\n</header>\n",
            crate::commands::count(self.rows.len(), "question", "questions"),
            esc(&self.source),
            esc(&types.join(", ")),
            cols.join(", "),
            esc(&super::summary_line(self.rows)),
        );
    }

    fn pairs_section(&self, out: &mut String) {
        let pairs = pairs(self.columns.len());
        out.push_str("<section id=\"pairs\">\n<h2>Verdicts, pair by pair</h2>\n");
        if pairs.is_empty() {
            out.push_str("<p>One column: nothing to compare it with.</p>\n</section>\n");
            return;
        }
        let counts: Vec<PairCounts> = pairs
            .iter()
            .map(|&(a, b)| pair_counts(self.rows, a, b))
            .collect();
        // The chart: one stacked bar per pair, each verdict's share of the rows.
        let (label_w, bar_w, row_h) = (220.0, 640.0, 34.0);
        let height = row_h * pairs.len() as f64 + 10.0;
        let _ = writeln!(
            out,
            "<div class=\"wrap\"><svg id=\"chart\" role=\"img\" aria-label=\"verdicts per pair of columns\" viewBox=\"0 0 {w} {height}\" width=\"100%\" \
             preserveAspectRatio=\"xMinYMin meet\">",
            w = label_w + bar_w + 10.0
        );
        for (i, (&(a, b), c)) in pairs.iter().zip(&counts).enumerate() {
            let (an, bn) = (&self.columns[a].name, &self.columns[b].name);
            let y = 5.0 + row_h * i as f64;
            let _ = writeln!(
                out,
                "<g class=\"bar\" data-pair=\"{}|{}\"><text x=\"0\" y=\"{}\">{} vs {}</text>",
                esc(an),
                esc(bn),
                y + 18.0,
                esc(an),
                esc(bn)
            );
            let total = c.total().max(1) as f64;
            let mut x = label_w;
            for (class, label, n) in segments(c, an, bn) {
                if n == 0 {
                    continue;
                }
                let w = bar_w * n as f64 / total;
                let _ = writeln!(
                    out,
                    "<rect class=\"seg seg-{class}\" x=\"{x:.2}\" y=\"{y}\" width=\"{w:.2}\" height=\"24\"><title>{}: {n}</title></rect>",
                    esc(&label)
                );
                x += w;
            }
            out.push_str("</g>\n");
        }
        out.push_str("</svg></div>\n<p class=\"legend\">");
        for (class, label) in [
            ("same", "same"),
            ("differs", "differs"),
            ("only-a", "only the first"),
            ("only-b", "only the second"),
            ("none", "none (no data in either)"),
            ("error", "error (could not be asked)"),
        ] {
            let _ = write!(
                out,
                "<span><i style=\"background:var(--{class})\"></i>{label}</span>"
            );
        }
        out.push_str("</p>\n<div class=\"wrap\"><table id=\"pair-table\">\n<tr><th>pair</th><th>same</th><th>differs</th><th>only first</th><th>only second</th><th>none</th><th>error</th></tr>\n");
        for (&(a, b), c) in pairs.iter().zip(&counts) {
            let (an, bn) = (esc(&self.columns[a].name), esc(&self.columns[b].name));
            let _ = writeln!(
                out,
                "<tr data-pair=\"{an}|{bn}\"><td>{an} vs {bn}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{} <small>(only {an})</small></td><td class=\"n\">{} <small>(only {bn})</small></td><td class=\"n\">{}</td><td class=\"n\">{}</td></tr>",
                c.same, c.differs, c.only_a, c.only_b, c.none, c.error
            );
        }
        out.push_str("</table></div>\n</section>\n");
    }

    fn finding(&self, tld: &str) -> Option<&Finding> {
        self.findings.iter().find(|f| f.tld == tld)
    }

    /// "alt answers (policy "first")", or the pin, or the interruption.
    fn decided(&self, f: &Finding) -> String {
        let who = if f.winner == "interrupt" {
            "controlled interruption (127.0.53.53) answers".to_string()
        } else {
            format!("{} answers", f.winner)
        };
        if f.pinned {
            format!("{who} (pin {} = \"{}\")", f.tld, f.winner)
        } else {
            format!("{who} (policy \"{}\")", self.policy)
        }
    }

    fn collisions_section(&self, out: &mut String) {
        out.push_str("<section id=\"collisions\">\n<h2>Collisions of these roots</h2>\n");
        if self.findings.is_empty() {
            out.push_str("<p>No TLD is in more than one root.</p>\n</section>\n");
            return;
        }
        let mut disagree: BTreeMap<String, usize> = BTreeMap::new();
        for r in self.rows.iter().filter(|r| !r.verdict.agrees()) {
            *disagree.entry(tld_of(r)).or_default() += 1;
        }
        out.push_str("<div class=\"wrap\"><table>\n<tr><th>TLD</th><th>in</th><th>who answers</th><th>questions here that disagree</th><th>history</th></tr>\n");
        for f in self.findings {
            let hist = history(&f.tld)
                .map(|(a, i)| format!("{}. ICANN: {}", esc(a), esc(i)))
                .unwrap_or_default();
            let _ = writeln!(
                out,
                "<tr data-tld=\"{t}\"><td><a href=\"#tld-{t}\">.{t}</a></td><td>{}</td><td>{}</td><td class=\"n\">{}</td><td>{hist}</td></tr>",
                esc(&f.roots().join(", ")),
                esc(&self.decided(f)),
                disagree.get(&f.tld).copied().unwrap_or(0),
                t = esc(&f.tld),
            );
        }
        out.push_str("</table></div>\n</section>\n");
    }

    fn tlds_section(&self, out: &mut String) {
        let mut by_tld: BTreeMap<String, Vec<&Row>> = BTreeMap::new();
        for r in self.rows.iter().filter(|r| !r.verdict.agrees()) {
            by_tld.entry(tld_of(r)).or_default().push(r);
        }
        let mut groups: Vec<(String, Vec<&Row>)> = by_tld.into_iter().collect();
        // Collisions first, then the most names, then by name.
        groups.sort_by(|(ta, ra), (tb, rb)| {
            let (ca, cb) = (self.finding(ta).is_none(), self.finding(tb).is_none());
            (ca, std::cmp::Reverse(ra.len()), ta).cmp(&(cb, std::cmp::Reverse(rb.len()), tb))
        });
        let total: usize = groups.iter().map(|(_, r)| r.len()).sum();
        let _ = write!(
            out,
            "<section id=\"tlds\">\n<h2>Names that disagree, by TLD</h2>\n<p>{} in {}; the TLDs with a collision first.</p>\n",
            crate::commands::count(total, "question", "questions"),
            crate::commands::count(groups.len(), "TLD", "TLDs")
        );
        for (tld, rows) in &groups {
            let f = self.finding(tld);
            let open = if f.is_some() { " open" } else { "" };
            let _ = write!(
                out,
                "<details id=\"tld-{t}\" class=\"tld\" data-tld=\"{t}\"{open}>\n<summary>.{t}: {}{}</summary>\n",
                crate::commands::count(rows.len(), "question", "questions"),
                match f {
                    Some(f) => format!(
                        " <span class=\"collision\">— a collision: in {}; {}</span>",
                        esc(&f.roots().join(", ")),
                        esc(&self.decided(f))
                    ),
                    None => String::new(),
                },
                t = esc(tld),
            );
            out.push_str("<div class=\"wrap\"><table>\n<tr><th>name</th><th>type</th>");
            for c in &self.columns {
                let _ = write!(out, "<th>{}</th>", esc(&c.name));
            }
            out.push_str("<th>verdict</th></tr>\n");
            for r in rows.iter().take(self.names_per_tld) {
                let _ = write!(
                    out,
                    "<tr><td class=\"cell\">{}</td><td>{}</td>",
                    esc(&r.name.to_lowercase().to_string()),
                    r.qtype
                );
                for c in &r.cells {
                    let _ = write!(out, "<td class=\"cell\">{}</td>", esc(&cell_text(c)));
                }
                let _ = writeln!(
                    out,
                    "<td class=\"v v-{}\">{}</td></tr>",
                    r.verdict.kind(),
                    esc(&r.verdict.label())
                );
            }
            out.push_str("</table></div>\n");
            if rows.len() > self.names_per_tld {
                let _ = writeln!(
                    out,
                    "<p class=\"more\">and {} more (compare --json lists every row)</p>",
                    rows.len() - self.names_per_tld
                );
            }
            out.push_str("</details>\n");
        }
        out.push_str("</section>\n");
    }
}

/// A cell as the table shows it, with the reason of a failure.
fn cell_text(c: &Cell) -> String {
    match &c.error {
        Some(e) => format!("{} ({e})", c.display()),
        None => c.display(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_what_html_would_read() {
        assert_eq!(
            esc("<b a=\"1\">x & 'y'</b>"),
            "&lt;b a=&quot;1&quot;&gt;x &amp; &#39;y&#39;&lt;/b&gt;"
        );
    }

    #[test]
    fn every_pair_once_in_column_order() {
        assert_eq!(pairs(1), vec![]);
        assert_eq!(pairs(3), vec![(0, 1), (0, 2), (1, 2)]);
        assert_eq!(pairs(4).len(), 6);
    }
}
