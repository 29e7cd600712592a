"""The console pages and their assets are served, open, self-contained and locked to this origin."""

from __future__ import annotations

import re
import urllib.parse
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import msgspec
import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient

from tests.conftest import API_KEYS
from txassist.app import create_app
from txassist.config import Settings
from txassist.console.controllers import STATIC_DIR, TEMPLATES_DIR
from txassist.console.samples import SampleConversation, load_samples

EXTERNAL_URL = re.compile(r"""(?:src|href)\s*=\s*["']?(?:https?:)?//""", re.IGNORECASE)


@pytest.fixture(scope="module")
async def client(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[AsyncTestClient[Litestar]]:
    # One real app for the module: the pages touch no database, so SQLite on a temp dir is enough.
    data_dir = tmp_path_factory.mktemp("console") / "data"
    settings = Settings.from_env({}, data_dir=data_dir, api_keys=API_KEYS, log_format="json")
    async with AsyncTestClient(app=create_app(settings)) as test_client:
        yield test_client


@pytest.mark.parametrize("page", ["assist", "signals"])
async def test_page_is_open_and_loads_only_local_assets(client: AsyncTestClient[Litestar], page: str) -> None:
    response = await client.get(f"/console/{page}")

    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert "default-src 'self'" in response.headers["content-security-policy"]
    html = response.text
    assert f'src="/console/static/{page}.js' in html
    assert 'for="key-input"' in html  # the key prompt is labelled
    assert not EXTERNAL_URL.search(html)


async def test_console_root_redirects_to_assist(client: AsyncTestClient[Litestar]) -> None:
    response = await client.get("/console", follow_redirects=False)
    assert response.status_code in {301, 302, 307, 308}
    assert response.headers["location"] == "/console/assist"


@pytest.mark.parametrize("asset", ["console.js", "assist.js", "signals.js", "console.css"])
async def test_static_assets_are_served(client: AsyncTestClient[Litestar], asset: str) -> None:
    response = await client.get(f"/console/static/{asset}")
    assert response.status_code == 200
    assert response.content == (STATIC_DIR / asset).read_bytes()


async def _raw_get(app: Litestar, raw_path: bytes) -> tuple[int, bytes]:
    """One GET straight into the ASGI app with the path exactly as given: HTTP clients (httpx too)
    normalise ``..`` away before sending, and an attacker's raw socket does not."""
    path = urllib.parse.unquote(raw_path.decode("latin-1"))
    scope: dict[str, Any] = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": path,
        "raw_path": raw_path,
        "root_path": "",
        "query_string": b"",
        "headers": [(b"host", b"testserver")],
        "client": ("127.0.0.1", 1),
        "server": ("testserver", 80),
        "state": {},
    }
    status = 0
    body = b""

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        nonlocal status, body
        if message["type"] == "http.response.start":
            status = message["status"]
        elif message["type"] == "http.response.body":
            body += message.get("body", b"")

    await app(scope, receive, send)  # type: ignore[arg-type]
    return status, body


async def test_static_paths_cannot_escape_the_folder(client: AsyncTestClient[Litestar]) -> None:
    app = client.app
    # The same raw request reaches a real asset: the router is exercised, not normalised around.
    status, body = await _raw_get(app, b"/console/static/console.css")
    assert status == 200 and body == (STATIC_DIR / "console.css").read_bytes()
    secret = (STATIC_DIR.parent / "controllers.py").read_bytes()
    for raw in (
        b"/console/static/../controllers.py",
        b"/console/static/%2e%2e/controllers.py",
        b"/console/static/..%2fcontrollers.py",
        b"/console/static/%2e%2e%2f%2e%2e%2fconfig.py",
        b"/console/static/....//controllers.py",
    ):
        status, body = await _raw_get(app, raw)
        assert status in {400, 404}, raw
        assert secret not in body and b"import" not in body, raw


async def test_samples_are_listed(client: AsyncTestClient[Litestar]) -> None:
    response = await client.get("/console/samples")
    assert response.status_code == 200
    samples = msgspec.convert(response.json(), list[SampleConversation])
    assert len(samples) >= 2
    # A sample that switches channel is what demonstrates context carrying over.
    assert any(len({t.channel for t in s.turns}) > 1 for s in samples)


def test_samples_reject_a_bad_file(tmp_path: Path) -> None:
    (tmp_path / "bad.json").write_text('{"id": "x", "title": "t", "customer_id": "c", "turns": []}')
    with pytest.raises(msgspec.ValidationError):
        load_samples.__wrapped__(tmp_path)


def test_no_asset_references_external_origins() -> None:
    for path in [*STATIC_DIR.iterdir(), *TEMPLATES_DIR.iterdir()]:
        text = path.read_text()
        assert not EXTERNAL_URL.search(text), path
        assert "cdn" not in text.lower(), path


async def test_assist_page_shows_possible_matches_with_a_confirm_button(client: AsyncTestClient[Litestar]) -> None:
    html = (await client.get("/console/assist")).text
    assert 'id="possible-matches"' in html
    script = (STATIC_DIR / "assist.js").read_text()
    # The matches come from the context; the button posts to the links route with the other id.
    assert "possible_matches" in script and "renderMatches(context)" in script
    assert "/links`, { customer_id: other }" in script


async def test_assist_page_shows_guidance_steps_and_labels_learned_replies(client: AsyncTestClient[Litestar]) -> None:
    html = (await client.get("/console/assist")).text
    assert 'id="guidance"' in html and 'id="suggestion"' in html
    script = (STATIC_DIR / "assist.js").read_text()
    # Guidance: every step with its status (done, next, todo) from the turn's response.
    assert "renderGuidance(response.guidance)" in script
    assert "guidance.steps.map" in script and "step-${step.status}" in script
    # Every suggestion of the turn is shown, the first in full, each with its source as a badge;
    # a learned reply says it is one.
    assert "const [suggestion, ...others] = response.suggestions" in script
    assert "renderSuggestion(suggestion, { others })" in script
    assert "sourceBadge(suggestion.source)" in script and "sourceBadge(other.source)" in script
    assert 'learned: "Learned reply' in script
    css = (STATIC_DIR / "console.css").read_text()
    assert ".badge.source-learned" in css and ".guidance-steps .step-done" in css
