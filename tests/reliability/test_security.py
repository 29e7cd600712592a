"""Keys never logged, no secret in an error body, CORS off unless configured, security headers."""

from __future__ import annotations

import hmac
import json
import sys
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest
import structlog
from litestar import Litestar
from litestar.testing import AsyncTestClient

from tests.reliability.helpers import add_probes, bearer
from txassist.app import create_app
from txassist.config import Settings
from txassist.http.auth import ApiKeyRing
from txassist.services import Services

LIVE_KEY = "sk-live-7f3a9c2e-SECRET-KEY-do-not-log"
WRONG_KEY = "sk-live-0000-WRONG-KEY-do-not-log"
SECRETS = {
    "openai_api_key": "sk-openai-SECRET-1234567890",
    "tx_store_secret": "tx-store-SECRET-abcdef",
    "pseudonym_secret": "pseudonym-SECRET-xyz",
}
SECURITY_HEADERS = {
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
    "referrer-policy": "no-referrer",
    "cache-control": "no-store",
}


@pytest.fixture
async def secret_client(make_settings: Callable[..., Settings]) -> AsyncIterator[AsyncTestClient[Litestar]]:
    settings = make_settings(
        api_keys={LIVE_KEY: ["agent", "platform", "product", "admin"], "agent-only": ["agent"]},
        log_level="debug",
        max_body_bytes=4096,
        **SECRETS,
    )
    try:
        async with AsyncTestClient(app=add_probes(create_app(settings))) as client:
            yield client
    finally:
        # The test points the logger at capsys's stream, which closes after the test.
        structlog.reset_defaults()


async def _error_responses(client: AsyncTestClient[Litestar]) -> list[tuple[str, Any]]:
    calls = [
        ("401 missing", client.post("/v1/_probe/echo", json={"text": "a"})),
        ("401 wrong", client.post("/v1/_probe/echo", json={"text": "a"}, headers=bearer(WRONG_KEY))),
        ("403", client.delete("/v1/customers/x", headers=bearer("agent-only"))),
        ("404", client.get("/v1/no-such-route", headers=bearer(LIVE_KEY))),
        ("405", client.put("/health/live", headers=bearer(LIVE_KEY))),
        ("422", client.post("/v1/_probe/echo", json={"text": ""}, headers=bearer(LIVE_KEY))),
        ("400", client.post("/v1/_probe/echo", content=b"{nope", headers=bearer(LIVE_KEY))),
        ("413", client.post("/v1/_probe/echo", content=b"x" * 10_000, headers=bearer(LIVE_KEY))),
    ]
    return [(label, await call) for label, call in calls]


async def test_keys_and_secrets_stay_out_of_logs_and_error_bodies(
    secret_client: AsyncTestClient[Litestar], capsys: pytest.CaptureFixture[str]
) -> None:
    # The logger bound sys.stderr when the app was built (fixture setup); capsys opens a new stream
    # for the test's call phase, so point the logger at it (processors, redaction included, unchanged).
    structlog.configure(logger_factory=structlog.PrintLoggerFactory(sys.stderr))
    ok = await secret_client.post("/v1/_probe/echo", json={"text": "hello"}, headers=bearer(LIVE_KEY))
    assert ok.status_code == 201
    responses = await _error_responses(secret_client)
    statuses = {label: r.status_code for label, r in responses}
    assert statuses == {
        "401 missing": 401,
        "401 wrong": 401,
        "403": 403,
        "404": 404,
        "405": 405,
        "422": 422,
        "400": 400,
        "413": 413,
    }
    for label, response in responses:
        assert response.headers["content-type"].startswith("application/problem+json"), label
        body = response.text
        for secret in [LIVE_KEY, WRONG_KEY, *SECRETS.values()]:
            assert secret not in body, (label, secret)
        for name, value in SECURITY_HEADERS.items():
            assert response.headers.get(name) == value, (label, name)
        assert response.headers.get("x-request-id")

    # An unexpected failure whose message carries a secret: a bare 500, the secret only in nobody's view.
    services: Services = secret_client.app.state.services

    def explode() -> dict[str, dict[str, str]]:
        raise RuntimeError(f"boom {SECRETS['openai_api_key']}")

    services.readiness.report = explode  # type: ignore[method-assign]
    crashed = await secret_client.get("/health/ready")
    assert crashed.status_code == 500
    assert crashed.json()["detail"] == "internal error"
    assert SECRETS["openai_api_key"] not in crashed.text

    logs = capsys.readouterr()
    captured = logs.out + logs.err
    entries = []
    for line in captured.splitlines():
        try:
            entries.append(json.loads(line))
        except ValueError:
            continue
    access = [entry for entry in entries if isinstance(entry, dict) and entry.get("event") == "request"]
    assert access, "the access log was captured"
    assert any(entry.get("key_id") for entry in access), "requests are attributed to a key by its id"
    assert LIVE_KEY not in captured
    assert WRONG_KEY not in captured
    assert "key_id" in captured, "requests are attributed to a key by its non-reversible id"


async def test_cors_is_off_unless_configured(make_settings: Callable[..., Settings]) -> None:
    preflight = {
        "Origin": "https://evil.example",
        "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "authorization",
    }
    async with AsyncTestClient(app=create_app(make_settings())) as client:
        response = await client.options("/health/live", headers=preflight)
        assert "access-control-allow-origin" not in response.headers
        response = await client.get("/health/live", headers={"Origin": "https://evil.example"})
        assert "access-control-allow-origin" not in response.headers

    settings = make_settings(cors_origins=["https://console.example"])
    async with AsyncTestClient(app=create_app(settings)) as client:
        allowed = await client.get("/health/live", headers={"Origin": "https://console.example"})
        assert allowed.headers.get("access-control-allow-origin") == "https://console.example"
        denied = await client.get("/health/live", headers={"Origin": "https://evil.example"})
        assert denied.headers.get("access-control-allow-origin") != "https://evil.example"


def test_key_lookup_compares_every_key_in_constant_time(monkeypatch: pytest.MonkeyPatch) -> None:
    ring = ApiKeyRing({f"key-{n}": ["agent"] for n in range(5)})
    calls: list[int] = []
    real = hmac.compare_digest

    def counting(a: bytes, b: bytes) -> bool:
        calls.append(1)
        return real(a, b)

    monkeypatch.setattr(hmac, "compare_digest", counting)
    for presented in ["key-0", "key-4", "nope", "key-0" + "x" * 1000]:
        calls.clear()
        ring.scopes_for(presented)
        # The same work whichever key (or none) matches, and a fixed-length digest compared.
        assert len(calls) == 5, presented
    assert ring.scopes_for("key-3") is not None
    assert ring.scopes_for("key-3 ") is None
