//! `/metrics`: the Prometheus text format, encoded at scrape time by a
//! `prometheus-client` collector from the counters' sums (no metric objects are
//! updated on the answer path). The README lists every metric.

use std::fmt::Write as _;
use std::sync::Arc;

use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeMetric};
use prometheus_client::metrics::MetricType;
use prometheus_client::metrics::counter::ConstCounter;
use prometheus_client::metrics::gauge::ConstGauge;
use prometheus_client::registry::Registry;

use super::{Web, api};
use crate::resolver::rcode_str;
use crate::stats::labels::{
    LIMITS, PROTOCOLS, QTYPES, REASONS, RTT_BUCKETS, SOURCES, UPSTREAM, qtype_label,
};

type Labels = Vec<(&'static str, String)>;

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

/// One family: its rows of labels and value.
fn family(
    enc: &mut DescriptorEncoder,
    name: &str,
    help: &str,
    kind: MetricType,
    rows: Vec<(Labels, f64)>,
) -> std::fmt::Result {
    let mut m = enc.encode_descriptor(name, help, None, kind)?;
    for (labels, v) in rows {
        let e = m.encode_family(&labels)?;
        match kind {
            MetricType::Counter => ConstCounter::new(v as u64).encode(e)?,
            _ => ConstGauge::new(v).encode(e)?,
        }
    }
    Ok(())
}

fn l(k: &'static str, v: impl ToString) -> (&'static str, String) {
    (k, v.to_string())
}

impl Collector for Collect {
    fn encode(&self, mut enc: DescriptorEncoder) -> std::fmt::Result {
        let web = &self.0;
        let service = &web.service;
        let resolver = &service.resolver;
        let snap = resolver.stats().snapshot();
        let names = api::route_names(resolver);
        let roots = snap.roots();
        use MetricType::{Counter, Gauge};

        family(
            &mut enc,
            "altroot_build_info",
            "Version and git commit of this binary (always 1).",
            Gauge,
            vec![(
                vec![
                    l("version", crate::commands::PKG_VERSION),
                    l("commit", crate::commands::COMMIT),
                ],
                1.0,
            )],
        )?;
        family(
            &mut enc,
            "altroot_start_time_seconds",
            "When serve started (Unix time).",
            Gauge,
            vec![(vec![], web.started as f64)],
        )?;

        let mut q = Vec::new();
        let mut rc = Vec::new();
        let mut fail = Vec::new();
        for (r, root) in names.iter().enumerate() {
            for (p, proto) in PROTOCOLS.iter().enumerate() {
                for (s, source) in SOURCES.iter().enumerate() {
                    let n = snap.queries(r, p, s);
                    if n > 0 {
                        q.push((
                            vec![l("root", root), l("protocol", proto), l("cache", source)],
                            n as f64,
                        ));
                    }
                }
            }
            for code in 0..crate::stats::labels::RCODES {
                let n = snap.rcode(r, code);
                if n > 0 {
                    rc.push((
                        vec![l("root", root), l("rcode", rcode_label(code))],
                        n as f64,
                    ));
                }
            }
            for (i, reason) in REASONS.iter().enumerate() {
                let n = snap.failures(r, i);
                if n > 0 {
                    fail.push((vec![l("root", root), l("reason", reason)], n as f64));
                }
            }
        }
        family(
            &mut enc,
            "altroot_queries",
            "Queries answered, by root (or local, interrupt, none), protocol and where the answer came from (cache: local, hit, miss, stale; none for rejected requests).",
            Counter,
            q,
        )?;
        family(
            &mut enc,
            "altroot_responses",
            "Responses by root and rcode.",
            Counter,
            rc,
        )?;
        let qt = (0..=QTYPES.len())
            .filter_map(|i| {
                let n = snap.qtype(i);
                (n > 0).then(|| (vec![l("qtype", qtype_label(i))], n as f64))
            })
            .collect();
        family(
            &mut enc,
            "altroot_queries_by_type",
            "Queries by query type (other: every type not listed).",
            Counter,
            qt,
        )?;
        family(
            &mut enc,
            "altroot_failures",
            "Failed answers (SERVFAIL) by root and failure code.",
            Counter,
            fail,
        )?;
        let limits = LIMITS
            .iter()
            .enumerate()
            .map(|(i, k)| (vec![l("limit", k)], snap.limit(i) as f64))
            .collect();
        family(
            &mut enc,
            "altroot_limit_refusals",
            "Questions refused by a limit: a [limits] budget ran out, max-resolutions or max-per-client was reached, or the rate limit dropped or slipped a response.",
            Counter,
            limits,
        )?;

        self.encode_roots(&mut enc, &snap, &names[..roots])?;
        self.encode_zones(&mut enc)?;
        Ok(())
    }
}

fn rcode_label(slot: usize) -> &'static str {
    use hickory_proto::op::ResponseCode;
    if slot < 16 {
        rcode_str(ResponseCode::from_low(slot as u8))
    } else {
        "BADVERS"
    }
}

