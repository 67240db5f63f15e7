use super::*;
use crate::resolver::answer::test_rrsig;
use hickory_proto::dnssec::rdata::NSEC;
use hickory_proto::op::{MessageType, OpCode};
use hickory_proto::rr::rdata::{A, CNAME, NS, SOA, TXT};

fn n(s: &str) -> Name {
    Name::from_ascii(s).unwrap()
}

fn rec(name: &str, data: RData) -> Record {
    Record::from_rdata(n(name), 300, data)
}

fn a(name: &str) -> Record {
    rec(name, RData::A(A::new(192, 0, 2, 1)))
}

fn ns(owner: &str, target: &str) -> Record {
    rec(owner, RData::NS(NS(n(target))))
}

fn soa(owner: &str) -> Record {
    rec(
        owner,
        RData::SOA(SOA::new(n(owner), n(owner), 1, 1, 1, 1, 60)),
    )
}

fn reply(aa: bool, rcode: ResponseCode) -> Message {
    let mut m = Message::new(1, MessageType::Response, OpCode::Query);
    m.metadata.authoritative = aa;
    m.metadata.response_code = rcode;
    m
}

fn kind(r: &Result<(Reply, Standing), ServerError>) -> String {
    match r {
        Ok((reply, standing)) => {
            let what = match reply {
                Reply::Answer(_) => "answer",
                Reply::Referral { .. } => "referral",
                Reply::NoData { .. } => "nodata",
                Reply::NxDomain { .. } => "nxdomain",
            };
            match standing {
                Standing::Take(Trust::Answer) => format!("{what} aa"),
                Standing::Take(Trust::NonAuth) => format!("{what} nonauth"),
                Standing::Take(t) => format!("{what} {t:?}"),
                Standing::LastResort(l) => format!("{what} last-resort {l:?}"),
            }
        }
        Err(ServerError::Lame(l)) => format!("lame {l:?}"),
        Err(e) => format!("error {e}"),
    }
}

// Every reply shape from a server asked about example.com. for www A, with and
// without AA (and with RA), sorted the way Unbound and Knot Resolver sort it.
#[test]
fn reply_shapes_with_and_without_aa() {
    let zone = n("example.com.");
    let www = n("www.example.com.");
    let cname = rec("www.example.com.", RData::CNAME(CNAME(n("x.example.net."))));
    let down = ns("sub.example.com.", "ns.sub.example.com.");
    type Build = fn(&mut Message);
    let shapes: Vec<(&str, ResponseCode, Build)> = vec![
        ("data", ResponseCode::NoError, |m| {
            m.add_answer(a("www.example.com."));
        }),
        ("data + zone NS", ResponseCode::NoError, |m| {
            m.add_answer(a("www.example.com."));
            m.add_authority(ns("example.com.", "ns.example.com."));
        }),
        ("data + upward NS", ResponseCode::NoError, |m| {
            m.add_answer(a("www.example.com."));
            m.add_authority(ns("com.", "a.gtld.com."));
        }),
        ("cname", ResponseCode::NoError, |m| {
            m.add_answer(rec(
                "www.example.com.",
                RData::CNAME(CNAME(n("x.example.net."))),
            ));
        }),
        ("nodata + soa", ResponseCode::NoError, |m| {
            m.add_authority(soa("example.com."));
        }),
        ("nodata + zone NS", ResponseCode::NoError, |m| {
            m.add_authority(ns("example.com.", "ns.example.com."));
        }),
        ("nodata + upward NS", ResponseCode::NoError, |m| {
            m.add_authority(ns(".", "a.root."));
        }),
        ("empty", ResponseCode::NoError, |_| {}),
        ("another type only", ResponseCode::NoError, |m| {
            m.add_answer(rec(
                "www.example.com.",
                RData::TXT(TXT::new(vec!["x".into()])),
            ));
        }),
        ("nxdomain + soa", ResponseCode::NXDomain, |m| {
            m.add_authority(soa("example.com."));
        }),
        ("nxdomain bare", ResponseCode::NXDomain, |_| {}),
        (
            "nxdomain + soa of another zone",
            ResponseCode::NXDomain,
            |m| {
                m.add_authority(soa("example.org."));
            },
        ),
    ];
    let want: &[(&str, &str, &str, &str)] = &[
        // shape, AA, no AA, no AA with RA
        (
            "data",
            "answer aa",
            "answer nonauth",
            "answer last-resort Recursive",
        ),
        (
            "data + zone NS",
            "answer aa",
            "answer nonauth",
            "answer last-resort Recursive",
        ),
        (
            "data + upward NS",
            "answer aa",
            "answer nonauth",
            "answer last-resort Recursive",
        ),
        ("cname", "answer aa", "answer nonauth", "answer nonauth"),
        (
            "nodata + soa",
            "nodata aa",
            "nodata nonauth",
            "nodata last-resort Recursive",
        ),
        (
            "nodata + zone NS",
            "nodata aa",
            "lame ParentCopy",
            "lame ParentCopy",
        ),
        (
            "nodata + upward NS",
            "lame Referral { to: Name(\".\") }",
            "lame Referral { to: Name(\".\") }",
            "lame Referral { to: Name(\".\") }",
        ),
        (
            "empty",
            "nodata last-resort Empty",
            "nodata last-resort Empty",
            "nodata last-resort Empty",
        ),
        (
            "another type only",
            "nodata aa",
            "nodata last-resort NotAuthoritative",
            "nodata last-resort NotAuthoritative",
        ),
        (
            "nxdomain + soa",
            "nxdomain aa",
            "nxdomain nonauth",
            "nxdomain last-resort Recursive",
        ),
        (
            "nxdomain bare",
            "nxdomain aa",
            "lame NotAuthoritative",
            "lame NotAuthoritative",
        ),
        (
            "nxdomain + soa of another zone",
            "nxdomain aa",
            "lame NotAuthoritative",
            "lame NotAuthoritative",
        ),
    ];
    for ((name, rcode, build), (wname, w_aa, w_non, w_ra)) in shapes.iter().zip(want) {
        assert_eq!(name, wname);
        for (aa, ra, w) in [
            (true, false, w_aa),
            (false, false, w_non),
            (false, true, w_ra),
        ] {
            let mut m = reply(aa, *rcode);
            m.metadata.recursion_available = ra;
            build(&mut m);
            let got = kind(&classify(&zone, &www, RecordType::A, m));
            assert_eq!(&got, w, "{name} aa={aa} ra={ra}");
        }
    }
    // A downward NS set with data and no AA: the data is a parent's copy.
    let mut m = reply(false, ResponseCode::NoError);
    m.add_answer(a("www.sub.example.com."));
    m.add_authority(down.clone());
    assert_eq!(
        kind(&classify(
            &zone,
            &n("www.sub.example.com."),
            RecordType::A,
            m
        )),
        "referral Referral"
    );
    // The child's NS set in the answer section without AA, asked NS: a referral.
    let mut m = reply(false, ResponseCode::NoError);
    m.add_answer(down);
    assert_eq!(
        kind(&classify(&zone, &n("sub.example.com."), RecordType::NS, m)),
        "referral Referral"
    );
    // CNAME with NXDOMAIN (RFC 6604): the chain, not a negative answer.
    let mut m = reply(false, ResponseCode::NXDomain);
    m.add_answer(cname);
    assert_eq!(
        kind(&classify(&zone, &www, RecordType::A, m)),
        "answer nonauth"
    );
}

