"""Every query behind retention purges and right-to-erasure deletes.

Deletes are explicit, child tables first, rather than left to ``ON DELETE CASCADE``: the counts
are reported back, and the result does not depend on SQLite's foreign-key pragma being on.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import cast

from sqlalchemy import ColumnElement, Delete, Select, Update, delete, exists, select, update
from sqlalchemy.engine import CursorResult
from sqlalchemy.ext.asyncio import AsyncSession

from txassist.db.models import (
    Conversation,
    Customer,
    CustomerIdentity,
    CustomerMatch,
    LearnedReplySource,
    OutboxEvent,
    Signal,
    Suggestion,
    SuggestionFeedback,
    Turn,
)


async def _count(session: AsyncSession, statement: Delete | Update) -> int:
    result = cast("CursorResult[tuple[object, ...]]", await session.execute(statement))
    return max(0, result.rowcount or 0)


class PrivacyRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def customer_pseudonym(self, customer_id: str) -> str | None:
        pseudonym: str | None = await self.session.scalar(select(Customer.pseudonym).where(Customer.id == customer_id))
        return pseudonym

    async def customer_for_alias(self, alias_key: str) -> str | None:
        owner: str | None = await self.session.scalar(
            select(CustomerIdentity.customer_id).where(
                CustomerIdentity.kind == "customer_id", CustomerIdentity.value == alias_key
            )
        )
        return owner

    # --- conversation content (turns, suggestions, feedback) of a set of conversations ---

    async def delete_conversation_content(self, conversation_ids: Select[tuple[str]]) -> dict[str, int]:
        suggestion_ids = select(Suggestion.id).where(Suggestion.conversation_id.in_(conversation_ids))
        return {
            "suggestion_feedback": await _count(
                self.session,
                delete(SuggestionFeedback).where(SuggestionFeedback.suggestion_id.in_(suggestion_ids)),
            ),
            "suggestions": await _count(
                self.session, delete(Suggestion).where(Suggestion.conversation_id.in_(conversation_ids))
            ),
            "turns": await _count(self.session, delete(Turn).where(Turn.conversation_id.in_(conversation_ids))),
        }

    async def delete_signals(
        self, signal_ids: Select[tuple[uuid.UUID]], customer_ref: str | None = None
    ) -> dict[str, int]:
        outbox_match: ColumnElement[bool] = OutboxEvent.signal_id.in_(signal_ids)
        if customer_ref is not None:
            outbox_match = outbox_match | (OutboxEvent.customer_ref == customer_ref)
        return {
            "outbox_events": await _count(self.session, delete(OutboxEvent).where(outbox_match)),
            "signals": await _count(self.session, delete(Signal).where(Signal.id.in_(signal_ids))),
        }

    # --- erasure of one customer ---

    async def erase_customer(self, customer_id: str, pseudonym: str | None) -> dict[str, int]:
        conversation_ids = select(Conversation.id).where(Conversation.customer_id == customer_id)
        signal_match: ColumnElement[bool] = Signal.conversation_id.in_(conversation_ids)
        if pseudonym is not None:
            signal_match = signal_match | (Signal.customer_ref == pseudonym)
        counts = await self.delete_signals(select(Signal.id).where(signal_match), customer_ref=pseudonym)
        counts |= await self.delete_conversation_content(conversation_ids)
        counts["conversations"] = await _count(
            self.session, delete(Conversation).where(Conversation.customer_id == customer_id)
        )
        counts["customer_identities"] = await _count(
            self.session, delete(CustomerIdentity).where(CustomerIdentity.customer_id == customer_id)
        )
        counts["customer_matches"] = await _count(
            self.session,
            delete(CustomerMatch).where(
                (CustomerMatch.customer_id == customer_id) | (CustomerMatch.other_customer_id == customer_id)
            ),
        )
        counts["learned_reply_sources"] = await _count(
            self.session, delete(LearnedReplySource).where(LearnedReplySource.customer_id == customer_id)
        )
        counts["customers"] = await _count(self.session, delete(Customer).where(Customer.id == customer_id))
        return counts

    async def delete_by_customer_ref(self, customer_ref: str) -> dict[str, int]:
        return await self.delete_signals(
            select(Signal.id).where(Signal.customer_ref == customer_ref), customer_ref=customer_ref
        )

    # --- retention ---

    async def purge_signals_before(self, cutoff: datetime) -> dict[str, int]:
        counts = await self.delete_signals(select(Signal.id).where(Signal.created_at < cutoff))
        # Events not tied to a signal (or whose signal is gone) age out with the same clock.
        counts["outbox_events"] += await _count(
            self.session, delete(OutboxEvent).where(OutboxEvent.created_at < cutoff)
        )
        return counts

    async def purge_conversations_before(self, cutoff: datetime) -> dict[str, int]:
        expired = select(Conversation.id).where(Conversation.updated_at < cutoff)
        counts = await self.delete_conversation_content(expired)
        has_signals = exists().where(Signal.conversation_id == Conversation.id)
        counts["conversations"] = await _count(
            self.session, delete(Conversation).where(Conversation.updated_at < cutoff, ~has_signals)
        )
        # A conversation whose signals are kept longer stays as an empty shell (the signals point
        # at it) with every piece of its text removed.
        counts["conversations_scrubbed"] = await _count(
            self.session,
            update(Conversation)
            .where(
                Conversation.updated_at < cutoff,
                (Conversation.rolling_summary != "") | Conversation.handoff_summary.is_not(None),
            )
            .values(rolling_summary="", handoff_summary=None, after_contact=None, topics=[]),
        )
        has_conversations = exists().where(Conversation.customer_id == Customer.id)
        stale_customers = select(Customer.id).where(Customer.updated_at < cutoff, ~has_conversations)
        counts["customer_identities"] = await _count(
            self.session, delete(CustomerIdentity).where(CustomerIdentity.customer_id.in_(stale_customers))
        )
        counts["customer_matches"] = await _count(
            self.session,
            delete(CustomerMatch).where(
                CustomerMatch.customer_id.in_(stale_customers) | CustomerMatch.other_customer_id.in_(stale_customers)
            ),
        )
        counts["customers"] = await _count(
            self.session, delete(Customer).where(Customer.updated_at < cutoff, ~has_conversations)
        )
        return counts
