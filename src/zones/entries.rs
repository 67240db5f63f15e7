//! Master-file text as logical entries, and the token-level rewrites of one entry
//! that hickory's record parser needs (RFC 1035 §5.1).
//!
//! An entry is one record or directive: parenthesised lines joined, comments
//! dropped, and the line it starts on kept for messages.

use std::borrow::Cow;
use std::ops::Range;
use std::str::FromStr;

use hickory_proto::rr::{DNSClass, Name};
use hickory_proto::serialize::txt::parse_ttl;

/// A logical entry: one record or directive, possibly spanning lines.
pub(super) struct Entry {
    pub(super) line: usize,
    /// Began with white space: the owner is the previous record's.
    pub(super) inherits_owner: bool,
    pub(super) text: String,
}

/// A line number and what is wrong there.
pub(super) type SplitError = (usize, String);

/// Splits master-file text into logical entries and hands each to `sink` as it
/// ends (one buffer serves them all, so a large file is never held twice).
/// Handles quotes, `\` escapes, `;` comments and parentheses spanning lines. A
/// broken entry (an unterminated string, a stray `)`) is reported and skipped,
/// and splitting goes on at the next line, so one mistake does not hide the
/// others.
pub(super) fn for_each_entry(text: &str, sink: &mut dyn FnMut(&Entry)) -> Vec<SplitError> {
    let mut s = Splitter::new(sink);
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        s.feed(c, &mut chars);
    }
    s.finish()
}

/// [`for_each_entry`], collected.
#[cfg(test)]
pub(super) fn split_entries(text: &str) -> (Vec<Entry>, Vec<SplitError>) {
    let mut entries = Vec::new();
    let errors = for_each_entry(text, &mut |e| {
        entries.push(Entry {
            line: e.line,
            inherits_owner: e.inherits_owner,
            text: e.text.clone(),
        })
    });
    (entries, errors)
}

/// The state of [`for_each_entry`] between two characters.
struct Splitter<'s> {
    sink: &'s mut dyn FnMut(&Entry),
    errors: Vec<SplitError>,
    /// The entry being collected.
    cur: String,
    start_line: usize,
    line: usize,
    /// Open parentheses.
    depth: usize,
    /// Where the outermost open parenthesis is (for "never closed").
    paren_line: usize,
    in_quote: bool,
    in_comment: bool,
    /// The rest of this line is skipped (after a stray `)`).
    broken: bool,
    inherits: bool,
    at_line_start: bool,
}

impl<'s> Splitter<'s> {
    fn new(sink: &'s mut dyn FnMut(&Entry)) -> Splitter<'s> {
        Splitter {
            sink,
            errors: Vec::new(),
            cur: String::new(),
            start_line: 1,
            line: 1,
            depth: 0,
            paren_line: 0,
            in_quote: false,
            in_comment: false,
            broken: false,
            inherits: false,
            at_line_start: true,
        }
    }

    /// Hands the entry collected to the sink, and keeps its buffer.
    fn emit(&mut self) {
        let entry = Entry {
            line: self.start_line,
            inherits_owner: self.inherits,
            text: std::mem::take(&mut self.cur),
        };
        (self.sink)(&entry);
        self.cur = entry.text;
        self.cur.clear();
    }

    fn feed(&mut self, c: char, rest: &mut std::str::Chars<'_>) {
        if self.at_line_start && self.depth == 0 {
            self.start_line = self.line;
            self.inherits = c == ' ' || c == '\t';
            self.at_line_start = false;
        }
        if self.in_comment {
            if c != '\n' {
                return;
            }
            self.in_comment = false;
        }
        if self.broken && c != '\n' {
            return;
        }
        match c {
            '\\' => {
                self.cur.push(c);
                if let Some(n) = rest.next() {
                    if n == '\n' {
                        self.line += 1;
                    }
                    self.cur.push(n);
                }
            }
            '"' => {
                self.in_quote = !self.in_quote;
                self.cur.push(c);
            }
            '\n' if self.in_quote => self.unterminated_quote(),
            _ if self.in_quote => self.cur.push(c),
            ';' => self.in_comment = true,
            '(' => {
                if self.depth == 0 {
                    self.paren_line = self.line;
                }
                self.depth += 1;
                self.cur.push(' ');
            }
            ')' => self.close_paren(),
            '\n' => self.end_of_line(),
            '\r' => {}
            _ => self.cur.push(c),
        }
    }

    /// A line ended inside quotes: drop the entry and start afresh on the next line.
    fn unterminated_quote(&mut self) {
        self.errors
            .push((self.line, "unterminated quoted string".to_string()));
        self.in_quote = false;
        self.depth = 0;
        self.line += 1;
        self.cur.clear();
        self.at_line_start = true;
    }

    fn close_paren(&mut self) {
        if self.depth == 0 {
            self.errors.push((self.line, "')' without '('".to_string()));
            self.broken = true;
            return;
        }
        self.depth -= 1;
        self.cur.push(' ');
    }

    fn end_of_line(&mut self) {
        self.line += 1;
        if self.depth > 0 {
            self.cur.push(' ');
            return;
        }
        if !self.broken && !self.cur.trim().is_empty() {
            self.emit();
        }
        self.cur.clear();
        self.broken = false;
        self.at_line_start = true;
    }

    fn finish(mut self) -> Vec<SplitError> {
        if self.in_quote {
            self.errors
                .push((self.line, "unterminated quoted string".to_string()));
        } else if self.depth > 0 {
            self.errors
                .push((self.paren_line, "'(' is never closed".to_string()));
        } else if !self.broken && !self.cur.trim().is_empty() {
            self.emit();
        }
        self.errors
    }
}

/// Where each token of an entry is: white space separates them, except inside
/// quotes or after a `\`.
fn token_ranges(body: &str) -> Vec<Range<usize>> {
    let mut out = Vec::new();
    let mut start: Option<usize> = None;
    let mut in_quote = false;
    let mut escaped = false;
    for (i, c) in body.char_indices() {
        if escaped {
            escaped = false;
            continue;
        }
        if c.is_whitespace() && !in_quote {
            if let Some(s) = start.take() {
                out.push(s..i);
            }
            continue;
        }
        start.get_or_insert(i);
        match c {
            '\\' => escaped = true,
            '"' => in_quote = !in_quote,
            _ => {}
        }
    }
    if let Some(s) = start {
        out.push(s..body.len());
    }
    out
}

/// The tokens of an entry and which of them is the record type, found the way
/// hickory's parser finds it: after the owner (unless the entry inherits it),
/// skip every token that reads as a TTL or a class; the next one is the type.
fn type_at(body: &str, has_owner: bool) -> Option<(Vec<Range<usize>>, usize)> {
    let tokens = token_ranges(body);
    let skip = usize::from(has_owner);
    let at = tokens.iter().skip(skip).position(|r| {
        let t = &body[r.clone()];
        parse_ttl(t).is_err() && DNSClass::from_str(&t.to_ascii_uppercase()).is_err()
    })? + skip;
    Some((tokens, at))
}

/// An entry cut at its record type: the owner token (when it has one), the TTL
/// and class tokens, the type and the RDATA tokens.
pub(super) struct Split<'a> {
    pub(super) owner: Option<&'a str>,
    pub(super) ttl_class: Vec<&'a str>,
    pub(super) rtype: &'a str,
    pub(super) rdata: Vec<&'a str>,
}

