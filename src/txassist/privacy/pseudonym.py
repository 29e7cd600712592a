"""Pseudonymous customer references: stable per customer, not reversible without the secret."""

from __future__ import annotations

import hashlib
import hmac


def customer_ref(customer_id: str, secret: str) -> str:
    # A keyed hash (not a plain one) so nobody holding the TX store can confirm a guessed customer id.
    digest = hmac.new(secret.encode("utf-8"), customer_id.encode("utf-8"), hashlib.sha256)
    return digest.hexdigest()[:32]
