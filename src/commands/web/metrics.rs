//! `/metrics`: the Prometheus text format, encoded at scrape time by a
//! `prometheus-client` collector from the counters' sums (no metric objects are
//! updated on the answer path). docs/operating.md lists every metric.

use std::sync::Arc;

use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeMetric, NoLabelSet};
use prometheus_client::metrics::MetricType::{self, Counter, Gauge};
use prometheus_client::metrics::counter::ConstCounter;
use prometheus_client::metrics::gauge::ConstGauge;
use prometheus_client::registry::Registry;

use super::{Web, api};
use crate::resolver::rcode_str;
use crate::stats::Snapshot;
use crate::stats::labels::{
    LIMITS, PROTOCOLS, QTYPES, RCODES, REASONS, RTT_BUCKETS, SECURITY, SOURCE_HIT, SOURCE_MISS,
    SOURCE_STALE, SOURCES, UPSTREAM, qtype_label,
};

type Labels = Vec<(&'static str, String)>;

/// One metric family: its name (counters get `_total`), help, type and samples.
struct Family {
    name: &'static str,
    help: &'static str,
    kind: MetricType,
    rows: Vec<(Labels, f64)>,
}

fn fam(
    name: &'static str,
    help: &'static str,
    kind: MetricType,
    rows: Vec<(Labels, f64)>,
) -> Family {
    Family {
        name,
        help,
        kind,
        rows,
    }
}

fn l(k: &'static str, v: impl ToString) -> (&'static str, String) {
    (k, v.to_string())
}

/// The collector: every family, from one snapshot of the counters.
#[derive(Debug)]
struct Collect(Arc<Web>);

pub async fn scrape(State(web): State<Arc<Web>>) -> Response {
    // The cache walk can take a while on a big cache: off the async workers.
    match tokio::task::spawn_blocking(move || render(web)).await {
        Ok(body) => (
            [(
                header::CONTENT_TYPE,
                "text/plain; version=0.0.4; charset=utf-8",
            )],
            body,
        )
            .into_response(),
        Err(_) => (StatusCode::INTERNAL_SERVER_ERROR, "encoding failed\n").into_response(),
    }
}

/// The text a scrape returns.
pub fn render(web: Arc<Web>) -> String {
    let mut registry = Registry::default();
    registry.register_collector(Box::new(Collect(web)));
    let mut out = String::new();
    if prometheus_client::encoding::prometheus_text::encode(&mut out, &registry).is_err() {
        out.push_str("# encoding failed\n");
    }
    out
}

impl Collector for Collect {
    fn encode(&self, mut enc: DescriptorEncoder) -> std::fmt::Result {
        let web = &self.0;
        let resolver = &web.service.resolver;
        let snap = resolver.stats().snapshot();
        let routes = api::route_names(resolver);
        let roots = &routes[..snap.roots()];
        let mut all = build(web);
        all.extend(queries(&snap, &routes));
        all.extend(caches(web, &snap, roots));
        all.extend(upstream(&snap, roots));
        all.extend(health(web, &snap, roots));
        all.extend(dnssec(web, &snap, roots));
        all.extend(zones(web));
        for f in all {
            let mut m = enc.encode_descriptor(f.name, f.help, None, f.kind)?;
            for (labels, v) in f.rows {
                let e = m.encode_family(&labels)?;
                match f.kind {
                    Counter => ConstCounter::new(v as u64).encode(e)?,
                    _ => ConstGauge::new(v).encode(e)?,
                }
            }
        }
        rtt(&mut enc, &snap, roots)
    }
}

fn build(web: &Web) -> Vec<Family> {
    let version = vec![
        l("version", crate::commands::PKG_VERSION),
        l("commit", crate::commands::COMMIT),
    ];
    vec![
        fam(
            "altroot_build_info",
            "Version and git commit of this binary (always 1).",
            Gauge,
            vec![(version, 1.0)],
        ),
        fam(
            "altroot_start_time_seconds",
            "When serve started (Unix time).",
            Gauge,
            vec![(vec![], web.started as f64)],
        ),
    ]
}

fn rcode_label(slot: usize) -> &'static str {
    use hickory_proto::op::ResponseCode;
    match u8::try_from(slot) {
        Ok(low) if low < 16 => rcode_str(ResponseCode::from_low(low)),
        _ => "BADVERS",
    }
}