/// `body` cut at its record type ([`type_at`]); `None` when it has none.
pub(super) fn split_at_type(body: &str, has_owner: bool) -> Option<Split<'_>> {
    let (tokens, at) = type_at(body, has_owner)?;
    let tok = |r: &Range<usize>| &body[r.clone()];
    Some(Split {
        owner: has_owner.then(|| tok(&tokens[0])),
        ttl_class: tokens[usize::from(has_owner)..at].iter().map(tok).collect(),
        rtype: tok(&tokens[at]),
        rdata: tokens[at + 1..].iter().map(tok).collect(),
    })
}

/// An entry with its record type read as another, and how many RDATA tokens
/// follow the type.
pub(super) struct Retyped {
    pub(super) text: String,
    pub(super) rdata_tokens: usize,
}

/// If the entry's record type is `from`, the entry with `to` in its place.
///
/// The type is found the way hickory's parser finds it: after the owner (unless
/// the entry inherits it), skip every token that reads as a TTL or a class; the
/// next one is the type. Only that token changes, byte for byte.
pub(super) fn retype(body: &str, has_owner: bool, from: &str, to: &str) -> Option<Retyped> {
    let (tokens, at) = type_at(body, has_owner)?;
    let range = tokens[at].clone();
    if !body[range.clone()].eq_ignore_ascii_case(from) {
        return None;
    }
    Some(Retyped {
        text: format!("{}{to}{}", &body[..range.start], &body[range.end..]),
        rdata_tokens: tokens.len() - at - 1,
    })
}

/// RFC 1035 §5.1: a free-standing `@` means the current origin, in RDATA as well
/// as for the owner; hickory's parser knows it only as an owner. Replaces every
/// unquoted `@` token after the owner with the origin.
pub(super) fn expand_at<'a>(body: &'a str, origin: &Name, has_owner: bool) -> Cow<'a, str> {
    if !body.contains('@') {
        return Cow::Borrowed(body);
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
    Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_keep_their_first_line() {
        let (e, errors) = split_entries("a A 1.2.3.4 ; c\n\nb ( TXT\n \"x\" )\n  MX 1 m\n");
        assert!(errors.is_empty());
        let got: Vec<_> = e
            .iter()
            .map(|e| (e.line, e.inherits_owner, e.text.split_whitespace().count()))
            .collect();
        assert_eq!(got, vec![(1, false, 3), (3, false, 3), (5, true, 3)]);
    }

    #[test]
    fn broken_entries_are_reported_and_skipped() {
        let (e, errors) = split_entries("a ) A 1.2.3.4\nb \"open\nc A 1.2.3.5\nd ( A\n");
        let lines: Vec<_> = e.iter().map(|e| e.line).collect();
        assert_eq!(lines, vec![3]);
        let at: Vec<_> = errors.iter().map(|e| e.0).collect();
        assert_eq!(at, vec![1, 2, 4], "{errors:?}");
    }

    #[test]
    fn retype_finds_the_type_after_ttl_and_class() {
        let r = retype("x 300 IN dname y", true, "DNAME", "CNAME").unwrap();
        assert_eq!((r.text.as_str(), r.rdata_tokens), ("x 300 IN CNAME y", 1));
        let r = retype("IN 1h DNAME a b", false, "DNAME", "CNAME").unwrap();
        assert_eq!((r.text.as_str(), r.rdata_tokens), ("IN 1h CNAME a b", 2));
        // An owner spelled like the type is still the owner.
        let r = retype("dname CNAME y", true, "DNAME", "CNAME");
        assert!(r.is_none());
        let r = retype("a\\ b DNAME @", true, "DNAME", "CNAME").unwrap();
        assert_eq!(r.text, "a\\ b CNAME @");
    }
}
