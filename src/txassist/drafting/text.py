"""Sentence splitting and Markdown clean-up shared by the extractive reply and summaries."""

from __future__ import annotations

import re

_LINK = re.compile(r"\[([^\]]+)\]\((?:[^)]+)\)")
_URL = re.compile(r"https?://\S+|www\.\S+")
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z0-9\"'(])")


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
    out: list[str] = []
    for line in plain_lines(text):
        for part in _SENTENCE_END.split(line):
            part = part.strip()
            if len(part) >= 3:
                if part[-1] not in ".!?":
                    part += "."
                out.append(part)
    return out


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
