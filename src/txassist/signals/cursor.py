"""Opaque, signed keyset cursors: ``(created_at, id)`` of the last item, HMAC'd so only we mint them."""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import uuid
from datetime import datetime

from txassist.errors import TxAssistError


class InvalidCursor(TxAssistError):
    status_code = 400
    error_type = "invalid_cursor"


def _mac(payload: bytes, secret: str) -> str:
    return hmac.new(secret.encode("utf-8"), b"signals-cursor:" + payload, hashlib.sha256).hexdigest()[:32]


def encode_cursor(created_at: datetime, row_id: uuid.UUID, secret: str) -> str:
    payload = f"{created_at.isoformat()}|{row_id}".encode()
    return base64.urlsafe_b64encode(payload).decode("ascii").rstrip("=") + "." + _mac(payload, secret)


def decode_cursor(cursor: str, secret: str) -> tuple[datetime, uuid.UUID]:
    encoded, _, mac = cursor.partition(".")
    try:
        payload = base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4))
    except (binascii.Error, ValueError) as exc:
        raise InvalidCursor("the cursor is malformed; use next_cursor from a previous page") from exc
    if not mac or not hmac.compare_digest(_mac(payload, secret), mac):
        raise InvalidCursor("the cursor was not issued by this service; use next_cursor from a previous page")
    try:
        created_raw, id_raw = payload.decode("utf-8").split("|", 1)
        return datetime.fromisoformat(created_raw), uuid.UUID(id_raw)
    except (UnicodeDecodeError, ValueError) as exc:
        raise InvalidCursor("the cursor is malformed; use next_cursor from a previous page") from exc
