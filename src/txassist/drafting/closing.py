"""Closing a contact: its status, the after-contact summary and the close-time signals, in one place.

The request's session carries the close; with a slow backend (a local LLM) the summary and the
signals land later, in a job with a session of its own that commits its own work.
"""

from __future__ import annotations

from datetime import UTC, datetime

import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from txassist.db.engine import SessionFactory
from txassist.drafting.schemas import CloseOut
from txassist.drafting.service import DraftingService
from txassist.signals.service import SignalService

log = structlog.get_logger("txassist.drafting")


class ConversationCloser:
    def __init__(self, drafting: DraftingService, signals: SignalService, sessions: SessionFactory) -> None:
        self.drafting = drafting
        self.signals = signals
        self.sessions = sessions

    async def close(self, session: AsyncSession, conversation_id: str, backend: str | None) -> CloseOut:
        """Closes now; ``pending`` when a slow backend will write the summary in ``finish_later``."""
        conversation, turns = await self.drafting.conversation_turns(session, conversation_id)
        conversation.status = "closed"
        conversation.closed_at = datetime.now(UTC)
        if self.drafting.backend_is_slow(backend):
            return CloseOut(conversation_id=conversation_id, status="closed", pending=True)
        result = await self.drafting.write_after_contact(session, conversation_id, backend=backend)
        await self.signals.extract_at_close(session, conversation, turns)
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
        await self.drafting.close_job(self.sessions, conversation_id, backend)
        try:
            async with self.sessions() as session:
                conversation, turns = await self.drafting.conversation_turns(session, conversation_id)
                await self.signals.extract_at_close(session, conversation, turns)
                await session.commit()
        except Exception:  # a background job has no caller to raise to
            log.exception("close_signals_failed", conversation_id=conversation_id)
