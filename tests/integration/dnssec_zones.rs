//! Pre-signed zones dropped into `zones/` (issue 15 §3a): the fixtures of
//! tests/fixtures/dnssec-zones/ (ldns-signzone and dnssec-signzone output, see
//! make.sh) served by a real altroot on loopback, asked over UDP with DO and
//! without. With DO, every answer RRset comes with its RRSIGs and every denial
//! with the SOA's RRSIG and the NSEC or NSEC3 records proving it (RFC 4035 §3.1,
//! RFC 5155 §7.2); without DO none of that is added. AA stays clear: altroot
//! answers as a resolver (DESIGN §4.3), the data is the zone's.

use hickory_proto::dnssec::rdata::DNSSECRData;
use hickory_proto::op::{Message, ResponseCode};
use hickory_proto::rr::{RData, Record, RecordType};

use crate::harness::*;

const CONFIG: &str =
    "[server]\nlisten = [\"127.0.0.1:0\"]\n\n[[root]]\nname = \"alt\"\nzones = \"zones\"\n";

/// altroot serving the signed fixtures (and the unsigned plain.sec.), nothing else.
async fn signed() -> Altroot {
    let dir = manifest_dir().join("tests/fixtures/dnssec-zones/zones");
    let files: Vec<(&str, String)> = ["sec.zone", "child.sec.zone", "plain.sec.zone", "opt.zone"]
        .iter()
        .map(|f| {
            let text = std::fs::read_to_string(dir.join(f)).unwrap();
            (
                match *f {
                    "sec.zone" => "zones/sec.zone",
                    "child.sec.zone" => "zones/child.sec.zone",
                    "plain.sec.zone" => "zones/plain.sec.zone",
                    _ => "zones/opt.zone",
                },
                text,
            )
        })
        .collect();
    Altroot::start(CONFIG, &files).await
}

/// Asks over UDP with EDNS (`size`), DO as given.
async fn ask(a: &Altroot, qname: &str, qtype: RecordType, dnssec: bool, size: u16) -> Message {
    let mut q = make_query(qname, qtype, Some(size));
    if let Some(e) = q.edns.as_mut() {
        e.set_dnssec_ok(dnssec);
    }
    let m = send_udp(a.addr, &q).await;
    assert_resolver_flags(&m);
    m
}

/// A section as `owner TYPE`, RRSIGs as `owner RRSIG(covered)`.
fn kinds(records: &[Record]) -> Vec<String> {
    records
        .iter()
        .map(|r| match &r.data {
            RData::DNSSEC(DNSSECRData::RRSIG(s)) => {
                format!("{} RRSIG({})", r.name, s.input().type_covered)
            }
            _ => format!("{} {}", r.name, r.record_type()),
        })
        .collect()
}

fn v(items: &[&str]) -> Vec<String> {
    items.iter().map(|s| s.to_string()).collect()
}

// An answer with DO carries the RRSIG of its RRset, with the RRset's TTL and DO
// echoed; without DO the same answer has none.
#[tokio::test]
async fn answers_carry_rrsigs_only_with_do() {
    let a = signed().await;
    let m = ask(&a, "www.sec.", RecordType::A, true, 1232).await;
    assert_eq!(m.metadata.response_code, ResponseCode::NoError);
    assert_eq!(kinds(&m.answers), v(&["www.sec. A", "www.sec. RRSIG(A)"]));
    assert_eq!(m.answers[1].ttl, m.answers[0].ttl);
    assert!(m.authorities.is_empty());
    assert!(m.edns.as_ref().unwrap().flags().dnssec_ok, "DO echoed");
    let m = ask(&a, "www.sec.", RecordType::A, false, 1232).await;
    assert_eq!(kinds(&m.answers), v(&["www.sec. A"]));
    assert!(!m.edns.as_ref().unwrap().flags().dnssec_ok);
    // The apex DNSKEY set, signed by the KSK.
    let m = ask(&a, "sec.", RecordType::DNSKEY, true, 1232).await;
    assert_eq!(
        kinds(&m.answers),
        v(&["sec. DNSKEY", "sec. DNSKEY", "sec. RRSIG(DNSKEY)"])
    );
    // An unsigned zone answers alike with DO and without.
    let m = ask(&a, "www.plain.sec.", RecordType::A, true, 1232).await;
    assert_eq!(kinds(&m.answers), v(&["www.plain.sec. A"]));
}

