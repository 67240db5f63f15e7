use super::*;
use crate::xfrin::apply;
use hickory_proto::op::Query;
use hickory_proto::rr::rdata::{A, SOA, TXT};

fn name(s: &str) -> Name {
    Name::from_ascii(s).unwrap()
}

fn soa(serial: u32) -> Record {
    Record::from_rdata(
        name("geek."),
        3600,
        RData::SOA(SOA::new(
            name("ns.geek."),
            name("host.geek."),
            serial,
            3600,
            600,
            86400,
            60,
        )),
    )
}

fn a(owner: &str, last: u8) -> Record {
    Record::from_rdata(name(owner), 60, RData::A(A::new(192, 0, 2, last)))
}

/// A reply with ID 9 and these answers; the question when `question`.
fn msg(question: Option<RecordType>, answers: &[Record]) -> Message {
    let mut m = Message::new(9, MessageType::Response, OpCode::Query);
    m.metadata.authoritative = true;
    if let Some(t) = question {
        m.add_query(Query::query(name("geek."), t));
    }
    for r in answers {
        m.add_answer(r.clone());
    }
    m
}

fn axfr() -> Interpreter {
    Interpreter::new(&name("geek."), RecordType::AXFR, 9, None, 1000)
}

fn ixfr(have: u32) -> Interpreter {
    Interpreter::new(&name("geek."), RecordType::IXFR, 9, Some(have), 1000)
}

/// Feeds every message; the result of the last feed, then of finish.
fn run(mut i: Interpreter, ms: &[Message]) -> Result<Fetched, Bad> {
    let mut done = false;
    for m in ms {
        assert!(!done, "fed after done");
        done = i.feed(m)?;
    }
    i.finish()
}

// RFC 5936: SOA, the records over any number of messages (the question only in
// the first), SOA again: the zone with the SOA first and the closing one dropped.
#[test]
fn axfr_over_three_messages_is_the_whole_zone() {
    let ms = [
        msg(Some(RecordType::AXFR), &[soa(5), a("www.geek.", 1)]),
        msg(None, &[a("a.geek.", 2)]),
        msg(None, &[a("b.geek.", 3), soa(5)]),
    ];
    assert_eq!(
        run(axfr(), &ms),
        Ok(Fetched::Full {
            serial: 5,
            records: vec![soa(5), a("www.geek.", 1), a("a.geek.", 2), a("b.geek.", 3)]
        })
    );
    // The first message may be the SOA alone; an SOA-only zone is SOA, SOA.
    let ms = [msg(Some(RecordType::AXFR), &[soa(5)]), msg(None, &[soa(5)])];
    assert_eq!(
        run(axfr(), &ms),
        Ok(Fetched::Full {
            serial: 5,
            records: vec![soa(5)]
        })
    );
}

// Never half a zone: a stream that stops before the closing SOA, a record after
// it, a wrong ID, an rcode, a record outside the zone, a first record that is not
// the SOA, a second SOA of another serial, a question for another zone, more
// records than allowed.
#[test]
fn what_is_not_a_whole_zone_is_an_error() {
    let start = msg(Some(RecordType::AXFR), &[soa(5), a("www.geek.", 1)]);
    let mut i = axfr();
    assert_eq!(i.feed(&start), Ok(false));
    assert_eq!(
        i.finish(),
        Err(Bad::Malformed(
            "the stream ended before the closing SOA".into()
        ))
    );

    let err = |ms: &[Message]| match run(axfr(), ms) {
        Err(Bad::Malformed(w)) => w,
        other => panic!("{other:?}"),
    };
    assert_eq!(
        err(&[msg(
            Some(RecordType::AXFR),
            &[soa(5), soa(5), a("x.geek.", 1)]
        )]),
        "1 records after the closing SOA"
    );
    let mut wrong_id = msg(None, &[soa(5)]);
    wrong_id.metadata.id = 10;
    assert_eq!(err(&[start.clone(), wrong_id]), "a reply with ID 10, not 9");
    assert!(
        err(&[msg(Some(RecordType::AXFR), &[soa(5), a("www.example.", 1)])])
            .contains("outside the zone")
    );
    assert!(
        err(&[msg(Some(RecordType::AXFR), &[a("www.geek.", 1)])]).contains("not the zone's SOA")
    );
    assert!(
        err(&[msg(
            Some(RecordType::AXFR),
            &[soa(5), a("w.geek.", 1), soa(6)]
        )])
        .contains("inside the zone")
    );
    assert_eq!(
        err(&[msg(None, &[soa(5)])]),
        "the first reply has no question"
    );
    let mut other = msg(None, &[soa(5)]);
    other.add_query(Query::query(name("biz."), RecordType::AXFR));
    assert!(err(&[other]).contains("a reply for biz. AXFR"));

    let mut refused = msg(Some(RecordType::AXFR), &[]);
    refused.metadata.response_code = ResponseCode::NotAuth;
    assert_eq!(
        run(axfr(), &[refused]),
        Err(Bad::Rcode(ResponseCode::NotAuth))
    );

    let mut small = Interpreter::new(&name("geek."), RecordType::AXFR, 9, None, 2);
    assert_eq!(small.feed(&start), Ok(false));
    assert_eq!(small.feed(&msg(None, &[soa(5)])), Err(Bad::TooLarge(2)));
}

