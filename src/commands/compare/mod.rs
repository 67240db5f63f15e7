//! `altroot compare`: ask every root the same question and show where they disagree
//! (DESIGN §1, §5). [`rows`] resolves and judges, [`output`] prints.

pub mod output;
pub mod outside;
pub mod report;
pub mod rows;

use std::path::PathBuf;
use std::str::FromStr;
use std::time::Duration;

use hickory_proto::rr::{Name, RecordType};

pub use output::{
    cross_lines, json_row, resolver_lines, resolvers_summary, summary, summary_line, table,
};
pub use outside::{Answered, Outside, Seen, parse_resolver};
pub use rows::{
    Cell, Cross, NameList, Row, Verdict, compare, compare_with, parse_name, read_names,
    security_kind, security_label,
};

use crate::resolver::Resolver;

/// Under `policy = "first-come"`: for each TLD of the rows that more than one of
/// the compared roots has, (TLD, the root that answers, which dates decided).
/// A pin decides alone and is said so.
async fn first_come_lines(
    resolver: &std::sync::Arc<Resolver>,
    roots: &[usize],
    rows: &[Row],
) -> Vec<(String, String, String)> {
    let tlds: std::collections::BTreeSet<Name> = rows
        .iter()
        .filter(|r| !r.name.is_root())
        .map(|r| Name::from(crate::resolver::classify::tld_of(&r.name)))
        .collect();
    let mut out = Vec::new();
    for tld in tlds {
        let mut having = Vec::new();
        for &i in roots {
            if resolver.claim(i, &tld).await.has == Ok(true) {
                having.push(i);
            }
        }
        if having.len() < 2 {
            continue;
        }
        let label = crate::zones::tld_label(&hickory_proto::rr::LowerName::new(&tld));
        let (w, why) = resolver.first_come_now(&hickory_proto::rr::LowerName::new(&tld), &having);
        let why = match resolver.pinned(&label) {
            Some(root) => format!("pin {label} = \"{root}\" (over first-come: {why})"),
            None => why,
        };
        let winner = resolver
            .pinned(&label)
            .or_else(|| resolver.roots.get(w).map(|r| r.name.clone()))
            .unwrap_or_default();
        out.push((label, winner, why));
    }
    out
}

/// `altroot compare`'s arguments.
#[derive(Debug, clap::Args)]
pub struct Args {
    #[arg(long, short, value_name = "FILE", help = super::CONFIG_HELP)]
    pub config: Option<PathBuf>,
    /// Record types to ask, comma-separated.
    #[arg(short = 't', long = "type", value_delimiter = ',', default_value = "A")]
    pub types: Vec<String>,
    /// Roots to compare, comma-separated (default: all, in config order).
    #[arg(long, value_delimiter = ',')]
    pub roots: Option<Vec<String>>,
    /// One JSON object per line instead of the table.
    #[arg(long)]
    pub json: bool,
    /// Read names from a file: one per line, or "rank,domain" CSV (Tranco).
    #[arg(short = 'f', long = "file", value_name = "FILE")]
    pub file: Option<PathBuf>,
    /// Also check each root's data (asked with CD) under every other root's
    /// trust anchors: what a validator trusting only that root's key makes of it.
    #[arg(long)]
    pub dnssec: bool,
    /// Also write a self-contained HTML report of the comparison to FILE (the
    /// table is then not printed; --json still is).
    #[arg(long, value_name = "FILE")]
    pub report: Option<PathBuf>,
    /// Also ask this recursive resolver, as a column beside the roots (repeatable):
    /// IP[:port], tls://IP[:port]#name, https://IP[:port]/dns-query#name or
    /// quic://IP[:port]#name; LABEL=ADDR names the column.
    #[arg(long = "resolver", value_name = "[LABEL=]ADDR")]
    pub resolvers: Vec<String>,
    /// Verify tls://, https:// and quic:// resolvers with the CAs in this PEM file
    /// instead of the system's.
    #[arg(long, value_name = "FILE")]
    pub tls_ca: Option<PathBuf>,
    /// Names compared at the same time.
    #[arg(short = 'j', long, default_value_t = 64,
          value_parser = clap::value_parser!(u64).range(1..=100_000))]
    pub jobs: u64,
    /// Names to compare.
    pub names: Vec<String>,
}

