"""Sentence splitting and Markdown clean-up shared by the extractive reply and summaries."""

from __future__ import annotations

import re
from functools import lru_cache

# Neither part of a link may cross a bracket of its own kind: with ``[^\]]+`` every ``[`` of a run of
# ``[[[[…`` scanned to the end of the line, quadratic in its length.
_LINK = re.compile(r"\[([^\[\]]{1,500})\]\([^()\s]{1,2000}\)")
_URL = re.compile(r"https?://\S+|www\.\S+")
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z0-9\"'(])")
_SPACE = re.compile(r"\s")
# A "sentence" longer than this is cut at a space: text without sentence ends (a paste, a flood) must
# not make every later per-sentence rule scan it whole.
MAX_SENTENCE_CHARS = 1_000


def plain_lines(markdown: str) -> list[str]:
    """Body lines of a Markdown passage without headings, tables, bullets and emphasis."""
    lines: list[str] = []
    for raw in markdown.splitlines():
        line = raw.strip()
        if not line or line.startswith(("#", "|", "```", "---", ">")):
            continue
        line = re.sub(r"^([-*+]|\d+[.)])\s+", "", line)
        line = _LINK.sub(r"\1", line)
        line = line.replace("**", "").replace("__", "").replace("`", "")
        lines.append(line)
    return lines


def sentences(text: str) -> list[str]:
    return list(_sentences(text))


@lru_cache(maxsize=256)
def _sentences(text: str) -> tuple[str, ...]:
    # Cached: the rolling summary reads the same earlier turns again on every turn.
    out: list[str] = []
    for line in plain_lines(text):
        for sentence in _SENTENCE_END.split(line):
            for part in _bounded(sentence):
                part = part.strip()
                if len(part) >= 3:
                    if part[-1] not in ".!?":
                        part += "."
                    out.append(part)
    return tuple(out)


def _bounded(sentence: str, limit: int = MAX_SENTENCE_CHARS) -> list[str]:
    pieces: list[str] = []
    while len(sentence) > limit:
        space = _SPACE.search(sentence, limit // 2, limit)
        cut = space.start() if space else limit
        pieces.append(sentence[:cut])
        sentence = sentence[cut:]
    pieces.append(sentence)
    return pieces


def strip_urls(text: str) -> str:
    return re.sub(r"\s{2,}", " ", _URL.sub("", text)).strip()


def words(text: str) -> int:
    return len(text.split())


def shorten(sentence: str, max_words: int) -> str:
    tokens = sentence.split()
    if len(tokens) <= max_words:
        return sentence
    clipped = " ".join(tokens[:max_words]).rstrip(",;:")
    return clipped + "."


def voice_sentences(text: str, limit: int) -> list[str]:
    """The first ``limit`` sentences of ``text`` (a spoken reply is cut, never run on)."""
    return [part for part in _SENTENCE_END.split(text.strip()) if part][:limit]
