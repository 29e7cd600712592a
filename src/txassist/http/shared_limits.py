"""Per-key rate limits shared by every replica: the token bucket of ``limits.TokenBucketLimiter``, in Redis.

In-process buckets give each of N replicas its own budget, so a key gets N times its limit behind a
load balancer. Here one Lua script refills and takes from the bucket atomically on the Redis server,
on the server's clock (replicas' clocks may disagree). Redis being unreachable must not take the
service down with it: the limiter then lets requests through, logs it and counts it.
"""

from __future__ import annotations

import structlog
from prometheus_client import Counter
from redis.asyncio import Redis
from redis.exceptions import RedisError

log = structlog.get_logger("txassist.http.limits")
STORE_ERRORS = Counter("txassist_rate_limit_store_errors_total", "Rate-limit decisions made without Redis")

# Returns the seconds to wait as a string (Lua numbers lose their fraction on the way back).
_TAKE = """
local now_parts = redis.call('TIME')
local now = tonumber(now_parts[1]) + tonumber(now_parts[2]) / 1000000
local rate = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local state = redis.call('HMGET', KEYS[1], 'tokens', 'updated')
local tokens = tonumber(state[1]) or burst
local updated = tonumber(state[2]) or now
tokens = math.min(burst, tokens + math.max(0, now - updated) * rate)
local wait = 0
if tokens >= 1 then tokens = tokens - 1 else wait = (1 - tokens) / rate end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'updated', tostring(now))
redis.call('PEXPIRE', KEYS[1], math.ceil(burst / rate * 1000) + 1000)
return tostring(wait)
"""


class RedisTokenBucket:
    """``rate`` requests per second per key id on average, bursts up to ``burst``, across replicas."""

    def __init__(self, url: str, *, rate: float, burst: float, prefix: str = "txassist:rate:") -> None:
        self.rate = rate
        self.burst = burst
        self.prefix = prefix
        # Short timeouts: a slow Redis must cost a request milliseconds, not seconds.
        self._redis: Redis = Redis.from_url(url, socket_timeout=0.05, socket_connect_timeout=0.2)
        self._take = self._redis.register_script(_TAKE)

    async def take(self, key_id: str) -> float:
        """0.0 when the request may proceed, else the seconds until a token is available."""
        try:
            waited = await self._take(keys=[self.prefix + key_id], args=[self.rate, self.burst])
        except (RedisError, OSError) as exc:
            STORE_ERRORS.inc()
            log.warning("rate_limit_store_unavailable", error=type(exc).__name__)
            return 0.0
        return float(waited)

    async def close(self) -> None:
        await self._redis.aclose()
