//! The `zone` fuzz target's fixture and checks: arbitrary text as a zone file
//! through [`ZoneSet::load`] and [`altroot::check::check`].
//!
//! Shared by `fuzz/fuzz_targets/zone.rs` and the regression tests
//! (`tests/integration/fuzz_regressions.rs` includes this file).

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

use altroot::server::Proto;
use altroot::server::request::{Request, reply};
use altroot::zones::{LoadOptions, Lookup, Problem, Zone, ZoneSet, dname_target, read_serials};
use hickory_proto::op::{Message, OpCode, Query, ResponseCode};
use hickory_proto::rr::{Name, RData, RecordType};
use hickory_proto::serialize::binary::BinEncodable;

/// The names the zone file is written as (byte 0, bits 2–4): a plain alternate
/// TLD, TLDs in ICANN's root, special-use TLDs, a name that is not a TLD, an IDN.
pub const TLDS: &[&str] = &[
    "fz",
    "geek",
    "biz",
    "test",
    "localhost",
    "alt",
    "sub.fz",
    "xn--bcher-kva",
];

/// A good root zone, for inputs written beside it (it delegates `fz` and `geek`,
/// so a file for either is a TLD defined twice).
pub const ROOT_ZONE: &str = "$TTL 86400
@ IN SOA a.root-servers.alt. hostmaster.root-servers.alt. ( 1 1800 900 604800 86400 )
@ IN NS a.root-servers.alt.
a.root-servers.alt. IN A 192.0.2.53
fz. IN NS ns.fz.
ns.fz. IN A 192.0.2.54
geek. IN NS ns.example.
";

/// What an input's text follows when byte 0 has bit 7 set: a valid apex, so the
/// text only needs good records to make a zone that loads (and is served).
pub const APEX: &str =
    "$TTL 300\n@ IN SOA ns hostmaster 1 7200 900 1209600 300\n@ IN NS ns\nns IN A 192.0.2.53\n";

/// A file a zone may `$INCLUDE` (it is not a `.zone` file, so not a zone itself).
pub const INCLUDE: (&str, &str) = ("inc.txt", "www IN A 192.0.2.1\nmail IN MX 10 www\n");

/// The two configs (byte 0, bit 5): plain, and one that serves the special-use
/// TLDs on purpose.
const CONFIGS: [&str; 2] = [
    "[[root]]\nname = \"alt\"\nzones = \"zones\"\n",
    "[[root]]\nname = \"alt\"\nzones = \"zones\"\nspecial-use = [\"test\", \"invalid\", \"onion\", \"local\"]\n",
];

/// A temporary folder (one per fixture; the fuzz target keeps one per process):
/// `zones/` and the two configs.
pub struct Fixture {
    pub dir: PathBuf,
    pub zones: PathBuf,
    configs: [PathBuf; 2],
}

impl Default for Fixture {
    fn default() -> Self {
        Self::new()
    }
}

impl Drop for Fixture {
    fn drop(&mut self) {
        self.cleanup();
    }
}

