"""Every signals query: dedup lookups, filtered keyset pages, summary rows."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import datetime

from sqlalchemy import Select, and_, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from txassist.db.models import Signal
from txassist.signals.schemas import SignalFilters


def _filtered(statement: Select[tuple[Signal]], filters: SignalFilters) -> Select[tuple[Signal]]:
    if filters.kind is not None:
        statement = statement.where(Signal.kind == filters.kind)
    if filters.type is not None:
        statement = statement.where(Signal.type == filters.type)
    if filters.product_area is not None:
        statement = statement.where(Signal.product_area == filters.product_area)
    if filters.conversation_id is not None:
        statement = statement.where(Signal.conversation_id == filters.conversation_id)
    if filters.channel is not None:
        statement = statement.where(Signal.channel == filters.channel)
    if filters.since is not None:
        statement = statement.where(Signal.occurred_at >= filters.since)
    if filters.until is not None:
        statement = statement.where(Signal.occurred_at < filters.until)
    return statement


class SignalRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    def add(self, signal: Signal) -> None:
        self.session.add(signal)

    async def by_dedup_keys(self, conversation_id: str, dedup_keys: list[str]) -> dict[str, Signal]:
        rows = await self.session.scalars(
            select(Signal).where(Signal.conversation_id == conversation_id, Signal.dedup_key.in_(dedup_keys))
        )
        return {row.dedup_key: row for row in rows}

    async def page(
        self, filters: SignalFilters, *, after: tuple[datetime, uuid.UUID] | None, limit: int
    ) -> list[Signal]:
        """Stable order (created_at, id); ``after`` is the last row of the previous page."""
        statement = _filtered(select(Signal), filters)
        if after is not None:
            created_at, row_id = after
            statement = statement.where(
                or_(Signal.created_at > created_at, and_(Signal.created_at == created_at, Signal.id > row_id))
            )
        rows = await self.session.scalars(statement.order_by(Signal.created_at, Signal.id).limit(limit))
        return list(rows.all())

    async def iterate(self, filters: SignalFilters, *, batch: int = 500) -> AsyncIterator[Signal]:
        after: tuple[datetime, uuid.UUID] | None = None
        while True:
            rows = await self.page(filters, after=after, limit=batch)
            for row in rows:
                yield row
            if len(rows) < batch:
                return
            after = (rows[-1].created_at, rows[-1].id)

    async def summary_rows(self, filters: SignalFilters) -> list[tuple[datetime, str, str]]:
        statement = _filtered(select(Signal.occurred_at, Signal.type, Signal.product_area), filters)  # type: ignore[arg-type]
        rows = await self.session.execute(statement)
        return [(occurred_at, type_, area) for occurred_at, type_, area in rows.all()]
