"""``SignalReports``: stored signals served to product teams, as pages, a trend summary or an export."""

from __future__ import annotations

import csv
import io
from collections import Counter
from collections.abc import AsyncIterator, Sequence
from datetime import UTC, datetime, timedelta
from typing import Literal

import msgspec
from sqlalchemy.ext.asyncio import AsyncSession

from txassist.config import Settings
from txassist.db.engine import SessionFactory
from txassist.errors import InvalidInput
from txassist.signals.cursor import decode_cursor, encode_cursor
from txassist.signals.repository import SignalRepository
from txassist.signals.schemas import SignalFilters, SignalPage, SignalSummary, SummaryBucket, TypeTrend
from txassist.signals.store import signal_out

CSV_COLUMNS = (
    "id",
    "kind",
    "type",
    "confidence",
    "product_area",
    "evidence",
    "conversation_id",
    "turn_id",
    "customer_ref",
    "channel",
    "occurred_at",
    "extractor_version",
)


class SignalReports:
    def __init__(self, settings: Settings, sessions: SessionFactory) -> None:
        self.settings = settings
        self.sessions = sessions

    async def page(
        self, session: AsyncSession, filters: SignalFilters, *, cursor: str | None, limit: int
    ) -> SignalPage:
        _check_window(filters)
        after = decode_cursor(cursor, self.settings.pseudonym_secret) if cursor else None
        rows = await SignalRepository(session).page(filters, after=after, limit=limit + 1)
        more = len(rows) > limit
        rows = rows[:limit]
        next_cursor = (
            encode_cursor(rows[-1].created_at, rows[-1].id, self.settings.pseudonym_secret) if more and rows else None
        )
        return SignalPage(items=[signal_out(r) for r in rows], next_cursor=next_cursor)

    async def summary(self, session: AsyncSession, filters: SignalFilters, *, days: int) -> SignalSummary:
        _check_window(filters)
        until = _aware(filters.until) if filters.until else datetime.now(UTC)
        since = _aware(filters.since) if filters.since else until - timedelta(days=days)
        previous_since = since - (until - since)
        window = msgspec.structs.replace(filters, since=previous_since, until=until)
        rows = await SignalRepository(session).summary_rows(window)
        current = [(_aware(at), t, a) for at, t, a in rows if _aware(at) >= since]
        previous = [(_aware(at), t, a) for at, t, a in rows if _aware(at) < since]
        buckets = Counter((at.date().isoformat(), t, a) for at, t, a in current)
        by_type = Counter(t for _, t, _ in current)
        previous_by_type = Counter(t for _, t, _ in previous)
        trends = []
        for name in sorted(set(by_type) | set(previous_by_type)):
            now_count, before = by_type.get(name, 0), previous_by_type.get(name, 0)
            change = None if before == 0 else round((now_count - before) / before, 4)
            direction: Literal["up", "down", "flat"] = (
                "up" if now_count > before else "down" if now_count < before else "flat"
            )
            trends.append(TypeTrend(type=name, current=now_count, previous=before, change=change, direction=direction))
        return SignalSummary(
            since=since,
            until=until,
            previous_since=previous_since,
            total=len(current),
            previous_total=len(previous),
            by_day=[SummaryBucket(day=d, type=t, product_area=a, count=c) for (d, t, a), c in sorted(buckets.items())],
            by_type=dict(sorted(by_type.items())),
            by_product_area=dict(sorted(Counter(a for _, _, a in current).items())),
            trends=trends,
        )

    def export(self, filters: SignalFilters, fmt: str) -> AsyncIterator[bytes]:
        """Every matching signal as NDJSON or CSV (header first), page by page; bad filters raise now."""
        _check_window(filters)
        return self._export(filters, fmt)

    async def _export(self, filters: SignalFilters, fmt: str) -> AsyncIterator[bytes]:
        # Its own session: a streamed body is sent after the request's session has closed.
        encoder = msgspec.json.Encoder()
        if fmt == "csv":
            yield _csv_line(CSV_COLUMNS)
        async with self.sessions() as session:
            async for row in SignalRepository(session).iterate(filters):
                out = signal_out(row)
                if fmt == "csv":
                    values = msgspec.to_builtins(out)
                    yield _csv_line(tuple(_csv_cell(values.get(c)) for c in CSV_COLUMNS))
                else:
                    yield encoder.encode(out) + b"\n"


def _csv_cell(value: object) -> str:
    text = "" if value is None else str(value)
    # A leading =, +, - or @ makes spreadsheets run the cell as a formula (CSV injection).
    return "'" + text if text[:1] in ("=", "+", "-", "@") else text


def _csv_line(values: Sequence[str]) -> bytes:
    buffer = io.StringIO()
    csv.writer(buffer).writerow(values)
    return buffer.getvalue().encode("utf-8")


def _check_window(filters: SignalFilters) -> None:
    if filters.since and filters.until and _aware(filters.since) >= _aware(filters.until):
        raise InvalidInput("since must be before until")


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