/// Answered queries by route, protocol, source, rcode, type; failures; limits.
fn queries(snap: &Snapshot, routes: &[String]) -> Vec<Family> {
    let (mut q, mut rc, mut fail) = (Vec::new(), Vec::new(), Vec::new());
    let nonzero = |rows: &mut Vec<(Labels, f64)>, labels: Labels, n: u64| {
        if n > 0 {
            rows.push((labels, n as f64));
        }
    };
    for (r, root) in routes.iter().enumerate() {
        for (p, proto) in PROTOCOLS.iter().enumerate() {
            for (s, source) in SOURCES.iter().enumerate() {
                let labels = vec![l("root", root), l("protocol", proto), l("cache", source)];
                nonzero(&mut q, labels, snap.queries(r, p, s));
            }
        }
        for code in 0..RCODES {
            let labels = vec![l("root", root), l("rcode", rcode_label(code))];
            nonzero(&mut rc, labels, snap.rcode(r, code));
        }
        for (i, reason) in REASONS.iter().enumerate() {
            nonzero(
                &mut fail,
                vec![l("root", root), l("reason", reason)],
                snap.failures(r, i),
            );
        }
    }
    let mut qt = Vec::new();
    for i in 0..=QTYPES.len() {
        nonzero(&mut qt, vec![l("qtype", qtype_label(i))], snap.qtype(i));
    }
    let limits = LIMITS
        .iter()
        .enumerate()
        .map(|(i, k)| (vec![l("limit", k)], snap.limit(i) as f64))
        .collect();
    vec![
        fam(
            "altroot_queries",
            "Queries answered, by root (or local, interrupt, none), protocol and where the answer came from (cache: local, hit, miss, stale; none for rejected requests).",
            Counter,
            q,
        ),
        fam(
            "altroot_responses",
            "Responses by root and rcode.",
            Counter,
            rc,
        ),
        fam(
            "altroot_queries_by_type",
            "Queries by query type (other: every type not listed).",
            Counter,
            qt,
        ),
        fam(
            "altroot_failures",
            "Failed answers (SERVFAIL) by root and failure code.",
            Counter,
            fail,
        ),
        fam(
            "altroot_limit_refusals",
            "Questions refused by a limit: a [limits] budget ran out, max-resolutions or max-per-client was reached, or the rate limit dropped or slipped a response.",
            Counter,
            limits,
        ),
    ]
}

/// One sample per root.
fn per_root(roots: &[String], f: impl Fn(usize) -> f64) -> Vec<(Labels, f64)> {
    roots
        .iter()
        .enumerate()
        .map(|(i, n)| (vec![l("root", n)], f(i)))
        .collect()
}

fn caches(web: &Web, snap: &Snapshot, roots: &[String]) -> Vec<Family> {
    let resolver = &web.service.resolver;
    let usage = resolver
        .roots
        .first()
        .map(|r| r.cache.store().usage(roots.len()))
        .unwrap_or_default();
    let used = |i: usize| usage.get(i).copied().unwrap_or_default();
    let ready = resolver.ready();
    vec![
        fam(
            "altroot_cache_hits",
            "Answers from the root's cache (ready answers included).",
            Counter,
            per_root(roots, |i| snap.source_total(i, SOURCE_HIT) as f64),
        ),
        fam(
            "altroot_cache_misses",
            "Answers that needed the root's servers.",
            Counter,
            per_root(roots, |i| snap.source_total(i, SOURCE_MISS) as f64),
        ),
        fam(
            "altroot_cache_stale",
            "Answers served stale (RFC 8767) because the servers failed.",
            Counter,
            per_root(roots, |i| snap.source_total(i, SOURCE_STALE) as f64),
        ),
        fam(
            "altroot_cache_entries",
            "Entries in the root's cache (RRsets, negative answers, delegations).",
            Gauge,
            per_root(roots, |i| used(i).0 as f64),
        ),
        fam(
            "altroot_cache_bytes",
            "Bytes the root's cache entries take (as the [cache] max-size bound counts them).",
            Gauge,
            per_root(roots, |i| used(i).1 as f64),
        ),
        fam(
            "altroot_ready_answers",
            "Replies kept in wire form for the fast path (all roots).",
            Gauge,
            vec![(vec![], ready.len() as f64)],
        ),
        fam(
            "altroot_ready_answers_bytes",
            "Bytes of the replies kept in wire form.",
            Gauge,
            vec![(vec![], ready.weight() as f64)],
        ),
    ]
}

