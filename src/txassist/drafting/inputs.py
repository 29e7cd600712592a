"""``ReplyInputs``: what one reply is planned and written from, carried as one value down the chain
(the turn pipeline or a request → ``ReplyDrafter`` → ``ReplyPlanner``)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

from txassist.conversations.records import TurnRecord
from txassist.knowledge.schemas import KnowledgeHit


class IntentsLike(Protocol):
    """The intent detector's output for one turn (``txassist.intent`` ``Intents`` satisfies it)."""

    @property
    def scores(self) -> Mapping[str, float]: ...
    @property
    def fired(self) -> Sequence[str]: ...
    @property
    def language(self) -> str: ...


@dataclass(frozen=True, kw_only=True)
class ReplyInputs:
    turns: Sequence[TurnRecord]
    passages: Sequence[KnowledgeHit]  # the turn's retrieved knowledge hits
    channel: str
    sentiment: str | None
    intents: IntentsLike | None = None  # None: the plan reads phrase cues alone
    language: str | None = None  # None with no intents: the drafter detects it
    best_score: float | None = None  # the turn's best dense retrieval score (None: judged by the passages)
