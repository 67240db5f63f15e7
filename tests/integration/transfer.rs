//! Zone transfers out (issue 16 §2): AXFR over TCP in as many messages as it
//! takes, IXFR answered with the SOA or the whole zone, `[transfer] allow`; and
//! real secondaries (NSD, Knot DNS) pulling every zone of the alternate root and
//! answering as altroot does.

use std::net::SocketAddr;
use std::time::Duration;

use hickory_proto::op::{Message, ResponseCode};
use hickory_proto::rr::rdata::SOA;
use hickory_proto::rr::{RData, Record, RecordType};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::harness::*;

/// The `[transfer]` table that lets loopback clients transfer.
pub const ALLOW_LOOPBACK: &str = "[transfer]\nallow = [\"127.0.0.0/8\"]\n";

/// Sends `q` over one TCP connection and reads replies until the transfer ends:
/// the second SOA (or a first message that is all there is: an error, or the SOA
/// alone), bounded to 10 s and 100 000 messages.
pub async fn transfer(server: SocketAddr, q: &Message) -> Vec<Message> {
    let mut s = TcpStream::connect(server).await.unwrap();
    let bytes = q.to_vec().unwrap();
    let mut framed = (bytes.len() as u16).to_be_bytes().to_vec();
    framed.extend_from_slice(&bytes);
    s.write_all(&framed).await.unwrap();
    let mut out: Vec<Message> = Vec::new();
    let mut soas = 0;
    let read = async {
        for _ in 0..100_000 {
            let mut len = [0u8; 2];
            s.read_exact(&mut len).await.unwrap();
            let mut buf = vec![0u8; u16::from_be_bytes(len) as usize];
            s.read_exact(&mut buf).await.unwrap();
            let m = Message::from_vec(&buf).unwrap();
            soas += m
                .answers
                .iter()
                .filter(|r| r.record_type() == RecordType::SOA)
                .count();
            let single = out.is_empty()
                && (m.metadata.response_code != ResponseCode::NoError || m.answers.len() == 1);
            out.push(m);
            if soas >= 2 || single {
                return;
            }
        }
        panic!("more than 100 000 messages");
    };
    tokio::time::timeout(Duration::from_secs(10), read)
        .await
        .expect("the transfer did not end within 10 s");
    out
}

/// Every answer record of a transfer, in order.
fn records(ms: &[Message]) -> Vec<Record> {
    ms.iter().flat_map(|m| m.answers.iter().cloned()).collect()
}

fn soa_serial(r: &Record) -> Option<u32> {
    match &r.data {
        RData::SOA(s) => Some(s.serial),
        _ => None,
    }
}

/// An IXFR query for `zone`, saying the client has `serial` (RFC 1995 §3).
pub fn ixfr_query(zone: &str, serial: u32) -> Message {
    let mut q = make_query(zone, RecordType::IXFR, None);
    let soa = SOA::new(name("ns."), name("host."), serial, 0, 0, 0, 0);
    q.add_authority(Record::from_rdata(name(zone), 0, RData::SOA(soa)));
    q
}

// RFC 5936: the whole zone, SOA first and last, each record once, AA set, the
// question echoed in the first message, every record as the zone file has it.
#[tokio::test]
async fn axfr_over_tcp_sends_the_zone_between_two_soas() {
    let (_w, a) = standard(ALLOW_LOOPBACK).await;
    let ms = transfer(a.addr, &make_query("geek.", RecordType::AXFR, None)).await;
    assert!(
        ms.iter()
            .all(|m| m.metadata.authoritative && m.metadata.response_code == ResponseCode::NoError)
    );
    assert_eq!(ms[0].queries.len(), 1);
    let rs = records(&ms);
    assert_eq!(soa_serial(&rs[0]), Some(7));
    assert_eq!(soa_serial(rs.last().unwrap()), Some(7));
    let zone = a
        .router()
        .zones(0)
        .unwrap()
        .get(&hickory_proto::rr::LowerName::new(&name("geek.")))
        .unwrap()
        .clone();
    let mut sent: Vec<String> = rs[1..rs.len() - 1].iter().map(|r| r.to_string()).collect();
    let mut want: Vec<String> = zone
        .records()
        .iter()
        .filter(|r| r.record_type() != RecordType::SOA)
        .map(|r| r.to_string())
        .collect();
    sent.sort();
    want.sort();
    assert_eq!(sent, want);
    assert!(
        sent.iter()
            .any(|l| l.contains("lab.geek.") && l.contains("NS")),
        "glue and cuts: {sent:?}"
    );
    // The root zone too.
    let rs = records(&transfer(a.addr, &make_query(".", RecordType::AXFR, None)).await);
    assert_eq!(soa_serial(&rs[0]), Some(1));
    assert!(
        rs.iter()
            .any(|r| r.record_type() == RecordType::NS && r.name == name("pirate."))
    );
}