fn upstream(snap: &Snapshot, roots: &[String]) -> Vec<Family> {
    let mut up = Vec::new();
    for (i, n) in roots.iter().enumerate() {
        for (r, result) in UPSTREAM.iter().enumerate() {
            up.push((
                vec![l("root", n), l("result", result)],
                snap.upstream(i, r) as f64,
            ));
        }
    }
    vec![fam(
        "altroot_upstream_queries",
        "Queries sent to a root's servers, by result: reply, timeout, unreachable, error (not DNS, cut short), local (no socket).",
        Counter,
        up,
    )]
}

/// The round-trip histogram per root.
fn rtt(enc: &mut DescriptorEncoder, snap: &Snapshot, roots: &[String]) -> std::fmt::Result {
    let mut m = enc.encode_descriptor(
        "altroot_upstream_rtt_seconds",
        "Round trip of each upstream query that got a reply, per root.",
        None,
        MetricType::Histogram,
    )?;
    for (i, n) in roots.iter().enumerate() {
        // Per-bucket counts: the encoder makes them cumulative.
        let (counts, count, sum) = snap.rtt(i);
        let bounds = RTT_BUCKETS.iter().copied().chain([f64::INFINITY]);
        let buckets: Vec<(f64, u64)> = bounds.zip(counts).collect();
        let labels = vec![l("root", n)];
        let mut e = m.encode_family(&labels)?;
        e.encode_histogram::<NoLabelSet>(sum, count, &buckets, None)?;
    }
    Ok(())
}

fn health(web: &Web, snap: &Snapshot, roots: &[String]) -> Vec<Family> {
    let failed = |i: usize| {
        snap.last_failure
            .get(i)
            .and_then(|f| f.as_ref())
            .map_or(0.0, |f| f.0 as f64)
    };
    let collisions = api::collisions(&web.service)
        .iter()
        .map(|c| {
            (
                vec![
                    l("tld", &c.tld),
                    l("roots", c.roots.join(",")),
                    l("winner", &c.winner),
                ],
                1.0,
            )
        })
        .collect();
    let dropped = web.frontend.as_ref().map_or(0, |f| f.log_dropped());
    vec![
        fam(
            "altroot_root_last_reply_timestamp_seconds",
            "When one of the root's servers last replied (Unix time; 0: never).",
            Gauge,
            per_root(roots, |i| snap.last_ok(i) as f64),
        ),
        fam(
            "altroot_root_last_failure_timestamp_seconds",
            "When an answer routed to the root last failed (Unix time; 0: never).",
            Gauge,
            per_root(roots, failed),
        ),
        fam(
            "altroot_collision",
            "A TLD more than one root has, seen since the last reload (always 1): the roots that have it and the one that answers.",
            Gauge,
            collisions,
        ),
        fam(
            "altroot_panics",
            "Panics caught in the work of one query, connection or DoH request, by protocol: each one a bug; the listener went on.",
            Counter,
            PROTOCOLS
                .iter()
                .enumerate()
                .map(|(i, p)| {
                    let n = web.service.resolver.stats().panics(i);
                    (vec![l("protocol", p)], n as f64)
                })
                .collect(),
        ),
        fam(
            "altroot_query_log_dropped",
            "Query log records dropped because the log writer fell behind.",
            Counter,
            vec![(vec![], dropped as f64)],
        ),
    ]
}

