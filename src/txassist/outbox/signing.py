"""HMAC-SHA256 request signing for the TX store, and the check a receiver runs.

The sender signs ``f"{timestamp}.{body}"`` (timestamp: integer Unix seconds, body: the exact bytes
sent) with the shared secret ``TXASSIST_TX_STORE_SECRET`` and sends two headers:

    X-TxAssist-Timestamp: 1767225600
    X-TxAssist-Signature: sha256=<lowercase hex of the HMAC>

A receiver recomputes the HMAC over the raw body it received, compares in constant time and
rejects timestamps further than a tolerance from its clock (replay protection). ``verify`` below
depends on the standard library only, so receivers can copy it as it is.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from collections.abc import Mapping

SIGNATURE_HEADER = "X-TxAssist-Signature"
TIMESTAMP_HEADER = "X-TxAssist-Timestamp"
DEFAULT_TOLERANCE_S = 300


def signature(body: bytes, secret: str, timestamp: int) -> str:
    mac = hmac.new(secret.encode("utf-8"), str(timestamp).encode("ascii") + b"." + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


def signed_headers(body: bytes, secret: str, *, now: float | None = None) -> dict[str, str]:
    timestamp = int(time.time() if now is None else now)
    return {TIMESTAMP_HEADER: str(timestamp), SIGNATURE_HEADER: signature(body, secret, timestamp)}


def verify(
    body: bytes,
    headers: Mapping[str, str],
    secret: str,
    *,
    tolerance_s: int = DEFAULT_TOLERANCE_S,
    now: float | None = None,
) -> bool:
    """True when ``headers`` carry a fresh, valid signature of ``body`` under ``secret``."""
    lowered = {k.lower(): v for k, v in headers.items()}
    presented = lowered.get(SIGNATURE_HEADER.lower(), "")
    raw_timestamp = lowered.get(TIMESTAMP_HEADER.lower(), "")
    if not presented or not raw_timestamp.isdigit():
        return False
    timestamp = int(raw_timestamp)
    current = time.time() if now is None else now
    if abs(current - timestamp) > tolerance_s:
        return False
    expected = signature(body, secret, timestamp)
    return hmac.compare_digest(expected.encode("ascii"), presented.encode("ascii", "replace"))
