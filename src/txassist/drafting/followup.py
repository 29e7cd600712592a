"""The LLM reply that follows a turn: the turn answers with the grounded reply at once, and a slow
backend's reply arrives afterwards over Server-Sent Events.

One follow-up runs per customer turn, in the background, with the turn's own plan and passages. A
newer turn in the same conversation supersedes the older follow-up (its reply would answer the wrong
message). Events are kept in memory per process, so a client that connects late still gets every
event from the first; with several replicas the client must reach the replica that took the turn.
On an agent turn the conversation's prompt prefix is processed into the model's cache while the
customer reads and types, so the next customer turn pays only for its own tokens.
"""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import msgspec
import structlog

from txassist.conversations.records import TurnRecord
from txassist.drafting import llm_context
from txassist.drafting.backends.base import BackendError
from txassist.drafting.backends.prompt_cache import conversation_key
from txassist.drafting.generation import fallback_reason
from txassist.drafting.replying import Draft, ReplyDrafter
from txassist.drafting.suggestions import SuggestionService

log = structlog.get_logger("txassist.drafting.followup")

FOLLOWUP_TOKENS = 120  # a chat reply is 2 to 4 short sentences
KEEP_FINISHED = 512  # finished follow-ups whose events a late client can still read


class FollowupOut(msgspec.Struct, kw_only=True):
    """Where the turn's LLM reply arrives: ``GET events`` streams ``delta`` events, then
    ``suggestion`` (the grounded LLM reply, stored with ``source: llm``) or ``failed``, then ``done``."""

    backend: str
    events: str


@dataclass
class _Followup:
    conversation_id: str
    turn_id: str
    events: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    finished: bool = False
    changed: asyncio.Event = field(default_factory=asyncio.Event)
    task: asyncio.Task[None] | None = None

    def publish(self, kind: str, data: dict[str, Any]) -> None:
        self.events.append((kind, data))
        # Wake every reader; each re-arms by waiting on the new event object.
        self.changed.set()
        self.changed = asyncio.Event()


def events_path(conversation_id: str, turn_id: str) -> str:
    return f"/v1/conversations/{conversation_id}/turns/{turn_id}/followup"


class FollowupDrafts:
    def __init__(
        self,
        drafter: ReplyDrafter,
        suggestions: SuggestionService,
        sessions: Callable[[], Any],
        *,
        max_tokens: int = FOLLOWUP_TOKENS,
        keep: int = KEEP_FINISHED,
    ) -> None:
        self.drafter = drafter
        self.generators = drafter.generators
        self.suggestions = suggestions
        self.sessions = sessions
        self.max_tokens = max_tokens
        self.keep = keep
        self._items: OrderedDict[tuple[str, str], _Followup] = OrderedDict()
        self._running: dict[str, _Followup] = {}  # conversation id -> its follow-up in flight
        self._prefills: set[asyncio.Task[None]] = set()

    @property
    def backend(self) -> str:
        return self.generators.default

    def wanted(self) -> bool:
        """Only a slow backend follows up: a fast one already answered inside the turn."""
        return self.generators.settings.llm_followup and self.generators.is_slow(None)

    def describe(self, conversation_id: str, turn_id: str) -> FollowupOut:
        return FollowupOut(backend=self.backend, events=events_path(conversation_id, turn_id))

    def start(self, conversation_id: str, turn_id: str, draft: object, turns: Sequence[TurnRecord]) -> None:
        """Generate the LLM reply for this turn in the background (call after the turn committed)."""
        if not isinstance(draft, Draft) or draft.plan is None:
            return
        previous = self._running.pop(conversation_id, None)
        if previous is not None and previous.task is not None:
            previous.task.cancel()
        item = _Followup(conversation_id, turn_id)
        self._items[(conversation_id, turn_id)] = item
        self._running[conversation_id] = item
        item.task = asyncio.create_task(self._run(item, draft, list(turns)))
        self._forget_old()

    def prefill(self, conversation_id: str, turns: Sequence[TurnRecord]) -> None:
        """Warm the conversation's prompt prefix in the background (local backend only)."""
        if conversation_id in self._running:
            return  # the running follow-up already holds the model; the next turn pays instead
        task = asyncio.create_task(self._prefill(conversation_id, list(turns)))
        self._prefills.add(task)
        task.add_done_callback(self._prefills.discard)

    def find(self, conversation_id: str, turn_id: str) -> bool:
        return (conversation_id, turn_id) in self._items

    async def events(self, conversation_id: str, turn_id: str) -> AsyncIterator[tuple[str, dict[str, Any]]]:
        """Every event of the follow-up from the first, then the new ones as they come."""
        item = self._items[(conversation_id, turn_id)]
        sent = 0
        while True:
            waiter = item.changed
            while sent < len(item.events):
                yield item.events[sent]
                sent += 1
            if item.finished:
                return
            await waiter.wait()

    async def stop(self) -> None:
        tasks = [i.task for i in self._items.values() if i.task is not None and not i.task.done()]
        tasks.extend(self._prefills)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    async def _run(self, item: _Followup, draft: Draft, turns: list[TurnRecord]) -> None:
        name = self.backend
        try:
            written: Draft | None = None
            with conversation_key(item.conversation_id):
                events = self.drafter.follow(name, draft, turns, _customer_sentiment(turns), max_tokens=self.max_tokens)
                async for kind, payload in events:
                    if isinstance(payload, Draft):
                        written = payload
                    else:
                        item.publish(kind, {"text": payload})
            assert written is not None
            async with self.sessions() as session:
                out = self.suggestions.store(
                    session, written, conversation_id=item.conversation_id, turn_key=item.turn_id
                )
                await session.commit()
            item.publish("suggestion", msgspec.to_builtins(out))
        except asyncio.CancelledError:
            item.publish("superseded", {"reason": "a newer turn in this conversation has its own follow-up"})
            raise
        except (BackendError, TimeoutError) as exc:
            reason = fallback_reason(exc, name)
            log.warning("followup_failed", backend=name, reason=reason, conversation_id=item.conversation_id)
            item.publish("failed", {"reason": reason, "kept": "the grounded reply"})
        except Exception as exc:  # a background job has no caller to raise to
            log.exception("followup_crashed", conversation_id=item.conversation_id)
            item.publish("failed", {"reason": f"{name}: {type(exc).__name__}", "kept": "the grounded reply"})
        finally:
            item.finished = True
            item.publish("done", {})
            if self._running.get(item.conversation_id) is item:
                del self._running[item.conversation_id]

    async def _prefill(self, conversation_id: str, turns: list[TurnRecord]) -> None:
        try:
            generator = self.generators.backend(self.backend)
            prefill = getattr(generator, "prefill", None)
            if prefill is None:
                return  # a remote server keeps its own cache
            rendered = self.drafter.prompts.render(llm_context.PREFIX_TEMPLATE, turns=llm_context.transcript(turns))
            with conversation_key(conversation_id):
                await prefill(rendered.messages)
        except Exception:  # only a cache warm-up: the next turn is merely slower
            log.warning("prefill_failed", conversation_id=conversation_id, exc_info=True)

    def _forget_old(self) -> None:
        while len(self._items) > self.keep:
            key, oldest = next(iter(self._items.items()))
            if not oldest.finished:
                break
            del self._items[key]


def _customer_sentiment(turns: Sequence[TurnRecord]) -> str | None:
    customer = [t for t in turns if t.speaker == "customer"]
    return customer[-1].sentiment_label if customer else None
