"""Every redaction pattern runs in linear time: growing adversarial inputs (runs that a backtracking
pattern would retry from every character) must cost about proportionally more, not quadratically."""

from __future__ import annotations

import re
import time
from collections.abc import Callable

import pytest

from txassist.privacy import redaction

PATTERNS = {name: value for name, value in vars(redaction).items() if isinstance(value, re.Pattern)}
# Runs of each pattern's own characters, of the kind that made the email pattern quadratic.
ADVERSARIAL: dict[str, Callable[[int], str]] = {
    "percent": lambda n: "%" * n,
    "local-part": lambda n: "a." * (n // 2),
    "at-signs": lambda n: "a@" * (n // 2),
    "labels": lambda n: "x@" + "a." * (n // 2) + "1",
    "digits": lambda n: "4" * n,
    "spaced-digits": lambda n: "4 " * (n // 2),
    "iban-ish": lambda n: "gb82" + "a1" * (n // 2),
    "capitals": lambda n: "1 " + "Aa " * (n // 3),
    "label-spaces": lambda n: "ssn" + " " * n + "!",
    "label-words": lambda n: "ssn " + "is " * (n // 3) + "!",
}
# 4x the input. Both sizes are past the CPU-cache knee (below it, small inputs run disproportionately
# fast and the ratio overstates growth): linear is about 4x, quadratic 16x.
SMALL, LARGE = 60_000, 240_000
MAX_RATIO = 9.0
MAX_SMALL_S = 0.5  # a pattern this slow already is not linear; do not wait for the large run


def _cost(work: Callable[[], object]) -> float:
    # CPU time of this thread: waiting for a core on a busy machine does not count.
    best = float("inf")
    for _ in range(3):
        started = time.thread_time()
        work()
        best = min(best, time.thread_time() - started)
    return best


def _assert_linear(apply: Callable[[str], object], label: str) -> None:
    for input_name, make in ADVERSARIAL.items():
        small, large = make(SMALL), make(LARGE)
        small_s = _cost(lambda: apply(small))  # noqa: B023  (called at once)
        assert small_s < MAX_SMALL_S, (label, input_name, small_s)
        large_s = _cost(lambda: apply(large))  # noqa: B023
        # Under 2 ms the ratio is timer noise.
        assert large_s < 0.002 or large_s / max(small_s, 1e-4) < MAX_RATIO, (label, input_name, small_s, large_s)


@pytest.mark.parametrize("pattern_name", sorted(PATTERNS))
def test_each_pattern_grows_linearly(pattern_name: str) -> None:
    pattern = PATTERNS[pattern_name]
    _assert_linear(lambda text: pattern.sub("", text), pattern_name)


def test_redact_as_a_whole_grows_linearly() -> None:
    # Digit runs are left out: phone-number matching (the phonenumbers library) is not a pattern here.
    _assert_linear(lambda text: redaction.redact(text.replace("4", "x")), "redact")
