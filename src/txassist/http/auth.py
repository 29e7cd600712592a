"""Bearer API keys with scopes. Keys are compared in constant time and never logged."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable

import msgspec
from litestar.exceptions import NotAuthorizedException, PermissionDeniedException
from litestar.handlers.base import BaseRouteHandler
from litestar.types import Scope as ASGIScope

from txassist.config import Scope, Settings
from txassist.http.requests import AnyConnection


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


class KeyCheck(msgspec.Struct, frozen=True):
    """The request's API key, resolved once: by the load shedder, which needs it first, or the guard."""

    presented: bool
    key_id: str | None = None
    scopes: frozenset[str] = frozenset()


def check_key(scope: ASGIScope) -> KeyCheck:
    """The request's key check, computed on first use and kept on the scope for everyone after."""
    state = scope.setdefault("state", {})
    found: KeyCheck | None = state.get("key_check")
    if found is None:
        found = state["key_check"] = _check(scope)
    return found


def _check(scope: ASGIScope) -> KeyCheck:
    token = None
    for name, value in scope.get("headers", []):
        if name.lower() == b"authorization":
            auth_scheme, _, presented = value.decode("latin-1").partition(" ")
            if auth_scheme.lower() == "bearer" and presented.strip():
                token = presented.strip()
            break
    if token is None:
        return KeyCheck(presented=False)
    ring: ApiKeyRing = scope["app"].state.key_ring
    resolved = ring.scopes_for(token)
    if resolved is None:
        return KeyCheck(presented=True)
    return KeyCheck(presented=True, key_id=resolved[0], scopes=resolved[1])


def requires(*scopes: Scope) -> Callable[[AnyConnection, BaseRouteHandler], None]:
    """A guard that admits a key holding any one of ``scopes``."""
    wanted = frozenset(scopes)

    def guard(connection: AnyConnection, _: BaseRouteHandler) -> None:
        key = check_key(connection.scope)
        if not key.presented:
            raise NotAuthorizedException(
                "missing bearer API key", headers={"WWW-Authenticate": 'Bearer realm="txassist"'}
            )
        if key.key_id is None:
            raise NotAuthorizedException("invalid API key", headers={"WWW-Authenticate": 'Bearer realm="txassist"'})
        connection.scope["state"]["key_id"] = key.key_id
        if not key.scopes & wanted:
            raise PermissionDeniedException(f"this key lacks the scope: {' or '.join(sorted(wanted))}")

    guard.__name__ = f"requires_{'_or_'.join(sorted(wanted))}"
    guard.required_scopes = wanted  # type: ignore[attr-defined]
    return guard


def key_ring_from(settings: Settings) -> ApiKeyRing:
    return ApiKeyRing(settings.api_keys)
