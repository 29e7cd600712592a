"""Overload shedding: per-scope concurrency limits with a bounded wait queue, per-key rate limits, and
a per-address limit on failed authentications (key guessing).

Past capacity a request gets a 429 with ``Retry-After`` at once instead of queueing without bound,
so latency stays flat for the traffic the service does accept. Concurrency is a property of this
process; the per-key rate is too by default, or shared by every replica through Redis
(``TXASSIST_RATE_LIMIT_STORE``), so that N replicas do not give a key N times its budget.
Open routes (health, metrics, schema, console) are never limited so that orchestrators can still
see a busy service.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Protocol

import msgspec
from litestar.enums import ScopeType
from litestar.handlers import BaseRouteHandler
from litestar.types import ASGIApp, Guard, Receive, Scope, Send
from prometheus_client import Counter

from txassist.config import ALL_SCOPES, Settings
from txassist.errors import Overloaded
from txassist.http.auth import check_key
from txassist.http.problems import PROBLEM_MEDIA_TYPE, problem
from txassist.http.shared_limits import RedisTokenBucket

SHED_COUNTER = Counter("txassist_requests_shed_total", "Requests answered 429 by the load shedder", ["reason"])

# A route open to several scopes is counted against the first of these that the key holds, so a
# key's traffic always lands in one pool.
_SCOPE_ORDER = ALL_SCOPES


class ConcurrencyLimiter:
    """At most ``limit`` requests at once; up to ``max_queue`` more wait at most ``max_wait_s``."""

    def __init__(self, limit: int, max_queue: int, max_wait_s: float) -> None:
        self.limit = limit
        self.max_queue = max_queue
        self.max_wait_s = max_wait_s
        self._semaphore = asyncio.Semaphore(limit)
        self.in_flight = 0
        self.waiting = 0

    async def acquire(self) -> bool:
        """True when a slot was taken (the caller must ``release``); False when the request is shed."""
        if self.in_flight < self.limit and self.waiting == 0:
            await self._semaphore.acquire()
            self.in_flight += 1
            return True
        if self.waiting >= self.max_queue:
            return False
        self.waiting += 1
        try:
            async with asyncio.timeout(self.max_wait_s):
                await self._semaphore.acquire()
        except TimeoutError:
            return False
        finally:
            self.waiting -= 1
        self.in_flight += 1
        return True

    def release(self) -> None:
        self.in_flight -= 1
        self._semaphore.release()


@dataclass
class _Bucket:
    tokens: float
    updated: float


@dataclass
class TokenBucketLimiter:
    """A token bucket per key id: ``rate`` requests per second on average, bursts up to ``burst``."""

    rate: float
    burst: float
    clock: Callable[[], float] = time.monotonic
    max_keys: int = 10_000
    _buckets: dict[str, _Bucket] = field(default_factory=dict)

    def take(self, key_id: str) -> float:
        """0.0 when the request may proceed, else the seconds until a token is available."""
        now = self.clock()
        bucket = self._buckets.get(key_id)
        if bucket is None:
            if len(self._buckets) >= self.max_keys:
                self._evict_full(now)
            bucket = self._buckets[key_id] = _Bucket(tokens=self.burst, updated=now)
        bucket.tokens = min(self.burst, bucket.tokens + (now - bucket.updated) * self.rate)
        bucket.updated = now
        if bucket.tokens >= 1.0:
            bucket.tokens -= 1.0
            return 0.0
        return (1.0 - bucket.tokens) / self.rate

    def _evict_full(self, now: float) -> None:
        # Buckets that have refilled carry no state worth keeping; dropping them bounds memory.
        for key_id, bucket in list(self._buckets.items()):
            if bucket.tokens + (now - bucket.updated) * self.rate >= self.burst:
                del self._buckets[key_id]
        if len(self._buckets) >= self.max_keys:
            self._buckets.clear()


@dataclass
class _Failures:
    window_start: float
    count: int


@dataclass
class AuthFailureThrottle:
    """At most ``limit`` failed authentications per client address in a fixed ``window_s``.

    Once an address is over, every request it makes to a guarded route is refused until the window
    ends, the right key included: answering a correct guess differently would tell the guesser it won.
    """

    limit: int
    window_s: float
    clock: Callable[[], float] = time.monotonic
    max_addresses: int = 10_000
    _seen: dict[str, _Failures] = field(default_factory=dict)

    def blocked_for(self, address: str) -> float:
        """Seconds until ``address`` may try again; 0.0 when it may now."""
        entry = self._seen.get(address)
        if entry is None:
            return 0.0
        left = entry.window_start + self.window_s - self.clock()
        if left <= 0:
            del self._seen[address]
            return 0.0
        return left if entry.count >= self.limit else 0.0

    def failed(self, address: str) -> None:
        now = self.clock()
        entry = self._seen.get(address)
        if entry is None or now - entry.window_start >= self.window_s:
            if entry is None and len(self._seen) >= self.max_addresses:
                self._evict(now)
            self._seen[address] = _Failures(window_start=now, count=1)
            return
        entry.count += 1

    def _evict(self, now: float) -> None:
        for address, entry in list(self._seen.items()):
            if now - entry.window_start >= self.window_s:
                del self._seen[address]
        if len(self._seen) >= self.max_addresses:
            # Keep the addresses that are locked out; forget the ones merely counting.
            self._seen = {a: e for a, e in self._seen.items() if e.count >= self.limit}


class RateLimiter(Protocol):
    async def take(self, key_id: str) -> float: ...

    async def close(self) -> None: ...


class LocalRateLimiter:
    """The in-process bucket behind the same interface as the Redis one (the embedded default)."""

    def __init__(self, rate: float, burst: float) -> None:
        self.bucket = TokenBucketLimiter(rate=rate, burst=burst)

    async def take(self, key_id: str) -> float:
        return self.bucket.take(key_id)

    async def close(self) -> None:
        return None


def _rate_limiter(settings: Settings) -> RateLimiter | None:
    if settings.rate_limit_per_s <= 0:
        return None
    burst = max(1.0, settings.rate_limit_burst)
    if settings.rate_limit_store:
        return RedisTokenBucket(settings.rate_limit_store, rate=settings.rate_limit_per_s, burst=burst)
    return LocalRateLimiter(settings.rate_limit_per_s, burst)


class LoadShedder:
    """The limits of one application; one instance is shared by every route's middleware stack."""

    def __init__(self, settings: Settings) -> None:
        self.retry_after_s = max(1, math.ceil(settings.overload_retry_after_s))
        self.pools = {
            scope: ConcurrencyLimiter(
                limit,
                max_queue=settings.concurrency_queue_size,
                max_wait_s=settings.concurrency_max_wait_s,
            )
            for scope, limit in settings.concurrency_limits.items()
            if limit > 0
        }
        self.rate = _rate_limiter(settings)
        self.auth_failures = (
            AuthFailureThrottle(settings.auth_failure_limit, settings.auth_failure_window_s)
            if settings.auth_failure_limit > 0
            else None
        )

    async def close(self) -> None:
        if self.rate is not None:
            await self.rate.close()

    def middleware(self, app: ASGIApp) -> ASGIApp:
        async def limited(scope: Scope, receive: Receive, send: Send) -> None:
            if scope["type"] != ScopeType.HTTP:
                await app(scope, receive, send)
                return
            wanted = _required_scopes(scope)
            if not wanted:
                await app(scope, receive, send)
                return
            address = _client_address(scope)
            throttle = self.auth_failures
            if throttle is not None and (locked := throttle.blocked_for(address)) > 0:
                await _shed(scope, send, "too many failed authentications from this address", math.ceil(locked))
                return
            key = check_key(scope)
            if key.key_id is None:
                # No valid key: the auth guard answers 401; the failure counts against the address.
                if throttle is not None:
                    throttle.failed(address)
                await app(scope, receive, send)
                return
            if self.rate is not None and (wait := await self.rate.take(key.key_id)) > 0:
                await _shed(scope, send, "rate limit exceeded for this API key", max(1, math.ceil(wait)))
                return
            pool = self._pool_for(wanted, key.scopes)
            if pool is None:
                await app(scope, receive, send)
                return
            if not await pool.acquire():
                await _shed(scope, send, "service at capacity, retry later", self.retry_after_s)
                return
            try:
                await app(scope, receive, send)
            finally:
                pool.release()

        return limited

    def _pool_for(self, wanted: frozenset[str], granted: frozenset[str]) -> ConcurrencyLimiter | None:
        for scope in _SCOPE_ORDER:
            if scope in wanted and scope in granted:
                return self.pools.get(scope)
        return None  # the key lacks the scope: the guard answers 403


