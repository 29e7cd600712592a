"""HTTP for product teams (scope ``product``) and outbox administration (scope ``admin``)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Literal

from litestar import Controller, get, post
from litestar.di import Provide
from litestar.params import Parameter
from litestar.response import Stream
from sqlalchemy.ext.asyncio import AsyncSession

from txassist.errors import InvalidInput
from txassist.http.auth import requires
from txassist.http.openapi import BODY, GUARDED, PARAMS, problem_responses, with_media_types
from txassist.outbox.repository import PENDING, OutboxRepository
from txassist.signals.reporting import SignalReports
from txassist.signals.schemas import (
    OutboxEventOut,
    OutboxList,
    ReplayOut,
    ReplayRequest,
    SignalFilters,
    SignalKindName,
    SignalPage,
    SignalSummary,
    SignalTypeName,
)


async def provide_filters(
    kind: SignalKindName | None = None,
    type_: Annotated[SignalTypeName | None, Parameter(query="type")] = None,
    product_area: Annotated[str | None, Parameter(max_length=64)] = None,
    since: datetime | None = None,
    until: datetime | None = None,
    conversation_id: Annotated[str | None, Parameter(max_length=128)] = None,
    channel: Annotated[str | None, Parameter(max_length=16)] = None,
) -> SignalFilters:
    """The filters every signals route shares, declared once as query parameters."""
    return SignalFilters(
        kind=kind,
        type=type_,
        product_area=product_area,
        since=_instant("since", since),
        until=_instant("until", until),
        conversation_id=conversation_id,
        channel=channel,
    )


# Signals exist only in this window; anything outside is a caller's mistake, and far-off years
# overflow the previous-period arithmetic of the summary (year 1 minus a week).
_EARLIEST = datetime(1970, 1, 1, tzinfo=UTC)
_LATEST = datetime(3000, 1, 1, tzinfo=UTC)


def _instant(name: str, value: datetime | None) -> datetime | None:
    """``value`` in UTC (naive means UTC), or a 422 when it lies outside the sane window."""
    if value is None:
        return None
    value = value.replace(tzinfo=UTC) if value.tzinfo is None else value
    try:
        value = value.astimezone(UTC)
    except OverflowError:
        raise InvalidInput(f"{name} is out of range") from None
    if not _EARLIEST <= value < _LATEST:
        raise InvalidInput(f"{name} must lie between {_EARLIEST:%Y-%m-%d} and {_LATEST:%Y-%m-%d}")
    return value


class SignalController(Controller):
    path = "/v1/signals"
    tags = ["signals"]
    guards = [requires("product")]
    dependencies = {"filters": Provide(provide_filters)}

    @get(
        "/",
        summary="List signals (filters, cursor pagination, stable order)",
        responses=problem_responses(*GUARDED, *PARAMS),
    )
    async def list_signals(
        self,
        reports: SignalReports,
        db_session: AsyncSession,
        filters: SignalFilters,
        cursor: Annotated[str | None, Parameter(max_length=512)] = None,
        limit: Annotated[int, Parameter(ge=1, le=500)] = 100,
    ) -> SignalPage:
        return await reports.page(db_session, filters, cursor=cursor, limit=limit)

    @get(
        "/summary",
        summary="Counts per type and product area per day, with the trend against the previous period",
        responses=problem_responses(*GUARDED, *PARAMS),
    )
    async def summary(
        self,
        reports: SignalReports,
        db_session: AsyncSession,
        filters: SignalFilters,
        days: Annotated[int, Parameter(ge=1, le=366)] = 7,
    ) -> SignalSummary:
        return await reports.summary(db_session, filters, days=days)

    @get(
        "/export",
        summary="Every matching signal as NDJSON or CSV, streamed",
        media_type="application/x-ndjson",
        responses=problem_responses(*GUARDED, *PARAMS),
        operation_class=with_media_types(200, "text/csv"),
    )
    async def export(
        self,
        reports: SignalReports,
        filters: SignalFilters,
        format_: Annotated[Literal["ndjson", "csv"], Parameter(query="format")] = "ndjson",
    ) -> Stream:
        body = reports.export(filters, format_)
        media_type = "text/csv; charset=utf-8" if format_ == "csv" else "application/x-ndjson"
        return Stream(
            body,
            media_type=media_type,
            # As a header too: Litestar passes the route's media_type (ndjson) over the response's own,
            # but keeps a content-type header that is already set.
            headers={"content-type": media_type, "Content-Disposition": f'attachment; filename="signals.{format_}"'},
        )


class OutboxController(Controller):
    path = "/v1/outbox"
    tags = ["outbox"]
    guards = [requires("admin")]

    @get(
        "/",
        summary="List outbox events by status (dead letters or pending)",
        responses=problem_responses(*GUARDED, *PARAMS),
    )
    async def list_events(
        self,
        db_session: AsyncSession,
        status: Literal["dead", "pending", "delivered"] = "dead",
        limit: Annotated[int, Parameter(ge=1, le=500)] = 100,
    ) -> OutboxList:
        repo = OutboxRepository(db_session)
        rows = await repo.list_events(status=status, limit=limit)
        items = [
            OutboxEventOut(
                id=str(r.id),
                signal_id=str(r.signal_id) if r.signal_id else None,
                event_type=r.event_type,
                status=r.status,
                attempts=r.attempts,
                next_attempt_at=r.next_attempt_at,
                last_error=r.last_error,
                created_at=r.created_at,
                delivered_at=r.delivered_at,
            )
            for r in rows
        ]
        return OutboxList(items=items, counts=await repo.counts())

    @post(
        "/replay",
        status_code=200,
        summary="Move dead letters back to pending (same event ids)",
        responses=problem_responses(*GUARDED, *BODY),
    )
    async def replay(self, db_session: AsyncSession, data: ReplayRequest | None = None) -> ReplayOut:
        ids = data.ids if data is not None else None
        count = await OutboxRepository(db_session).replay_dead(ids=ids, now=datetime.now(UTC))
        return ReplayOut(replayed=count)


__all__ = ["PENDING", "OutboxController", "SignalController"]
