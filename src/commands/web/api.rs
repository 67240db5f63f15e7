//! The status page's JSON: `/api/status` (roots with kind, TLD count, health and
//! DNSSEC validation state;
//! the queries-per-root chart; collisions seen, who won and why, with the TLD's
//! history; the last reloads and the problems standing, as `check` reports them) and
//! `/api/compare` (one `compare` row, as `altroot compare --json` prints it).

use std::str::FromStr;
use std::sync::Arc;

use axum::Json;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use hickory_proto::rr::RecordType;
use serde::Deserialize;
use serde_json::{Value, json};

use super::Web;
use crate::commands::collisions::{Winner, history, winner};
use crate::commands::compare;
use crate::config::{Hints, RootSource};
use crate::resolver::{Kind, Resolver};
use crate::service::Service;
use crate::service::history::Event;
use crate::stats::labels::{SOURCE_HIT, SOURCE_MISS, SOURCE_STALE};
use crate::zones::Problem;

/// Every route slot's name: the roots, then `local`, `interrupt`, `none`.
pub fn route_names(resolver: &Resolver) -> Vec<String> {
    let mut out: Vec<String> = resolver.roots.iter().map(|r| r.name.clone()).collect();
    out.extend(["local", "interrupt", "none"].map(String::from));
    out
}

/// A TLD more than one root has, as seen since the last reload.
pub struct Seen {
    pub tld: String,
    pub roots: Vec<String>,
    pub winner: String,
    pub why: String,
}

/// The collisions the resolver has seen, with the winner under the policy.
pub fn collisions(service: &Service) -> Vec<Seen> {
    let cfg = &service.config;
    let mut out: Vec<Seen> = service
        .resolver
        .collisions_seen()
        .into_iter()
        .filter(|(_, roots)| roots.len() > 1)
        .map(|(tld, roots)| {
            let tld = crate::zones::tld_label(&tld);
            let having: Vec<usize> = roots
                .iter()
                .filter_map(|r| service.resolver.root_index(r))
                .collect();
            let (winner, why) = match winner(cfg, &service.resolver, &tld, &having) {
                Winner::Pin(root) => (root.to_string(), format!("pin {tld} = \"{root}\"")),
                Winner::Interrupt => (
                    "interrupt".to_string(),
                    "policy \"interrupt\": controlled interruption (127.0.53.53)".to_string(),
                ),
                Winner::First(first) => (
                    first.to_string(),
                    format!("policy \"first\": {first} is the first root that has it"),
                ),
                Winner::FirstCome(root, why) => (root, format!("policy \"first-come\": {why}")),
            };
            Seen {
                tld,
                roots,
                winner,
                why,
            }
        })
        .collect();
    out.sort_by(|a, b| a.tld.cmp(&b.tld));
    out
}

pub async fn status(State(web): State<Arc<Web>>) -> Json<Value> {
    Json(status_json(&web))
}

/// The whole status document.
pub fn status_json(web: &Web) -> Value {
    let service = &web.service;
    let resolver = &service.resolver;
    let snap = resolver.stats().snapshot();
    let names = route_names(resolver);
    let totals: Vec<u64> = (0..snap.routes()).map(|r| snap.route_total(r)).collect();
    let chart = resolver.stats().series.view(&totals);
    let roots: Vec<Value> = (0..resolver.roots.len())
        .map(|i| root_json(service, &snap, i))
        .collect();
    let collisions: Vec<Value> = collisions(service)
        .into_iter()
        .map(|c| {
            json!({
                "tld": c.tld, "roots": c.roots, "winner": c.winner, "why": c.why,
                "history": history(&c.tld).map(|(a, i)| json!({"alternate": a, "icann": i})),
            })
        })
        .collect();
    let reloads: Vec<Value> = service.history.events().iter().map(event_json).collect();
    // What `altroot check` would say of the config and zones being served.
    let problems: Vec<Value> = service.problems().iter().map(problem_json).collect();
    json!({
        "version": crate::commands::PKG_VERSION,
        "commit": crate::commands::COMMIT,
        "started": web.started,
        "now": crate::clock::unix_now(),
        "listen": web.dns.iter().map(ToString::to_string).collect::<Vec<_>>(),
        "policy": service.config.collisions.policy.as_str(),
        "roots": roots,
        "chart": {
            "step": crate::stats::series::STEP,
            "routes": names,
            "points": chart.points.iter().map(|(at, c)| json!({"at": at, "counts": c})).collect::<Vec<_>>(),
            "current": {"since": chart.since, "counts": chart.current},
        },
        "queries": totals.iter().sum::<u64>(),
        "collisions": collisions,
        "reloads": reloads,
        "problems": problems,
        "log_dropped": web.frontend.as_ref().map_or(0, |f| f.log_dropped()),
    })
}

