// The assist panel: plays a conversation turn by turn against POST /v1/conversations/{id}/turns
// and shows what the copilot returns for each turn.
import {
  $, ApiError, api, fmtPercent, fmtTime, getKey, h, initKey, lineChart, readEventStream, replace, safeUrl, toast, uuid,
} from "./console.js";

const state = {
  conversationId: "",
  channel: "chat",
  turnCount: 0,
  trend: [],
  signals: [],
  suggestion: null,
  samples: [],
  busy: false,
};

function newConversationId() {
  return `conv-${Date.now().toString(36)}-${uuid().slice(0, 6)}`;
}

// A channel switch keeps the transcript and the signals on screen (same customer, same session)
// and marks where the new conversation starts; anything else starts from a clean slate.
function startConversation(note = "", { keepTranscript = false } = {}) {
  state.conversationId = newConversationId();
  state.turnCount = 0;
  state.trend = [];
  $("#conversation-id").textContent = state.conversationId;
  if (keepTranscript) {
    $("#transcript").append(h("li", { class: "channel-switch" }, note));
  } else {
    state.signals = [];
    replace($("#transcript"));
    replace($("#signals"), h("li", { class: "muted" }, "None yet."));
  }
  replace($("#trend-chart"));
  clearSuggestion();
  $("#channel-note").textContent = note;
}

function customerId() {
  return $("#customer-id").value.trim();
}

// ---- rendering one turn's response ----

function sentimentBadge(sentiment) {
  if (!sentiment) return null;
  return h("span", { class: `badge sentiment-${sentiment.label}` }, `${sentiment.label} ${fmtPercent(sentiment.score)}`);
}

function trendValue(sentiment) {
  if (!sentiment) return null;
  const t = sentiment.trend;
  if (typeof t === "number") return t;
  if (t && typeof t.value === "number") return t.value;
  return null;
}

function renderSentiment(sentiment, degraded = []) {
  const box = $("#sentiment");
  if (!sentiment) {
    const why = degraded.includes("sentiment") ? "Sentiment is unavailable right now (degraded)." : "Sentiment was not computed for this turn.";
    replace(box, h("p", { class: "muted" }, why));
    return;
  }
  const trend = trendValue(sentiment);
  const direction = sentiment.direction || (sentiment.trend && sentiment.trend.direction) || "";
  const escalation = sentiment.escalation ?? (sentiment.trend && sentiment.trend.escalation);
  const reasons = sentiment.reasons || (sentiment.trend && sentiment.trend.reasons) || [];
  replace(
    box,
    h("p", { class: "sentiment-line" },
      sentimentBadge(sentiment),
      trend === null ? null : h("span", { class: "trend" }, ` trend ${trend >= 0 ? "+" : ""}${trend.toFixed(2)}`),
      direction ? h("span", { class: `direction direction-${direction}` }, ` ${direction}`) : null),
    escalation ? h("p", { class: "escalation", role: "alert" }, "Escalation risk: ", reasons.join(", ") || "yes") : null,
    !escalation && reasons.length ? h("p", { class: "muted" }, reasons.join(", ")) : null,
  );
  if (trend !== null) {
    state.trend.push({ label: `turn ${state.turnCount}`, value: trend });
    replace($("#trend-chart"), lineChart(state.trend, { min: -1, max: 1, title: "Sentiment trend over the conversation", zeroLine: true }));
  }
}

