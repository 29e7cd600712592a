"""What an LLM prompt holds of a conversation: a bounded transcript that keeps its prefix, and the
few passages the plan needs.

Every conversation-scoped prompt opens with the same system text and the transcript
(``conversation_prefix``), so llama.cpp's prompt cache pays only for what is new since the last turn.
The transcript window moves in blocks rather than one turn at a time: a window sliding every turn
would change the prompt's first turn, and with it the whole cached prefix, on every turn.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from txassist.conversations.records import TurnRecord
from txassist.knowledge.schemas import KnowledgeHit

TRANSCRIPT_TURNS = 12  # at most this many turns before the latest one
TRANSCRIPT_BLOCK = 6  # the window's start moves by this many turns at a time
TURN_CHARS = 1000
PREFIX_TEMPLATE = "conversation_prefix"
# Passages per channel and characters per passage in a draft prompt: what the plan's act needs to
# answer from, without paying prompt time for the rest of an article.
PASSAGES = {"voice": 2, "chat": 2, "email": 3}
PASSAGE_CHARS = {"voice": 350, "chat": 450, "email": 800}


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


def passage_context(passages: Sequence[KnowledgeHit], channel: str) -> list[dict[str, Any]]:
    limit = PASSAGE_CHARS.get(channel, 450)
    return [{"n": i + 1, "title": p.title, "url": p.url, "text": clip(p.text, limit)} for i, p in enumerate(passages)]


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
