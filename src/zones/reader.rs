//! Reading RFC 1035 master files with line numbers.
//!
//! hickory's zone parser knows the record syntax well but reports no positions, drops
//! a record line that has no type, lets `$ORIGIN` leak out of `$INCLUDE`d files
//! (`shared/HICKORY.md`) and refuses DNAME. So this module does the file-level work
//! itself: it splits the text into logical entries ([`super::entries`]), handles
//! `$ORIGIN`, `$TTL` and `$INCLUDE` with RFC 1035 scoping, and hands hickory one
//! entry at a time. Every problem comes back as a [`ZoneError`] naming the file and
//! line.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use hickory_proto::rr::{DNSClass, Name, RData, Record};
use hickory_proto::serialize::txt::{Parser, parse_ttl};

use super::dname::dname;
use super::entries::{Entry, expand_at, retype, split_entries};
use super::problem::{Problem, ZoneError};
use super::stamp::{Stamp, read_stamped};

/// Record types that exist but hickory's zone parser (without DNSSEC features)
/// cannot read, and RFC 3597 `TYPEnnn` (see `shared/HICKORY.md`). DNAME is read
/// here, as a CNAME turned into a DNAME ([`super::dname()`]).
const KNOWN_UNSUPPORTED: &[&str] = &[
    "DS",
    "DNSKEY",
    "RRSIG",
    "NSEC",
    "NSEC3",
    "NSEC3PARAM",
    "CDS",
    "CDNSKEY",
    "ZONEMD",
    "LOC",
    "URI",
    "SPF",
    "KEY",
    "SIG",
    "NXT",
    "APL",
    "DHCID",
    "IPSECKEY",
    "HIP",
];

/// Nested `$INCLUDE`s deeper than this are refused (catches include loops).
const MAX_INCLUDE_DEPTH: usize = 8;

/// Where an entry without TTL, `$TTL` or a TTL before it gets one.
const FALLBACK_TTL: u32 = 3600;

/// A record and where it was written.
#[derive(Clone, Debug)]
pub struct Located {
    pub record: Record,
    pub file: Arc<PathBuf>,
    pub line: usize,
}

/// Everything read from one zone file and the files it includes.
#[derive(Debug, Default)]
pub struct Parsed {
    pub records: Vec<Located>,
    /// The file itself first, then every `$INCLUDE`d file (for reload watching).
    pub files: Vec<PathBuf>,
}

/// The files one zone was read from.
#[derive(Debug, Default)]
pub struct Files {
    /// The zone file first, then every `$INCLUDE`d file.
    pub files: Vec<PathBuf>,
    /// What each of them held, from the very bytes that were parsed.
    pub stamps: Vec<Stamp>,
}

/// Reads `path` with `origin` as the initial `$ORIGIN`. Returns every error found,
/// not only the first.
pub fn read(path: &Path, origin: &Name) -> Result<Parsed, Vec<ZoneError>> {
    let mut records = Vec::new();
    let read = read_into(path, origin, &mut |l| records.push(l))?;
    Ok(Parsed {
        records,
        files: read.files,
    })
}

/// Like [`read`], but hands each record to `sink` as soon as it is parsed, so a
/// large zone is never held twice. On error, records already handed over are
/// incomplete and must be dropped by the caller. Returns the files read: `path`
/// first, then every `$INCLUDE`d file.
pub fn read_into(
    path: &Path,
    origin: &Name,
    sink: &mut dyn FnMut(Located),
) -> Result<Files, Vec<ZoneError>> {
    let mut st = State::new(sink);
    st.read_file(path, origin.clone(), None, 0, None);
    if st.errors.is_empty() {
        Ok(Files {
            files: st.files,
            stamps: st.stamps,
        })
    } else {
        st.errors.sort();
        Err(st.errors)
    }
}

/// Parses zone text that did not come from a file (tests, generated zones).
pub fn read_str(text: &str, path: &Path, origin: &Name) -> Result<Parsed, Vec<ZoneError>> {
    let mut records = Vec::new();
    let mut sink = |l| records.push(l);
    let mut st = State::new(&mut sink);
    st.read_text(text, path, origin.clone(), None, 0);
    let (files, mut errors) = (st.files, st.errors);
    if errors.is_empty() {
        Ok(Parsed { records, files })
    } else {
        errors.sort();
        Err(errors)
    }
}

//------------ State ------------------------------------------------------------

struct State<'a> {
    sink: &'a mut dyn FnMut(Located),
    files: Vec<PathBuf>,
    stamps: Vec<Stamp>,
    errors: Vec<ZoneError>,
}

