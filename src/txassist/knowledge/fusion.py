"""Reciprocal rank fusion: combines rankings whose scores are not comparable (cosine vs BM25)."""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from typing import TypeVar

K = TypeVar("K", bound=Hashable)

# 60 is the constant of Cormack et al. (2009); it damps the weight of the very first ranks.
RRF_K = 60


def reciprocal_rank_fusion(rankings: Sequence[Sequence[K]], *, k: int = RRF_K) -> list[tuple[K, float]]:
    """Items of all rankings ordered by sum(1 / (k + rank)), scores normalised so 1.0 = first everywhere."""
    if not rankings:
        return []
    scores: dict[K, float] = {}
    for ranking in rankings:
        for rank, item in enumerate(ranking, start=1):
            scores[item] = scores.get(item, 0.0) + 1.0 / (k + rank)
    best_possible = len(rankings) / (k + 1)
    fused = sorted(scores.items(), key=lambda kv: kv[1], reverse=True)
    return [(item, score / best_possible) for item, score in fused]


def weighted_rrf(rankings: Sequence[Sequence[K]], weights: Sequence[float], *, k: int = RRF_K) -> list[tuple[K, float]]:
    """RRF with a weight per ranking; scores normalised so 1.0 = first everywhere."""
    scores: dict[K, float] = {}
    for ranking, weight in zip(rankings, weights, strict=True):
        for rank, item in enumerate(ranking, start=1):
            scores[item] = scores.get(item, 0.0) + weight / (k + rank)
    best_possible = sum(weights) / (k + 1) or 1.0
    fused = sorted(scores.items(), key=lambda kv: kv[1], reverse=True)
    return [(item, score / best_possible) for item, score in fused]
