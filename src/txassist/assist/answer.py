"""The turn's answer, built from what its parts produced (each part's output to its response shape)."""

from __future__ import annotations

from collections.abc import Mapping

import msgspec

from txassist.assist.schemas import SentimentOut, TurnResponse
from txassist.sentiment.schemas import SentimentResult
from txassist.sentiment.trend import SentimentTrend


def response_body(response: TurnResponse) -> dict[str, object]:
    """The answer as stored with the turn: a replay returns exactly this."""
    body: dict[str, object] = msgspec.to_builtins(response)
    return body


def plain_scores(scores: Mapping[str, float]) -> dict[str, float]:
    return {str(k): round(float(v), 6) for k, v in scores.items()}


def polarity(scores: Mapping[str, float] | None) -> float:
    """Positive minus negative: the signals' sentiment course and the trend without history."""
    if not scores:
        return 0.0
    return float(scores.get("positive", 0.0)) - float(scores.get("negative", 0.0))


def sentiment_out(label: SentimentResult | None, trend: SentimentTrend | None) -> SentimentOut | None:
    if label is None:
        return None
    return SentimentOut(
        label=label.label,
        score=round(float(label.score), 6),
        scores=plain_scores(label.scores),
        trend=round(float(trend.value), 6) if trend else polarity(label.scores),
        direction=trend.direction if trend else "stable",
        escalation=bool(trend.escalation) if trend else False,
        reasons=list(trend.reasons) if trend else [],
        language=label.language,
        reliable=label.reliable,
    )