// A CNAME chain and a DNAME: each RRset of the chain with its RRSIGs, the CNAME
// synthesised from the DNAME without (RFC 6672 §5.3.1).
#[tokio::test]
async fn chains_are_signed_link_by_link() {
    let a = signed().await;
    let m = ask(&a, "alias.sec.", RecordType::A, true, 1232).await;
    assert_eq!(
        kinds(&m.answers),
        v(&[
            "alias.sec. CNAME",
            "alias.sec. RRSIG(CNAME)",
            "www.sec. A",
            "www.sec. RRSIG(A)"
        ])
    );
    let m = ask(&a, "x.old.sec.", RecordType::A, true, 1232).await;
    assert_eq!(m.metadata.response_code, ResponseCode::NXDomain);
    assert_eq!(
        kinds(&m.answers),
        v(&[
            "old.sec. DNAME",
            "old.sec. RRSIG(DNAME)",
            "x.old.sec. CNAME"
        ])
    );
    // x.new.sec. does not exist: the NSEC new.sec. → ns1.sec. covers it and *.new.sec.
    assert_eq!(
        kinds(&m.authorities),
        v(&[
            "sec. SOA",
            "sec. RRSIG(SOA)",
            "new.sec. NSEC",
            "new.sec. RRSIG(NSEC)"
        ])
    );
}

// NXDOMAIN and NODATA with DO: the SOA and its RRSIG, and the NSEC records with
// theirs; without DO only the SOA.
#[tokio::test]
async fn nsec_denials() {
    let a = signed().await;
    let m = ask(&a, "nope.sec.", RecordType::A, true, 1232).await;
    assert_eq!(m.metadata.response_code, ResponseCode::NXDomain);
    assert!(m.answers.is_empty());
    assert_eq!(
        kinds(&m.authorities),
        v(&[
            "sec. SOA",
            "sec. RRSIG(SOA)",
            "new.sec. NSEC",
            "new.sec. RRSIG(NSEC)",
            "sec. NSEC",
            "sec. RRSIG(NSEC)"
        ])
    );
    let m = ask(&a, "nope.sec.", RecordType::A, false, 1232).await;
    assert_eq!(m.metadata.response_code, ResponseCode::NXDomain);
    assert_eq!(kinds(&m.authorities), v(&["sec. SOA"]));

    let m = ask(&a, "www.sec.", RecordType::MX, true, 1232).await;
    assert_eq!(m.metadata.response_code, ResponseCode::NoError);
    assert!(m.answers.is_empty());
    assert_eq!(
        kinds(&m.authorities),
        v(&[
            "sec. SOA",
            "sec. RRSIG(SOA)",
            "www.sec. NSEC",
            "www.sec. RRSIG(NSEC)"
        ])
    );
    // Asked for explicitly, an NSEC is answered without DO too.
    let m = ask(&a, "www.sec.", RecordType::NSEC, false, 1232).await;
    assert_eq!(kinds(&m.answers), v(&["www.sec. NSEC"]));
}

