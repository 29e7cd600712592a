"""A fast stand-in for the embedding model: hashed bag of words, L2-normalised.

Only for unit tests of the index mechanics; the real model is exercised in the ABCD and API tests.
"""

from __future__ import annotations

import hashlib
import re

import numpy as np

DIM = 64
_STOP = {"the", "a", "an", "and", "or", "to", "of", "in", "on", "for", "is", "are", "my", "your", "we", "you", "i"}


def tokenize(text: str) -> list[str]:
    """Fixed word folding for the fake, independent of the BM25 analyser under test."""
    words = [w for w in re.findall(r"\w\w+", text.lower()) if w not in _STOP]
    return [w[:-1] if w.endswith("s") and not w.endswith("ss") and len(w) > 3 else w for w in words]


class HashingEmbedder:
    def __init__(self) -> None:
        self.calls: list[int] = []

    def __call__(self, texts: list[str]) -> np.ndarray:
        self.calls.append(len(texts))
        out = np.zeros((len(texts), DIM), dtype=np.float32)
        for row, text in enumerate(texts):
            for token in tokenize(text):
                out[row, int(hashlib.md5(token.encode()).hexdigest()[:8], 16) % DIM] += 1.0
            out[row, 0] += 1e-3
        out /= np.linalg.norm(out, axis=1, keepdims=True)
        return out
