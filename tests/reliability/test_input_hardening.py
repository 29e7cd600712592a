"""Hostile input over every route that takes a body or a query: a clear 4xx, never a 500.

The table runs over ``app.routes``, so routes added later are covered without editing it; the
probe route guarantees the body cases run against a real msgspec-validated handler in any case.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable

import httpx
import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient

from tests.reliability.helpers import KEYS, add_probes, bearer, fill_path, http_routes, serve
from txassist.app import create_app
from txassist.config import Settings
from txassist.http.limits import required_scopes

MAX_BODY = 64 * 1024
JSON = {"Content-Type": "application/json"}

# (label, body, content type): each one is malformed or out of range for any route.
BAD_BODIES: list[tuple[str, bytes, str]] = [
    ("invalid utf-8", b'{"text": "caf\xe9 \xff\xfe"}', "application/json"),
    ("lone surrogate escape", b'{"text": "\\ud800"}', "application/json"),
    ("raw control characters", b'{"text": "a\x00b\x1b[31m\x07"}', "application/json"),
    ("deeply nested arrays", b"[" * 100_000 + b"]" * 100_000, "application/json"),
    ("deeply nested objects", b'{"a":' * 50_000 + b"1" + b"}" * 50_000, "application/json"),
    ("huge float", b'{"text": "a", "k": 1e999999, "limit": 1e999999}', "application/json"),
    ("huge integer", b'{"text": "a", "k": ' + b"9" * 5000 + b"}", "application/json"),
    ("NaN", b'{"text": "a", "k": NaN}', "application/json"),
    ("truncated", b'{"text": "a', "application/json"),
    ("empty", b"", "application/json"),
    ("null", b"null", "application/json"),
    ("a bare string", b'"text"', "application/json"),
    ("wrong types", b'{"text": 1, "k": "many", "texts": {"a": 1}}', "application/json"),
    ("not json", b"text=hello", "text/plain"),
    ("over the body limit", b'{"text": "' + b"a" * (MAX_BODY + 10) + b'"}', "application/json"),
]
# Escaped control characters are valid JSON: a route may accept them, but must not fail on them.
ODD_BUT_VALID: list[tuple[str, bytes]] = [
    ("escaped control characters", b'{"text": "a\\u0000b\\u001b[31m\\u0007", "texts": ["\\u0000"]}'),
    ("right-to-left and zero-width", '{"text": "\u202eabc\u200b\ufeff", "texts": ["\u202e"]}'.encode()),
    ("emoji and astral plane", '{"text": "\U0001f600\U00010348", "texts": ["\U0001f600"]}'.encode()),
]
BAD_QUERY = (
    "?k=1e999&limit=99999999999999999999999&page_size=-1&offset=-5&cursor=%FF%FE%00"
    "&since=not-a-date&until=9999-99-99&mode=bogus&q=%00&type=%FF"
)
# Valid ISO 8601 at the edges of the calendar (found by the fuzzer: year 206 with a +13:57 offset
# once overflowed the signals summary's previous-period arithmetic).
EDGE_DATES = "?since=0206-06-11T21:05:19%2B13:57&until=0001-01-01T00:00:00-23:59&days=366"


@pytest.fixture
async def hard_client(make_settings: Callable[..., Settings]) -> AsyncIterator[AsyncTestClient[Litestar]]:
    settings = make_settings(api_keys=KEYS, max_body_bytes=MAX_BODY, rate_limit_per_s=0.0)
    async with AsyncTestClient(app=add_probes(create_app(settings))) as client:
        yield client


def _body_routes(app: Litestar) -> list[tuple[str, str]]:
    return [(method, path) for method, path, _ in _body_handlers(app)]


def _body_handlers(app: Litestar) -> list[tuple[str, str, bool]]:
    """(method, path, body optional) for every guarded route that reads a body."""
    routes = []
    for method, path, handler in http_routes(app):
        data = handler.parsed_fn_signature.parameters.get("data")
        if method in {"POST", "PUT", "PATCH"} and required_scopes(handler) and data is not None:
            routes.append((method, path, data.has_default or data.is_optional))
    return routes


async def test_bad_bodies_get_a_clear_4xx(hard_client: AsyncTestClient[Litestar]) -> None:
    routes = _body_handlers(hard_client.app)
    assert ("POST", "/v1/_probe/echo", False) in routes
    failures: list[str] = []
    for method, path, optional in routes:
        for label, body, content_type in BAD_BODIES:
            response = await hard_client.request(
                method, fill_path(path), content=body, headers={**bearer("all-key"), "Content-Type": content_type}
            )
            expected = {413} if label == "over the body limit" else {400, 404, 409, 413, 415, 422}
            if optional and label in {"empty", "null"} and response.status_code in {200, 201}:
                continue  # no body where the body is optional: the route's default action
            if response.status_code not in expected:
                failures.append(f"{method} {path} {label}: {response.status_code} {response.text[:200]}")
            elif not response.headers["content-type"].startswith("application/problem+json"):
                failures.append(f"{method} {path} {label}: not a problem body")
    assert failures == [], "\n".join(failures)


async def test_odd_but_valid_text_never_fails(hard_client: AsyncTestClient[Litestar]) -> None:
    failures: list[str] = []
    for method, path in _body_routes(hard_client.app):
        for label, body in ODD_BUT_VALID:
            response = await hard_client.request(
                method, fill_path(path), content=body, headers={**bearer("all-key"), **JSON}
            )
            if response.status_code >= 500:
                failures.append(f"{method} {path} {label}: {response.status_code} {response.text[:200]}")
    assert failures == [], "\n".join(failures)


async def test_bad_query_and_path_parameters_never_fail(hard_client: AsyncTestClient[Litestar]) -> None:
    failures: list[str] = []
    checked = 0
    for method, path, handler in http_routes(hard_client.app):
        if method not in {"GET", "DELETE"} or not required_scopes(handler):
            continue
        urls = (
            fill_path(path) + BAD_QUERY,
            fill_path(path) + EDGE_DATES,
            fill_path(path).replace("probe-id", "%FF%00" + "x" * 300),
        )
        for url in urls:
            response = await hard_client.request(method, url, headers=bearer("all-key"))
            checked += 1
            if response.status_code >= 500:
                failures.append(f"{method} {url[:80]}: {response.status_code} {response.text[:200]}")
    assert checked >= 2
    assert failures == [], "\n".join(failures)
    edge = await hard_client.get("/v1/signals/summary" + EDGE_DATES, headers=bearer("all-key"))
    assert edge.status_code == 422, edge.text


async def test_oversized_body_is_413_problem_json_even_when_streamed(make_settings: Callable[..., Settings]) -> None:
    async def chunks() -> AsyncIterator[bytes]:
        yield b'{"text": "'
        for _ in range(20):
            yield b"a" * 8192
        yield b'"}'

    # A real server: chunked transfer with no Content-Length, so only the running count can stop it
    # (the in-process test transport cannot stream a body).
    settings = make_settings(api_keys=KEYS, max_body_bytes=MAX_BODY, rate_limit_per_s=0.0)
    async with serve(add_probes(create_app(settings))) as base_url, httpx.AsyncClient(base_url=base_url) as http:
        streamed = await http.post("/v1/_probe/echo", content=chunks(), headers={**bearer("agent-key"), **JSON})
    assert streamed.status_code == 413
    assert streamed.json()["error_type"] == "payload_too_large"
    assert streamed.headers["content-type"].startswith("application/problem+json")
