"""Sentiment for texts: the calibrated head on MiniLM vectors, or a configured HF classifier.

With the default head a caller that already has the turn's embedding passes it in, so retrieval
and sentiment share one forward pass; the head itself is a numpy matmul run inline.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import anyio
import anyio.to_thread
import numpy as np
import numpy.typing as npt
import structlog

from txassist.config import Settings
from txassist.embedding import EmbeddingBatcher
from txassist.errors import InvalidInput, Unavailable
from txassist.sentiment.head import HEAD_ARCHITECTURE, LABELS, SentimentHead, default_head_path
from txassist.sentiment.hf_classifier import HFSequenceClassifier
from txassist.sentiment.schemas import SentimentResult

__all__ = ["SentimentResult", "SentimentService"]

log = structlog.get_logger("txassist.sentiment")


def is_head_dir(path: Path) -> bool:
    config = path / "config.json"
    if not config.is_file():
        return False
    try:
        return bool(json.loads(config.read_text(encoding="utf-8")).get("architecture") == HEAD_ARCHITECTURE)
    except (json.JSONDecodeError, AttributeError):
        return False


def results_from_probs(probs: npt.NDArray[np.float32]) -> list[SentimentResult]:
    results = []
    for row in probs:
        best = int(np.argmax(row))
        results.append(
            SentimentResult(
                label=LABELS[best],
                score=round(float(row[best]), 6),
                scores={label: round(float(p), 6) for label, p in zip(LABELS, row, strict=True)},
            )
        )
    return results


class SentimentService:
    def __init__(self, settings: Settings, embeddings: EmbeddingBatcher) -> None:
        self.settings = settings
        self.embeddings = embeddings
        self.path = Path(settings.sentiment_model) if settings.sentiment_model else default_head_path()
        self._head: SentimentHead | None = None
        self._hf: HFSequenceClassifier | None = None
        # The HF model runs one batch at a time: torch already uses every core for it.
        self._limiter = anyio.CapacityLimiter(1)

    def load(self) -> None:
        """Blocking: reads the weights (call from a worker thread)."""
        if is_head_dir(self.path):
            self._head = SentimentHead.load(self.path)
        else:
            self._hf = HFSequenceClassifier(self.path, device=self.settings.device)
        log.info("sentiment_model_loaded", path=str(self.path), uses_embedding=self.uses_embedding)

    async def start(self) -> None:
        await anyio.to_thread.run_sync(self.load)

    @property
    def loaded(self) -> bool:
        return self._head is not None or self._hf is not None

    @property
    def uses_embedding(self) -> bool:
        """True when results come from the MiniLM vectors (callers should pass theirs in)."""
        return self._head is not None or (self._hf is None and is_head_dir(self.path))

    @property
    def model_name(self) -> str:
        kind = "minilm-head" if self.uses_embedding else "hf"
        return f"{kind}:{self.path.name}"

    def check_texts(self, texts: list[str]) -> None:
        limit = self.settings.max_text_chars
        for i, text in enumerate(texts):
            if not text.strip():
                raise InvalidInput(f"texts[{i}] is empty")
            if len(text) > limit:
                raise InvalidInput(f"texts[{i}] has {len(text)} characters; the limit is {limit}")

    def classify_vectors(self, vectors: npt.NDArray[Any]) -> list[SentimentResult]:
        """Synchronous and sub-millisecond for a turn: the head on vectors already computed."""
        if self._head is None:
            raise Unavailable("the sentiment head is not loaded")
        return results_from_probs(self._head.predict_proba(vectors))

    async def classify(self, texts: list[str], vectors: npt.NDArray[Any] | None = None) -> list[SentimentResult]:
        """One result per text, in order. ``vectors`` (normalised MiniLM, one row per text) skip encoding."""
        if not texts:
            return []
        self.check_texts(texts)
        if self._head is not None:
            if vectors is None:
                vectors = await self.embeddings.encode(texts)
            elif vectors.ndim != 2 or vectors.shape[0] != len(texts):
                raise ValueError(f"vectors shape {vectors.shape} does not match {len(texts)} texts")
            return self.classify_vectors(vectors)
        if self._hf is None:
            raise Unavailable("the sentiment model is still loading")
        probs = await anyio.to_thread.run_sync(self._hf.predict_proba, texts, limiter=self._limiter)
        return results_from_probs(probs)
