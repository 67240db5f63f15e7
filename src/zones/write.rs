//! Writing a zone as a master file (RFC 1035 §5), for zones that came by
//! transfer and are kept on disk: [`super::read`] reads the text back to the
//! same records (owner, type, class, TTL, RDATA).
//!
//! hickory's `Display` of RDATA is not a master-file syntax for every type (TXT
//! loses its quotes and bytes, CAA and NAPTR do not escape quotes, types hickory
//! has no name for print as "Unknown"), so: the common types are written from
//! their fields; TXT, ZONEMD and DNAME here; the others in hickory's text when
//! our reader reads that text back to the same RDATA, else in RFC 3597's generic
//! form (`TYPEnnn \# len hex`), which the reader takes for any type.

use std::fmt::Write as _;
use std::io::Write as _;
use std::path::Path;

use hickory_proto::rr::{Name, RData, Record, RecordType};

use super::dname::dname_target;
use super::wire;

/// The zone in master-file form (RFC 1035 §5) that `crate::zones::read` reads back to the same
/// records: `$ORIGIN`, the SOA first, then owners in canonical order; every type our reader takes.
/// `header_comment` goes first, each of its lines as a `;` comment.
pub fn zone_text(origin: &Name, records: &[Record], header_comment: &str) -> String {
    let mut out = String::with_capacity(records.len() * 64 + 256);
    for line in header_comment.lines() {
        let _ = writeln!(out, "; {line}");
    }
    let _ = writeln!(out, "$ORIGIN {}", fqdn(origin));
    let mut order: Vec<&Record> = records.iter().collect();
    // The apex SOA first (RFC 1035 §5.2 wants it there), then canonical order
    // (RFC 4034 §6.1: hickory's `Name` order), types by number; stable, so an
    // RRset keeps its order.
    let is_soa = |r: &Record| r.record_type() == RecordType::SOA && r.name == *origin;
    order.sort_by(|a, b| {
        is_soa(b)
            .cmp(&is_soa(a))
            .then_with(|| a.name.cmp(&b.name))
            .then_with(|| u16::from(a.record_type()).cmp(&u16::from(b.record_type())))
    });
    let mut owner_before: Option<&Name> = None;
    for r in order {
        // The owner is written again only when it changes (a blank owner is the
        // one before, RFC 1035 §5.1).
        if owner_before.is_some_and(|o| o.eq_case(&r.name)) {
            out.push('\t');
        } else {
            out.push_str(&owner(&r.name, origin));
        }
        owner_before = Some(&r.name);
        let _ = write!(out, "\t{}\tIN\t", r.ttl);
        rdata_text(r, &mut out);
        out.push('\n');
    }
    out
}

/// Writes it atomically: a temp file that starts with a dot in the same folder (the zones watcher
/// ignores dotfiles), fsync, rename over `path`.
pub fn write_zone(
    path: &Path,
    origin: &Name,
    records: &[Record],
    header_comment: &str,
) -> std::io::Result<()> {
    let text = zone_text(origin, records, header_comment);
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    let file_name = path.file_name().ok_or_else(|| {
        std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            format!("{}: not a file name", path.display()),
        )
    })?;
    let tmp = dir.join(format!(
        ".{}.{}.tmp",
        file_name.to_string_lossy(),
        std::process::id()
    ));
    let written = (|| {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(text.as_bytes())?;
        f.sync_all()?;
        std::fs::rename(&tmp, path)?;
        // The rename itself is durable once the folder is.
        std::fs::File::open(dir)?.sync_all()
    })();
    if written.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    written.map_err(|e| std::io::Error::new(e.kind(), format!("{}: {e}", path.display())))
}

/// `name` as written, absolute (a trailing dot).
fn fqdn(name: &Name) -> String {
    let mut n = name.clone();
    n.set_fqdn(true);
    n.to_string()
}

/// An owner relative to `origin` when below it (`@` for the origin), else absolute.
fn owner(name: &Name, origin: &Name) -> String {
    if name == origin {
        return "@".into();
    }
    if !origin.zone_of(name) {
        return fqdn(name);
    }
    // Labels, `*` included (`num_labels` leaves a wildcard's out).
    let keep = name.iter().count().saturating_sub(origin.iter().count());
    match Name::from_labels(name.iter().take(keep)) {
        Ok(mut rel) => {
            rel.set_fqdn(false);
            rel.to_string()
        }
        Err(_) => fqdn(name),
    }
}

