//! Reading master files: records, lines, directives, DNAME and every error with its line.

use super::*;
use crate::zones::dname::dname_target;
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
