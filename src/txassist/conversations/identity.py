"""Identity keys: how an email, phone number or handle seen on one channel finds the same customer.

Only keyed hashes are stored: matching needs equality, not the address itself, so the database never
holds a customer's email or phone number in clear.
"""

from __future__ import annotations

import hashlib
import hmac
from typing import Literal

import phonenumbers

from txassist.privacy.pseudonym import customer_ref

IdentityKind = Literal["email", "phone", "handle", "customer_id"]


def normalize(kind: IdentityKind, value: str) -> str:
    """The form two spellings of one identity share (case, spaces, phone punctuation)."""
    value = value.strip()
    if kind == "email":
        return value.lower()
    if kind == "phone":
        return _normalize_phone(value)
    if kind == "handle":
        return value.lstrip("@").lower()
    return value


def _normalize_phone(value: str) -> str:
    try:
        parsed = phonenumbers.parse(value, None)
    except phonenumbers.NumberParseException:
        # No country code given: the digits alone still match the same caller on another channel.
        return "".join(ch for ch in value if ch.isdigit())
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


def identity_key(secret: str, kind: IdentityKind, value: str) -> str:
    """A keyed hash of the normalised identity; what ``customer_identities.value`` holds."""
    message = f"{kind}:{normalize(kind, value)}".encode()
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def customer_pseudonym(secret: str, customer_id: str) -> str:
    """The stable reference that leaves the service (signals, TX store) instead of the customer id."""
    return customer_ref(customer_id, secret)
