"""Read-only views of stored turns, shared with drafting and signals."""

from __future__ import annotations

from datetime import datetime

import msgspec


class TurnView(msgspec.Struct, frozen=True):
    """One turn as the drafting and summary code sees it (no ORM object crosses the boundary)."""

    turn_id: str
    speaker: str
    channel: str
    text: str
    sentiment: str | None
    at: datetime
