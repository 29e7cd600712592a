"""ASGI middleware: a request id on every log line and response, and one access-log line.

The access log names the route template (``/v1/customers/{customer_id}/context``) and keyed hashes of
the path ids, never the raw path or query: customer and conversation ids are often emails or phone
numbers. ``scrub_path_ids`` (a log processor) replaces those raw ids in any other line of the request.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import time
import uuid
from collections.abc import Mapping
from contextvars import ContextVar

import structlog
from litestar.enums import ScopeType
from litestar.types import ASGIApp, Message, Receive, Scope, Send
from structlog.typing import EventDict, WrappedLogger

log = structlog.get_logger("txassist.access")
_VALID_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")
_CURRENT_SCOPE: ContextVar[Scope | None] = ContextVar("txassist_request_scope", default=None)
# Log keys whose values never carry a path id.
_SCRUB_SKIP = frozenset({"timestamp", "level", "logger", "request_id", "method", "route", "path_ids", "status"})

SECURITY_HEADERS = [
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"no-referrer"),
    (b"cache-control", b"no-store"),
]


def request_context_middleware(app: ASGIApp) -> ASGIApp:
    async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != ScopeType.HTTP:
            await app(scope, receive, send)
            return
        incoming = _header(scope, b"x-request-id")
        request_id = incoming if incoming and _VALID_ID.match(incoming) else uuid.uuid4().hex
        scope.setdefault("state", {})["request_id"] = request_id
        structlog.contextvars.clear_contextvars()
        structlog.contextvars.bind_contextvars(request_id=request_id)
        token = _CURRENT_SCOPE.set(scope)
        started = time.perf_counter()
        status = 500

        async def send_wrapper(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = list(message.get("headers", []))
                headers.append((b"x-request-id", request_id.encode()))
                present = {name.lower() for name, _ in headers}
                headers.extend(h for h in SECURITY_HEADERS if h[0] not in present)
                message["headers"] = headers
            await send(message)

        try:
            await app(scope, receive, send_wrapper)
        finally:
            path = scope.get("path", "")
            if not path.startswith(("/health", "/metrics")):
                state = scope.get("state", {})
                log.info(
                    "request",
                    method=scope.get("method"),
                    route=scope.get("path_template") or None,  # None: no route matched (a 404)
                    path_ids=hashed_path_ids(scope),
                    status=status,
                    duration_ms=round((time.perf_counter() - started) * 1000, 2),
                    key_id=state.get("key_id"),
                )
            _CURRENT_SCOPE.reset(token)

    return middleware


def path_id_hash(secret: str, value: str) -> str:
    """A keyed hash of one path id: requests for the same id correlate in the logs, the id stays hidden."""
    return hmac.new(
        secret.encode(), b"log-path-id:" + value.encode("utf-8", "surrogatepass"), hashlib.sha256
    ).hexdigest()[:16]


def _secret(scope: Scope) -> str:
    settings = getattr(getattr(scope.get("app"), "state", None), "settings", None)
    return str(getattr(settings, "pseudonym_secret", ""))


def hashed_path_ids(scope: Scope) -> dict[str, str]:
    params: Mapping[str, object] = scope.get("path_params") or {}
    if not params:
        return {}
    secret = _secret(scope)
    return {name: path_id_hash(secret, str(value)) for name, value in params.items()}


def scrub_path_ids(_: WrappedLogger, __: str, event_dict: EventDict) -> EventDict:
    """structlog processor: the current request's raw path ids, wherever a log line repeats them (an
    error detail, a validation message), become ``<name:hash>``."""
    scope = _CURRENT_SCOPE.get()
    params: Mapping[str, object] | None = scope.get("path_params") if scope is not None else None
    if not params or scope is None:
        return event_dict
    raw = [(str(value), name) for name, value in params.items() if len(str(value)) >= 3]
    if not raw:
        return event_dict
    secret = _secret(scope)
    for key, value in list(event_dict.items()):
        if key in _SCRUB_SKIP or not isinstance(value, str):
            continue
        for found, name in raw:
            if found in value:
                value = value.replace(found, f"<{name}:{path_id_hash(secret, found)}>")
        event_dict[key] = value
    return event_dict


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", []):
        if key.lower() == name:
            return value.decode("latin-1")
    return None
