// The signals dashboard: reads GET /v1/signals (all pages, up to a cap) and draws counts per type
// and product area per day, churn risk per day, top evidence, a table with export, and delivery state.
import {
  $, ApiError, api, download, fmtPercent, fmtTime, h, horizontalBars, initKey, legend, replace, stackedBars,
} from "./console.js";

const PAGE_SIZE = 200;
const MAX_ITEMS = 5000;
const TABLE_STEP = 50;

const state = { items: [], shown: 0, truncated: false };

function filterParams() {
  const form = new FormData($("#filters"));
  const params = new URLSearchParams();
  for (const [name, value] of form.entries()) {
    const text = String(value).trim();
    if (!text) continue;
    if (name === "since") params.set("since", `${text}T00:00:00Z`);
    else if (name === "until") params.set("until", `${text}T23:59:59Z`);
    else params.set(name, text);
  }
  return params;
}

async function fetchAll(params) {
  const items = [];
  let cursor = null;
  do {
    const query = new URLSearchParams(params);
    query.set("limit", String(PAGE_SIZE));
    if (cursor) query.set("cursor", cursor);
    const page = await api("GET", `/v1/signals?${query}`);
    items.push(...(page.items || []));
    cursor = page.next_cursor || null;
  } while (cursor && items.length < MAX_ITEMS);
  return { items, truncated: Boolean(cursor) };
}

const day = (value) => String(value || "").slice(0, 10);

function countBy(items, key) {
  const counts = new Map();
  for (const item of items) counts.set(key(item), (counts.get(key(item)) || 0) + 1);
  return [...counts.entries()].sort((a, b) => b[1] - a[1]);
}

function dayRange(items) {
  const days = [...new Set(items.map((i) => day(i.occurred_at)))].filter(Boolean).sort();
  if (!days.length) return [];
  const out = [];
  const end = new Date(`${days[days.length - 1]}T00:00:00Z`);
  for (let d = new Date(`${days[0]}T00:00:00Z`); d <= end && out.length < 366; d.setUTCDate(d.getUTCDate() + 1)) {
    out.push(d.toISOString().slice(0, 10));
  }
  return out;
}

function trendText(trend) {
  if (!trend) return "";
  const arrow = { up: "▲", down: "▼", flat: "■" }[trend.direction] || "";
  const change = typeof trend.change === "number" ? ` ${Math.round(trend.change * 100)}%` : " new";
  return `${arrow}${change} vs previous period`;
}

function renderTotals(items, summary) {
  const product = items.filter((i) => i.kind === "product").length;
  const churn = items.filter((i) => i.kind === "churn").length;
  const conversations = new Set(items.map((i) => i.conversation_id)).size;
  const total = String(items.length) + (state.truncated ? "+" : "");
  replace($("#totals"),
    h("div", {}, h("dt", {}, "Signals"), h("dd", { id: "total-signals" }, total)),
    h("div", {}, h("dt", {}, "Conversations"), h("dd", {}, String(conversations))),
    h("div", {}, h("dt", {}, "Product"), h("dd", {}, String(product))),
    h("div", {}, h("dt", {}, "Churn"), h("dd", {}, String(churn))));
  const trends = (summary && summary.trends) || [];
  if (trends.length) {
    $("#totals").after(h("ul", { class: "trends small", id: "trends" }, trends.map((t) =>
      h("li", { class: `trend-${t.direction}` }, h("strong", {}, t.type), ` ${t.current} `, trendText(t)))));
  }
}

// Per-day counts come from /v1/signals/summary (server-side, not capped), else from the loaded items.
function dailyBuckets(items, summary) {
  if (summary && Array.isArray(summary.by_day)) return summary.by_day;
  return items.map((i) => ({ day: day(i.occurred_at), type: i.type, product_area: i.product_area, count: 1 }));
}

