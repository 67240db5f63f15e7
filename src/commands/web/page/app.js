// altroot status page: reads /api/status every 5 s and renders it; the compare
// form asks /api/compare. No libraries; every value goes in as text, never HTML.
"use strict";

const COLORS = ["#2b5fab", "#d9822b", "#2e9e5b", "#a03ea8", "#c0392b", "#1b9aaa", "#7f8c8d", "#b8860b"];
const REFRESH_MS = 5000;
const SVG = "http://www.w3.org/2000/svg";

function el(tag, attrs, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === null || v === undefined) continue;
    if (k === "class") e.className = v; else e.setAttribute(k, v);
  }
  for (const c of children) {
    if (c === null || c === undefined) continue;
    e.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return e;
}

// A table cell that carries its column's name (shown before it on a phone).
function td(label, attrs, ...children) {
  return el("td", Object.assign({ "data-label": label }, attrs || {}), ...children);
}

function svg(tag, attrs) {
  const e = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, v);
  return e;
}

function ago(now, t) {
  if (!t) return "never";
  const s = Math.max(0, now - t);
  if (s < 90) return s + " s ago";
  if (s < 5400) return Math.round(s / 60) + " min ago";
  if (s < 129600) return Math.round(s / 3600) + " h ago";
  return Math.round(s / 86400) + " d ago";
}

function clock(t) {
  return new Date(t * 1000).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit", second: "2-digit" });
}

function n(x) {
  return Number(x || 0).toLocaleString();
}

function renderSummary(s) {
  const up = ago(s.now, s.started).replace(" ago", "");
  document.getElementById("summary").textContent =
    "answering on " + s.listen.join(", ") + " · policy " + s.policy + " · up " + up +
    " · " + n(s.queries) + " queries" + (s.log_dropped ? " · " + n(s.log_dropped) + " log lines dropped" : "");
  document.getElementById("version").textContent = "altroot " + s.version + " (" + s.commit + ")";
}

function health(now, h) {
  const cell = td("health", {}, el("span", { class: "badge " + h.state }, h.state));
  if (h.state === "local") cell.append(el("span", { class: "detail" }, "zones served in-process"));
  if (h.last_reply) cell.append(el("span", { class: "detail" }, "last reply " + ago(now, h.last_reply)));
  if (h.last_failure) {
    cell.append(el("span", { class: "detail bad" }, "last failure " + ago(now, h.last_failure) + ": " + h.last_error));
  }
  return cell;
}

// A root's validation state: its anchors, negative anchors, counts, last bogus.
function dnssec(now, d) {
  if (!d) return td("DNSSEC", {}, el("span", { class: "muted" }, "—"));
  const cell = td("DNSSEC", {}, el("span", { class: "badge " + (d.validating ? "validating" : "off") },
    d.validating ? "validating" : "off"));
  cell.append(el("span", { class: "detail" }, d.anchors.text));
  if (d.negative.length) cell.append(el("span", { class: "detail mono" }, "negative: " + d.negative.join(", ")));
  if (d.validating) {
    const c = d.counts;
    cell.append(el("span", { class: "detail" }, n(c.secure) + " secure · " + n(c.insecure) + " insecure · " +
      n(c.bogus) + " bogus · " + n(c.indeterminate) + " indeterminate"));
  }
  if (d.last_bogus) {
    cell.append(el("span", { class: "detail bad" }, "last bogus " + ago(now, d.last_bogus.at) + ": " + d.last_bogus.why));
  }
  return cell;
}

function renderRoots(s) {
  const body = document.querySelector("#roots tbody");
  body.replaceChildren(...s.roots.map((r, i) => el("tr", { "data-root": r.name },
    td("root", {}, swatch(i), el("strong", {}, r.name), el("span", { class: "detail mono" }, r.source)),
    td("kind", {}, r.kind),
    td("TLDs", { class: "num" }, r.tlds === null ? "—" : n(r.tlds), el("span", { class: "detail" }, r.tlds_note)),
    td("queries", { class: "num" }, n(r.queries)),
    td("hit / miss", { class: "num" }, n(r.cache.hits) + " / " + n(r.cache.misses)),
    health(s.now, r.health),
    dnssec(s.now, r.dnssec))));
}

// Stacked bars: one per 10 s interval, the interval in progress last (lighter).
function renderChart(s) {
  const c = s.chart;
  const bars = c.points.map(p => ({ at: p.at, counts: p.counts, live: false }));
  bars.push({ at: s.now, counts: c.current.counts, live: true });
  const shown = c.routes.map((_, i) => i).filter(i => bars.some(b => b.counts[i] > 0) || i < s.roots.length);
  const max = Math.max(1, ...bars.map(b => shown.reduce((a, i) => a + (b.counts[i] || 0), 0)));
  // Drawn at the box's own size, so text is never stretched.
  const box = document.getElementById("chart");
  const W = Math.max(280, box.clientWidth), H = Math.max(120, box.clientHeight), left = 34, bottom = 16, slots = 61;
  const bw = (W - left) / slots;
  const root = svg("svg", { viewBox: "0 0 " + W + " " + H, width: W, height: H });
  root.append(svg("line", { class: "axis", x1: left, y1: H - bottom, x2: W, y2: H - bottom }));
  const label = svg("text", { x: 2, y: 10 });
  label.textContent = n(max);
  root.append(label);
  const start = slots - bars.length;
  bars.forEach((b, k) => {
    let y = H - bottom;
    shown.forEach(i => {
      const v = b.counts[i] || 0;
      if (!v) return;
      const h = (H - bottom - 14) * v / max;
      y -= h;
      const r = svg("rect", { x: left + (start + k) * bw + 1, y: y, width: Math.max(1, bw - 2), height: h,
        fill: COLORS[i % COLORS.length], "fill-opacity": b.live ? "0.45" : "0.9" });
      const t = svg("title", {});
      t.textContent = c.routes[i] + ": " + v + (b.live ? " (now)" : " until " + clock(b.at));
      r.append(t);
      root.append(r);
    });
  });
  const now = svg("text", { x: W - 22, y: H - 3 });
  now.textContent = "now";
  const then = svg("text", { x: left, y: H - 3 });
  then.textContent = "−10 min";
  root.append(now, then);
  box.replaceChildren(root);
  document.getElementById("legend").replaceChildren(...shown.map(i =>
    el("li", {}, swatch(i), c.routes[i] + " " + n(b_sum(bars, i)))));
}

