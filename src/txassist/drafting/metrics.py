"""Prometheus metrics for drafts, summaries and agent feedback (served at ``/metrics``)."""

from __future__ import annotations

from prometheus_client import Counter, Histogram

DRAFTS = Counter("txassist_drafts_total", "Suggested replies produced", ["backend", "prompt_version", "fallback"])
DRAFT_LATENCY = Histogram(
    "txassist_draft_latency_seconds",
    "Time to produce a suggested reply",
    ["backend"],
    buckets=(0.001, 0.005, 0.02, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60),
)
SUMMARY_LATENCY = Histogram(
    "txassist_summary_latency_seconds",
    "Time to produce a summary",
    ["backend", "kind"],
    buckets=(0.001, 0.005, 0.02, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60),
)
FEEDBACK = Counter(
    "txassist_suggestion_feedback_total",
    "Agent feedback on suggestions",
    ["backend", "prompt_version", "action"],
)
EDIT_DISTANCE = Histogram(
    "txassist_suggestion_edit_distance",
    "Levenshtein distance between a suggestion and the text the agent sent",
    ["backend", "prompt_version"],
    buckets=(0, 5, 10, 25, 50, 100, 200, 400, 800),
)
