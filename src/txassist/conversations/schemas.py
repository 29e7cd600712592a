"""Response shapes for conversations and the cross-channel context."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

import msgspec

from txassist.drafting.schemas import AfterContactRecord

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


class PossibleMatch(msgspec.Struct, kw_only=True):
    """Another customer who presented (or holds) one of this customer's identities. Only the id and the
    kind of identity are shown: nothing of the other customer's history until an agent links them."""

    customer_id: Id
    kind: str
    note: str


class CustomerContext(msgspec.Struct, kw_only=True):
    customer_id: Id
    conversations: list[ContextConversation]
    possible_matches: list[PossibleMatch] = msgspec.field(default_factory=list)


IdentityKindIn = Literal["email", "phone", "handle"]


class LinkIn(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """An agent's confirmation: the customer in the path is the same person as ``customer_id``, or as
    whoever holds the identity ``kind``/``value`` (linked to the path customer if nobody does)."""

    customer_id: Id | None = None
    kind: IdentityKindIn | None = None
    value: Annotated[str, msgspec.Meta(min_length=1, max_length=320)] | None = None


class LinkOut(msgspec.Struct, kw_only=True):
    customer_id: Id  # the customer that remains
    merged_customer_id: Id | None  # the one that joined it (now an alias), if any
    linked_kind: str | None  # the identity linked (or verified) without a merge, if any
    conversations_moved: int


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
    after_contact: AfterContactRecord | None
    sentiment_trend: float
    last_sentiment: str | None
    escalated: bool
    topics: list[dict[str, object]]
    turns: list[TurnOut]
