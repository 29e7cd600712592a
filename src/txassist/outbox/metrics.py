"""Prometheus metrics for the outbox, on the default registry that ``/metrics`` serves."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

OUTBOX_DEPTH = Gauge("txassist_outbox_depth", "Outbox events waiting for delivery (pending).")
OUTBOX_DEAD_LETTERS = Gauge("txassist_outbox_dead_letters", "Outbox events that exhausted their attempts.")
DELIVERY_ATTEMPTS = Counter(
    "txassist_outbox_delivery_attempts_total", "Batch delivery attempts to the TX store.", ["outcome"]
)
DELIVERY_LATENCY = Histogram(
    "txassist_outbox_delivery_latency_seconds",
    "Time from an event entering the outbox to the TX store accepting it.",
    buckets=(0.1, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600, 21600),
)
REQUEST_DURATION = Histogram("txassist_outbox_request_duration_seconds", "Duration of one batch POST to the TX store.")
