"""What the turn pipeline needs from the other capabilities, as structural types.

The pipeline depends on these call shapes, not on the services that implement them, so each capability
can be replaced or faked in a unit test. What crosses them is the capabilities' own structs (a
``KnowledgeHit``, a ``SentimentResult``, a ``SignalOut``): one struct per concept, fakes included.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Protocol

import numpy as np
import numpy.typing as npt
from sqlalchemy.ext.asyncio import AsyncSession

from txassist.conversations.records import ConversationRecord, TurnRecord
from txassist.db.models import Signal
from txassist.drafting.inputs import ReplyInputs
from txassist.drafting.replying import Draft
from txassist.drafting.schemas import SuggestionOut
from txassist.intent.schemas import Intents
from txassist.knowledge.loaders import KnowledgeDocument
from txassist.knowledge.schemas import KnowledgeHit
from txassist.replies.service import LearnedReplyMatch
from txassist.sentiment.schemas import SentimentResult
from txassist.sentiment.trend import SentimentTrend
from txassist.signals.schemas import SignalOut
from txassist.text.language import Language

Vector = npt.NDArray[np.float32]  # one normalised embedding
Vectors = npt.NDArray[np.float32]  # one row per text


class Embedder(Protocol):
    async def encode_one(self, text: str) -> Vector: ...


class SearchResult(Protocol):
    @property
    def hits(self) -> Sequence[KnowledgeHit]: ...
    @property
    def best_dense_score(self) -> float: ...


class Knowledge(Protocol):
    async def search(
        self,
        query: str,
        *,
        k: int = 5,
        vector: Vector | None = None,
        language: str | None = None,
        multilingual_vector: Vector | None = None,
    ) -> SearchResult: ...

    def get_document(self, document_id: str) -> KnowledgeDocument | None: ...


class Sentiment(Protocol):
    async def classify(
        self,
        texts: list[str],
        vectors: Vectors | None = None,
        *,
        languages: list[Language] | None = None,
        multilingual_vectors: Vectors | None = None,
    ) -> Sequence[SentimentResult]: ...


class TrendFunction(Protocol):
    def __call__(
        self,
        history: Sequence[Mapping[str, float]],
        current: SentimentResult,
        text: str,
        *,
        intents: Intents | None = None,
    ) -> SentimentTrend: ...


class ReplyDrafting(Protocol):
    async def draft(
        self,
        inputs: ReplyInputs,
        *,
        allow_slow: bool = True,
        retrieve: Callable[[str], Awaitable[Sequence[KnowledgeHit]]] | None = None,
    ) -> Draft: ...


class SuggestionStore(Protocol):
    def store(
        self, session: AsyncSession, draft: Draft, *, conversation_id: str, turn_key: str | None
    ) -> SuggestionOut:
        """Adds the draft's ``Suggestion`` row to ``session`` (written with the turn)."""
        ...

    def store_learned(
        self, session: AsyncSession, match: LearnedReplyMatch, *, conversation_id: str, turn_key: str | None
    ) -> SuggestionOut:
        """Adds a learned reply offered on this turn as a ``Suggestion`` row."""
        ...


class RollingSummaries(Protocol):
    def rolling_summary(self, turns: Sequence[TurnRecord]) -> str: ...


class SignalExtraction(Protocol):
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
    ) -> list[SignalOut]: ...


class SignalRecording(Protocol):
    async def stored_duplicates(
        self, session: AsyncSession, conversation_id: str, signals: list[SignalOut]
    ) -> Mapping[str, Signal]: ...

    async def record(
        self,
        session: AsyncSession,
        signals: list[SignalOut],
        *,
        conversation: ConversationRecord,
        turn: TurnRecord,
        duplicates: Mapping[str, Signal] | None = None,
    ) -> list[SignalOut]: ...
