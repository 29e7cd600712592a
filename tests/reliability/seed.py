"""Rows for one customer in every table that holds customer data, written through the ORM."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from txassist.config import Settings
from txassist.db.engine import database_config
from txassist.db.models import (
    Base,
    Conversation,
    Customer,
    CustomerIdentity,
    OutboxEvent,
    Signal,
    Suggestion,
    SuggestionFeedback,
    Turn,
)
from txassist.privacy.pseudonym import customer_ref

SECRET = "seed-pseudonym-secret"  # what the seeded refs are keyed with (not the app's own secret)
CUSTOMER_TABLES: list[type[Base]] = [
    Customer,
    CustomerIdentity,
    Conversation,
    Turn,
    Suggestion,
    SuggestionFeedback,
    Signal,
    OutboxEvent,
]


async def seed_customer(
    session: AsyncSession, customer_id: str, *, age_days: float = 0.0, conversations: int = 2
) -> None:
    at = datetime.now(UTC) - timedelta(days=age_days)
    ref = customer_ref(customer_id, SECRET)
    session.add(Customer(id=customer_id, pseudonym=ref, created_at=at, updated_at=at))
    session.add(CustomerIdentity(customer_id=customer_id, kind="email", value=f"{customer_id}@example.com"))
    await session.flush()
    for n in range(conversations):
        conversation_id = f"{customer_id}-c{n}"
        session.add(
            Conversation(
                id=conversation_id,
                customer_id=customer_id,
                channel="chat",
                started_at=at,
                updated_at=at,
                rolling_summary=f"{customer_id} asked about a refund",
                channels=["chat"],
                topics=[],
            )
        )
        await session.flush()
        for seq in range(3):
            session.add(
                Turn(
                    conversation_id=conversation_id,
                    turn_key=f"t{seq}",
                    request_hash="0" * 64,
                    seq=seq,
                    speaker="customer",
                    channel="chat",
                    text=f"my card is 4111 1111 1111 1111 ({customer_id})",
                    occurred_at=at,
                )
            )
        suggestion = Suggestion(
            id=uuid.uuid4(),
            conversation_id=conversation_id,
            text="Offer a refund",
            citations=[],
            backend="extractive",
            prompt_version="v1",
            created_at=at,
        )
        session.add(suggestion)
        await session.flush()
        session.add(SuggestionFeedback(suggestion_id=suggestion.id, action="accepted", created_at=at))
        signal = Signal(
            id=uuid.uuid4(),
            kind="churn",
            type="cancellation_intent",
            confidence=0.9,
            product_area="billing",
            evidence="wants to cancel",
            conversation_id=conversation_id,
            turn_key="t0",
            customer_ref=ref,
            channel="chat",
            occurred_at=at,
            created_at=at,
            extractor_version="test",
            dedup_key=f"dedup-{n}",
            details={},
        )
        session.add(signal)
        await session.flush()
        session.add(
            OutboxEvent(
                signal_id=signal.id,
                customer_ref=ref,
                event_type="com.txassist.signal",
                payload={"customer_ref": ref},
                created_at=at,
                next_attempt_at=at,
            )
        )
    # An event queued for the customer that is not tied to a signal row (e.g. a context update).
    session.add(
        OutboxEvent(
            customer_ref=ref,
            event_type="com.txassist.customer",
            payload={"customer_ref": ref},
            created_at=at,
            next_attempt_at=at,
        )
    )
    await session.flush()


async def table_counts(session: AsyncSession) -> dict[str, int]:
    counts: dict[str, int] = {}
    for model in CUSTOMER_TABLES:
        counts[model.__tablename__] = int(await session.scalar(select(func.count()).select_from(model)) or 0)
    return counts


@asynccontextmanager
async def own_session(settings: Settings) -> AsyncIterator[AsyncSession]:
    """A session on an engine of the test's own event loop (the app's runs in the client's portal)."""
    db = database_config(settings)
    try:
        async with db.get_session() as session:
            yield session
    finally:
        await db.get_engine().dispose()
