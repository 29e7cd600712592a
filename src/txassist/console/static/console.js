// Shared by both pages: the API key kept in sessionStorage, a fetch wrapper, safe DOM building
// and tiny SVG charts. No framework and nothing external: the pages must work offline.

const KEY_NAME = "txassist.apiKey";

export class ApiError extends Error {
  constructor(status, problem) {
    super((problem && (problem.detail || problem.title || problem.error)) || `HTTP ${status}`);
    this.status = status;
    this.problem = problem;
  }
}

export function getKey() {
  return sessionStorage.getItem(KEY_NAME) || "";
}

function setKey(value) {
  if (value) sessionStorage.setItem(KEY_NAME, value);
  else sessionStorage.removeItem(KEY_NAME);
}

// Builds an element; children may be strings (always inserted as text, never as HTML).
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs || {})) {
    if (value === null || value === undefined || value === false) continue;
    if (name === "class") el.className = value;
    else if (name === "dataset") Object.assign(el.dataset, value);
    // Through the CSSOM: the page's CSP forbids style attributes.
    else if (name === "style") Object.assign(el.style, value);
    else if (name.startsWith("on") && typeof value === "function") el.addEventListener(name.slice(2), value);
    else el.setAttribute(name, value === true ? "" : String(value));
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

export function replace(el, ...children) {
  el.replaceChildren();
  append(el, children);
}

export function $(selector) {
  return document.querySelector(selector);
}

export function toast(message) {
  const el = $("#toast");
  el.textContent = message;
  el.classList.add("shown");
  clearTimeout(toast.timer);
  toast.timer = setTimeout(() => el.classList.remove("shown"), 4000);
}

// Only http(s) links are rendered as links; anything else (javascript:, data:) stays text.
export function safeUrl(url) {
  if (!url) return null;
  try {
    const parsed = new URL(url, location.origin);
    return parsed.protocol === "http:" || parsed.protocol === "https:" ? parsed.href : null;
  } catch {
    return null;
  }
}

export function fmtPercent(value) {
  return typeof value === "number" ? `${Math.round(value * 100)}%` : "–";
}

export function fmtTime(value) {
  if (!value) return "";
  const date = new Date(value);
  return Number.isNaN(date.getTime()) ? String(value) : date.toLocaleString();
}

export function uuid() {
  if (globalThis.crypto && crypto.randomUUID) return crypto.randomUUID();
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

async function parseBody(response) {
  const type = response.headers.get("content-type") || "";
  if (response.status === 204) return null;
  if (type.includes("json")) return response.json();
  return response.text();
}

export async function api(method, path, body, { raw = false, signal } = {}) {
  const key = getKey();
  if (!key) {
    showKeyPanel();
    throw new ApiError(401, { detail: "enter an API key first" });
  }
  const headers = { Authorization: `Bearer ${key}`, Accept: raw ? "*/*" : "application/json" };
  const init = { method, headers, signal };
  if (body !== undefined) {
    headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  const response = await fetch(path, init);
  if (raw && response.ok) return response;
  const data = await parseBody(response);
  if (!response.ok) {
    if (response.status === 401) showKeyPanel("That key was not accepted.");
    throw new ApiError(response.status, typeof data === "object" ? data : { detail: data });
  }
  return data;
}

// Reads a text/event-stream response, calling onEvent(name, data) per event.
export async function readEventStream(response, onEvent) {
  const reader = response.body.getReader();
  const decoder = new TextDecoder();
  let buffer = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (value) buffer += decoder.decode(value, { stream: true });
    let boundary;
    while ((boundary = buffer.search(/\r?\n\r?\n/)) >= 0) {
      const block = buffer.slice(0, boundary);
      buffer = buffer.slice(boundary).replace(/^\r?\n\r?\n/, "");
      let name = "message";
      const data = [];
      for (const line of block.split(/\r?\n/)) {
        if (line.startsWith("event:")) name = line.slice(6).trim();
        else if (line.startsWith("data:")) data.push(line.slice(5).replace(/^ /, ""));
      }
      if (data.length) {
        const text = data.join("\n");
        let parsed = text;
        try {
          parsed = JSON.parse(text);
        } catch {
          // plain-text data is passed through as is
        }
        onEvent(name, parsed);
      }
    }
    if (done) break;
  }
}

export function download(filename, blob) {
  const url = URL.createObjectURL(blob);
  const link = h("a", { href: url, download: filename });
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
}

// ---- the key panel ----

function showKeyPanel(message = "") {
  $("#key-panel").hidden = false;
  $("#key-error").textContent = message;
  $("#key-input").focus();
}

function renderKeyState() {
  const has = Boolean(getKey());
  $("#key-state").textContent = has ? "API key set for this tab" : "No API key";
  $("#key-forget").hidden = !has;
  $("#key-panel").hidden = has;
}

export function initKey(onReady) {
  $("#key-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const value = $("#key-input").value.trim();
    if (!value) return;
    setKey(value);
    $("#key-input").value = "";
    renderKeyState();
    onReady();
  });
  $("#key-forget").addEventListener("click", () => {
    setKey("");
    renderKeyState();
    showKeyPanel();
  });
  renderKeyState();
  if (getKey()) onReady();
  else showKeyPanel();
}

// ---- charts: small SVG builders ----

const SVG_NS = "http://www.w3.org/2000/svg";
export const PALETTE = ["#1f5fa8", "#c0392b", "#1e7b45", "#8a4fb3", "#b35c00", "#0f7c86", "#7a6a00", "#a4286a", "#4b5563"];

export function svg(tag, attrs = {}, ...children) {
  const el = document.createElementNS(SVG_NS, tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value !== null && value !== undefined) el.setAttribute(name, String(value));
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return el;
}

function niceMax(value) {
  if (value <= 0) return 1;
  const magnitude = 10 ** Math.floor(Math.log10(value));
  for (const step of [1, 2, 5, 10]) if (value <= step * magnitude) return step * magnitude;
  return 10 * magnitude;
}

// Stacked columns: labels on x, one segment per series. series: [{name, values:[...]}]
export function stackedBars(labels, series, { height = 200, title = "", max: fixedMax = 0 } = {}) {
  const width = Math.max(320, labels.length * 28 + 60);
  const pad = { left: 36, right: 8, top: 10, bottom: 40 };
  const totals = labels.map((_, i) => series.reduce((sum, s) => sum + (s.values[i] || 0), 0));
  const max = fixedMax || niceMax(Math.max(0, ...totals));
  const plotH = height - pad.top - pad.bottom;
  const slot = (width - pad.left - pad.right) / Math.max(1, labels.length);
  const barW = Math.min(36, Math.max(6, slot - 6));
  const root = svg("svg", { viewBox: `0 0 ${width} ${height}`, role: "img", "aria-label": title, class: "chart-svg" });
  root.append(svg("title", {}, title));
  for (const tick of [0, max / 2, max].filter(Number.isInteger)) {
    const y = pad.top + plotH - (tick / max) * plotH;
    root.append(svg("line", { x1: pad.left, x2: width - pad.right, y1: y, y2: y, class: "grid" }));
    root.append(svg("text", { x: pad.left - 4, y: y + 4, "text-anchor": "end", class: "axis" }, String(tick)));
  }
  labels.forEach((label, i) => {
    const x = pad.left + i * slot + (slot - barW) / 2;
    let y = pad.top + plotH;
    series.forEach((s, si) => {
      const v = s.values[i] || 0;
      if (!v) return;
      const hgt = (v / max) * plotH;
      y -= hgt;
      root.append(
        svg("rect", { x, y, width: barW, height: hgt, fill: PALETTE[si % PALETTE.length] },
          svg("title", {}, `${label}: ${s.name} ${v}`)),
      );
    });
    if (labels.length <= 16 || i % Math.ceil(labels.length / 16) === 0) {
      root.append(svg("text", { x: x + barW / 2, y: height - pad.bottom + 14, "text-anchor": "middle", class: "axis" }, label.slice(5)));
    }
  });
  return root;
}

export function legend(names) {
  return h("ul", { class: "legend" }, names.map((name, i) =>
    h("li", {}, h("span", { class: "swatch", style: { backgroundColor: PALETTE[i % PALETTE.length] } }), name)));
}

// Horizontal bars: [{label, value}]
export function horizontalBars(rows, { title = "" } = {}) {
  const rowH = 22;
  const width = 360;
  const labelW = 130;
  const height = Math.max(rowH, rows.length * rowH) + 4;
  const max = niceMax(Math.max(0, ...rows.map((r) => r.value)));
  const root = svg("svg", { viewBox: `0 0 ${width} ${height}`, role: "img", "aria-label": title, class: "chart-svg" });
  root.append(svg("title", {}, title));
  rows.forEach((row, i) => {
    const y = i * rowH + 2;
    const w = ((width - labelW - 40) * row.value) / max;
    root.append(svg("text", { x: labelW - 6, y: y + 15, "text-anchor": "end", class: "axis" }, row.label));
    root.append(svg("rect", { x: labelW, y: y + 3, width: Math.max(1, w), height: rowH - 8, fill: PALETTE[0] }));
    root.append(svg("text", { x: labelW + w + 4, y: y + 15, class: "axis" }, String(row.value)));
  });
  return root;
}

// A line over points in [-1, 1] (sentiment) or [0, max] ; points: [{label, value}]
export function lineChart(points, { min = 0, max = 1, height = 90, title = "", zeroLine = false } = {}) {
  const width = 320;
  const pad = 8;
  const root = svg("svg", { viewBox: `0 0 ${width} ${height}`, role: "img", "aria-label": title, class: "chart-svg" });
  root.append(svg("title", {}, title));
  const x = (i) => pad + (points.length <= 1 ? (width - 2 * pad) / 2 : (i * (width - 2 * pad)) / (points.length - 1));
  const y = (v) => pad + (1 - (v - min) / (max - min || 1)) * (height - 2 * pad);
  if (zeroLine) root.append(svg("line", { x1: pad, x2: width - pad, y1: y(0), y2: y(0), class: "grid" }));
  if (points.length > 1) {
    const d = points.map((p, i) => `${i ? "L" : "M"}${x(i).toFixed(1)},${y(p.value).toFixed(1)}`).join(" ");
    root.append(svg("path", { d, class: "line" }));
  }
  points.forEach((p, i) =>
    root.append(svg("circle", { cx: x(i), cy: y(p.value), r: 3.5, class: "dot" }, svg("title", {}, `${p.label}: ${p.value.toFixed(2)}`))));
  return root;
}
