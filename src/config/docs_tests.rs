//! The config's documentation cannot fall behind it: every key of every table is
//! in the shipped config, the man page altroot.toml(5) and, exactly once, the
//! reference docs/configuration.md.
use super::tests::parse;
use super::*;

/// Every key a table takes, as serde lists them when it meets an unknown one.
fn keys_of(table: &str) -> Vec<String> {
    let e = parse(&format!("{table}\nnot-a-key = 1\n")).unwrap_err();
    // "expected one of `a`, `b`, `c`" or "expected `a` or `b`": the quoted words.
    let list = e.message.split("expected ").nth(1).unwrap_or("");
    list.split('`')
        .skip(1)
        .step_by(2)
        .map(String::from)
        .collect()
}

// Issue 14 (the shipped config as a new user reads it): the file says it shows every
// default, but [collisions] and most [[root]] keys were missing. Every key of every
// table appears in it, set to its default or in a comment.
#[test]
fn shipped_config_names_every_key() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("config/altroot.toml");
    let text = std::fs::read_to_string(path).unwrap();
    let mut missing = Vec::new();
    for table in SPELLED_OUT {
        let head = table.lines().next().unwrap_or(table);
        assert!(text.contains(&format!("\n{head}\n")), "{head} missing");
        let keys = keys_of(table);
        assert!(keys.len() >= 2, "{table}: {keys:?}");
        for k in keys {
            let written = text
                .lines()
                .map(|l| l.trim_start_matches(['#', ' ']))
                .any(|l| l.starts_with(&format!("{k} ")) || l.starts_with(&format!("{k}=")));
            if !written {
                missing.push(format!("{head} {k}"));
            }
        }
    }
    assert!(
        missing.is_empty(),
        "not in config/altroot.toml: {missing:?}"
    );
    let c =
        Config::load(&Path::new(env!("CARGO_MANIFEST_DIR")).join("config/altroot.toml")).unwrap();
    assert_eq!(c.collisions.policy, Policy::First);
    assert!(c.collisions.pin.is_empty());
}

// Issue 18: the hand-written altroot.toml(5) must not fall behind the config. Every
// key of every table is a `.TP` entry (tag `\fBkey\fR ...`) in that table's section
// (`.SH [server]`, `.SH [[root]]` ...) of docs/man/altroot.toml.5.
#[test]
fn man_page_names_every_key() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/man/altroot.toml.5");
    let text = std::fs::read_to_string(path).unwrap();
    // Its title names this version, as the generated pages do.
    let title = format!(
        ".TH ALTROOT.TOML 5 \"\" \"altroot {}\" ",
        env!("CARGO_PKG_VERSION")
    );
    assert!(text.contains(&title), "altroot.toml.5: no {title:?}");
    let mut missing = Vec::new();
    for table in SPELLED_OUT {
        let head = table.lines().next().unwrap_or(table);
        // The section's text: from its heading to the next one.
        let Some(start) = text.find(&format!("\n.SH {head}\n")) else {
            missing.push(format!("section {head}"));
            continue;
        };
        let rest = &text[start + 1..];
        let end = rest[1..].find("\n.SH ").map_or(rest.len(), |e| e + 1);
        let section = &rest[..end];
        for k in keys_of(table) {
            let tag = format!(".TP\n\\fB{}\\fR", k.replace('-', "\\-"));
            if !section.contains(&tag) {
                missing.push(format!("{head} {k}"));
            }
        }
    }
    assert!(
        missing.is_empty(),
        "not in docs/man/altroot.toml.5: {missing:?}"
    );
}

/// Every table of the file as a snippet that opens it (a [[root]] twice: the
/// keys serde lists depend on what the table already has), for `keys_of`.
const TABLES: [&str; 10] = [
    "[server]",
    "[cache]",
    "[limits]",
    "[[root]]\nname = \"x\"\nhints = \"builtin\"",
    "[[root]]\nname = \"x\"\nhints = \"builtin\"\ntrust-anchors = []\nnegative-trust-anchors = []",
    "[collisions]",
    "[metrics]",
    "[log]",
    "[transfer]",
    "[[transfer.keys]]",
];

/// The tables whose keys the shipped config and the man page spell out one per
/// line (`[[transfer.keys]]`' keys are written inline, in one `keys = [{ … }]`).
const SPELLED_OUT: &[&str] = TABLES.split_at(TABLES.len() - 1).0;

