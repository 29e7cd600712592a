"""The conversation and turn as every capability reads them: plain structs, no ORM object.

One struct per concept, with explicit conversions at each boundary:
``TurnRequest`` (request body) → ``TurnRecord`` (here) → the ``turns`` row → ``TurnOut`` (response).
"""

from __future__ import annotations

import uuid
from datetime import datetime

import msgspec

from txassist.drafting.schemas import AfterContactRecord


class ConversationRecord(msgspec.Struct, kw_only=True):
    """A conversation row as the turn pipeline and the context read it."""

    id: str
    customer_id: str
    channel: str
    status: str
    started_at: datetime
    updated_at: datetime
    closed_at: datetime | None = None
    turn_count: int = 0
    channels: list[str] = msgspec.field(default_factory=list)
    rolling_summary: str = ""
    handoff_summary: str | None = None
    after_contact: AfterContactRecord | None = None
    sentiment_trend: float = 0.0
    last_sentiment: str | None = None
    escalated: bool = False
    # {"document_id", "title"} of the articles it touched, newest last.
    topics: list[dict[str, str]] = msgspec.field(default_factory=list)


class TurnRecord(msgspec.Struct, kw_only=True):
    """One turn: every column of its row but the stored response (written with it, read only on replay)."""

    id: uuid.UUID
    conversation_id: str
    turn_key: str  # the caller's turn id (or a generated one): what the API calls ``turn_id``
    request_hash: str
    seq: int  # 0 until the write phase takes the turn's number
    speaker: str
    channel: str
    text: str
    occurred_at: datetime
    sentiment_label: str | None = None
    sentiment_score: float | None = None
    sentiment_scores: dict[str, float] | None = None