#[test]
fn error_rcodes_are_lame() {
    for rc in [
        ResponseCode::Refused,
        ResponseCode::ServFail,
        ResponseCode::NotImp,
        ResponseCode::YXDomain,
    ] {
        let m = reply(true, rc);
        assert!(matches!(
            classify(&n("com."), &n("x.com."), RecordType::A, m),
            Err(ServerError::Rcode(_))
        ));
    }
    // YXDOMAIN with a DNAME above the name: the DNAME is the answer (RFC 6672).
    let mut m = reply(true, ResponseCode::YXDomain);
    m.add_answer(dname::dname(n("example.com."), 60, &n("example.net.")));
    assert_eq!(
        kind(&classify(
            &n("example.com."),
            &n("x.example.com."),
            RecordType::A,
            m
        )),
        "answer aa"
    );
}

#[test]
fn referrals_go_strictly_down_with_in_bailiwick_glue_only() {
    let mut m = reply(false, ResponseCode::NoError);
    m.add_authority(ns("example.com.", "ns1.example.com."));
    m.add_authority(ns("example.com.", "ns.other.net."));
    m.add_additional(a("ns1.example.com."));
    m.add_additional(a("ns.other.net."));
    match classify(&n("com."), &n("www.example.com."), RecordType::A, m.clone()) {
        Ok((Reply::Referral { cut, ns, glue }, _)) => {
            assert_eq!(cut, n("example.com."));
            assert_eq!(ns.len(), 2);
            assert_eq!(glue.len(), 1, "glue outside com. is not believed");
            assert_eq!(glue[0].name, n("ns1.example.com."));
        }
        other => panic!("{other:?}"),
    }
    // Asked about example.com. itself: its own NS set without SOA is lame.
    assert!(matches!(
        classify(
            &n("example.com."),
            &n("www.example.com."),
            RecordType::A,
            m.clone()
        ),
        Err(ServerError::Lame(Lame::ParentCopy))
    ));
    // Sideways: asked about www.example.org. in org., got example.com.
    assert!(matches!(
        classify(&n("org."), &n("www.example.org."), RecordType::A, m),
        Err(ServerError::Lame(Lame::Referral { .. }))
    ));
    // Upward: a referral to the root.
    let mut up = reply(false, ResponseCode::NoError);
    up.add_authority(ns(".", "a.root-servers.net."));
    assert!(matches!(
        classify(
            &n("example.com."),
            &n("www.example.com."),
            RecordType::A,
            up
        ),
        Err(ServerError::Lame(Lame::Referral { .. }))
    ));
}

