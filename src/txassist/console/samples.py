"""Sample conversations the assist panel can replay, read from ``examples/conversations/*.json``."""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Annotated, Literal

import msgspec

from txassist.config import REPO_ROOT

SAMPLES_DIR = REPO_ROOT / "examples" / "conversations"

Channel = Literal["chat", "voice", "email", "sms", "social"]


class SampleTurn(msgspec.Struct, frozen=True):
    speaker: Literal["customer", "agent"]
    text: Annotated[str, msgspec.Meta(min_length=1, max_length=20_000)]
    channel: Channel | None = None


class SampleConversation(msgspec.Struct, frozen=True):
    id: Annotated[str, msgspec.Meta(min_length=1, max_length=64, pattern=r"^[a-z0-9-]+$")]
    title: Annotated[str, msgspec.Meta(min_length=1, max_length=200)]
    customer_id: Annotated[str, msgspec.Meta(min_length=1, max_length=128)]
    turns: Annotated[list[SampleTurn], msgspec.Meta(min_length=1, max_length=200)]
    description: str = ""


@cache
def load_samples(directory: Path = SAMPLES_DIR) -> list[SampleConversation]:
    """Every valid sample, by file name; an installed wheel has none, which the page shows."""
    if not directory.is_dir():
        return []
    decoder = msgspec.json.Decoder(SampleConversation)
    return [decoder.decode(path.read_bytes()) for path in sorted(directory.glob("*.json"))]
