//! Reading RFC 1035 master files with line numbers.
//!
//! hickory's zone parser knows the record syntax well but reports no positions, drops
//! a record line that has no type, and lets `$ORIGIN` leak out of `$INCLUDE`d files
//! (`shared/HICKORY.md`). So this module does the file-level work itself: it splits the
//! text into logical entries (joining parenthesised lines, dropping comments, keeping
//! the line each entry starts on), handles `$ORIGIN`, `$TTL` and `$INCLUDE` with RFC
//! 1035 scoping, and hands hickory one entry at a time. Every problem comes back as a
//! [`ZoneError`] naming the file and line.

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use hickory_proto::rr::{DNSClass, Name, Record};
use hickory_proto::serialize::txt::{Parser, parse_ttl};

/// Record types that exist but hickory's zone parser (without DNSSEC features)
/// cannot read, and RFC 3597 `TYPEnnn` (see `shared/HICKORY.md`).
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
    "DNAME",
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

/// How bad a [`Problem`] is: errors stop a zone from loading, warnings do not.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Severity {
    Error,
    Warning,
}

/// One problem in a zone, hints or config file, printed as `FILE:LINE: error: …`.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Problem {
    pub file: PathBuf,
    /// 1-based; problems about a whole file point at line 1.
    pub line: usize,
    pub severity: Severity,
    pub message: String,
}

impl Problem {
    pub fn error(file: impl Into<PathBuf>, line: usize, message: impl Into<String>) -> Problem {
        Problem {
            file: file.into(),
            line: line.max(1),
            severity: Severity::Error,
            message: message.into(),
        }
    }

    pub fn warning(file: impl Into<PathBuf>, line: usize, message: impl Into<String>) -> Problem {
        Problem {
            severity: Severity::Warning,
            ..Problem::error(file, line, message)
        }
    }

    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sev = match self.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
        };
        write!(
            f,
            "{}:{}: {sev}: {}",
            self.file.display(),
            self.line,
            self.message
        )
    }
}

/// Zone-file problems are [`Problem`]s.
pub type ZoneError = Problem;

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

/// The files one zone was read from.
#[derive(Debug, Default)]
pub struct Files {
    /// The zone file first, then every `$INCLUDE`d file.
    pub files: Vec<PathBuf>,
    /// What each of them held, from the very bytes that were parsed.
    pub stamps: Vec<Stamp>,
}

//------------ Stamp ----------------------------------------------------------

/// What a file held when it was read: its metadata and a hash of the bytes parsed.
///
/// Metadata alone is not enough: timestamps are coarse (a clock tick), so two saves
/// within one tick, of the same length, look the same. As git does for its index,
/// the metadata is trusted only when the file had been quiet for a while when it was
/// read; otherwise the bytes are hashed again and compared. Hashing is far cheaper
/// than parsing, and for a file that has been quiet a while even that is skipped.
#[derive(Clone, Debug)]
pub struct Stamp {
    pub path: PathBuf,
    meta: Option<Meta>,
    hash: u64,
    /// When the metadata was taken (just before reading).
    taken: std::time::SystemTime,
}

#[derive(Clone, Debug, PartialEq, Eq)]
struct Meta {
    len: u64,
    modified: Option<std::time::SystemTime>,
    #[cfg(unix)]
    ino: u64,
    #[cfg(unix)]
    ctime: (i64, i64),
}

/// A file modified less than this before it was read is compared by content.
const RACY: std::time::Duration = std::time::Duration::from_secs(2);

fn meta(path: &Path) -> Option<Meta> {
    let m = std::fs::metadata(path).ok()?;
    #[cfg(unix)]
    use std::os::unix::fs::MetadataExt;
    Some(Meta {
        len: m.len(),
        modified: m.modified().ok(),
        #[cfg(unix)]
        ino: m.ino(),
        #[cfg(unix)]
        ctime: (m.ctime(), m.ctime_nsec()),
    })
}

