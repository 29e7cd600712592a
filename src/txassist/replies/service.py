"""The learned-reply library: learn what agents sent or accepted, offer it when the question recurs.

A learned reply is stored redacted and only when nothing customer-specific survives redaction
(placeholders, order numbers, amounts, dates are all digits or brackets): a reply that needed one
customer's details is never offered to another. Each conversation that taught a reply is kept, so
erasing a customer removes their votes and, with the last one, the reply.

Matching compares the new customer turn's MiniLM vector (the one the turn already computed) with
the questions the replies answered. The candidates are cached per process as one matrix and
reloaded when the table changes, so a turn pays one cheap version query and a matrix product.
"""

from __future__ import annotations

import hashlib
import re
import time
import uuid
from collections.abc import Awaitable, Callable

import msgspec
import numpy as np
import numpy.typing as npt
from sqlalchemy.ext.asyncio import AsyncSession

from txassist.db.models import LearnedReply
from txassist.privacy.redaction import redact
from txassist.replies.repository import LearnedReplyRepository

Vector = npt.NDArray[np.float32]
Embed = Callable[[str], Awaitable[Vector]]
# An agent turn is "the suggestion, sent unchanged" when it matches one of the newest few.
RECENT_SUGGESTIONS = 3
# Anything left that names one customer's case: redaction placeholders, 3+ digit runs (order and
# account numbers, amounts, dates), or a template slot.
_SPECIFIC = re.compile(r"\[[A-Z_]+\]|\d{3}|\d[.,:/-]\d|\{\{|\}\}")
_SPACE = re.compile(r"\s+")
MIN_CHARS = 12
MAX_CHARS = 1200


class LearnedReplyMatch(msgspec.Struct, frozen=True, kw_only=True):
    reply_id: uuid.UUID
    text: str
    similarity: float  # cosine between this turn and the question the reply answered
    acceptance: float  # smoothed share of offers accepted: (accepted + 1) / (accepted + rejected + 2)
    accepted: int
    score: float  # what candidates are ranked by


def learnable(text: str) -> str | None:
    """The redacted reply when it can be offered to anyone, else None."""
    cleaned = _SPACE.sub(" ", redact(text)).strip()
    if not MIN_CHARS <= len(cleaned) <= MAX_CHARS or _SPECIFIC.search(cleaned):
        return None
    return cleaned


def text_hash(text: str) -> str:
    # One row per wording: case, spacing and closing punctuation do not make a new reply.
    canonical = _SPACE.sub(" ", text.lower()).strip().rstrip(".!? ")
    return hashlib.sha256(canonical.encode()).hexdigest()


class _Candidates(msgspec.Struct):
    """One row per question a reply answered; a reply with many questions has many rows."""

    version: tuple[int, object]
    ids: list[uuid.UUID]
    texts: list[str]
    accepted: npt.NDArray[np.float32]
    rejected: npt.NDArray[np.float32]
    matrix: npt.NDArray[np.float32]  # (n, dim) question vectors


