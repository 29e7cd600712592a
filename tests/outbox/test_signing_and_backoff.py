from __future__ import annotations

import random
import uuid
from datetime import UTC, datetime

from txassist.outbox.cloudevents import SIGNAL_CREATED, is_valid_event, signal_event
from txassist.outbox.forwarder import backoff_delay, parse_retry_after
from txassist.outbox.signing import SIGNATURE_HEADER, TIMESTAMP_HEADER, signed_headers, verify


def test_signature_verifies_and_rejects_tampering_wrong_secret_and_stale_timestamps() -> None:
    body = b'[{"id":"1"}]'
    headers = signed_headers(body, "s3cret", now=1_000_000)
    assert headers[SIGNATURE_HEADER].startswith("sha256=")
    assert verify(body, headers, "s3cret", now=1_000_010)
    assert not verify(body + b" ", headers, "s3cret", now=1_000_010)
    assert not verify(body, headers, "other", now=1_000_010)
    assert not verify(body, headers, "s3cret", now=1_000_000 + 301)
    assert not verify(body, {TIMESTAMP_HEADER: "x", SIGNATURE_HEADER: headers[SIGNATURE_HEADER]}, "s3cret")
    assert verify(body, {k.lower(): v for k, v in headers.items()}, "s3cret", now=1_000_000)


def test_backoff_grows_exponentially_with_jitter_and_is_capped() -> None:
    rng = random.Random(7)
    delays = [backoff_delay(n, base_s=1.0, max_s=60.0, rng=rng) for n in range(1, 12)]
    for attempt, delay in enumerate(delays, start=1):
        ceiling = min(60.0, 2.0 ** (attempt - 1))
        assert ceiling / 2 <= delay <= ceiling
    assert len({round(d, 6) for d in delays}) == len(delays)  # jittered, not lock-step


def test_retry_after_seconds_and_http_date() -> None:
    assert parse_retry_after("7") == 7.0
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:10 GMT", now=1445412480) == 10.0
    assert parse_retry_after("soon") is None
    assert parse_retry_after(None) is None


def test_cloudevent_has_required_attributes() -> None:
    event_id = uuid.uuid4()
    event = signal_event(
        event_id=event_id, event_type=SIGNAL_CREATED, subject="signals/x", time=datetime.now(UTC), data={}
    )
    assert is_valid_event(event) and event["id"] == str(event_id) and event["time"].endswith("Z")
    assert not is_valid_event({"specversion": "1.0", "id": "x"})
