"""Helpers shared by the reliability tests: probe routes and filling in path parameters."""

from __future__ import annotations

import asyncio
import re
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated, Any

import msgspec
import uvicorn
from litestar import Litestar, post
from litestar.routes import HTTPRoute

from txassist.http.auth import requires

# Every scope has a key of its own, plus one that holds none (a 403 for every protected route).
KEYS: dict[str, list[str]] = {
    "agent-key": ["agent"],
    "platform-key": ["platform"],
    "product-key": ["product"],
    "admin-key": ["admin"],
    "all-key": ["agent", "platform", "product", "admin"],
    "no-scope-key": [],
}
SCOPE_KEYS = {"agent": "agent-key", "platform": "platform-key", "product": "product-key", "admin": "admin-key"}

# Routes anyone may call: health and info for orchestrators, metrics, the OpenAPI schema and its
# renderers, the console (its API calls carry keys). Anything else must have a scope guard.
OPEN_PREFIXES = ("/health/", "/info", "/metrics", "/schema", "/swagger", "/console", "/static", "/favicon")


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


class ProbeIn(msgspec.Struct, forbid_unknown_fields=True):
    text: Annotated[str, msgspec.Meta(min_length=1, max_length=2000)]
    k: Annotated[int, msgspec.Meta(ge=1, le=50)] = 5
    tags: Annotated[list[Annotated[str, msgspec.Meta(max_length=64)]], msgspec.Meta(max_length=16)] = []


@post("/v1/_probe/echo", guards=[requires("agent")], include_in_schema=False)
async def probe_echo(data: ProbeIn) -> dict[str, Any]:
    """A body-taking route present in every test app, so input tests run even before others land."""
    return {"chars": len(data.text), "k": data.k}


@post("/v1/_probe/slow", guards=[requires("agent", "platform")], include_in_schema=False, status_code=200)
async def probe_slow() -> dict[str, str]:
    """Holds a concurrency slot for a while, to fill the limiter deterministically."""
    await asyncio.sleep(0.3)
    return {"status": "done"}


def add_probes(app: Litestar) -> Litestar:
    app.register(probe_echo)
    app.register(probe_slow)
    return app


_PARAM = re.compile(r"\{([^}:]+)(?::([^}]+))?\}")


def fill_path(path: str) -> str:
    """A concrete URL for a route template; ids that exist nowhere (the handler answers 404 or 2xx)."""

    def value(match: re.Match[str]) -> str:
        kind = match.group(2) or "str"
        if kind == "int":
            return "1"
        if kind == "uuid":
            return str(uuid.UUID(int=1))
        if kind == "path":
            return "x"
        return "probe-id"

    return _PARAM.sub(value, path)


def http_routes(app: Litestar) -> list[tuple[str, str, Any]]:
    """(method, path template, handler) for every HTTP route of the app."""
    found: list[tuple[str, str, Any]] = []
    for route in app.routes:
        if not isinstance(route, HTTPRoute):
            continue
        for handler in route.route_handlers:
            found.extend((method, route.path, handler) for method in sorted(handler.http_methods))
    return found


@asynccontextmanager
async def serve(app: Litestar) -> AsyncIterator[str]:
    """Run ``app`` under uvicorn on a free loopback port in this event loop; yields the base URL."""
    config = uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning", lifespan="on")
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    try:
        for _ in range(1200):
            if server.started or task.done():
                break
            await asyncio.sleep(0.05)
        if not server.started:
            raise RuntimeError("uvicorn did not start")
        port = server.servers[0].sockets[0].getsockname()[1]
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await task
