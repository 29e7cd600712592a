"""The edge normal form, and window-by-window matching that finds what a whole-text match finds."""

from __future__ import annotations

import re

import pytest

from txassist.signals import extractors
from txassist.text import windows
from txassist.text.normalize import normalize_text

COMPETITORS = extractors.competitor_pattern(list(extractors.DEFAULT_COMPETITORS))
CANONICAL = {n.lower(): n for n in extractors.DEFAULT_COMPETITORS}


@pytest.mark.parametrize(
    "hidden",
    [
        "Hello\u200bFresh",  # zero-width space
        "Hello\u200cFresh",  # zero-width non-joiner
        "Hello\u200dFresh",  # zero-width joiner
        "Hello\u2060Fresh",  # word joiner
        "Hello\ufeffFresh",  # byte-order mark
        "Hello\u00adFresh",  # soft hyphen
        "Hello\u202eFresh",  # bidirectional override
        "Hello\U000e0041Fresh",  # a tag character
        "\uff28\uff45\uff4c\uff4c\uff4f\uff26\uff52\uff45\uff53\uff48",  # full-width letters
        "Hello\x00Fresh",  # a control character
    ],
)
def test_no_invisible_or_compatibility_character_hides_a_competitor(hidden: str) -> None:
    text = f"I'm moving to {hidden} next week"
    assert extractors.competitor_mentions(normalize_text(text), COMPETITORS, CANONICAL)[0].key == "HelloFresh"


def test_line_breaks_and_tabs_stay_and_carriage_returns_become_line_breaks() -> None:
    assert normalize_text("a\tb\r\nc\rd\ne\x07") == "a\tb\nc\nd\ne"


def test_typographic_apostrophes_become_ascii_so_rules_read_them() -> None:
    assert normalize_text("I don\u2019t want to cancel") == "I don't want to cancel"


def test_plain_text_is_returned_unchanged() -> None:
    text = "Plain words, numbers 1/2 and émojis 👍 stay as they are."
    assert normalize_text(text) == text


WORDS = re.compile(r"\b(?:cancel|refund|price)\b", re.IGNORECASE)


@pytest.mark.parametrize("size", [10, 500, 1999, 2000, 2201, 5000, 20000])
def test_windowed_matches_equal_whole_text_matches(size: int) -> None:
    filler = "lorem ipsum dolor sit amet "
    text = (filler * (size // len(filler) + 1))[:size]
    # Cue words everywhere, including across every window edge.
    text = " ".join(word if i % 7 else "cancel" for i, word in enumerate(text.split(" ")))
    whole = [m.span() for m in WORDS.finditer(text)]
    assert [m.span() for m in windows.finditer(WORDS, text)] == whole
    first = windows.search(WORDS, text)
    assert (first.span() if first else None) == (whole[0] if whole else None)
    assert windows.count(WORDS, text) == len(whole)


def test_a_phrase_across_a_window_edge_is_found() -> None:
    phrase = re.compile(r"cancel my subscription")
    for offset in range(windows.WINDOW_CHARS - 30, windows.WINDOW_CHARS + 30):
        text = "x " * (offset // 2) + "cancel my subscription " + "y " * 3000
        assert windows.search(phrase, text) is not None, offset
