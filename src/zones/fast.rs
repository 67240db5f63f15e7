//! Reading the common record entries straight to wire form.
//!
//! hickory's zone parser is built for a whole file: for one entry it makes a
//! lexer, a record-set map and `Name`s through IDNA, which is most of the time a
//! large zone takes to load. The entries that make up large zones (A, AAAA, NS,
//! CNAME, PTR, DNAME, MX and TXT with plain ASCII) are simple enough to read
//! here, producing exactly what hickory would; anything else (escapes, non-ASCII
//! names, other types, any doubt) returns `None` and goes to hickory, which
//! also words the errors. `reader`'s tests check both paths give the same bytes.

use std::net::{Ipv4Addr, Ipv6Addr};
use std::str::FromStr;

use hickory_proto::rr::RecordType;
use hickory_proto::serialize::txt::parse_ttl;

use super::wire::MAX_NAME;

/// What one entry says, when this module can read it.
pub(super) struct FastRecord {
    pub(super) rtype: RecordType,
    pub(super) ttl: u32,
}

/// Where an entry is read: the origin (wire form, case as written), the owner of
/// the record before (lowercased wire form, empty for none) and the TTL to use
/// when the entry has none.
pub(super) struct Context<'a> {
    pub(super) origin: &'a [u8],
    pub(super) prev_owner: &'a [u8],
    pub(super) ttl: u32,
}

/// Reads `body` (one entry, comments and parentheses gone) into `owner`
/// (lowercased wire name) and `rdata`; `None` when hickory must read it.
pub(super) fn record(
    body: &str,
    has_owner: bool,
    cx: &Context<'_>,
    owner: &mut Vec<u8>,
    rdata: &mut Vec<u8>,
) -> Option<FastRecord> {
    if !body
        .bytes()
        .all(|b| b.is_ascii_graphic() || b == b' ' || b == b'\t')
        || body.contains('\\')
    {
        return None;
    }
    let mut tokens = Tokens { rest: body };
    owner.clear();
    rdata.clear();
    if has_owner {
        push_name(tokens.bare()?, cx.origin, owner)?;
    } else if cx.prev_owner.is_empty() {
        return None;
    } else {
        owner.extend_from_slice(cx.prev_owner);
    }
    owner.make_ascii_lowercase();
    let (mut ttl, mut class) = (None, false);
    let rtype = loop {
        let t = tokens.bare()?;
        if ttl.is_none()
            && let Ok(v) = parse_ttl(t)
        {
            ttl = Some(v);
        } else if !class && t.eq_ignore_ascii_case("IN") {
            class = true;
        } else {
            break t;
        }
    };
    let rtype = rdata_of(rtype, &mut tokens, cx.origin, rdata)?;
    tokens.end()?;
    Some(FastRecord {
        rtype,
        ttl: ttl.unwrap_or(cx.ttl),
    })
}

/// Reads the RDATA of type `rtype` (as written) from `tokens`.
fn rdata_of(
    rtype: &str,
    tokens: &mut Tokens<'_>,
    origin: &[u8],
    out: &mut Vec<u8>,
) -> Option<RecordType> {
    const TYPES: [(&str, RecordType); 8] = [
        ("A", RecordType::A),
        ("AAAA", RecordType::AAAA),
        ("NS", RecordType::NS),
        ("CNAME", RecordType::CNAME),
        ("PTR", RecordType::PTR),
        ("MX", RecordType::MX),
        ("TXT", RecordType::TXT),
        ("DNAME", RecordType::DNAME),
    ];
    let (_, t) = TYPES.iter().find(|(n, _)| rtype.eq_ignore_ascii_case(n))?;
    let t = *t;
    match t {
        RecordType::A => out.extend(Ipv4Addr::from_str(tokens.bare()?).ok()?.octets()),
        RecordType::AAAA => out.extend(Ipv6Addr::from_str(tokens.bare()?).ok()?.octets()),
        RecordType::NS | RecordType::CNAME | RecordType::PTR | RecordType::DNAME => {
            push_name(tokens.bare()?, origin, out)?;
        }
        RecordType::MX => {
            let pref = u16::from_str(tokens.bare()?).ok()?;
            out.extend(pref.to_be_bytes());
            push_name(tokens.bare()?, origin, out)?;
        }
        RecordType::TXT => {
            while let Some(s) = tokens.string() {
                let s = s?;
                // Over 255 octets (or empty) is hickory's to word.
                if s.is_empty() || s.len() > 255 {
                    return None;
                }
                out.push(s.len() as u8);
                out.extend_from_slice(s.as_bytes());
            }
            if out.is_empty() {
                return None;
            }
        }
        _ => return None,
    }
    Some(t)
}

