"""What the turn pipeline needs from the other capabilities, as structural types.

The pipeline depends on these shapes, not on the modules that implement them, so each capability can be
replaced or faked in a unit test.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from datetime import datetime
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt
from sqlalchemy.ext.asyncio import AsyncSession

from txassist.conversations.repository import ConversationRecord, NewTurn
from txassist.conversations.views import TurnView
from txassist.intent.schemas import Intents

Vector = npt.NDArray[np.float32]


class Embedder(Protocol):
    async def encode_one(self, text: str) -> Vector: ...


class Hit(Protocol):
    document_id: str
    chunk_id: str
    title: str
    heading_path: list[str]
    snippet: str
    url: str | None
    score: float
    text: str


class SearchResult(Protocol):
    @property
    def hits(self) -> Sequence[Hit]: ...
    @property
    def best_dense_score(self) -> float: ...


class Knowledge(Protocol):
    async def search(
        self,
        query: str,
        *,
        k: int = 5,
        vector: Any = None,
        language: str | None = None,
        multilingual_vector: Any = None,
    ) -> SearchResult: ...


# Read-only members (properties): a Struct whose field is a narrower type (a Literal label, a list of
# Citation structs) still satisfies them.
class SentimentLabel(Protocol):
    @property
    def label(self) -> str: ...
    @property
    def score(self) -> float: ...
    @property
    def scores(self) -> Mapping[str, float]: ...
    @property
    def language(self) -> str: ...
    @property
    def reliable(self) -> bool: ...


class Sentiment(Protocol):
    async def classify(
        self,
        texts: list[str],
        vectors: Any = None,
        *,
        languages: Any = None,
        multilingual_vectors: Any = None,
    ) -> Sequence[SentimentLabel]: ...


class Trend(Protocol):
    @property
    def value(self) -> float: ...
    @property
    def direction(self) -> str: ...
    @property
    def escalation(self) -> bool: ...
    @property
    def reasons(self) -> Sequence[str]: ...


class TrendFunction(Protocol):
    def __call__(
        self, history: Sequence[Mapping[str, float]], current: Any, text: str, *, intents: Any = None
    ) -> Trend: ...


class CitationLike(Protocol):
    @property
    def document_id(self) -> str: ...
    @property
    def url(self) -> str | None: ...
    @property
    def title(self) -> str: ...


class SuggestionLike(Protocol):
    @property
    def id(self) -> str: ...
    @property
    def text(self) -> str: ...
    @property
    def backend(self) -> str: ...
    @property
    def prompt_version(self) -> str: ...

    @property
    def citations(self) -> Sequence[CitationLike]: ...
    @property
    def source(self) -> str: ...
    @property
    def act(self) -> str | None: ...


class ReplyDrafting(Protocol):
    async def draft(
        self,
        *,
        turns: Sequence[TurnView],
        passages: Sequence[Any],
        channel: str,
        sentiment: str | None,
        allow_slow: bool = True,
        best_score: float | None = None,
        retrieve: Callable[[str], Awaitable[Sequence[Any]]] | None = None,
        intents: Intents | None = None,
        language: str | None = None,
    ) -> Any: ...


class SuggestionStore(Protocol):
    def store(self, session: AsyncSession, draft: Any, *, conversation_id: str, turn_key: str | None) -> SuggestionLike:
        """Adds the draft's ``Suggestion`` row to ``session`` (written with the turn)."""
        ...

    def store_learned(
        self, session: AsyncSession, match: Any, *, conversation_id: str, turn_key: str | None
    ) -> SuggestionLike:
        """Adds a learned reply offered on this turn as a ``Suggestion`` row."""
        ...


class RollingSummaries(Protocol):
    def rolling_summary(self, turns: Sequence[TurnView]) -> str: ...


class SignalLike(Protocol):
    id: str
    kind: str
    type: str
    confidence: float
    product_area: str
    evidence: str
    occurred_at: datetime


class SignalExtraction(Protocol):
    async def extract_for_turn(
        self,
        *,
        conversation: ConversationRecord,
        turn: NewTurn,
        vector: Any,
        hits: list[Any],
        best_dense_score: float | None,
        sentiment_history: list[float],
        customer_recent_topics: list[str],
        intents: Intents | None = None,
    ) -> list[Any]: ...


class SignalRecording(Protocol):
    async def stored_duplicates(
        self, session: AsyncSession, conversation_id: str, signals: list[Any]
    ) -> dict[str, Any]: ...

    async def record(
        self,
        session: AsyncSession,
        signals: list[Any],
        *,
        conversation: ConversationRecord,
        turn: NewTurn,
        duplicates: Mapping[str, Any] | None = None,
    ) -> list[Any]: ...
