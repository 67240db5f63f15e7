//! The structural checks of [`Zone::build`], each at the line that causes it.

use super::*;
use crate::zones::reader::{Located, read_str};

fn origin() -> Name {
    Name::from_ascii("geek.").unwrap()
}

/// Every problem building `text` as `geek.` gives, as `LINE: message`.
fn problems(text: &str) -> Vec<String> {
    let p = read_str(text, Path::new("t"), &origin()).unwrap();
    match Zone::build(&origin(), p) {
        Ok((_, warnings)) => warnings,
        Err(e) => e,
    }
    .iter()
    .map(|p| format!("{}: {}", p.line, p.message))
    .collect()
}

/// The apex of the DNAME test zones, lines 1-3.
const APEX: &str = "$TTL 300\n@ SOA ns.example. host 1 3600 600 86400 300\n@ NS ns.example.\n";

#[test]
fn structural_errors() {
    let p = read_str(
        "$TTL 1\nwww A 192.0.2.1\nwww CNAME x\nexample.com. A 192.0.2.2\n",
        Path::new("t"),
        &origin(),
    )
    .unwrap();
    let e = Zone::build(&origin(), p).unwrap_err();
    let msgs: Vec<String> = e.iter().map(|e| e.to_string()).collect();
    assert!(msgs.iter().any(|m| m.contains("no SOA")), "{msgs:?}");
    assert!(msgs.iter().any(|m| m.contains("no NS")), "{msgs:?}");
    assert!(
        msgs.iter()
            .any(|m| m.contains("t:3: error:") && m.contains("CNAME and other data")),
        "{msgs:?}"
    );
    assert!(
        msgs.iter()
            .any(|m| m.contains("t:4: error:") && m.contains("outside")),
        "{msgs:?}"
    );
}

#[test]
fn a_dname_at_the_apex_is_allowed() {
    assert_eq!(
        problems(&format!("{APEX}@ DNAME other.example.\n")),
        [""; 0]
    );
}

// RFC 6672 §2.4: nothing below a DNAME owner, whatever the type.
#[test]
fn data_below_a_dname_is_an_error_at_its_line() {
    let text =
        format!("{APEX}d DNAME t.example.\nx.d A 192.0.2.1\ny.x.d TXT \"a\"\nd TXT \"ok\"\n");
    assert_eq!(
        problems(&text),
        [
            "5: x.d.geek. A is below the DNAME at d.geek. and can never be answered (RFC 6672 §2.4)",
            "6: y.x.d.geek. TXT is below the DNAME at d.geek. and can never be answered (RFC 6672 §2.4)"
        ]
    );
}

// With a DNAME at the apex, in-zone name servers cannot have addresses: they would
// be below the DNAME.
#[test]
fn below_an_apex_dname_even_glue_is_an_error() {
    let text = "$TTL 300\n@ SOA ns host 1 3600 600 86400 300\n@ NS ns\n@ DNAME other.example.\nns A 192.0.2.1\n";
    assert_eq!(
        problems(text),
        ["5: ns.geek. A is below the DNAME at geek. and can never be answered (RFC 6672 §2.4)"]
    );
}

// RFC 6672 §2.4: one DNAME per name. The same target in other case is the same
// record (dropped as a duplicate).
#[test]
fn more_than_one_dname_at_a_name() {
    let text = format!("{APEX}d DNAME a.example.\nd DNAME A.Example.\nd DNAME b.example.\n");
    assert_eq!(problems(&text), ["6: more than one DNAME at d.geek."]);
}

// RFC 6672 §2.4: no CNAME at a DNAME's owner.
#[test]
fn a_dname_beside_a_cname() {
    let text = format!("{APEX}d DNAME a.example.\nd CNAME b.example.\n");
    assert_eq!(
        problems(&text),
        ["5: d.geek. has a CNAME and a DNAME: a name has one redirection (RFC 6672 §2.4)"]
    );
}

// RFC 6672 §2.3: DNAME beside NS only at the apex.
#[test]
fn a_dname_at_a_delegation_point() {
    let text = format!("{APEX}sub NS ns.example.\nsub DNAME a.example.\n");
    assert_eq!(
        problems(&text),
        [
            "5: sub.geek. DNAME is at the delegation point sub.geek.: beside NS a DNAME belongs only at a zone apex, so put it in the child zone (RFC 6672 §2.3)"
        ]
    );
}

// Records that did not come from the reader may hold any bytes: a DNAME that
// lookup could not follow is refused at its line.
#[test]
fn an_unreadable_dname_is_an_error() {
    let mut p = read_str(APEX, Path::new("t"), &origin()).unwrap();
    let bad = RData::Unknown {
        code: RecordType::DNAME,
        rdata: hickory_proto::rr::rdata::NULL::with(b"\x03abc\xc0\x0c".to_vec()),
    };
    p.records.push(Located {
        record: Record::from_rdata(Name::from_ascii("d.geek.").unwrap(), 300, bad),
        file: std::sync::Arc::new(PathBuf::from("t")),
        line: 9,
    });
    let e = Zone::build(&origin(), p).unwrap_err();
    assert_eq!(e.len(), 1, "{e:?}");
    assert_eq!(
        e[0].to_string(),
        "t:9: error: d.geek. DNAME has no readable target name"
    );
}