function renderByDay(items, summary) {
  const box = $("#chart-by-day");
  const buckets = dailyBuckets(items, summary);
  const days = dayRange(buckets.map((b) => ({ occurred_at: b.day })));
  if (!days.length) return replace(box, h("p", { class: "muted" }, "No signals in this range."));
  const totals = new Map();
  for (const b of buckets) totals.set(b.type, (totals.get(b.type) || 0) + b.count);
  const types = [...totals.entries()].sort((a, b) => b[1] - a[1]).map(([type]) => type);
  const series = types.map((type) => ({
    name: type,
    values: days.map((d) => buckets.filter((b) => b.type === type && b.day === d).reduce((n, b) => n + b.count, 0)),
  }));
  return replace(box, stackedBars(days, series, { title: "Signals per day, stacked by type" }), legend(types));
}

function renderByArea(items, summary) {
  const box = $("#chart-by-area");
  const counts = summary && summary.by_product_area
    ? Object.entries(summary.by_product_area).sort((a, b) => b[1] - a[1])
    : countBy(items, (i) => i.product_area || "unknown");
  const rows = counts.slice(0, 12).map(([label, value]) => ({ label, value }));
  if (!rows.length) return replace(box, h("p", { class: "muted" }, "No signals."));
  return replace(box, horizontalBars(rows, { title: "Signals per product area" }));
}

function renderChurn(items) {
  const box = $("#chart-churn");
  const churn = items.filter((i) => i.kind === "churn");
  const days = dayRange(churn);
  if (!days.length) return replace(box, h("p", { class: "muted" }, "No churn signals in this range."));
  // Risk per day: the chance at least one at-risk contact is real, from the day's signal confidences.
  const points = days.map((d) => {
    const today = churn.filter((i) => day(i.occurred_at) === d);
    const risk = 1 - today.reduce((p, i) => p * (1 - Math.min(1, Math.max(0, Number(i.confidence) || 0))), 1);
    return { label: `${d} (${today.length} signals)`, value: risk, count: today.length };
  });
  const series = [{ name: "risk %", values: points.map((p) => Math.round(p.value * 100)) }];
  return replace(box,
    stackedBars(days, series, { height: 160, title: "Churn risk by day, percent", max: 100 }),
    h("ul", { class: "churn-days small" }, points.slice(-7).map((p) =>
      h("li", {}, `${p.label.slice(0, 10)}: ${fmtPercent(p.value)} risk, ${p.count} signal${p.count === 1 ? "" : "s"}`))));
}

function renderQuotes(items) {
  const box = $("#quotes");
  const byType = new Map();
  for (const item of items) {
    if (!byType.has(item.type)) byType.set(item.type, []);
    byType.get(item.type).push(item);
  }
  if (!byType.size) return replace(box, h("p", { class: "muted" }, "No evidence yet."));
  return replace(box, [...byType.entries()].map(([type, list]) => {
    const top = [...list].sort((a, b) => b.confidence - a.confidence).slice(0, 3);
    return h("section", { class: "quote-group" },
      h("h3", {}, `${type} (${list.length})`),
      h("ul", {}, top.map((s) => h("li", {},
        h("q", {}, s.evidence || ""), " ",
        h("span", { class: "muted small" }, `${fmtPercent(s.confidence)} · ${s.product_area || ""} · ${s.channel || ""}`)))));
  }));
}

function tableRow(s) {
  return h("tr", {},
    h("td", {}, fmtTime(s.occurred_at)),
    h("td", {}, s.kind),
    h("td", {}, s.type),
    h("td", { class: "num" }, fmtPercent(s.confidence)),
    h("td", {}, s.product_area || ""),
    h("td", {}, s.channel || ""),
    h("td", { class: "evidence" }, s.evidence || ""),
    h("td", {}, h("code", {}, s.conversation_id || "")));
}