fn hash_bytes(bytes: &[u8]) -> u64 {
    use std::hash::{Hash, Hasher};
    let mut h = std::collections::hash_map::DefaultHasher::new();
    bytes.hash(&mut h);
    h.finish()
}

impl Stamp {
    /// Does the file still hold what was parsed?
    pub fn still_valid(&self) -> bool {
        let now = meta(&self.path);
        if now.is_none() || now != self.meta {
            return false;
        }
        let quiet = self
            .meta
            .as_ref()
            .and_then(|m| m.modified)
            .and_then(|m| self.taken.duration_since(m).ok())
            .is_some_and(|d| d > RACY);
        quiet || std::fs::read(&self.path).is_ok_and(|b| hash_bytes(&b) == self.hash)
    }
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
    let mut st = State {
        sink,
        files: Vec::new(),
        stamps: Vec::new(),
        errors: Vec::new(),
    };
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
    let mut st = State {
        sink: &mut sink,
        files: Vec::new(),
        stamps: Vec::new(),
        errors: Vec::new(),
    };
    st.read_text(text, path, origin.clone(), None, 0);
    let (files, mut errors) = (st.files, st.errors);
    if errors.is_empty() {
        Ok(Parsed { records, files })
    } else {
        errors.sort();
        Err(errors)
    }
}

struct State<'a> {
    sink: &'a mut dyn FnMut(Located),
    files: Vec<PathBuf>,
    stamps: Vec<Stamp>,
    errors: Vec<ZoneError>,
}

/// A logical entry: one record or directive, possibly spanning lines.
struct Entry {
    line: usize,
    /// Began with white space: the owner is the previous record's.
    inherits_owner: bool,
    text: String,
}