/// Where one file is being read: what `$ORIGIN` and `$TTL` say now, and the owner
/// and TTL of the record before (RFC 1035 §5.1). An `$INCLUDE`d file gets a scope
/// of its own, so nothing it sets leaks back.
struct Scope<'p> {
    path: &'p Path,
    file: Arc<PathBuf>,
    depth: usize,
    origin: Name,
    default_ttl: Option<u32>,
    last_ttl: Option<u32>,
    owner: Option<Name>,
}

impl<'a> State<'a> {
    fn new(sink: &'a mut dyn FnMut(Located)) -> State<'a> {
        State {
            sink,
            files: Vec::new(),
            stamps: Vec::new(),
            errors: Vec::new(),
        }
    }

    fn err(&mut self, file: &Path, line: usize, message: impl Into<String>) {
        self.errors.push(Problem::error(file, line, message));
    }

    fn read_file(
        &mut self,
        path: &Path,
        origin: Name,
        ttl: Option<u32>,
        depth: usize,
        from: Option<(&Path, usize)>,
    ) {
        let read = read_stamped(path).and_then(|(bytes, stamp)| {
            String::from_utf8(bytes)
                .map(|text| (text, stamp))
                .map_err(|_| std::io::Error::other("not UTF-8 text"))
        });
        match read {
            Ok((text, stamp)) => {
                self.stamps.push(stamp);
                // A byte-order mark some editors write is not part of the zone.
                let text = text.strip_prefix('\u{feff}').unwrap_or(&text);
                self.read_text(text, path, origin, ttl, depth)
            }
            Err(e) => match from {
                Some((f, l)) => self.err(f, l, format!("cannot read {}: {e}", path.display())),
                None => self.err(path, 0, format!("cannot read: {e}")),
            },
        }
    }

    fn read_text(&mut self, text: &str, path: &Path, origin: Name, ttl: Option<u32>, depth: usize) {
        self.files.push(path.to_path_buf());
        let mut scope = Scope {
            path,
            file: Arc::new(path.to_path_buf()),
            depth,
            origin,
            default_ttl: ttl,
            last_ttl: None,
            owner: None,
        };
        let (entries, split_errors) = split_entries(text);
        for (line, msg) in split_errors {
            self.err(path, line, msg);
        }
        for entry in entries {
            match entry.text.trim().strip_prefix('$') {
                Some(rest) => self.directive(&mut scope, rest, entry.line),
                None => self.record(&mut scope, &entry),
            }
        }
    }

    //--- Directives

    fn directive(&mut self, scope: &mut Scope<'_>, rest: &str, line: usize) {
        let path = scope.path;
        let mut words = rest.split_whitespace();
        let directive = words.next().unwrap_or("").to_ascii_uppercase();
        let args: Vec<&str> = words.collect();
        match (directive.as_str(), args.as_slice()) {
            ("ORIGIN", [name]) => match fqdn(name, &scope.origin) {
                Ok(n) => scope.origin = n,
                Err(e) => self.err(path, line, format!("$ORIGIN {name}: {e}")),
            },
            ("ORIGIN", _) => self.err(path, line, "$ORIGIN takes exactly one name"),
            ("TTL", [t]) => match parse_ttl(t) {
                Ok(t) => scope.default_ttl = Some(t),
                Err(e) => self.err(path, line, format!("$TTL {t}: {e}")),
            },
            ("TTL", _) => self.err(path, line, "$TTL takes exactly one value"),
            ("INCLUDE", args) => self.include(scope, args, line),
            _ => self.err(path, line, format!("unknown directive ${directive}")),
        }
    }

    fn include(&mut self, scope: &Scope<'_>, args: &[&str], line: usize) {
        let path = scope.path;
        if scope.depth >= MAX_INCLUDE_DEPTH {
            self.err(path, line, "$INCLUDE nested too deeply (a loop?)");
            return;
        }
        let (file_arg, inc_origin) = match args {
            [f] => (*f, scope.origin.clone()),
            [f, o] => match fqdn(o, &scope.origin) {
                Ok(n) => (*f, n),
                Err(e) => {
                    self.err(path, line, format!("$INCLUDE origin {o}: {e}"));
                    return;
                }
            },
            _ => {
                self.err(path, line, "$INCLUDE takes a file and an optional origin");
                return;
            }
        };
        let inc = path.parent().unwrap_or(Path::new(".")).join(file_arg);
        // RFC 1035 §5.1: the included file's $ORIGIN does not leak back.
        self.read_file(
            &inc,
            inc_origin,
            scope.default_ttl.or(scope.last_ttl),
            scope.depth + 1,
            Some((path, line)),
        );
    }

    //--- Records

    /// One record entry. hickory gets an owner, origin and default TTL it cannot
    /// get wrong; a DNAME goes through it as a CNAME (same syntax: one domain name,
    /// relative to the origin) and comes back as a DNAME.
    fn record(&mut self, scope: &mut Scope<'_>, entry: &Entry) {
        let (path, line) = (scope.path, entry.line);
        let owner_text = match (&scope.owner, entry.inherits_owner) {
            (_, false) => String::new(),
            (Some(o), true) => format!("{o} "),
            (None, true) => {
                let msg = "record has no owner name and there is no previous record";
                return self.err(path, line, msg);
            }
        };
        let ttl = scope.default_ttl.or(scope.last_ttl).unwrap_or(FALLBACK_TTL);
        let body = expand_at(entry.text.trim(), &scope.origin, !entry.inherits_owner);
        let as_dname = retype(&body, !entry.inherits_owner, "DNAME", "CNAME");
        if as_dname.as_ref().is_some_and(|d| d.rdata_tokens != 1) {
            let msg = format!("DNAME takes exactly one target name, in {body:?}");
            return self.err(path, line, msg);
        }
        let text = as_dname.as_ref().map_or(&*body, |d| d.text.as_str());
        let synthetic = format!("$TTL {ttl}\n{owner_text}{text}\n");
        let parser = Parser::new(synthetic, None, Some(scope.origin.clone()));
        let sets = match parser.parse() {
            Ok((_, sets)) => sets,
            Err(e) => return self.err(path, line, clean_hickory_message(&e.to_string(), &body)),
        };
        let records: Vec<Record> = sets
            .values()
            .flat_map(|s| s.records_without_rrsigs().cloned())
            .collect();
        if records.is_empty() {
            return self.err(path, line, format!("no record type in {body:?}"));
        }
        for r in records {
            let r = match (&r.data, as_dname.is_some()) {
                (RData::CNAME(target), true) => {
                    let mut d = dname(r.name.clone(), r.ttl, &target.0);
                    d.dns_class = r.dns_class;
                    d
                }
                _ => r,
            };
            self.emit(scope, r, line);
        }
    }

    fn emit(&mut self, scope: &mut Scope<'_>, r: Record, line: usize) {
        if r.dns_class != DNSClass::IN {
            let msg = format!("class {} is not served (only IN)", r.dns_class);
            return self.err(scope.path, line, msg);
        }
        scope.owner = Some(r.name.clone());
        if scope.default_ttl.is_none() {
            scope.last_ttl = Some(r.ttl);
        }
        (self.sink)(Located {
            record: r,
            file: scope.file.clone(),
            line,
        });
    }
}

/// A name from a directive, relative to `origin` unless it ends in a dot.
fn fqdn(text: &str, origin: &Name) -> Result<Name, hickory_proto::ProtoError> {
    let mut n = Name::parse(text, Some(origin))?;
    n.set_fqdn(true);
    Ok(n)
}

fn clean_hickory_message(msg: &str, body: &str) -> String {
    let mut msg = msg.trim();
    for prefix in ["proto error: ", "decoding error: ", "parse error: "] {
        msg = msg.strip_prefix(prefix).unwrap_or(msg);
    }
    if msg.contains("should be dynamically generated") {
        let t = body
            .split_whitespace()
            .find(|w| KNOWN_UNSUPPORTED.contains(&w.to_ascii_uppercase().as_str()));
        return format!(
            "record type {} is not supported yet (no DNSSEC), in {body:?}",
            t.unwrap_or("?").to_ascii_uppercase()
        );
    }
    if let Some(t) = msg.strip_prefix("record type string unknown: ") {
        // hickory reads the first word it cannot place as the type: say what is
        // really wrong when that word is data or a type it does not support.
        if t.parse::<std::net::IpAddr>().is_ok() || t.parse::<u64>().is_ok() {
            return format!("no record type in {body:?} ({t:?} is data, not a type)");
        }
        let upper = t.to_ascii_uppercase();
        if KNOWN_UNSUPPORTED.contains(&upper.as_str()) || upper.starts_with("TYPE") {
            return format!("record type {upper} is not supported yet, in {body:?}");
        }
        return format!("unknown record type {t:?} in {body:?}");
    }
    if msg.is_empty() {
        format!("cannot parse {body:?}")
    } else {
        format!("{msg} in {body:?}")
    }
}

#[cfg(test)]
#[path = "reader_tests.rs"]
mod tests;
