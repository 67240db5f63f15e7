//! `altroot manpages DIR` and `altroot completions SHELL`: the man pages and the
//! shell completions, made from the clap definitions of [`super::Cli`] so that they
//! cannot say something the command line does not do (`clap_mangen`,
//! `clap_complete`). The config file's page, `altroot.toml(5)`, is written by hand
//! (`docs/man/altroot.toml.5`) and only copied out. The copies shipped in `docs/man/`
//! and `docs/completions/` (and in the Debian package) are checked against these by a
//! test.

use std::io::Write;
use std::path::{Path, PathBuf};

use clap::CommandFactory;
use clap_mangen::Man;
use clap_mangen::roff::{Roff, bold, roman};

use super::Cli;

/// The man section of the command pages: a daemon and its administration tools.
pub const SECTION: &str = "8";

/// The hand-written page of the config file.
const CONFIG_PAGE: (&str, &str) = (
    "altroot.toml.5",
    include_str!("../../docs/man/altroot.toml.5"),
);

/// What `altroot.8` says beyond the clap definitions: the files and the environment.
const FILES: &[(&str, &str)] = &[
    (
        "/etc/altroot/altroot.toml",
        "The config of the Debian package's service (altroot.toml(5)). Without --config, \
         every command reads config/altroot.toml in the current folder instead.",
    ),
    (
        "/etc/altroot/zones/",
        "The zones of the alternate root the package ships, one master file per zone.",
    ),
    (
        "/usr/lib/systemd/system/altroot.service",
        "The systemd unit (Type=notify; systemctl reload sends SIGHUP). The package \
         neither enables nor starts it.",
    ),
];

const ENVIRONMENT: &[(&str, &str)] = &[
    (
        "RUST_LOG",
        "Log filter, overriding -v and -q (e.g. warn,altroot::query=info).",
    ),
    (
        "NO_COLOR",
        "When set and not empty, no colours on a terminal.",
    ),
    (
        "NOTIFY_SOCKET",
        "Set by systemd: serve reports READY=1, RELOADING=1 and STOPPING=1 there.",
    ),
];

/// Every man page: `altroot.8`, one `altroot-SUB.8` per subcommand (and per
/// subcommand of those: `altroot-config-recipes.8`), and `altroot.toml.5`, as
/// (file name, roff text), sorted by name.
pub fn man_pages() -> Vec<(String, String)> {
    // The package version, not the commit `--version` adds: the shipped pages would
    // otherwise change with every commit.
    let mut cmd = Cli::command()
        .version(super::PKG_VERSION)
        .disable_help_subcommand(true);
    cmd.build();
    let mut pages = Vec::new();
    page_and_subpages(&cmd, true, &mut pages);
    pages.push((CONFIG_PAGE.0.to_string(), CONFIG_PAGE.1.to_string()));
    pages.sort();
    pages
}

fn page_and_subpages(cmd: &clap::Command, top: bool, out: &mut Vec<(String, String)>) {
    for sub in cmd.get_subcommands().filter(|s| !s.is_hide_set()) {
        page_and_subpages(sub, false, out);
    }
    let man = Man::new(cmd.clone()).section(SECTION);
    out.push((man.get_filename(), render(&man, cmd, top)));
}

/// What the `roff` crate writes before every piece it renders (a string for the
/// apostrophe); once at the top is enough.
const PREAMBLE: &str = ".ie \\n(.g .ds Aq \\(aq\n.el .ds Aq '\n";