impl State<'_> {
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
        // Stamp from the bytes actually parsed: a save racing with this read shows
        // up as a changed file at the next reload, never as a stale "unchanged".
        let taken = std::time::SystemTime::now();
        let before = meta(path);
        let read = std::fs::read(path).and_then(|bytes| {
            let hash = hash_bytes(&bytes);
            String::from_utf8(bytes)
                .map(|text| (text, hash))
                .map_err(|_| std::io::Error::other("not UTF-8 text"))
        });
        match read {
            Ok((text, hash)) => {
                self.stamps.push(Stamp {
                    path: path.to_path_buf(),
                    meta: before,
                    hash,
                    taken,
                });
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
        let file = Arc::new(path.to_path_buf());
        let mut origin = origin;
        let mut default_ttl = ttl;
        let mut last_ttl: Option<u32> = None;
        let mut owner: Option<Name> = None;

        let (entries, split_errors) = split_entries(text);
        for (line, msg) in split_errors {
            self.err(path, line, msg);
        }
        for entry in entries {
            let line = entry.line;
            let body = entry.text.trim();
            if let Some(rest) = body.strip_prefix('$') {
                let mut words = rest.split_whitespace();
                let directive = words.next().unwrap_or("").to_ascii_uppercase();
                let args: Vec<&str> = words.collect();
                match directive.as_str() {
                    "ORIGIN" => match args.as_slice() {
                        [name] => match Name::parse(name, Some(&origin)) {
                            Ok(mut n) => {
                                n.set_fqdn(true);
                                origin = n;
                            }
                            Err(e) => self.err(path, line, format!("$ORIGIN {name}: {e}")),
                        },
                        _ => self.err(path, line, "$ORIGIN takes exactly one name"),
                    },
                    "TTL" => match args.as_slice() {
                        [t] => match parse_ttl(t) {
                            Ok(t) => default_ttl = Some(t),
                            Err(e) => self.err(path, line, format!("$TTL {t}: {e}")),
                        },
                        _ => self.err(path, line, "$TTL takes exactly one value"),
                    },
                    "INCLUDE" => {
                        if depth >= MAX_INCLUDE_DEPTH {
                            self.err(path, line, "$INCLUDE nested too deeply (a loop?)");
                            continue;
                        }
                        let (file_arg, inc_origin) = match args.as_slice() {
                            [f] => (*f, origin.clone()),
                            [f, o] => match Name::parse(o, Some(&origin)) {
                                Ok(mut n) => {
                                    n.set_fqdn(true);
                                    (*f, n)
                                }
                                Err(e) => {
                                    self.err(path, line, format!("$INCLUDE origin {o}: {e}"));
                                    continue;
                                }
                            },
                            _ => {
                                self.err(
                                    path,
                                    line,
                                    "$INCLUDE takes a file and an optional origin",
                                );
                                continue;
                            }
                        };
                        let inc = path.parent().unwrap_or(Path::new(".")).join(file_arg);
                        // RFC 1035 §5.1: the included file's $ORIGIN does not leak back.
                        self.read_file(
                            &inc,
                            inc_origin,
                            default_ttl.or(last_ttl),
                            depth + 1,
                            Some((path, line)),
                        );
                    }
                    _ => self.err(path, line, format!("unknown directive ${directive}")),
                }
                continue;
            }

            // A record. Give hickory an owner, origin and default TTL it cannot get wrong.
            let owner_text = if entry.inherits_owner {
                match &owner {
                    Some(o) => format!("{o} "),
                    None => {
                        self.err(
                            path,
                            line,
                            "record has no owner name and there is no previous record",
                        );
                        continue;
                    }
                }
            } else {
                String::new()
            };
            let ttl_for_entry = default_ttl.or(last_ttl).unwrap_or(3600);
            let body = expand_at(body, &origin, !entry.inherits_owner);
            let synthetic = format!("$TTL {ttl_for_entry}\n{owner_text}{body}\n");
            let parsed = Parser::new(synthetic, None, Some(origin.clone())).parse();
            match parsed {
                Err(e) => {
                    let msg = e.to_string();
                    self.err(path, line, clean_hickory_message(&msg, &body));
                }
                Ok((_, sets)) => {
                    let records: Vec<Record> = sets
                        .values()
                        .flat_map(|s| s.records_without_rrsigs().cloned())
                        .collect();
                    if records.is_empty() {
                        self.err(path, line, format!("no record type in {body:?}"));
                        continue;
                    }
                    for r in records {
                        if r.dns_class != DNSClass::IN {
                            self.err(
                                path,
                                line,
                                format!("class {} is not served (only IN)", r.dns_class),
                            );
                            continue;
                        }
                        owner = Some(r.name.clone());
                        if default_ttl.is_none() {
                            last_ttl = Some(r.ttl);
                        }
                        (self.sink)(Located {
                            record: r,
                            file: file.clone(),
                            line,
                        });
                    }
                }
            }
        }
    }
}

/// RFC 1035 §5.1: a free-standing `@` means the current origin, in RDATA as well
/// as for the owner; hickory's parser knows it only as an owner. Replaces every
/// unquoted `@` token after the owner with the origin.
fn expand_at<'a>(body: &'a str, origin: &Name, has_owner: bool) -> std::borrow::Cow<'a, str> {
    if !body.contains('@') {
        return std::borrow::Cow::Borrowed(body);
    }
    let mut out = String::with_capacity(body.len() + 16);
    let mut token = String::new();
    let mut in_quote = false;
    let mut seen_tokens = 0usize;
    let flush = |token: &mut String, out: &mut String, seen: &mut usize| {
        if token.is_empty() {
            return;
        }
        let is_owner = has_owner && *seen == 0;
        if token == "@" && !is_owner {
            out.push_str(&origin.to_string());
        } else {
            out.push_str(token);
        }
        token.clear();
        *seen += 1;
    };
    let mut chars = body.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => {
                token.push(c);
                if let Some(n) = chars.next() {
                    token.push(n);
                }
            }
            '"' => {
                in_quote = !in_quote;
                token.push(c);
            }
            c if c.is_whitespace() && !in_quote => {
                flush(&mut token, &mut out, &mut seen_tokens);
                out.push(c);
            }
            c => token.push(c),
        }
    }
    flush(&mut token, &mut out, &mut seen_tokens);
    std::borrow::Cow::Owned(out)
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

