"""What identity resolution and possible matches add to a turn's context read, on SQLite.

    .venv/bin/python benchmarks/identity_context.py [--customers 2000] [--repeat 1000]

The context of a turn now also reads the customer's possible matches (one indexed query). Measured in
the same run against the floor, the read the context did before (``recent_conversations``), and beside
the identity resolution of a turn that carries an unverified email held by someone else. Writes
benchmarks/results/identity_context.json.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT))

from sqlalchemy.ext.asyncio import async_sessionmaker, create_async_engine  # noqa: E402

from benchmarks.common import timing_stats, write_result  # noqa: E402
from txassist.config import Settings  # noqa: E402
from txassist.conversations.context import build_context  # noqa: E402
from txassist.conversations.identity import IdentityResolver, identity_key  # noqa: E402
from txassist.conversations.records import ConversationRecord  # noqa: E402
from txassist.conversations.repository import ConversationRepository  # noqa: E402
from txassist.db import migrate  # noqa: E402

SECRET = "benchmark-secret"


class Claim:
    def __init__(self, email: str) -> None:
        self.email, self.phone, self.handle, self.verified = email, None, None, None


async def _time(fn: Callable[[], Awaitable[Any]], repeat: int) -> list[float]:
    for _ in range(20):
        await fn()
    samples = []
    for _ in range(repeat):
        started = time.perf_counter()
        await fn()
        samples.append(time.perf_counter() - started)
    return samples


async def run(customers: int, repeat: int) -> dict[str, Any]:
    data_dir = Path(tempfile.mkdtemp(prefix="txassist-identity-bench-"))
    settings = Settings.from_env({}, data_dir=data_dir, pseudonym_secret=SECRET)
    url = settings.resolved_database_url
    await asyncio.to_thread(migrate.upgrade, url)
    engine = create_async_engine(url)
    sessions = async_sessionmaker(engine, expire_on_commit=False)
    now = datetime.now(UTC)
    async with sessions() as session:
        repo = ConversationRepository(session)
        for n in range(customers):
            repo.add_customer(f"c{n}", f"ref{n}")
            repo.add_identity(f"c{n}", "email", identity_key(SECRET, "email", f"c{n}@example.com"), verified=True)
        await repo.flush()
        for n in range(customers):
            for k in range(3):
                at = now - timedelta(hours=k)
                await repo.insert_conversation(
                    ConversationRecord(
                        id=f"c{n}-{k}", customer_id=f"c{n}", channel="chat", status="open", started_at=at, updated_at=at
                    )
                )
            if n % 4 == 0 and n + 1 < customers:
                repo.add_match(f"c{n}", f"c{n + 1}", "email")
        await repo.commit()

    async with sessions() as session:
        repo = ConversationRepository(session)
        resolver = IdentityResolver(repo, SECRET)
        since = now - timedelta(days=90)
        target = "c8"  # has a possible match
        floor = await _time(lambda: repo.recent_conversations(target, since=since, limit=5, exclude_id="c8-0"), repeat)
        matches = await _time(lambda: repo.possible_matches(target), repeat)
        context = await _time(lambda: build_context(repo, settings, target, exclude_conversation_id="c8-0"), repeat)
        claimed = await _time(lambda: resolver.resolve("newcomer", Claim("c9@example.com"), None), repeat)
        common = await _time(lambda: resolver.resolve(target, None, target), repeat)
        parts = {
            "customer_exists": await _time(lambda: repo.customer_exists("newcomer"), repeat),
            "alias_lookup": await _time(lambda: repo.customer_for_identity("customer_id", "x"), repeat),
            "identity_owners": await _time(lambda: repo.identity_owners([("email", "y")]), repeat),
        }
    await engine.dispose()
    stats = {
        "floor_recent_conversations": timing_stats(floor),
        "possible_matches_query": timing_stats(matches),
        "build_context_with_matches": timing_stats(context),
        "resolve_new_id_with_claimed_email": timing_stats(claimed),
        "resolve_common_turn": timing_stats(common),
        **{f"part_{name}": timing_stats(samples) for name, samples in parts.items()},
    }
    base = stats["floor_recent_conversations"]["p50_ms"]
    return {
        "customers": customers,
        "repeat": repeat,
        "results": stats,
        "ratios_p50_vs_floor": {name: round(s["p50_ms"] / base, 2) for name, s in stats.items()},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--customers", type=int, default=2000)
    parser.add_argument("--repeat", type=int, default=1000)
    args = parser.parse_args()
    result = asyncio.run(run(args.customers, args.repeat))
    path = write_result("identity_context", result)
    for name, stats in result["results"].items():
        print(f"{name:40s} p50 {stats['p50_ms']:.3f} ms  p99 {stats['p99_ms']:.3f} ms")
    print("ratios (p50 / floor):", result["ratios_p50_vs_floor"])
    print(path)


if __name__ == "__main__":
    main()