function renderTable(reset) {
  const body = $("#signals-table tbody");
  if (reset) {
    body.replaceChildren();
    state.shown = 0;
  }
  if (!state.items.length) {
    body.append(h("tr", {}, h("td", { colspan: "8", class: "muted" }, "No signals match these filters.")));
  }
  const next = state.items.slice(state.shown, state.shown + TABLE_STEP);
  body.append(...next.map(tableRow));
  state.shown += next.length;
  $("#load-more").hidden = state.shown >= state.items.length;
}

function fillOptions(items) {
  const types = countBy(items, (i) => i.type).map(([t]) => t);
  const areas = countBy(items, (i) => i.product_area).map(([a]) => a).filter(Boolean);
  if (types.length) replace($("#type-options"), types.map((t) => h("option", { value: t })));
  if (areas.length) replace($("#area-options"), areas.map((a) => h("option", { value: a })));
}

function summaryParams(params) {
  const query = new URLSearchParams(params);
  query.delete("conversation_id");
  if (!query.has("since")) query.set("days", "30");
  return query;
}

async function loadSummary(params) {
  try {
    return await api("GET", `/v1/signals/summary?${summaryParams(params)}`);
  } catch (error) {
    if (error instanceof ApiError && error.status === 401) throw error;
    return null; // the charts fall back to the loaded items
  }
}

async function loadSignals() {
  $("#load-state").textContent = "Loading signals…";
  const old = $("#trends");
  if (old) old.remove();
  try {
    const params = filterParams();
    const [{ items, truncated }, summary] = await Promise.all([fetchAll(params), loadSummary(params)]);
    state.items = items;
    state.truncated = truncated;
    renderTotals(items, summary);
    renderByDay(items, summary);
    renderByArea(items, summary);
    renderChurn(items);
    renderQuotes(items);
    renderTable(true);
    fillOptions(items);
    $("#load-state").textContent = `${items.length}${truncated ? "+" : ""} signals loaded${truncated ? " (charts use the newest)" : ""}.`;
  } catch (error) {
    $("#load-state").textContent = `Could not load signals: ${error.message}`;
  }
}

async function loadDelivery() {
  const box = $("#delivery");
  try {
    const dead = await api("GET", "/v1/outbox?status=dead&limit=5");
    const counts = dead.counts || {};
    const deadItems = dead.items || [];
    replace(box,
      h("dl", { class: "totals" },
        h("div", {}, h("dt", {}, "Outbox depth"), h("dd", { id: "outbox-depth" }, String(counts.pending ?? 0))),
        h("div", {}, h("dt", {}, "Dead letters"), h("dd", { id: "dead-letters" }, String(counts.dead ?? deadItems.length))),
        h("div", {}, h("dt", {}, "Delivered"), h("dd", {}, String(counts.delivered ?? 0)))),
      deadItems.length
        ? h("ul", { class: "small" }, deadItems.map((e) =>
          h("li", {}, h("code", {}, e.id), ` ${e.event_type} · ${e.attempts} attempts · ${e.last_error || ""}`)))
        : null);
  } catch (error) {
    if (error instanceof ApiError && error.status === 403) {
      replace(box, h("p", { class: "muted" }, "Delivery state needs a key with the admin scope."));
    } else {
      replace(box, h("p", { class: "error" }, `Could not read the outbox: ${error.message}`));
    }
  }
}

async function exportAs(format) {
  const params = filterParams();
  params.set("format", format);
  try {
    const response = await api("GET", `/v1/signals/export?${params}`, undefined, { raw: true });
    download(`signals.${format}`, await response.blob());
  } catch (error) {
    $("#load-state").textContent = `Export failed: ${error.message}`;
  }
}

function init() {
  $("#filters").addEventListener("submit", (event) => {
    event.preventDefault();
    loadSignals();
  });
  $("#load-more").addEventListener("click", () => renderTable(false));
  $("#export-ndjson").addEventListener("click", () => exportAs("ndjson"));
  $("#export-csv").addEventListener("click", () => exportAs("csv"));
  loadSignals();
  loadDelivery();
}

let started = false;
initKey(() => {
  if (started) return;
  started = true;
  init();
});
