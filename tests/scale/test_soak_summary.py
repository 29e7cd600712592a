"""The soak's memory verdict: a leak keeps its slope, caches filling up flatten."""

from __future__ import annotations

import shutil
import subprocess
import sys

import pytest
from benchmarks.soak import Tally, summarize, trim_native_heap

# Frees 200 MB of malloc'd buffers below one that stays, so glibc cannot shrink its heap by itself.
FRAGMENTED = """
import time
freed = [bytearray(1000) for _ in range(200_000)]
kept = bytearray(1000)
del freed
print("ready", flush=True)
time.sleep(60)
"""


def _slopes(rss: list[tuple[float, float]]) -> list[float]:
    tally = Tally()
    tally.record("turn", 200, 0.01)
    result = summarize(tally, rss, duration_s=rss[-1][0], concurrency=1)
    slopes: list[float] = result["rss_mb_per_min_by_third"]
    return slopes


def test_a_leak_keeps_its_slope() -> None:
    rss = [(float(t), 600.0 + t / 60 * 2.0) for t in range(0, 901, 10)]  # 2 MB/min for 15 minutes
    slopes = _slopes(rss)
    assert len(slopes) == 3
    assert all(abs(s - 2.0) < 0.05 for s in slopes)


def test_a_filling_cache_flattens() -> None:
    rss = [(float(t), 700.0 - 50.0 * 0.995**t) for t in range(0, 901, 10)]  # approaches 700 MB
    first, _, last = _slopes(rss)
    assert first > 4 * last > 0


@pytest.mark.skipif(shutil.which("gdb") is None, reason="gdb is not installed")
def test_trim_hands_freed_memory_back() -> None:
    child = subprocess.Popen([sys.executable, "-c", FRAGMENTED], stdout=subprocess.PIPE)
    try:
        assert child.stdout is not None and child.stdout.readline().strip() == b"ready"
        trimmed = trim_native_heap(child.pid)
    finally:
        child.kill()
        child.wait()
    assert trimmed is not None
    assert trimmed["released_mb"] > 100, trimmed
    assert trimmed["rss_mb_after"] < trimmed["rss_mb_before"]
