"""``FeedbackService``: what agents did with a suggestion, and the acceptance statistics it adds up to."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field

from rapidfuzz.distance import Levenshtein
from sqlalchemy.ext.asyncio import AsyncSession

from txassist.drafting import metrics
from txassist.drafting.repository import DraftingRepository
from txassist.drafting.schemas import FeedbackAction, FeedbackOut, StatsOut, StatsRow
from txassist.errors import InvalidInput, NotFound
from txassist.privacy.redaction import redact
from txassist.replies.service import LearnedReplyLibrary


@dataclass
class _Tally:
    suggestions: int = 0
    accepted: int = 0
    edited: int = 0
    rejected: int = 0
    distances: list[tuple[float, int]] = field(default_factory=list)  # (mean edit distance, feedback count)

    def row(self, backend: str, version: str) -> StatsRow:
        feedback = self.accepted + self.edited + self.rejected
        weighted = sum(mean * n for mean, n in self.distances)
        measured = sum(n for _, n in self.distances)
        return StatsRow(
            backend=backend,
            prompt_version=version,
            suggestions=self.suggestions,
            feedback=feedback,
            accepted=self.accepted,
            edited=self.edited,
            rejected=self.rejected,
            acceptance_rate=round(self.accepted / feedback, 4) if feedback else None,
            mean_edit_distance=round(weighted / measured, 2) if measured else None,
        )


class FeedbackService:
    def __init__(self, replies: LearnedReplyLibrary) -> None:
        self.replies = replies

    async def record(
        self,
        session: AsyncSession,
        suggestion_id: str,
        *,
        action: FeedbackAction,
        text: str | None,
        reason: str | None,
    ) -> FeedbackOut:
        try:
            key = uuid.UUID(suggestion_id)
        except ValueError as exc:
            raise NotFound(f"suggestion {suggestion_id!r} not found") from exc
        repo = DraftingRepository(session)
        suggestion = await repo.get_suggestion(key)
        if suggestion is None:
            raise NotFound(f"suggestion {suggestion_id!r} not found")
        if action == "edited" and not (text and text.strip()):
            raise InvalidInput("action 'edited' needs the final text the agent sent in 'text'")
        distance: int | None = None
        if action == "accepted":
            distance = 0
        elif action == "edited" and text is not None:
            distance = int(Levenshtein.distance(suggestion.text, text))
        # What the agent sent may name the customer: stored redacted, like every learned reply.
        row = repo.add_feedback(
            suggestion_id=key,
            action=action,
            text=redact(text) if text is not None else None,
            reason=redact(reason) if reason is not None else None,
            edit_distance=distance,
        )
        await session.flush()
        # What agents accept, or edit and send, becomes this organisation's own reply library.
        await self.replies.learn_from_feedback(
            session,
            conversation_id=suggestion.conversation_id,
            turn_key=suggestion.turn_key,
            suggested=suggestion.text,
            action=action,
            edited=text,
            learned_reply_id=suggestion.learned_reply_id,
        )
        metrics.FEEDBACK.labels(suggestion.backend, suggestion.prompt_version, action).inc()
        if distance is not None:
            metrics.EDIT_DISTANCE.labels(suggestion.backend, suggestion.prompt_version).observe(distance)
        return FeedbackOut(
            id=str(row.id),
            suggestion_id=str(key),
            action=action,
            edit_distance=distance,
            created_at=row.created_at,
        )

    async def stats(self, session: AsyncSession) -> StatsOut:
        repo = DraftingRepository(session)
        tallies = {key: _Tally(suggestions=count) for key, count in (await repo.suggestion_counts()).items()}
        for agg in await repo.feedback_aggregates():
            tally = tallies.setdefault((agg.backend, agg.prompt_version), _Tally())
            if agg.action == "accepted":
                tally.accepted += agg.count
            elif agg.action == "edited":
                tally.edited += agg.count
            elif agg.action == "rejected":
                tally.rejected += agg.count
            if agg.mean_edit_distance is not None:
                tally.distances.append((agg.mean_edit_distance, agg.count))
        return StatsOut(items=[tally.row(backend, version) for (backend, version), tally in sorted(tallies.items())])