/// Prints an error and gives the usage exit status.
fn usage(msg: impl std::fmt::Display) -> u8 {
    eprintln!("{msg}");
    2
}

fn record_types(types: &[String]) -> Result<Vec<RecordType>, u8> {
    types
        .iter()
        .map(|t| {
            RecordType::from_str(&t.to_ascii_uppercase()).map_err(|_| {
                usage(format!(
                    "error: -t {t:?}: not a record type (e.g. A, AAAA, MX, TXT, comma-separated)"
                ))
            })
        })
        .collect()
}

/// The names from the command line, then from `-f FILE`, and how many lines of the
/// file were not names (each reported as `FILE:LINE: error: reason` and skipped).
fn names(args: &Args) -> Result<(Vec<Name>, usize), u8> {
    let mut list = Vec::new();
    for n in &args.names {
        list.push(parse_name(n).map_err(|e| usage(format!("error: {e}")))?);
    }
    let mut skipped = 0;
    if let Some(f) = &args.file {
        let bytes = std::fs::read(f)
            .map_err(|e| usage(format!("error: cannot read {}: {e}", f.display())))?;
        let mut read = read_names(&bytes);
        for (line, why) in &read.bad {
            eprintln!("{}:{line}: error: {why}", f.display());
        }
        skipped = read.bad.len();
        if skipped > 0 {
            eprintln!(
                "{} of {} skipped: not domain names (the exit status will be 2)",
                super::count(skipped, "line", "lines"),
                f.display()
            );
        }
        list.append(&mut read.names);
    }
    if list.is_empty() {
        return Err(usage("error: no names to compare (give NAMEs or -f FILE)"));
    }
    Ok((list, skipped))
}

/// The `--resolver`s, ready to ask (each question within `timeout`).
fn resolvers(args: &Args, timeout: Duration, jobs: usize) -> Result<Vec<Outside>, u8> {
    let mut specs: Vec<outside::Spec> = Vec::new();
    for r in &args.resolvers {
        let s = parse_resolver(r).map_err(|e| usage(format!("error: {e}")))?;
        if specs.iter().any(|o| o.label == s.label) {
            return Err(usage(format!(
                "error: --resolver {r:?}: a second column named {:?} (name them: LABEL=ADDR)",
                s.label
            )));
        }
        specs.push(s);
    }
    let encrypted = specs.iter().any(|s| s.via.is_encrypted());
    if args.tls_ca.is_some() && !encrypted {
        return Err(usage(
            "error: --tls-ca is only for tls://, https:// and quic:// resolvers",
        ));
    }
    let tls = if encrypted {
        outside::tls_config(args.tls_ca.as_deref()).map_err(|e| usage(format!("error: {e}")))?
    } else {
        // Never used: no resolver speaks TLS.
        std::sync::Arc::new(
            rustls::ClientConfig::builder_with_provider(crate::tls::provider())
                .with_safe_default_protocol_versions()
                .map_err(|e| usage(format!("error: TLS set-up: {e}")))?
                .with_root_certificates(rustls::RootCertStore::empty())
                .with_no_client_auth(),
        )
    };
    Ok(specs
        .into_iter()
        .map(|s| Outside::new(s, tls.clone(), timeout, jobs))
        .collect())
}

/// The roots asked, by index, in the order given.
fn selected(resolver: &Resolver, want: Option<&[String]>) -> Result<Vec<usize>, u8> {
    let Some(want) = want else {
        return Ok((0..resolver.roots.len()).collect());
    };
    want.iter()
        .map(|w| {
            resolver.root_index(w).ok_or_else(|| {
                let known: Vec<&str> = resolver.roots.iter().map(|r| r.name.as_str()).collect();
                usage(format!(
                    "error: --roots: no root {w:?} (roots: {})",
                    known.join(", ")
                ))
            })
        })
        .collect()
}

