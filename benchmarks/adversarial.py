"""Hostile customer text against a real server: the worst turn, and whether the event loop stayed free.

    python -m benchmarks.adversarial            # writes benchmarks/results/adversarial.json
    python -m benchmarks.adversarial --quick    # fewer sizes: a smoke run

Starts ``txassist serve`` as a process (SQLite, the shipped models), adds two KB documents, then replays
a corpus of adversarial texts: hand-written ones plus generated families (each rule's worst case as a
long run, nested brackets, ``%`` runs, ``1/2`` runs, mixed scripts, zero-width floods, compatibility
characters that expand under NFKC, texts at ``max_text_chars``). Each text goes to
``POST /v1/conversations/{id}/turns`` (then one short follow-up turn in the same conversation, which pays
for the history's rolling summary), to ``POST /v1/sentiment`` and, as an article whose heading is the
text's first 2,000 characters, to ``POST /v1/kb/documents`` (ingest: embedding every chunk is its
cost). Meanwhile a second task polls ``/health/live`` every few milliseconds; its latency while a
hostile request is in flight is the event-loop stall the other callers see. The floor is the same
probe's latency with the server idle, measured in the same run.

Targets (issue 19): worst hostile turn at most 1 s total server time; /health/live within 50 ms
meanwhile (the loop is blocked no longer than that).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
from tests.support.server import REPO_ROOT, running_server, server_env

from benchmarks.common import timing_stats, write_result
from txassist.config import Settings
from txassist.sentiment.service import is_head_dir

KEY = "bench-key"
TARGET_TURN_MS = 1000.0
TARGET_LIVE_MS = 50.0
PROBE_INTERVAL_S = 0.005
ORDINARY_TURNS = 12
ORDINARY = (
    "My order arrived late and the box was damaged, I need a refund.",
    "I was charged twice this month, can you check my invoice?",
    "Thanks, and how long does the refund take to reach my card?",
)


def _fill(unit: str, n: int) -> str:
    return (unit * (n // len(unit) + 1))[:n]


def corpus(max_chars: int, sizes: list[int]) -> list[tuple[str, str]]:
    """(family, text) pairs; each generated family at every size in ``sizes`` (capped at ``max_chars``)."""
    hand_written = [
        ("negation", "I will not cancel, it is not too expensive, nothing is broken"),
        ("zero-width competitor", "I am moving to Hello\u200bFresh next week, Gou\u200dsto is cheaper"),
        ("signals then halves", "I want to cancel, it is too expensive, the app crashes. " + "1/2 " * 3000),
        ("every cue", "I want to speak to your manager and file a formal complaint, I will cancel my plan. " * 50),
    ]
    families: dict[str, Callable[[int], str]] = {
        "complaint spaces": lambda n: "file" + " " * (n - 5) + "x",
        "complaint runs": lambda n: _fill("file" + " " * 40 + "x ", n),
        "manager spaces": lambda n: "speak to" + " " * (n - 9) + "x",
        "cancel spaces": lambda n: "cancel" + " " * (n - 7) + "x",
        "open brackets": lambda n: "[" * n,
        "link openers": lambda n: _fill("[a](", n),
        "brackets then parens": lambda n: "[" * (n // 2) + _fill("](", n // 2),
        "percent run": lambda n: "%" * n,
        "percent at": lambda n: _fill("%", n - 12) + "@example.com",
        "halves": lambda n: _fill("1/2 ", n),
        "digit groups": lambda n: _fill("4111 ", n),
        "plus digits": lambda n: _fill("+44 20 ", n),
        "dots": lambda n: _fill(". ", n),
        "newlines": lambda n: "\n".join(["x"] * (n // 2)),
        "long word": lambda n: "cancel " + "a" * (n - 7),
        "mixed scripts": lambda n: _fill("cancel отменить إلغاء キャンセル 取消 \u2044 👍🏽 ", n),
        "zero-width flood": lambda n: _fill("can\u200bcel\u200d my\ufeff plan\u00ad ", n),
        "nfkc expanders": lambda n: "\ufdfa" * (n // 18),  # each becomes 18 characters under NFKC
        "cue flood": lambda n: _fill("cancel my not too expensive broken error failed manager complaint ", n),
        "prose at limit": lambda n: _fill("My order arrived late and the box was damaged, I need a refund. ", n),
    }
    out = list(hand_written)
    for name, make in families.items():
        out.extend((name, make(min(size, max_chars))) for size in sizes)
    return out


class LivenessProbe:
    """Polls /health/live; keeps (sent_at, latency) so a request's window can be looked up later."""

    def __init__(self, client: httpx.AsyncClient) -> None:
        self.client = client
        self.samples: list[tuple[float, float]] = []
        self.stopped = asyncio.Event()

    async def run(self) -> None:
        while not self.stopped.is_set():
            sent = time.perf_counter()
            await self.client.get("/health/live")
            self.samples.append((sent, time.perf_counter() - sent))
            await asyncio.sleep(PROBE_INTERVAL_S)

    def worst_between(self, start: float, end: float) -> float:
        # A probe sent while the request ran, or one already waiting when it began.
        inside = [lat for sent, lat in self.samples if sent <= end and sent + lat >= start]
        return max(inside, default=0.0)


