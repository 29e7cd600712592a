"""Reply scenarios: does the suggested reply do the right thing, on chat, voice and email, in en/nb/de/es?

Data: benchmarks/data/reply_scenarios.json (customer turns written for this project, each with the
act the reply must take and what it must not do). Knowledge: the Brightbox demo KB in examples/kb,
searched by the real KnowledgeService (MiniLM, hybrid), exactly as a turn does.

Reported per backend: right-act rate (overall, per language, channel and act), citation precision
(citations that name a retrieved document), channel-rule violations, must-not violations, and draft
latency beside a floor measured in the same run (the unplanned extractive reply on the same passages).

Intents: ``--intents model`` (default) runs the shipped intent detector as a turn does;
``--intents oracle`` takes each turn's labelled intents from the data file, and the output says so
(``reply_scenarios_oracle.json``); ``--intents cues`` uses the plan's phrase cues (what runs when no intent model is
installed) as a plain baseline. ``--calibrate`` chooses the no-answer retrieval threshold per
language group on the even-numbered turns and reports it on the odd-numbered ones
(benchmarks/results/reply_threshold.json). ``openai`` runs when TXASSIST_OPENAI_BASE_URL is set.

    nice -n 10 .venv/bin/python benchmarks/reply_scenarios.py [--intents model|oracle|cues]
        [--set dev|holdout|fresh|fresh2|fresh3|fresh4|fresh5] [--calibrate]

``--local`` adds the embedded local model; ``--sample N`` runs N turns spread over acts, languages
and channels (``*_sampleN.json``). ``right_act`` is the plan's act; for a model backend the reply
itself is judged by its fallbacks (answers the grounding check rejected) and its violations.

``--set holdout`` runs benchmarks/data/reply_scenarios_holdout.json (written apart from the dev set
and not tuned on) and writes ``*_holdout.json``; ``--set fresh`` runs the third set,
benchmarks/data/reply_scenarios_fresh.json (written before the situation reader was generalised, never
tuned on), and writes ``*_fresh.json``; ``--set fresh2`` runs benchmarks/data/reply_scenarios_fresh2.json
(committed before the second round of planner work; its first run is the "before") and writes ``*_fresh2.json``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

import msgspec

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

from tests.drafting.support import DraftingKit, turns  # noqa: E402

from benchmarks.common import timing_stats, write_result  # noqa: E402
from txassist.config import Settings  # noqa: E402
from txassist.drafting.grounding import ungrounded_offers  # noqa: E402
from txassist.drafting.inputs import ReplyInputs  # noqa: E402
from txassist.drafting.replying import ReplyDrafter, last_customer_text  # noqa: E402
from txassist.embedding import EmbeddingBatcher, TextEncoder  # noqa: E402
from txassist.knowledge.loaders import iter_files, load_path  # noqa: E402
from txassist.knowledge.schemas import KnowledgeHit  # noqa: E402
from txassist.knowledge.service import KnowledgeService  # noqa: E402

DATA = ROOT / "benchmarks" / "data" / "reply_scenarios.json"
# Written apart from DATA and not looked at while the planner was tuned on DATA.
HOLDOUT = ROOT / "benchmarks" / "data" / "reply_scenarios_holdout.json"
# Written before the situation reader's generalisation work (item 1 of issue 17) and never tuned on:
# realistic emails (greetings, signatures, quoted replies), voice transcripts, typos, French.
FRESH = ROOT / "benchmarks" / "data" / "reply_scenarios_fresh.json"
# Written and committed before the second round of planner work (branch scenarios2); its first run is
# the "before" number: mixed situations, sarcasm, on-topic questions the KB does not answer.
FRESH2 = ROOT / "benchmarks" / "data" / "reply_scenarios_fresh2.json"
# Written by a session that never saw the planner's tuning sets' mistakes, kept for final reports.
FRESH3 = ROOT / "benchmarks" / "data" / "reply_scenarios_fresh3.json"
# Written on 2026-12-03 by a session that read no system code, prompt or result: the blind set.
FRESH4 = ROOT / "benchmarks" / "data" / "reply_scenarios_fresh4.json"
# Written on 2026-12-03 the same way, after fresh4's mistakes had been read: the next blind set.
FRESH5 = ROOT / "benchmarks" / "data" / "reply_scenarios_fresh5.json"
# Written on 2026-12-04 the same way (a helper that read only the KB and the act definitions), after
# fresh5's mistakes had been read: the blind set of plan v8.
FRESH6 = ROOT / "benchmarks" / "data" / "reply_scenarios_fresh6.json"
SETS = {
    "dev": DATA,
    "holdout": HOLDOUT,
    "fresh": FRESH,
    "fresh2": FRESH2,
    "fresh3": FRESH3,
    "fresh4": FRESH4,
    "fresh5": FRESH5,
    "fresh6": FRESH6,
}
BLIND = ("fresh6",)  # not read turn by turn, and no study of signals or thresholds reads them
KB = ROOT / "examples" / "kb"
GREETINGS = ("Hello,", "Hei,", "Hallo,", "Hola:")
SIGN_OFFS = ("The Support Team", "Kundeservice", "Ihr Kundenservice", "El equipo de atención al cliente")
ANSWERABLE = {"retain", "cancel_steps", "escalate", "known_defect", "how_to", "billing"}
# The sets label one situation, "abuse or off-topic" (issue 17); since reply_plan.v6 the plan answers
# an off-topic request with its own act, which declines without the abuse reply's words on tone.
SITUATION = {"off_topic": "abuse"}


def situation(act: str | None) -> str | None:
    return SITUATION.get(act, act) if act is not None else None


_SENTENCES = re.compile(r"(?<=[.!?])\s+")


class OracleIntents(msgspec.Struct, frozen=True):
    scores: dict[str, float]
    fired: list[str]
    reasons: list[str]
    language: str


def knowledge_service() -> KnowledgeService:
    encoder = TextEncoder()
    encoder.warm_up()
    settings = Settings.from_env({}, data_dir=Path(tempfile.mkdtemp(prefix="reply-scenarios-")))
    service = KnowledgeService(settings, encoder, EmbeddingBatcher(encoder), None)
    service.apply_sync([doc for path in iter_files([KB]) for doc in load_path(path)], [])
    return service


def violations(item: dict[str, Any], text: str, channel: str, has_links: bool) -> list[str]:
    found = []
    spoken = [s for s in _SENTENCES.split(text.strip()) if s]
    if channel == "voice":
        if "http" in text or "www." in text:
            found.append("voice: url")
        if len(spoken) > 3:
            found.append("voice: more than 3 sentences")
    elif channel == "email":
        lines = text.splitlines()
        if not lines or lines[0] not in GREETINGS:
            found.append("email: no greeting")
        if not lines or lines[-1] not in SIGN_OFFS:
            found.append("email: no sign-off")
    else:
        if len(spoken) > 7:
            found.append("chat: not short")
        if has_links and "http" not in text:
            found.append("chat: cited article without its link")
    return found


def must_not(item: dict[str, Any], text: str, cited: list[str], allowed: list[KnowledgeHit]) -> list[str]:
    broken = []
    rules = item["must_not"]
    if "lead with cancellation steps" in rules and (
        "cancellations-how-to-cancel" in cited or "Manage plan" in text.split(". ")[0:3].__str__()
    ):
        broken.append("led with cancellation steps")
    # "cite an unrelated article" (on a question the KB answers) needs the right article's label,
    # which the sets do not give: unchecked. Every other "cite ..." rule forbids any citation.
    if any(r.startswith("cite") or r.endswith("cite an article") for r in rules if "unrelated" not in r) and cited:
        broken.append("cited an article")
    if ("make an offer" in rules or "promise an ungrounded refund" in rules) and ungrounded_offers(text, allowed):
        broken.append("ungrounded offer")
    if item.get("injection") and ("100%" in text or ungrounded_offers(text, allowed)):
        broken.append("followed an injected instruction")
    return broken


class ModelIntents:
    """What a turn runs (``txassist.intent.reader``): the customer's own words, their language, and the
    MiniLM or e5 head, with the language of the whole text handed to the plan as the pipeline does."""

    def __init__(self) -> None:
        from txassist.embedding.multilingual import MultilingualEncoder
        from txassist.intent import IntentDetector
        from txassist.intent.reader import IntentReader
        from txassist.text.language import LanguageDetector

        self.language = LanguageDetector()
        multilingual = MultilingualEncoder()
        self.reader = IntentReader.inline(
            IntentDetector(multilingual=multilingual),
            self.language.detect,
            TextEncoder.from_settings(Settings.from_env({})),
            multilingual,
        )

    async def __call__(self, text: str) -> tuple[Any, str]:
        language = self.language.detect(text)
        return await self.reader.read(text, language=language), language.code


async def run_backend(
    name: str, drafting: ReplyDrafter, knowledge: KnowledgeService, items: list[dict[str, Any]], mode: str
) -> dict[str, Any]:
    model = ModelIntents() if mode == "model" else None
    rows = []
    draft_s: list[float] = []
    floor_s: list[float] = []
    fetch_s: list[float] = []
    for item in items:
        history = [tuple(pair) for pair in item.get("history", [])]
        view = turns(*history, ("customer", item["text"]), channel=item["channel"])
        outcome = knowledge.search_sync(item["text"], k=5)
        retrieved = {h.document_id for h in outcome.hits}
        fetched: list[KnowledgeHit] = []
        search_s: list[float] = []

        async def retrieve(
            query: str, into: list[KnowledgeHit] = fetched, spent: list[float] = search_s
        ) -> list[KnowledgeHit]:
            # Timed apart: this is a knowledge search (an embedding), not drafting work.
            started = time.perf_counter()
            hits = knowledge.search_sync(query, k=8).hits
            spent.append(time.perf_counter() - started)
            into.extend(hits)
            return hits

        language = None
        intents: Any = None
        if mode == "oracle":
            intents = OracleIntents(dict.fromkeys(item["intents"], 1.0), list(item["intents"]), [], item["language"])
        elif model is not None:
            intents, language = await model(item["text"])
        started = time.perf_counter()
        inputs = ReplyInputs(
            turns=view,
            passages=outcome.hits,
            channel=item["channel"],
            sentiment=item.get("sentiment"),
            intents=intents,
            language=language,
            best_score=outcome.best_dense_score,
        )
        draft = await drafting.draft(inputs, backend=name, retrieve=retrieve)
        draft_s.append(time.perf_counter() - started - sum(search_s))
        fetch_s.extend(search_s)
        started = time.perf_counter()
        drafting.extractive.compose_reply(
            query=last_customer_text(view), passages=outcome.hits, channel=item["channel"], sentiment=None
        )
        floor_s.append(time.perf_counter() - started)
        retrieved |= {h.document_id for h in fetched}
        cited = [c.document_id for c in draft.citations]
        allowed = [h for h in [*outcome.hits, *fetched] if draft.plan and h.document_id in draft.plan.citable]
        rows.append(
            {
                "id": item["id"],
                "language": item["language"],
                "channel": item["channel"],
                "expected_act": item["expected_act"],
                "act": draft.act,
                "right_act": situation(draft.act) == item["expected_act"],
                "citations": cited,
                "citations_retrieved": sum(c in retrieved for c in cited),
                "channel_violations": violations(
                    item, draft.text, draft.plan.channel if draft.plan else "chat", any(c.url for c in draft.citations)
                ),
                "must_not_violations": must_not(item, draft.text, cited, allowed),
                "best_dense_score": round(outcome.best_dense_score, 4),
                "fallback": draft.fallback,
                "text": draft.text,
                # Why the plan chose its act: the intents it read and the rules that fired.
                "intents": list(draft.plan.intents) if draft.plan else [],
                "reasons": list(draft.plan.reasons) if draft.plan else [],
            }
        )
    summary = summarise(rows, draft_s, floor_s)
    summary["plan_searches"] = {"turns_with_one": len(fetch_s), **timing_stats(fetch_s)}
    if name != "extractive":
        # A model's every reply, to be read: whether its own words do the act is not machine-checked.
        keys = ("id", "language", "channel", "expected_act", "act", "fallback", "text")
        summary["replies"] = [{k: r[k] for k in keys} for r in rows]
    return summary


def rate(rows: list[dict[str, Any]]) -> float:
    return round(sum(r["right_act"] for r in rows) / len(rows), 4) if rows else 0.0


def summarise(rows: list[dict[str, Any]], draft_s: list[float], floor_s: list[float]) -> dict[str, Any]:
    groups: dict[str, dict[str, list[dict[str, Any]]]] = {k: defaultdict(list) for k in ("language", "channel")}
    by_act: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for row in rows:
        groups["language"][row["language"]].append(row)
        groups["channel"][row["channel"]].append(row)
        by_act[row["expected_act"]].append(row)
    cited = sum(len(r["citations"]) for r in rows)
    good = sum(r["citations_retrieved"] for r in rows)
    draft, floor = timing_stats(draft_s), timing_stats(floor_s)
    return {
        "turns": len(rows),
        "right_act": rate(rows),
        "right_act_by_language": {k: rate(v) for k, v in sorted(groups["language"].items())},
        "right_act_by_channel": {k: rate(v) for k, v in sorted(groups["channel"].items())},
        "right_act_by_act": {k: rate(v) for k, v in sorted(by_act.items())},
        "citation_precision": round(good / cited, 4) if cited else 1.0,
        "citations": cited,
        "channel_violations": sum(len(r["channel_violations"]) for r in rows),
        "voice_violations": sum(1 for r in rows if any(v.startswith("voice") for v in r["channel_violations"])),
        "must_not_violations": sum(len(r["must_not_violations"]) for r in rows),
        # A model's answer the grounding check replaced by the extractive reply (None for extractive).
        "fallbacks": sum(1 for r in rows if r["fallback"]),
        "fallback_reasons": sorted({str(r["fallback"]) for r in rows if r["fallback"]}),
        "latency_draft": draft,  # planning and writing, without the plan's own knowledge search
        "latency_floor_unplanned_extractive": floor,
        "latency_ratio_p50": round(draft["p50_ms"] / floor["p50_ms"], 2) if floor.get("p50_ms") else None,
        "wrong": [
            {k: r[k] for k in ("id", "expected_act", "act", "best_dense_score", "intents", "reasons", "text")}
            for r in rows
            if not r["right_act"]
        ],
        "violations": [
            {k: r[k] for k in ("id", "channel_violations", "must_not_violations", "text")}
            for r in rows
            if r["channel_violations"] or r["must_not_violations"]
        ],
    }


def calibrate(knowledge: KnowledgeService, items: list[dict[str, Any]]) -> dict[str, Any]:
    """The no-answer threshold per language group, chosen on even-numbered turns, tested on odd ones."""
    scored: dict[str, list[tuple[int, float, bool]]] = defaultdict(list)
    for index, item in enumerate(items):
        if item["expected_act"] not in ANSWERABLE | {"no_answer"} or item.get("history"):
            continue
        group = "en" if item["language"] == "en" else "other"
        best = knowledge.search_sync(item["text"], k=5).best_dense_score
        scored[group].append((index, best, item["expected_act"] != "no_answer"))
    out: dict[str, Any] = {}
    for group, rows in scored.items():
        fit = [r for r in rows if r[0] % 2 == 0]
        test = [r for r in rows if r[0] % 2 == 1]

        def accuracy(threshold: float, sample: list[tuple[int, float, bool]]) -> float:
            # Balanced: off-topic turns are few, and a threshold must not win by ignoring them.
            rates = []
            for wanted in (True, False):
                group = [score for _, score, answerable in sample if answerable == wanted]
                rates.append(sum((score >= threshold) == wanted for score in group) / max(1, len(group)))
            return sum(rates) / 2

        candidates = [round(0.01 * step, 2) for step in range(0, 100)]
        top = max(accuracy(t, fit) for t in candidates)
        # Among equally good thresholds, the middle one: the widest margin on both sides.
        tied = [t for t in candidates if accuracy(t, fit) == top]
        best_threshold = tied[len(tied) // 2]
        out[group] = {
            "threshold": best_threshold,
            "fit_accuracy": round(accuracy(best_threshold, fit), 4),
            "held_out_accuracy": round(accuracy(best_threshold, test), 4),
            "fit_turns": len(fit),
            "held_out_turns": len(test),
            "answerable_scores": sorted(round(s, 3) for _, s, a in rows if a),
            "unanswerable_scores": sorted(round(s, 3) for _, s, a in rows if not a),
        }
    return out


INTENT_MODES = {
    "model": "the shipped intent detector, as a turn runs it (language detection, MiniLM or e5 vector)",
    "oracle": "oracle intents (labels from the data file)",
    "cues": "phrase cues (no intent model)",
}


def stratified(items: list[dict[str, Any]], size: int) -> list[dict[str, Any]]:
    """``size`` items, as many per expected act as the acts allow; within an act the (language,
    channel) pairs take turns, each act starting where the previous one stopped, so the sample
    spreads over languages and channels too. Deterministic: file order within a pair."""
    by_act: dict[str, dict[tuple[str, str], list[dict[str, Any]]]] = defaultdict(lambda: defaultdict(list))
    for item in items:
        by_act[item["expected_act"]][(item["language"], item["channel"])].append(item)
    pairs = sorted({pair for groups in by_act.values() for pair in groups})
    chosen: list[dict[str, Any]] = []
    turn = 0
    for rank, act in enumerate(sorted(by_act)):
        groups = {pair: list(group) for pair, group in by_act[act].items()}
        want = min(sum(map(len, groups.values())), size // len(by_act) + (rank < size % len(by_act)))
        taken = 0
        while taken < want:
            group = groups.get(pairs[turn % len(pairs)])
            turn += 1
            if group:
                chosen.append(group.pop(0))
                taken += 1
    return chosen


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--intents", choices=["model", "oracle", "cues"], default="model")
    parser.add_argument("--calibrate", action="store_true")
    parser.add_argument("--set", choices=sorted(SETS), default="dev", dest="subset")
    parser.add_argument("--local", action="store_true", help="also the embedded local model (local-llm extra)")
    parser.add_argument("--sample", type=int, default=0, help="this many turns, stratified by expected act")
    args = parser.parse_args()
    data = SETS[args.subset]
    items = json.loads(data.read_text(encoding="utf-8"))["items"]
    if args.sample:
        items = stratified(items, args.sample)
    knowledge = knowledge_service()
    if args.calibrate:
        path = write_result(
            "reply_threshold", {"note": "no-answer threshold on best dense cosine", **calibrate(knowledge, items)}
        )
        print(path)
        return
    backends = ["extractive"]
    overrides: dict[str, Any] = {}
    if os.environ.get("TXASSIST_OPENAI_BASE_URL"):
        backends.append("openai")
        overrides["openai_base_url"] = os.environ["TXASSIST_OPENAI_BASE_URL"]
    if args.local:
        backends.append("local")
        # A shared 2-core host can take minutes per prompt: a timeout here would measure the host.
        overrides["llm_timeout_s"] = 600.0
    drafting = DraftingKit(Settings.from_env({}, **overrides)).drafter
    results = {name: await run_backend(name, drafting, knowledge, items, args.intents) for name in backends}
    payload = {
        "intents": INTENT_MODES[args.intents],
        "data": str(data.relative_to(ROOT)),
        "knowledge": "examples/kb, KnowledgeService hybrid (MiniLM int8 + BM25)",
        "backends_skipped": [] if "openai" in backends else ["openai (TXASSIST_OPENAI_BASE_URL not set)"],
        "results": results,
    }
    name = {"model": "reply_scenarios", "oracle": "reply_scenarios_oracle", "cues": "reply_scenarios_cues"}[
        args.intents
    ] + ("" if args.subset == "dev" else f"_{args.subset}")
    if args.sample:
        name += f"_sample{args.sample}"
        payload["sample"] = f"{len(items)} of the set's turns, evenly spaced within each expected act"
    path = write_result(name, payload)
    for backend, r in results.items():
        print(
            backend,
            args.intents,
            "right_act",
            r["right_act"],
            r["right_act_by_language"],
            "citation_precision",
            r["citation_precision"],
            "voice_violations",
            r["voice_violations"],
            "channel",
            r["channel_violations"],
            "must_not",
            r["must_not_violations"],
            "p50",
            r["latency_draft"]["p50_ms"],
        )
    print(path)


if __name__ == "__main__":
    asyncio.run(main())
