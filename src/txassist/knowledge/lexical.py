"""BM25 beside the dense index (``bm25s``: sparse matrices, millisecond queries at 100k chunks).

Exact words matter where embeddings blur them: order numbers, plan names, error codes. Words are
folded by the Snowball stemmer of the text's language (a document's at ingest, the query's at
search), so "refunds"/"refunded" meet "refund" and Norwegian "abonnementet" meets "abonnement".
"""

from __future__ import annotations

import functools
import re
import threading
from pathlib import Path

import bm25s
import bm25s.stopwords as bm25_stopwords
import numpy as np
import numpy.typing as npt
import Stemmer

_TOKEN_RE = re.compile(r"(?u)\b\w\w+\b")
_EXTRA_STOPWORDS = {"my", "me", "you", "your", "we", "our", "can", "do", "how", "what", "i"}
# BCP 47 primary subtag -> (Snowball algorithm, bm25s stopword list name)
_LANGUAGES = {
    "en": ("english", "STOPWORDS_EN"),
    "nb": ("norwegian", "STOPWORDS_NORWEGIAN"),
    "nn": ("norwegian", "STOPWORDS_NORWEGIAN"),
    "no": ("norwegian", "STOPWORDS_NORWEGIAN"),
    "da": ("danish", "STOPWORDS_DANISH"),
    "sv": ("swedish", "STOPWORDS_SWEDISH"),
    "de": ("german", "STOPWORDS_GERMAN"),
    "es": ("spanish", "STOPWORDS_SPANISH"),
    "fr": ("french", "STOPWORDS_FRENCH"),
    "it": ("italian", "STOPWORDS_ITALIAN"),
    "pt": ("portuguese", "STOPWORDS_PORTUGUESE"),
    "nl": ("dutch", "STOPWORDS_DUTCH"),
    "fi": ("finnish", ""),
}
DEFAULT_LANGUAGE = "en"
_local = threading.local()


def analyser_language(language: str | None) -> str:
    """The language whose stemmer reads ``language`` text (English for unknown languages)."""
    primary = (language or DEFAULT_LANGUAGE).split("-")[0].lower()
    return primary if primary in _LANGUAGES else DEFAULT_LANGUAGE


@functools.cache
def _stopwords(language: str) -> frozenset[str]:
    name = _LANGUAGES[language][1]
    words = frozenset(getattr(bm25_stopwords, name, ())) if name else frozenset()
    return words | _EXTRA_STOPWORDS if language == "en" else words


def _stemmer(language: str) -> Stemmer.Stemmer:
    # PyStemmer objects are not thread-safe: one per thread and language.
    stemmers: dict[str, Stemmer.Stemmer] | None = getattr(_local, "stemmers", None)
    if stemmers is None:
        stemmers = _local.stemmers = {}
    stemmer = stemmers.get(language)
    if stemmer is None:
        stemmer = stemmers[language] = Stemmer.Stemmer(_LANGUAGES[language][0])
    return stemmer


def tokenize(text: str, language: str | None = None) -> list[str]:
    lang = analyser_language(language)
    stop = _stopwords(lang)
    words = [t for t in _TOKEN_RE.findall(text.lower()) if t not in stop]
    stems: list[str] = _stemmer(lang).stemWords(words)
    return stems


class LexicalIndex:
    """BM25 over the live chunks; ``positions[i]`` maps BM25 row ``i`` to its index position."""

    def __init__(self, retriever: bm25s.BM25 | None, positions: npt.NDArray[np.int64]) -> None:
        self._retriever = retriever
        self.positions = positions

    @classmethod
    def build(
        cls, texts: list[str], positions: npt.NDArray[np.int64], languages: list[str] | None = None
    ) -> LexicalIndex:
        if not texts:
            return cls(None, positions)
        retriever = bm25s.BM25()
        langs = languages or [DEFAULT_LANGUAGE] * len(texts)
        # An empty token list would make bm25s drop the row and shift every later position.
        tokens = [tokenize(t, lang) or ["\x00empty"] for t, lang in zip(texts, langs, strict=True)]
        retriever.index(tokens, show_progress=False)
        return cls(retriever, positions)

    def save(self, directory: Path) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        np.save(directory / "positions.npy", self.positions)
        if self._retriever is not None:
            self._retriever.save(str(directory), show_progress=False)

    @classmethod
    def load(cls, directory: Path) -> LexicalIndex:
        positions = np.load(directory / "positions.npy")
        if len(positions) == 0:
            return cls(None, positions)
        retriever = bm25s.BM25.load(str(directory), mmap=False, show_progress=False)
        return cls(retriever, positions)

    def search(self, query: str, k: int, language: str | None = None) -> list[tuple[int, float]]:
        """(position, BM25 score) for chunks sharing at least one query term, best first."""
        if self._retriever is None or k <= 0:
            return []
        tokens = tokenize(query, language)
        if not tokens:
            return []
        # get_scores + argpartition: bm25s' own retrieve() costs many times more for a single query.
        scores = np.asarray(self._retriever.get_scores(tokens), dtype=np.float32)
        k = min(k, len(scores))
        top = np.argpartition(-scores, k - 1)[:k] if k < len(scores) else np.arange(len(scores))
        top = top[np.argsort(-scores[top], kind="stable")]
        return [(int(self.positions[row]), float(scores[row])) for row in top.tolist() if scores[row] > 0]