class LearnedReplyLibrary:
    def __init__(
        self,
        *,
        embed: Embed | None = None,
        enabled: bool = True,
        min_similarity: float = 0.7,
        max_candidates: int = 20_000,
        refresh_s: float = 2.0,
    ) -> None:
        self.embed = embed
        self.enabled = enabled
        self.min_similarity = min_similarity
        self.max_candidates = max_candidates
        self.refresh_s = refresh_s
        self._cache: _Candidates | None = None
        self._checked_at = 0.0
        self._recheck_until = 0.0

    async def learn(
        self,
        session: AsyncSession,
        *,
        customer_id: str,
        conversation_id: str,
        question: str,
        question_vector: Vector,
        reply: str,
        channel: str,
    ) -> uuid.UUID | None:
        """Counts ``reply`` as proven for ``question``; the id of its row, or None when not learnable."""
        if not self.enabled:
            return None
        text = learnable(reply)
        if text is None:
            return None
        repo = LearnedReplyRepository(session)
        row = await repo.by_hash(text_hash(text))
        if row is None:
            row = LearnedReply(
                id=uuid.uuid4(),
                text=text,
                text_hash=text_hash(text),
                channel=channel,
                accepted=0,
                offered=0,
                rejected=0,
            )
            repo.add(row)
            await session.flush()
        # What this process learns it offers at once; other replicas see it within ``refresh_s``.
        self._cache = None
        vector = np.asarray(question_vector, dtype=np.float32).reshape(-1).tobytes()
        if await repo.add_source(row.id, customer_id, conversation_id, redact(question)[:MAX_CHARS], vector):
            await repo.bump(row.id, "accepted")
        return row.id

    async def match(self, session: AsyncSession, question_vector: Vector) -> LearnedReplyMatch | None:
        """The best learned reply for this turn, or None when none is close enough."""
        if not self.enabled:
            return None
        candidates = await self._candidates(session)
        if candidates is None or not candidates.ids:
            return None
        query = np.asarray(question_vector, dtype=np.float32).reshape(-1)
        similarity = candidates.matrix @ query
        acceptance = (candidates.accepted + 1.0) / (candidates.accepted + candidates.rejected + 2.0)
        # Similarity decides whether a reply fits at all; acceptance breaks near-ties between fits.
        scores = np.where(similarity >= self.min_similarity, similarity * (0.75 + 0.25 * acceptance), -1.0)
        best = int(np.argmax(scores))
        if scores[best] < 0:
            return None
        return LearnedReplyMatch(
            reply_id=candidates.ids[best],
            text=candidates.texts[best],
            similarity=round(float(similarity[best]), 6),
            acceptance=round(float(acceptance[best]), 6),
            accepted=int(candidates.accepted[best]),
            score=round(float(scores[best]), 6),
        )

    async def learn_from_feedback(
        self,
        session: AsyncSession,
        *,
        conversation_id: str,
        turn_key: str | None,
        suggested: str,
        action: str,
        edited: str | None,
        learned_reply_id: uuid.UUID | None,
    ) -> uuid.UUID | None:
        """Accepted: the suggestion is proven; edited: what the agent sent instead is; rejected counts
        against a learned reply that was offered."""
        if not self.enabled:
            return None
        repo = LearnedReplyRepository(session)
        if action == "rejected":
            if learned_reply_id is not None:
                await repo.bump(learned_reply_id, "rejected")
            return None
        reply = edited if action == "edited" and edited else suggested
        return await self._learn_for_turn(session, conversation_id, turn_key, reply)

    async def learn_from_agent_turn(
        self, session: AsyncSession, *, conversation_id: str, text: str
    ) -> uuid.UUID | None:
        """An agent turn that is one of the newest suggestions, sent unchanged, proves that suggestion."""
        if not self.enabled:
            return None
        sent = text_hash(text)
        for suggested, turn_key in await LearnedReplyRepository(session).latest_suggestions(
            conversation_id, RECENT_SUGGESTIONS
        ):
            if text_hash(suggested) == sent:
                return await self._learn_for_turn(session, conversation_id, turn_key, suggested)
        return None

    async def _learn_for_turn(
        self, session: AsyncSession, conversation_id: str, turn_key: str | None, reply: str
    ) -> uuid.UUID | None:
        if turn_key is None or self.embed is None or learnable(reply) is None:
            return None
        found = await LearnedReplyRepository(session).question_for(conversation_id, turn_key)
        if found is None:
            return None
        customer_id, question, channel = found
        return await self.learn(
            session,
            customer_id=customer_id,
            conversation_id=conversation_id,
            question=question,
            question_vector=await self.embed(question),
            reply=reply,
            channel=channel,
        )

    async def record(self, session: AsyncSession, reply_id: uuid.UUID, counter: str) -> None:
        """``offered`` when shown; ``rejected`` through feedback (acceptance comes through ``learn``)."""
        await LearnedReplyRepository(session).bump(reply_id, counter)

    async def forget_orphans(self, session: AsyncSession) -> int:
        return await LearnedReplyRepository(session).delete_orphans()

    def invalidate(self) -> None:
        """Rows were removed here (an erasure): every match re-reads the table's version for the next
        ``refresh_s``, so the removal is seen as soon as it commits, not one refresh later."""
        self._cache = None
        self._recheck_until = time.monotonic() + max(self.refresh_s, 1.0)

    async def _candidates(self, session: AsyncSession) -> _Candidates | None:
        now = time.monotonic()
        fresh_enough = now - self._checked_at < self.refresh_s and now >= self._recheck_until
        if self._cache is not None and fresh_enough:
            return self._cache
        repo = LearnedReplyRepository(session)
        version = await repo.version()
        self._checked_at = now
        if self._cache is not None and self._cache.version == version:
            return self._cache
        rows = await repo.candidates(self.max_candidates)
        matrix = (
            np.stack([np.frombuffer(vector, dtype=np.float32) for _, vector in rows])
            if rows
            else np.zeros((0, 0), dtype=np.float32)
        )
        self._cache = _Candidates(
            version=version,
            ids=[r.id for r, _ in rows],
            texts=[r.text for r, _ in rows],
            accepted=np.array([r.accepted for r, _ in rows], dtype=np.float32),
            rejected=np.array([r.rejected for r, _ in rows], dtype=np.float32),
            matrix=matrix,
        )
        return self._cache
