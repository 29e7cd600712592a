"""ORM models for everything txassist keeps. Schema changes go through Alembic migrations."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from advanced_alchemy.base import orm_registry
from advanced_alchemy.types import GUID, DateTimeUTC, JsonB
from sqlalchemy import (
    BigInteger,
    Boolean,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship
from sqlalchemy.sql.expression import false

from txassist.jsontypes import JsonObject


def utcnow() -> datetime:
    return datetime.now(UTC)


class Base(DeclarativeBase):
    registry = orm_registry


class Customer(Base):
    __tablename__ = "customers"

    id: Mapped[str] = mapped_column(String(128), primary_key=True)
    pseudonym: Mapped[str] = mapped_column(String(64), index=True)
    created_at: Mapped[datetime] = mapped_column(DateTimeUTC, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTimeUTC, default=utcnow, onupdate=utcnow)

    identities: Mapped[list[CustomerIdentity]] = relationship(
        back_populates="customer", cascade="all, delete-orphan", lazy="selectin"
    )


class CustomerIdentity(Base):
    """An email, phone number or social handle that identifies a customer across channels."""

    __tablename__ = "customer_identities"
    __table_args__ = (UniqueConstraint("kind", "value", name="uq_identity_kind_value"),)

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    customer_id: Mapped[str] = mapped_column(String(128), ForeignKey("customers.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(16))
    value: Mapped[str] = mapped_column(String(320))
    # True when the platform asserted it authenticated the customer (or an agent confirmed the link):
    # only a verified link lets a new customer id join this customer.
    verified: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    created_at: Mapped[datetime] = mapped_column(DateTimeUTC, default=utcnow)

    customer: Mapped[Customer] = relationship(back_populates="identities")


class CustomerMatch(Base):
    """A possible match: ``customer_id`` presented an identity already linked to ``other_customer_id``.

    Shown to agents on both customers; nothing of the other customer is shown, and nothing merges
    until an agent confirms (``POST /v1/customers/{id}/links``).
    """

    __tablename__ = "customer_matches"
    __table_args__ = (
        UniqueConstraint("customer_id", "other_customer_id", "kind", name="uq_customer_match"),
        Index("ix_customer_matches_other", "other_customer_id"),
    )

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    customer_id: Mapped[str] = mapped_column(String(128), ForeignKey("customers.id", ondelete="CASCADE"))
    other_customer_id: Mapped[str] = mapped_column(String(128), ForeignKey("customers.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(DateTimeUTC, default=utcnow)


class Conversation(Base):
    __tablename__ = "conversations"
    __table_args__ = (Index("ix_conversations_customer_updated", "customer_id", "updated_at"),)

    id: Mapped[str] = mapped_column(String(128), primary_key=True)
    customer_id: Mapped[str] = mapped_column(String(128), ForeignKey("customers.id", ondelete="CASCADE"))
    channel: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16), default="open")
    started_at: Mapped[datetime] = mapped_column(DateTimeUTC, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTimeUTC, default=utcnow, index=True)
    closed_at: Mapped[datetime | None] = mapped_column(DateTimeUTC, nullable=True)
    turn_count: Mapped[int] = mapped_column(Integer, default=0)
    channels: Mapped[list[str]] = mapped_column(JsonB, default=list)
    rolling_summary: Mapped[str] = mapped_column(Text, default="")
    handoff_summary: Mapped[str | None] = mapped_column(Text, nullable=True)
    after_contact: Mapped[JsonObject | None] = mapped_column(JsonB, nullable=True)
    sentiment_trend: Mapped[float] = mapped_column(Float, default=0.0)
    last_sentiment: Mapped[str | None] = mapped_column(String(16), nullable=True)
    escalated: Mapped[bool] = mapped_column(Boolean, default=False)
    topics: Mapped[list[JsonObject]] = mapped_column(JsonB, default=list)


class Turn(Base):
    __tablename__ = "turns"
    __table_args__ = (
        UniqueConstraint("conversation_id", "turn_key", name="uq_turn_key"),
        Index("ix_turns_conversation_seq", "conversation_id", "seq"),
    )

    id: Mapped[uuid.UUID] = mapped_column(GUID, primary_key=True, default=uuid.uuid4)
    conversation_id: Mapped[str] = mapped_column(String(128), ForeignKey("conversations.id", ondelete="CASCADE"))
    turn_key: Mapped[str] = mapped_column(String(128))
    request_hash: Mapped[str] = mapped_column(String(64))
    seq: Mapped[int] = mapped_column(Integer)
    speaker: Mapped[str] = mapped_column(String(16))
    channel: Mapped[str] = mapped_column(String(16))
    text: Mapped[str] = mapped_column(Text)
    occurred_at: Mapped[datetime] = mapped_column(DateTimeUTC, default=utcnow)
    sentiment_label: Mapped[str | None] = mapped_column(String(16), nullable=True)
    sentiment_score: Mapped[float | None] = mapped_column(Float, nullable=True)
    sentiment_scores: Mapped[dict[str, float] | None] = mapped_column(JsonB, nullable=True)
    response: Mapped[JsonObject | None] = mapped_column(JsonB, nullable=True)


class Suggestion(Base):
    __tablename__ = "suggestions"

    id: Mapped[uuid.UUID] = mapped_column(GUID, primary_key=True, default=uuid.uuid4)
    conversation_id: Mapped[str] = mapped_column(
        String(128), ForeignKey("conversations.id", ondelete="CASCADE"), index=True
    )
    turn_key: Mapped[str | None] = mapped_column(String(128), nullable=True)
    text: Mapped[str] = mapped_column(Text)
    citations: Mapped[list[JsonObject]] = mapped_column(JsonB, default=list)
    backend: Mapped[str] = mapped_column(String(32))
    prompt_version: Mapped[str] = mapped_column(String(64))
    latency_ms: Mapped[float] = mapped_column(Float, default=0.0)
    fallback_reason: Mapped[str | None] = mapped_column(Text, nullable=True)
    # Set when the suggestion offered a learned reply: its feedback counts for that reply.
    learned_reply_id: Mapped[uuid.UUID | None] = mapped_column(GUID, nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTimeUTC, default=utcnow)


class SuggestionFeedback(Base):
    __tablename__ = "suggestion_feedback"

    id: Mapped[uuid.UUID] = mapped_column(GUID, primary_key=True, default=uuid.uuid4)
    suggestion_id: Mapped[uuid.UUID] = mapped_column(GUID, ForeignKey("suggestions.id", ondelete="CASCADE"), index=True)
    action: Mapped[str] = mapped_column(String(16))
    text: Mapped[str | None] = mapped_column(Text, nullable=True)
    reason: Mapped[str | None] = mapped_column(Text, nullable=True)
    edit_distance: Mapped[int | None] = mapped_column(Integer, nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTimeUTC, default=utcnow)


class LearnedReply(Base):
    """A reply this organisation's agents sent as it was, or accepted: redacted, one row per wording."""

    __tablename__ = "learned_replies"
    __table_args__ = (UniqueConstraint("text_hash", name="uq_learned_reply_text"),)

    id: Mapped[uuid.UUID] = mapped_column(GUID, primary_key=True, default=uuid.uuid4)
    text: Mapped[str] = mapped_column(Text)
    text_hash: Mapped[str] = mapped_column(String(64))
    channel: Mapped[str] = mapped_column(String(16))
    accepted: Mapped[int] = mapped_column(Integer, default=0)
    offered: Mapped[int] = mapped_column(Integer, default=0)
    rejected: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(DateTimeUTC, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTimeUTC, default=utcnow, onupdate=utcnow, index=True)


