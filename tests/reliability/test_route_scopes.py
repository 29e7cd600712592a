"""A table test over every route of the app: each protected route is 401 without a key, 403 with a
key lacking its scope, and let through with a key holding it. Open routes are exactly the
health, info, metrics, schema and console ones. New routes are covered as they are registered."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient

from tests.reliability.helpers import KEYS, OPEN_PREFIXES, SCOPE_KEYS, add_probes, bearer, fill_path, http_routes
from txassist.app import create_app
from txassist.config import Settings
from txassist.http.limits import required_scopes

SKIPPED_METHODS = {"HEAD", "OPTIONS"}


@pytest.fixture
async def scoped_client(make_settings: Callable[..., Settings]) -> AsyncIterator[AsyncTestClient[Litestar]]:
    # Every route is tried with every wrong key from one address: the guess throttle would end that.
    settings = make_settings(api_keys=KEYS, rate_limit_per_s=0.0, auth_failure_limit=0)
    async with AsyncTestClient(app=add_probes(create_app(settings))) as client:
        yield client


async def test_every_route_is_open_by_design_or_guarded_by_scope(
    scoped_client: AsyncTestClient[Litestar],
) -> None:
    routes = [r for r in http_routes(scoped_client.app) if r[0] not in SKIPPED_METHODS]
    open_paths = {path for _, path, handler in routes if not required_scopes(handler)}
    unexpected = sorted(p for p in open_paths if not p.startswith(OPEN_PREFIXES))
    assert unexpected == [], f"routes without a scope guard: {unexpected}"
    assert {"/health/live", "/health/ready", "/metrics", "/schema/openapi.json"} <= open_paths
    assert any(path.startswith("/v1/") for _, path, h in routes if required_scopes(h))


async def test_every_protected_route_checks_its_scope(scoped_client: AsyncTestClient[Litestar]) -> None:
    failures: list[str] = []
    checked = 0
    for method, path, handler in http_routes(scoped_client.app):
        wanted = required_scopes(handler)
        if method in SKIPPED_METHODS or not wanted:
            continue
        url = fill_path(path)
        body: dict[str, Any] | None = {} if method in {"POST", "PUT", "PATCH"} else None

        async def call(headers: dict[str, str], url: str = url, method: str = method, body: object = body) -> int:
            response = await scoped_client.request(method, url, headers=headers, json=body)
            return response.status_code

        expectations: list[tuple[str, dict[str, str], Callable[[int], bool]]] = [
            ("no key", {}, lambda s: s == 401),
            ("malformed header", {"Authorization": "Basic abc"}, lambda s: s == 401),
            ("unknown key", bearer("not-a-key"), lambda s: s == 401),
            ("key without scopes", bearer("no-scope-key"), lambda s: s == 403),
        ]
        for scope, key in SCOPE_KEYS.items():
            if scope in wanted:
                expectations.append((f"{scope} key", bearer(key), lambda s: s not in (401, 403) and s < 500))
            else:
                expectations.append((f"{scope} key", bearer(key), lambda s: s == 403))
        for label, headers, ok in expectations:
            status = await call(headers)
            checked += 1
            if not ok(status):
                failures.append(f"{method} {path} with {label}: {status}")
    assert checked >= 8
    assert failures == [], "\n".join(failures)
