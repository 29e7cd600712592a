"""``SignalForwarder``: delivers outbox events to the TX store, at least once, in batches.

Each round claims a batch under a lease (see ``OutboxRepository.claim_due``), commits the claim,
POSTs the events as one CloudEvents batch, then settles them in a second transaction. Nothing is
deleted or marked before the receiver answered 2xx, so a crash anywhere only delays an event: its
lease runs out and the next round (in this process or another replica) sends it again with the
same id, which the receiver uses to deduplicate.
"""

from __future__ import annotations

import asyncio
import contextlib
import email.utils
import os
import random
import socket
import time
import uuid
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from datetime import UTC, datetime, timedelta

import httpx
import msgspec
import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from txassist.config import Settings
from txassist.db.models import OutboxEvent
from txassist.outbox import metrics
from txassist.outbox.cloudevents import BATCH_CONTENT_TYPE
from txassist.outbox.repository import OutboxRepository
from txassist.outbox.signing import signed_headers

log = structlog.get_logger("txassist.outbox")

SessionFactory = Callable[[], AbstractAsyncContextManager[AsyncSession]]


class DeliveryOutcome(msgspec.Struct, frozen=True):
    delivered: bool
    error: str = ""
    retry_after_s: float | None = None  # the receiver's Retry-After, when it sent one


def backoff_delay(attempts: int, *, base_s: float, max_s: float, rng: random.Random | None = None) -> float:
    """Exponential backoff with "equal jitter": half fixed, half random, capped at ``max_s``."""
    exponent = min(max(attempts - 1, 0), 32)
    ceiling = min(max_s, base_s * float(1 << exponent))
    generator = rng if rng is not None else _RNG
    jitter: float = generator.uniform(0, ceiling / 2)
    return ceiling / 2 + jitter


