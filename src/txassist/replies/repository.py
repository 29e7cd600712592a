"""Every learned-reply query."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import delete, exists, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from txassist.db.models import Conversation, LearnedReply, LearnedReplySource, Suggestion, Turn

# A counter a caller may move: offered when shown, accepted or rejected through feedback.
Counter = str
_COUNTERS = {"offered": LearnedReply.offered, "accepted": LearnedReply.accepted, "rejected": LearnedReply.rejected}


class LearnedReplyRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def by_hash(self, text_hash: str) -> LearnedReply | None:
        found: LearnedReply | None = await self.session.scalar(
            select(LearnedReply).where(LearnedReply.text_hash == text_hash)
        )
        return found

    def add(self, reply: LearnedReply) -> None:
        self.session.add(reply)

    async def add_source(
        self, reply_id: uuid.UUID, customer_id: str, conversation_id: str, question: str, question_vector: bytes
    ) -> bool:
        """False when this conversation already taught this reply (one vote per conversation)."""
        taught = await self.session.scalar(
            select(
                exists().where(
                    LearnedReplySource.reply_id == reply_id, LearnedReplySource.conversation_id == conversation_id
                )
            )
        )
        if taught:
            return False
        source = LearnedReplySource(
            reply_id=reply_id,
            customer_id=customer_id,
            conversation_id=conversation_id,
            question=question,
            question_vector=question_vector,
        )
        self.session.add(source)
        return True

    async def bump(self, reply_id: uuid.UUID, counter: Counter) -> None:
        column = _COUNTERS[counter]
        await self.session.execute(
            update(LearnedReply).where(LearnedReply.id == reply_id).values({column.key: column + 1})
        )

    async def version(self) -> tuple[int, datetime | None]:
        """Changes whenever a reply is added, removed or re-counted: when the cached matrix is stale."""
        row = (await self.session.execute(select(func.count(LearnedReply.id), func.max(LearnedReply.updated_at)))).one()
        return int(row[0]), row[1]

    async def candidates(self, limit: int) -> list[tuple[LearnedReply, bytes]]:
        """(reply, one question vector it answered), newest replies first: one row per question."""
        rows = await self.session.execute(
            select(LearnedReply, LearnedReplySource.question_vector)
            .join(LearnedReplySource, LearnedReplySource.reply_id == LearnedReply.id)
            .order_by(LearnedReply.updated_at.desc(), LearnedReplySource.id)
            .limit(limit)
        )
        return [(reply, vector) for reply, vector in rows.tuples()]

    async def question_for(self, conversation_id: str, turn_key: str) -> tuple[str, str, str] | None:
        """(customer id, customer text, channel) of the turn a suggestion answered."""
        row = (
            await self.session.execute(
                select(Conversation.customer_id, Turn.text, Turn.channel)
                .join(Conversation, Conversation.id == Turn.conversation_id)
                .where(Turn.conversation_id == conversation_id, Turn.turn_key == turn_key, Turn.speaker == "customer")
            )
        ).first()
        return None if row is None else (row[0], row[1], row[2])

    async def latest_suggestions(self, conversation_id: str, limit: int) -> list[tuple[str, str | None]]:
        """(text, turn key) of the conversation's newest suggestions."""
        rows = await self.session.execute(
            select(Suggestion.text, Suggestion.turn_key)
            .where(Suggestion.conversation_id == conversation_id)
            .order_by(Suggestion.created_at.desc())
            .limit(limit)
        )
        return [(text, key) for text, key in rows.tuples()]

    async def delete_orphans(self) -> int:
        """Replies no remaining conversation taught (their customers were erased): gone with them."""
        taught = select(LearnedReplySource.id).where(LearnedReplySource.reply_id == LearnedReply.id)
        result = await self.session.execute(delete(LearnedReply).where(~exists(taught)))
        return int(getattr(result, "rowcount", 0) or 0)