/// A page in the usual order (man-pages(7)): the title, then clap_mangen's name,
/// synopsis, description, options and subcommands; then the `after_help` text split
/// into EXAMPLES, EXIT STATUS and NOTES (clap_mangen would print it whole as
/// "EXTRA"), and on the main page FILES and ENVIRONMENT; SEE ALSO last.
fn render(man: &Man, cmd: &clap::Command, top: bool) -> String {
    let mut w = Vec::new();
    // Writing into a Vec cannot fail.
    let _ = man.render_name_section(&mut w);
    let _ = man.render_synopsis_section(&mut w);
    let _ = man.render_description_section(&mut w);
    if cmd.get_arguments().any(|a| !a.is_hide_set()) {
        let _ = man.render_options_section(&mut w);
    }
    if cmd.get_subcommands().any(|s| !s.is_hide_set()) {
        let _ = man.render_subcommands_section(&mut w);
    }
    let mut roff = Roff::default();
    if let Some(after) = cmd.get_after_help() {
        after_help(&mut roff, &after.to_string());
    }
    if top {
        definitions(&mut roff, "FILES", FILES);
        definitions(&mut roff, "ENVIRONMENT", ENVIRONMENT);
    }
    roff.control("SH", ["SEE ALSO"]);
    let mut see = Vec::new();
    if !top {
        see.push(format!("altroot({SECTION})"));
    }
    see.push("altroot.toml(5)".to_string());
    if top {
        see.extend(
            cmd.get_subcommands()
                .filter(|s| !s.is_hide_set())
                .map(|s| format!("altroot-{}({SECTION})", s.get_name())),
        );
    }
    see.push("systemd.service(5)".to_string());
    roff.text([roman(see.join(", "))]);
    let _ = roff.to_writer(&mut w);
    // The title by hand: clap_mangen leaves out an empty date, which moves the
    // source and manual into the wrong fields of .TH. No date, so that the page
    // does not change with the day it was made.
    let name = cmd.get_display_name().unwrap_or_else(|| cmd.get_name());
    format!(
        "{PREAMBLE}.TH {} {SECTION} \"\" \"altroot {}\" \"System Administration\"\n{}",
        name.to_uppercase().replace('-', "\\-"),
        super::PKG_VERSION,
        String::from_utf8_lossy(&w).replace(PREAMBLE, "")
    )
}

/// The `after_help` paragraphs: "Examples:" lines as they are (no filling), a
/// paragraph that starts "Exit status" under EXIT STATUS, the rest under NOTES.
fn after_help(roff: &mut Roff, text: &str) {
    let mut notes = Vec::new();
    for para in text.split("\n\n") {
        if let Some(rest) = para.strip_prefix("Examples:") {
            roff.control("SH", ["EXAMPLES"]);
            roff.control("nf", []);
            for line in rest.lines().filter(|l| !l.trim().is_empty()) {
                roff.text([roman(line.trim_start())]);
            }
            roff.control("fi", []);
        } else if para.starts_with("Exit status") {
            roff.control("SH", ["EXIT STATUS"]);
            roff.text([roman(para.replace('\n', " "))]);
        } else {
            notes.push(para.replace('\n', " "));
        }
    }
    if !notes.is_empty() {
        roff.control("SH", ["NOTES"]);
        for (i, n) in notes.iter().enumerate() {
            if i > 0 {
                roff.control("PP", []);
            }
            roff.text([roman(n.as_str())]);
        }
    }
}

fn definitions(roff: &mut Roff, heading: &str, items: &[(&str, &str)]) {
    roff.control("SH", [heading]);
    for (term, text) in items {
        roff.control("TP", []);
        roff.text([bold(*term)]);
        roff.text([roman(*text)]);
    }
}

/// The completion script for `shell`.
pub fn completion(shell: clap_complete::Shell) -> Vec<u8> {
    let mut cmd = Cli::command();
    let mut out = Vec::new();
    clap_complete::generate(shell, &mut cmd, "altroot", &mut out);
    out
}

/// `altroot manpages DIR`: writes every page into the man tree `dir`, each in the
/// folder of its section (`man8/`, `man5/`, made if missing), and names each file
/// written; 1 when one cannot be written.
pub fn write_man_pages(dir: &Path) -> u8 {
    for (name, text) in man_pages() {
        let section = name.rsplit('.').next().unwrap_or(SECTION);
        let folder = dir.join(format!("man{section}"));
        if let Err(e) = std::fs::create_dir_all(&folder) {
            eprintln!("error: {}: {e}", folder.display());
            return 1;
        }
        let path: PathBuf = folder.join(&name);
        if let Err(e) = std::fs::write(&path, text) {
            eprintln!("error: {}: {e}", path.display());
            return 1;
        }
        println!("{}", path.display());
    }
    0
}

/// `altroot completions SHELL`: the script on stdout.
pub fn print_completion(shell: clap_complete::Shell) -> u8 {
    let mut out = std::io::stdout().lock();
    match out.write_all(&completion(shell)).and_then(|()| out.flush()) {
        Ok(()) => 0,
        Err(e) => {
            eprintln!("error: cannot write the completion script: {e}");
            1
        }
    }
}
