"""BM25 beside the dense index (``bm25s``: sparse matrices, millisecond queries at 100k chunks).

Exact words matter where embeddings blur them: order numbers, plan names, error codes.
"""

from __future__ import annotations

import re
from pathlib import Path

import bm25s
import numpy as np
import numpy.typing as npt
from bm25s.stopwords import STOPWORDS_EN

_TOKEN_RE = re.compile(r"(?u)\b\w\w+\b")
_EXTRA_STOPWORDS = {"my", "me", "you", "your", "we", "our", "can", "do", "how", "what", "i"}
_STOPWORDS = frozenset(STOPWORDS_EN) | _EXTRA_STOPWORDS


def _stem(word: str) -> str:
    # Light plural/tense folding: "refunds"/"refunded" meet "refund" without a stemmer dependency.
    for suffix, keep in (("ies", "y"), ("ing", ""), ("ed", ""), ("es", ""), ("s", "")):
        if word.endswith(suffix) and len(word) - len(suffix) >= 3 and not word.endswith("ss"):
            return word[: -len(suffix)] + keep
    return word


def tokenize(text: str) -> list[str]:
    return [_stem(t) for t in _TOKEN_RE.findall(text.lower()) if t not in _STOPWORDS]


class LexicalIndex:
    """BM25 over the live chunks; ``positions[i]`` maps BM25 row ``i`` to its index position."""

    def __init__(self, retriever: bm25s.BM25 | None, positions: npt.NDArray[np.int64]) -> None:
        self._retriever = retriever
        self.positions = positions

    @classmethod
    def build(cls, texts: list[str], positions: npt.NDArray[np.int64]) -> LexicalIndex:
        if not texts:
            return cls(None, positions)
        retriever = bm25s.BM25()
        # An empty token list would make bm25s drop the row and shift every later position.
        retriever.index([tokenize(t) or ["\x00empty"] for t in texts], show_progress=False)
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

    def search(self, query: str, k: int) -> list[tuple[int, float]]:
        """(position, BM25 score) for chunks sharing at least one query term, best first."""
        if self._retriever is None or k <= 0:
            return []
        tokens = tokenize(query)
        if not tokens:
            return []
        # get_scores + argpartition: bm25s' own retrieve() costs ~10x more per single query.
        scores = np.asarray(self._retriever.get_scores(tokens), dtype=np.float32)
        k = min(k, len(scores))
        top = np.argpartition(-scores, k - 1)[:k] if k < len(scores) else np.arange(len(scores))
        top = top[np.argsort(-scores[top], kind="stable")]
        return [(int(self.positions[row]), float(scores[row])) for row in top.tolist() if scores[row] > 0]