// A record's file is the file it was written in, even when an included file's
// records come first (the builder numbers files as it meets their records).
#[test]
fn positions_name_the_right_file_after_an_include() {
    let dir = tempfile::tempdir().unwrap();
    let main = dir.path().join("geek.zone");
    std::fs::write(dir.path().join("a.inc"), "ns A 192.0.2.1\n").unwrap();
    let text = "$TTL 300\n$INCLUDE a.inc\n@ SOA ns host 1 3600 600 86400 300\n@ NS ns\n";
    std::fs::write(&main, text).unwrap();
    let (z, _) = Zone::load(&main, &origin()).unwrap();
    assert_eq!(z.soa_line(), (main.clone(), 3));
    assert_eq!(z.files, [main, dir.path().join("a.inc")]);
}

// Mutated zone text (bytes replaced, lines cut, quotes and parentheses thrown in)
// must come back as records or as errors with a line, never as a panic.
#[test]
fn mutated_zone_text_never_panics() {
    let base = "$TTL 300\n@ SOA ns1 host ( 1 3600 600 86400 60 )\n@ NS ns1\nns1 A 192.0.2.1\n\
                www AAAA 2001:db8::1\nmx MX 10 mail\ntxt TXT \"a b\" \"c\"\nsrv SRV 1 2 3 t\n\
                d DNAME x.example.\n$ORIGIN sub.geek.\nx CNAME y\n";
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
        // A line of the text: at most one past its last line break.
        let lines = 1..=text.lines().count() + 1;
        match read_str(&text, Path::new("fuzz.zone"), &origin()) {
            // Whatever parsed must also build (or be refused) without a panic.
            Ok(parsed) => {
                if let Err(errors) = Zone::build(&origin(), parsed) {
                    assert!(errors.iter().all(|e| lines.contains(&e.line)), "{errors:?}");
                }
            }
            Err(errors) => assert!(errors.iter().all(|e| lines.contains(&e.line)), "{errors:?}"),
        }
    }
}

// A signed zone keeps RRSIG and NSEC beside a CNAME (RFC 4035 §2.5) and at a
// delegation point (the parent's NSEC and the RRSIGs over it and the DS); data
// other than that is still refused there. NSEC3 records belong to hashed owners
// one label below the apex.
#[test]
fn signed_data_beside_cnames_and_at_delegations() {
    let sig = |t: &str| format!("RRSIG {t} 13 2 300 20700101000000 20200101000000 1 geek. AAAA");
    let text = format!(
        "{APEX}@ NSEC alias.geek. NS SOA NSEC\nalias CNAME www.example.\nalias {}\nalias NSEC sub.geek. CNAME RRSIG NSEC\n\
         sub NS ns.example.\nsub DS 1 13 2 {}\nsub {}\nsub NSEC geek. NS DS RRSIG NSEC\nsub {}\n\
         sub TXT \"no\"\n",
        sig("CNAME"),
        "00".repeat(32),
        sig("DS"),
        sig("NSEC"),
    );
    assert_eq!(
        problems(&text),
        vec![
            "13: sub.geek. TXT is at the delegation point sub.geek.: only NS, DS and glue belong there"
        ]
    );
    let hash = "n2kg5ak4t5i4ef0ga3pj403mle6kuaps";
    let text = format!(
        "{APEX}{hash} NSEC3 1 0 0 - {hash} A\na.{hash} NSEC3 1 0 0 - {hash} A\nnot-a-hash NSEC3 1 0 0 - {hash} A\n"
    );
    assert_eq!(
        problems(&text),
        vec![
            "5: a.n2kg5ak4t5i4ef0ga3pj403mle6kuaps.geek. NSEC3 is not owned by an NSEC3 hash directly below geek. (RFC 5155 §3)",
            "6: not-a-hash.geek. NSEC3 is not owned by an NSEC3 hash directly below geek. (RFC 5155 §3)"
        ]
    );
}

// `check` warns of signatures expired or expiring within 7 days (one warning of
// each kind, at the first to expire, counting the others) and of NSEC3 records
// whose next hash is not the next owner's.
#[test]
fn expiring_signatures_and_broken_nsec3_chains_are_warnings() {
    let now = crate::clock::unix_now() as u32;
    let sig = |t: &str, exp: u32| format!("RRSIG {t} 13 1 300 {exp} 1577836800 1 geek. AAAA");
    let (h1, h2, h3) = (
        "0p9mhaveqvm6t7vbl5lop2u3t2rp3tom",
        "2t7b4g4vsa5smi47k61mv5bv1a22bojr",
        "n2kg5ak4t5i4ef0ga3pj403mle6kuaps",
    );
    let text = format!(
        "{APEX}@ {}\n@ {}\n@ {}\n{h1} NSEC3 1 0 0 - {h2} A\n{h2} NSEC3 1 0 0 - {h1} A\n{h3} NSEC3 1 0 0 - {h1} A\n",
        sig("SOA", now.wrapping_add(3 * 86_400)),
        sig("NS", now.wrapping_add(2 * 86_400)),
        sig("A", now.wrapping_sub(60)),
    );
    let got = problems(&text);
    assert_eq!(got.len(), 3, "{got:?}");
    assert!(
        got[0].starts_with("5: the RRSIG over geek. NS expires"),
        "{got:?}"
    );
    assert!(
        got[0].contains("(1 more RRSIGs of this zone expire within 7 days)"),
        "{got:?}"
    );
    assert!(
        got[1].starts_with("6: the RRSIG over geek. A expired"),
        "{got:?}"
    );
    assert_eq!(
        got[2],
        format!(
            "8: NSEC3 chain broken: the NSEC3 of {h2}.geek. points at {h1}, but the next hash is {h3}"
        )
    );
}
