"""The soak's memory verdict: a leak keeps its slope, caches filling up flatten."""

from __future__ import annotations

from benchmarks.soak import Tally, summarize


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
