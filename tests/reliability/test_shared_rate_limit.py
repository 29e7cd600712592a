"""Per-key rate limits kept in the machine's real Redis: replicas share one budget per key."""

from __future__ import annotations

import uuid
from collections.abc import Callable

import pytest
from litestar.testing import AsyncTestClient
from redis.asyncio import Redis
from structlog.testing import capture_logs

from tests.reliability.helpers import add_probes, bearer
from txassist.app import create_app
from txassist.config import Settings
from txassist.http.shared_limits import RedisTokenBucket

REDIS_URL = "redis://127.0.0.1:6379/0"


@pytest.fixture
async def prefix() -> str:
    # A namespace per test: the server is shared with whatever else runs on this machine.
    return f"txassist-test:{uuid.uuid4().hex}:"


async def test_two_replicas_share_one_budget_per_key(prefix: str) -> None:
    replicas = [RedisTokenBucket(REDIS_URL, rate=1.0, burst=4.0, prefix=prefix) for _ in range(2)]
    try:
        # Four tokens in all, taken alternately through both replicas; the fifth waits about a second.
        waits = [await replicas[i % 2].take("key-a") for i in range(5)]
        assert waits[:4] == [0.0, 0.0, 0.0, 0.0]
        assert 0.5 < waits[4] <= 1.0
        # Another key has a budget of its own.
        assert await replicas[1].take("key-b") == 0.0
    finally:
        for replica in replicas:
            await replica.close()
    probe = Redis.from_url(REDIS_URL)
    try:
        assert await probe.pttl(prefix + "key-a") > 0, "idle buckets expire instead of piling up"
        await probe.delete(prefix + "key-a", prefix + "key-b")
    finally:
        await probe.aclose()


async def test_an_unreachable_redis_lets_requests_through() -> None:
    # Port 9 (discard) refuses at once: the limiter must not take the service down with Redis.
    bucket = RedisTokenBucket("redis://127.0.0.1:9/0", rate=1.0, burst=1.0)
    try:
        with capture_logs() as logs:
            assert [await bucket.take("key") for _ in range(3)] == [0.0, 0.0, 0.0]
    finally:
        await bucket.close()
    assert [entry["event"] for entry in logs] == ["rate_limit_store_unavailable"] * 3


async def test_two_app_replicas_answer_429_once_the_shared_budget_is_spent(
    make_settings: Callable[..., Settings], prefix: str
) -> None:
    # Two apps in one process stand for two replicas behind a load balancer; the key's budget is 3.
    # A key of its own per run: its bucket lives in Redis, beyond this test.
    key = f"key-{uuid.uuid4().hex}"
    settings = make_settings(
        api_keys={key: ["agent"]},
        rate_limit_per_s=0.5,
        rate_limit_burst=3.0,
        rate_limit_store=REDIS_URL,
        concurrency_limits={},
    )
    body = {"text": "hello"}
    async with (
        AsyncTestClient(app=add_probes(create_app(settings))) as one,
        AsyncTestClient(app=add_probes(create_app(settings))) as two,
    ):
        statuses = [
            (await client.post("/v1/_probe/echo", json=body, headers=bearer(key))).status_code
            for client in (one, two, one, two)
        ]
    assert statuses[:3] == [201, 201, 201]
    assert statuses[3] == 429
