"""Every query on suggestions and their feedback (conversations and turns: ``ConversationRepository``)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from txassist.db.models import Suggestion, SuggestionFeedback
from txassist.jsontypes import JsonObject


@dataclass(frozen=True)
class FeedbackAggregate:
    backend: str
    prompt_version: str
    action: str
    count: int
    mean_edit_distance: float | None


class DraftingRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    def add_suggestion(
        self,
        *,
        conversation_id: str,
        turn_key: str | None,
        text: str,
        citations: list[JsonObject],
        backend: str,
        prompt_version: str,
        latency_ms: float,
        fallback_reason: str | None,
        learned_reply_id: uuid.UUID | None = None,
    ) -> Suggestion:
        row = Suggestion(
            id=uuid.uuid4(),
            conversation_id=conversation_id,
            turn_key=turn_key,
            text=text,
            citations=citations,
            backend=backend,
            prompt_version=prompt_version,
            latency_ms=latency_ms,
            fallback_reason=fallback_reason,
            learned_reply_id=learned_reply_id,
        )
        self.session.add(row)
        return row

    async def get_suggestion(self, suggestion_id: uuid.UUID) -> Suggestion | None:
        return await self.session.get(Suggestion, suggestion_id)

    def add_feedback(
        self,
        *,
        suggestion_id: uuid.UUID,
        action: str,
        text: str | None,
        reason: str | None,
        edit_distance: int | None,
    ) -> SuggestionFeedback:
        row = SuggestionFeedback(
            id=uuid.uuid4(),
            suggestion_id=suggestion_id,
            action=action,
            text=text,
            reason=reason,
            edit_distance=edit_distance,
        )
        self.session.add(row)
        return row

    async def suggestion_counts(self) -> dict[tuple[str, str], int]:
        rows = await self.session.execute(
            select(Suggestion.backend, Suggestion.prompt_version, func.count()).group_by(
                Suggestion.backend, Suggestion.prompt_version
            )
        )
        return {(backend, version): int(count) for backend, version, count in rows.all()}

    async def feedback_aggregates(self) -> list[FeedbackAggregate]:
        rows = await self.session.execute(
            select(
                Suggestion.backend,
                Suggestion.prompt_version,
                SuggestionFeedback.action,
                func.count(),
                func.avg(SuggestionFeedback.edit_distance),
            )
            .join(Suggestion, Suggestion.id == SuggestionFeedback.suggestion_id)
            .group_by(Suggestion.backend, Suggestion.prompt_version, SuggestionFeedback.action)
        )
        return [
            FeedbackAggregate(
                backend=backend,
                prompt_version=version,
                action=action,
                count=int(count),
                mean_edit_distance=None if mean is None else float(mean),
            )
            for backend, version, action, count, mean in rows.all()
        ]
