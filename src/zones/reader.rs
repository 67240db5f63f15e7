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

use hickory_proto::rr::{DNSClass, Name, RData, Record, RecordType};
use hickory_proto::serialize::txt::{Parser, parse_ttl};

use super::dname::dname;
use super::dnssec_text;
use super::entries::{Entry, Split, expand_at, for_each_entry, retype, split_at_type};
use super::fast;
use super::hickory_text::{clean_hickory_message, qualify};
use super::problem::{Problem, ZoneError};
use super::stamp::{Stamp, read_stamped};
use super::wire;

/// Nested `$INCLUDE`s deeper than this are refused.
const MAX_INCLUDE_DEPTH: usize = 8;

/// One zone reads at most this many files, its own included: a file that
/// includes others several times would otherwise be read k^depth times.
const MAX_FILES: usize = 256;

/// Where an entry without TTL, `$TTL` or a TTL before it gets one.
const FALLBACK_TTL: u32 = 3600;

/// A record as read, in wire form: the owner lowercased, the RDATA as sent
/// (names uncompressed, in their case), and where it was written.
#[derive(Clone, Copy, Debug)]
pub struct Rec<'a> {
    pub owner: &'a [u8],
    pub rtype: RecordType,
    pub ttl: u32,
    pub rdata: &'a [u8],
    pub file: &'a Arc<PathBuf>,
    pub line: usize,
}

impl Rec<'_> {
    /// The record as hickory's type.
    pub fn to_located(&self) -> Option<Located> {
        let data = wire::decode_rdata(self.rtype, self.rdata).ok()?;
        Some(Located {
            record: Record::from_rdata(wire::to_name(self.owner), self.ttl, data),
            file: self.file.clone(),
            line: self.line,
        })
    }
}

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
    let read = read_into(path, origin, &mut |r| records.extend(r.to_located()))?;
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
    sink: &mut dyn FnMut(Rec<'_>),
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
    let mut sink = |r: Rec<'_>| records.extend(r.to_located());
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

/// Reads a trust-anchor file: DS and DNSKEY records in master-file format, of any
/// owners (`$ORIGIN` starts at the root; `$ORIGIN`, `$TTL` and `$INCLUDE` work as
/// in a zone). Any other record type, or a file without a DS or DNSKEY, is a
/// `FILE:LINE:` problem; every problem is returned, not only the first.
pub fn read_trust_anchors(path: &Path) -> Result<Vec<Located>, Vec<ZoneError>> {
    let mut records = Vec::new();
    read_into(path, &Name::root(), &mut |r| records.extend(r.to_located()))?;
    anchors_only(records, path)
}

/// [`read_trust_anchors`] on text that did not come from a file (built-in
/// anchors, tests); `path` names it in problems.
pub fn read_trust_anchors_str(text: &str, path: &Path) -> Result<Vec<Located>, Vec<ZoneError>> {
    anchors_only(read_str(text, path, &Name::root())?.records, path)
}

fn anchors_only(records: Vec<Located>, path: &Path) -> Result<Vec<Located>, Vec<ZoneError>> {
    let mut errors: Vec<ZoneError> = records
        .iter()
        .filter(|l| !matches!(l.record.record_type(), RecordType::DS | RecordType::DNSKEY))
        .map(|l| {
            let msg = format!(
                "{} {}: a trust-anchor file holds DS and DNSKEY records only",
                l.record.name,
                l.record.record_type()
            );
            Problem::error(l.file.as_path(), l.line, msg)
        })
        .collect();
    if records.is_empty() {
        errors.push(Problem::error(
            path,
            1,
            "no DS or DNSKEY record: not a trust anchor",
        ));
    }
    if errors.is_empty() {
        Ok(records)
    } else {
        Err(errors)
    }
}

/// Every record of `text` as (owner, type, TTL, RDATA, line) in wire form, read
/// with or without the fast path, the errors, and how many entries the fast
/// path read.
#[cfg(test)]
#[allow(clippy::type_complexity)]
fn wire_records(
    text: &str,
    origin: &Name,
    fast: bool,
) -> (
    Vec<(Vec<u8>, RecordType, u32, Vec<u8>, usize)>,
    Vec<ZoneError>,
    usize,
) {
    let mut records = Vec::new();
    let mut sink = |r: Rec<'_>| {
        records.push((r.owner.to_vec(), r.rtype, r.ttl, r.rdata.to_vec(), r.line));
    };
    let mut st = State::new(&mut sink);
    st.fast = fast;
    st.read_text(text, Path::new("t"), origin.clone(), None, 0);
    let (errors, fast_read) = (st.errors, st.fast_read);
    (records, errors, fast_read)
}

