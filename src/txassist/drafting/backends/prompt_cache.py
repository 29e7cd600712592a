"""Which conversation a generation belongs to, and the llama.cpp slot that keeps its prompt prefix.

llama.cpp keeps one KV cache per slot and reuses the longest common prefix of the slot's previous
prompt (``cache_prompt``). Pinning a conversation to a slot means its next turn only pays for the
tokens after that prefix; a conversation not seen lately takes the least recently used slot. The
key travels in a context variable, so the backend interface stays the same for every backend.
"""

from __future__ import annotations

import contextlib
import threading
from collections import OrderedDict
from collections.abc import Iterator
from contextvars import ContextVar

_conversation: ContextVar[str | None] = ContextVar("txassist_prompt_cache_key", default=None)


def current_key() -> str | None:
    return _conversation.get()


@contextlib.contextmanager
def conversation_key(key: str | None) -> Iterator[None]:
    """Generations inside this block belong to conversation ``key`` (None: to no conversation)."""
    token = _conversation.set(key)
    try:
        yield
    finally:
        _conversation.reset(token)


class SlotPinning:
    """Conversation key -> slot id, least recently used slot reassigned first."""

    def __init__(self, slots: int) -> None:
        if slots < 1:
            raise ValueError("slots must be at least 1")
        self.slots = slots
        self._by_key: OrderedDict[str, int] = OrderedDict()
        self._lock = threading.Lock()

    def slot_for(self, key: str | None) -> int:
        """The slot for ``key``; -1 (llama.cpp picks by prompt similarity) when there is no key."""
        if key is None:
            return -1
        with self._lock:
            if key in self._by_key:
                self._by_key.move_to_end(key)
                return self._by_key[key]
            used = set(self._by_key.values())
            free = [slot for slot in range(self.slots) if slot not in used]
            if free:
                slot = free[0]
            else:
                _, slot = self._by_key.popitem(last=False)
            self._by_key[key] = slot
            return slot

    def pinned(self) -> dict[str, int]:
        with self._lock:
            return dict(self._by_key)