async def _shed(scope: Scope, send: Send, detail: str, retry_after_s: int) -> None:
    # Answered here rather than raised: an exception would be rendered outside the request-context
    # middleware and lose the request id and security headers.
    reason = "rate" if "rate" in detail else "auth" if "authentication" in detail else "capacity"
    SHED_COUNTER.labels(reason=reason).inc()
    response = problem(429, detail, error_type=Overloaded.error_type)
    body = msgspec.json.encode({**response.content, "instance": scope.get("path", ""), **_request_id(scope)})
    headers = [
        (b"content-type", PROBLEM_MEDIA_TYPE.encode()),
        (b"content-length", str(len(body)).encode()),
        (b"retry-after", str(retry_after_s).encode()),
    ]
    await send({"type": "http.response.start", "status": 429, "headers": headers})
    await send({"type": "http.response.body", "body": body, "more_body": False})


def _request_id(scope: Scope) -> dict[str, str]:
    request_id = scope.get("state", {}).get("request_id")
    return {"request_id": request_id} if request_id else {}


def _required_scopes(scope: Scope) -> frozenset[str]:
    handler: BaseRouteHandler | None = scope.get("route_handler")
    if handler is None:
        return frozenset()
    return required_scopes(handler)


def required_scopes(handler: BaseRouteHandler) -> frozenset[str]:
    """The scopes a route handler's ``requires(...)`` guards admit; empty for an open route."""
    wanted: set[str] = set()
    for guard in _guards(handler):
        wanted |= getattr(guard, "required_scopes", frozenset())
    return frozenset(wanted)


def _guards(handler: BaseRouteHandler) -> Iterable[Guard]:
    # The raw guards of every layer (app, router, controller, handler): resolve_guards() wraps
    # them and loses the scopes that requires() attaches.
    layers = getattr(handler, "ownership_layers", [])
    return [guard for layer in layers for guard in (getattr(layer, "guards", None) or [])]


def _client_address(scope: Scope) -> str:
    # The peer as the server sees it; behind a proxy, run uvicorn with --forwarded-allow-ips so that
    # this is the client the proxy names rather than the proxy itself.
    client = scope.get("client")
    return str(client[0]) if client else "unknown"