// A wildcard expansion proves that no closer name exists; its NODATA also that
// the wildcard has no such type.
#[tokio::test]
async fn wildcards_with_their_proofs() {
    let a = signed().await;
    let m = ask(&a, "a.b.wild.sec.", RecordType::TXT, true, 1232).await;
    assert_eq!(
        kinds(&m.answers),
        v(&["a.b.wild.sec. TXT", "a.b.wild.sec. RRSIG(TXT)"])
    );
    let RData::DNSSEC(DNSSECRData::RRSIG(sig)) = &m.answers[1].data else {
        panic!("{:?}", m.answers[1])
    };
    assert_eq!(
        sig.input().num_labels,
        2,
        "labels of *.wild.sec.: an expansion"
    );
    assert_eq!(
        kinds(&m.authorities),
        v(&["*.wild.sec. NSEC", "*.wild.sec. RRSIG(NSEC)"])
    );
    let m = ask(&a, "a.b.wild.sec.", RecordType::TXT, false, 1232).await;
    assert!(m.authorities.is_empty());
    let m = ask(&a, "x.wild.opt.", RecordType::TXT, true, 1232).await;
    assert_eq!(kinds(&m.authorities).len(), 2);
    assert!(
        m.authorities[0]
            .name
            .to_string()
            .starts_with("pfnqidl1b8mplsehrd0gmkc5ejbrnksm")
    );
}

// Delegations: DS is the parent's, answered from sec. even though child.sec. is
// served here too, and signed; the insecure delegation's missing DS is proved
// by the NSEC at the cut (NS, no DS); an answer below the secure delegation
// comes from child.sec. with child.sec.'s signatures.
#[tokio::test]
async fn ds_at_delegations_is_the_parents() {
    let a = signed().await;
    let m = ask(&a, "child.sec.", RecordType::DS, true, 1232).await;
    assert_eq!(m.metadata.response_code, ResponseCode::NoError);
    assert_eq!(
        kinds(&m.answers),
        v(&["child.sec. DS", "child.sec. RRSIG(DS)"])
    );
    let RData::DNSSEC(DNSSECRData::RRSIG(sig)) = &m.answers[1].data else {
        panic!()
    };
    assert_eq!(sig.input().signer_name.to_string(), "sec.");
    let m = ask(&a, "child.sec.", RecordType::DS, false, 1232).await;
    assert_eq!(kinds(&m.answers), v(&["child.sec. DS"]));

    let m = ask(&a, "plain.sec.", RecordType::DS, true, 1232).await;
    assert_eq!(m.metadata.response_code, ResponseCode::NoError);
    assert!(m.answers.is_empty());
    assert_eq!(
        kinds(&m.authorities),
        v(&[
            "sec. SOA",
            "sec. RRSIG(SOA)",
            "plain.sec. NSEC",
            "plain.sec. RRSIG(NSEC)"
        ])
    );

    let m = ask(&a, "www.child.sec.", RecordType::A, true, 1232).await;
    assert_eq!(
        kinds(&m.answers),
        v(&["www.child.sec. A", "www.child.sec. RRSIG(A)"])
    );
    let RData::DNSSEC(DNSSECRData::RRSIG(sig)) = &m.answers[1].data else {
        panic!()
    };
    assert_eq!(sig.input().signer_name.to_string(), "child.sec.");
}

