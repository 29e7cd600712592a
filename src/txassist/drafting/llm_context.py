"""What an LLM prompt holds of a conversation: a bounded transcript that keeps its prefix, and the
few passages the plan needs.

Every conversation-scoped prompt opens with the same system text and the transcript
(``conversation_prefix``), so llama.cpp's prompt cache pays only for what is new since the last turn.
The transcript window moves in blocks rather than one turn at a time: a window sliding every turn
would change the prompt's first turn, and with it the whole cached prefix, on every turn.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from txassist.conversations.records import TurnRecord
from txassist.jsontypes import JsonObject
from txassist.knowledge.lexical import tokenize
from txassist.knowledge.schemas import KnowledgeHit

TRANSCRIPT_TURNS = 12  # at most this many turns before the latest one
TRANSCRIPT_BLOCK = 6  # the window's start moves by this many turns at a time
TURN_CHARS = 1000
PREFIX_TEMPLATE = "conversation_prefix"
# Passages per channel in a draft prompt (what the model is shown and may cite: each one costs first-token
# time on CPU) and characters per passage (what the v3 templates show);
# ``body`` is the longer text the v4 and v5 templates choose the customer's sentences from (``focus``).
PASSAGES = {"voice": 1, "chat": 1, "email": 2}
PASSAGE_CHARS = {"voice": 350, "chat": 450, "email": 800}
BODY_CHARS = 2000


def window_start(count: int, *, limit: int = TRANSCRIPT_TURNS, block: int = TRANSCRIPT_BLOCK) -> int:
    """The first of ``count`` turns a prompt shows: 0 until there are more than ``limit``, then a
    multiple of ``block`` that leaves at most ``limit`` turns."""
    if count <= limit:
        return 0
    return -(-(count - limit) // block) * block


def transcript(turns: Sequence[TurnRecord], *, limit: int = TRANSCRIPT_TURNS) -> list[dict[str, str]]:
    """The turns a prompt shows, as the templates read them."""
    start = window_start(len(turns), limit=limit)
    return [{"speaker": t.speaker, "text": t.text[:TURN_CHARS]} for t in turns[start:]]


def prompt_passages(allowed: Sequence[KnowledgeHit], channel: str) -> list[KnowledgeHit]:
    """The top passages the plan allows, as many as the channel's reply can use."""
    return list(allowed[: PASSAGES.get(channel, 2)])


def passage_context(passages: Sequence[KnowledgeHit], channel: str) -> list[JsonObject]:
    limit = PASSAGE_CHARS.get(channel, 450)
    return [
        {"n": i + 1, "title": p.title, "url": p.url, "text": clip(p.text, limit), "body": clip(p.text, BODY_CHARS)}
        for i, p in enumerate(passages)
    ]


def clip(text: str, limit: int) -> str:
    """``text`` cut to ``limit`` characters at the last sentence end before it (else at a space)."""
    if len(text) <= limit:
        return text
    head = text[:limit]
    cut = max(head.rfind(". "), head.rfind(".\n"), head.rfind("? "), head.rfind("! "))
    if cut >= limit // 2:
        return head[: cut + 1]
    space = head.rfind(" ")
    return head[:space] if space > 0 else head


_SENTENCE_END = re.compile(r"(?<=[.!?])\s+")
_LIST_MARK = re.compile(r"^\s*(?:\d+[.)]|[-*+])\s+")
_ABBREVIATION = re.compile(r"\b\w\.\w\.$")  # p.m., e.g.: no sentence end


def _stems(text: str, language: str | None) -> set[str]:
    # The knowledge index's own word folding ("charged" meets "charge"), without its stopwords.
    return {w for w in tokenize(text, language) if len(w) > 2}


def sentences(text: str) -> list[str]:
    """``text`` as plain sentences: markdown headings dropped, list marks, emphasis and table pipes
    removed; a period inside an abbreviation ("8 p.m. local time") does not end a sentence."""
    out: list[str] = []
    for line in text.splitlines():
        line = line.strip()
        if line.startswith("#") or set(line) <= set("|-: "):
            continue
        if line.startswith("|"):
            line = "; ".join(cell.strip() for cell in line.strip("|").split("|") if cell.strip()) + "."
        line = _LIST_MARK.sub("", line.replace("**", "")).strip()
        pieces: list[str] = []
        for piece in _SENTENCE_END.split(line):
            if pieces and (piece[:1].islower() or _ABBREVIATION.search(pieces[-1])):
                pieces[-1] = f"{pieces[-1]} {piece}"
            else:
                pieces.append(piece)
        out.extend(s for s in pieces if len(s.split()) >= 3)
    return out


def focus(passages: Sequence[JsonObject], query: str, limit: int, language: str | None = None) -> list[JsonObject]:
    """Each passage cut to its sentences that share words with ``query``, best first within ``limit``
    characters, shown in their own order. The first passage (retrieval's best) opens with its lead
    sentence when none shares a word; a later one sharing none is left out. A reply uses a sentence
    or two of an article, and every token before the first one costs prompt time."""
    wanted = _stems(query, language)
    focused: list[JsonObject] = []
    for index, passage in enumerate(passages):
        found = sentences(str(passage.get("body") or passage["text"]))
        scores = [len(_stems(s, language) & wanted) for s in found]
        ranked = sorted((i for i in range(len(found)) if scores[i]), key=lambda i: (-scores[i], i))
        if not ranked:
            if index > 0 or not found:
                continue
            ranked = list(range(len(found)))
        chosen: list[int] = []
        used = 0
        for i in ranked:
            if used + len(found[i]) + 1 <= limit:
                chosen.append(i)
                used += len(found[i]) + 1
        text = " ".join(found[i] for i in sorted(chosen)) if chosen else clip(found[ranked[0]], limit)
        focused.append({**passage, "text": text, "body": text})
    return focused
