"""Python-heap growth per turn: is anything kept that should not be?

Drives customer turns (and a draft every 8th turn) through the app in process, then compares two
tracemalloc snapshots taken around a measured stretch of turns, after a warm-up, with garbage
collected. Bounded caches (the embedding batcher's 4,096 texts, Litestar's 1,024-path routing cache)
still fill during the run, so some growth is expected; a leak shows as a site that grows with every
turn and is not one of those. RSS over time under traffic is ``benchmarks/soak.py``.

    .venv/bin/python -m benchmarks.heap_growth [--warmup 300] [--turns 800]

Writes benchmarks/results/heap_growth.json.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import itertools
import json
import os
import tempfile
import tracemalloc
from pathlib import Path
from typing import Any

from benchmarks.common import write_result
from benchmarks.turn_latency import banking_texts

KEY = "heap-key"


async def measure(warmup: int, turns: int, top: int) -> dict[str, Any]:
    from litestar.testing import AsyncTestClient

    from txassist.app import create_app
    from txassist.config import Settings

    scopes = ["platform", "agent", "product", "admin"]
    env = {"TXASSIST_API_KEYS": json.dumps({KEY: scopes}), "TXASSIST_RATE_LIMIT_PER_S": "0"}
    settings = Settings.from_env(env, data_dir=Path(tempfile.mkdtemp()))
    texts = itertools.cycle([t for t in banking_texts() if len(t) > 20])
    headers = {"Authorization": f"Bearer {KEY}"}
    done = 0
    async with AsyncTestClient(create_app(settings)) as client:
        document = {"id": "refunds", "title": "Refunds", "text": "Refunds take 5 days. Cards can be frozen."}
        assert (await client.post("/v1/kb/documents", json=document, headers=headers)).status_code == 201

        async def drive(count: int) -> None:
            nonlocal done
            for _ in range(count):
                conversation = f"c{done // 8}"
                body = {"customer_id": f"u{done // 24}", "channel": "chat", "speaker": "customer", "text": next(texts)}
                answer = await client.post(f"/v1/conversations/{conversation}/turns", json=body, headers=headers)
                assert answer.status_code == 200, answer.text
                if done % 8 == 4:
                    await client.post(f"/v1/conversations/{conversation}/draft", json={}, headers=headers)
                done += 1

        await drive(warmup)
        gc.collect()
        tracemalloc.start(8)
        before = tracemalloc.take_snapshot()
        await drive(turns)
        gc.collect()
        after = tracemalloc.take_snapshot()
        tracemalloc.stop()
    stats = after.compare_to(before, "traceback")
    growth = sum(s.size_diff for s in stats)
    return {
        "warmup_turns": warmup,
        "measured_turns": turns,
        "python_heap_growth_bytes": growth,
        "bytes_per_turn": round(growth / turns, 1),
        "top_sites": [
            {
                "size_diff_bytes": s.size_diff,
                "blocks_diff": s.count_diff,
                "where": [f"{frame.filename.split('site-packages/')[-1]}:{frame.lineno}" for frame in s.traceback][-4:],
            }
            for s in stats[:top]
        ],
    }


def main() -> None:
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    parser = argparse.ArgumentParser()
    parser.add_argument("--warmup", type=int, default=300)
    parser.add_argument("--turns", type=int, default=800)
    parser.add_argument("--top", type=int, default=8)
    args = parser.parse_args()
    result = asyncio.run(measure(args.warmup, args.turns, args.top))
    print(json.dumps({k: v for k, v in result.items() if k != "top_sites"}))
    print(write_result("heap_growth", result))


if __name__ == "__main__":
    main()
