"""Retention: conversation content and signals older than the configured ages are purged.

Runs periodically inside the service (``RetentionJob``) and on demand as ``txassist purge``.
Conversations age by their last activity; signals by when they were recorded, so a signal may
outlive the conversation text it came from (the conversation then stays as an empty shell).
"""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import msgspec
import structlog
from advanced_alchemy.extensions.litestar import SQLAlchemyAsyncConfig
from sqlalchemy.ext.asyncio import AsyncSession

from txassist.config import Settings
from txassist.privacy.repository import PrivacyRepository

log = structlog.get_logger("txassist.privacy.retention")


class PurgeReport(msgspec.Struct, kw_only=True):
    conversations_before: datetime | None
    signals_before: datetime | None
    deleted: dict[str, int]


@dataclass(frozen=True)
class RetentionPolicy:
    conversations_days: int
    signals_days: int

    @classmethod
    def from_settings(cls, settings: Settings) -> RetentionPolicy:
        return cls(settings.retention_conversations_days, settings.retention_signals_days)


async def purge_expired(session: AsyncSession, policy: RetentionPolicy, *, now: datetime | None = None) -> PurgeReport:
    """Delete what the policy no longer allows to keep; the caller commits."""
    now = now or datetime.now(UTC)
    repository = PrivacyRepository(session)
    deleted: dict[str, int] = {}
    signals_before = now - timedelta(days=policy.signals_days) if policy.signals_days > 0 else None
    conversations_before = now - timedelta(days=policy.conversations_days) if policy.conversations_days > 0 else None
    # Signals first: a conversation whose signals just expired can then go as a whole.
    if signals_before is not None:
        _add(deleted, await repository.purge_signals_before(signals_before))
    if conversations_before is not None:
        _add(deleted, await repository.purge_conversations_before(conversations_before))
    return PurgeReport(conversations_before=conversations_before, signals_before=signals_before, deleted=deleted)


async def purge_once(db: SQLAlchemyAsyncConfig, policy: RetentionPolicy) -> PurgeReport:
    async with db.get_session() as session:
        report = await purge_expired(session, policy)
        await session.commit()
    log.info("retention_purged", **{f"deleted_{k}": v for k, v in report.deleted.items()})
    return report


class RetentionJob:
    """Purges every ``interval_s`` in the background; a failed run is logged and retried next time."""

    def __init__(self, db: SQLAlchemyAsyncConfig, policy: RetentionPolicy, interval_s: float) -> None:
        self.db = db
        self.policy = policy
        self.interval_s = interval_s
        self.last_report: PurgeReport | None = None
        self._task: asyncio.Task[None] | None = None

    @classmethod
    def from_settings(cls, settings: Settings, db: SQLAlchemyAsyncConfig) -> RetentionJob:
        return cls(db, RetentionPolicy.from_settings(settings), settings.retention_purge_interval_s)

    @property
    def enabled(self) -> bool:
        return self.interval_s > 0 and (self.policy.conversations_days > 0 or self.policy.signals_days > 0)

    def start(self) -> None:
        if self.enabled and self._task is None:
            self._task = asyncio.create_task(self._run(), name="txassist-retention")

    async def stop(self) -> None:
        if self._task is None:
            return
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task
        self._task = None

    async def _run(self) -> None:
        while True:
            try:
                self.last_report = await purge_once(self.db, self.policy)
            except Exception as exc:  # the database may be down for a while; try again next round
                log.warning("retention_purge_failed", error=type(exc).__name__)
            await asyncio.sleep(self.interval_s)


def _add(total: dict[str, int], counts: dict[str, int]) -> None:
    for name, count in counts.items():
        total[name] = total.get(name, 0) + count
