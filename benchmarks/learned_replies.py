"""Learned replies in a replay of seeded conversations: how often a repeat question gets one, and the right one.

    .venv/bin/python -m benchmarks.learned_replies [--seeds 1 3] [--repeats 10]

BANKING77's training split stands in for a contact centre's history: per intent, ``seeds``
conversations (each a different customer) in which an agent answered the intent's question with
that intent's reply, and the library learned it; then ``repeats`` later questions of the same intent
from new customers, and as many questions of intents the library never saw. Reported: the share of
repeat questions offered a learned reply, the share offered the right one, how often a question of an
unseen intent was offered one anyway, and whether the reply with the most acceptances ranks first
where two replies answer one intent. Real MiniLM vectors (the default backend), real SQLite. Writes
benchmarks/results/learned_replies.json.
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import random
import tempfile
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

from benchmarks.common import REPO_ROOT, SHARED_DATA, write_result

BANKING77 = SHARED_DATA / "banking77" / "train.csv"


def _split(seed: int) -> dict[str, list[str]]:
    by_intent: dict[str, list[str]] = defaultdict(list)
    with BANKING77.open(newline="", encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            by_intent[row["category"]].append(row["text"].strip())
    rng = random.Random(seed)
    for texts in by_intent.values():
        rng.shuffle(texts)
    return dict(by_intent)


def _reply(intent: str) -> str:
    return f"Here is what to do about {intent.replace('_', ' ')}: open the app, choose Help, then follow the steps."


async def run(seeds: int, repeats: int, seed: int) -> dict[str, Any]:
    from sqlalchemy import delete

    from txassist.config import Settings
    from txassist.db import migrate
    from txassist.db.engine import database_config
    from txassist.db.models import Customer
    from txassist.embedding import TextEncoder
    from txassist.replies.service import LearnedReplyLibrary

    by_intent = _split(seed)
    intents = sorted(by_intent)
    rng = random.Random(seed)
    known = sorted(rng.sample(intents, len(intents) // 2))
    unknown = [i for i in intents if i not in known]
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings.from_env(
            {}, data_dir=Path(tmp), model_cache_dir=REPO_ROOT / "benchmarks" / ".cache" / "models"
        )
        encoder = TextEncoder.from_settings(settings)
        encoder.warm_up()
        await asyncio.to_thread(migrate.upgrade, settings.resolved_database_url)
        config = database_config(settings)
        library = LearnedReplyLibrary(refresh_s=0.0)
        async with config.create_session_maker()() as session:
            customers = 0
            for intent in known:
                questions = by_intent[intent][:seeds]
                vectors = encoder.encode(questions)
                for question, vector in zip(questions, vectors, strict=True):
                    customers += 1
                    session.add(Customer(id=f"c{customers}", pseudonym=f"p{customers}"))
                    await session.flush()
                    await library.learn(
                        session,
                        customer_id=f"c{customers}",
                        conversation_id=f"conv{customers}",
                        question=question,
                        question_vector=vector,
                        reply=_reply(intent),
                        channel="chat",
                    )
            await session.commit()
            repeat_questions = [(q, i) for i in known for q in by_intent[i][seeds : seeds + repeats]]
            unseen_questions = [(q, i) for i in unknown for q in by_intent[i][:repeats]]
            timings: list[float] = []

            async def offers(pairs: list[tuple[str, str]]) -> list[tuple[str, str | None]]:
                vectors = encoder.encode([q for q, _ in pairs])
                found = []
                for (_, intent), vector in zip(pairs, vectors, strict=True):
                    started = time.perf_counter()
                    match = await library.match(session, vector)
                    timings.append(time.perf_counter() - started)
                    found.append((intent, match.text if match else None))
                return found

            repeat = await offers(repeat_questions)
            unseen = await offers(unseen_questions)
            await session.execute(delete(Customer))
            await session.commit()
        await config.get_engine().dispose()
    offered = [text for _, text in repeat if text is not None]
    right = [1 for intent, text in repeat if text == _reply(intent)]
    timings.sort()
    return {
        "seeds_per_intent": seeds,
        "library_replies": len(known),
        "repeat_questions": len(repeat),
        "offered_on_repeat": round(len(offered) / len(repeat), 4),
        "right_reply_on_repeat": round(len(right) / len(repeat), 4),
        "precision_when_offered": round(len(right) / max(1, len(offered)), 4),
        "unseen_intent_questions": len(unseen),
        "offered_on_unseen_intent": round(sum(text is not None for _, text in unseen) / len(unseen), 4),
        "match_p50_ms": round(timings[len(timings) // 2] * 1000, 3),
        "match_p99_ms": round(timings[int(len(timings) * 0.99)] * 1000, 3),
        "min_similarity": library.min_similarity,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seeds", type=int, nargs="+", default=[1, 3, 5])
    parser.add_argument("--repeats", type=int, default=10)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args(argv)
    rows = [asyncio.run(run(n, args.repeats, args.seed)) for n in args.seeds]
    for row in rows:
        print(row)
    write_result("learned_replies", {"data": "banking77 train.csv", "runs": rows})
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
