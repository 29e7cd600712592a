"""``SuggestionService``: a drafted reply stored as a ``Suggestion`` row, for a turn or on request.

Rows go into the caller's session and are written with its unit of work (the turn's, or the
request's). The one exception is a streamed draft: its body outlives the request and the request's
session, so it opens a session of its own and commits the suggestion before sending it.
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass

import msgspec
from sqlalchemy.ext.asyncio import AsyncSession

from txassist.conversations.records import TurnRecord
from txassist.conversations.repository import ConversationRepository
from txassist.db.engine import SessionFactory
from txassist.drafting import metrics
from txassist.drafting.backends.prompt_cache import conversation_key
from txassist.drafting.inputs import ReplyInputs
from txassist.drafting.replying import Draft, ReplyDrafter, last_customer_text
from txassist.drafting.repository import DraftingRepository
from txassist.drafting.schemas import DraftRequest, SuggestionOut
from txassist.knowledge.schemas import KnowledgeHit
from txassist.knowledge.service import KnowledgeService
from txassist.replies.service import LearnedReplyMatch

LEARNED_BACKEND = "learned"  # a learned reply is offered as it was sent: no backend wrote it
LEARNED_VERSION = "learned.v1"
KNOWLEDGE_HITS = 3

# What ``SuggestionService.stream`` yields: ("delta", text), ("reset", reason), then ("suggestion", out).
SuggestionEvent = tuple[str, str] | tuple[str, SuggestionOut]


@dataclass(frozen=True)
class DraftInput:
    """What a draft on request reads: the conversation's turns and the knowledge hits for them."""

    conversation_id: str
    inputs: ReplyInputs


class SuggestionService:
    def __init__(self, drafter: ReplyDrafter, knowledge: KnowledgeService, sessions: SessionFactory) -> None:
        self.drafter = drafter
        self.knowledge = knowledge
        self.sessions = sessions

    def store(
        self,
        session: AsyncSession,
        draft: Draft,
        *,
        conversation_id: str,
        turn_key: str | None,
        learned_reply_id: uuid.UUID | None = None,
    ) -> SuggestionOut:
        """Add the draft as a ``Suggestion`` row to the caller's session (written at its next flush)."""
        row = DraftingRepository(session).add_suggestion(
            conversation_id=conversation_id,
            turn_key=turn_key,
            text=draft.text,
            citations=[msgspec.to_builtins(c) for c in draft.citations],
            backend=draft.backend,
            prompt_version=draft.prompt_version,
            latency_ms=draft.latency_ms,
            fallback_reason=draft.fallback,
            learned_reply_id=learned_reply_id,
        )
        metrics.DRAFTS.labels(draft.backend, draft.prompt_version, "yes" if draft.fallback else "no").inc()
        metrics.DRAFT_LATENCY.labels(draft.backend).observe(draft.latency_ms / 1000)
        return SuggestionOut(
            id=str(row.id),
            text=draft.text,
            citations=draft.citations,
            backend=draft.backend,
            prompt_version=draft.prompt_version,
            latency_ms=round(draft.latency_ms, 3),
            fallback=draft.fallback,
            source=draft.source,
            act=draft.act,
        )

    def store_learned(
        self, session: AsyncSession, match: LearnedReplyMatch, *, conversation_id: str, turn_key: str | None
    ) -> SuggestionOut:
        """Add a learned reply offered on this turn as a ``Suggestion`` row; its feedback counts for it."""
        draft = Draft(
            text=match.text,
            citations=[],
            backend=LEARNED_BACKEND,
            prompt_version=LEARNED_VERSION,
            latency_ms=0.0,
            fallback=None,
            source="learned",
        )
        return self.store(
            session, draft, conversation_id=conversation_id, turn_key=turn_key, learned_reply_id=match.reply_id
        )

    async def draft_input(self, session: AsyncSession, conversation_id: str) -> DraftInput:
        transcript = await ConversationRepository(session).transcript(conversation_id)
        turns = transcript.turns
        customer = [t for t in turns if t.speaker == "customer"]
        inputs = ReplyInputs(
            turns=turns,
            passages=await self._hits(turns),
            channel=turns[-1].channel or transcript.conversation.channel,
            sentiment=customer[-1].sentiment_label if customer else None,
        )
        return DraftInput(conversation_id=conversation_id, inputs=inputs)

    def check_backend(self, options: DraftRequest) -> None:
        """Raises the 422 for a backend this host lacks now, before a stream has started."""
        self.drafter.generators.choose(options.backend)

    async def suggest(self, session: AsyncSession, found: DraftInput, options: DraftRequest) -> SuggestionOut:
        """A draft on request (a slow backend is awaited), stored in the request's session."""
        with conversation_key(found.conversation_id):
            draft = await self.drafter.draft(
                found.inputs,
                backend=options.backend,
                allow_slow=True,
                max_tokens=options.max_tokens,
            )
        return self.store(session, draft, conversation_id=found.conversation_id, turn_key=None)

    async def stream(self, found: DraftInput, options: DraftRequest) -> AsyncIterator[SuggestionEvent]:
        """The draft as the model writes it, then the stored suggestion (committed in its own session)."""
        async with self.sessions() as session, contextlib.AsyncExitStack() as scope:
            scope.enter_context(conversation_key(found.conversation_id))
            async for kind, payload in self.drafter.stream(
                found.inputs, backend=options.backend, max_tokens=options.max_tokens
            ):
                if isinstance(payload, Draft):
                    out = self.store(session, payload, conversation_id=found.conversation_id, turn_key=None)
                    await session.commit()
                    yield ("suggestion", out)
                else:
                    yield (kind, payload)

    async def _hits(self, turns: Sequence[TurnRecord]) -> list[KnowledgeHit]:
        query = last_customer_text(turns)
        if not query.strip():
            return []
        outcome = await self.knowledge.search(query[:2000], k=KNOWLEDGE_HITS)
        return list(outcome.hits)
