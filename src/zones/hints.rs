//! Root hints: the NS names and addresses a `hints` root starts iterating from.
//!
//! `hints = "builtin"` is IANA's `named.root` compiled into the binary; a path takes
//! any file in the same RFC 1035 format (OpenNIC's `db.root`, or a test world's).

use std::net::IpAddr;
use std::path::Path;

use hickory_proto::rr::{Name, RData, RecordType};

use super::problem::ZoneError;
use super::reader;
use crate::config::Hints;

/// IANA's root hints, as published (see the file's header for its version).
pub const BUILTIN_NAMED_ROOT: &str = include_str!("named.root");

/// One root server: its name and its addresses.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RootServer {
    pub name: Name,
    pub addrs: Vec<IpAddr>,
}

/// Reads the hints; errors carry file and line.
pub fn load(hints: &Hints) -> Result<Vec<RootServer>, Vec<ZoneError>> {
    match hints {
        Hints::Builtin => parse(BUILTIN_NAMED_ROOT, Path::new("<builtin named.root>")),
        Hints::File(p) => {
            let text = std::fs::read_to_string(p)
                .map_err(|e| vec![ZoneError::error(p, 1, format!("cannot read hints: {e}"))])?;
            parse(&text, p)
        }
    }
}

/// Parses hints text: the NS records at `.` and the addresses of their targets.
pub fn parse(text: &str, path: &Path) -> Result<Vec<RootServer>, Vec<ZoneError>> {
    let parsed = reader::read_str(text, path, &Name::root())?;
    let mut servers: Vec<RootServer> = Vec::new();
    for l in &parsed.records {
        if l.record.record_type() == RecordType::NS
            && l.record.name.is_root()
            && let RData::NS(ns) = &l.record.data
            && !servers.iter().any(|s| s.name == ns.0)
        {
            servers.push(RootServer {
                name: ns.0.clone(),
                addrs: Vec::new(),
            });
        }
    }
    for l in &parsed.records {
        let ip = match &l.record.data {
            RData::A(a) => IpAddr::V4(a.0),
            RData::AAAA(a) => IpAddr::V6(a.0),
            _ => continue,
        };
        if let Some(s) = servers.iter_mut().find(|s| s.name == l.record.name) {
            s.addrs.push(ip);
        }
    }
    servers.retain(|s| !s.addrs.is_empty());
    if servers.is_empty() {
        return Err(vec![ZoneError::error(
            path,
            1,
            "no root server with an address (want \". NS name\" and \"name A addr\")",
        )]);
    }
    Ok(servers)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtin_has_thirteen_letters() {
        let s = load(&Hints::Builtin).unwrap();
        assert_eq!(s.len(), 13);
        assert_eq!(s[0].name, Name::from_ascii("a.root-servers.net.").unwrap());
        assert!(s.iter().all(|s| s.addrs.len() == 2));
    }

    // Hints in OpenNIC's db.root layout (comments, "IN", ";;"-disabled servers, a
    // TTL per record): every NS at "." that has an address is a root server, with
    // all its A and AAAA records, in file order; an NS name listed twice counts once;
    // one without any address is left out (there is nothing to ask); commented-out
    // servers are not servers. The fixture lives in the repository, so this always runs.
    #[test]
    fn opennic_hints_parse() {
        let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/hints/opennic-db.root");
        let text = std::fs::read_to_string(&p).unwrap();
        let s = parse(&text, &p).unwrap();
        let got: Vec<(String, Vec<String>)> = s
            .iter()
            .map(|s| {
                (
                    s.name.to_string(),
                    s.addrs.iter().map(ToString::to_string).collect(),
                )
            })
            .collect();
        let want: Vec<(String, Vec<String>)> = [
            ("ns2.opennic.glue.", vec!["192.0.2.2", "2001:db8::2"]),
            ("ns5.opennic.glue.", vec!["198.51.100.5"]),
            ("ns6.opennic.glue.", vec!["2001:db8::6"]),
            ("ns8.opennic.glue.", vec!["203.0.113.8"]),
        ]
        .into_iter()
        .map(|(n, a)| (n.to_string(), a.into_iter().map(String::from).collect()))
        .collect();
        assert_eq!(got, want);
        // Through `load`, as a config's `hints = "PATH"` reads it.
        assert_eq!(load(&Hints::File(p)).unwrap(), s);
    }
}
