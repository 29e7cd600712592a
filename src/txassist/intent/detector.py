"""``IntentDetector``: the intents of customer turns, from the vectors the turn already computed.

English turns use the MiniLM head (the turn's own retrieval vector); other languages the e5 head on
the multilingual query vector. A precise rule may then withdraw a label (a negated cancellation) and
says so in ``reasons``. Synchronous CPU work: async callers run it off the event loop.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

from txassist.arrays import Floats
from txassist.intent.head import IntentHead, default_intent_dir
from txassist.intent.rules import negated_cancellation, weighing_cancellation
from txassist.intent.schemas import INTENT_LABELS, Intents

if TYPE_CHECKING:
    from txassist.embedding.multilingual import MultilingualEncoder

ENGLISH = "en"
MINILM, E5 = "minilm", "e5"


class IntentDetector:
    """Config in ``__init__``, heads in ``warm_up()``, work in ``detect()`` (thread-safe)."""

    def __init__(self, model_dir: str | Path | None = None, *, multilingual: MultilingualEncoder | None = None) -> None:
        self.model_dir = Path(model_dir) if model_dir is not None else default_intent_dir()
        self.multilingual = multilingual
        self._heads: dict[str, IntentHead] = {}
        self._lock = threading.Lock()

    def warm_up(self) -> None:
        with self._lock:
            if self._heads:
                return
            heads = {name: IntentHead.load(self.model_dir / name) for name in (MINILM, E5)}
            self._heads = heads

    @property
    def ready(self) -> bool:
        return bool(self._heads)

    def detect(
        self,
        texts: list[str],
        vectors: Floats | None,
        multilingual_vectors: Floats | None,
        languages: list[str],
    ) -> list[Intents]:
        """One ``Intents`` per text. ``vectors``: MiniLM rows; ``multilingual_vectors``: e5 query rows."""
        self.warm_up()
        if len(languages) != len(texts):
            raise ValueError(f"{len(languages)} languages for {len(texts)} texts")
        out: list[Intents] = []
        for i, (text, language) in enumerate(zip(texts, languages, strict=True)):
            name, vector = self._route(i, text, language, vectors, multilingual_vectors)
            head = self._heads[name]
            probs = head.predict_proba(vector)[0]
            out.append(self._decide(text, language, name, head, probs))
        return out

    def _route(
        self,
        i: int,
        text: str,
        language: str,
        vectors: Floats | None,
        multilingual_vectors: Floats | None,
    ) -> tuple[str, npt.NDArray[np.float32]]:
        if language == ENGLISH and vectors is not None:
            return MINILM, np.asarray(vectors[i], dtype=np.float32)
        if multilingual_vectors is not None:
            return E5, np.asarray(multilingual_vectors[i], dtype=np.float32)
        if language != ENGLISH and self.multilingual is not None:
            return E5, self.multilingual.queries([text])[0]
        if vectors is not None:
            return MINILM, np.asarray(vectors[i], dtype=np.float32)
        raise ValueError("intent detection needs a MiniLM or an e5 vector for every text")

    def _decide(self, text: str, language: str, name: str, head: IntentHead, probs: npt.NDArray[np.float32]) -> Intents:
        scores = {label: round(float(p), 4) for label, p in zip(INTENT_LABELS, probs, strict=True)}
        reasons: list[str] = []
        cancel_threshold = head.thresholds["cancel_service"]
        if scores["cancel_service"] < cancel_threshold and weighing_cancellation(text):
            scores["cancel_service"] = round(max(scores["cancel_service"], cancel_threshold), 4)
            reasons.append("rule: 'should I just cancel' counts as cancellation intent")
        elif scores["cancel_service"] >= cancel_threshold and negated_cancellation(text):
            # The rule lowers the score too, so a reader of ``scores`` sees the same decision.
            scores["cancel_service"] = round(min(scores["cancel_service"], cancel_threshold / 2), 4)
            reasons.append("rule: negated 'cancel' ignored")
        fired = sorted(
            (label for label in INTENT_LABELS if scores[label] >= head.thresholds[label]),
            key=lambda label: -scores[label],
        )
        reasons = [f"intent model ({name}): {label} {scores[label]:.2f}" for label in fired] + reasons
        return Intents(scores=scores, fired=fired, reasons=reasons, language=language)
