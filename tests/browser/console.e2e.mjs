// Drives both console pages in headless Chromium against a running txassist and prints one JSON
// result line. Inputs (env): BASE_URL, API_KEY, ARTIFACTS_DIR, CHROMIUM, SAMPLE_ID.
// Exits 1 with {"ok": false, "error": ...} on the first failed check, after a failure screenshot.
import { mkdirSync, readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { join } from "node:path";
import { chromium } from "playwright-core";

const AXE_SOURCE = readFileSync(createRequire(import.meta.url).resolve("axe-core/axe.min.js"), "utf8");

const BASE_URL = process.env.BASE_URL || "http://127.0.0.1:8000";
const API_KEY = process.env.API_KEY || "dev-key";
const ARTIFACTS = process.env.ARTIFACTS_DIR || "test-artifacts";
const SAMPLE_ID = process.env.SAMPLE_ID || "thermo-wifi-then-cancel";
const TIMEOUT = Number(process.env.STEP_TIMEOUT_MS || 90000);

mkdirSync(ARTIFACTS, { recursive: true });
const result = { ok: false, checks: {}, screenshots: [], consoleErrors: [], externalRequests: [], accessibility: {}, timings_ms: {} };

function check(name, condition, detail = "") {
  result.checks[name] = Boolean(condition);
  if (!condition) throw new Error(`check failed: ${name}${detail ? ` (${detail})` : ""}`);
}

async function shot(page, name) {
  await page.locator("#toast.shown").waitFor({ state: "detached", timeout: 10000 }).catch(() => {});
  const path = join(ARTIFACTS, `${name}.png`);
  await page.screenshot({ path, fullPage: true });
  result.screenshots.push(path);
}

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
  headless: true,
  args: ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
});
const context = await browser.newContext({ viewport: { width: 1366, height: 860 }, reducedMotion: "reduce" });
const page = await context.newPage();
page.setDefaultTimeout(TIMEOUT);
const origin = new URL(BASE_URL).origin;
page.on("request", (request) => {
  const url = request.url();
  if (!url.startsWith(origin) && !url.startsWith("data:") && !url.startsWith("blob:")) result.externalRequests.push(url);
});
page.on("console", (message) => {
  if (message.type() === "error") result.consoleErrors.push(message.text());
});
page.on("pageerror", (error) => result.consoleErrors.push(String(error)));

const count = (selector) => page.locator(selector).count();

async function loadTiming(name) {
  result.timings_ms[name] = await page.evaluate(() => {
    const [nav] = performance.getEntriesByType("navigation");
    return { dom_content_loaded: Math.round(nav.domContentLoadedEventEnd), load: Math.round(nav.loadEventEnd), bytes: Math.round(performance.getEntriesByType("resource").reduce((n, r) => n + r.transferSize, nav.transferSize)) };
  });
}

// WCAG 2 A/AA rules from axe-core, evaluated through the DevTools protocol (the page's CSP stays on).
async function accessibility(name) {
  await page.evaluate(AXE_SOURCE);
  const found = await page.evaluate(async () => {
    const report = await globalThis.axe.run(document, { runOnly: { type: "tag", values: ["wcag2a", "wcag2aa"] } });
    return report.violations.map((v) => ({ id: v.id, impact: v.impact, nodes: v.nodes.length, target: v.nodes[0].target.join(" ") }));
  });
  result.accessibility[name] = found;
  const serious = found.filter((v) => v.impact === "serious" || v.impact === "critical");
  check(`a11y_${name}`, serious.length === 0, JSON.stringify(serious));
}

