"""Failed authentication is throttled per client address: after the limit, 429 with Retry-After for
that address (even with the right key), while a correct key from another address is unaffected."""

from __future__ import annotations

from collections.abc import Callable

import httpx

from tests.conftest import auth
from txassist.app import create_app
from txassist.config import Settings
from txassist.http.limits import AuthFailureThrottle

URL = "/v1/signals"


def _client(app: object, address: str) -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=app, client=(address, 40000))  # type: ignore[arg-type]
    return httpx.AsyncClient(transport=transport, base_url="http://testserver")


async def test_key_guessing_is_throttled_per_address(make_settings: Callable[..., Settings]) -> None:
    app = create_app(make_settings(auth_failure_limit=5, auth_failure_window_s=60.0))
    # The lifespan runs on this test's event loop, like the requests: AsyncTestClient would run it in a
    # portal thread, and the database engine it opens there must not be awaited from this loop.
    async with app.lifespan(), _client(app, "203.0.113.7") as guesser, _client(app, "198.51.100.2") as other:
        statuses = [
            (await guesser.get(URL, headers={"Authorization": f"Bearer guess-{n}"})).status_code for n in range(5)
        ]
        assert statuses == [401] * 5
        blocked = await guesser.get(URL, headers={"Authorization": "Bearer guess-6"})
        assert blocked.status_code == 429
        assert 1 <= int(blocked.headers["retry-after"]) <= 60
        assert blocked.headers["content-type"].startswith("application/problem+json")
        # The right key from the locked-out address is refused too: a guess that hits must not show.
        assert (await guesser.get(URL, headers=auth("product-key"))).status_code == 429
        assert (await guesser.get(URL)).status_code == 429
        # Another address with the right key is unaffected; open routes stay open for the guesser.
        assert (await other.get(URL, headers=auth("product-key"))).status_code == 200
        assert (await guesser.get("/health/live")).status_code == 200


def test_the_lockout_ends_with_its_window() -> None:
    now = [0.0]
    throttle = AuthFailureThrottle(limit=3, window_s=10.0, clock=lambda: now[0])
    for _ in range(3):
        assert throttle.blocked_for("a") == 0.0
        throttle.failed("a")
    assert throttle.blocked_for("a") == 10.0 and throttle.blocked_for("b") == 0.0
    now[0] = 9.5
    assert throttle.blocked_for("a") == 0.5
    now[0] = 10.0
    assert throttle.blocked_for("a") == 0.0
    throttle.failed("a")  # a new window starts counting from one
    assert throttle.blocked_for("a") == 0.0


def test_memory_is_bounded_and_lockouts_survive_eviction() -> None:
    now = [0.0]
    throttle = AuthFailureThrottle(limit=2, window_s=60.0, clock=lambda: now[0], max_addresses=10)
    throttle.failed("locked")
    throttle.failed("locked")
    for n in range(50):
        throttle.failed(f"addr-{n}")
    assert len(throttle._seen) <= 10
    assert throttle.blocked_for("locked") > 0