#[test]
fn other_types_only_is_nodata_and_other_classes_are_ignored() {
    let mut m = reply(true, ResponseCode::NoError);
    m.add_answer(rec(
        "www.example.com.",
        RData::TXT(TXT::new(vec!["x".into()])),
    ));
    m.add_authority(soa("example.com."));
    assert!(matches!(
        classify(&n("example.com."), &n("www.example.com."), RecordType::A, m),
        Ok((Reply::NoData { soa: Some(_), .. }, _))
    ));
    let mut ch = reply(true, ResponseCode::NoError);
    let mut r = a("www.example.com.");
    r.dns_class = DNSClass::CH;
    ch.add_answer(r);
    assert!(matches!(
        classify(
            &n("example.com."),
            &n("www.example.com."),
            RecordType::A,
            ch
        ),
        Ok((Reply::NoData { soa: None, .. }, _))
    ));
}

#[test]
fn take_prefers_data_then_dname_then_cname() {
    let www = n("www.example.com.");
    let data = vec![vec![a("www.example.com.")]];
    assert!(matches!(take(&data, &www, RecordType::A), Taken::Data(_)));
    let cname = vec![vec![rec(
        "www.example.com.",
        RData::CNAME(CNAME(n("x.example.net."))),
    )]];
    match take(&cname, &www, RecordType::A) {
        Taken::Cname { target, .. } => assert_eq!(target, n("x.example.net.")),
        other => panic!("{other:?}"),
    }
    let dn = dname::dname(n("example.com."), 120, &n("example.net."));
    let sets = vec![vec![dn], cname[0].clone()];
    match take(&sets, &www, RecordType::A) {
        Taken::Dname { cname, target, .. } => {
            assert_eq!(
                target,
                n("www.example.net."),
                "our own synthesis, not the server's"
            );
            assert_eq!(cname.ttl, 120);
            assert_eq!(cname.name, www);
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(take(&[], &www, RecordType::A), Taken::Nothing);
    // Data for the name itself beats both, whatever comes first.
    let all = vec![sets[0].clone(), cname[0].clone(), data[0].clone()];
    assert!(matches!(take(&all, &www, RecordType::A), Taken::Data(_)));
}

// RRSIGs travel with the RRset they cover, after its records; signatures
// without their RRset (a question for type RRSIG) are a set of their own.
#[test]
fn rrsigs_join_the_rrset_they_cover() {
    let www = n("www.geek.");
    let sets = group(vec![
        test_rrsig(&www, RecordType::A),
        a("www.geek."),
        test_rrsig(&www, RecordType::TXT),
        test_rrsig(&www, RecordType::A),
        rec("www.geek.", RData::TXT(TXT::new(vec!["t".into()]))),
    ]);
    let shape: Vec<Vec<(RecordType, Option<RecordType>)>> = sets
        .iter()
        .map(|s| s.iter().map(|r| (r.record_type(), covers(r))).collect())
        .collect();
    assert_eq!(
        shape,
        vec![
            vec![
                (RecordType::A, None),
                (RecordType::RRSIG, Some(RecordType::A))
            ],
            vec![
                (RecordType::TXT, None),
                (RecordType::RRSIG, Some(RecordType::TXT))
            ],
        ],
        "duplicates dropped"
    );
    let alone = group(vec![
        test_rrsig(&www, RecordType::A),
        test_rrsig(&www, RecordType::AAAA),
    ]);
    assert_eq!(alone.len(), 1);
    assert_eq!(alone[0].len(), 2);
}

// The proof of a negative answer: the SOA's RRSIGs and the NSEC/NSEC3 records
// inside the zone with theirs; nothing else of the authority section.
#[test]
fn negative_proof_takes_soa_signatures_and_nsec_records_inside_the_zone() {
    let zone = n("geek.");
    let nsec = |owner: &str| {
        rec(
            owner,
            RData::DNSSEC(DNSSECRData::NSEC(NSEC::new(n("z.geek."), [RecordType::A]))),
        )
    };
    let authority = vec![
        soa("geek."),
        test_rrsig(&zone, RecordType::SOA),
        nsec("a.geek."),
        test_rrsig(&n("a.geek."), RecordType::NSEC),
        nsec("other."),
        ns("geek.", "ns.geek."),
        test_rrsig(&zone, RecordType::NS),
    ];
    let proof = negative_proof(&zone, &authority);
    let shape: Vec<(Name, RecordType)> = proof
        .iter()
        .map(|r| (r.name.clone(), r.record_type()))
        .collect();
    assert_eq!(
        shape,
        vec![
            (zone.clone(), RecordType::RRSIG),
            (n("a.geek."), RecordType::NSEC),
            (n("a.geek."), RecordType::RRSIG),
        ]
    );
}
