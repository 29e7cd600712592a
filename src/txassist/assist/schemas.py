"""Request and response of ``POST /v1/conversations/{conversation_id}/turns``."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

import msgspec

from txassist.conversations.schemas import CustomerContext
from txassist.drafting.followup import FollowupOut
from txassist.drafting.guidance import GuidanceOut
from txassist.drafting.schemas import SuggestionOut
from txassist.intent.schemas import Intents
from txassist.knowledge.schemas import SearchHitOut
from txassist.signals.schemas import SignalOut

Channel = Literal["chat", "voice", "email", "sms", "social"]
Speaker = Literal["customer", "agent", "bot"]
Feature = Literal["sentiment", "knowledge", "draft", "signals", "context"]
ALL_FEATURES: tuple[Feature, ...] = ("sentiment", "knowledge", "draft", "signals", "context")

Id = Annotated[str, msgspec.Meta(min_length=1, max_length=128)]
# The real limit is settings.max_text_chars (checked in the pipeline); this one bounds decoding.
RawText = Annotated[str, msgspec.Meta(min_length=1, max_length=200_000)]


class VerifiedIn(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """Which identities the platform authenticated (a logged-in account, a verified phone)."""

    email: bool = False
    phone: bool = False
    handle: bool = False


class IdentityIn(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    email: Annotated[str, msgspec.Meta(min_length=3, max_length=320, pattern=r"^[^@\s]+@[^@\s]+$")] | None = None
    phone: Annotated[str, msgspec.Meta(min_length=3, max_length=32, pattern=r"^\+?[0-9 ().\-]+$")] | None = None
    handle: Annotated[str, msgspec.Meta(min_length=1, max_length=128)] | None = None
    # Absent: nothing verified. An unverified identity someone else holds is only a possible match.
    verified: VerifiedIn | None = None


class TurnRequest(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    customer_id: Id
    channel: Channel
    speaker: Speaker
    text: RawText
    timestamp: datetime | None = None
    turn_id: Id | None = None
    features: Annotated[list[Feature], msgspec.Meta(max_length=5)] | None = None
    identity: IdentityIn | None = None
    k: Annotated[int, msgspec.Meta(ge=1, le=20)] = 5


class SentimentOut(msgspec.Struct, kw_only=True):
    label: str
    score: float
    scores: dict[str, float]
    trend: float
    direction: str
    escalation: bool
    reasons: list[str]
    language: str = "en"  # BCP 47 the label was read in
    reliable: bool = True  # False: a language or script the models were not built for (scores flattened)


class TurnResponse(msgspec.Struct, kw_only=True):
    turn_id: str
    conversation_id: str
    sentiment: SentimentOut | None
    knowledge: list[SearchHitOut]
    suggestions: list[SuggestionOut]
    signals: list[SignalOut]
    context: CustomerContext | None
    timings_ms: dict[str, float]
    degraded: list[str]
    # The procedure the conversation is in, with the steps the agent has done (None: no procedure fits).
    guidance: GuidanceOut | None = None
    language: str | None = None  # BCP 47 of a customer turn (``None`` for agent and bot turns)
    intents: Intents | None = None  # the customer turn's intents; escalation and churn signals read them
    # With a slow LLM backend: where its reply to this turn follows (the grounded one is in suggestions).
    followup: FollowupOut | None = None
