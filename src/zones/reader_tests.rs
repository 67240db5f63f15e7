//! Reading master files: records, lines, directives, DNAME and every error with its line.

use super::*;
use crate::zones::dname::dname_target;
use hickory_proto::rr::RecordType;

pub(super) fn origin() -> Name {
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

/// Each record as (owner, TTL, DNAME target) with its line.
fn dnames(text: &str) -> Vec<(usize, String, u32, String)> {
    let p = read_str(text, Path::new("z"), &origin()).unwrap();
    p.records
        .iter()
        .map(|l| {
            assert_eq!(l.record.record_type(), RecordType::DNAME);
            let t = dname_target(&l.record.data).unwrap();
            (
                l.line,
                l.record.name.to_string(),
                l.record.ttl,
                t.to_string(),
            )
        })
        .collect()
}

#[test]
fn dname_lines_are_read() {
    let text = "$TTL 300\nold DNAME new.example.\nrel 60 IN DNAME lab\n  dname @\n\
                $ORIGIN sub.geek.\nx IN 1h DNAME y\n@ DNAME .\n";
    let want = [
        (2, "old.geek.", 300, "new.example."),
        (3, "rel.geek.", 60, "lab.geek."),
        (4, "rel.geek.", 300, "geek."),
        (6, "x.sub.geek.", 3600, "y.sub.geek."),
        (7, "sub.geek.", 300, "."),
    ];
    let want: Vec<_> = want
        .iter()
        .map(|(l, o, t, d)| (*l, o.to_string(), *t, d.to_string()))
        .collect();
    assert_eq!(dnames(text), want);
}

#[test]
fn bad_dname_targets_are_errors_at_their_line() {
    let text = "$TTL 300\nok DNAME x\na DNAME b..c\nb DNAME\nc DNAME x y\nd CH DNAME x\n";
    let e = read_str(text, Path::new("z"), &origin()).unwrap_err();
    let got: Vec<_> = e.iter().map(|e| (e.line, e.message.as_str())).collect();
    assert_eq!(got.len(), 4, "{got:?}");
    assert_eq!(got[0].0, 3);
    assert!(got[0].1.ends_with("in \"a DNAME b..c\""), "{got:?}");
    assert_eq!(
        got[1],
        (4, "DNAME takes exactly one target name, in \"b DNAME\"")
    );
    assert_eq!(
        got[2],
        (5, "DNAME takes exactly one target name, in \"c DNAME x y\"")
    );
    assert_eq!(got[3], (6, "class CH is not served (only IN)"));
}

// The fast path reads what hickory reads, byte for byte: owner, type, TTL and
// RDATA of every record, and the same lines in error. Entries the fast path
// does not take go to hickory either way, so this checks every one it takes.
#[test]
fn fast_path_reads_what_hickory_reads() {
    let text = r#"$TTL 300
@ SOA ns1 hostmaster ( 1 3600 600 86400 300 )
@ NS ns1
@ IN NS NS2.Example.COM.
ns1 A 192.0.2.1
NS1 60 AAAA 2001:DB8::1
    IN 2h A 192.0.2.2
Www.Sub 1d IN CNAME Target.Geek.
*.wild A 192.0.2.3
_sip._tcp.Srv PTR _Sip.Host
mx MX 10 mail
mx MX 020 @
t TXT "v=spf1 -all" word "two words"
t TXT bare
t2 TXT "a" "b"
d DNAME Other.Example.
d2 DNAME @
xn--bcher-kva A 192.0.2.4
a-b-c.d-e A 192.0.2.5
ip6 AAAA ::ffff:192.0.2.1
rel NS ns.rel
$ORIGIN Sub.Geek.
x CNAME y
y A 192.0.2.6
@ MX 5 x
$TTL 1w
z 300 A 192.0.2.7
  A 192.0.2.8
"#;
    let origin = origin();
    let (fast, fast_errors, taken) = super::wire_records(text, &origin, true);
    let (slow, slow_errors, none) = super::wire_records(text, &origin, false);
    assert_eq!(fast_errors, slow_errors);
    assert!(fast_errors.is_empty(), "{fast_errors:?}");
    assert_eq!(fast.len(), 25);
    // All but the SOA and the xn-- name (IDNA checks it) went the fast way.
    assert_eq!((taken, none), (23, 0));
    assert_eq!(slow.len(), fast.len());
    for (f, s) in fast.iter().zip(&slow) {
        assert_eq!(f, s, "line {}", f.4);
    }
}

// Entries the fast path must leave to hickory (errors worded there, or syntax it
// does not read) still give hickory's result.
#[test]
fn fast_path_leaves_the_rest_to_hickory() {
    let text = "$TTL 300\na A 999.1.1.1\nb A 1.2.3.4 5.6.7.8\nc MX nope x\nd TXT \"\"\n\
                e TXT \"esc\\\"aped\"\nf A\ng CH A 1.2.3.4\nh..i A 1.2.3.4\nj CNAME a..b\n\
                k TXT\nbü A 1.2.3.4\nl 1 2 A 1.2.3.4\n";
    let origin = origin();
    let (fast, fast_errors, _) = super::wire_records(text, &origin, true);
    let (slow, slow_errors, _) = super::wire_records(text, &origin, false);
    assert_eq!(fast, slow);
    assert_eq!(fast_errors, slow_errors);
    assert!(!fast_errors.is_empty());
}

// A file that includes itself is a loop at the include line, found by the chain
// of files being read (not after 8 levels of k copies each); a file included
// many times over is bounded in all (MAX_FILES); a device is not read.
#[test]
fn includes_are_bounded() {
    let dir = tempfile::tempdir().unwrap();
    let main = dir.path().join("geek.zone");
    let text =
        "$TTL 1\n$INCLUDE geek.zone\n$INCLUDE geek.zone\n$INCLUDE geek.zone\n$INCLUDE /dev/zero\n";
    std::fs::write(&main, text).unwrap();
    let e = read(&main, &origin()).unwrap_err();
    let got: Vec<String> = e
        .iter()
        .map(|e| format!("{}: {}", e.line, e.message))
        .collect();
    assert_eq!(
        got,
        [
            "2: $INCLUDE geek.zone: a loop (the file is already being read)",
            "3: $INCLUDE geek.zone: a loop (the file is already being read)",
            "4: $INCLUDE geek.zone: a loop (the file is already being read)",
            "5: $INCLUDE /dev/zero: not a regular file",
        ]
    );
    // No loop, but 3 includes of 3 includes of … : 3^6 files without a bound.
    for level in 0..6 {
        let next = format!("l{}.inc", level + 1);
        let body = format!("$INCLUDE {next}\n$INCLUDE {next}\n$INCLUDE {next}\n");
        std::fs::write(dir.path().join(format!("l{level}.inc")), body).unwrap();
    }
    std::fs::write(dir.path().join("l6.inc"), "x A 192.0.2.1\n").unwrap();
    std::fs::write(&main, "$TTL 1\n$INCLUDE l0.inc\n").unwrap();
    let e = read(&main, &origin()).unwrap_err();
    assert!(
        e.iter()
            .all(|e| e.message.contains("over 256 files in one zone")),
        "{e:?}"
    );
    assert!(e.len() < 1000, "{} errors", e.len());
}
