"""A turn is idempotent by its ``turn_id``: the same request gets the stored answer, another one a 409."""

from __future__ import annotations

import hashlib

import msgspec

from txassist.assist.schemas import TurnRequest
from txassist.conversations.repository import StoredResponse
from txassist.errors import Conflict


def request_hash(request: TurnRequest, text: str, features: frozenset[str]) -> str:
    """What makes two requests the same turn (the text as normalised, not as sent)."""
    canonical = {
        "customer_id": request.customer_id,
        "channel": request.channel,
        "speaker": request.speaker,
        "text": text,
        "timestamp": request.timestamp.isoformat() if request.timestamp else None,
        "features": sorted(features),
        "identity": msgspec.to_builtins(request.identity) if request.identity else None,
        "k": request.k,
    }
    return hashlib.sha256(msgspec.json.encode(canonical, order="sorted")).hexdigest()


def replay(turn: StoredResponse, request_hash: str) -> dict[str, object]:
    if turn.request_hash != request_hash:
        raise Conflict(f"turn_id {turn.turn_key!r} was already used for a different turn")
    if turn.response is None:
        raise Conflict(f"turn {turn.turn_key!r} is stored without its response")
    return turn.response