//------------ State ------------------------------------------------------------

struct State<'a> {
    sink: &'a mut dyn FnMut(Rec<'_>),
    files: Vec<PathBuf>,
    stamps: Vec<Stamp>,
    errors: Vec<ZoneError>,
    /// The files being read, outermost first (an `$INCLUDE` of one is a loop).
    chain: Vec<PathBuf>,
    /// The record being handed over.
    owner: Vec<u8>,
    rdata: Vec<u8>,
    /// Read the common entries without hickory ([`fast`]); off only in the test
    /// that compares both ways.
    fast: bool,
    /// Entries the fast path read (for that test).
    fast_read: usize,
}

/// Where one file is being read: what `$ORIGIN` and `$TTL` say now, and the owner
/// and TTL of the record before (RFC 1035 §5.1). An `$INCLUDE`d file gets a scope
/// of its own, so nothing it sets leaks back.
struct Scope<'p> {
    path: &'p Path,
    file: Arc<PathBuf>,
    depth: usize,
    origin: Name,
    /// The origin in wire form, as written (names in RDATA end with it).
    origin_wire: Vec<u8>,
    default_ttl: Option<u32>,
    last_ttl: Option<u32>,
    /// The owner of the record before, lowercased wire form; empty for none.
    owner: Vec<u8>,
}

