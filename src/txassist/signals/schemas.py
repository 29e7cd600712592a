"""Request and response shapes for signals and the outbox admin API."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Literal

import msgspec

from txassist.jsontypes import JsonObject

SignalKindName = Literal["product", "churn"]
SignalTypeName = Literal[
    "defect",
    "feature_request",
    "usability_friction",
    "documentation_gap",
    "cancellation_intent",
    "competitor_mention",
    "repeat_contact",
    "worsening_sentiment",
    "price_complaint",
]


class SignalOut(msgspec.Struct, kw_only=True):
    id: str
    kind: SignalKindName
    type: str
    confidence: float
    product_area: str
    evidence: str
    conversation_id: str
    turn_id: str | None
    customer_ref: str
    channel: str
    occurred_at: datetime
    extractor_version: str
    details: JsonObject = msgspec.field(default_factory=dict)


class SignalPage(msgspec.Struct):
    items: list[SignalOut]
    next_cursor: str | None


class SignalFilters(msgspec.Struct, kw_only=True, frozen=True):
    kind: SignalKindName | None = None
    type: str | None = None
    product_area: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    conversation_id: str | None = None
    channel: str | None = None


class SummaryBucket(msgspec.Struct):
    day: str
    type: str
    product_area: str
    count: int


class TypeTrend(msgspec.Struct):
    type: str
    current: int
    previous: int
    change: float | None  # relative change; None when the previous period had none
    direction: Literal["up", "down", "flat"]


class SignalSummary(msgspec.Struct):
    since: datetime
    until: datetime
    previous_since: datetime
    total: int
    previous_total: int
    by_day: list[SummaryBucket]
    by_type: dict[str, int]
    by_product_area: dict[str, int]
    trends: list[TypeTrend]


class OutboxEventOut(msgspec.Struct):
    id: str
    signal_id: str | None
    event_type: str
    status: str
    attempts: int
    next_attempt_at: datetime
    last_error: str | None
    created_at: datetime
    delivered_at: datetime | None


class OutboxList(msgspec.Struct):
    items: list[OutboxEventOut]
    counts: dict[str, int]


class ReplayRequest(msgspec.Struct, forbid_unknown_fields=True):
    # None replays every dead letter; a list replays just those.
    ids: Annotated[list[uuid.UUID], msgspec.Meta(max_length=10_000)] | None = None


class ReplayOut(msgspec.Struct):
    replayed: int
