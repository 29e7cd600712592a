"""How a turn changes its conversation: the turn's row, a new conversation's row, and the update.

The turn pipeline computes what a turn found (sentiment, trend, hits, summary); these functions are
the only place that decides what of it the conversation keeps.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import msgspec

from txassist.conversations.records import ConversationRecord, TurnRecord

MAX_TOPICS = 8
TOPICS_PER_TURN = 2


class TurnFindings(msgspec.Struct, kw_only=True):
    """What one turn's models said that the conversation keeps."""

    sentiment: str | None = None
    trend: float | None = None
    escalation: bool = False
    topics: list[tuple[str, str]] = msgspec.field(default_factory=list)  # (document_id, title), best first
    summary: str = ""


def aware(moment: datetime) -> datetime:
    """Every stored time is UTC; SQLite hands them back naive."""
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def new_conversation(conversation_id: str, customer_id: str, channel: str, occurred_at: datetime) -> ConversationRecord:
    return ConversationRecord(
        id=conversation_id,
        customer_id=customer_id,
        channel=channel,
        status="open",
        started_at=occurred_at,
        updated_at=occurred_at,
        channels=[channel],
    )


def new_turn(
    conversation_id: str,
    turn_key: str,
    request_hash: str,
    *,
    speaker: str,
    channel: str,
    text: str,
    occurred_at: datetime,
    sentiment: tuple[str, float, dict[str, float]] | None,
) -> TurnRecord:
    """``sentiment``: the label, its score and the score per label, when the turn was classified."""
    return TurnRecord(
        id=uuid.uuid4(),
        conversation_id=conversation_id,
        turn_key=turn_key,
        request_hash=request_hash,
        seq=0,  # taken in the write phase, atomically with the conversation's update
        speaker=speaker,
        channel=channel,
        text=text,
        occurred_at=occurred_at,
        sentiment_label=sentiment[0] if sentiment else None,
        sentiment_score=sentiment[1] if sentiment else None,
        sentiment_scores=sentiment[2] if sentiment else None,
    )


def apply_turn(conversation: ConversationRecord, turn: TurnRecord, found: TurnFindings) -> None:
    """The conversation after ``turn``: channels, time, status, sentiment, topics and summary."""
    if turn.channel not in conversation.channels:
        conversation.channels = [*conversation.channels, turn.channel]
    conversation.updated_at = max(aware(conversation.updated_at), turn.occurred_at)
    if conversation.status == "closed":
        conversation.status = "open"
    if found.sentiment is not None:
        conversation.last_sentiment = found.sentiment
    if found.trend is not None:
        conversation.sentiment_trend = float(found.trend)
        conversation.escalated = conversation.escalated or found.escalation
    if found.topics:
        conversation.topics = _merge_topics(conversation.topics, found.topics)
    conversation.rolling_summary = found.summary


def fallback_summary(views: list[TurnRecord], limit: int = 400) -> str:
    """When the rolling summary fails: the customer's first and latest words, trimmed."""
    said = [v.text for v in views if v.speaker == "customer"]
    if not said:
        return ""
    parts = [said[0]] if len(said) == 1 else [said[0], said[-1]]
    text = " … ".join(_trim(p, limit // 2) for p in parts)
    return f"Customer: {text}"


def _merge_topics(topics: list[dict[str, str]], found: list[tuple[str, str]]) -> list[dict[str, str]]:
    merged = [dict(t) for t in topics]
    for document_id, title in found[:TOPICS_PER_TURN]:
        merged = [t for t in merged if t.get("document_id") != document_id]
        merged.append({"document_id": document_id, "title": title})
    return merged[-MAX_TOPICS:]


def _trim(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"
