"""The turn's answer, built from what its parts produced (each part's output to its response shape)."""

from __future__ import annotations

from collections.abc import Mapping

import msgspec

from txassist.assist.ports import Hit, SentimentLabel, SuggestionLike, Trend
from txassist.assist.schemas import SentimentOut, SuggestionOut, TurnResponse
from txassist.drafting.schemas import Citation
from txassist.knowledge.schemas import SearchHitOut


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


def sentiment_out(label: SentimentLabel | None, trend: Trend | None) -> SentimentOut | None:
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


def hit_out(hit: Hit) -> SearchHitOut:
    return SearchHitOut(
        document_id=hit.document_id,
        chunk_id=hit.chunk_id,
        title=hit.title,
        heading_path=list(hit.heading_path),
        snippet=hit.snippet,
        url=hit.url,
        score=round(float(hit.score), 6),
    )


def suggestion_out(made: SuggestionLike) -> SuggestionOut:
    return SuggestionOut(
        id=str(made.id),
        text=made.text,
        citations=[Citation(document_id=c.document_id, url=c.url, title=c.title) for c in made.citations],
        backend=made.backend,
        prompt_version=made.prompt_version,
        source=made.source,
        act=made.act,
    )
