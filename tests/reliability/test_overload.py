"""Past capacity the service sheds load with 429 + Retry-After instead of queueing without bound."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import pytest
from litestar.testing import AsyncTestClient

from tests.reliability.helpers import KEYS, add_probes, bearer, serve
from txassist.app import create_app
from txassist.config import Settings
from txassist.http.limits import ConcurrencyLimiter, TokenBucketLimiter


async def test_concurrency_limiter_queues_then_sheds() -> None:
    limiter = ConcurrencyLimiter(limit=1, max_queue=1, max_wait_s=0.2)
    assert await limiter.acquire()
    waiter = asyncio.create_task(limiter.acquire())
    await asyncio.sleep(0.01)
    assert limiter.waiting == 1
    assert not await limiter.acquire(), "a full queue sheds at once"
    limiter.release()
    assert await waiter, "a queued request gets the freed slot"
    assert not await limiter.acquire(), "waiting longer than max_wait_s is shed"
    limiter.release()
    assert limiter.in_flight == 0


def test_token_bucket_refills_at_its_rate() -> None:
    now = [0.0]
    bucket = TokenBucketLimiter(rate=2.0, burst=3.0, clock=lambda: now[0])
    assert [bucket.take("k") for _ in range(3)] == [0.0, 0.0, 0.0]
    assert bucket.take("k") == pytest.approx(0.5)
    assert bucket.take("other") == 0.0, "buckets are per key"
    now[0] += 0.5
    assert bucket.take("k") == 0.0


@pytest.fixture
async def limited_server(make_settings: Callable[..., Settings]) -> AsyncIterator[httpx.AsyncClient]:
    settings = make_settings(
        api_keys=KEYS,
        concurrency_limits={"agent": 2, "platform": 2},
        concurrency_queue_size=2,
        concurrency_max_wait_s=0.05,
        overload_retry_after_s=1,
        rate_limit_per_s=5.0,
        rate_limit_burst=1000.0,
    )
    async with serve(add_probes(create_app(settings))) as url, httpx.AsyncClient(base_url=url) as client:
        yield client


async def test_burst_past_capacity_gets_429_with_retry_after(limited_server: httpx.AsyncClient) -> None:
    limited_client = limited_server
    responses = await asyncio.gather(
        *(limited_client.post("/v1/_probe/slow", headers=bearer("agent-key")) for _ in range(12))
    )
    statuses = sorted(r.status_code for r in responses)
    assert statuses.count(200) >= 2, statuses
    shed = [r for r in responses if r.status_code == 429]
    assert len(shed) >= 6, statuses
    assert set(statuses) <= {200, 429}
    for response in shed:
        assert int(response.headers["retry-after"]) >= 1
        assert response.headers["content-type"].startswith("application/problem+json")
        assert response.json()["error_type"] == "overloaded"
        assert response.headers["x-content-type-options"] == "nosniff"
    # The agent pool being full does not starve the platform pool, nor the open health routes.
    other, health = await asyncio.gather(
        limited_client.post("/v1/_probe/slow", headers=bearer("platform-key")),
        limited_client.get("/health/live"),
    )
    assert other.status_code == 200
    assert health.status_code == 200
    # Once the burst drains the service accepts again.
    again = await limited_client.post("/v1/_probe/slow", headers=bearer("agent-key"))
    assert again.status_code == 200


async def test_per_key_rate_limit(make_settings: Callable[..., Settings]) -> None:
    settings = make_settings(api_keys=KEYS, rate_limit_per_s=0.5, rate_limit_burst=3.0)
    async with AsyncTestClient(app=add_probes(create_app(settings))) as client:
        body: dict[str, Any] = {"text": "hello"}
        statuses = [
            (await client.post("/v1/_probe/echo", json=body, headers=bearer("agent-key"))).status_code for _ in range(5)
        ]
        assert statuses[:3] == [201, 201, 201]
        assert statuses[3:] == [429, 429]
        limited = await client.post("/v1/_probe/echo", json=body, headers=bearer("agent-key"))
        assert int(limited.headers["retry-after"]) >= 1
        # Another key has its own bucket; a request without a key is answered by auth, not the limiter.
        assert (await client.post("/v1/_probe/echo", json=body, headers=bearer("all-key"))).status_code == 201
        assert (await client.post("/v1/_probe/echo", json=body)).status_code == 401