impl<'a> State<'a> {
    fn new(sink: &'a mut dyn FnMut(Rec<'_>)) -> State<'a> {
        State {
            sink,
            files: Vec::new(),
            stamps: Vec::new(),
            errors: Vec::new(),
            chain: Vec::new(),
            owner: Vec::new(),
            rdata: Vec::new(),
            fast: true,
            fast_read: 0,
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
                self.chain.push(path.to_path_buf());
                self.read_text(text, path, origin, ttl, depth);
                self.chain.pop();
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
            origin_wire: wire::to_wire(&origin, false),
            origin,
            default_ttl: ttl,
            last_ttl: None,
            owner: Vec::new(),
        };
        let split_errors = for_each_entry(text, &mut |entry| match entry
            .text
            .trim()
            .strip_prefix('$')
        {
            Some(rest) => self.directive(&mut scope, rest, entry.line),
            None => self.record(&mut scope, entry),
        });
        for (line, msg) in split_errors {
            self.err(path, line, msg);
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
                Ok(n) => {
                    scope.origin_wire = wire::to_wire(&n, false);
                    scope.origin = n;
                }
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
        let same = |p: &PathBuf| {
            p == &inc || std::fs::canonicalize(p).ok() == std::fs::canonicalize(&inc).ok()
        };
        if self.chain.iter().any(same) {
            let msg = format!("$INCLUDE {file_arg}: a loop (the file is already being read)");
            return self.err(path, line, msg);
        }
        // A device or a FIFO would be read forever or block the reload.
        if std::fs::metadata(&inc).is_ok_and(|m| !m.is_file()) {
            let msg = format!("$INCLUDE {file_arg}: not a regular file");
            return self.err(path, line, msg);
        }
        if self.files.len() >= MAX_FILES {
            let msg = format!("$INCLUDE {file_arg}: over {MAX_FILES} files in one zone");
            return self.err(path, line, msg);
        }
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

    /// One record entry: the common cases straight to wire form ([`fast`]),
    /// the rest through hickory ([`State::hickory_record`]).
    fn record(&mut self, scope: &mut Scope<'_>, entry: &Entry) {
        let ttl = scope.default_ttl.or(scope.last_ttl).unwrap_or(FALLBACK_TTL);
        let cx = fast::Context {
            origin: &scope.origin_wire,
            prev_owner: &scope.owner,
            ttl,
        };
        let body = entry.text.trim();
        let has_owner = !entry.inherits_owner;
        let fast = match self.fast {
            true => fast::record(body, has_owner, &cx, &mut self.owner, &mut self.rdata),
            false => None,
        };
        match fast {
            Some(r) => {
                self.fast_read += 1;
                self.emit(scope, r.rtype, r.ttl, entry.line)
            }
            None => self.hickory_record(scope, entry, ttl),
        }
    }

    /// One record entry read by hickory, which gets an owner, origin and default
    /// TTL it cannot get wrong; a DNAME goes through it as a CNAME (same syntax:
    /// one domain name, relative to the origin) and comes back as a DNAME.
    fn hickory_record(&mut self, scope: &mut Scope<'_>, entry: &Entry, ttl: u32) {
        let (path, line) = (scope.path, entry.line);
        let owner_text = match (scope.owner.is_empty(), entry.inherits_owner) {
            (_, false) => String::new(),
            (false, true) => format!("{} ", wire::to_name(&scope.owner)),
            (true, true) => {
                let msg = "record has no owner name and there is no previous record";
                return self.err(path, line, msg);
            }
        };
        let body = expand_at(entry.text.trim(), &scope.origin, !entry.inherits_owner);
        if let Some(split) = split_at_type(&body, !entry.inherits_owner) {
            // RFC 3597 §5: any type in the generic form, `\# length hex`.
            if split.rdata.first() == Some(&"\\#") {
                return match dnssec_text::record_type(split.rtype) {
                    Some(rt) => self.dnssec_record(scope, &split, rt, ttl, line, &body),
                    None => {
                        let msg = format!("unknown record type {:?}", split.rtype);
                        self.err(path, line, msg)
                    }
                };
            }
            if let Some(rt) = dnssec_text::is_dnssec_type(&split.rtype.to_ascii_uppercase()) {
                return self.dnssec_record(scope, &split, rt, ttl, line, &body);
            }
        }
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
        for mut r in records {
            if let (RData::CNAME(target), true) = (&r.data, as_dname.is_some()) {
                let mut d = dname(r.name.clone(), r.ttl, &target.0);
                d.dns_class = r.dns_class;
                r = d;
            } else if matches!(r.data, RData::SVCB(_) | RData::HTTPS(_)) {
                r.data = qualify(r.data.clone(), &scope.origin);
            }
            if r.dns_class != DNSClass::IN {
                let msg = format!("class {} is not served (only IN)", r.dns_class);
                return self.err(scope.path, line, msg);
            }
            if let Err(msg) = self.encode(&r) {
                return self.err(path, line, msg);
            }
            self.emit(scope, r.record_type(), r.ttl, line);
        }
    }

    /// One DNSSEC record entry ([`dnssec_text`]), which hickory cannot read, or
    /// one of any type in RFC 3597's generic form.
    fn dnssec_record(
        &mut self,
        scope: &mut Scope<'_>,
        split: &Split<'_>,
        rtype: RecordType,
        default_ttl: u32,
        line: usize,
        body: &str,
    ) {
        let path = scope.path;
        // Keys and signatures span lines: an error quotes the entry on one line,
        // spaced once (made only then: most entries are fine).
        let quoted = || format!("{:?}", split_whitespace_once(body));
        let owner = match split.owner {
            None => wire::to_name(&scope.owner),
            Some("@") => scope.origin.clone(),
            Some(t) => match fqdn(t, &scope.origin) {
                Ok(n) => n,
                Err(e) => {
                    let msg = clean_hickory_message(&e.to_string(), &split_whitespace_once(body));
                    return self.err(path, line, msg);
                }
            },
        };
        let mut ttl = None;
        for t in &split.ttl_class {
            match parse_ttl(t) {
                Ok(v) if ttl.is_none() => ttl = Some(v),
                Ok(_) => return self.err(path, line, format!("two TTLs in {}", quoted())),
                Err(_) if t.eq_ignore_ascii_case("IN") => {}
                Err(_) => {
                    let msg = format!(
                        "class {} is not served (only IN), in {}",
                        t.to_ascii_uppercase(),
                        quoted()
                    );
                    return self.err(path, line, msg);
                }
            }
        }
        let data = match split.rdata.split_first() {
            Some((&"\\#", rest)) => generic_rdata(rtype, rest),
            _ => dnssec_text::rdata(rtype, &split.rdata, &scope.origin),
        };
        let data = match data {
            Ok(d) => d,
            Err(e) => return self.err(path, line, format!("{e}, in {}", quoted())),
        };
        let r = Record::from_rdata(owner, ttl.unwrap_or(default_ttl), data);
        if let Err(msg) = self.encode(&r) {
            return self.err(path, line, msg);
        }
        self.emit(scope, rtype, r.ttl, line);
    }

    /// `r` into `self.owner` and `self.rdata`; the message when it cannot be
    /// served: data the wire format cannot carry (a TXT string over 255 bytes…),
    /// or whose wire form does not read back (a TXT without strings…), which
    /// would make every reply holding it malformed.
    fn encode(&mut self, r: &Record) -> Result<(), String> {
        let rt = r.record_type();
        self.owner.clear();
        wire::push_wire(&r.name, true, &mut self.owner);
        self.rdata.clear();
        if let Err(e) = wire::encode_rdata(&r.data, &mut self.rdata) {
            return Err(format!("{} {rt} cannot be sent in DNS: {e}", r.name));
        }
        if self.rdata.is_empty() {
            // Clients refuse empty RDATA outside UPDATE messages (hickory: "unexpected
            // record with length 0"); a TXT needs at least one string.
            return Err(format!("{} {rt} has no data", r.name));
        }
        if self.rdata.len() > usize::from(u16::MAX) {
            return Err(format!("{} {rt} is over 65535 bytes", r.name));
        }
        if let Err(e) = wire::decode_rdata(rt, &self.rdata) {
            let e = e.to_string();
            let e = e.strip_prefix("proto error: ").unwrap_or(&e);
            return Err(format!(
                "{} {rt} cannot be sent in DNS: its data does not read back ({e})",
                r.name
            ));
        }
        Ok(())
    }

    /// Hands the record in `self.owner` and `self.rdata` to the sink.
    fn emit(&mut self, scope: &mut Scope<'_>, rtype: RecordType, ttl: u32, line: usize) {
        scope.owner.clear();
        scope.owner.extend_from_slice(&self.owner);
        if scope.default_ttl.is_none() {
            scope.last_ttl = Some(ttl);
        }
        (self.sink)(Rec {
            owner: &self.owner,
            rtype,
            ttl,
            rdata: &self.rdata,
            file: &scope.file,
            line,
        });
    }
}

