"""Small stand-ins for the model-backed capabilities, so pipeline tests run in milliseconds."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import msgspec
import numpy as np
from sqlalchemy import text as sql_text
from sqlalchemy.ext.asyncio import AsyncSession

from txassist.assist.ports import Vector, Vectors
from txassist.conversations.records import ConversationRecord, TurnRecord
from txassist.db.models import Suggestion
from txassist.drafting.inputs import ReplyInputs
from txassist.drafting.replying import Draft
from txassist.drafting.schemas import Citation, SuggestionOut
from txassist.intent.schemas import Intents
from txassist.knowledge.loaders import KnowledgeDocument
from txassist.knowledge.schemas import KnowledgeHit
from txassist.sentiment.schemas import SentimentResult
from txassist.sentiment.trend import SentimentTrend
from txassist.signals.schemas import SignalOut
from txassist.text.language import Language


def slow_query(session: AsyncSession, seconds: float) -> Any:
    """A statement that keeps the database busy for about ``seconds``."""
    if session.bind.dialect.name == "postgresql":
        return sql_text(f"SELECT pg_sleep({seconds})")
    rows = int(seconds * 1_000_000)  # SQLite counts about a million rows a second
    return sql_text(
        f"WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c LIMIT {rows}) SELECT count(*) FROM c"
    )


class FakeEmbeddings:
    def __init__(self) -> None:
        self.calls: list[str] = []

    async def encode_one(self, text: str) -> np.ndarray[Any, Any]:
        self.calls.append(text)
        vec = np.zeros(384, dtype=np.float32)
        vec[len(text) % 384] = 1.0
        return vec


class FakeSentiment:
    """Negative when the text says "angry" or "terrible", positive on "thanks", else neutral."""

    def __init__(self) -> None:
        self.vectors_seen: list[Any] = []

    async def classify(
        self,
        texts: list[str],
        vectors: Vectors | None = None,
        *,
        languages: list[Language] | None = None,
        multilingual_vectors: Vectors | None = None,
    ) -> list[SentimentResult]:
        self.vectors_seen.append(vectors)
        out = []
        for text in texts:
            lower = text.lower()
            if "angry" in lower or "terrible" in lower:
                out.append(SentimentResult("negative", 0.9, {"negative": 0.9, "neutral": 0.05, "positive": 0.05}))
            elif "thanks" in lower:
                out.append(SentimentResult("positive", 0.8, {"negative": 0.05, "neutral": 0.15, "positive": 0.8}))
            else:
                out.append(SentimentResult("neutral", 0.7, {"negative": 0.15, "neutral": 0.7, "positive": 0.15}))
        return out


def fake_trend(
    history: Sequence[Mapping[str, float]], current: SentimentResult, text: str, *, intents: Intents | None = None
) -> SentimentTrend:
    values = [h["positive"] - h["negative"] for h in history] + [
        current.scores["positive"] - current.scores["negative"]
    ]
    manager = "manager" in text.lower()
    return SentimentTrend(sum(values) / len(values), "stable", manager, ["asked_for_manager"] if manager else [])


class Outcome(msgspec.Struct, kw_only=True):
    hits: list[KnowledgeHit]
    vector: Any
    best_dense_score: float


class FakeKnowledge:
    def __init__(self) -> None:
        self.vectors_seen: list[Any] = []

    async def search(self, query: str, *, k: int = 5, vector: Any = None, **_: Any) -> Outcome:
        self.vectors_seen.append(vector)
        hits = [
            KnowledgeHit(
                document_id=f"doc-{i}",
                chunk_id=f"doc-{i}#0",
                title=f"Refund policy {i}" if "refund" in query.lower() else f"Article {i}",
                heading_path=["Help"],
                snippet="Refunds take 5 days.",
                url=f"https://help.example/doc-{i}",
                score=1.0 / (i + 1),
                text="Refunds take 5 days to reach your card.",
            )
            for i in range(k)
        ]
        return Outcome(hits=hits, vector=vector, best_dense_score=0.7)

    def get_document(self, document_id: str) -> KnowledgeDocument | None:
        return None  # no procedures: the pipeline's guidance part finds none


@dataclass
class FakeDrafting:
    fail: bool = False
    delay_s: float = 0.0
    summaries: list[int] = field(default_factory=list)

    async def draft(self, inputs: ReplyInputs, *, allow_slow: bool = True, **_: object) -> Draft:
        passages = inputs.passages
        if self.delay_s:
            await asyncio.sleep(self.delay_s)
        if self.fail:
            raise RuntimeError("drafting broke")
        return Draft(
            text="Refunds take 5 days.",
            citations=[Citation(h.document_id, h.url, h.title) for h in passages[:1]],
            backend="extractive",
            prompt_version="v1",
            latency_ms=1.0,
            fallback=None,
        )

    def store(
        self, session: AsyncSession, draft: Draft, *, conversation_id: str, turn_key: str | None
    ) -> SuggestionOut:
        row = Suggestion(
            id=uuid.uuid4(),
            conversation_id=conversation_id,
            turn_key=turn_key,
            text=draft.text,
            citations=[],
            backend=draft.backend,
            prompt_version=draft.prompt_version,
        )
        session.add(row)
        return SuggestionOut(
            id=str(row.id),
            text=draft.text,
            citations=draft.citations,
            backend=draft.backend,
            prompt_version=draft.prompt_version,
            latency_ms=draft.latency_ms,
            fallback=draft.fallback,
        )

    def store_learned(self, session: AsyncSession, match: Any, *, conversation_id: str, turn_key: str | None) -> Any:
        raise AssertionError("the fake pipeline runs without a learned-reply library")

    def rolling_summary(self, turns: Sequence[TurnRecord]) -> str:
        self.summaries.append(len(turns))
        return " | ".join(f"{t.speaker}: {t.text}" for t in turns)[-500:]


@dataclass
class FakeSignals:
    fail: bool = False
    histories: list[list[float]] = field(default_factory=list)
    texts: list[str] = field(default_factory=list)
    delay_s: float = 0.0  # time the extraction takes
    read_s: float = 0.0  # time the stored-duplicates query takes, spent in the database

    async def extract_for_turn(
        self,
        *,
        conversation: ConversationRecord,
        turn: TurnRecord,
        vector: Vector | None,
        hits: list[KnowledgeHit],
        best_dense_score: float | None,
        sentiment_history: list[float],
        customer_recent_topics: list[str],
        intents: Intents | None = None,
    ) -> list[SignalOut]:
        self.histories.append(sentiment_history)
        self.texts.append(turn.text)
        if self.delay_s:
            await asyncio.sleep(self.delay_s)
        if self.fail:
            raise RuntimeError("signals broke")
        if "cancel" not in turn.text.lower():
            return []
        return [
            SignalOut(
                id="sig-1",
                kind="churn",
                type="cancellation_intent",
                confidence=0.9,
                product_area="billing",
                evidence=turn.text,
                conversation_id=conversation.id,
                turn_id=turn.turn_key,
                customer_ref="ref",
                channel=turn.channel,
                occurred_at=datetime.now(UTC),
                extractor_version="t1",
            )
        ]

    async def stored_duplicates(
        self, session: AsyncSession, conversation_id: str, signals: list[SignalOut]
    ) -> dict[str, Any]:
        if self.read_s:
            await session.execute(slow_query(session, self.read_s))
        return {}

    async def record(
        self,
        session: AsyncSession,
        signals: list[SignalOut],
        *,
        conversation: ConversationRecord,
        turn: TurnRecord,
        duplicates: Mapping[str, Any] | None = None,
    ) -> list[SignalOut]:
        return signals