// NSEC3 with opt-out: NXDOMAIN by closest encloser, next closer and wildcard;
// the DS of the secure delegation; the insecure one, left out of the chain, is
// denied its DS by the apex's NSEC3 and an opt-out NSEC3 covering it.
#[tokio::test]
async fn nsec3_with_opt_out() {
    let a = signed().await;
    let m = ask(&a, "nope.opt.", RecordType::A, true, 1232).await;
    assert_eq!(m.metadata.response_code, ResponseCode::NXDomain);
    let got = kinds(&m.authorities);
    assert_eq!(got[..2], v(&["opt. SOA", "opt. RRSIG(SOA)"]));
    assert_eq!(got[2], "n2kg5ak4t5i4ef0ga3pj403mle6kuaps.opt. NSEC3");
    assert_eq!(got[4], "fm6hc0ba08qva956kqc9v8na5spu7k4t.opt. NSEC3");
    assert!(
        got[2..].chunks(2).all(|p| p[1].ends_with("RRSIG(NSEC3)")),
        "{got:?}"
    );

    let m = ask(&a, "secure.opt.", RecordType::DS, true, 1232).await;
    assert_eq!(
        kinds(&m.answers),
        v(&["secure.opt. DS", "secure.opt. RRSIG(DS)"])
    );

    let m = ask(&a, "insecure.opt.", RecordType::DS, true, 1232).await;
    assert_eq!(m.metadata.response_code, ResponseCode::NoError);
    let got = kinds(&m.authorities);
    assert_eq!(
        got[2..],
        v(&[
            "n2kg5ak4t5i4ef0ga3pj403mle6kuaps.opt. NSEC3",
            "n2kg5ak4t5i4ef0ga3pj403mle6kuaps.opt. RRSIG(NSEC3)",
            "jo90k8tge6nkq0nu4tp1r861i4m9sefa.opt. NSEC3",
            "jo90k8tge6nkq0nu4tp1r861i4m9sefa.opt. RRSIG(NSEC3)"
        ])
    );
    let RData::DNSSEC(DNSSECRData::NSEC3(n3)) = &m.authorities[4].data else {
        panic!()
    };
    assert!(n3.opt_out());
    // A hashed owner is no name of the zone.
    let m = ask(
        &a,
        "n2kg5ak4t5i4ef0ga3pj403mle6kuaps.opt.",
        RecordType::A,
        false,
        1232,
    )
    .await;
    assert_eq!(m.metadata.response_code, ResponseCode::NXDomain);
}

// RFC 4035 §3.1.1: an answer whose RRSIGs do not fit the client's UDP size is
// truncated (TC, empty sections: there is no additional data to drop first),
// while without DO the same answer fits; over TCP it comes whole.
#[tokio::test]
async fn signed_answers_over_the_udp_size_set_tc() {
    let a = signed().await;
    let m = ask(&a, "big.sec.", RecordType::TXT, false, 512).await;
    assert!(!m.metadata.truncation);
    assert_eq!(m.answers.len(), 4);
    let m = ask(&a, "big.sec.", RecordType::TXT, true, 512).await;
    assert!(m.metadata.truncation, "TC");
    assert!(m.answers.is_empty() && m.authorities.is_empty());
    assert!(m.edns.as_ref().unwrap().flags().dnssec_ok);
    let mut q = make_query("big.sec.", RecordType::TXT, Some(512));
    q.edns.as_mut().unwrap().set_dnssec_ok(true);
    let m = send_tcp(a.addr, &q).await;
    assert!(!m.metadata.truncation);
    assert_eq!(m.answers.len(), 5, "four TXT and their RRSIG");
}

// A reload is all or nothing for signed zones too: a signed edit with a bad
// DNSSEC record (a SHA-256 DS with a SHA-1-sized digest) is refused with its
// FILE:LINE, and the zones stay served as they were, signatures included; a good
// signed edit is served whole.
#[tokio::test]
async fn reloads_of_signed_zones_are_all_or_nothing() {
    let a = signed().await;
    let zone = a.path("zones/sec.zone");
    let text = std::fs::read_to_string(&zone).unwrap();
    let bad = format!("{text}x.sec. 3600 IN DS 1 13 2 0123456789abcdef0123456789abcdef01234567\n");
    std::fs::write(&zone, &bad).unwrap();
    let (problems, _) = a.service.reload(true);
    let errors: Vec<String> = problems
        .iter()
        .filter(|p| p.is_error())
        .map(|p| p.to_string())
        .collect();
    let last = bad.lines().count();
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert!(
        errors[0].contains(&format!(
            "sec.zone:{last}: error: DS digest type 2 takes a digest of 32 octets"
        )),
        "{errors:?}"
    );
    let m = ask(&a, "www.sec.", RecordType::A, true, 1232).await;
    assert_eq!(kinds(&m.answers), v(&["www.sec. A", "www.sec. RRSIG(A)"]));

    // The zone re-signed elsewhere with a new address: here, the record edited
    // and its RRSIG kept (altroot does not verify signatures), served at once.
    let edited = text.replace("IN\tA\t192.0.2.2\n", "IN\tA\t192.0.2.99\n");
    assert_ne!(edited, text);
    std::fs::write(&zone, edited).unwrap();
    let (problems, _) = a.service.reload(true);
    assert!(!problems.iter().any(|p| p.is_error()), "{problems:?}");
    let m = ask(&a, "www.sec.", RecordType::A, true, 1232).await;
    assert_eq!(kinds(&m.answers), v(&["www.sec. A", "www.sec. RRSIG(A)"]));
    assert_eq!(m.answers[0].data.to_string(), "192.0.2.99");
}