try {
  // ---- assist panel ----
  await page.goto(`${BASE_URL}/console/assist`);
  await page.getByLabel("API key", { exact: true }).waitFor();
  await page.waitForLoadState("load");
  await loadTiming("assist");
  check("key_prompt_focused", await page.evaluate(() => document.activeElement && document.activeElement.id === "key-input"));
  await page.getByLabel("API key", { exact: true }).fill(API_KEY);
  await page.keyboard.press("Enter");
  await page.locator("#key-panel").waitFor({ state: "hidden" });
  check("key_kept_in_session", await page.evaluate(() => Boolean(sessionStorage.getItem("txassist.apiKey"))));

  await page.locator(`#sample option[value="${SAMPLE_ID}"]`).waitFor({ state: "attached" });
  const samples = await page.locator("#sample").evaluate((s) => s.options.length);
  await page.getByLabel("Sample conversation").selectOption(SAMPLE_ID);
  const sampleTurns = await page.evaluate(async (id) => {
    const list = await (await fetch("/console/samples")).json();
    return list.find((s) => s.id === id).turns.length;
  }, SAMPLE_ID);
  await page.getByRole("button", { name: "Replay sample" }).click();
  await page.waitForFunction(
    (n) => document.querySelectorAll("#transcript .turn").length >= n && !document.body.classList.contains("busy"),
    sampleTurns, { timeout: TIMEOUT * 2 });
  const turnError = (await page.locator("#turn-error").textContent()).trim();
  check("replay_without_error", turnError === "", turnError);
  result.checks.samples = samples;

  check("sentiment_shown", (await count("#sentiment .badge")) >= 1);
  check("trend_chart_drawn", (await count("#trend-chart svg circle")) >= 1);
  check("knowledge_links", (await count("#knowledge .hit")) >= 1);
  const suggestion = (await page.locator("#suggestion-text").textContent()).trim();
  check("suggestion_text", suggestion.length > 0);
  result.checks.citations = await count("#suggestion .citations li");
  const note = await page.locator("#channel-note").textContent();
  check("channel_switch_noted", /Switched from chat to voice/.test(note), note);
  check("context_carried_over", (await page.locator("#context .context-item", { hasText: "chat" }).count()) >= 1);
  result.checks.signals_in_panel = await count("#signals .signal");
  check("signals_found", result.checks.signals_in_panel >= 1);
  const signalTypes = await page.locator("#signals .signal strong").allTextContents();
  await shot(page, "assist");
  await accessibility("assist");

  // Accept the suggestion: feedback is recorded and the reply becomes the agent's turn.
  const before = await count("#transcript .turn");
  await page.getByRole("button", { name: "Accept" }).click();
  await page.locator("#feedback-state", { hasText: "accepted" }).waitFor();
  await page.waitForFunction((n) => document.querySelectorAll("#transcript .turn").length > n, before);
  const lastTurn = (await page.locator("#transcript .turn").last().textContent()) || "";
  check("accepted_reply_sent_as_agent", lastTurn.includes(suggestion.slice(0, 40)));

  // A fresh draft streamed over SSE ends as a stored suggestion that can be rejected.
  await page.getByRole("button", { name: "Draft again (stream)" }).click();
  await page.waitForFunction(() => {
    const text = document.querySelector("#suggestion-text");
    return text && !text.classList.contains("streaming") && text.textContent.trim() && !document.querySelector("#reject").disabled;
  });
  check("streamed_draft", (await page.locator("#suggestion-text").textContent()).trim().length > 0);
  await page.getByRole("button", { name: "Reject" }).click();
  await page.locator("#feedback-state", { hasText: "rejected" }).waitFor();

  // Keyboard only: type a customer turn and send it with Ctrl+Enter.
  await page.getByLabel("Speaker").selectOption("customer");
  await page.getByLabel("Message").focus();
  await page.keyboard.type("Thanks, can you also check my refund for the double charge?");
  await page.keyboard.press("Control+Enter");
  await page.waitForFunction((n) => document.querySelectorAll("#transcript .turn").length > n + 1, before);
  await page.waitForFunction(() => !document.body.classList.contains("busy"));
  await shot(page, "assist-accepted");

  // ---- signals dashboard ----
  await page.getByRole("link", { name: "Signals dashboard" }).click();
  await page.waitForURL("**/console/signals");
  await page.waitForLoadState("load");
  await loadTiming("signals");
  check("key_survives_navigation", await page.locator("#key-panel").isHidden());
  await page.waitForFunction(() => /loaded/.test(document.querySelector("#load-state").textContent));
  const total = Number(((await page.locator("#total-signals").textContent()) || "0").replace("+", ""));
  check("dashboard_counts_signals", total >= 1, `total=${total}`);
  check("dashboard_table_rows", (await count("#signals-table tbody tr")) >= 1);
  const tableText = await page.locator("#signals-table").textContent();
  check("dashboard_shows_panel_signal", signalTypes.some((t) => tableText.includes(t)), signalTypes.join(","));
  check("chart_by_day", (await count("#chart-by-day svg rect")) >= 1);
  check("chart_by_area", (await count("#chart-by-area svg rect")) >= 1);
  check("evidence_quotes", (await count("#quotes q")) >= 1);
  await page.locator("#delivery dl, #delivery p:not(.muted:has-text('Loading'))").first().waitFor();
  result.checks.delivery = (await page.locator("#delivery").textContent()).trim().slice(0, 120);

  // Export downloads what the filters select, as CSV with a header row.
  const [csv] = await Promise.all([page.waitForEvent("download"), page.getByRole("button", { name: "Export CSV" }).click()]);
  const csvPath = join(ARTIFACTS, "signals.csv");
  await csv.saveAs(csvPath);
  const csvLines = readFileSync(csvPath, "utf8").trim().split(/\r?\n/);
  check("export_csv", csvLines.length >= 2 && /type/.test(csvLines[0]), csvLines[0]);

  // Filtering narrows the table to one type.
  const firstType = signalTypes[0];
  await page.getByLabel("Type", { exact: true }).fill(firstType);
  await page.getByRole("button", { name: "Apply" }).click();
  await page.waitForFunction(() => /loaded/.test(document.querySelector("#load-state").textContent));
  const types = await page.locator("#signals-table tbody tr td:nth-child(3)").allTextContents();
  check("filter_by_type", types.length >= 1 && types.every((t) => t === firstType), types.join(","));
  await page.getByLabel("Type", { exact: true }).fill("");
  await page.getByRole("button", { name: "Apply" }).click();
  await page.waitForFunction(() => /loaded/.test(document.querySelector("#load-state").textContent));
  await shot(page, "signals");
  await accessibility("signals");

  check("no_external_requests", result.externalRequests.length === 0, result.externalRequests.join(","));
  check("no_console_errors", result.consoleErrors.length === 0, result.consoleErrors.join(" | "));
  result.ok = true;
} catch (error) {
  result.error = String(error && error.message ? error.message : error);
  try {
    await shot(page, "failure");
  } catch {
    // the page may be gone; the error above is what matters
  }
} finally {
  await browser.close();
}
console.log(JSON.stringify(result));
process.exit(result.ok ? 0 : 1);
