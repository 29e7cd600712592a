"""Pattern matching over customer text in bounded windows.

A regular expression is matched window by window (``WINDOW_CHARS`` plus ``OVERLAP_CHARS`` at most)
instead of over the whole text. Two things follow: work that is super-linear in its input is
super-linear only in the window, so over the text it grows linearly; and no single call into the regex
engine, which holds the GIL for its whole run, lasts long enough to stall the event loop while it runs
in a worker thread. A match up to ``OVERLAP_CHARS`` long is found wherever it starts; the phrase rules
this serves match a few words.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

WINDOW_CHARS = 2_000
OVERLAP_CHARS = 200

_BREAK = re.compile(r"\s")


def _break_at_or_after(text: str, pos: int, limit: int) -> int:
    """The first whitespace at or after ``pos`` (before ``limit``): a window ends between words."""
    if pos >= len(text):
        return len(text)
    found = _BREAK.search(text, pos, min(limit, len(text)))
    return found.start() if found else pos


def spans(text: str, size: int = WINDOW_CHARS, overlap: int = OVERLAP_CHARS) -> Iterator[tuple[int, int, int]]:
    """(start, own_end, end): scan ``text[start:end]``; matches starting before ``own_end`` belong here."""
    start = 0
    length = len(text)
    while True:
        if length - start <= size + overlap:
            yield start, length, length
            return
        own_end = _break_at_or_after(text, start + size, start + size + overlap)
        end = _break_at_or_after(text, own_end + overlap, own_end + 2 * overlap)
        yield start, own_end, end
        start = own_end


def search(pattern: re.Pattern[str], text: str) -> re.Match[str] | None:
    """The first match of ``pattern`` in ``text``, found window by window (positions are the text's)."""
    for start, own_end, end in spans(text):
        found = pattern.search(text, start, end)
        if found is not None and found.start() < own_end:
            return found
        if found is not None:
            # Starts in the overlap: the next window sees it whole, or a match before it.
            continue
    return None


def finditer(pattern: re.Pattern[str], text: str) -> Iterator[re.Match[str]]:
    """Every non-overlapping match of ``pattern`` in ``text``, in order, window by window."""
    covered = 0
    for start, own_end, end in spans(text):
        for found in pattern.finditer(text, start, end):
            if found.start() >= own_end:
                break
            if found.start() >= covered:
                covered = max(found.end(), found.start() + 1)
                yield found


def count(pattern: re.Pattern[str], text: str) -> int:
    return sum(1 for _ in finditer(pattern, text))