// RFC 1995 §4: the SOA alone when our serial is current (or newer);
// AXFR-style (the second record is no SOA) → the whole zone.
#[test]
fn ixfr_current_and_axfr_style() {
    let ms = [msg(Some(RecordType::IXFR), &[soa(5)])];
    assert_eq!(run(ixfr(5), &ms), Ok(Fetched::Current { serial: 5 }));
    assert_eq!(run(ixfr(7), &ms), Ok(Fetched::Current { serial: 5 }));
    // Older than the primary: the SOA alone starts a transfer that must go on.
    let mut i = ixfr(4);
    assert_eq!(i.feed(&ms[0]), Ok(false));
    assert!(i.finish().is_err());

    let ms = [msg(
        Some(RecordType::IXFR),
        &[soa(5), a("www.geek.", 1), soa(5)],
    )];
    assert_eq!(
        run(ixfr(3), &ms),
        Ok(Fetched::Full {
            serial: 5,
            records: vec![soa(5), a("www.geek.", 1)]
        })
    );
}

fn txt(owner: &str, s: &str) -> Record {
    Record::from_rdata(name(owner), 60, RData::TXT(TXT::new(vec![s.into()])))
}

// Incremental: SOA new, then per change SOA old, removed, SOA next, added; SOA
// new last. Two changes 3 → 4 → 5 over two messages; `apply` gives what the
// zone at 5 holds.
#[test]
fn ixfr_incremental_changes_apply_in_order() {
    let ms = [
        msg(
            Some(RecordType::IXFR),
            &[soa(5), soa(3), a("www.geek.", 1), soa(4), a("www.geek.", 2)],
        ),
        msg(
            None,
            &[
                soa(4),
                txt("t.geek.", "old"),
                soa(5),
                txt("t.geek.", "new"),
                a("new.geek.", 9),
                soa(5),
            ],
        ),
    ];
    let Ok(Fetched::Changes { serial, changes }) = run(ixfr(3), &ms) else {
        panic!("{:?}", run(ixfr(3), &ms))
    };
    assert_eq!(serial, 5);
    let spans: Vec<(u32, u32, usize, usize)> = changes
        .iter()
        .map(|c| (c.from, c.to, c.removed.len(), c.added.len()))
        .collect();
    assert_eq!(spans, vec![(3, 4, 1, 1), (4, 5, 1, 2)]);
    assert_eq!(changes[1].soa, soa(5));

    let zone = vec![
        soa(3),
        a("WWW.geek.", 1),
        txt("t.geek.", "old"),
        a("keep.geek.", 7),
    ];
    let mut got = apply(zone.clone(), &changes).unwrap();
    got.sort();
    let mut want = vec![
        soa(5),
        a("www.geek.", 2),
        txt("t.geek.", "new"),
        a("keep.geek.", 7),
        a("new.geek.", 9),
    ];
    want.sort();
    assert_eq!(got, want);

    // Changes that do not fit: from another serial, or removing what is not there.
    let e = apply(zone.clone(), &changes[1..]).unwrap_err().to_string();
    assert_eq!(
        e,
        "changes to geek.: a change from serial 4 to 5, but the zone is at 3"
    );
    let e = apply(vec![soa(3)], &changes).unwrap_err().to_string();
    assert!(e.contains("is to be removed but is not in the zone"), "{e}");

    // A first change from a serial other than ours, and a gap between changes.
    let gap = [msg(
        Some(RecordType::IXFR),
        &[soa(5), soa(3), soa(4), soa(2), soa(5), soa(5)],
    )];
    assert!(
        matches!(run(ixfr(3), &gap), Err(Bad::Malformed(w)) if w.contains("not where the one before ended"))
    );
    assert!(matches!(run(ixfr(2), &ms), Err(Bad::Malformed(w)) if w.contains("not ours")));
}

// A whole incremental answer in one message is changes, not "current" (the
// first message's records are not the zone then).
#[test]
fn ixfr_in_one_message_is_changes() {
    let ms = [msg(
        Some(RecordType::IXFR),
        &[
            soa(4),
            soa(3),
            a("www.geek.", 1),
            soa(4),
            a("www.geek.", 2),
            soa(4),
        ],
    )];
    let Ok(Fetched::Changes { serial: 4, changes }) = run(ixfr(3), &ms) else {
        panic!("{:?}", run(ixfr(3), &ms))
    };
    assert_eq!(changes.len(), 1);
}

// TTL changes are a removal and an addition; the removal matches whatever the TTL.
#[test]
fn a_ttl_change_is_remove_and_add() {
    let mut longer = a("www.geek.", 1);
    longer.ttl = 600;
    let c = Change {
        from: 3,
        to: 4,
        removed: vec![a("www.geek.", 1)],
        added: vec![longer.clone()],
        soa: soa(4),
    };
    let mut zone_rec = a("www.geek.", 1);
    zone_rec.ttl = 30;
    let got = apply(vec![soa(3), zone_rec], &[c]).unwrap();
    assert_eq!(got, vec![soa(4), longer]);
}
