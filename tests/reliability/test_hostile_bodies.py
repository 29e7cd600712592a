"""Hostile JSON beyond what the schema generator makes: every body route answers a 4xx and stores nothing.

Schemathesis only sends bodies its schema can describe. A decoder has edge cases of its own: nesting
deep enough to exhaust the recursion limit in a small body, numbers outside every machine type, and
escapes that are valid JSON but not valid text. These are generated here, within the body limit, for
every route that reads a body, and the database must be exactly as it was afterwards.
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import AsyncIterator, Callable

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from litestar import Litestar
from litestar.testing import AsyncTestClient

from tests.reliability.helpers import KEYS, add_probes, bearer, fill_path, http_routes
from txassist.app import create_app
from txassist.config import Settings
from txassist.http.limits import required_scopes

MAX_BODY = 64 * 1024
# CI draws this many hostile bodies per run; ``make fuzz`` (benchmarks/fuzz.py) passes its own count.
EXAMPLES = int(os.environ.get("TXASSIST_FUZZ_EXAMPLES", "60")) * 2
HEADERS = {**bearer("all-key"), "Content-Type": "application/json"}
# Fields the routes read, so nesting lands where a typed decoder looks too, not only at the top level.
FIELDS = ("text", "texts", "metadata", "documents", "identity", "features", "steps", "action")


def _nested(depth: int, opener: bytes, closer: bytes, inner: bytes = b"1") -> bytes:
    return opener * depth + inner + closer * depth


def hostile_bodies() -> st.SearchStrategy[bytes]:
    depth = st.integers(min_value=200, max_value=MAX_BODY // 6)
    field = st.sampled_from(FIELDS)
    arrays = depth.map(lambda d: _nested(d, b"[", b"]"))
    objects = depth.map(lambda d: _nested(d, b'{"a":', b"}"))
    in_field = st.tuples(field, st.one_of(arrays, objects)).map(
        lambda pair: b'{"' + pair[0].encode() + b'": ' + pair[1] + b"}"
    )
    numbers = st.sampled_from(
        [b"1e999999", b"-1e999999", b"9" * 4000, b"-" + b"9" * 4000, b"1" + b"0" * 400 + b".5", b"NaN", b"Infinity"]
    )
    numeric = st.tuples(field, numbers).map(lambda pair: b'{"' + pair[0].encode() + b'": ' + pair[1] + b"}")
    # Invalid escapes only: an escaped NUL is valid JSON (test_input_hardening covers what routes do with it).
    escapes = st.sampled_from([b"\\ud800", b"\\udfff", b"\\ud83d", b"\\uZZZZ", b"\\q", b"\\x41"])
    texts = st.tuples(field, escapes).map(lambda pair: b'{"' + pair[0].encode() + b'": "a' + pair[1] + b'b"}')
    return st.one_of(arrays, objects, in_field, numeric, texts)


def _row_counts(database: str) -> dict[str, int]:
    with sqlite3.connect(database) as connection:
        tables = [row[0] for row in connection.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
        return {table: connection.execute(f'SELECT count(*) FROM "{table}"').fetchone()[0] for table in tables}


@pytest.fixture
async def hostile_client(
    make_settings: Callable[..., Settings],
) -> AsyncIterator[tuple[AsyncTestClient[Litestar], Settings]]:
    settings = make_settings(api_keys=KEYS, max_body_bytes=MAX_BODY, rate_limit_per_s=0.0, concurrency_limits={})
    async with AsyncTestClient(app=add_probes(create_app(settings))) as client:
        yield client, settings


async def test_a_small_deeply_nested_body_is_a_400_not_a_500(
    hostile_client: tuple[AsyncTestClient[Litestar], Settings],
) -> None:
    client, _ = hostile_client
    # 10 KB: far inside the body limit, deep enough for the decoder's recursion limit.
    body = b'{"texts": ' + _nested(5000, b"[", b"]", b"") + b"}"
    response = await client.post("/v1/sentiment", content=body, headers=HEADERS)
    assert response.status_code == 400, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert "nest" in response.json()["detail"]


async def test_hostile_bodies_on_every_body_route_are_4xx_and_change_nothing(
    hostile_client: tuple[AsyncTestClient[Litestar], Settings],
) -> None:
    client, app_settings = hostile_client
    routes = [
        (method, fill_path(path))
        for method, path, handler in http_routes(client.app)
        if method in {"POST", "PUT", "PATCH", "DELETE"}
        and required_scopes(handler)
        and handler.parsed_fn_signature.parameters.get("data") is not None
    ]
    assert len(routes) >= 8
    database = str(app_settings.sqlite_file)
    before = _row_counts(database)
    failures: list[str] = []

    @given(body=hostile_bodies())
    @settings(
        max_examples=EXAMPLES, deadline=None, derandomize=True, database=None, suppress_health_check=list(HealthCheck)
    )
    def one_body(body: bytes) -> None:
        bodies.append(body)

    bodies: list[bytes] = []
    one_body()
    for body in bodies:
        for method, url in routes:
            response = await client.request(method, url, content=body, headers=HEADERS)
            if not 400 <= response.status_code < 500:
                failures.append(f"{method} {url} {body[:60]!r}…: {response.status_code} {response.text[:160]}")
            elif not response.headers["content-type"].startswith("application/problem+json"):
                failures.append(f"{method} {url} {body[:60]!r}…: not a problem body")
    assert failures == [], "\n".join(failures[:20])
    assert _row_counts(database) == before
