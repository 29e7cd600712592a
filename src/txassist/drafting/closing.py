"""Closing a contact: its status, the after-contact summary and the close-time signals, in one place.

The request's session carries the close. With a slow backend (a local LLM) the summary and the
signals land later, in a background job: it has no request, so it opens a session of its own and
commits its own work (the summary first, then the signals, so one failing keeps the other).
"""

from __future__ import annotations

from datetime import UTC, datetime

import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from txassist.conversations.repository import ConversationRepository, Transcript
from txassist.db.engine import SessionFactory
from txassist.drafting.generation import Generators
from txassist.drafting.schemas import CloseOut
from txassist.drafting.summarizer import SummaryService
from txassist.signals.extraction import SignalExtractor
from txassist.signals.store import SignalStore

log = structlog.get_logger("txassist.drafting")


class ConversationCloser:
    def __init__(
        self,
        summaries: SummaryService,
        generators: Generators,
        signals: SignalExtractor,
        signal_store: SignalStore,
        sessions: SessionFactory,
    ) -> None:
        self.summaries = summaries
        self.generators = generators
        self.signals = signals
        self.signal_store = signal_store
        self.sessions = sessions

    async def close(self, session: AsyncSession, conversation_id: str, backend: str | None) -> CloseOut:
        """Closes now; ``pending`` when a slow backend will write the summary in ``finish_later``."""
        transcript = await ConversationRepository(session).transcript(conversation_id)
        conversation = transcript.conversation
        conversation.status = "closed"
        conversation.closed_at = datetime.now(UTC)
        if self.generators.is_slow(backend):
            return CloseOut(conversation_id=conversation_id, status="closed", pending=True)
        result = await self.summaries.record_after_contact(transcript, backend=backend)
        await self._record_signals(session, transcript)
        return CloseOut(
            conversation_id=conversation_id,
            status="closed",
            pending=False,
            after_contact=result.summary,
            backend=result.backend,
            prompt_version=result.prompt_version,
            fallback=result.fallback,
        )

    async def finish_later(self, conversation_id: str, backend: str | None) -> None:
        """The background half of a pending close: summary, then signals, each committed by the job."""
        try:
            async with self.sessions() as session:
                transcript = await ConversationRepository(session).transcript(conversation_id)
                await self.summaries.record_after_contact(transcript, backend=backend)
                await session.commit()
        except Exception:  # a background job has no caller to raise to
            log.exception("after_contact_failed", conversation_id=conversation_id)
        try:
            async with self.sessions() as session:
                transcript = await ConversationRepository(session).transcript(conversation_id)
                await self._record_signals(session, transcript)
                await session.commit()
        except Exception:  # a background job has no caller to raise to
            log.exception("close_signals_failed", conversation_id=conversation_id)

    async def _record_signals(self, session: AsyncSession, transcript: Transcript) -> None:
        """Whole-conversation signals, merged with the per-turn ones already stored."""
        conversation = transcript.conversation
        found = await self.signals.at_close(conversation, transcript.turns)
        if found:
            await self.signal_store.record(session, found, conversation=conversation, turn=None)
