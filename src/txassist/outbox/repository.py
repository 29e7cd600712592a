"""Every outbox query: claim due events under a lease, settle them, list and replay dead letters."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy import and_, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from txassist.db.models import OutboxEvent

PENDING = "pending"
DELIVERED = "delivered"
DEAD = "dead"


def _due(now: datetime) -> object:
    return and_(
        OutboxEvent.status == PENDING,
        OutboxEvent.next_attempt_at <= now,
        or_(OutboxEvent.locked_until.is_(None), OutboxEvent.locked_until < now),
    )


class OutboxRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    def add(self, event: OutboxEvent) -> None:
        self.session.add(event)

    async def claim_due(self, *, token: str, limit: int, lease_s: float, now: datetime) -> list[OutboxEvent]:
        """Lease up to ``limit`` due events to ``token`` in one UPDATE; returns them.

        One statement claims, so two replicas never lease the same row: on PostgreSQL the inner
        SELECT takes row locks with SKIP LOCKED (a competing replica skips instead of waiting); on
        SQLite the database-wide write lock serialises the statement and the re-checked ``due``
        condition rejects rows another process leased first. A lease that runs out (the process
        died mid-delivery) makes the row due again: redelivered with the same id.
        """
        due = _due(now)
        inner = (
            select(OutboxEvent.id)
            .where(due)  # type: ignore[arg-type]
            .order_by(OutboxEvent.next_attempt_at, OutboxEvent.id)
            .limit(limit)
        )
        if self.session.bind.dialect.name == "postgresql":
            inner = inner.with_for_update(skip_locked=True)
        await self.session.execute(
            update(OutboxEvent)
            .where(OutboxEvent.id.in_(inner), due)  # type: ignore[arg-type]
            .values(
                locked_by=token,
                locked_until=now + timedelta(seconds=lease_s),
                attempts=OutboxEvent.attempts + 1,
            )
            .execution_options(synchronize_session=False)
        )
        rows = await self.session.scalars(
            select(OutboxEvent)
            .where(OutboxEvent.locked_by == token, OutboxEvent.status == PENDING)
            .order_by(OutboxEvent.next_attempt_at, OutboxEvent.id)
        )
        return list(rows.all())

    async def mark_delivered(self, ids: Sequence[uuid.UUID], *, now: datetime) -> int:
        # Not conditional on the lease: if it ran out and another replica re-sent the same ids, the
        # receiver dedups by id, and the row is delivered either way.
        result = await self.session.execute(
            update(OutboxEvent)
            .where(OutboxEvent.id.in_(ids), OutboxEvent.status == PENDING)
            .values(status=DELIVERED, delivered_at=now, locked_until=None, last_error=None)
            .execution_options(synchronize_session=False)
        )
        return int(getattr(result, "rowcount", 0) or 0)

    async def mark_failed(
        self,
        event_id: uuid.UUID,
        *,
        token: str,
        error: str,
        next_attempt_at: datetime,
        dead: bool,
        refund_attempt: bool = False,
    ) -> None:
        values: dict[str, object] = {
            "status": DEAD if dead else PENDING,
            "next_attempt_at": next_attempt_at,
            "locked_until": None,
            "last_error": error[:2000],
        }
        if refund_attempt:
            values["attempts"] = OutboxEvent.attempts - 1
        await self.session.execute(
            update(OutboxEvent)
            # Only while our lease holds: a replica that took over owns the row now.
            .where(OutboxEvent.id == event_id, OutboxEvent.locked_by == token, OutboxEvent.status == PENDING)
            .values(**values)
            .execution_options(synchronize_session=False)
        )

    async def list_events(self, *, status: str, limit: int) -> list[OutboxEvent]:
        rows = await self.session.scalars(
            select(OutboxEvent)
            .where(OutboxEvent.status == status)
            .order_by(OutboxEvent.created_at, OutboxEvent.id)
            .limit(limit)
        )
        return list(rows.all())

    async def replay_dead(self, *, ids: Sequence[uuid.UUID] | None, now: datetime) -> int:
        """Dead letters back to pending with a fresh attempt budget; the event ids stay the same."""
        statement = update(OutboxEvent).where(OutboxEvent.status == DEAD)
        if ids is not None:
            statement = statement.where(OutboxEvent.id.in_(ids))
        result = await self.session.execute(
            statement.values(
                status=PENDING, attempts=0, next_attempt_at=now, locked_until=None, locked_by=None
            ).execution_options(synchronize_session=False)
        )
        return int(getattr(result, "rowcount", 0) or 0)

    async def counts(self) -> dict[str, int]:
        rows = await self.session.execute(select(OutboxEvent.status, func.count()).group_by(OutboxEvent.status))
        return {str(status): int(count) for status, count in rows.all()}