// An independent validator agrees: BIND's delv, trusting only the KSKs of sec.
// and opt. (keys/trust-anchors.conf), asks altroot and validates every answer
// and every denial, including the chain into child.sec. through sec.'s DS, NSEC3
// closest-encloser proofs and the opt-out denial of insecure.opt.'s DS. Two
// answers are insecure by design: plain.sec. is an unsigned delegation, and a
// wildcard expansion in an opt-out zone can only be proved by an opt-out NSEC3.
#[tokio::test]
async fn delv_validates_what_altroot_serves() {
    let delv = crate::system::need("delv", "bind9-dnsutils");
    let anchors = manifest_dir().join("tests/fixtures/dnssec-zones/keys/trust-anchors.conf");
    let a = signed().await;
    let cases = [
        ("www.sec.", "A", "; fully validated"),
        ("nope.sec.", "A", "; negative response, fully validated"),
        ("www.sec.", "MX", "; negative response, fully validated"),
        ("b.c.sec.", "A", "; negative response, fully validated"),
        ("x.y.wild.sec.", "TXT", "; fully validated"),
        ("x.wild.sec.", "MX", "; negative response, fully validated"),
        ("alias.sec.", "A", "; fully validated"),
        ("x.old.sec.", "A", "; fully validated"),
        ("child.sec.", "DS", "; fully validated"),
        ("plain.sec.", "DS", "; negative response, fully validated"),
        ("www.child.sec.", "A", "; fully validated"),
        ("www.plain.sec.", "A", "; unsigned answer"),
        ("sec.", "DNSKEY", "; fully validated"),
        ("nope.opt.", "A", "; negative response, fully validated"),
        ("nope.b.c.opt.", "A", "; negative response, fully validated"),
        ("www.opt.", "MX", "; negative response, fully validated"),
        ("b.c.opt.", "A", "; negative response, fully validated"),
        ("x.wild.opt.", "MX", "; negative response, fully validated"),
        ("x.wild.opt.", "TXT", "; unsigned answer"),
        ("alias.opt.", "A", "; fully validated"),
        ("secure.opt.", "DS", "; fully validated"),
        (
            "insecure.opt.",
            "DS",
            "; negative response, fully validated",
        ),
    ];
    for (qname, qtype, want) in cases {
        let anchor = if qname.ends_with("opt.") {
            "opt"
        } else {
            "sec"
        };
        let out = tokio::process::Command::new(&delv)
            .arg(format!("@{}", a.addr.ip()))
            .args(["-p", &a.addr.port().to_string()])
            .arg("-a")
            .arg(&anchors)
            .arg(format!("+root={anchor}"))
            .args([qname, qtype])
            .kill_on_drop(true)
            .output();
        let out = tokio::time::timeout(std::time::Duration::from_secs(20), out)
            .await
            .unwrap_or_else(|_| panic!("delv {qname} {qtype}: no result within 20 s"))
            .expect("delv runs");
        let text = String::from_utf8_lossy(&out.stdout).into_owned()
            + &String::from_utf8_lossy(&out.stderr);
        assert!(
            text.lines().any(|l| l == want),
            "delv {qname} {qtype}: wanted {want:?}, got:\n{text}"
        );
    }
}
