"""The learned-reply library on real SQLite with real MiniLM vectors."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest
from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from txassist.config import Settings
from txassist.db import migrate
from txassist.db.engine import database_config
from txassist.db.models import Customer, LearnedReply
from txassist.embedding import TextEncoder
from txassist.privacy.erasure import erase_customer
from txassist.replies.service import LearnedReplyLibrary, learnable

Sessions = Callable[[], AsyncSession]
QUESTION = "How do I change the delivery address for my next box?"
REPLY = "You can change the delivery address under Account > Deliveries until the day before dispatch."


@pytest.fixture(scope="module")
def encoder() -> TextEncoder:
    found = TextEncoder()
    found.warm_up()
    return found


@pytest.fixture
async def sessions(tmp_path: Path) -> AsyncIterator[Sessions]:
    settings = Settings.from_env({}, data_dir=tmp_path)
    await asyncio.to_thread(migrate.upgrade, settings.resolved_database_url)
    config = database_config(settings)
    maker = config.create_session_maker()
    async with maker() as session:
        session.add_all([Customer(id=f"cust-{i}", pseudonym=f"p{i}") for i in range(4)])
        await session.commit()
    yield maker
    await config.get_engine().dispose()


async def _teach(library: LearnedReplyLibrary, session: AsyncSession, encoder: TextEncoder, n: int, reply: str) -> None:
    await library.learn(
        session,
        customer_id=f"cust-{n}",
        conversation_id=f"conv-{n}",
        question=QUESTION,
        question_vector=encoder.encode([QUESTION])[0],
        reply=reply,
        channel="chat",
    )


async def test_a_repeat_question_in_other_words_gets_the_learned_reply(
    sessions: Sessions, encoder: TextEncoder
) -> None:
    library = LearnedReplyLibrary(refresh_s=0.0)
    async with sessions() as session:
        await _teach(library, session, encoder, 0, REPLY)
        await session.commit()
        repeat = encoder.encode(["Can I update the address my next delivery goes to?"])[0]
        found = await library.match(session, repeat)
        assert found is not None and found.text == REPLY
        assert found.similarity >= library.min_similarity
        unrelated = encoder.encode(["My card was charged twice for one order"])[0]
        assert await library.match(session, unrelated) is None


async def test_one_row_per_wording_and_one_vote_per_conversation(sessions: Sessions, encoder: TextEncoder) -> None:
    library = LearnedReplyLibrary(refresh_s=0.0)
    async with sessions() as session:
        await _teach(library, session, encoder, 0, REPLY)
        await _teach(library, session, encoder, 0, REPLY)  # the same conversation again: no second vote
        await _teach(library, session, encoder, 1, REPLY.upper().rstrip("."))  # another wording of case only
        await session.commit()
        rows = (await session.scalars(select(LearnedReply))).all()
    assert len(rows) == 1
    assert rows[0].accepted == 2


async def test_the_reply_agents_accepted_ranks_first(sessions: Sessions, encoder: TextEncoder) -> None:
    library = LearnedReplyLibrary(refresh_s=0.0)
    other = "Addresses can be changed in the app under Deliveries, up to a day before we ship."
    async with sessions() as session:
        await _teach(library, session, encoder, 0, other)
        for n in (1, 2, 3):
            await _teach(library, session, encoder, n, REPLY)
        await session.commit()
        found = await library.match(session, encoder.encode([QUESTION])[0])
    assert found is not None and found.text == REPLY and found.accepted == 3


@pytest.mark.parametrize(
    "reply",
    [
        "Your order 48213 ships on Friday.",  # an order number
        "I have refunded 20.50 to your card.",  # an amount
        "I sent the label to dana@example.com just now.",  # redacted to a placeholder: one customer's
        "Call us back on +44 20 7946 0958 any time.",
        "Thanks!",  # too short to be worth offering
    ],
)
def test_replies_that_name_one_customers_case_are_never_learned(reply: str) -> None:
    assert learnable(reply) is None


async def test_erasing_the_customers_who_taught_a_reply_removes_it(sessions: Sessions, encoder: TextEncoder) -> None:
    library = LearnedReplyLibrary(refresh_s=0.0)
    async with sessions() as session:
        await _teach(library, session, encoder, 0, REPLY)
        await _teach(library, session, encoder, 1, REPLY)
        await session.commit()
        for customer in ("cust-0", "cust-1"):
            await session.execute(delete(Customer).where(Customer.id == customer))
            await library.forget_orphans(session)
            await session.commit()
            remaining = await session.scalar(select(func.count(LearnedReply.id)))
            assert remaining == (1 if customer == "cust-0" else 0)
        assert await library.match(session, encoder.encode([QUESTION])[0]) is None


async def test_a_disabled_library_learns_and_offers_nothing(sessions: Sessions, encoder: TextEncoder) -> None:
    library = LearnedReplyLibrary(enabled=False)
    async with sessions() as session:
        await _teach(library, session, encoder, 0, REPLY)
        await session.commit()
        assert await session.scalar(select(func.count(LearnedReply.id))) == 0
        assert await library.match(session, encoder.encode([QUESTION])[0]) is None


async def test_erasure_of_a_customer_removes_the_replies_only_they_taught(
    sessions: Sessions, encoder: TextEncoder
) -> None:
    library = LearnedReplyLibrary(refresh_s=0.0)
    shared = "Deliveries can be paused for up to four weeks in the app under Deliveries."
    async with sessions() as session:
        await _teach(library, session, encoder, 0, REPLY)
        await _teach(library, session, encoder, 0, shared)
        await _teach(library, session, encoder, 1, shared)
        await session.commit()
        report = await erase_customer(session, "cust-0", pseudonym_secret="test-secret")
        await session.commit()
        assert report.deleted["learned_reply_sources"] == 2
        assert report.deleted["learned_replies"] == 1
        assert (await session.scalars(select(LearnedReply.text))).all() == [shared]