/// One root: kind, where its data comes from, its TLDs, counters and health.
fn root_json(service: &Service, snap: &crate::stats::Snapshot, i: usize) -> Value {
    let resolver = &service.resolver;
    let root = &resolver.roots[i];
    let rc = service.config.roots.get(i);
    let (kind, source, tlds, tlds_note) = match (&root.kind, rc.map(|r| &r.source)) {
        (Kind::Zones, Some(RootSource::Zones(dir))) => {
            let n = resolver.zones(i).map_or(0, |z| z.tlds().len());
            (
                "zones",
                dir.display().to_string(),
                Some(n),
                "zone files and root.zone delegations".to_string(),
            )
        }
        (Kind::Hints(_), Some(RootSource::Hints(Hints::Builtin))) => (
            "hints",
            "builtin IANA root hints".to_string(),
            Some(crate::icann::len()),
            format!("bundled ICANN TLD list ({})", crate::icann::VERSION),
        ),
        (Kind::Hints(_), Some(RootSource::Hints(Hints::File(p))))
            if rc.and_then(|r| r.tld_list) == Some(crate::config::TldList::Opennic) =>
        {
            (
                "hints",
                p.display().to_string(),
                Some(crate::opennic::len()),
                format!(
                    "OpenNIC's own, by the bundled list ({}), and ICANN's, which its root carries",
                    crate::opennic::VERSION
                ),
            )
        }
        (Kind::Hints(_), Some(RootSource::Hints(Hints::File(p)))) => (
            "hints",
            p.display().to_string(),
            None,
            "asked of its root servers".to_string(),
        ),
        (Kind::Forward(up), _) => {
            let list: Vec<String> = up.iter().map(|f| f.addr.to_string()).collect();
            let tlds = (!root.tlds.is_empty()).then_some(root.tlds.len());
            let note = if root.tlds.is_empty() {
                "every TLD no earlier root has"
            } else {
                "its tlds list"
            };
            ("forward", list.join(", "), tlds, note.to_string())
        }
        _ => ("?", String::new(), None, String::new()),
    };
    let last_reply = snap.last_ok(i);
    let failure = snap.last_failure.get(i).cloned().flatten();
    let state = match (&root.kind, last_reply, &failure) {
        (Kind::Zones, _, _) => "local",
        (_, 0, None) => "idle",
        (_, ok, Some((at, _))) if *at >= ok => "failing",
        _ => "ok",
    };
    json!({
        "name": root.name,
        "kind": kind,
        "source": source,
        "tlds": tlds,
        "tlds_note": tlds_note,
        "queries": snap.route_total(i),
        "cache": {"hits": snap.source_total(i, SOURCE_HIT), "misses": snap.source_total(i, SOURCE_MISS), "stale": snap.source_total(i, SOURCE_STALE)},
        "upstream": {
            "replies": snap.upstream(i, crate::stats::labels::UPSTREAM_REPLY),
            "timeouts": snap.upstream(i, crate::stats::labels::UPSTREAM_TIMEOUT),
        },
        "health": {
            "state": state,
            "last_reply": (last_reply > 0).then_some(last_reply),
            "last_failure": failure.as_ref().map(|f| f.0),
            "last_error": failure.map(|f| f.1),
        },
        "dnssec": dnssec_json(service, snap, i),
    })
}

