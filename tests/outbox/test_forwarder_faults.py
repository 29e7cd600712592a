"""Fault injection against a real HTTP receiver on loopback, on SQLite and PostgreSQL."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime

from advanced_alchemy.extensions.litestar import SQLAlchemyAsyncConfig
from sqlalchemy import select

from tests.outbox.conftest import add_events, statuses, wait_until
from tests.outbox.receiver import GarbageServer, TxStoreReceiver, free_port
from txassist.config import Settings
from txassist.db.models import OutboxEvent
from txassist.outbox.forwarder import SignalForwarder
from txassist.outbox.repository import OutboxRepository


async def _all_delivered(db: SQLAlchemyAsyncConfig, ids: list[str]) -> bool:
    found = await statuses(db)
    return all(found.get(i) == "delivered" for i in ids)


async def test_store_down_for_a_while_then_up_delivers_every_event_once(
    fast_settings: Callable[..., Settings], db: SQLAlchemyAsyncConfig
) -> None:
    port = free_port()
    ids = await add_events(db, 45)
    forwarder = SignalForwarder(fast_settings(tx_store_url=f"http://127.0.0.1:{port}/events"), db.get_session)
    await forwarder.start()
    receiver = TxStoreReceiver(port=port)
    try:
        await wait_until(lambda: _attempted(db), timeout=10)
        assert set((await statuses(db)).values()) == {"pending"}  # nothing lost, nothing marked
        receiver.start()
        await wait_until(lambda: _all_delivered(db, ids), timeout=30)
    finally:
        await forwarder.stop()
        receiver.stop()
    assert sorted(receiver.accepted) == sorted(ids)
    assert receiver.rejected_signatures == 0


async def _attempted(db: SQLAlchemyAsyncConfig) -> bool:
    async with db.get_session() as session:
        rows = (await session.scalars(select(OutboxEvent))).all()
    return all(r.attempts >= 2 and r.last_error for r in rows)


async def test_500s_then_recovery(
    fast_settings: Callable[..., Settings], db: SQLAlchemyAsyncConfig, receiver: TxStoreReceiver
) -> None:
    receiver.script = ["500", "500", "500"]
    ids = await add_events(db, 10)
    forwarder = SignalForwarder(fast_settings(tx_store_url=receiver.url), db.get_session)
    await forwarder.start()
    try:
        await wait_until(lambda: _all_delivered(db, ids), timeout=30)
    finally:
        await forwarder.stop()
    assert sorted(receiver.accepted) == sorted(ids)
    assert receiver.requests >= 4
    assert set(receiver.seen) == set(ids)


async def test_429_retry_after_is_honoured_and_not_counted_as_an_attempt(
    fast_settings: Callable[..., Settings], db: SQLAlchemyAsyncConfig, receiver: TxStoreReceiver
) -> None:
    receiver.script = ["429"]
    receiver.retry_after = "2"
    ids = await add_events(db, 5)
    forwarder = SignalForwarder(fast_settings(tx_store_url=receiver.url), db.get_session)
    await forwarder.start()
    try:
        await wait_until(lambda: _all_delivered(db, ids), timeout=30)
    finally:
        await forwarder.stop()
    assert receiver.request_times[1] - receiver.request_times[0] >= 1.9  # backoff alone would be ~0.05 s
    async with db.get_session() as session:
        attempts = {r.attempts for r in (await session.scalars(select(OutboxEvent))).all()}
    assert attempts == {1}


async def test_receiver_hanging_past_the_timeout_is_retried(
    fast_settings: Callable[..., Settings], db: SQLAlchemyAsyncConfig, receiver: TxStoreReceiver
) -> None:
    receiver.script = ["hang"]
    receiver.hang_s = 4.0
    ids = await add_events(db, 5)
    forwarder = SignalForwarder(fast_settings(tx_store_url=receiver.url, tx_store_timeout_s=0.5), db.get_session)
    await forwarder.start()
    try:
        await wait_until(lambda: _all_delivered(db, ids), timeout=30)
    finally:
        await forwarder.stop()
    assert sorted(receiver.accepted) == sorted(ids)
    assert receiver.requests >= 2


async def test_garbage_answers_and_unresolvable_hosts_keep_events_pending(
    fast_settings: Callable[..., Settings], db: SQLAlchemyAsyncConfig, receiver: TxStoreReceiver
) -> None:
    ids = await add_events(db, 5)
    garbage = GarbageServer()
    for url in (garbage.url, "http://tx-store.invalid/events"):
        forwarder = SignalForwarder(fast_settings(tx_store_url=url), db.get_session)
        await forwarder.start()
        try:
            await wait_until(lambda: _attempted(db), timeout=15)
        finally:
            await forwarder.stop()
        assert set((await statuses(db)).values()) == {"pending"}
    garbage.stop()
    assert garbage.connections >= 1
    async with db.get_session() as session:
        errors = {r.last_error for r in (await session.scalars(select(OutboxEvent))).all()}
    assert all(e for e in errors)
    forwarder = SignalForwarder(fast_settings(tx_store_url=receiver.url), db.get_session)
    await forwarder.start()
    try:
        await wait_until(lambda: _all_delivered(db, ids), timeout=30)
    finally:
        await forwarder.stop()
    assert sorted(receiver.accepted) == sorted(ids)


async def test_dead_letters_after_max_attempts_then_replay_delivers_same_ids(
    fast_settings: Callable[..., Settings], db: SQLAlchemyAsyncConfig, receiver: TxStoreReceiver
) -> None:
    receiver.default = "500"
    ids = await add_events(db, 4)
    settings = fast_settings(tx_store_url=receiver.url, outbox_max_attempts=3)
    forwarder = SignalForwarder(settings, db.get_session)
    await forwarder.start()
    try:
        await wait_until(lambda: _all_status(db, "dead"), timeout=30)
        assert set(Counter(receiver.seen).values()) == {3}  # each event tried 3 times, not a 4th
        receiver.default = "ok"
        async with db.get_session() as session:
            dead = await OutboxRepository(session).list_events(status="dead", limit=10)
            assert {str(e.id) for e in dead} == set(ids)
            assert await OutboxRepository(session).replay_dead(ids=None, now=datetime.now(UTC)) == 4
            await session.commit()
        await wait_until(lambda: _all_delivered(db, ids), timeout=30)
    finally:
        await forwarder.stop()
    assert sorted(receiver.accepted) == sorted(ids)


async def _all_status(db: SQLAlchemyAsyncConfig, status: str) -> bool:
    return set((await statuses(db)).values()) == {status}
