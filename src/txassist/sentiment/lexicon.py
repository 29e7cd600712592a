"""VADER's lexicon as a second opinion beside the English embedding head.

A head trained on a few sources learns their style; a lexicon knows no source, and on sources the
head never saw it often did better (the leave-one-source-out rows in
``benchmarks/results/sentiment_sources_english.json``). The two are combined as a product of
experts: ``log p = (log p_head + weight * log p_lexicon) / temperature``. The lexicon's own
probabilities come from a multinomial logistic regression on VADER's scores, trained on the head's
training rows; ``weight`` is chosen by leave-one-source-out, ``temperature`` on validation rows.

VADER's scoring grows faster than linearly with a text's words, so a long text is scored in windows
of at most ``WINDOW_WORDS`` words and the window scores are averaged by length: the cost stays
linear in the text, and a turn (almost always one window) is scored exactly as VADER scores it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from txassist.sentiment.head import SentimentHead, softmax

if TYPE_CHECKING:
    from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

    from txassist.sentiment.head import Matrix

__all__ = ["FEATURES", "LEXICON_FOLDER", "LexiconFusion", "LexiconScorer"]

FEATURES = ("neg", "neu", "pos", "compound", "compound_squared", "positive_vote", "negative_vote")
LEXICON_FOLDER = "lexicon"
LEXICON_NAME = "vaderSentiment 3.3 polarity scores, windowed"
WINDOW_WORDS = 64
# The thresholds VADER's authors recommend for calling a compound score positive or negative.
VOTE = 0.05


@dataclass
class LexiconScorer:
    """VADER's scores of each text as a feature row (``FEATURES``)."""

    _analyzer: SentimentIntensityAnalyzer | None = field(default=None, repr=False)

    def warm_up(self) -> None:
        if self._analyzer is None:
            from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

            self._analyzer = SentimentIntensityAnalyzer()

    def features(self, texts: list[str]) -> Matrix:
        self.warm_up()
        rows = [self._row(text) for text in texts]
        return np.asarray(rows, dtype=np.float32).reshape(len(texts), len(FEATURES))

    def _row(self, text: str) -> list[float]:
        assert self._analyzer is not None
        words = text.split()
        windows = (
            [text]
            if len(words) <= WINDOW_WORDS
            else [" ".join(words[i : i + WINDOW_WORDS]) for i in range(0, len(words), WINDOW_WORDS)]
        )
        sizes = np.asarray([max(1, len(w.split())) for w in windows], dtype=np.float64)
        scores = [self._analyzer.polarity_scores(w) for w in windows]
        mean = {k: float(np.average([s[k] for s in scores], weights=sizes)) for k in ("neg", "neu", "pos", "compound")}
        compound = mean["compound"]
        return [
            mean["neg"],
            mean["neu"],
            mean["pos"],
            compound,
            compound * compound,
            float(compound >= VOTE),
            float(compound <= -VOTE),
        ]


@dataclass
class LexiconFusion:
    """The lexicon expert (a ``SentimentHead`` over ``FEATURES``) and how it joins the head's answer."""

    expert: SentimentHead
    weight: float
    temperature: float = 1.0
    scorer: LexiconScorer = field(default_factory=LexiconScorer)

    def __post_init__(self) -> None:
        if self.expert.dimension != len(FEATURES):
            raise ValueError(f"the lexicon expert reads {self.expert.dimension} features, not {len(FEATURES)}")
        if self.weight < 0 or self.temperature <= 0:
            raise ValueError("the lexicon weight must be >= 0 and the temperature > 0")

    def fused_logits(self, head_probs: Matrix, features: Matrix) -> Matrix:
        lexicon = self.expert.predict_proba(features)
        logits: Matrix = (np.log(head_probs + 1e-7) + self.weight * np.log(lexicon + 1e-7)).astype(np.float32)
        return logits

    def combine(self, head_probs: Matrix, features: Matrix) -> Matrix:
        return softmax(self.fused_logits(head_probs, features) / self.temperature)

    def fuse(self, head_probs: Matrix, texts: list[str]) -> Matrix:
        """Blocking (VADER is pure Python): callers on the event loop run it in a worker thread."""
        return self.combine(head_probs, self.scorer.features(texts))

    def config(self) -> dict[str, object]:
        return {
            "folder": LEXICON_FOLDER,
            "lexicon": LEXICON_NAME,
            "features": list(FEATURES),
            "window_words": WINDOW_WORDS,
            "weight": self.weight,
            "temperature": self.temperature,
            "combination": "softmax((log p_head + weight * log p_lexicon) / temperature)",
        }

    @classmethod
    def load(cls, head_dir: Path) -> LexiconFusion | None:
        """The fusion named in a head folder's ``config.json``; None for a head without one."""
        return cls.of(SentimentHead.load(head_dir))

    @classmethod
    def of(cls, head: SentimentHead) -> LexiconFusion | None:
        """The fusion named in a loaded head's config; None for a head without one."""
        spec = head.config.get("lexicon")
        if spec is None:
            return None
        if list(spec["features"]) != list(FEATURES):
            raise ValueError(f"{head.path}: the lexicon features {spec['features']} are not {list(FEATURES)}")
        expert = SentimentHead.load(Path(head.path) / str(spec["folder"]))
        return cls(expert, float(spec["weight"]), float(spec["temperature"]))
