"""The one interface every generating backend implements, and the error that triggers a fallback."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Protocol, TypedDict, runtime_checkable

from txassist.jsontypes import JsonObject


class ChatMessage(TypedDict):
    role: str
    content: str


class BackendError(Exception):
    """A backend could not produce text; ``reason`` is short and safe to show to an agent."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@runtime_checkable
class GenerationBackend(Protocol):
    name: str
    # Fast backends may answer inside the per-turn call; slow ones are only awaited when asked.
    is_fast: bool

    async def generate(
        self, messages: list[ChatMessage], *, max_tokens: int, json_schema: JsonObject | None = None
    ) -> str: ...

    def stream(self, messages: list[ChatMessage], *, max_tokens: int) -> AsyncIterator[str]: ...

    async def aclose(self) -> None: ...
