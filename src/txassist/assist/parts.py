"""``PartRunner``: one part of a turn under its time limit; a failure degrades the answer, never fails it."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

import anyio
import structlog

log = structlog.get_logger("txassist.assist")

T = TypeVar("T")

TIMING_KEYS = ("embedding", "sentiment", "knowledge", "context", "draft", "signals", "store", "total")


class PartRunner:
    """Runs one part; records its time and, on failure, its name in ``degraded``.

    ``__call__`` puts model and CPU work under the part time limit. ``read`` runs a database read
    without one: cancelling a query midway would break the session the write phase needs.
    """

    def __init__(self, timeout_s: float) -> None:
        self.timeout_s = timeout_s
        self.timings: dict[str, float] = {}
        self.degraded: list[str] = []

    async def __call__(self, name: str, work: Callable[[], Awaitable[T]], *, timing: str = "") -> T | None:
        return await self._run(name, work, self.timeout_s, timing or name)

    async def read(self, name: str, work: Callable[[], Awaitable[T]] | None) -> T | None:
        if work is None:
            return None
        return await self._run(name, work, None, name)

    async def _run(self, name: str, work: Callable[[], Awaitable[T]], timeout_s: float | None, timing: str) -> T | None:
        started = time.perf_counter()
        try:
            with anyio.fail_after(timeout_s):
                return await work()
        except Exception as exc:  # each part may fail alone; the turn still answers
            log.warning("turn_part_failed", part=name, error=type(exc).__name__, detail=str(exc)[:200])
            if name not in self.degraded:
                self.degraded.append(name)
            return None
        finally:
            self.timings[timing] = self.timings.get(timing, 0.0) + _ms(started)

    def timings_ms(self, started: float) -> dict[str, float]:
        timings = {key: round(self.timings.get(key, 0.0), 3) for key in TIMING_KEYS}
        timings["total"] = round(_ms(started), 3)
        return timings

    async def maybe(self, name: str, work: Callable[[], Awaitable[T]] | None, *, timing: str = "") -> T | None:
        if work is None:
            return None
        return await self(name, work, timing=timing)


def _ms(started: float) -> float:
    return (time.perf_counter() - started) * 1000