impl Collect {
    /// Per root: cache, upstream, health.
    fn encode_roots(
        &self,
        enc: &mut DescriptorEncoder,
        snap: &crate::stats::Snapshot,
        names: &[String],
    ) -> std::fmt::Result {
        use MetricType::{Counter, Gauge};
        let resolver = &self.0.service.resolver;
        let usage = resolver
            .roots
            .first()
            .map(|r| r.cache.store().usage(names.len()))
            .unwrap_or_default();
        let per_root = |f: &dyn Fn(usize) -> f64| -> Vec<(Labels, f64)> {
            names
                .iter()
                .enumerate()
                .map(|(i, n)| (vec![l("root", n)], f(i)))
                .collect()
        };
        family(
            enc,
            "altroot_cache_hits",
            "Answers from the root's cache (ready answers included).",
            Counter,
            per_root(&|i| snap.source_total(i, 1) as f64),
        )?;
        family(
            enc,
            "altroot_cache_misses",
            "Answers that needed the root's servers.",
            Counter,
            per_root(&|i| snap.source_total(i, 2) as f64),
        )?;
        family(
            enc,
            "altroot_cache_stale",
            "Answers served stale (RFC 8767) because the servers failed.",
            Counter,
            per_root(&|i| snap.source_total(i, 3) as f64),
        )?;
        family(
            enc,
            "altroot_cache_entries",
            "Entries in the root's cache (RRsets, negative answers, delegations).",
            Gauge,
            per_root(&|i| usage.get(i).map_or(0.0, |u| u.0 as f64)),
        )?;
        family(
            enc,
            "altroot_cache_bytes",
            "Bytes the root's cache entries take (as the [cache] max-size bound counts them).",
            Gauge,
            per_root(&|i| usage.get(i).map_or(0.0, |u| u.1 as f64)),
        )?;
        let ready = resolver.ready();
        family(
            enc,
            "altroot_ready_answers",
            "Replies kept in wire form for the fast path (all roots).",
            Gauge,
            vec![(vec![], ready.len() as f64)],
        )?;
        family(
            enc,
            "altroot_ready_answers_bytes",
            "Bytes of the replies kept in wire form.",
            Gauge,
            vec![(vec![], ready.weight() as f64)],
        )?;

        let mut up = Vec::new();
        for (i, n) in names.iter().enumerate() {
            for (r, result) in UPSTREAM.iter().enumerate() {
                up.push((
                    vec![l("root", n), l("result", result)],
                    snap.upstream(i, r) as f64,
                ));
            }
        }
        family(
            enc,
            "altroot_upstream_queries",
            "Queries sent to a root's servers, by result: reply, timeout, unreachable, error (not DNS, cut short), local (no socket).",
            Counter,
            up,
        )?;
        let mut m = enc.encode_descriptor(
            "altroot_upstream_rtt_seconds",
            "Round trip of each upstream query that got a reply, per root.",
            None,
            MetricType::Histogram,
        )?;
        for (i, n) in names.iter().enumerate() {
            // Per-bucket counts: the encoder makes them cumulative.
            let (counts, count, sum) = snap.rtt(i);
            let bounds = RTT_BUCKETS.iter().copied().chain([f64::INFINITY]);
            let buckets: Vec<(f64, u64)> = bounds.zip(counts).collect();
            let labels = vec![l("root", n)];
            let mut e = m.encode_family(&labels)?;
            e.encode_histogram::<prometheus_client::encoding::NoLabelSet>(
                sum, count, &buckets, None,
            )?;
        }
        family(
            enc,
            "altroot_root_last_reply_timestamp_seconds",
            "When one of the root's servers last replied (Unix time; 0: never).",
            Gauge,
            per_root(&|i| snap.last_ok(i) as f64),
        )?;
        family(
            enc,
            "altroot_root_last_failure_timestamp_seconds",
            "When an answer routed to the root last failed (Unix time; 0: never).",
            Gauge,
            per_root(&|i| {
                snap.last_failure
                    .get(i)
                    .and_then(|f| f.as_ref())
                    .map_or(0.0, |f| f.0 as f64)
            }),
        )?;
        let collisions = api::collisions(&self.0.service);
        let rows = collisions
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
        family(
            enc,
            "altroot_collision",
            "A TLD more than one root has, seen since the last reload (always 1): the roots that have it and the one that answers.",
            Gauge,
            rows,
        )?;
        let dropped = self.0.frontend.as_ref().map_or(0, |f| f.log_dropped());
        family(
            enc,
            "altroot_query_log_dropped",
            "Query log records dropped because the log writer fell behind.",
            Counter,
            vec![(vec![], dropped as f64)],
        )?;
        Ok(())
    }