async def _timed(
    client: httpx.AsyncClient, probe: LivenessProbe, method: str, path: str, body: dict[str, Any]
) -> dict[str, Any]:
    started = time.perf_counter()
    response = await client.request(method, path, json=body)
    ended = time.perf_counter()
    await asyncio.sleep(0.02)  # let the probe in flight come back
    payload = response.json() if response.headers.get("content-type", "").endswith("json") else {}
    return {
        "status": response.status_code,
        "total_ms": round((ended - started) * 1000, 2),
        "server_total_ms": (payload.get("timings_ms") or {}).get("total") if isinstance(payload, dict) else None,
        "degraded": payload.get("degraded") if isinstance(payload, dict) else None,
        "server_parts_ms": (payload.get("timings_ms") or {}) if isinstance(payload, dict) else {},
        "live_worst_ms": round(probe.worst_between(started, ended) * 1000, 2),
    }


async def replay(base: str, texts: list[tuple[str, str]]) -> dict[str, Any]:
    headers = {"Authorization": f"Bearer {KEY}"}
    async with (
        httpx.AsyncClient(base_url=base, headers=headers, timeout=120) as client,
        httpx.AsyncClient(base_url=base, timeout=120) as probe_client,
    ):
        probe = LivenessProbe(probe_client)
        poller = asyncio.create_task(probe.run())
        await asyncio.sleep(2.0)  # the idle floor
        idle = [lat for _, lat in probe.samples]
        ordinary: list[dict[str, Any]] = []
        for i in range(ORDINARY_TURNS):  # the turn floor: ordinary turns, same server, same run
            turn = {"customer_id": "cust-floor", "channel": "chat", "speaker": "customer", "text": ORDINARY[i % 3]}
            ordinary.append(await _timed(client, probe, "POST", f"/v1/conversations/floor-{i // 3}/turns", turn))
        rows: list[dict[str, Any]] = []
        for family, text in texts:
            conversation = f"adv-{uuid.uuid4().hex[:10]}"
            turn = {"customer_id": "cust-adv", "channel": "chat", "speaker": "customer", "text": text}
            first = await _timed(client, probe, "POST", f"/v1/conversations/{conversation}/turns", turn)
            follow = await _timed(
                client,
                probe,
                "POST",
                f"/v1/conversations/{conversation}/turns",
                {**turn, "text": "Is there any update on this?"},
            )
            sentiment = await _timed(client, probe, "POST", "/v1/sentiment", {"texts": [text]})
            # The same text as a knowledge article, its first line as a heading (the chunker's regexes).
            article = {"id": f"adv/{conversation}", "title": "Hostile article", "text": f"# {text[:2000]}\n\n{text}"}
            document = await _timed(client, probe, "POST", "/v1/kb/documents", article)
            rows.append(
                {
                    "family": family,
                    "chars": len(text),
                    "turn": first,
                    "follow_up": follow,
                    "sentiment": sentiment,
                    "kb_document": document,
                }
            )
            print(
                f"{family:24} {len(text):6} turn {first['status']} {first['total_ms']:8.1f} ms "
                f"(live {first['live_worst_ms']:6.1f})  follow {follow['total_ms']:7.1f}  "
                f"sentiment {sentiment['status']} {sentiment['total_ms']:7.1f} ms "
                f"(live {sentiment['live_worst_ms']:6.1f})",
                flush=True,
            )
        probe.stopped.set()
        await poller
    return {"idle_live": idle, "ordinary": ordinary, "rows": rows}