// A zone larger than 64 KiB goes out in several messages (hickory-server would
// send one message and break), each under 64 KiB, and every record arrives.
#[tokio::test]
async fn a_zone_over_64k_is_split_over_several_messages() {
    let (w, _) = standard("").await;
    let mut files = alt_zones(&w);
    let mut big = String::from(
        "$TTL 60\n@ SOA ns.big. host.big. 3 3600 600 86400 60\n@ NS ns\nns A 127.0.0.1\n",
    );
    for i in 0..3000 {
        big.push_str(&format!("h{i} TXT \"{}\"\n", "y".repeat(120)));
    }
    files.push(("zones/big.zone", big));
    files.push(("hints.txt", hints(&w)));
    let a = Altroot::start(&config(&w, ALLOW_LOOPBACK), &files).await;
    let ms = transfer(a.addr, &make_query("big.", RecordType::AXFR, None)).await;
    assert!(ms.len() > 4, "{} messages", ms.len());
    let rs = records(&ms);
    assert_eq!(rs.len(), 3000 + 2 + 2);
    assert_eq!(soa_serial(&rs[0]), Some(3));
    assert_eq!(soa_serial(rs.last().unwrap()), Some(3));
    assert_eq!(ms.iter().filter(|m| !m.queries.is_empty()).count(), 1);
}

// IXFR (RFC 1995): from the current serial, the SOA alone; from an older one the
// whole zone, AXFR style (no history is kept: §4); over UDP the SOA alone, which
// sends the client to TCP (§2).
#[tokio::test]
async fn ixfr_gets_the_soa_when_current_and_the_whole_zone_when_not() {
    let (_w, a) = standard(ALLOW_LOOPBACK).await;
    let ms = transfer(a.addr, &ixfr_query("geek.", 7)).await;
    assert_eq!(ms.len(), 1);
    assert_eq!(ms[0].answers.len(), 1);
    assert_eq!(soa_serial(&ms[0].answers[0]), Some(7));
    let rs = records(&transfer(a.addr, &ixfr_query("geek.", 5)).await);
    assert!(rs.len() > 10, "{}", rs.len());
    assert_eq!(soa_serial(&rs[0]), Some(7));
    assert_eq!(soa_serial(rs.last().unwrap()), Some(7));
    let m = send_udp(a.addr, &ixfr_query("geek.", 5)).await;
    assert_eq!(m.metadata.response_code, ResponseCode::NoError);
    assert_eq!(m.answers.len(), 1);
    assert_eq!(soa_serial(&m.answers[0]), Some(7));
}

// What stays refused: AXFR over UDP (RFC 5936 §4.2: TCP only), a client not in
// `[transfer] allow` (over TCP and UDP, AXFR and IXFR); a zone we do not serve
// is NOTAUTH (RFC 5936 §2.2.1).
#[tokio::test]
async fn transfers_outside_the_rules_are_refused() {
    let (_w, a) = standard(ALLOW_LOOPBACK).await;
    let axfr = make_query("geek.", RecordType::AXFR, None);
    assert_eq!(
        send_udp(a.addr, &axfr).await.metadata.response_code,
        ResponseCode::Refused
    );
    let ms = transfer(a.addr, &make_query("example.com.", RecordType::AXFR, None)).await;
    assert_eq!(ms.len(), 1);
    assert_eq!(ms[0].metadata.response_code, ResponseCode::NotAuth);
    assert!(ms[0].answers.is_empty());

    let (_w, a) = standard("[transfer]\nallow = [\"192.0.2.0/24\"]\n").await;
    for q in [axfr.clone(), ixfr_query("geek.", 5)] {
        let m = send_tcp(a.addr, &q).await;
        assert_eq!(m.metadata.response_code, ResponseCode::Refused);
        assert!(m.answers.is_empty());
        let m = send_udp(a.addr, &q).await;
        assert_eq!(m.metadata.response_code, ResponseCode::Refused);
    }
}