/// The headings of a Markdown text outside fenced code blocks: (level, text).
fn headings(text: &str) -> Vec<(usize, String)> {
    let mut fenced = false;
    let mut out = Vec::new();
    for line in text.lines() {
        if line.trim_start().starts_with("```") {
            fenced = !fenced;
            continue;
        }
        let level = line.chars().take_while(|c| *c == '#').count();
        if !fenced && level > 0 && line[level..].starts_with(' ') {
            out.push((level, line[level + 1..].trim().to_string()));
        }
    }
    out
}

/// A reference entry's heading, "`[table] key`" or "`[[table]] key`": (table, key).
fn entry(heading: &str) -> Option<(String, String)> {
    let inner = heading.strip_prefix('`')?.strip_suffix('`')?;
    let (table, key) = inner.split_once(' ')?;
    (table.starts_with('[') && table.ends_with(']') && !key.contains(' '))
        .then(|| (table.to_string(), key.to_string()))
}

// Issue 18 §3: docs/configuration.md is the one reference of the config file. Every
// key of every table is exactly one entry there (a heading "### `[table] key`" in
// the section "## `[table]`" of its table); no entry names a key the config does not
// take; and no other document (README.md, docs/*.md) has such an entry: they link
// to the reference instead.
#[test]
fn reference_documents_every_key_once() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(dir.join("docs/configuration.md")).unwrap();
    let mut want: Vec<(String, String)> = Vec::new();
    for table in TABLES {
        let head = table.lines().next().unwrap_or(table).to_string();
        let keys = keys_of(table);
        assert!(keys.len() >= 2, "{table}: {keys:?}");
        for k in keys {
            if !want.contains(&(head.clone(), k.clone())) {
                want.push((head.clone(), k));
            }
        }
    }
    let mut problems = Vec::new();
    // The entries, each with the section it is in.
    let mut section = String::new();
    let mut found: Vec<(String, String)> = Vec::new();
    for (level, h) in headings(&text) {
        if level == 2 {
            section = h.trim_matches('`').to_string();
        } else if let Some((table, key)) = entry(&h) {
            let name = |t: &str| t.trim_matches(['[', ']']).to_string();
            if level != 3 || !name(&table).starts_with(&name(&section)) {
                problems.push(format!("{h}: not a ### entry of section {section}"));
            }
            found.push((table, key));
        }
    }
    for (table, key) in &want {
        match found
            .iter()
            .filter(|f| f.0 == *table && f.1 == *key)
            .count()
        {
            1 => {}
            0 => problems.push(format!("{table} {key}: no entry")),
            n => problems.push(format!("{table} {key}: {n} entries")),
        }
    }
    for (table, key) in &found {
        if !want.contains(&(table.clone(), key.clone())) {
            problems.push(format!(
                "{table} {key}: an entry for a key the config does not take"
            ));
        }
    }
    // The tables themselves: each key of the file's top level is a section.
    let sections: Vec<String> = headings(&text)
        .into_iter()
        .filter(|(l, _)| *l == 2)
        .map(|(_, h)| h)
        .collect();
    let tops = keys_of("");
    assert!(tops.len() >= 8, "{tops:?}");
    for top in tops {
        let forms = [format!("`[{top}]`"), format!("`[[{top}]]`")];
        if !sections.iter().any(|s| forms.contains(s)) {
            problems.push(format!("[{top}]: no section"));
        }
    }
    // Entries elsewhere would be a second place to keep current.
    let mut others = vec![dir.join("README.md")];
    for e in std::fs::read_dir(dir.join("docs")).unwrap() {
        let p = e.unwrap().path();
        if p.extension().is_some_and(|x| x == "md") && !p.ends_with("configuration.md") {
            others.push(p);
        }
    }
    for p in others {
        let other = std::fs::read_to_string(&p).unwrap();
        for (_, h) in headings(&other) {
            if entry(&h).is_some() {
                problems.push(format!(
                    "{}: an entry outside the reference: {h}",
                    p.display()
                ));
            }
        }
    }
    assert!(
        problems.is_empty(),
        "docs/configuration.md:\n{}",
        problems.join("\n")
    );
}
