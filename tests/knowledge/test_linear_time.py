"""Text work in knowledge/ grows linearly with its input (issue 19): no pattern backtracks.

Each case times an adversarial input and the same input four times longer (the minimum of several
repeats, so a busy host only adds noise upwards) and asserts the ratio stays below quadratic (16).
"""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest

from txassist.knowledge.chunking import chunk_document, parse_heading, split_sentences
from txassist.knowledge.lexical import tokenize
from txassist.knowledge.loaders import make_document, parse_front_matter
from txassist.knowledge.service import make_snippet

FACTOR = 4
# Linear is 4; allow for timer noise and cache effects, stay under quadratic (16).
MAX_RATIO = 10.0
# A shared host can slow one measurement; a super-linear pattern is slow on every attempt.
ATTEMPTS = 3


def _best_of(fn: Callable[[str], object], text: str, loops: int, repeats: int = 5) -> float:
    best = float("inf")
    for _ in range(repeats):
        started = time.perf_counter()
        for _ in range(loops):
            fn(text)
        best = min(best, time.perf_counter() - started)
    return best


def growth_ratio(fn: Callable[[str], object], make: Callable[[int], str], small: int) -> float:
    """time(make(FACTOR * small)) / time(make(small)), with enough loops to time the small one."""
    text = make(small)
    loops = 1
    while _best_of(fn, text, loops, repeats=1) < 0.005 and loops < 10_000:
        loops *= 4
    return _best_of(fn, make(FACTOR * small), loops) / _best_of(fn, text, loops)


def _markdown(text: str) -> object:
    return chunk_document(make_document(doc_id="d", title="T", text=text))


CASES: dict[str, tuple[Callable[[str], object], Callable[[int], str], int]] = {
    # The old heading pattern took 12 s on a 2 KB line like this one.
    "heading of spaces": (parse_heading, lambda n: "# a" + " " * n + "x", 300),
    "heading of hashes and spaces": (parse_heading, lambda n: "#" + " #" * n + " x", 300),
    "document with a long heading": (_markdown, lambda n: "# a" + " " * n + "x\n\nbody.", 300),
    "front matter never closed": (parse_front_matter, lambda n: "---" + "\n" * n + "x", 4_000),
    "front matter of spaces": (parse_front_matter, lambda n: "---\n" + "\n--- " * n + "x", 2_000),
    "blank-ish paragraph breaks": (split_sentences, lambda n: ("\n" + " " * 50) * n + "x", 200),
    "sentence ends before lowercase": (split_sentences, lambda n: "a." + " " * n + "b", 2_000),
    "many sentence ends": (split_sentences, lambda n: "a. " * n, 2_000),
    "one long word": (tokenize, lambda n: "a" * n, 5_000),
    "snippet of many short sentences": (lambda t: make_snippet(t, "refund card"), lambda n: "Refund. " * n, 500),
}


@pytest.mark.parametrize("case", list(CASES))
def test_text_work_grows_linearly(case: str) -> None:
    fn, make, small = CASES[case]
    ratio = min(growth_ratio(fn, make, small) for _ in range(ATTEMPTS))
    assert ratio < MAX_RATIO, f"{case}: {FACTOR}x the input took {ratio:.1f}x the time"


def test_a_long_heading_line_is_parsed_at_once() -> None:
    started = time.perf_counter()
    assert parse_heading("## a" + " " * 100_000 + "x ##") == (2, "a" + " " * 100_000 + "x")
    assert time.perf_counter() - started < 0.05


def test_heading_parsing_keeps_its_meaning() -> None:
    assert parse_heading("# Title") == (1, "Title")
    assert parse_heading("###   Spaced   ###  ") == (3, "Spaced")
    assert parse_heading("# Title # #") == (1, "Title #")
    assert parse_heading("#") is None
    assert parse_heading("#hashtag") is None
    assert parse_heading("####### seven") is None
    assert parse_heading("# ###") == (1, "")
