"""Sentiment for texts: the calibrated head on MiniLM vectors, or a configured HF classifier.

With the default head a caller that already has the turn's embedding passes it in, so retrieval
and sentiment share one forward pass; the head itself is a numpy matmul run inline. Texts in another
language than English go to a second head on the multilingual e5 vector (routed by the language
detector); a language or script neither head was built for gets ``reliable: false`` and scores
flattened towards neutral.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

import anyio
import anyio.to_thread
import numpy as np
import numpy.typing as npt
import structlog

from txassist.arrays import Floats
from txassist.config import Settings
from txassist.embedding import EmbeddingBatcher
from txassist.errors import InvalidInput, Unavailable
from txassist.sentiment.head import HEAD_ARCHITECTURE, LABELS, SentimentHead, default_head_path
from txassist.sentiment.hf_classifier import HFSequenceClassifier
from txassist.sentiment.lexicon import LexiconFusion
from txassist.sentiment.schemas import SentimentResult

if TYPE_CHECKING:
    from txassist.embedding.multilingual import MultilingualEncoder
    from txassist.text.language import Language, LanguageDetector

__all__ = ["SentimentResult", "SentimentService"]

log = structlog.get_logger("txassist.sentiment")

# Texts up to this length get VADER's scores on the event loop: a short turn costs a fraction of a
# millisecond there, while a worker thread waits for the GIL behind the turn's knowledge search (up
# to Python's 5 ms switch interval). Longer texts (a pasted email) go to a thread.
INLINE_LEXICON_CHARS = 2_000
# Languages the multilingual head was trained on (UMSAB) or measured on (the Norwegian set), plus close
# neighbours that share their vocabulary; anything else is answered but marked unreliable.
MULTILINGUAL_LANGUAGES = frozenset({"ar", "de", "es", "fr", "hi", "it", "pt", "nb", "nn", "da", "sv"})
# What unreliable scores are pulled towards, and how far: never a confident label on guesswork.
NEUTRAL_PRIOR = np.asarray([0.15, 0.7, 0.15], dtype=np.float32)
FLATTEN = 0.6


def default_multilingual_head_path() -> Path:
    return default_head_path().parent / "sentiment-e5-head"


def mostly_latin(text: str) -> bool:
    letters = [ch for ch in text if ch.isalpha()]
    return not letters or sum(ch < "\u0250" for ch in letters) / len(letters) >= 0.8


def uses_english_head(language: Language, text: str) -> bool:
    """English, and text too short to tell (most such turns are "ok", "thanks"), take the MiniLM head."""
    return language.code == "en" or (not language.reliable and mostly_latin(text))


def flatten(probs: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
    out: npt.NDArray[np.float32] = ((1 - FLATTEN) * probs + FLATTEN * NEUTRAL_PRIOR).astype(np.float32)
    return out


def is_head_dir(path: Path) -> bool:
    config = path / "config.json"
    if not config.is_file():
        return False
    try:
        return bool(json.loads(config.read_text(encoding="utf-8")).get("architecture") == HEAD_ARCHITECTURE)
    except (json.JSONDecodeError, AttributeError):
        return False


def results_from_probs(
    probs: npt.NDArray[np.float32], languages: list[str] | None = None, reliable: list[bool] | None = None
) -> list[SentimentResult]:
    results = []
    for i, row in enumerate(probs):
        best = int(np.argmax(row))
        results.append(
            SentimentResult(
                label=LABELS[best],
                score=round(float(row[best]), 6),
                scores={label: round(float(p), 6) for label, p in zip(LABELS, row, strict=True)},
                language=languages[i] if languages else "en",
                reliable=reliable[i] if reliable else True,
            )
        )
    return results


class SentimentService:
    def __init__(
        self,
        settings: Settings,
        embeddings: EmbeddingBatcher,
        *,
        language: LanguageDetector | None = None,
        multilingual: MultilingualEncoder | None = None,
    ) -> None:
        self.settings = settings
        self.embeddings = embeddings
        self.language = language
        self.multilingual = multilingual
        self.path = Path(settings.sentiment_model) if settings.sentiment_model else default_head_path()
        self.multilingual_path = default_multilingual_head_path()
        self._head: SentimentHead | None = None
        self._lexicon: LexiconFusion | None = None
        self._multilingual_head: SentimentHead | None = None
        self._hf: HFSequenceClassifier | None = None
        # The HF model runs one batch at a time: torch already uses every core for it.
        self._limiter = anyio.CapacityLimiter(1)

    def load(self) -> None:
        """Blocking: reads the weights (call from a worker thread)."""
        if is_head_dir(self.path):
            self._head = SentimentHead.load(self.path)
            self._lexicon = LexiconFusion.of(self._head)
            if self._lexicon is not None:
                self._lexicon.scorer.warm_up()
        else:
            self._hf = HFSequenceClassifier(self.path, device=self.settings.device)
        if self.multilingual is not None and is_head_dir(self.multilingual_path):
            self._multilingual_head = SentimentHead.load(self.multilingual_path)
        if self.language is not None:
            self.language.warm_up()
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

    def classify_vectors(self, vectors: Floats, texts: list[str]) -> list[SentimentResult]:
        """Synchronous: the head on vectors already computed, and the lexicon on their texts."""
        if self._head is None:
            raise Unavailable("the sentiment head is not loaded")
        probs = self._head.predict_proba(vectors)
        if self._lexicon is not None:
            probs = self._lexicon.fuse(probs, texts)
        return results_from_probs(probs)

    @property
    def multilingual_ready(self) -> bool:
        return self._multilingual_head is not None and self.multilingual is not None

    def detect_languages(self, texts: list[str]) -> list[Language]:
        from txassist.text.language import Language

        if self.language is None:
            return [Language("en", 0.0, False) for _ in texts]
        return [self.language.detect(text) for text in texts]

    async def classify(
        self,
        texts: list[str],
        vectors: Floats | None = None,
        *,
        languages: list[Language] | None = None,
        multilingual_vectors: Floats | None = None,
    ) -> list[SentimentResult]:
        """One result per text, in order. ``vectors`` (normalised MiniLM, one row per text) skip encoding.

        ``languages`` (the detector's answers, one per text) and ``multilingual_vectors`` (e5 query
        rows) are what a caller that already has them passes in; missing ones are computed here.
        """
        if not texts:
            return []
        self.check_texts(texts)
        if self._head is None:
            if self._hf is None:
                raise Unavailable("the sentiment model is still loading")
            probs = await anyio.to_thread.run_sync(self._hf.predict_proba, texts, limiter=self._limiter)
            return results_from_probs(probs)
        if vectors is not None and (vectors.ndim != 2 or vectors.shape[0] != len(texts)):
            raise ValueError(f"vectors shape {vectors.shape} does not match {len(texts)} texts")
        found = languages if languages is not None else self.detect_languages(texts)
        codes = [lang.code for lang in found]
        english = [uses_english_head(lang, t) for lang, t in zip(found, texts, strict=True)]
        other = [i for i, is_en in enumerate(english) if not is_en]
        reliable = [
            (lang.reliable or mostly_latin(t)) and (is_en or lang.code in MULTILINGUAL_LANGUAGES)
            for lang, t, is_en in zip(found, texts, english, strict=True)
        ]
        probs = np.zeros((len(texts), len(LABELS)), dtype=np.float32)
        minilm_rows = [i for i, is_en in enumerate(english) if is_en or not self.multilingual_ready]
        if minilm_rows:
            if vectors is None:
                vectors = await self.embeddings.encode([texts[i] for i in minilm_rows])
                head_probs = self._head.predict_proba(vectors)
            else:
                head_probs = self._head.predict_proba(vectors[minilm_rows])
            if self._lexicon is not None:
                english_texts = [texts[i] for i in minilm_rows]
                if sum(map(len, english_texts)) <= INLINE_LEXICON_CHARS:
                    head_probs = self._lexicon.fuse(head_probs, english_texts)
                else:
                    head_probs = await anyio.to_thread.run_sync(self._lexicon.fuse, head_probs, english_texts)
            probs[minilm_rows] = head_probs
        e5_rows = [i for i in other if self.multilingual_ready]
        if e5_rows:
            assert self._multilingual_head is not None and self.multilingual is not None
            if multilingual_vectors is None:
                encoder = self.multilingual
                e5 = await anyio.to_thread.run_sync(encoder.queries, [texts[i] for i in e5_rows])
            else:
                e5 = np.asarray(multilingual_vectors, dtype=np.float32)[e5_rows]
            probs[e5_rows] = self._multilingual_head.predict_proba(e5)
        for i, ok in enumerate(reliable):
            if not ok or (not english[i] and not self.multilingual_ready):
                reliable[i] = False
                probs[i] = flatten(probs[i])
        return results_from_probs(probs, codes, reliable)
