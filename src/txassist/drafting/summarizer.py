"""``SummaryService``: rolling, handoff and after-contact summaries, by a model or extractively.

Every summary takes the same path: the chosen backend writes it, and any failure (error, timeout,
empty text, JSON outside the schema) falls back to the extractive summary in ``summaries``, with the
reason in ``fallback``. Whatever comes out is redacted before it is stored or shown.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

import msgspec
import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from txassist.conversations.records import TurnRecord
from txassist.conversations.repository import ConversationRepository, Transcript
from txassist.drafting import metrics, summaries
from txassist.drafting.backends.base import BackendError
from txassist.drafting.backends.prompt_cache import conversation_key
from txassist.drafting.generation import EXTRACTIVE, Generators, fallback_reason
from txassist.drafting.prompts import PromptLibrary
from txassist.drafting.schemas import AfterContactRecord, AfterContactSummary, SummaryKind, SummaryOut
from txassist.privacy.redaction import redact

log = structlog.get_logger("txassist.drafting")

DEFAULT_SUMMARY_TOKENS = 300
T = TypeVar("T")


@dataclass(frozen=True)
class AfterContactResult:
    summary: AfterContactSummary
    backend: str
    prompt_version: str
    latency_ms: float
    fallback: str | None


@dataclass(frozen=True)
class _Written(Generic[T]):
    value: T
    backend: str
    prompt_version: str
    latency_ms: float
    fallback: str | None


class SummaryService:
    def __init__(self, prompts: PromptLibrary, generators: Generators) -> None:
        self.prompts = prompts
        self.generators = generators

    def rolling_summary(self, turns: Sequence[TurnRecord]) -> str:
        """The per-turn summary: extractive (no model call on the turn path), redacted."""
        return redact(summaries.rolling_summary(turns))

    async def after_contact(self, turns: Sequence[TurnRecord], *, backend: str | None = None) -> AfterContactResult:
        async def write(name: str) -> tuple[AfterContactSummary, str]:
            rendered = self.prompts.render("after_contact_summary", turns=_turn_context(turns))
            raw = await self.generators.generate(
                name,
                rendered.messages,
                max_tokens=DEFAULT_SUMMARY_TOKENS,
                json_schema=summaries.AFTER_CONTACT_SCHEMA,
            )
            return summaries.parse_after_contact(raw), rendered.version

        out = await self._write_or_extract(backend, write, lambda: summaries.after_contact(turns))
        return AfterContactResult(
            _redact_summary(out.value), out.backend, out.prompt_version, out.latency_ms, out.fallback
        )

    async def summarize(
        self,
        turns: Sequence[TurnRecord],
        *,
        kind: SummaryKind,
        conversation_channel: str,
        backend: str | None = None,
    ) -> SummaryOut:
        if kind == "after_contact":
            result = await self.after_contact(turns, backend=backend)
            metrics.SUMMARY_LATENCY.labels(result.backend, kind).observe(result.latency_ms / 1000)
            return SummaryOut(
                conversation_id="",
                kind=kind,
                text=summaries.render_after_contact(result.summary),
                backend=result.backend,
                prompt_version=result.prompt_version,
                latency_ms=round(result.latency_ms, 3),
                structured=result.summary,
                fallback=result.fallback,
            )
        from_channel, to_channel = _channel_switch(turns, conversation_channel)

        async def write(name: str) -> tuple[str, str]:
            template = "rolling_summary" if kind == "rolling" else "handoff_summary"
            rendered = self.prompts.render(
                template, turns=_turn_context(turns), from_channel=from_channel, to_channel=to_channel
            )
            text = (await self.generators.generate(name, rendered.messages, max_tokens=DEFAULT_SUMMARY_TOKENS)).strip()
            if not text:
                raise BackendError(f"{name}: empty summary")
            return text, rendered.version

        def extract() -> str:
            if kind == "rolling":
                return summaries.rolling_summary(turns)
            return summaries.handoff_summary(turns, from_channel=from_channel, to_channel=to_channel)

        out = await self._write_or_extract(backend, write, extract)
        metrics.SUMMARY_LATENCY.labels(out.backend, kind).observe(out.latency_ms / 1000)
        return SummaryOut(
            conversation_id="",
            kind=kind,
            text=redact(out.value),
            backend=out.backend,
            prompt_version=out.prompt_version,
            latency_ms=round(out.latency_ms, 3),
            fallback=out.fallback,
        )

    async def for_conversation(
        self, session: AsyncSession, conversation_id: str, *, kind: SummaryKind, backend: str | None
    ) -> SummaryOut:
        """A summary of a stored conversation; a handoff summary is kept on it for the next channel."""
        transcript = await ConversationRepository(session).transcript(conversation_id)
        conversation = transcript.conversation
        out = await self.summarize(
            transcript.turns, kind=kind, conversation_channel=conversation.channel, backend=backend
        )
        if kind == "handoff":
            conversation.handoff_summary = out.text
        return msgspec.structs.replace(out, conversation_id=conversation_id)

    async def record_after_contact(self, transcript: Transcript, *, backend: str | None) -> AfterContactResult:
        """Writes the after-contact summary onto the conversation (in the caller's transaction)."""
        with conversation_key(transcript.conversation.id):
            result = await self.after_contact(transcript.turns, backend=backend)
        made = result.summary
        stored = AfterContactRecord(
            issue=made.issue,
            actions_taken=made.actions_taken,
            resolution=made.resolution,
            next_steps=made.next_steps,
            commitments=list(made.commitments),
            # The rendered text is what the customer's context shows on their next contact.
            summary=redact(summaries.render_after_contact(made)),
            backend=result.backend,
            prompt_version=result.prompt_version,
            fallback=result.fallback,
        )
        transcript.conversation.after_contact = msgspec.to_builtins(stored)
        return result

    async def _write_or_extract(
        self, requested: str | None, write: Callable[[str], Awaitable[tuple[T, str]]], extract: Callable[[], T]
    ) -> _Written[T]:
        """The one fallback path: the backend's summary, or the extractive one with the reason."""
        started = time.perf_counter()
        name = self.generators.choose(requested)
        fallback: str | None = None
        if name != EXTRACTIVE:
            try:
                value, version = await write(name)
                return _Written(value, name, version, _ms(started), None)
            except (BackendError, TimeoutError, ValueError, msgspec.ValidationError) as exc:
                fallback = fallback_reason(exc, name)
                log.warning("summary_fallback", backend=name, reason=fallback)
        return _Written(extract(), EXTRACTIVE, summaries.EXTRACTIVE_VERSION, _ms(started), fallback)


def _redact_summary(summary: AfterContactSummary) -> AfterContactSummary:
    return AfterContactSummary(
        issue=redact(summary.issue),
        actions_taken=[redact(a) for a in summary.actions_taken],
        resolution=redact(summary.resolution),
        next_steps=[redact(s) for s in summary.next_steps],
        commitments=[msgspec.structs.replace(c, promise=redact(c.promise)) for c in summary.commitments],
    )


def _turn_context(turns: Sequence[TurnRecord], limit: int = 40) -> list[dict[str, str]]:
    return [{"speaker": t.speaker, "text": t.text[:1000]} for t in turns[-limit:]]


def _channel_switch(turns: Sequence[TurnRecord], default: str) -> tuple[str, str]:
    """The channel before the latest switch and the channel after it (the same when none)."""
    for previous, current in zip(reversed(turns[:-1]), reversed(turns), strict=False):
        if previous.channel != current.channel:
            return previous.channel, current.channel
    channel = turns[-1].channel if turns else default
    return channel, channel


def _ms(started: float) -> float:
    return (time.perf_counter() - started) * 1000