impl Fixture {
    pub fn new() -> Fixture {
        static N: AtomicUsize = AtomicUsize::new(0);
        let dir = std::env::temp_dir().join(format!(
            "altroot-fuzz-zone-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        ));
        let zones = dir.join("zones");
        std::fs::create_dir_all(&zones).expect("temp zones folder");
        let configs = [0, 1].map(|i| {
            let p = dir.join(format!("altroot{i}.toml"));
            std::fs::write(&p, CONFIGS[i]).expect("write config");
            p
        });
        Fixture {
            dir,
            zones,
            configs,
        }
    }

    /// Removes the folder (the fuzz target calls this at exit).
    pub fn cleanup(&self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }

    /// One fuzz input: byte 0 says how the rest is written (bits 0–1: as
    /// `<tld>.zone`, as `root.zone`, as both, or as `<tld>.zone` beside a good
    /// `root.zone`; bits 2–4: the TLD; bit 5: the config; bit 6: a serials file
    /// as `serve` leaves it; bit 7: after [`APEX`]). Panics when a check fails.
    pub fn run(&self, data: &[u8]) {
        let Some((&sel, text)) = data.split_first() else {
            return;
        };
        self.write(sel, text);
        let config = &self.configs[usize::from(sel >> 5) & 1];
        verify(&self.zones, config);
    }

    /// Empties the zones folder and writes one input into it.
    pub fn write(&self, sel: u8, text: &[u8]) {
        let _ = std::fs::remove_dir_all(&self.zones);
        std::fs::create_dir_all(&self.zones).expect("temp zones folder");
        let put = |file: &str, bytes: &[u8]| {
            std::fs::write(self.zones.join(file), bytes).expect("write zone");
        };
        let text = match sel & 0x80 {
            0 => text.to_vec(),
            _ => [APEX.as_bytes(), text].concat(),
        };
        let text = text.as_slice();
        let tld = TLDS[usize::from(sel >> 2) & 7];
        let own = format!("{tld}.zone");
        match sel & 3 {
            0 => put(&own, text),
            1 => put("root.zone", text),
            2 => {
                put(&own, text);
                put("root.zone", text);
            }
            _ => {
                put(&own, text);
                put("root.zone", ROOT_ZONE.as_bytes());
            }
        }
        put(INCLUDE.0, INCLUDE.1.as_bytes());
        if sel & 0x40 != 0 {
            let serials = format!("# serials\n. 1000\n{tld}. 1000\n");
            put(altroot::zones::SERIALS_FILE, serials.as_bytes());
        }
    }
}

/// Loads the folder as `serve` does and runs `check` with `config`:
/// - every problem prints as one line `FILE:LINE: error|warning: message`, LINE
///   a line of FILE;
/// - every zone that loaded answers `lookup` for its apex SOA (the one SOA, with
///   the zone's serial) and apex NS, and lookups below the apex do not panic;
/// - every zone that loaded can be served: each record of its files is found by
///   `lookup` (an answer holding it, or a referral below a cut), and the answer
///   encodes as a reply that decodes to the same bytes ([`servable`]);
/// - `check` reports exactly what loading with the config's options reports, and
///   counts the zones that loaded.
pub fn verify(zones: &Path, config: &Path) {
    let (set, problems) = ZoneSet::load(zones, None, &LoadOptions::default(), true);
    for p in &problems {
        assert_prints(p);
    }
    for z in set.zones() {
        let origin = z.origin();
        match z.lookup(origin, RecordType::SOA) {
            Lookup::Answer(mut rs) => {
                // A signed zone's answer has the SOA's RRSIGs too.
                rs.retain(|r| r.record_type() != RecordType::RRSIG);
                assert_eq!(rs.len(), 1, "{origin}: apex SOA: {rs:?}");
                assert_eq!(&rs[0].name, origin, "{origin}: SOA owner");
                match &rs[0].data {
                    RData::SOA(soa) => assert_eq!(soa.serial, z.serial(), "{origin}: serial"),
                    other => panic!("{origin}: apex SOA lookup gave {other:?}"),
                }
            }
            other => panic!("{origin}: apex SOA lookup gave {other:?}"),
        }
        match z.lookup(origin, RecordType::NS) {
            Lookup::Answer(rs) => assert!(
                rs.iter()
                    .all(|r| matches!(r.record_type(), RecordType::NS | RecordType::RRSIG))
                    && rs
                        .first()
                        .is_some_and(|r| r.record_type() == RecordType::NS),
                "{origin}: apex NS: {rs:?}"
            ),
            other => panic!("{origin}: apex NS lookup gave {other:?}"),
        }
        for below in ["www", "*", "a.b.c"] {
            let Ok(q) = Name::from_ascii(below).and_then(|n| n.append_domain(origin)) else {
                continue;
            };
            for t in [
                RecordType::A,
                RecordType::CNAME,
                RecordType::DS,
                RecordType::ANY,
            ] {
                let _ = z.lookup(&q, t);
            }
        }
        servable(z);
    }

    let report = altroot::commands::check::check(Some(config));
    for p in &report.problems {
        assert_prints(p);
    }
    let cfg = altroot::config::Config::load(config).expect("fixture config");
    let special_use = cfg.roots[0].special_use.clone();
    let opts = LoadOptions {
        special_use,
        last_serials: read_serials(zones),
        secondary: false,
    };
    let (same, mut expected) = ZoneSet::load(zones, None, &opts, true);
    expected.sort();
    expected.dedup();
    assert_eq!(report.problems, expected, "check and load disagree");
    assert_eq!(report.zones, same.zones().count(), "zones counted by check");
}

/// Every record a loaded zone was read from is served: `lookup` of its owner and
/// type gives an answer holding its data (or a referral, at or below a cut), the
/// names in its data are absolute, and the answer goes through the front end's
/// encoder (`request::reply`, over TCP so nothing is cut) into a NOERROR reply
/// that parses, with every record, byte for byte.
pub fn servable(z: &Zone) {
    let origin = z.origin();
    let file = z.files.first().expect("a zone has its file");
    let parsed = match altroot::zones::read(file, origin) {
        Ok(p) => p,
        Err(e) => panic!("{origin} loaded, but reading it again fails: {e:?}"),
    };
    for l in &parsed.records {
        let r = &l.record;
        let (owner, rtype) = (&r.name, r.record_type());
        let where_ = format!("{}:{}: {owner} {rtype}", l.file.display(), l.line);
        assert!(
            origin.zone_of(owner),
            "{where_}: outside {origin}, yet loaded"
        );
        // The NSEC3 chain is no part of the zone's names: its records go out as
        // proofs of denials (`Zone::lookup_with_proof`), not as answers.
        let covered = match &r.data {
            RData::DNSSEC(hickory_proto::dnssec::rdata::DNSSECRData::RRSIG(s)) => {
                Some(s.input().type_covered)
            }
            _ => None,
        };
        if rtype == RecordType::NSEC3 || covered == Some(RecordType::NSEC3) {
            continue;
        }
        let answers = match z.lookup(owner, rtype) {
            Lookup::Answer(rs) => rs,
            Lookup::Referral { .. } => continue,
            other => panic!("{where_}: in the zone, but lookup gives {other:?}"),
        };
        let same = |d: &RData| {
            d == &r.data || dname_target(d).is_some_and(|t| Some(t) == dname_target(&r.data))
        };
        assert!(
            answers
                .iter()
                .any(|a| a.record_type() == rtype && same(&a.data)),
            "{where_}: lookup's answer {answers:?} lacks {:?}",
            r.data
        );
        for n in rdata_names(&r.data) {
            assert!(n.is_fqdn(), "{where_}: {n} in its data is not absolute");
        }
        let req = Request {
            id: 0x4242,
            op_code: OpCode::Query,
            rd: true,
            cd: false,
            ad: false,
            query: Some(Query::query(owner.clone(), rtype)),
            edns: Some(u16::MAX),
            // Every record of the answer goes out: RRSIGs too.
            dnssec_ok: true,
        };
        let bytes = reply(&req, ResponseCode::NoError, &answers, &[], None, Proto::Tcp);
        let m = match Message::from_vec(&bytes) {
            Ok(m) => m,
            Err(e) => panic!("{where_}: the reply does not parse ({e}): {answers:?}"),
        };
        assert_eq!(
            m.metadata.response_code,
            ResponseCode::NoError,
            "{where_}: the answer cannot be encoded: {answers:?}"
        );
        assert_eq!(
            m.answers.len(),
            answers.len(),
            "{where_}: records lost in the reply"
        );
        for (sent, got) in answers.iter().zip(&m.answers) {
            assert_eq!(
                (&got.name, got.record_type(), got.data.to_bytes().ok()),
                (&sent.name, sent.record_type(), sent.data.to_bytes().ok()),
                "{where_}: the reply carries other data than the zone: {sent:?}"
            );
        }
    }
}

/// The domain names inside a record's data (those a zone file may write
/// relative to its origin).
fn rdata_names(data: &RData) -> Vec<Name> {
    let names = match data {
        RData::CNAME(n) => vec![&n.0],
        RData::NS(n) => vec![&n.0],
        RData::PTR(n) => vec![&n.0],
        RData::ANAME(n) => vec![&n.0],
        RData::MX(mx) => vec![&mx.exchange],
        RData::SRV(srv) => vec![&srv.target],
        RData::SOA(soa) => vec![&soa.mname, &soa.rname],
        RData::NAPTR(naptr) => vec![&naptr.replacement],
        RData::SVCB(svcb) => vec![&svcb.target_name],
        RData::HTTPS(https) => vec![&https.0.target_name],
        other => return dname_target(other).into_iter().collect(),
    };
    names.into_iter().cloned().collect()
}

/// `FILE:LINE: error|warning: message`, on one line, LINE a line of FILE: from
/// 1 to one past its last line break (lines end at `\n`), and 1 for what cannot
/// be read as a file (the zones folder, say). FILE is read again for that: a
/// problem may point into an `$INCLUDE`d file or the config, each numbered on
/// its own.
pub fn assert_prints(p: &Problem) {
    let s = p.to_string();
    let breaks = std::fs::read(&p.file).map_or(0, |b| b.iter().filter(|&&c| c == b'\n').count());
    assert!(
        (1..=breaks + 1).contains(&p.line),
        "line {} is not in {} ({breaks} line breaks): {s}",
        p.line,
        p.file.display()
    );
    assert!(
        !s.contains(['\n', '\r']),
        "a problem over several lines: {s:?}"
    );
    let file = p.file.display().to_string();
    assert!(!file.is_empty(), "no file: {s:?}");
    let rest = s
        .strip_prefix(&format!("{file}:{}: ", p.line))
        .unwrap_or_else(|| panic!("not FILE:LINE: {s:?}"));
    let msg = rest
        .strip_prefix("error: ")
        .or_else(|| rest.strip_prefix("warning: "))
        .unwrap_or_else(|| panic!("no severity: {s:?}"));
    assert!(!msg.trim().is_empty(), "no message: {s:?}");
    assert_eq!(p.is_error(), rest.starts_with("error: "), "severity: {s:?}");
}
