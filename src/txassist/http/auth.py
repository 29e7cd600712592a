"""Bearer API keys with scopes. Keys are compared in constant time and never logged."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable
from typing import Any

from litestar.connection import ASGIConnection
from litestar.exceptions import NotAuthorizedException, PermissionDeniedException
from litestar.handlers.base import BaseRouteHandler

from txassist.config import Scope, Settings


class ApiKeyRing:
    """Resolves a presented key to its scopes without leaking timing about which key matched."""

    def __init__(self, keys: dict[str, list[Scope]]) -> None:
        self._entries = [(_digest(key), frozenset(scopes), _key_id(key)) for key, scopes in keys.items()]

    def scopes_for(self, presented: str) -> tuple[str, frozenset[str]] | None:
        digest = _digest(presented)
        found: tuple[str, frozenset[str]] | None = None
        for entry_digest, scopes, key_id in self._entries:
            # Check every entry so the time taken does not depend on which key matched.
            if hmac.compare_digest(entry_digest, digest):
                found = (key_id, scopes)
        return found


def _digest(key: str) -> bytes:
    return hashlib.sha256(key.encode("utf-8", "surrogatepass")).digest()


def _key_id(key: str) -> str:
    """A short, non-reversible id for logs and rate limiting."""
    return hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()[:12]


def bearer_key(connection: ASGIConnection[Any, Any, Any, Any]) -> str | None:
    header = connection.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()


def requires(*scopes: Scope) -> Callable[[ASGIConnection[Any, Any, Any, Any], BaseRouteHandler], None]:
    """A guard that admits a key holding any one of ``scopes``."""
    wanted = frozenset(scopes)

    def guard(connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
        ring: ApiKeyRing = connection.app.state.key_ring
        key = bearer_key(connection)
        if key is None:
            raise NotAuthorizedException(
                "missing bearer API key", headers={"WWW-Authenticate": 'Bearer realm="txassist"'}
            )
        resolved = ring.scopes_for(key)
        if resolved is None:
            raise NotAuthorizedException("invalid API key", headers={"WWW-Authenticate": 'Bearer realm="txassist"'})
        key_id, granted = resolved
        connection.scope.setdefault("state", {})["key_id"] = key_id
        if not granted & wanted:
            raise PermissionDeniedException(f"this key lacks the scope: {' or '.join(sorted(wanted))}")

    guard.__name__ = f"requires_{'_or_'.join(sorted(wanted))}"
    guard.required_scopes = wanted  # type: ignore[attr-defined]
    return guard


def key_ring_from(settings: Settings) -> ApiKeyRing:
    return ApiKeyRing(settings.api_keys)