/// Appends the wire form of name `text` to `out`, relative to `origin` unless
/// it ends in a dot; `@` is the origin. Labels are read as hickory's
/// `Name::parse` reads plain ASCII: letters, digits and `-` (lowercased, as
/// IDNA maps them), `_`-labels as written, `*` alone. Anything else is `None`.
fn push_name(text: &str, origin: &[u8], out: &mut Vec<u8>) -> Option<()> {
    let start = out.len();
    if text == "@" {
        out.extend_from_slice(origin);
        return Some(());
    }
    if text == "." {
        out.push(0);
        return Some(());
    }
    let (body, fqdn) = match text.strip_suffix('.') {
        Some(b) => (b, true),
        None => (text, false),
    };
    for label in body.split('.') {
        let b = label.as_bytes();
        let lower = if b == b"*" {
            false
        } else if b.first() == Some(&b'_') {
            if !b
                .iter()
                .all(|c| c.is_ascii_alphanumeric() || *c == b'-' || *c == b'_')
            {
                return None;
            }
            false
        } else {
            if !b.iter().all(|c| c.is_ascii_alphanumeric() || *c == b'-')
                || b.get(..4).is_some_and(|p| p.eq_ignore_ascii_case(b"xn--"))
            {
                return None;
            }
            true
        };
        if b.is_empty() || b.len() > 63 {
            return None;
        }
        out.push(b.len() as u8);
        out.extend_from_slice(b);
        if lower {
            let at = out.len() - b.len();
            out[at..].make_ascii_lowercase();
        }
    }
    if fqdn {
        out.push(0);
    } else {
        out.extend_from_slice(origin);
    }
    (out.len() - start <= MAX_NAME).then_some(())
}

/// The tokens of one entry: words separated by blanks, or `"…"` strings.
struct Tokens<'a> {
    rest: &'a str,
}

impl<'a> Tokens<'a> {
    /// The next token as a string: a bare word or the inside of quotes. `None`
    /// at the end; `Some(None)` for what this module does not read.
    fn string(&mut self) -> Option<Option<&'a str>> {
        self.rest = self.rest.trim_start_matches([' ', '\t']);
        if self.rest.is_empty() {
            return None;
        }
        if let Some(q) = self.rest.strip_prefix('"') {
            let Some(end) = q.find('"') else {
                return Some(None);
            };
            let (s, after) = (&q[..end], &q[end + 1..]);
            // A quote must end its token.
            if !after.is_empty() && !after.starts_with([' ', '\t']) {
                return Some(None);
            }
            self.rest = after;
            return Some(Some(s));
        }
        Some(self.bare())
    }

    /// The next bare word; `None` at the end or for anything quoted.
    fn bare(&mut self) -> Option<&'a str> {
        self.rest = self.rest.trim_start_matches([' ', '\t']);
        let end = self.rest.find([' ', '\t']).unwrap_or(self.rest.len());
        let (word, rest) = self.rest.split_at(end);
        if word.is_empty() || word.contains('"') {
            return None;
        }
        self.rest = rest;
        Some(word)
    }

    /// `Some` when nothing is left.
    fn end(&mut self) -> Option<()> {
        self.rest
            .trim_start_matches([' ', '\t'])
            .is_empty()
            .then_some(())
    }
}
