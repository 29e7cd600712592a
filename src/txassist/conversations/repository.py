"""Every query on customers, identity links, conversations and turns."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm.attributes import set_committed_value

from txassist.db.models import Conversation, Customer, CustomerIdentity, Turn


class ConversationRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    # --- customers and identities ---

    async def get_customer(self, customer_id: str) -> Customer | None:
        return await self.session.get(Customer, customer_id)

    async def customer_for_identity(self, kind: str, key: str) -> str | None:
        """The customer id an identity key (see ``identity.identity_key``) is linked to."""
        stmt = select(CustomerIdentity.customer_id).where(CustomerIdentity.kind == kind, CustomerIdentity.value == key)
        return (await self.session.execute(stmt)).scalar_one_or_none()

    async def customers_for_identities(self, pairs: Sequence[tuple[str, str]]) -> dict[tuple[str, str], str]:
        """For each (kind, key) already linked, the customer id it belongs to."""
        found: dict[tuple[str, str], str] = {}
        for kind, key in pairs:
            customer_id = await self.customer_for_identity(kind, key)
            if customer_id is not None:
                found[(kind, key)] = customer_id
        return found

    def add_customer(self, customer_id: str, pseudonym: str) -> Customer:
        customer = Customer(id=customer_id, pseudonym=pseudonym)
        self.session.add(customer)
        return customer

    def add_identity(self, customer_id: str, kind: str, key: str) -> None:
        self.session.add(CustomerIdentity(customer_id=customer_id, kind=kind, value=key))

    # --- conversations ---

    async def get_conversation(self, conversation_id: str) -> Conversation | None:
        return await self.session.get(Conversation, conversation_id)

    async def get_conversation_for_update(self, conversation_id: str) -> Conversation | None:
        """The conversation, row-locked where the database can (PostgreSQL) so that concurrent turns of
        one conversation update its counters one after the other."""
        stmt = select(Conversation).where(Conversation.id == conversation_id).with_for_update()
        return (await self.session.execute(stmt)).scalar_one_or_none()

    async def claim_turn_seq(self, conversation: Conversation) -> int:
        """The next turn number, taken with one atomic UPDATE … RETURNING.

        Reading ``turn_count`` and writing it back loses an update when two turns of a conversation
        arrive together on SQLite (no row locks there); the increment in SQL cannot. On SQLite this
        statement also opens the write transaction, so the second turn waits for the first to commit.
        """
        stmt = (
            update(Conversation)
            .where(Conversation.id == conversation.id)
            .values(turn_count=Conversation.turn_count + 1)
            .returning(Conversation.turn_count)
            .execution_options(synchronize_session=False)
        )
        seq = int((await self.session.execute(stmt)).scalar_one())
        set_committed_value(conversation, "turn_count", seq)
        return seq

    def add_conversation(self, conversation: Conversation) -> None:
        self.session.add(conversation)

    async def recent_conversations(
        self, customer_id: str, *, since: datetime, limit: int, exclude_id: str | None = None
    ) -> list[Conversation]:
        """The customer's latest conversations, newest first, bounded by count and age."""
        stmt = (
            select(Conversation)
            .where(Conversation.customer_id == customer_id, Conversation.updated_at >= since)
            .order_by(Conversation.updated_at.desc(), Conversation.id)
            .limit(limit)
        )
        if exclude_id is not None:
            stmt = stmt.where(Conversation.id != exclude_id)
        return list((await self.session.execute(stmt)).scalars())

    # --- turns ---

    async def get_turn(self, conversation_id: str, turn_key: str) -> Turn | None:
        stmt = select(Turn).where(Turn.conversation_id == conversation_id, Turn.turn_key == turn_key)
        return (await self.session.execute(stmt)).scalar_one_or_none()

    async def last_turns(self, conversation_id: str, limit: int) -> list[Turn]:
        """The latest ``limit`` turns in conversation order (oldest first)."""
        stmt = select(Turn).where(Turn.conversation_id == conversation_id).order_by(Turn.seq.desc()).limit(limit)
        turns = list((await self.session.execute(stmt)).scalars())
        turns.reverse()
        return turns

    def add_turn(self, turn: Turn) -> None:
        self.session.add(turn)

    async def flush(self) -> None:
        await self.session.flush()

    async def rollback(self) -> None:
        await self.session.rollback()
