"""Read-only views of stored turns, shared with drafting and signals."""

from __future__ import annotations

from datetime import UTC, datetime

import msgspec

from txassist.db.models import Turn


class TurnView(msgspec.Struct, frozen=True):
    """One turn as the drafting and summary code sees it (no ORM object crosses the boundary)."""

    turn_id: str
    speaker: str
    channel: str
    text: str
    sentiment: str | None
    at: datetime


def turn_view(turn: Turn) -> TurnView:
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