// Snippets are Markdown; the panel shows them as plain text without the markup noise.
function plainText(markdown) {
  return String(markdown)
    .replace(/\[([^\]]+)\]\([^)]*\)/g, "$1")
    .replace(/(\*\*|__|`)/g, "")
    .replace(/^#+\s*/gm, "");
}

function renderKnowledge(hits) {
  const list = $("#knowledge");
  if (!hits || !hits.length) {
    replace(list, h("li", { class: "muted" }, "No matching articles."));
    return;
  }
  replace(list, hits.map((hit) => {
    const url = safeUrl(hit.url);
    const title = hit.title || hit.document_id;
    const path = (hit.heading_path || []).join(" › ");
    return h("li", { class: "hit" },
      url ? h("a", { href: url, target: "_blank", rel: "noopener noreferrer" }, title) : h("strong", {}, title),
      h("span", { class: "score", title: "retrieval score" }, ` ${Number(hit.score || 0).toFixed(2)}`),
      path ? h("div", { class: "muted small" }, path) : null,
      hit.snippet ? h("p", { class: "snippet" }, plainText(hit.snippet)) : null);
  }));
}

function citationList(citations) {
  if (!citations || !citations.length) return null;
  return h("ol", { class: "citations", "aria-label": "Citations" }, citations.map((c) => {
    const url = safeUrl(c.url);
    const label = c.title || c.document_id;
    return h("li", {}, url ? h("a", { href: url, target: "_blank", rel: "noopener noreferrer" }, label) : label);
  }));
}

function clearSuggestion() {
  state.suggestion = null;
  replace($("#suggestion"), h("p", { class: "muted" }, "Send a customer turn to get a suggestion."));
  $("#suggestion-actions").hidden = true;
  $("#edit-form").hidden = true;
  $("#feedback-state").textContent = "";
}

// Where a suggestion came from, as a badge: a learned reply is one this team already sent and
// accepted, and says so; grounded quotes the KB; llm was written by a model.
const SOURCE_LABELS = { learned: "Learned reply (sent before by your team)", grounded: "From the help centre", llm: "Written by the model" };

function sourceBadge(source) {
  if (!source) return null;
  return h("span", { class: `badge source-${source}`, dataset: { source } }, SOURCE_LABELS[source] || source);
}

function renderSuggestion(suggestion, { streaming = false, others = [] } = {}) {
  state.suggestion = suggestion;
  // The plan's act and where the text came from (grounded: quoted from the KB; llm: a model wrote it).
  const meta = [suggestion.act, suggestion.backend, suggestion.prompt_version].filter(Boolean).join(" · ");
  // The other suggestions of the same turn (a learned reply beside the grounded one): one click swaps.
  const alternatives = others.length
    ? h("ul", { class: "alternatives" }, others.map((other) =>
      h("li", {}, sourceBadge(other.source), " ",
        h("button", {
          type: "button",
          class: "secondary use-alternative",
          onclick: () => renderSuggestion(other, { others: [suggestion, ...others.filter((o) => o !== other)] }),
        }, "Use this instead"),
        h("span", { class: "muted small" }, ` ${(other.text || "").slice(0, 90)}`))))
    : null;
  replace($("#suggestion"),
    h("p", {}, sourceBadge(suggestion.source)),
    h("p", { class: `suggestion-text${streaming ? " streaming" : ""}`, id: "suggestion-text" }, suggestion.text || ""),
    citationList(suggestion.citations),
    meta ? h("p", { class: "muted small" }, meta) : null,
    alternatives);
  const ready = !streaming && Boolean(suggestion.id);
  $("#suggestion-actions").hidden = !ready && !streaming;
  for (const id of ["#accept", "#edit", "#reject"]) $(id).disabled = !ready;
  $("#edit-form").hidden = true;
  $("#feedback-state").textContent = "";
}

// Possible matches: another customer presented (or holds) one of this customer's identities without
// the platform verifying it. Only the id and the kind are shown; confirming merges the two.
function renderMatches(context) {
  const box = $("#possible-matches");
  const matches = (context && context.possible_matches) || [];
  if (!matches.length) {
    replace(box);
    return;
  }
  replace(box, h("ul", { class: "match-list" }, matches.map((m) =>
    h("li", { class: "match-item", dataset: { customer: m.customer_id } },
      h("span", { class: "badge warn" }, `same ${m.kind}?`), " ",
      h("span", {}, "May be the same customer as "), h("code", {}, m.customer_id),
      h("span", { class: "muted small" }, " (not verified; nothing of theirs is shown)"), " ",
      h("button", {
        type: "button",
        class: "confirm-link",
        onclick: () => guarded(() => confirmMatch(context.customer_id, m.customer_id)),
      }, "Same person: link")))));
}

async function confirmMatch(customer, other) {
  const linked = await api("POST", `/v1/customers/${encodeURIComponent(customer)}/links`, { customer_id: other });
  toast(`Linked: ${linked.merged_customer_id || customer} is now part of ${linked.customer_id}`);
  await refreshContext();
}

// Guidance: the procedure the conversation is in, each step done, next or still to do.
function renderGuidance(guidance) {
  const box = $("#guidance");
  if (!guidance) {
    replace(box, h("p", { class: "muted" }, "No procedure matches this conversation."));
    return;
  }
  const marks = { done: "✓", next: "→", todo: "·" };
  replace(box,
    h("p", {}, h("strong", {}, guidance.title), " ", h("span", { class: "muted small" }, fmtPercent(guidance.confidence))),
    h("ol", { class: "guidance-steps" }, guidance.steps.map((step) =>
      h("li", { class: `step-${step.status}`, dataset: { status: step.status } },
        h("span", { class: "badge", "aria-label": step.status }, marks[step.status] || ""), " ", step.text))));
}

function renderContext(context) {
  renderMatches(context);
  const box = $("#context");
  const others = ((context && context.conversations) || []).filter((c) => c.conversation_id !== state.conversationId);
  if (!others.length) {
    replace(box, h("p", { class: "muted" }, "No other conversations for this customer."));
    return;
  }
  replace(box, h("ul", { class: "context-list" }, others.map((c) =>
    h("li", { class: "context-item", dataset: { conversation: c.conversation_id } },
      h("div", {},
        h("span", { class: `badge channel` }, c.channel || "?"), " ",
        h("code", {}, c.conversation_id), " ",
        c.status ? h("span", { class: "muted small" }, c.status) : null),
      h("div", { class: "muted small" }, fmtTime(c.updated_at || c.started_at)),
      c.summary ? h("p", { class: "summary" }, c.summary) : null,
      (c.open_issues || []).length ? h("p", { class: "small" }, "Open: ", c.open_issues.map(String).join("; ")) : null,
      (c.commitments || []).length ? h("p", { class: "small" }, "Promised: ", c.commitments.map(String).join("; ")) : null))));
}

function renderSignals(signals) {
  for (const s of signals || []) {
    if (!state.signals.some((known) => known.id === s.id)) state.signals.push(s);
  }
  const list = $("#signals");
  if (!state.signals.length) {
    replace(list, h("li", { class: "muted" }, "None yet."));
    return;
  }
  replace(list, state.signals.map((s) =>
    h("li", { class: `signal kind-${s.kind}` },
      h("span", { class: "badge" }, s.kind), " ",
      h("strong", {}, s.type), " ",
      h("span", { class: "muted small" }, `${s.product_area || ""} · ${fmtPercent(s.confidence)}`),
      s.evidence ? h("q", { class: "evidence" }, s.evidence) : null)));
}

function appendTranscript(speaker, channel, text, response) {
  const item = h("li", { class: `turn speaker-${speaker}` },
    h("div", { class: "turn-meta" },
      h("span", { class: "speaker" }, speaker), " ",
      h("span", { class: "badge channel" }, channel), " ",
      response ? sentimentBadge(response.sentiment) : null,
      response && response.degraded && response.degraded.length
        ? h("span", { class: "badge warn", title: "parts that fell back" }, `degraded: ${response.degraded.join(", ")}`) : null),
    h("p", { class: "turn-text" }, text));
  $("#transcript").append(item);
  item.scrollIntoView({ block: "nearest" });
  return item;
}

// ---- API calls ----

async function sendTurn(speaker, text) {
  const channel = $("#channel").value;
  const body = { customer_id: customerId(), channel, speaker, text, turn_id: uuid() };
  const response = await api("POST", `/v1/conversations/${encodeURIComponent(state.conversationId)}/turns`, body);
  state.turnCount += 1;
  appendTranscript(speaker, channel, text, response);
  if (speaker === "customer") {
    renderSentiment(response.sentiment, response.degraded || []);
    renderKnowledge(response.knowledge);
    renderGuidance(response.guidance);
  }
  if (response.context) renderContext(response.context);
  renderSignals(response.signals);
  if (speaker === "customer") {
    const [suggestion, ...others] = response.suggestions || [];
    if (suggestion) renderSuggestion(suggestion, { others });
    else await streamDraft();
  }
  return response;
}

async function streamDraft() {
  const path = `/v1/conversations/${encodeURIComponent(state.conversationId)}/draft?stream=true`;
  const live = { id: "", text: "", citations: [], backend: "", prompt_version: "" };
  renderSuggestion(live, { streaming: true });
  try {
    const response = await api("POST", path, {}, { raw: true });
    const type = response.headers.get("content-type") || "";
    if (!type.includes("event-stream")) {
      const data = await response.json();
      renderSuggestion((data.suggestions || [])[0] || data);
      return;
    }
    // Events: "delta" {text} pieces, "reset" when the backend fell back mid-stream (start over),
    // "suggestion" with the stored suggestion (id, citations), then "done".
    let final = null;
    await readEventStream(response, (name, data) => {
      if (name === "error") throw new ApiError(502, typeof data === "object" ? data : { detail: String(data) });
      if (name === "reset") live.text = "";
      else if (name === "suggestion" && data && data.id) final = data;
      else if (name === "delta") live.text += typeof data === "string" ? data : data.text ?? data.delta ?? "";
      if (!final) {
        const el = $("#suggestion-text");
        if (el) el.textContent = live.text;
      }
    });
    renderSuggestion(final || { ...live, text: live.text.trim() });
  } catch (error) {
    if (error instanceof ApiError && error.status === 404) {
      replace($("#suggestion"), h("p", { class: "muted" }, "No suggestion for this turn."));
      $("#suggestion-actions").hidden = true;
      return;
    }
    replace($("#suggestion"), h("p", { class: "error" }, `Drafting failed: ${error.message}`));
  }
}

async function sendFeedback(action, text) {
  const suggestion = state.suggestion;
  if (!suggestion || !suggestion.id) return;
  const body = { action };
  if (text !== undefined) body.text = text;
  await api("POST", `/v1/suggestions/${encodeURIComponent(suggestion.id)}/feedback`, body);
  $("#feedback-state").textContent = `Feedback recorded: ${action}.`;
  for (const id of ["#accept", "#edit", "#reject"]) $(id).disabled = true;
  $("#edit-form").hidden = true;
  // Accepted and edited replies are what the agent sends, so they become the agent's turn.
  if (action !== "rejected") await sendTurn("agent", text ?? suggestion.text);
}

function reportError(error) {
  const message = error instanceof ApiError ? `${error.status}: ${error.message}` : String(error.message || error);
  $("#turn-error").textContent = message;
}

async function guarded(task) {
  if (state.busy) return;
  state.busy = true;
  $("#turn-error").textContent = "";
  document.body.classList.add("busy");
  try {
    await task();
  } catch (error) {
    reportError(error);
  } finally {
    state.busy = false;
    document.body.classList.remove("busy");
  }
}

async function refreshContext() {
  const id = customerId();
  if (!id) return;
  try {
    renderContext(await api("GET", `/v1/customers/${encodeURIComponent(id)}/context`));
  } catch (error) {
    if (!(error instanceof ApiError && error.status === 404)) reportError(error);
  }
}

// Switching channel keeps the customer but opens a new conversation, as a real contact would.
async function switchChannel(next) {
  const previous = state.channel;
  state.channel = next;
  if (!state.turnCount) return;
  const previousId = state.conversationId;
  startConversation(
    `Switched from ${previous} to ${next}: new conversation for the same customer; context from ${previousId} carries over.`,
    { keepTranscript: true },
  );
  await refreshContext();
}

// ---- samples ----

async function loadSamples() {
  const select = $("#sample");
  try {
    const response = await fetch("/console/samples");
    state.samples = response.ok ? await response.json() : [];
  } catch {
    state.samples = [];
  }
  replace(select, state.samples.length
    ? state.samples.map((s) => h("option", { value: s.id }, s.title))
    : [h("option", { value: "" }, "No samples available")]);
}

async function replay(sample) {
  $("#customer-id").value = sample.customer_id || customerId();
  const first = (sample.turns[0] && sample.turns[0].channel) || $("#channel").value;
  $("#channel").value = first;
  state.channel = first;
  startConversation(`Replaying “${sample.title}”.`);
  for (const turn of sample.turns) {
    const channel = turn.channel || state.channel;
    if (channel !== state.channel) {
      $("#channel").value = channel;
      await switchChannel(channel);
    }
    await sendTurn(turn.speaker, turn.text);
    await new Promise((resolve) => setTimeout(resolve, 150));
  }
  toast(`Replayed ${sample.turns.length} turns.`);
}

// ---- wiring ----

function init() {
  state.channel = $("#channel").value;
  startConversation();
  loadSamples();

  $("#channel").addEventListener("change", (event) => guarded(() => switchChannel(event.target.value)));
  $("#customer-id").addEventListener("change", () => startConversation("New customer: new conversation."));
  $("#new-conversation").addEventListener("click", () => startConversation("New conversation."));
  $("#setup-form").addEventListener("submit", (event) => event.preventDefault());

  $("#turn-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const text = $("#turn-text").value.trim();
    if (!text) return;
    guarded(async () => {
      await sendTurn($("#speaker").value, text);
      $("#turn-text").value = "";
      $("#turn-text").focus();
    });
  });
  $("#turn-text").addEventListener("keydown", (event) => {
    if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) $("#turn-form").requestSubmit();
  });

  $("#replay-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const sample = state.samples.find((s) => s.id === $("#sample").value);
    if (sample) guarded(() => replay(sample));
  });

  $("#accept").addEventListener("click", () => guarded(() => sendFeedback("accepted")));
  $("#reject").addEventListener("click", () => guarded(() => sendFeedback("rejected")));
  $("#redraft").addEventListener("click", () => guarded(() => streamDraft()));
  $("#edit").addEventListener("click", () => {
    $("#edit-form").hidden = false;
    $("#edit-text").value = state.suggestion ? state.suggestion.text : "";
    $("#edit-text").focus();
  });
  $("#edit-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const text = $("#edit-text").value.trim();
    if (text) guarded(() => sendFeedback("edited", text));
  });
}

let started = false;
initKey(() => {
  if (started) return;
  started = true;
  init();
});
if (!getKey()) $("#key-input").focus();
