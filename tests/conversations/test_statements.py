"""The per-turn statements sent straight to aiosqlite write and read exactly what the session path does."""

from __future__ import annotations

import asyncio
import sqlite3
import uuid
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from txassist.config import Settings
from txassist.conversations.records import ConversationRecord, TurnRecord
from txassist.conversations.repository import ConversationRepository
from txassist.conversations.statements import SessionStatements, SqliteStatements, statements_for
from txassist.db import migrate
from txassist.db.engine import database_config
from txassist.db.models import Customer
from txassist.drafting.schemas import AfterContactRecord, Commitment

Sessions = Callable[[], AsyncSession]
AT = datetime(2026, 11, 30, 9, 15, 0, 0, tzinfo=UTC)  # a zero microsecond: the stored format keeps six digits


@pytest.fixture
async def sessions(tmp_path: Path) -> AsyncIterator[Sessions]:
    settings = Settings.from_env({}, data_dir=tmp_path)
    await asyncio.to_thread(migrate.upgrade, settings.resolved_database_url)
    config = database_config(settings)  # the service's own engine: its JSON serializer, its pragmas
    yield config.create_session_maker()
    await config.get_engine().dispose()


def _conversation(conversation_id: str) -> ConversationRecord:
    return ConversationRecord(
        id=conversation_id,
        customer_id="c-1",
        channel="chat",
        status="open",
        started_at=AT,
        updated_at=AT,
        channels=["chat"],
        topics=[{"document_id": "kb-1", "title": "Refunds — ünïcode"}],
        after_contact=AfterContactRecord(issue="refund", commitments=[Commitment(promise="call back", due="friday")]),
    )


def _turn_id(conversation_id: str, seq: int) -> uuid.UUID:
    return uuid.uuid5(uuid.NAMESPACE_URL, f"{conversation_id}/{seq}")


def _turn(conversation_id: str, seq: int, scores: dict[str, float] | None) -> TurnRecord:
    return TurnRecord(
        id=_turn_id(conversation_id, seq),
        conversation_id=conversation_id,
        turn_key=f"t-{seq}",
        request_hash="h" * 64,
        seq=seq,
        speaker="customer",
        channel="voice",
        text="My card was charged twice.",
        occurred_at=AT + timedelta(seconds=seq, microseconds=123),
        sentiment_label="negative" if scores else None,
        sentiment_score=0.91 if scores else None,
        sentiment_scores=scores,
    )


async def _write(repo: ConversationRepository, conversation_id: str) -> None:
    record = _conversation(conversation_id)
    await repo.insert_conversation(record)
    record.channels = ["chat", "voice"]
    record.escalated = True
    record.sentiment_trend = -0.5
    record.last_sentiment = "negative"
    record.rolling_summary = "Customer: charged twice"
    assert await repo.bump_conversation(record) == 1
    await repo.insert_turn(_turn(conversation_id, 1, {"negative": 0.91, "neutral": 0.05, "positive": 0.04}), {"ok": 1})
    assert await repo.bump_conversation(record) == 2
    await repo.insert_turn(_turn(conversation_id, 2, None), {"nested": {"list": [1, 2.5, None]}})


def _stored_rows(database: Path, conversation_id: str) -> list[tuple[Any, ...]]:
    with sqlite3.connect(database) as db:
        conversation = db.execute("SELECT * FROM conversations WHERE id = ?", (conversation_id,)).fetchall()
        turns = db.execute("SELECT * FROM turns WHERE conversation_id = ? ORDER BY seq", (conversation_id,)).fetchall()
    # GUIDs are stored as their 16 bytes; the ids are the only difference between the two writes.
    assert [row[0] for row in turns] == [_turn_id(conversation_id, row[4]).bytes for row in turns]
    turns = [("<turn id>", *row[1:]) for row in turns]
    return [tuple("<id>" if v == conversation_id else v for v in row) for row in conversation + turns]


async def test_sqlite_statements_write_the_rows_the_session_writes(sessions: Sessions, tmp_path: Path) -> None:
    async with sessions() as session:
        session.add(Customer(id="c-1", pseudonym="p"))
        await session.commit()
    for conversation_id, direct in (("via-session", False), ("via-driver", True)):
        async with sessions() as session:
            repo = ConversationRepository(session)
            assert isinstance(repo.statements, SqliteStatements)
            if not direct:
                repo.statements = SessionStatements(session)
            await _write(repo, conversation_id)
            await repo.commit()

    database = Settings.from_env({}, data_dir=tmp_path).sqlite_file
    assert database is not None
    by_session, by_driver = _stored_rows(database, "via-session"), _stored_rows(database, "via-driver")
    assert len(by_session) == 3
    assert by_driver == by_session
    assert by_session[1][8] == "2026-11-30 09:15:01.000123"  # occurred_at as SQLAlchemy formats it


async def test_sqlite_statements_read_what_the_session_reads(sessions: Sessions) -> None:
    async with sessions() as session:
        session.add(Customer(id="c-1", pseudonym="p"))
        await session.commit()
    async with sessions() as session:
        await _write(ConversationRepository(session), "conv")
        await session.commit()
    reads = []
    for direct in (False, True):
        async with sessions() as session:
            repo = ConversationRepository(session)
            if not direct:
                repo.statements = SessionStatements(session)
            reads.append(
                (
                    await repo.conversation_for_turn("conv"),
                    await repo.last_turns("conv", 20),
                    await repo.recent_conversations("c-1", since=AT - timedelta(days=1), limit=5),
                    await repo.stored_response("conv", "t-2"),
                )
            )
    assert reads[1] == reads[0]
    conversation, turns, recent, stored = reads[1]
    assert conversation is not None and conversation.escalated is True and conversation.updated_at.tzinfo is UTC
    assert [t.seq for t in turns] == [1, 2] and turns[0].sentiment_scores == {
        "negative": 0.91,
        "neutral": 0.05,
        "positive": 0.04,
    }
    assert [c.id for c in recent] == ["conv"]
    assert stored is not None and stored.response == {"nested": {"list": [1, 2.5, None]}}


async def test_sqlite_statements_join_the_session_transaction(sessions: Sessions) -> None:
    async with sessions() as session:
        session.add(Customer(id="c-1", pseudonym="p"))
        await session.commit()
    async with sessions() as session:
        repo = ConversationRepository(session)
        await repo.insert_conversation(_conversation("rolled-back"))
        assert await repo.conversation_for_turn("rolled-back") is not None  # seen inside the transaction
        await repo.rollback()
    async with sessions() as session:
        assert await ConversationRepository(session).conversation_for_turn("rolled-back") is None


async def test_sqlite_statements_raise_sqlalchemy_errors(sessions: Sessions) -> None:
    # The turn pipeline retries on SQLAlchemy's IntegrityError; the driver's own must not leak past it.
    async with sessions() as session:
        repo = ConversationRepository(session)
        with pytest.raises(IntegrityError):
            await repo.insert_conversation(_conversation("no-such-customer"))  # foreign key
        await repo.rollback()


async def test_postgres_keeps_the_session_path(sessions: Sessions) -> None:
    async with sessions() as session:
        assert isinstance(statements_for(session), SqliteStatements)
    from sqlalchemy.ext.asyncio import create_async_engine

    engine = create_async_engine("postgresql+asyncpg://nobody@127.0.0.1:1/none")  # never connected
    async with AsyncSession(engine) as session:
        assert isinstance(statements_for(session), SessionStatements)
    await engine.dispose()
