"""CloudEvents 1.0 structured-mode JSON for signals, built by the spec.

Why not the ``cloudevents`` SDK: its ``to_structured`` returns encoded bytes plus headers for one
event and has no batch mode, while we store each event's JSON in the outbox row once and send it
byte-for-byte the same on every redelivery, batched as ``application/cloudevents-batch+json``. The
spec's required attributes are four strings, so a plain mapping is the smallest correct thing.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from txassist.jsontypes import JsonObject

SPEC_VERSION = "1.0"
SOURCE = "urn:txassist:signals"
SIGNAL_CREATED = "io.txassist.signal.created.v1"
SIGNAL_UPDATED = "io.txassist.signal.updated.v1"
BATCH_CONTENT_TYPE = "application/cloudevents-batch+json"
REQUIRED_ATTRIBUTES = ("specversion", "id", "source", "type")


def signal_event(*, event_id: uuid.UUID, event_type: str, subject: str, time: datetime, data: JsonObject) -> JsonObject:
    """One structured-mode CloudEvent; ``id`` is the outbox row id, so redelivery keeps it."""
    return {
        "specversion": SPEC_VERSION,
        "id": str(event_id),
        "source": SOURCE,
        "type": event_type,
        "subject": subject,
        "time": time.isoformat().replace("+00:00", "Z"),
        "datacontenttype": "application/json",
        "data": data,
    }


def is_valid_event(event: object) -> bool:
    """True when ``event`` carries every required CloudEvents 1.0 context attribute as a string."""
    if not isinstance(event, dict):
        return False
    return event.get("specversion") == SPEC_VERSION and all(
        isinstance(event.get(name), str) and event[name] for name in REQUIRED_ATTRIBUTES
    )
