use super::*;

fn q(route: usize, source: usize) -> QuerySlots {
    QuerySlots {
        route,
        proto: 0,
        source,
        rcode: 0,
        qtype: 0,
    }
}

// Counts from many threads add up exactly: each thread writes its own shard,
// and a shard outlives its thread.
#[test]
fn threads_count_into_their_own_shards_and_sums_are_exact() {
    let s = Arc::new(Stats::new(2));
    let threads: Vec<_> = (0..8)
        .map(|t| {
            let s = s.clone();
            std::thread::spawn(move || {
                for _ in 0..10_000 {
                    s.query(q(t % 2, 1));
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    let snap = s.snapshot();
    assert_eq!(snap.route_total(0), 40_000);
    assert_eq!(snap.route_total(1), 40_000);
    assert_eq!(snap.source_total(0, 1), 40_000);
    assert_eq!(snap.rcode(1, 0), 40_000);
    assert_eq!(snap.qtype(0), 80_000);
    assert_eq!(s.shards.lock().unwrap().len(), 8);
}

#[test]
fn two_instances_on_one_thread_stay_apart() {
    let a = Stats::new(1);
    let b = Stats::new(3);
    a.query(q(0, 0));
    b.query(q(2, 0));
    b.query(q(b.none(), 4));
    assert_eq!(a.snapshot().route_total(0), 1);
    assert_eq!(b.snapshot().route_total(0), 0);
    assert_eq!(b.snapshot().route_total(2), 1);
    assert_eq!(b.snapshot().route_total(b.none()), 1);
}

#[test]
fn upstream_round_trips_fill_buckets_and_health() {
    let s = Stats::new(2);
    s.upstream(1, 0, Some(Duration::from_micros(300)), 100);
    s.upstream(1, 0, Some(Duration::from_millis(30)), 105);
    s.upstream(1, 1, None, 110);
    s.upstream(9, 0, None, 110); // no such root: ignored
    let snap = s.snapshot();
    let (buckets, n, sum) = snap.rtt(1);
    assert_eq!(n, 2);
    assert_eq!(buckets[0], 1, "0.3 ms is in the first bucket (0.5 ms)");
    assert_eq!(buckets[6], 1, "30 ms is in the 50 ms bucket");
    assert_eq!(buckets.iter().sum::<u64>(), 2);
    assert!((sum - 0.0303).abs() < 1e-9, "{sum}");
    assert_eq!(snap.upstream(1, 0), 2);
    assert_eq!(snap.upstream(1, 1), 1);
    assert_eq!(snap.last_ok(1), 105);
    assert_eq!(snap.last_ok(0), 0);
    s.last_failure(1, 120, || "timeout: x".into());
    assert_eq!(
        s.snapshot().last_failure[1],
        Some((120, "timeout: x".into()))
    );
}

#[test]
fn dnssec_results_per_root_and_the_last_bogus_reason() {
    let s = Stats::new(2);
    s.dnssec(1, labels::SECURITY_SECURE);
    s.dnssec(1, labels::SECURITY_SECURE);
    s.dnssec(0, labels::SECURITY_BOGUS);
    s.dnssec(7, labels::SECURITY_BOGUS); // no such root: ignored
    s.last_bogus(0, 50, || "zone x.: RRSIG expired".into());
    // Next to the round trips and health, which must not move.
    s.upstream(1, 0, Some(Duration::from_millis(1)), 40);
    let snap = s.snapshot();
    assert_eq!(snap.dnssec(1, labels::SECURITY_SECURE), 2);
    assert_eq!(snap.dnssec(0, labels::SECURITY_BOGUS), 1);
    assert_eq!(snap.dnssec(0, labels::SECURITY_SECURE), 0);
    assert_eq!(snap.dnssec(1, labels::SECURITY_INDETERMINATE), 0);
    assert_eq!(snap.last_ok(1), 40);
    assert_eq!(snap.rtt(1).1, 1);
    assert_eq!(
        snap.last_bogus[0],
        Some((50, "zone x.: RRSIG expired".into()))
    );
    assert_eq!(snap.last_bogus[1], None);
}

#[test]
fn failures_and_limits() {
    let s = Stats::new(1);
    s.failure(0, 2, Some(1));
    s.refused(LIMITS.len() - 1);
    let snap = s.snapshot();
    assert_eq!(snap.failures(0, 2), 1);
    assert_eq!(snap.limit(1), 1);
    assert_eq!(snap.limit(LIMITS.len() - 1), 1);
}
