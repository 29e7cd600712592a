"""Read-only views of stored turns, shared with drafting and signals."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Protocol

import msgspec


class TurnView(msgspec.Struct, frozen=True):
    """One turn as the drafting and summary code sees it (no ORM object crosses the boundary)."""

    turn_id: str
    speaker: str
    channel: str
    text: str
    sentiment: str | None
    at: datetime


class StoredTurn(Protocol):
    # Read-only, so both an ORM ``Turn`` and a ``TurnRecord`` struct qualify.
    @property
    def turn_key(self) -> str: ...
    @property
    def speaker(self) -> str: ...
    @property
    def channel(self) -> str: ...
    @property
    def text(self) -> str: ...
    @property
    def sentiment_label(self) -> str | None: ...
    @property
    def occurred_at(self) -> datetime: ...


def turn_view(turn: StoredTurn) -> TurnView:
    # SQLite hands back naive datetimes; every stored time is UTC.
    at = turn.occurred_at if turn.occurred_at.tzinfo else turn.occurred_at.replace(tzinfo=UTC)
    return TurnView(
        turn_id=turn.turn_key,
        speaker=turn.speaker,
        channel=turn.channel,
        text=turn.text,
        sentiment=turn.sentiment_label,
        at=at,
    )
