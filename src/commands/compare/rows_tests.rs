use super::*;
use hickory_proto::rr::rdata::{A, CNAME};

fn cell(root: &str, rcode: ResponseCode, records: Vec<Record>) -> Cell {
    Cell {
        root: root.into(),
        rcode,
        records,
        error: None,
        dnssec: Security::Secure,
        authority: Vec::new(),
        cross: None,
    }
}

fn a(name: &str, ttl: u32, ip: [u8; 4]) -> Record {
    Record::from_rdata(
        Name::from_ascii(name).unwrap(),
        ttl,
        RData::A(A::from(std::net::Ipv4Addr::from(ip))),
    )
}

#[test]
fn same_ignores_ttl_order_and_case() {
    let x = cell(
        "a",
        ResponseCode::NoError,
        vec![
            a("WWW.x.", 10, [192, 0, 2, 1]),
            a("www.x.", 10, [192, 0, 2, 2]),
        ],
    );
    let y = cell(
        "b",
        ResponseCode::NoError,
        vec![
            a("www.x.", 99, [192, 0, 2, 2]),
            a("www.X.", 99, [192, 0, 2, 1]),
        ],
    );
    assert_eq!(verdict(&[x, y]), Verdict::Same);
}

#[test]
fn only_none_differs_error() {
    let data = cell(
        "alt",
        ResponseCode::NoError,
        vec![a("www.x.", 1, [192, 0, 2, 1])],
    );
    let nx = cell("icann", ResponseCode::NXDomain, vec![]);
    assert_eq!(
        verdict(&[data.clone(), nx.clone()]),
        Verdict::Only("alt".into())
    );
    assert_eq!(verdict(&[nx.clone(), nx.clone()]), Verdict::None);
    let other = cell(
        "icann",
        ResponseCode::NoError,
        vec![a("www.x.", 1, [192, 0, 2, 9])],
    );
    assert_eq!(verdict(&[data.clone(), other]), Verdict::Differs);
    let nodata = cell("icann", ResponseCode::NoError, vec![]);
    assert_eq!(verdict(&[nx.clone(), nodata]), Verdict::Differs);
    let mut err = nx;
    err.error = Some("timeout".into());
    assert_eq!(verdict(&[data, err]), Verdict::Error);
}

#[test]
fn display_shows_chain_then_sorted_data() {
    let c = cell(
        "alt",
        ResponseCode::NoError,
        vec![
            Record::from_rdata(
                Name::from_ascii("iana.geek.").unwrap(),
                1,
                RData::CNAME(CNAME(Name::from_ascii("WWW.iana.org.").unwrap())),
            ),
            a("www.iana.org.", 1, [203, 0, 113, 9]),
            a("www.iana.org.", 1, [203, 0, 113, 1]),
        ],
    );
    assert_eq!(
        c.display(),
        "NOERROR CNAME www.iana.org. > 203.0.113.1 203.0.113.9"
    );
}

// What a secure NXDOMAIN proves: the name below the denying zone's apex (the
// TLD, for a root's denial), and only when it is secure.
#[test]
fn a_secure_nxdomain_proves_the_name_below_its_zone_absent() {
    use hickory_proto::rr::rdata::SOA;
    let soa = |zone: &str| {
        Record::from_rdata(
            Name::from_ascii(zone).unwrap(),
            60,
            RData::SOA(SOA::new(
                Name::from_ascii("ns.").unwrap(),
                Name::from_ascii("h.").unwrap(),
                1,
                2,
                3,
                4,
                5,
            )),
        )
    };
    let q = Name::from_ascii("a.www.geek.").unwrap();
    let mut c = cell("icann", ResponseCode::NXDomain, vec![]);
    c.authority = vec![soa(".")];
    let (absent, zone) = c.proves_absent(&q).unwrap();
    assert_eq!(
        (absent.to_string(), zone.to_string()),
        ("geek.".into(), ".".into())
    );
    c.authority = vec![soa("geek.")];
    assert_eq!(c.proves_absent(&q).unwrap().0.to_string(), "www.geek.");
    c.dnssec = Security::Insecure(Why::new(Ede::DnssecIndeterminate, &q, "x"));
    assert!(c.proves_absent(&q).is_none(), "insecure proves nothing");
    let mut nodata = cell("icann", ResponseCode::NoError, vec![]);
    nodata.authority = vec![soa(".")];
    assert!(nodata.proves_absent(&q).is_none());
    assert_eq!(
        security_label(&Security::Bogus(Why::new(Ede::DnssecBogus, &q, "why"))),
        "bogus (why)"
    );
}

#[test]
fn names_from_lists_and_tranco_csv() {
    let n = read_names(b"# top\n1,google.com\n2,Example.ORG\n\nwww.geek\n");
    let s: Vec<String> = n.names.iter().map(|n| n.to_string()).collect();
    assert_eq!(s, vec!["google.com.", "example.org.", "www.geek."]);
    assert!(n.bad.is_empty());
    let long = format!("{}.example\nmore.example\n", "x".repeat(64));
    let n = read_names(format!("ok.example\n{long}").as_bytes());
    assert_eq!(n.names.len(), 2, "the bad line is skipped, the rest read");
    assert_eq!(n.bad.len(), 1);
    assert_eq!(n.bad[0].0, 2);
    assert!(n.bad[0].1.contains("at most 63"), "{:?}", n.bad);
}

// Every reason says what is wrong (hickory's own messages were empty,
// invisible or Debug-formatted: "Malformed label: ", "Err(Errors)").
#[test]
fn bad_names_say_why() {
    for (s, says) in [
        ("a..b", "empty label"),
        (".a", "empty label"),
        ("www geek", "a space"),
        ("a\tb", "a tab"),
        ("-a.geek", "starts with a hyphen"),
        ("a/b.geek", "'/' in \"a/b\""),
        ("ü..x", "empty label"),
        ("a\u{2028}b", "white space"),
    ] {
        let e = parse_name(s).unwrap_err();
        assert!(e.contains(says), "{s:?}: {e}");
    }
    for ok in [
        "_dmarc.geek",
        "a_b.geek",
        "*.geek",
        ".",
        "www.geek.",
        "bücher.geek",
    ] {
        assert!(parse_name(ok).is_ok(), "{ok}");
    }
    let e = parse_name("xn--a-\u{e9}\u{301}.geek").map(|n| n.to_string());
    assert!(e.is_err() || e.is_ok(), "no panic on odd IDNA input");
}