/// The type and RDATA of `r`, as our reader reads them.
fn rdata_text(r: &Record, out: &mut String) {
    let rt = r.record_type();
    let mut presented = |name: &str, text: &str| {
        let _ = write!(out, "{name}\t{text}");
    };
    match &r.data {
        RData::A(_)
        | RData::AAAA(_)
        | RData::NS(_)
        | RData::CNAME(_)
        | RData::PTR(_)
        | RData::MX(_)
        | RData::SOA(_)
        | RData::SRV(_) => presented(&rt.to_string(), &r.data.to_string()),
        RData::TXT(t) => {
            let strings: Option<Vec<String>> = t.txt_data.iter().map(|s| quoted(s)).collect();
            match strings {
                Some(s) => presented("TXT", &s.join(" ")),
                None => generic_of(r, out),
            }
        }
        RData::Unknown { code, rdata } if *code == RecordType::DNAME => {
            match dname_target(&r.data) {
                Some(t) => presented("DNAME", &fqdn(&t)),
                None => generic(*code, &rdata.anything, out),
            }
        }
        RData::Unknown { code, rdata } if u16::from(*code) == 63 => match zonemd(&rdata.anything) {
            Some(text) => presented("ZONEMD", &text),
            None => generic(*code, &rdata.anything, out),
        },
        _ => {
            let text = format!("{}\t{}", rt, r.data);
            if reads_back(r, &text) {
                out.push_str(&text);
            } else {
                generic_of(r, out);
            }
        }
    }
}

/// `r`'s type and RDATA in RFC 3597's generic form.
fn generic_of(r: &Record, out: &mut String) {
    let mut bytes = Vec::new();
    match wire::encode_rdata(&r.data, &mut bytes) {
        Ok(()) => generic(r.record_type(), &bytes, out),
        // Nothing the reader or a transfer gave fails to encode; should it,
        // the file says so rather than drop the record silently.
        Err(e) => {
            let _ = write!(out, "; cannot write {}: {e}", r.record_type());
        }
    }
}

/// Whether the reader gives back `r`'s RDATA from `type_and_rdata`.
fn reads_back(r: &Record, type_and_rdata: &str) -> bool {
    if type_and_rdata.contains('\n') || type_and_rdata.contains("Unknown") {
        return false;
    }
    let line = format!("@ {} IN {type_and_rdata}\n", r.ttl);
    super::read_str(&line, Path::new("(writer check)"), &r.name)
        .ok()
        .is_some_and(|p| p.records.len() == 1 && p.records[0].record.data == r.data)
}

/// RFC 3597 §5: `TYPEnnn \# len hex`.
fn generic(rt: RecordType, bytes: &[u8], out: &mut String) {
    let _ = write!(out, "TYPE{}\t\\# {}", u16::from(rt), bytes.len());
    for chunk in bytes.chunks(32) {
        out.push(' ');
        out.push_str(&data_encoding::HEXUPPER.encode(chunk));
    }
}

/// ZONEMD (RFC 8976 §2.3): serial, scheme, hash algorithm, digest in hex.
fn zonemd(bytes: &[u8]) -> Option<String> {
    let (head, digest) = bytes.split_at_checked(6)?;
    if digest.len() < 12 {
        return None;
    }
    let serial = u32::from_be_bytes([head[0], head[1], head[2], head[3]]);
    Some(format!(
        "{serial} {} {} {}",
        head[4],
        head[5],
        data_encoding::HEXUPPER.encode(digest)
    ))
}

/// A character-string (RFC 1035 §5.1) in quotes, `"` and `\` escaped; `None`
/// when it is not UTF-8 text without control characters: the reader (hickory's
/// TXT parser) reads `\DDD` escapes of bytes over 127 as other characters, so
/// such strings go in the generic form.
fn quoted(s: &[u8]) -> Option<String> {
    let text = std::str::from_utf8(s).ok()?;
    if text.chars().any(char::is_control) {
        return None;
    }
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in text.chars() {
        if c == '"' || c == '\\' {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('"');
    Some(out)
}

#[cfg(test)]
#[path = "write_tests.rs"]
mod tests;