/// One root's validation state: its anchors (built in, from files, or none), its
/// negative anchors, the results of its links and its last bogus one.
fn dnssec_json(service: &Service, snap: &crate::stats::Snapshot, i: usize) -> Value {
    use crate::stats::labels::SECURITY;
    let validating = service.resolver.roots[i].anchors.is_some();
    let rc = service.config.roots.get(i);
    let anchors = rc.map(|r| &r.trust_anchors);
    let files: Vec<String> = rc
        .map(|r| {
            r.trust_anchor_files
                .iter()
                .map(|f| f.display().to_string())
                .collect()
        })
        .unwrap_or_default();
    let (source, text) = match (validating, files.is_empty()) {
        (false, _) => ("none", "no trust anchor: not validated".to_string()),
        (true, true) => (
            "builtin",
            format!(
                "built-in IANA root KSKs ({})",
                crate::dnssec::ROOT_ANCHORS
                    .iter()
                    .map(|a| a.0.to_string())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        ),
        (true, false) => ("files", files.join(", ")),
    };
    let counts: serde_json::Map<String, Value> = SECURITY
        .iter()
        .enumerate()
        .map(|(r, k)| (k.to_string(), json!(snap.dnssec(i, r))))
        .collect();
    let last_bogus = snap.last_bogus.get(i).cloned().flatten();
    json!({
        "validating": validating,
        "anchors": {
            "source": source,
            "text": text,
            "files": files,
            "names": anchors.map(|a| a.owners().map(|n| n.to_string()).collect::<Vec<_>>()).unwrap_or_default(),
        },
        "negative": anchors.map(|a| a.negative().iter().map(|n| n.to_string()).collect::<Vec<_>>()).unwrap_or_default(),
        "counts": counts,
        "last_bogus": last_bogus.map(|(at, why)| json!({"at": at, "why": why})),
    })
}

fn event_json(e: &Event) -> Value {
    json!({
        "at": e.at,
        "trigger": e.trigger.as_str(),
        "outcome": e.outcome.as_str(),
        "loaded": e.loaded.iter().map(|z| json!({"root": z.root, "zone": z.zone, "serial": z.serial})).collect::<Vec<_>>(),
        "problems": e.problems.iter().map(problem_json).collect::<Vec<_>>(),
    })
}

fn problem_json(p: &Problem) -> Value {
    json!({
        "file": p.file.display().to_string(),
        "line": p.line,
        "severity": if p.is_error() { "error" } else { "warning" },
        "message": p.message,
        "text": p.to_string(),
    })
}

#[derive(Deserialize)]
pub struct CompareQuery {
    name: String,
    #[serde(rename = "type", default)]
    qtype: Option<String>,
}

fn bad(status: StatusCode, msg: String) -> Response {
    (status, Json(json!({ "error": msg }))).into_response()
}

/// One `compare` row for a name and type, over every root.
pub async fn compare(State(web): State<Arc<Web>>, Query(q): Query<CompareQuery>) -> Response {
    let name = match compare::parse_name(q.name.trim()) {
        Ok(n) => n,
        Err(e) => return bad(StatusCode::BAD_REQUEST, e),
    };
    let t = q
        .qtype
        .unwrap_or_else(|| "A".into())
        .trim()
        .to_ascii_uppercase();
    let qtype = match RecordType::from_str(&t) {
        Ok(t) => t,
        Err(_) => {
            return bad(
                StatusCode::BAD_REQUEST,
                format!("{t:?} is not a record type"),
            );
        }
    };
    let Ok(_permit) = web.compares.try_acquire() else {
        return bad(
            StatusCode::SERVICE_UNAVAILABLE,
            "other comparisons are running; try again".into(),
        );
    };
    let resolver = web.service.resolver.clone();
    let roots: Vec<usize> = (0..resolver.roots.len()).collect();
    let timeout = web.service.config.server.query_timeout;
    let rows = compare::compare(
        &resolver,
        &roots,
        vec![name],
        &[qtype],
        timeout,
        1,
        true,
        &|| {},
    )
    .await;
    let names: Vec<&str> = resolver.roots.iter().map(|r| r.name.as_str()).collect();
    match rows.first() {
        Some(row) => Json(json!({ "roots": names, "row": compare::json_row(row) })).into_response(),
        None => bad(StatusCode::INTERNAL_SERVER_ERROR, "no result".into()),
    }
}