/// RDATA in RFC 3597's generic form (§5), after the `\#`: the length in octets,
/// then the octets in hex, which may be split by white space; decoded as `rtype`
/// (a known type must be well formed).
fn generic_rdata(rtype: RecordType, tokens: &[&str]) -> Result<RData, String> {
    let (len, hex) = tokens
        .split_first()
        .ok_or("\\# without a length (RFC 3597: \\# length hex)")?;
    let len: usize = len
        .parse()
        .map_err(|_| format!("\\# length {len:?} is not a number"))?;
    if len == 0 {
        // RFC 3597 allows it; clients refuse empty RDATA outside UPDATE (see `encode`).
        let t = match rtype {
            RecordType::Unknown(n) => format!("TYPE{n}"),
            t => t.to_string(),
        };
        return Err(format!("{t} with no data (\\# 0) cannot be served"));
    }
    let hex = hex.concat();
    let bytes = data_encoding::HEXUPPER_PERMISSIVE
        .decode(hex.as_bytes())
        .map_err(|_| format!("\\# data {hex:?} is not hex"))?;
    if bytes.len() != len {
        return Err(format!(
            "\\# says {len} octets but the data has {}",
            bytes.len()
        ));
    }
    wire::decode_rdata(rtype, &bytes).map_err(|e| {
        let e = e.to_string();
        let e = e.strip_prefix("proto error: ").unwrap_or(&e).to_string();
        format!("\\# data is not a valid {rtype}: {e}")
    })
}

/// `text` with every run of white space one space.
fn split_whitespace_once(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// A name from a directive, relative to `origin` unless it ends in a dot.
fn fqdn(text: &str, origin: &Name) -> Result<Name, hickory_proto::ProtoError> {
    let mut n = Name::parse(text, Some(origin))?;
    n.set_fqdn(true);
    Ok(n)
}

#[cfg(test)]
#[path = "reader_tests.rs"]
mod tests;

#[cfg(test)]
#[path = "reader_dnssec_tests.rs"]
mod dnssec_tests;