/// DNSSEC per root: whether it validates, the results of its links, its
/// negative trust anchors and its last bogus link.
fn dnssec(web: &Web, snap: &Snapshot, roots: &[String]) -> Vec<Family> {
    let resolver = &web.service.resolver;
    let validating = |i: usize| resolver.roots.get(i).is_some_and(|r| r.anchors.is_some());
    let mut results = Vec::new();
    for (i, n) in roots.iter().enumerate().filter(|(i, _)| validating(*i)) {
        for (r, result) in SECURITY.iter().enumerate() {
            results.push((
                vec![l("root", n), l("result", result)],
                snap.dnssec(i, r) as f64,
            ));
        }
    }
    let negative = |i: usize| {
        web.service
            .config
            .roots
            .get(i)
            .map_or(0, |r| r.trust_anchors.negative().len()) as f64
    };
    let bogus_at = |i: usize| {
        snap.last_bogus
            .get(i)
            .and_then(|b| b.as_ref())
            .map_or(0.0, |b| b.0 as f64)
    };
    vec![
        fam(
            "altroot_dnssec_validating",
            "1 if the root validates DNSSEC (it has trust anchors), else 0.",
            Gauge,
            per_root(roots, |i| if validating(i) { 1.0 } else { 0.0 }),
        ),
        fam(
            "altroot_dnssec_validations",
            "Links of clients' answers validated in a validating root (or recalled as validated), by result: secure, insecure, bogus (answered SERVFAIL), indeterminate. CD queries and ready answers are not validated again.",
            Counter,
            results,
        ),
        fam(
            "altroot_dnssec_negative_trust_anchors",
            "Negative trust anchors configured for the root (RFC 7646).",
            Gauge,
            per_root(roots, negative),
        ),
        fam(
            "altroot_dnssec_last_bogus_timestamp_seconds",
            "When a link in the root was last found bogus (Unix time; 0: never).",
            Gauge,
            per_root(roots, bogus_at),
        ),
    ]
}

/// Zones: serials, sizes, loads and reloads.
fn zones(web: &Web) -> Vec<Family> {
    let service = &web.service;
    let (mut serials, mut records) = (Vec::new(), Vec::new());
    for (i, rc) in service.config.roots.iter().enumerate() {
        for z in service.resolver.zones(i).iter().flat_map(|s| s.zones()) {
            let labels = vec![l("root", &rc.name), l("zone", z.origin())];
            serials.push((labels.clone(), f64::from(z.serial())));
            records.push((labels, z.len() as f64));
        }
    }
    let h = &service.history;
    let reloads = h
        .reloads()
        .into_iter()
        .map(|(t, o, n)| (vec![l("trigger", t), l("result", o)], n as f64))
        .collect();
    let errors = h.standing().iter().filter(|p| p.is_error()).count();
    let last = h.events().first().map_or(0, |e| e.at);
    let mut transfers = Vec::new();
    for (i, c) in service.resolver.notices().all_counts() {
        let root = service.config.roots.get(i).map_or("?", |r| r.name.as_str());
        use crate::xfrin::notices::Counts as C;
        for (kind, n) in [
            ("full", &c.full),
            ("incremental", &c.incremental),
            ("current", &c.current),
            ("failed", &c.failed),
            ("notify", &c.notifies),
            ("expired", &c.expired),
        ] {
            transfers.push((vec![l("root", root), l("kind", kind)], C::get(n) as f64));
        }
    }
    vec![
        fam(
            "altroot_transfers_in",
            "Zone transfer in, by root (transfer-from) and kind: full (AXFR, or IXFR in AXFR form) and incremental (IXFR) transfers used, current (an SOA check found the serial current), failed (no primary answered, or what came was not used), notify (NOTIFYs taken), expired (zones moved aside past their SOA expire).",
            Counter,
            transfers,
        ),
        fam(
            "altroot_zone_serial",
            "SOA serial of each zone served in-process, as loaded.",
            Gauge,
            serials,
        ),
        fam(
            "altroot_zone_records",
            "Records in each zone served in-process.",
            Gauge,
            records,
        ),
        fam(
            "altroot_zone_loads",
            "Zone versions read (start-up and reloads).",
            Counter,
            vec![(vec![], h.zone_loads() as f64)],
        ),
        fam(
            "altroot_reloads",
            "Reloads by trigger (sighup, watch) and result (ok: new zones swapped in; unchanged; failed: a file has an error, and its root keeps the zones it served).",
            Counter,
            reloads,
        ),
        fam(
            "altroot_zone_errors",
            "Zone file errors standing since the last reload (each root with one keeps the zones it served).",
            Gauge,
            vec![(vec![], errors as f64)],
        ),
        fam(
            "altroot_last_load_timestamp_seconds",
            "When zones were last loaded or reloaded (Unix time).",
            Gauge,
            vec![(vec![], last as f64)],
        ),
    ]
}