function swatch(i) {
  const s = el("span", { class: "sw" });
  s.style.background = COLORS[i % COLORS.length];
  return s;
}

function b_sum(bars, i) {
  return bars.reduce((a, b) => a + (b.counts[i] || 0), 0);
}

function renderCollisions(s) {
  const table = document.getElementById("collisions");
  document.getElementById("collisions-empty").hidden = s.collisions.length > 0;
  table.hidden = s.collisions.length === 0;
  table.querySelector("tbody").replaceChildren(...s.collisions.map(c => el("tr", { "data-tld": c.tld },
    td("TLD", {}, el("strong", { class: "mono" }, "." + c.tld)),
    td("roots", {}, c.roots.join(", ")),
    td("answers", {}, el("strong", {}, c.winner)),
    td("why", {}, c.why),
    td("history", { class: "small" }, c.history
      ? el("span", {}, el("span", { class: "detail" }, "alternate: " + c.history.alternate),
          el("span", { class: "detail" }, "ICANN: " + c.history.icann))
      : el("span", { class: "muted" }, "—")))));
}

function renderZones(s) {
  document.getElementById("problems").replaceChildren(...s.problems.map(p =>
    el("li", { class: "mono " + p.severity }, p.text)));
  document.getElementById("reloads").replaceChildren(...s.reloads.map(r => {
    const zones = r.loaded.map(z => z.zone + " " + z.serial).join(", ");
    const errors = r.problems.filter(p => p.severity === "error");
    const warnings = r.problems.length - errors.length;
    return el("li", {},
      el("strong", {}, clock(r.at)), " " + r.trigger + " ",
      el("span", { class: "outcome-" + r.outcome }, r.outcome),
      warnings ? el("span", { class: "muted small" }, " · " + warnings + (warnings === 1 ? " warning" : " warnings")) : null,
      zones ? el("span", { class: "detail mono" }, "loaded: " + zones) : null,
      ...errors.map(p => el("span", { class: "detail mono bad" }, p.text)));
  }));
}

async function refresh() {
  try {
    const res = await fetch("/api/status", { cache: "no-store" });
    if (!res.ok) throw new Error("HTTP " + res.status);
    const s = await res.json();
    renderSummary(s);
    renderRoots(s);
    renderChart(s);
    renderCollisions(s);
    renderZones(s);
  } catch (e) {
    document.getElementById("summary").textContent = "cannot reach altroot (" + e.message + "); retrying";
  }
}

function renderCompare(data) {
  const row = data.row;
  const table = el("table", { id: "compare-table" },
    el("thead", {}, el("tr", {}, el("th", {}, "root"), el("th", {}, "answer"), el("th", {}, "DNSSEC"),
      el("th", {}, "records"))),
    el("tbody", {}, ...row.roots.map(c => el("tr", { "data-root": c.root },
      td("root", {}, el("strong", {}, c.root)),
      td("answer", { class: "mono" }, c.answer, c.error ? el("span", { class: "detail bad" }, c.error) : null),
      td("DNSSEC", {}, c.dnssec.state, c.dnssec.state === "bogus" ? el("span", { class: "detail bad" }, c.dnssec.reason) : null,
        c.dnssec.proves_absent ? el("span", { class: "detail" }, "proves " + c.dnssec.proves_absent + " does not exist") : null,
        ...(c.checked ? c.checked.under : []).map(u => el("span", { class: "detail" + (u.state === "bogus" ? " bad" : "") },
          "under " + u.root + "'s anchors: " + u.state + (u.reason && u.state !== "secure" ? " (" + u.reason + ")" : "")))),
      td("records", { class: "mono small" }, ...c.records.map(r => el("span", { class: "detail" }, r)))))));
  const verdict = row.verdict === "only" ? "only " + row.only : row.verdict;
  return [el("p", {}, el("span", { class: "mono" }, row.name + " " + row.type), " — ",
    el("span", { class: "verdict " + row.verdict }, verdict)), table];
}

async function compare(ev) {
  ev.preventDefault();
  const out = document.getElementById("compare-result");
  const name = document.getElementById("compare-name").value.trim();
  const type = document.getElementById("compare-type").value;
  if (!name) return;
  out.replaceChildren(el("p", { class: "muted" }, "asking every root…"));
  try {
    const res = await fetch("/api/compare?name=" + encodeURIComponent(name) + "&type=" + encodeURIComponent(type),
      { cache: "no-store" });
    const data = await res.json();
    out.replaceChildren(...(res.ok ? renderCompare(data) : [el("p", { class: "error" }, data.error)]));
  } catch (e) {
    out.replaceChildren(el("p", { class: "error" }, "compare failed: " + e.message));
  }
}

document.getElementById("compare-form").addEventListener("submit", compare);
refresh();
setInterval(refresh, REFRESH_MS);
