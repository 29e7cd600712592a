"""Every redaction pattern runs in linear time: growing adversarial inputs (runs that a backtracking
pattern would retry from every character) must cost about proportionally more, not quadratically."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest

from tests.support.growth import assert_linear_growth
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
# 30k to 240k characters: past the CPU-cache knee, where small inputs run disproportionately fast.
# The shared helper judges the growth over all three doublings at once (one noisy size, as on a
# busy CI host, does not decide) and allows 3x per doubling where quadratic work costs 4x.
BASE, STEPS = 30_000, 4


def _assert_linear(apply: Callable[[str], object], label: str) -> None:
    for input_name, make in ADVERSARIAL.items():
        try:
            assert_linear_growth(apply, make, base=BASE, steps=STEPS, repeats=3)
        except AssertionError as error:
            raise AssertionError(f"{label} on {input_name}: {error}") from error


@pytest.mark.parametrize("pattern_name", sorted(PATTERNS))
def test_each_pattern_grows_linearly(pattern_name: str) -> None:
    pattern = PATTERNS[pattern_name]
    _assert_linear(lambda text: pattern.sub("", text), pattern_name)


def test_redact_as_a_whole_grows_linearly() -> None:
    # Digit runs are left out: phone-number matching (the phonenumbers library) is not a pattern here.
    _assert_linear(lambda text: redaction.redact(text.replace("4", "x")), "redact")