def _route_summary(rows: list[dict[str, Any]], key: str) -> dict[str, Any]:
    calls = [(row, row[key]) for row in rows]
    worst_total = max(calls, key=lambda c: c[1]["total_ms"])
    worst_live = max(calls, key=lambda c: c[1]["live_worst_ms"])
    server = [c["server_total_ms"] for _, c in calls if c["server_total_ms"] is not None]
    return {
        "requests": len(calls),
        "statuses": sorted({c["status"] for _, c in calls}),
        "server_errors": sum(1 for _, c in calls if c["status"] >= 500),
        "worst_total_ms": worst_total[1]["total_ms"],
        "worst_total_family": worst_total[0]["family"],
        "worst_server_total_ms": max(server, default=None),
        "worst_live_ms": worst_live[1]["live_worst_ms"],
        "worst_live_family": worst_live[0]["family"],
        "total": timing_stats([c["total_ms"] / 1000 for _, c in calls]),
        "degraded_requests": sum(1 for _, c in calls if c["degraded"]),
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0] if __doc__ else "")
    parser.add_argument("--quick", action="store_true", help="only the largest size per family")
    parser.add_argument("--result-name", default="adversarial")
    args = parser.parse_args(argv)
    max_chars = Settings.from_env({}).max_text_chars
    sizes = [max_chars] if args.quick else [max_chars // 4, max_chars]
    texts = corpus(max_chars, sizes)
    ready = "/health/ready" if is_head_dir(REPO_ROOT / "models" / "sentiment-head") else "/health/live"
    with tempfile.TemporaryDirectory(prefix="txassist-adversarial-") as tmp:
        data_dir = Path(tmp)
        env = server_env(data_dir, {KEY: ["platform", "agent", "admin"]}, TXASSIST_RATE_LIMIT_PER_S="0")
        with running_server(env, data_dir / "server.log", ready_path=ready) as base:
            docs = [
                {"id": "refunds", "title": "Refunds", "text": "# Refunds\n\nRefunds reach your card in 5 days."},
                {"id": "cancel", "title": "Cancelling", "text": "# Cancel a plan\n\nCancel any time in Settings."},
            ]
            response = httpx.post(
                base + "/v1/kb/documents", json=docs, headers={"Authorization": f"Bearer {KEY}"}, timeout=60
            )
            response.raise_for_status()
            measured = asyncio.run(replay(base, texts))
    rows = measured["rows"]
    routes = {
        "POST /v1/conversations/{id}/turns": _route_summary(rows, "turn"),
        "POST /v1/conversations/{id}/turns (follow-up)": _route_summary(rows, "follow_up"),
        "POST /v1/sentiment": _route_summary(rows, "sentiment"),
        "POST /v1/kb/documents": _route_summary(rows, "kb_document"),
    }
    idle = timing_stats(measured["idle_live"])
    ordinary = measured["ordinary"][2:]  # the first turns warm the server up
    ordinary_server = timing_stats([o["server_total_ms"] / 1000 for o in ordinary])
    ordinary_live = max(o["live_worst_ms"] for o in ordinary)
    worst_turn = max(routes[r]["worst_server_total_ms"] or 0.0 for r in routes if "turns" in r)
    worst_live = max(route["worst_live_ms"] for route in routes.values())
    payload = {
        "max_text_chars": max_chars,
        "texts": len(texts),
        "sizes": sizes,
        "floor": {
            "idle_health_live": idle,
            "ordinary_turn_server": ordinary_server,
            "health_live_worst_during_ordinary_turns_ms": ordinary_live,
        },
        "routes": routes,
        "targets": {
            "worst_turn_server_ms": {
                "target": TARGET_TURN_MS,
                "measured": worst_turn,
                "met": worst_turn <= TARGET_TURN_MS,
                "ratio_to_ordinary_turn_p50": round(worst_turn / ordinary_server["p50_ms"], 1),
            },
            "worst_health_live_ms": {
                "target": TARGET_LIVE_MS,
                "measured": worst_live,
                "met": worst_live <= TARGET_LIVE_MS,
                "ratio_to_idle_p50": round(worst_live / idle["p50_ms"], 1) if idle.get("p50_ms") else None,
            },
        },
        "rows": rows,
        "note": "client, probe and server share the machine's cores; /health/live latency includes its HTTP round trip",
    }
    path = write_result(args.result_name, payload)
    print(json.dumps({k: payload[k] for k in ("floor", "routes", "targets")}, indent=2))
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
