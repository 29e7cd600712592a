"""Response shapes for conversations and the cross-channel context."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import msgspec

Text = Annotated[str, msgspec.Meta(max_length=100_000)]
Id = Annotated[str, msgspec.Meta(min_length=1, max_length=128)]


class ContextConversation(msgspec.Struct, kw_only=True):
    conversation_id: Id
    channel: str
    channels: list[str]
    started_at: datetime
    updated_at: datetime
    status: str
    turn_count: int
    summary: Text
    sentiment_trend: float
    last_sentiment: str | None
    escalated: bool
    open_issues: list[str]
    commitments: list[str]


class CustomerContext(msgspec.Struct, kw_only=True):
    customer_id: Id
    conversations: list[ContextConversation]


class TurnOut(msgspec.Struct, kw_only=True):
    turn_id: Id
    seq: int
    speaker: str
    channel: str
    text: Text
    at: datetime
    sentiment: str | None
    sentiment_scores: dict[str, float] | None


class ConversationOut(msgspec.Struct, kw_only=True):
    conversation_id: Id
    customer_id: Id
    channel: str
    channels: list[str]
    status: str
    started_at: datetime
    updated_at: datetime
    closed_at: datetime | None
    turn_count: int
    summary: Text
    handoff_summary: str | None
    after_contact: dict[str, object] | None
    sentiment_trend: float
    last_sentiment: str | None
    escalated: bool
    topics: list[dict[str, object]]
    turns: list[TurnOut]