    /// Zones: serials, sizes, loads and reloads.
    fn encode_zones(&self, enc: &mut DescriptorEncoder) -> std::fmt::Result {
        use MetricType::{Counter, Gauge};
        let service = &self.0.service;
        let (mut serials, mut records) = (Vec::new(), Vec::new());
        for (i, rc) in service.config.roots.iter().enumerate() {
            if let Some(set) = service.resolver.zones(i) {
                for z in set.zones() {
                    let labels = vec![l("root", &rc.name), l("zone", z.origin())];
                    serials.push((labels.clone(), f64::from(z.serial())));
                    records.push((labels, z.len() as f64));
                }
            }
        }
        family(
            enc,
            "altroot_zone_serial",
            "SOA serial of each zone served in-process, as loaded.",
            Gauge,
            serials,
        )?;
        family(
            enc,
            "altroot_zone_records",
            "Records in each zone served in-process.",
            Gauge,
            records,
        )?;
        let h = &service.history;
        family(
            enc,
            "altroot_zone_loads",
            "Zone versions read (start-up and reloads).",
            Counter,
            vec![(vec![], h.zone_loads() as f64)],
        )?;
        let reloads = h
            .reloads()
            .into_iter()
            .map(|(t, o, n)| (vec![l("trigger", t), l("result", o)], n as f64))
            .collect();
        family(
            enc,
            "altroot_reloads",
            "Reloads by trigger (sighup, watch) and result (ok: new zones swapped in; unchanged; failed: a file has an error and keeps its last good version).",
            Counter,
            reloads,
        )?;
        let errors = h.standing().iter().filter(|p| p.is_error()).count();
        family(
            enc,
            "altroot_zone_errors",
            "Zone file errors standing since the last reload (each keeps its zone's last good version).",
            Gauge,
            vec![(vec![], errors as f64)],
        )?;
        let last = h.events().first().map_or(0, |e| e.at);
        family(
            enc,
            "altroot_last_load_timestamp_seconds",
            "When zones were last loaded or reloaded (Unix time).",
            Gauge,
            vec![(vec![], last as f64)],
        )?;
        Ok(())
    }
}

/// The text a scrape returns.
pub fn render(web: Arc<Web>) -> String {
    let mut registry = Registry::default();
    registry.register_collector(Box::new(Collect(web)));
    let mut out = String::new();
    if prometheus_client::encoding::prometheus_text::encode(&mut out, &registry).is_err() {
        let _ = writeln!(out, "# encoding failed");
    }
    out
}