/// Splits master-file text into logical entries. Handles quotes, `\` escapes,
/// `;` comments and parentheses spanning lines. A broken entry (an unterminated
/// string, a stray `)`) is reported and skipped, and splitting goes on at the next
/// line, so one mistake does not hide the others.
fn split_entries(text: &str) -> (Vec<Entry>, Vec<(usize, String)>) {
    let mut entries = Vec::new();
    let mut errors = Vec::new();
    let mut cur = String::new();
    let mut start_line = 1;
    let mut line = 1;
    let mut depth = 0usize;
    let mut paren_line = 0;
    let mut in_quote = false;
    let mut in_comment = false;
    let mut broken = false;
    let mut inherits = false;
    let mut at_line_start = true;
    let mut chars = text.chars().peekable();

    while let Some(c) = chars.next() {
        if at_line_start && depth == 0 {
            start_line = line;
            inherits = c == ' ' || c == '\t';
            at_line_start = false;
        }
        if in_comment {
            if c == '\n' {
                in_comment = false;
            } else {
                continue;
            }
        }
        if broken && c != '\n' {
            continue;
        }
        match c {
            '\\' => {
                cur.push(c);
                if let Some(n) = chars.next() {
                    if n == '\n' {
                        line += 1;
                    }
                    cur.push(n);
                }
            }
            '"' => {
                in_quote = !in_quote;
                cur.push(c);
            }
            '\n' if in_quote => {
                errors.push((line, "unterminated quoted string".to_string()));
                // Drop the entry and start afresh on the next line.
                in_quote = false;
                depth = 0;
                line += 1;
                cur.clear();
                at_line_start = true;
            }
            _ if in_quote => cur.push(c),
            ';' => in_comment = true,
            '(' => {
                if depth == 0 {
                    paren_line = line;
                }
                depth += 1;
                cur.push(' ');
            }
            ')' => {
                if depth == 0 {
                    errors.push((line, "')' without '('".to_string()));
                    broken = true;
                    continue;
                }
                depth -= 1;
                cur.push(' ');
            }
            '\n' => {
                line += 1;
                if depth == 0 {
                    if !broken && !cur.trim().is_empty() {
                        entries.push(Entry {
                            line: start_line,
                            inherits_owner: inherits,
                            text: std::mem::take(&mut cur),
                        });
                    }
                    cur.clear();
                    broken = false;
                    at_line_start = true;
                } else {
                    cur.push(' ');
                }
            }
            '\r' => {}
            _ => cur.push(c),
        }
    }
    if in_quote {
        errors.push((line, "unterminated quoted string".to_string()));
    } else if depth > 0 {
        errors.push((paren_line, "'(' is never closed".to_string()));
    } else if !broken && !cur.trim().is_empty() {
        entries.push(Entry {
            line: start_line,
            inherits_owner: inherits,
            text: cur,
        });
    }
    (entries, errors)
}

#[cfg(test)]
mod tests {
    use super::*;
    use hickory_proto::rr::RecordType;

    fn origin() -> Name {
        Name::from_ascii("geek.").unwrap()
    }

    #[test]
    fn parses_multiline_soa_and_inherited_owner() {
        let text = "$TTL 300\n@ IN SOA ns1 host ( 1 ; serial\n 3600 600 86400 300 )\n  IN NS ns1\nns1 A 127.0.0.1\n    AAAA ::1\n";
        let p = read_str(text, Path::new("geek.zone"), &origin()).unwrap();
        let types: Vec<_> = p
            .records
            .iter()
            .map(|l| (l.record.record_type(), l.line))
            .collect();
        assert_eq!(
            types,
            vec![
                (RecordType::SOA, 2),
                (RecordType::NS, 4),
                (RecordType::A, 5),
                (RecordType::AAAA, 6)
            ]
        );
        assert_eq!(
            p.records[3].record.name,
            Name::from_ascii("ns1.geek.").unwrap()
        );
        assert!(p.records.iter().all(|l| l.record.ttl == 300));
    }