class LearnedReplySource(Base):
    """One conversation that taught a learned reply, with the question it answered there.

    Every question a reply has answered is matched, so a reply learns the many ways customers ask;
    erasing the customer removes the row.
    """

    __tablename__ = "learned_reply_sources"
    __table_args__ = (UniqueConstraint("reply_id", "conversation_id", name="uq_learned_reply_source"),)

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    reply_id: Mapped[uuid.UUID] = mapped_column(GUID, ForeignKey("learned_replies.id", ondelete="CASCADE"))
    customer_id: Mapped[str] = mapped_column(String(128), ForeignKey("customers.id", ondelete="CASCADE"), index=True)
    conversation_id: Mapped[str] = mapped_column(String(128))
    question: Mapped[str] = mapped_column(Text)  # the customer turn it answered, redacted
    question_vector: Mapped[bytes] = mapped_column(LargeBinary)  # float32 MiniLM vector of that turn
    created_at: Mapped[datetime] = mapped_column(DateTimeUTC, default=utcnow)


class Signal(Base):
    __tablename__ = "signals"
    __table_args__ = (
        UniqueConstraint("conversation_id", "dedup_key", name="uq_signal_dedup"),
        Index("ix_signals_created", "created_at", "id"),
        Index("ix_signals_type_created", "type", "created_at"),
    )

    id: Mapped[uuid.UUID] = mapped_column(GUID, primary_key=True, default=uuid.uuid4)
    kind: Mapped[str] = mapped_column(String(16))
    type: Mapped[str] = mapped_column(String(32))
    confidence: Mapped[float] = mapped_column(Float)
    product_area: Mapped[str] = mapped_column(String(64), index=True)
    evidence: Mapped[str] = mapped_column(Text)
    conversation_id: Mapped[str] = mapped_column(
        String(128), ForeignKey("conversations.id", ondelete="CASCADE"), index=True
    )
    turn_key: Mapped[str | None] = mapped_column(String(128), nullable=True)
    customer_ref: Mapped[str] = mapped_column(String(64), index=True)
    channel: Mapped[str] = mapped_column(String(16))
    occurred_at: Mapped[datetime] = mapped_column(DateTimeUTC, default=utcnow)
    created_at: Mapped[datetime] = mapped_column(DateTimeUTC, default=utcnow)
    extractor_version: Mapped[str] = mapped_column(String(64))
    dedup_key: Mapped[str] = mapped_column(String(128))
    details: Mapped[JsonObject] = mapped_column(JsonB, default=dict)


class OutboxEvent(Base):
    """A CloudEvent waiting for (or done with) delivery to the TX store; written with its signal."""

    __tablename__ = "outbox_events"
    __table_args__ = (Index("ix_outbox_status_next", "status", "next_attempt_at"),)

    id: Mapped[uuid.UUID] = mapped_column(GUID, primary_key=True, default=uuid.uuid4)
    signal_id: Mapped[uuid.UUID | None] = mapped_column(
        GUID, ForeignKey("signals.id", ondelete="CASCADE"), nullable=True, index=True
    )
    customer_ref: Mapped[str | None] = mapped_column(String(64), nullable=True, index=True)
    event_type: Mapped[str] = mapped_column(String(128))
    payload: Mapped[JsonObject] = mapped_column(JsonB)
    status: Mapped[str] = mapped_column(String(16), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(DateTimeUTC, default=utcnow)
    locked_until: Mapped[datetime | None] = mapped_column(DateTimeUTC, nullable=True)
    locked_by: Mapped[str | None] = mapped_column(String(64), nullable=True)
    last_error: Mapped[str | None] = mapped_column(Text, nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTimeUTC, default=utcnow)
    delivered_at: Mapped[datetime | None] = mapped_column(DateTimeUTC, nullable=True)
