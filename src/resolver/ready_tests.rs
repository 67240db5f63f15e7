//! Ready answers: filed by key, patched for each client.
use super::*;
use hickory_proto::op::{Edns, Message, MessageType, OpCode, Query, ResponseCode};
use hickory_proto::rr::rdata::{A, SOA};
use hickory_proto::rr::{Name, RData, Record, RecordType};

fn ready(p: Option<ReadyParts>) -> Ready {
    p.unwrap().assemble(b"key").unwrap()
}

// Filed by a hash, found only under its own key.
#[test]
fn filed_and_found_by_key() {
    let c = ReadyCache::new(1 << 20);
    let p = ReadyParts::from_reply(
        &reply(300, false, false),
        Route::Root(1),
        Source::Network,
        1,
        0,
    )
    .unwrap();
    c.insert(b"one", p, c.generation());
    assert!(c.get(b"one").is_some());
    assert!(c.get(b"two").is_none());
    c.clear();
    assert!(c.get(b"one").is_none());
}

// An answer looked up before a reload cleared the store is not filed after it:
// it may hold what the old zones said.
#[test]
fn an_answer_from_before_a_clear_is_not_filed() {
    let c = ReadyCache::new(1 << 20);
    let parts = || {
        ReadyParts::from_reply(&reply(300, false, false), Route::Local, Source::Local, 1, 0)
            .unwrap()
    };
    let before = c.generation();
    c.clear();
    c.insert(b"one", parts(), before);
    assert!(c.get(b"one").is_none());
    c.insert(b"one", parts(), c.generation());
    assert!(c.get(b"one").is_some());
}

fn reply(ttl: u32, edns: bool, big: bool) -> Vec<u8> {
    let n = Name::from_ascii("www.geek.").unwrap();
    let mut m = Message::new(0, MessageType::Response, OpCode::Query);
    m.metadata.recursion_available = true;
    m.add_query(Query::query(n.clone(), RecordType::A));
    let count = if big { 60 } else { 1 };
    for i in 0..count {
        m.add_answer(Record::from_rdata(
            n.clone(),
            ttl,
            RData::A(A::new(192, 0, 2, i as u8)),
        ));
    }
    let z = Name::from_ascii("geek.").unwrap();
    m.add_authority(Record::from_rdata(
        z.clone(),
        ttl + 100,
        RData::SOA(SOA::new(z.clone(), z, 1, 1, 1, 1, 1)),
    ));
    if edns {
        let mut e = Edns::new();
        e.set_max_payload(1232);
        m.set_edns(e);
    }
    m.to_vec().unwrap()
}

#[test]
fn a_hit_is_patched_for_its_client() {
    let r = ready(ReadyParts::from_reply(
        &reply(300, true, false),
        Route::Root(1),
        Source::Network,
        1,
        1_000,
    ));
    assert_eq!(r.expires(), 1_300, "the smallest TTL");
    let mut out = Vec::new();
    r.write(
        &mut out,
        0x1234,
        true,
        true,
        true,
        b"\x03WwW\x04gEEk\x00",
        1232,
        1_010,
    );
    let m = Message::from_vec(&out).unwrap();
    assert_eq!(m.metadata.id, 0x1234);
    assert!(m.metadata.recursion_desired && m.metadata.checking_disabled);
    assert_eq!(m.queries[0].name().to_string(), "WwW.gEEk.");
    assert_eq!(m.answers[0].ttl, 290);
    assert_eq!(m.authorities[0].ttl, 390);
    assert_eq!(m.edns.unwrap().max_payload(), 1232, "ours, as stored");
    assert_eq!(m.metadata.response_code, ResponseCode::NoError);
}

#[test]
fn local_answers_keep_their_ttls_and_live_a_minute() {
    let r = ready(ReadyParts::from_reply(
        &reply(0, false, false),
        Route::Root(0),
        Source::Local,
        1,
        1_000,
    ));
    assert_eq!(r.expires(), 1_000 + LOCAL_SECS);
    let mut out = Vec::new();
    r.write(
        &mut out,
        1,
        false,
        false,
        true,
        b"\x03www\x04geek\x00",
        512,
        1_050,
    );
    assert_eq!(Message::from_vec(&out).unwrap().answers[0].ttl, 0);
    // A TTL that could be counted down is not: 50 s later it is still 300.
    let r = ready(ReadyParts::from_reply(
        &reply(300, false, false),
        Route::Root(0),
        Source::Local,
        1,
        1_000,
    ));
    out.clear();
    r.write(
        &mut out,
        1,
        false,
        false,
        true,
        b"\x03www\x04geek\x00",
        512,
        1_050,
    );
    assert_eq!(Message::from_vec(&out).unwrap().answers[0].ttl, 300);
    assert!(
        ReadyParts::from_reply(
            &reply(0, false, false),
            Route::Root(1),
            Source::Network,
            1,
            0
        )
        .is_none(),
        "TTL 0 from the network is never kept"
    );
}

#[test]
fn too_big_for_the_client_is_cut_to_tc() {
    let r = ready(ReadyParts::from_reply(
        &reply(300, true, true),
        Route::Root(1),
        Source::Cache,
        60,
        0,
    ));
    let mut out = Vec::new();
    r.write(
        &mut out,
        7,
        true,
        false,
        true,
        b"\x03www\x04geek\x00",
        512,
        0,
    );
    let m = Message::from_vec(&out).unwrap();
    assert!(m.metadata.truncation);
    assert!(m.answers.is_empty() && m.authorities.is_empty());
    assert!(m.edns.is_some(), "OPT kept");
    r.write(
        &mut out,
        7,
        true,
        false,
        true,
        b"\x03www\x04geek\x00",
        usize::from(u16::MAX),
        0,
    );
    assert_eq!(
        Message::from_vec(&out).unwrap().answers.len(),
        60,
        "whole over TCP"
    );
    let mut tc = reply(300, false, false);
    tc[2] |= 0x02;
    assert!(
        ReadyParts::from_reply(&tc, Route::Root(1), Source::Cache, 1, 0).is_none(),
        "a truncated reply is not kept"
    );
}
