//! The cache: TTLs, trust, bounds, stale entries.

use super::*;
use hickory_proto::rr::rdata::{A, NS, SOA};
use std::time::Duration;

fn cfg() -> CacheConfig {
    CacheConfig {
        max_size: 1 << 20,
        max_ttl: Duration::from_secs(100),
        negative_max_ttl: Duration::from_secs(30),
        ..Default::default()
    }
}

fn a(name: &str, ttl: u32) -> Record {
    Record::from_rdata(
        Name::from_ascii(name).unwrap(),
        ttl,
        RData::A(A::new(192, 0, 2, 1)),
    )
}

fn soa(ttl: u32, minimum: u32) -> Record {
    let n = Name::from_ascii("example.").unwrap();
    Record::from_rdata(
        n.clone(),
        ttl,
        RData::SOA(SOA::new(n.clone(), n, 1, 1, 1, 1, minimum)),
    )
}

fn ln(s: &str) -> LowerName {
    LowerName::new(&Name::from_ascii(s).unwrap())
}

fn ttl_of(h: Hit) -> u32 {
    match h.data {
        Data::Records(r) => r[0].ttl,
        Data::NxDomain(Some(s), _) | Data::NoData(Some(s), _) => s.ttl,
        other => panic!("{other:?}"),
    }
}

const T0: u64 = 1_000_000;

#[test]
fn ttl_counts_down_with_the_wall_clock_and_expires() {
    let c = Cache::standalone(&cfg());
    c.put_rrset(vec![a("www.example.", 10)], Trust::Answer, T0);
    let key = Key::Set(ln("www.example."), RecordType::A);
    assert_eq!(ttl_of(c.get(&key, T0 + 4).unwrap()), 6);
    assert!(
        c.has(&key, T0 + 9) && !c.has(&key, T0 + 10),
        "has() agrees with get()"
    );
    assert!(c.get(&key, T0 + 10).is_none());
}

#[test]
fn ttls_are_capped_and_raised() {
    let c = Cache::standalone(&cfg());
    c.put_rrset(vec![a("www.example.", 1_000_000)], Trust::Answer, T0);
    let key = Key::Set(ln("www.example."), RecordType::A);
    assert_eq!(ttl_of(c.get(&key, T0).unwrap()), 100);
    // SOA TTL 600, MINIMUM 20 → 20; a MINIMUM over the cap → 30.
    c.put_negative(
        &ln("a.example."),
        None,
        Some(&soa(600, 20)),
        &[],
        Trust::Answer,
        T0,
    );
    c.put_negative(
        &ln("b.example."),
        None,
        Some(&soa(600, 900)),
        &[],
        Trust::Answer,
        T0,
    );
    assert_eq!(
        ttl_of(c.get(&Key::NxDomain(ln("a.example.")), T0).unwrap()),
        20
    );
    assert_eq!(
        ttl_of(c.get(&Key::NxDomain(ln("b.example.")), T0).unwrap()),
        30
    );
    // TTL 0 is not stored; with min-ttl 5 it is, for 5 s.
    c.put_rrset(vec![a("zero.example.", 0)], Trust::Answer, T0);
    assert!(
        c.get(&Key::Set(ln("zero.example."), RecordType::A), T0)
            .is_none()
    );
    let c = Cache::standalone(&CacheConfig {
        min_ttl: Duration::from_secs(5),
        ..cfg()
    });
    c.put_rrset(vec![a("zero.example.", 0)], Trust::Answer, T0);
    let key = Key::Set(ln("zero.example."), RecordType::A);
    assert_eq!(ttl_of(c.get(&key, T0).unwrap()), 5);
    assert!(c.get(&key, T0 + 5).is_none());
}

#[test]
fn glue_never_overwrites_an_answer() {
    let c = Cache::standalone(&cfg());
    c.put_rrset(vec![a("ns.example.", 50)], Trust::Answer, T0);
    c.put_rrset(vec![a("ns.example.", 50)], Trust::Glue, T0);
    let key = Key::Set(ln("ns.example."), RecordType::A);
    assert_eq!(c.get(&key, T0).unwrap().trust, Trust::Answer);
}

// The bound is in bytes, for all roots together; each root clears only its own.
#[test]
fn bounded_in_bytes_across_roots() {
    let store = Store::new(256 * 1024);
    let config = cfg();
    let (one, two) = (
        Cache::new(store.clone(), 0, &config),
        Cache::new(store.clone(), 1, &config),
    );
    for i in 0..5_000 {
        one.put_rrset(vec![a(&format!("n{i}.example."), 50)], Trust::Answer, T0);
    }
    assert!(store.weight() <= 256 * 1024, "{}", store.weight());
    assert!(one.len() < 5_000 && one.len() > 100, "{}", one.len());
    two.put_rrset(vec![a("two.example.", 50)], Trust::Answer, T0);
    one.clear();
    assert_eq!(one.len(), 0);
    assert_eq!(two.len(), 1);
}

#[test]
fn stale_entries_only_for_get_stale_within_the_window() {
    let c = Cache::standalone(&CacheConfig {
        serve_stale: Duration::from_secs(60),
        ..cfg()
    });
    c.put_rrset(vec![a("www.example.", 10)], Trust::Answer, T0);
    let key = Key::Set(ln("www.example."), RecordType::A);
    assert!(c.get_stale(&key, T0 + 5).is_none(), "fresh is not stale");
    assert!(c.get(&key, T0 + 20).is_none());
    let h = c.get_stale(&key, T0 + 20).unwrap();
    assert!(h.stale);
    assert_eq!(ttl_of(h), STALE_TTL);
    assert!(c.get_stale(&key, T0 + 70).is_none(), "past the window");
    // Without serve-stale nothing is kept past expiry.
    let c = Cache::standalone(&cfg());
    c.put_rrset(vec![a("www.example.", 10)], Trust::Answer, T0);
    assert!(c.get_stale(&key, T0 + 20).is_none());
}

#[test]
fn a_replacing_ns_set_never_lives_longer() {
    let c = Cache::standalone(&cfg());
    let ns = |ttl| {
        Record::from_rdata(
            Name::from_ascii("ghost.example.").unwrap(),
            ttl,
            RData::NS(NS(Name::from_ascii("ns.ghost.example.").unwrap())),
        )
    };
    c.put_rrset(vec![ns(50)], Trust::Referral, T0);
    c.put_rrset(vec![ns(100)], Trust::Answer, T0 + 40);
    let key = Key::Set(ln("ghost.example."), RecordType::NS);
    assert_eq!(ttl_of(c.get(&key, T0 + 40).unwrap()), 10);
    assert!(c.get(&key, T0 + 50).is_none());
}

// RFC 2181 §8: a TTL with the top bit set is zero — answered, never cached — not
// the largest TTL (the engine clamped it to max-ttl and kept it for a day).
#[test]
fn a_ttl_with_the_top_bit_set_is_zero() {
    let rules = TtlRules::new(&cfg());
    assert_eq!(rules.positive(0x8000_0000), 0);
    assert_eq!(rules.positive(u32::MAX), 0);
    assert_eq!(
        rules.positive(0x7fff_ffff),
        100,
        "the largest legal TTL, clamped"
    );
    assert_eq!(rules.negative(&soa(0x8000_0001, 20)), 0);
    assert_eq!(rules.negative(&soa(600, 0xffff_ffff)), 0);
    let c = Cache::standalone(&cfg());
    c.put_rrset(vec![a("big.example.", 0x8000_0000)], Trust::Answer, T0);
    assert!(
        c.get(&Key::Set(ln("big.example."), RecordType::A), T0)
            .is_none()
    );
}
