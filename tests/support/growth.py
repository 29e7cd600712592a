"""Does text work grow linearly with its input? A timing check robust to a noisy, shared machine.

``assert_linear_growth(work, make_input)`` times ``work(make_input(n))`` for n, 2n, 4n and 8n and fails
when the time grows clearly faster than the input: a quadratic pattern quadruples per doubling, a linear
one doubles. An absolute ceiling on the largest input catches work that is linear but far too slow
anyway. Time is the calling thread's CPU time (``time.thread_time``), the best of a few repeats: on a
loaded machine wall time mostly measures how long the scheduler kept the test waiting.

Reusable by any owner of a pattern or parser that sees customer text::

    from tests.support.growth import assert_linear_growth

    assert_linear_growth(lambda text: PATTERN.search(text), lambda n: "file " + " " * n + "x")
"""

from __future__ import annotations

import time
from collections.abc import Callable

# A doubling of the input may cost up to this factor; quadratic work costs 4, cubic 8. Above 2 to
# absorb constant overheads and cache effects on small inputs.
MAX_DOUBLING_RATIO = 3.0
# Below this the clock and interpreter noise dominate; such work is too fast to be a risk.
NOISE_FLOOR_S = 0.002


def best_time(work: Callable[[str], object], text: str, repeats: int = 5) -> float:
    """The least CPU time (this thread's, seconds) ``work(text)`` took over ``repeats`` runs."""
    best = float("inf")
    for _ in range(repeats):
        started = time.thread_time()
        work(text)
        best = min(best, time.thread_time() - started)
    return best


def assert_linear_growth(
    work: Callable[[str], object],
    make_input: Callable[[int], str],
    *,
    base: int = 2_500,
    steps: int = 4,
    ceiling_s: float = 0.25,
    max_ratio: float = MAX_DOUBLING_RATIO,
    repeats: int = 5,
) -> list[float]:
    """Times ``work`` on inputs of base·2^k (k < steps); returns the times for the report.

    Fails when an input takes over ``ceiling_s`` (at once, without timing the larger ones), or when
    time grows by more than ``max_ratio`` per doubling over the whole range (the geometric mean, so
    one noisy step does not decide) while above the noise floor.
    """
    sizes = [base * 2**k for k in range(steps)]
    work(make_input(sizes[0]))  # warm caches (compiled patterns, imports)
    times: list[float] = []
    for n in sizes:
        times.append(best_time(work, make_input(n), repeats))
        label = ", ".join(f"{size}: {t * 1000:.2f} ms" for size, t in zip(sizes, times, strict=False))
        # Stop at the first size over the ceiling: quadratic work on the larger ones takes minutes.
        assert times[-1] <= ceiling_s, f"too slow on {n} chars ({label})"
    first, last = max(times[0], NOISE_FLOOR_S), max(times[-1], NOISE_FLOOR_S)
    per_doubling = (last / first) ** (1 / (steps - 1))
    assert per_doubling <= max_ratio, f"grows {per_doubling:.2f}x per doubling of the input ({label})"
    return times
