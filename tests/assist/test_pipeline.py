"""The turn pipeline with fake models on a real database (SQLite, and PostgreSQL when configured)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Sequence
from typing import Any

import msgspec
import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine

from tests.assist.fakes import (
    FakeDrafting,
    FakeEmbeddings,
    FakeKnowledge,
    FakeSentiment,
    FakeSignals,
    fake_trend,
)
from txassist.assist.pipeline import TurnPipeline, TurnServices
from txassist.assist.schemas import TurnRequest
from txassist.config import Settings
from txassist.db import migrate
from txassist.db.models import Conversation, Customer, CustomerIdentity, Suggestion, Turn
from txassist.drafting import summaries
from txassist.errors import Conflict, InvalidInput
from txassist.replies.service import LearnedReplyLibrary
from txassist.sentiment.trend import conversation_trend


@pytest.fixture
async def engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    await asyncio.to_thread(migrate.upgrade, database_url)
    eng = create_async_engine(database_url)
    yield eng
    await eng.dispose()


@pytest.fixture
def sessions(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False)


class Kit:
    def __init__(self, settings: Settings, sessions: async_sessionmaker[AsyncSession]) -> None:
        self.embeddings = FakeEmbeddings()
        self.sentiment = FakeSentiment()
        self.knowledge = FakeKnowledge()
        self.drafting = FakeDrafting()
        self.signals = FakeSignals()
        self.settings = settings
        self.sessions = sessions
        self.part_timeout_s = 5.0
        self.services_trend: Any = fake_trend

    def services(self) -> TurnServices:
        return TurnServices(
            settings=self.settings,
            embeddings=self.embeddings,
            sentiment=self.sentiment,
            knowledge=self.knowledge,
            drafter=self.drafting,
            suggestions=self.drafting,
            summaries=self.drafting,
            signals=self.signals,
            signal_store=self.signals,
            replies=LearnedReplyLibrary(enabled=False),
            trend=self.services_trend,
            part_timeout_s=self.part_timeout_s,
        )

    async def turn(self, conversation_id: str, **fields: Any) -> dict[str, Any]:
        """One request: its own session, committed on success and rolled back on error (as in HTTP)."""
        request = msgspec.convert(
            {"customer_id": "cust-1", "channel": "chat", "speaker": "customer"} | fields, TurnRequest
        )
        async with self.sessions() as session:
            try:
                body = await TurnPipeline(self.services(), session).handle(conversation_id, request)
            except Exception:
                await session.rollback()
                raise
            await session.commit()
            return body

    async def count(self, model: Any) -> int:
        async with self.sessions() as session:
            return int((await session.execute(select(func.count()).select_from(model))).scalar_one())


@pytest.fixture
def kit(make_settings: Callable[..., Settings], sessions: async_sessionmaker[AsyncSession]) -> Kit:
    return Kit(make_settings(max_text_chars=2000), sessions)


async def test_customer_turn_gets_every_part_and_embeds_once(kit: Kit) -> None:
    body = await kit.turn("conv-1", text="I want a refund, this is terrible", turn_id="t1")
    assert body["turn_id"] == "t1"
    assert body["sentiment"]["label"] == "negative"
    assert body["sentiment"]["scores"]["negative"] == pytest.approx(0.9)
    assert [h["document_id"] for h in body["knowledge"]] == [f"doc-{i}" for i in range(5)]
    assert "text" not in body["knowledge"][0]  # whole chunks stay server-side
    assert body["suggestions"][0]["citations"][0]["document_id"] == "doc-0"
    assert body["context"] == {"customer_id": "cust-1", "conversations": [], "possible_matches": []}
    assert body["degraded"] == []
    assert set(body["timings_ms"]) == {
        "embedding",
        "sentiment",
        "knowledge",
        "context",
        "draft",
        "signals",
        "store",
        "total",
    }
    # One embedding, shared by sentiment and knowledge.
    assert kit.embeddings.calls == ["I want a refund, this is terrible"]
    assert kit.sentiment.vectors_seen[0].shape == (1, 384)
    assert kit.knowledge.vectors_seen[0] is not None
    assert await kit.count(Turn) == 1 and await kit.count(Suggestion) == 1


async def test_voice_path_computes_only_what_was_asked(kit: Kit) -> None:
    await kit.turn("conv-v", text="hello", channel="voice")
    kit.embeddings.calls.clear()
    body = await kit.turn("conv-v", text="where is my refund", channel="voice", features=["sentiment", "knowledge"])
    assert body["sentiment"] is not None and body["knowledge"]
    assert body["suggestions"] == [] and body["signals"] == [] and body["context"] is None
    assert body["timings_ms"]["draft"] == 0 and body["timings_ms"]["context"] == 0
    assert len(kit.embeddings.calls) == 1


async def test_agent_turn_is_stored_and_summarised_without_models(kit: Kit) -> None:
    await kit.turn("conv-a", text="my parcel is late")
    kit.embeddings.calls.clear()
    body = await kit.turn("conv-a", text="Let me check that for you", speaker="agent")
    assert body["sentiment"] is None and body["knowledge"] == [] and body["suggestions"] == []
    assert kit.embeddings.calls == []
    async with kit.sessions() as session:
        conv = await session.get(Conversation, "conv-a")
        assert conv is not None
        assert conv.turn_count == 2
        assert "agent: Let me check that for you" in conv.rolling_summary


async def test_same_turn_twice_is_stored_once_and_answered_identically(kit: Kit) -> None:
    first = await kit.turn("conv-i", text="refund please", turn_id="t-1")
    again = await kit.turn("conv-i", text="refund please", turn_id="t-1")
    assert again == first
    assert await kit.count(Turn) == 1 and await kit.count(Suggestion) == 1
    with pytest.raises(Conflict):
        await kit.turn("conv-i", text="something else", turn_id="t-1")
    assert await kit.count(Turn) == 1


async def test_concurrent_identical_turns_insert_once(kit: Kit) -> None:
    await kit.turn("conv-c", text="first")
    kit.drafting.delay_s = 0.05  # widen the window in which both requests are in flight
    results = await asyncio.gather(
        kit.turn("conv-c", text="refund please", turn_id="dup"),
        kit.turn("conv-c", text="refund please", turn_id="dup"),
    )
    assert results[0] == results[1]
    async with kit.sessions() as session:
        rows = (await session.execute(select(Turn).where(Turn.turn_key == "dup"))).scalars().all()
    assert len(rows) == 1


async def test_concurrent_different_turns_each_get_their_own_number(kit: Kit) -> None:
    # A customer and an agent typing at the same moment: neither turn may overwrite the other's count.
    await kit.turn("conv-n", text="first")
    kit.drafting.delay_s = 0.05
    await asyncio.gather(*(kit.turn("conv-n", text=f"turn {i}", turn_id=f"n-{i}") for i in range(4)))
    async with kit.sessions() as session:
        seqs = sorted((await session.execute(select(Turn.seq).where(Turn.conversation_id == "conv-n"))).scalars())
        conversation = await session.get(Conversation, "conv-n")
    assert seqs == [1, 2, 3, 4, 5]
    assert conversation is not None and conversation.turn_count == 5


async def test_conversation_of_another_customer_is_refused_and_nothing_stored(kit: Kit) -> None:
    await kit.turn("conv-x", text="hello")
    with pytest.raises(Conflict):
        await kit.turn("conv-x", text="hello", customer_id="intruder", identity={"email": "i@example.com"})
    assert await kit.count(Turn) == 1
    assert await kit.count(Customer) == 1
    assert await kit.count(CustomerIdentity) == 0


@pytest.mark.parametrize("text", ["   ", "x" * 2001])
async def test_bad_text_is_refused(kit: Kit, text: str) -> None:
    with pytest.raises(InvalidInput):
        await kit.turn("conv-b", text=text)
    assert await kit.count(Conversation) == 0


async def test_failing_draft_and_signals_degrade_without_losing_the_turn(kit: Kit) -> None:
    kit.drafting.fail = True
    kit.signals.fail = True
    body = await kit.turn("conv-d", text="I will cancel my account")
    assert body["degraded"] == ["draft", "signals"]
    assert body["sentiment"] is not None and body["knowledge"]
    assert await kit.count(Turn) == 1
    # A failed draft stores no suggestion.
    assert await kit.count(Suggestion) == 0


async def test_slow_part_times_out_into_degraded(kit: Kit) -> None:
    kit.part_timeout_s = 0.05
    kit.drafting.delay_s = 1.0
    body = await kit.turn("conv-s", text="refund")
    assert body["degraded"] == ["draft"] and body["suggestions"] == []
    assert await kit.count(Turn) == 1


async def test_signals_are_returned_and_get_the_sentiment_history(kit: Kit) -> None:
    await kit.turn("conv-g", text="thanks")
    body = await kit.turn("conv-g", text="terrible, I will cancel my account")
    assert [s["type"] for s in body["signals"]] == ["cancellation_intent"]
    assert kit.signals.histories[-1] == [pytest.approx(0.75), pytest.approx(-0.85)]


async def test_trend_escalation_is_kept_on_the_conversation(kit: Kit) -> None:
    body = await kit.turn("conv-e", text="get me your manager")
    assert body["sentiment"]["escalation"] is True
    assert body["sentiment"]["reasons"] == ["asked_for_manager"]
    await kit.turn("conv-e", text="ok")
    async with kit.sessions() as session:
        conv = await session.get(Conversation, "conv-e")
        assert conv is not None and conv.escalated


class _BrokenSummaries:
    def rolling_summary(self, turns: Sequence[Any]) -> str:
        raise RuntimeError("summaries broke")


async def test_a_turn_with_no_features_and_a_broken_summary_still_answers(kit: Kit) -> None:
    services = msgspec.structs.replace(kit.services(), summaries=_BrokenSummaries())
    request = TurnRequest(customer_id="c", channel="sms", speaker="customer", text="hi there", features=[])
    async with kit.sessions() as session:
        body = await TurnPipeline(services, session).handle("conv-m", request)
        await session.commit()
    assert body["sentiment"] is None and body["knowledge"] == [] and body["suggestions"] == []
    assert kit.embeddings.calls == []  # no feature asked for: no model ran
    async with kit.sessions() as session:
        conv = await session.get(Conversation, "conv-m")
        assert conv is not None and conv.rolling_summary == "Customer: hi there"


async def test_context_follows_the_customer_to_another_channel_by_email(kit: Kit) -> None:
    verified = {"email": True}
    await kit.turn(
        "chat-1", text="my refund for order 7 is late", identity={"email": "Ann@Example.com", "verified": verified}
    )
    await kit.turn("chat-1", text="We will refund it by Friday", speaker="agent")
    # A different id on voice, but the same email (case differs): the same person.
    body = await kit.turn(
        "voice-1",
        customer_id="phone-caller-9",
        channel="voice",
        text="hello",
        identity={"email": "ann@example.com", "verified": verified},
    )
    ctx = body["context"]
    assert ctx["customer_id"] == "cust-1"
    [prior] = ctx["conversations"]
    assert prior["conversation_id"] == "chat-1" and prior["channel"] == "chat"
    assert "refund for order 7" in prior["summary"]
    assert prior["open_issues"] and prior["open_issues"][0].startswith("Refund policy")
    # The alias now resolves by itself, without the email.
    body = await kit.turn("email-1", customer_id="phone-caller-9", channel="email", text="any news?")
    assert [c["conversation_id"] for c in body["context"]["conversations"]] == ["voice-1", "chat-1"]
    async with kit.sessions() as session:
        values = (await session.execute(select(CustomerIdentity.value))).scalars().all()
    assert all("example.com" not in v for v in values)  # only keyed hashes are stored


async def test_context_is_bounded_by_count(kit: Kit) -> None:
    kit.settings = msgspec.structs.replace(kit.settings, context_max_conversations=2)
    for i in range(4):
        await kit.turn(f"c-{i}", text=f"question {i}")
    body = await kit.turn("c-new", text="again")
    assert [c["conversation_id"] for c in body["context"]["conversations"]] == ["c-3", "c-2"]


async def test_a_part_timeout_never_cancels_a_database_read(kit: Kit) -> None:
    # Issue 19: the signals part's timeout landed inside its stored-duplicates query; the write phase
    # then failed (PendingRollbackError), the turn answered 500 and was lost.
    kit.part_timeout_s = 0.4
    kit.signals.delay_s = 0.2
    kit.signals.read_s = 0.6
    body = await kit.turn("conv-slow-read", text="I will cancel my account")
    assert [s["type"] for s in body["signals"]] == ["cancellation_intent"]
    assert "signals" not in body["degraded"]
    assert await kit.count(Turn) == 1


async def test_slow_signal_extraction_degrades_and_the_turn_is_stored(kit: Kit) -> None:
    kit.part_timeout_s = 0.1
    kit.signals.delay_s = 1.0
    body = await kit.turn("conv-slow-signals", text="I will cancel my account")
    assert body["degraded"] == ["signals"] and body["signals"] == []
    assert await kit.count(Turn) == 1
    kit.signals.delay_s = 0.0
    again = await kit.turn("conv-slow-signals", text="and another turn")
    assert again["degraded"] == []


async def test_text_is_normalised_before_any_part_sees_it(kit: Kit) -> None:
    body = await kit.turn("conv-zw", text="I'm off to Hello\u200bFresh, I don\u2019t\u00a0care\x07", turn_id="zw-1")
    clean = "I'm off to HelloFresh, I don't care"
    assert kit.embeddings.calls[-1] == clean
    assert kit.signals.texts[-1] == clean
    async with kit.sessions() as session:
        stored = (await session.execute(select(Turn.text))).scalar_one()
    assert stored == clean
    # A retry with the same raw text is the same turn.
    again = await kit.turn("conv-zw", text="I'm off to Hello\u200bFresh, I don\u2019t\u00a0care\x07", turn_id="zw-1")
    assert again == body


async def test_text_that_is_only_invisible_characters_is_refused(kit: Kit) -> None:
    with pytest.raises(InvalidInput):
        await kit.turn("conv-empty", text="\u200b\u200d\ufeff \u00ad")
    assert await kit.count(Conversation) == 0


class _RealSummaries(FakeDrafting):
    def rolling_summary(self, turns: Sequence[Any]) -> str:
        return summaries.rolling_summary(turns)


async def test_a_hostile_turn_leaves_the_event_loop_free(
    make_settings: Callable[..., Settings], sessions: async_sessionmaker[AsyncSession]
) -> None:
    # Issue 19: one 20,000-character turn froze every caller for 12 s (the complaint rule ran on the
    # loop). The real trend rules and rolling summary run here; the loop's longest stall is measured.
    kit = Kit(make_settings(max_text_chars=20_000), sessions)
    kit.drafting = _RealSummaries()
    kit.services_trend = conversation_trend
    hostile = ("file" + " " * 9_000 + "x ") * 2 + "[" * 1_900
    stalls: list[float] = []
    done = asyncio.Event()

    async def ticker() -> None:
        loop = asyncio.get_running_loop()
        while not done.is_set():
            before = loop.time()
            await asyncio.sleep(0.005)
            stalls.append(loop.time() - before - 0.005)

    watcher = asyncio.ensure_future(ticker())
    try:
        for n in range(2):
            body = await kit.turn("conv-hostile", text=hostile + str(n))
            assert body["sentiment"] is not None
    finally:
        done.set()
        await watcher
    assert max(stalls) < 0.25, f"the event loop stalled {max(stalls) * 1000:.0f} ms"
    assert await kit.count(Turn) == 2
