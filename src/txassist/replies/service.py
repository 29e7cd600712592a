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

import msgspec
import numpy as np
import numpy.typing as npt
from sqlalchemy.ext.asyncio import AsyncSession

from txassist.db.models import LearnedReply
from txassist.privacy.redaction import redact
from txassist.replies.repository import LearnedReplyRepository

Vector = npt.NDArray[np.float32]
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
        enabled: bool = True,
        min_similarity: float = 0.7,
        max_candidates: int = 20_000,
        refresh_s: float = 2.0,
    ) -> None:
        self.enabled = enabled
        self.min_similarity = min_similarity
        self.max_candidates = max_candidates
        self.refresh_s = refresh_s
        self._cache: _Candidates | None = None
        self._checked_at = 0.0

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

    async def record(self, session: AsyncSession, reply_id: uuid.UUID, counter: str) -> None:
        """``offered`` when shown; ``rejected`` through feedback (acceptance comes through ``learn``)."""
        await LearnedReplyRepository(session).bump(reply_id, counter)

    async def forget_orphans(self, session: AsyncSession) -> int:
        return await LearnedReplyRepository(session).delete_orphans()

    async def _candidates(self, session: AsyncSession) -> _Candidates | None:
        now = time.monotonic()
        if self._cache is not None and now - self._checked_at < self.refresh_s:
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