def parse_retry_after(value: str | None, *, now: float | None = None) -> float | None:
    """Seconds to wait from a Retry-After header (delta-seconds or an HTTP date); None if unusable."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    current = time.time() if now is None else now
    return max(0.0, when.timestamp() - current)


_RNG = random.Random()


def _utcnow() -> datetime:
    return datetime.now(UTC)


class SignalForwarder:
    def __init__(
        self,
        settings: Settings,
        session_factory: SessionFactory,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        worker_id: str | None = None,
    ) -> None:
        self.settings = settings
        self._session_factory = session_factory
        self._transport = transport
        self.worker_id = worker_id or f"{socket.gethostname()}:{os.getpid()}"
        # The lease must outlast one POST, or a slow but successful delivery would be re-sent.
        self.lease_s = max(settings.outbox_lease_s, settings.tx_store_timeout_s + 2.0)
        self._client: httpx.AsyncClient | None = None
        self._task: asyncio.Task[None] | None = None
        self._stopping = asyncio.Event()
        self._rng = random.Random()

    @property
    def running(self) -> bool:
        return self._task is not None and not self._task.done()

    async def start(self) -> None:
        self._stopping.clear()
        self._client = httpx.AsyncClient(
            timeout=self.settings.tx_store_timeout_s, transport=self._transport, follow_redirects=False
        )
        self._task = asyncio.create_task(self._run(), name="signal-forwarder")
        log.info("outbox_forwarder_started", worker=self.worker_id, url=self.settings.tx_store_url)

    async def stop(self) -> None:
        self._stopping.set()
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        if self._client is not None:
            await self._client.aclose()
            self._client = None

    async def _run(self) -> None:
        while not self._stopping.is_set():
            try:
                claimed = await self.run_once()
                await self.refresh_gauges()
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # the database may be briefly away; keep the loop alive
                log.warning("outbox_round_failed", error=repr(exc))
                claimed = 0
            if claimed == 0:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._stopping.wait(), self.settings.outbox_poll_interval_s)

    async def run_once(self) -> int:
        """Claim one batch and try to deliver it; returns how many events were claimed."""
        token = uuid.uuid4().hex
        async with self._session_factory() as session:
            events = await OutboxRepository(session).claim_due(
                token=token, limit=self.settings.outbox_batch_size, lease_s=self.lease_s, now=_utcnow()
            )
            snapshot = [(e.id, e.attempts, e.created_at, e.payload) for e in events]
            await session.commit()
        if not snapshot:
            return 0
        outcome = await self.deliver([payload for *_, payload in snapshot])
        now = _utcnow()
        async with self._session_factory() as session:
            repo = OutboxRepository(session)
            if outcome.delivered:
                await repo.mark_delivered([event_id for event_id, *_ in snapshot], now=now)
                for _, _, created_at, _ in snapshot:
                    metrics.DELIVERY_LATENCY.observe(max(0.0, (now - _aware(created_at)).total_seconds()))
            else:
                for event_id, attempts, _, _ in snapshot:
                    await self._settle_failure(repo, event_id, attempts, token, outcome, now)
            await session.commit()
        log.info(
            "outbox_batch",
            worker=self.worker_id,
            events=len(snapshot),
            delivered=outcome.delivered,
            error=outcome.error or None,
        )
        return len(snapshot)

    async def _settle_failure(
        self,
        repo: OutboxRepository,
        event_id: uuid.UUID,
        attempts: int,
        token: str,
        outcome: DeliveryOutcome,
        now: datetime,
    ) -> None:
        throttled = outcome.retry_after_s is not None
        delay = backoff_delay(
            attempts,
            base_s=self.settings.outbox_backoff_base_s,
            max_s=self.settings.outbox_backoff_max_s,
            rng=self._rng,
        )
        if throttled:
            # The receiver said when; we do not come back sooner. Throttling is not the event's
            # fault, so it does not use up an attempt.
            delay = max(delay, float(outcome.retry_after_s or 0.0))
        dead = not throttled and attempts >= self.settings.outbox_max_attempts
        await repo.mark_failed(
            event_id,
            token=token,
            error=outcome.error,
            next_attempt_at=now + timedelta(seconds=delay),
            dead=dead,
            refund_attempt=throttled,
        )
        if dead:
            log.warning("outbox_dead_letter", event_id=str(event_id), attempts=attempts, error=outcome.error)

    async def deliver(self, events: list[dict[str, object]]) -> DeliveryOutcome:
        """POST one batch; any non-2xx answer, transport error or malformed response is a failure."""
        if self._client is None:
            raise RuntimeError("SignalForwarder.start() was not called")
        body = msgspec.json.encode(events)
        headers = {"Content-Type": BATCH_CONTENT_TYPE, **signed_headers(body, self.settings.tx_store_secret)}
        started = time.perf_counter()
        try:
            response = await self._client.post(self.settings.tx_store_url, content=body, headers=headers)
        except httpx.TimeoutException as exc:
            metrics.DELIVERY_ATTEMPTS.labels(outcome="timeout").inc()
            return DeliveryOutcome(delivered=False, error=f"timeout: {type(exc).__name__}")
        except (httpx.HTTPError, httpx.InvalidURL, OSError, ValueError) as exc:
            # Unresolvable host, refused connection, a non-HTTP answer: all retried the same way.
            metrics.DELIVERY_ATTEMPTS.labels(outcome="transport_error").inc()
            return DeliveryOutcome(delivered=False, error=f"{type(exc).__name__}: {exc}"[:500])
        finally:
            metrics.REQUEST_DURATION.observe(time.perf_counter() - started)
        if 200 <= response.status_code < 300:
            metrics.DELIVERY_ATTEMPTS.labels(outcome="delivered").inc()
            return DeliveryOutcome(delivered=True)
        if response.status_code in (429, 503) and "retry-after" in response.headers:
            metrics.DELIVERY_ATTEMPTS.labels(outcome="throttled").inc()
            wait = parse_retry_after(response.headers.get("retry-after"))
            return DeliveryOutcome(
                delivered=False,
                error=f"HTTP {response.status_code}",
                retry_after_s=wait if wait is not None else 0.0,
            )
        metrics.DELIVERY_ATTEMPTS.labels(outcome=f"http_{response.status_code // 100}xx").inc()
        return DeliveryOutcome(delivered=False, error=f"HTTP {response.status_code}: {response.text[:200]}")

    async def refresh_gauges(self) -> None:
        async with self._session_factory() as session:
            counts = await OutboxRepository(session).counts()
        metrics.OUTBOX_DEPTH.set(counts.get("pending", 0))
        metrics.OUTBOX_DEAD_LETTERS.set(counts.get("dead", 0))


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


async def run_standalone(settings: Settings, *, stop: asyncio.Event) -> None:
    """Run a forwarder outside the web service (``python -m txassist.outbox``) until ``stop`` is set."""
    from txassist.db.engine import database_config

    db = database_config(settings)
    forwarder = SignalForwarder(settings, db.get_session)
    await forwarder.start()
    try:
        await stop.wait()
    finally:
        await forwarder.stop()
        await db.get_engine().dispose()


__all__ = ["DeliveryOutcome", "OutboxEvent", "SignalForwarder", "backoff_delay", "parse_retry_after"]