fn progress(shown: bool, total: u64) -> indicatif::ProgressBar {
    if !shown {
        return indicatif::ProgressBar::hidden();
    }
    let b = indicatif::ProgressBar::new(total);
    b.set_style(
        indicatif::ProgressStyle::with_template("{bar:40} {pos}/{len} names  {per_sec}  eta {eta}")
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    b
}

pub async fn run(args: Args) -> u8 {
    let qtypes = match record_types(&args.types) {
        Ok(t) => t,
        Err(code) => return code,
    };
    let (list, skipped) = match names(&args) {
        Ok(l) => l,
        Err(code) => return code,
    };
    let service = match super::service_for(args.config.clone()) {
        Ok(s) => s,
        Err(code) => return code,
    };
    let resolver = service.resolver.clone();
    let roots = match selected(&resolver, args.roots.as_deref()) {
        Ok(r) => r,
        Err(code) => return code,
    };
    // The report's file is made before anything is asked: a path that cannot be
    // written fails now, not after an hour of comparing.
    let report_file = match &args.report {
        Some(p) => match std::fs::File::create(p) {
            Ok(f) => Some((p.clone(), f)),
            Err(e) => {
                return usage(format!(
                    "error: --report: cannot write {}: {e}",
                    p.display()
                ));
            }
        },
        None => None,
    };
    let timeout = service.config.server.query_timeout;
    let jobs = usize::try_from(args.jobs).unwrap_or(usize::MAX);
    let outside = match resolvers(&args, timeout, jobs) {
        Ok(o) => o,
        Err(code) => return code,
    };
    let bar = progress(args.file.is_some(), (list.len() * qtypes.len()) as u64);
    let tick = || bar.inc(1);
    let rows = compare_with(
        &resolver,
        &roots,
        &outside,
        list,
        &qtypes,
        timeout,
        jobs,
        args.dnssec,
        &tick,
    )
    .await;
    bar.finish_and_clear();
    let first_come = if service.config.collisions.policy == crate::config::Policy::FirstCome {
        first_come_lines(&resolver, &roots, &rows).await
    } else {
        Vec::new()
    };
    let names: Vec<String> = roots
        .iter()
        .map(|&i| resolver.roots[i].name.clone())
        .collect();
    if let Some((path, file)) = report_file {
        let source = match &args.file {
            Some(f) => f.display().to_string(),
            None => "the command line".into(),
        };
        if let Err(e) = write_report(&service, &rows, &names, source, file).await {
            eprintln!("error: --report: cannot write {}: {e}", path.display());
            return 2;
        }
        eprintln!("report written to {}", path.display());
    }
    if args.json {
        for r in &rows {
            println!("{}", json_row(r));
        }
        if !first_come.is_empty() {
            let list: Vec<serde_json::Value> = first_come
                .iter()
                .map(|(tld, winner, why)| serde_json::json!({"tld": tld, "winner": winner, "decided": why}))
                .collect();
            println!("{}", serde_json::json!({ "first_come": list }));
        }
        let mut last = serde_json::json!({ "summary": summary(&rows) });
        if !outside.is_empty() {
            last["resolvers"] = resolvers_summary(&rows, roots.len());
        }
        println!("{last}");
    } else {
        if args.report.is_none() {
            print!("{}", table(&rows, &names, super::color_wanted()));
        }
        for (tld, winner, why) in &first_come {
            println!("first-come {tld}: {why}: {winner} answers");
        }
        println!("{}", summary_line(&rows));
        for line in resolver_lines(&rows, roots.len()) {
            println!("{line}");
        }
    }
    let unanswered = |r: &Row| r.outside.iter().any(|o| o.seen == Seen::NoAnswer);
    let own = |r: &Row| r.outside.iter().any(|o| o.seen == Seen::As(Vec::new()));
    if skipped > 0
        || rows
            .iter()
            .any(|r| r.verdict == Verdict::Error || unanswered(r))
    {
        2
    } else if rows.iter().all(|r| r.verdict.agrees() && !own(r)) {
        0
    } else {
        1
    }
}

/// The HTML report of `rows` (columns: the roots compared, by name), with the
/// collisions of the config's roots, asked as `altroot collisions` asks them.
async fn write_report(
    service: &crate::service::Service,
    rows: &[Row],
    roots: &[String],
    source: String,
    mut file: std::fs::File,
) -> std::io::Result<()> {
    use std::io::Write as _;
    let findings = super::collisions::collisions(&service.resolver, &service.config, false).await;
    let report = report::Report {
        columns: roots
            .iter()
            .map(|r| report::Column {
                name: r.clone(),
                kind: report::ColumnKind::Root,
            })
            .collect(),
        rows,
        findings: &findings,
        policy: service.config.collisions.policy.as_str(),
        source,
        names_per_tld: 50,
    };
    file.write_all(report.html().as_bytes())?;
    file.sync_all()
}