    #[test]
    fn record_without_type_is_an_error_with_its_line() {
        let text = "$TTL 300\nwww 60 IN 192.0.2.1\nok A 192.0.2.2\n";
        let e = read_str(text, Path::new("geek.zone"), &origin()).unwrap_err();
        assert_eq!(e.len(), 1);
        assert_eq!(e[0].line, 2, "{}", e[0]);
    }

    #[test]
    fn reports_every_error() {
        let text = "$TTL 300\na A 999.1.1.1\nb A 192.0.2.1\nc MX nope\n$BOGUS x\n";
        let e = read_str(text, Path::new("z"), &origin()).unwrap_err();
        let lines: Vec<_> = e.iter().map(|e| e.line).collect();
        assert_eq!(lines, vec![2, 4, 5], "{e:?}");
    }

    #[test]
    fn unclosed_paren_points_at_its_line() {
        let e = read_str("$TTL 1\n@ SOA a b ( 1 2 3 4 5\n", Path::new("z"), &origin()).unwrap_err();
        assert_eq!(e[0].line, 2);
    }

    #[test]
    fn ttl_inherits_from_previous_record_without_dollar_ttl() {
        let p = read_str(
            "a 42 A 192.0.2.1\nb A 192.0.2.2\n",
            Path::new("z"),
            &origin(),
        )
        .unwrap();
        assert_eq!(p.records[1].record.ttl, 42);
    }

    // Mutated zone text (bytes replaced, lines cut, quotes and parentheses thrown in)
    // must come back as records or as errors with a line, never as a panic.
    #[test]
    fn mutated_zone_text_never_panics() {
        let base = "$TTL 300\n@ SOA ns1 host ( 1 3600 600 86400 60 )\n@ NS ns1\nns1 A 192.0.2.1\n\
                    www AAAA 2001:db8::1\nmx MX 10 mail\ntxt TXT \"a b\" \"c\"\nsrv SRV 1 2 3 t\n\
                    $ORIGIN sub.geek.\nx CNAME y\n";
        let specials = b"()\";\\$@*. \n\t0123456789abcAZ:/-";
        let mut state: u64 = 0x2545_F491_4F6C_DD1D;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        for _ in 0..3000 {
            let mut bytes = base.as_bytes().to_vec();
            for _ in 0..(next() % 6 + 1) {
                let at = (next() as usize) % bytes.len();
                match next() % 3 {
                    0 => bytes[at] = specials[(next() as usize) % specials.len()],
                    1 => {
                        bytes.remove(at);
                    }
                    _ => bytes.insert(at, specials[(next() as usize) % specials.len()]),
                }
            }
            let text = String::from_utf8_lossy(&bytes);
            match read_str(&text, Path::new("fuzz.zone"), &origin()) {
                // Whatever parsed must also build (or be refused) without a panic.
                Ok(parsed) => {
                    if let Err(errors) = crate::zone::Zone::build(&origin(), parsed) {
                        assert!(errors.iter().all(|e| e.line >= 1));
                    }
                }
                Err(errors) => assert!(errors.iter().all(|e| e.line >= 1)),
            }
        }
    }

    #[test]
    fn at_in_rdata_is_the_origin() {
        let text = "$TTL 300\n@ MX 10 @\nalias CNAME @\nt TXT \"@\"\n  NS @\n";
        let p = read_str(text, Path::new("z"), &origin()).unwrap();
        let got: Vec<String> = p
            .records
            .iter()
            .map(|l| format!("{} {}", l.record.name, l.record.data))
            .collect();
        assert_eq!(
            got,
            vec![
                "geek. 10 geek.",
                "alias.geek. geek.",
                "t.geek. @",
                "t.geek. geek."
            ]
        );
    }

    #[test]
    fn byte_order_mark_is_ignored() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("geek.zone");
        std::fs::write(&f, "\u{feff}$TTL 300\r\n@ A 192.0.2.1\r\n").unwrap();
        let p = read(&f, &origin()).unwrap();
        assert_eq!(p.records.len(), 1);
    }
}
