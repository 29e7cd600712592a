from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from advanced_alchemy.extensions.litestar import SQLAlchemyAsyncConfig
from sqlalchemy import select

from tests.outbox.receiver import SECRET, TxStoreReceiver
from txassist.config import Settings
from txassist.db import migrate
from txassist.db.engine import database_config
from txassist.db.models import OutboxEvent
from txassist.outbox.cloudevents import SIGNAL_CREATED, signal_event

FAST = {
    "tx_store_secret": SECRET,
    "outbox_poll_interval_s": 0.05,
    "outbox_backoff_base_s": 0.05,
    "outbox_backoff_max_s": 0.3,
    "outbox_batch_size": 20,
    "tx_store_timeout_s": 2.0,
    "outbox_lease_s": 3.0,
}


@pytest.fixture
def fast_settings(make_settings: Callable[..., Settings], database_url: str) -> Callable[..., Settings]:
    migrate.upgrade(database_url)

    def factory(**overrides: Any) -> Settings:
        return make_settings(database_url=database_url, **{**FAST, **overrides})

    return factory


@pytest.fixture
async def db(fast_settings: Callable[..., Settings]) -> AsyncIterator[SQLAlchemyAsyncConfig]:
    config = database_config(fast_settings())
    yield config
    await config.get_engine().dispose()


@pytest.fixture
def receiver() -> Iterator[TxStoreReceiver]:
    server = TxStoreReceiver()
    server.start()
    yield server
    server.stop()


async def add_events(db: SQLAlchemyAsyncConfig, count: int) -> list[str]:
    ids: list[str] = []
    now = datetime.now(UTC)
    async with db.get_session() as session:
        for n in range(count):
            event_id = uuid.uuid4()
            ids.append(str(event_id))
            payload = signal_event(
                event_id=event_id, event_type=SIGNAL_CREATED, subject=f"signals/{n}", time=now, data={"n": n}
            )
            session.add(OutboxEvent(id=event_id, event_type=SIGNAL_CREATED, payload=payload, next_attempt_at=now))
        await session.commit()
    return ids


async def statuses(db: SQLAlchemyAsyncConfig) -> dict[str, str]:
    async with db.get_session() as session:
        rows = (await session.execute(select(OutboxEvent.id, OutboxEvent.status))).all()
    return {str(event_id): status for event_id, status in rows}


async def wait_until(predicate: Callable[[], Any], *, timeout: float, interval: float = 0.1) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        result = predicate()
        if asyncio.iscoroutine(result):
            result = await result
        if result:
            return
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(interval)
