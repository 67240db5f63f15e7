//! What a DNSSEC-aware client gets through altroot (issue 15, before validation):
//! upstream queries carry DO; RRSIGs and NSEC proofs travel with their data, from
//! the network and from the cache, to clients that set DO, and to no other.

use hickory_proto::dnssec::rdata::DNSSECRData;
use hickory_proto::op::{Edns, Message, ResponseCode};
use hickory_proto::rr::{RData, Record, RecordType};

use crate::harness::*;
use crate::world::{Behaviour, Spec};
use crate::worlds::*;

/// The ICANN-like world with `signed.com` on a server that signs (fake RRSIGs).
fn signed_world(b: [u8; 3]) -> Vec<Spec> {
    let com = format!("signed NS ns1.signed\nns1.signed A {}", ip(b, BAD_LONE));
    let mut v = base(b, &com, "");
    v.push(leaf(
        "signer",
        ip(b, BAD_LONE),
        &[("signed.com.", "www A 192.0.2.80\nalias CNAME www")],
        Behaviour::Signs,
    ));
    v
}

fn ask(qname: &str, qtype: RecordType, dnssec_ok: bool) -> Message {
    let mut m = make_query(qname, qtype, Some(1232));
    let mut e = Edns::new();
    e.set_max_payload(1232);
    e.set_dnssec_ok(dnssec_ok);
    m.set_edns(e);
    m
}

/// The types the RRSIGs of `records` cover, in order.
fn covered(records: &[Record]) -> Vec<RecordType> {
    records
        .iter()
        .filter_map(|r| match &r.data {
            RData::DNSSEC(DNSSECRData::RRSIG(s)) => Some(s.input().type_covered),
            _ => None,
        })
        .collect()
}

fn types(records: &[Record]) -> Vec<RecordType> {
    records.iter().map(Record::record_type).collect()
}

#[tokio::test]
async fn rrsigs_reach_clients_that_set_do_from_the_network_and_the_cache() {
    let (w, a) = start(signed_world).await;
    for round in ["network", "cache"] {
        let m = send_udp(a.addr, &ask("www.signed.com.", RecordType::A, true)).await;
        assert_eq!(m.metadata.response_code, ResponseCode::NoError, "{round}");
        assert_eq!(
            types(&m.answers),
            [RecordType::A, RecordType::RRSIG],
            "{round}: {m:?}"
        );
        assert_eq!(covered(&m.answers), [RecordType::A], "{round}");
        assert!(
            m.edns.as_ref().is_some_and(|e| e.flags().dnssec_ok),
            "DO echoed"
        );
        assert!(
            !m.metadata.authentic_data,
            "nothing is validated yet: no AD"
        );
        // The RRSIG has the TTL of its RRset.
        assert_eq!(m.answers[0].ttl, m.answers[1].ttl, "{round}");
    }
    let asked = w.server("signer").seen();
    assert_eq!(
        asked
            .iter()
            .filter(|s| s.name == name("www.signed.com."))
            .count(),
        1,
        "the second answer came from the cache: {asked:?}"
    );
    assert!(
        w.all_seen().iter().all(|(_, s)| s.dnssec_ok),
        "every upstream query carries DO"
    );
    // A CNAME and its target, each with its signature.
    let m = send_udp(a.addr, &ask("alias.signed.com.", RecordType::A, true)).await;
    assert_eq!(
        types(&m.answers),
        [
            RecordType::CNAME,
            RecordType::RRSIG,
            RecordType::A,
            RecordType::RRSIG
        ],
        "{m:?}"
    );
    assert_eq!(covered(&m.answers), [RecordType::CNAME, RecordType::A]);
}

#[tokio::test]
async fn clients_without_do_get_no_dnssec_records() {
    let (_w, a) = start(signed_world).await;
    // Fill the cache with the signed data first, for a DO client.
    send_udp(a.addr, &ask("www.signed.com.", RecordType::A, true)).await;
    send_udp(a.addr, &ask("none.signed.com.", RecordType::A, true)).await;
    for m in [
        send_udp(a.addr, &ask("www.signed.com.", RecordType::A, false)).await,
        send_udp(a.addr, &make_query("www.signed.com.", RecordType::A, None)).await,
    ] {
        assert_eq!(types(&m.answers), [RecordType::A], "{m:?}");
    }
    let m = send_udp(a.addr, &ask("none.signed.com.", RecordType::A, false)).await;
    assert_eq!(m.metadata.response_code, ResponseCode::NXDomain);
    assert_eq!(types(&m.authorities), [RecordType::SOA], "{m:?}");
}

#[tokio::test]
async fn negative_answers_carry_their_proof_to_do_clients() {
    let (w, a) = start(signed_world).await;
    for round in ["network", "cache"] {
        let m = send_udp(a.addr, &ask("none.signed.com.", RecordType::A, true)).await;
        assert_eq!(m.metadata.response_code, ResponseCode::NXDomain, "{round}");
        assert_eq!(
            types(&m.authorities),
            [
                RecordType::SOA,
                RecordType::RRSIG,
                RecordType::NSEC,
                RecordType::RRSIG
            ],
            "{round}: {m:?}"
        );
        assert_eq!(covered(&m.authorities), [RecordType::SOA, RecordType::NSEC]);
        let ttl = m.authorities[0].ttl;
        assert!(ttl <= 60, "the SOA's MINIMUM caps it: {ttl}");
        assert!(
            m.authorities.iter().all(|r| r.ttl == ttl),
            "{round}: the proof lives as long as the SOA: {m:?}"
        );
        // NODATA the same way.
        let m = send_udp(a.addr, &ask("www.signed.com.", RecordType::TXT, true)).await;
        assert_eq!(m.metadata.response_code, ResponseCode::NoError, "{round}");
        assert!(m.answers.is_empty());
        assert_eq!(
            covered(&m.authorities),
            [RecordType::SOA, RecordType::NSEC],
            "{round}: {m:?}"
        );
    }
    let asked = w.server("signer").seen();
    assert_eq!(
        asked
            .iter()
            .filter(|s| s.name == name("none.signed.com.") && s.qtype == RecordType::A)
            .count(),
        1,
        "the second NXDOMAIN came from the cache: {asked:?}"
    );
}
