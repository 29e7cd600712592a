"""Per-turn sentiment: a calibrated head on the shared MiniLM embedding, trend and escalation."""

from txassist.sentiment.head import LABELS, Label, SentimentHead

__all__ = ["LABELS", "Label", "SentimentHead"]
