"""The default sentiment model: a small classifier head on the 384-d all-MiniLM-L6-v2 embedding.

On disk it is a stack of sentence-transformers ``Dense`` modules (``0_Dense/``, ``1_Dense/``, each a
``config.json`` plus ``model.safetensors``), so ``sentence_transformers...Dense.load(dir)`` loads
every layer, and a top-level ``config.json`` naming the layers, labels and embedding model. The
temperature found by calibration is already folded into the last layer, so its outputs are
calibrated logits. Serving uses numpy only: one vector costs a few microseconds.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any, Literal

import numpy as np
import numpy.typing as npt
from safetensors.numpy import load_file

from txassist.arrays import Floats

Label = Literal["negative", "neutral", "positive"]
LABELS: tuple[Label, ...] = ("negative", "neutral", "positive")
HEAD_ARCHITECTURE = "txassist.SentimentHead"
EMBEDDING_MODEL = "sentence-transformers/all-MiniLM-L6-v2"

Matrix = npt.NDArray[np.float32]


def default_head_path() -> Path:
    return Path(__file__).resolve().parents[3] / "models" / "sentiment-head"


def _identity(x: Matrix) -> Matrix:
    return x


def _relu(x: Matrix) -> Matrix:
    return np.maximum(x, 0, dtype=np.float32)


def _tanh(x: Matrix) -> Matrix:
    out: Matrix = np.tanh(x).astype(np.float32, copy=False)
    return out


# The activation names sentence-transformers writes into a Dense config (its ``fullname``).
ACTIVATIONS: dict[str, Callable[[Matrix], Matrix]] = {
    "torch.nn.modules.linear.Identity": _identity,
    "torch.nn.modules.activation.ReLU": _relu,
    "torch.nn.modules.activation.Tanh": _tanh,
}


class HeadFormatError(ValueError):
    """The directory is not a sentiment head this code can serve; the message says why."""


class DenseLayer:
    def __init__(self, weight: Matrix, bias: Matrix, activation: str) -> None:
        if activation not in ACTIVATIONS:
            raise HeadFormatError(f"unsupported activation {activation!r}")
        # Stored transposed so a row batch is one contiguous matmul.
        self.weight_t = np.ascontiguousarray(weight.T, dtype=np.float32)
        self.bias = np.ascontiguousarray(bias, dtype=np.float32)
        self.activation = activation
        self._fn = ACTIVATIONS[activation]

    @property
    def in_features(self) -> int:
        return int(self.weight_t.shape[0])

    @property
    def out_features(self) -> int:
        return int(self.weight_t.shape[1])

    def __call__(self, x: Matrix) -> Matrix:
        return self._fn(x @ self.weight_t + self.bias)


def softmax(logits: Floats) -> Matrix:
    shifted = logits - logits.max(axis=1, keepdims=True)
    exp = np.exp(shifted)
    probs: Matrix = (exp / exp.sum(axis=1, keepdims=True)).astype(np.float32)
    return probs


class SentimentHead:
    """Calibrated class probabilities for normalised MiniLM vectors."""

    def __init__(
        self,
        layers: list[DenseLayer],
        *,
        labels: tuple[str, ...] = LABELS,
        path: str = "",
        config: dict[str, Any] | None = None,
    ) -> None:
        if not layers:
            raise HeadFormatError("a head needs at least one layer")
        for before, after in itertools.pairwise(layers):
            if before.out_features != after.in_features:
                raise HeadFormatError("layer sizes do not chain")
        if layers[-1].out_features != len(labels):
            raise HeadFormatError(f"last layer has {layers[-1].out_features} outputs for {len(labels)} labels")
        if tuple(labels) != LABELS:
            raise HeadFormatError(f"labels must be {list(LABELS)}, got {list(labels)}")
        self.layers = layers
        self.labels = labels
        self.path = path
        # The folder's config.json as loaded: experts beside the head (the lexicon) are named in it.
        self.config = config or {}

    @property
    def dimension(self) -> int:
        return self.layers[0].in_features

    def logits(self, vectors: Floats) -> Matrix:
        x = np.asarray(vectors, dtype=np.float32)
        if x.ndim == 1:
            x = x[None, :]
        if x.ndim != 2 or x.shape[1] != self.dimension:
            raise ValueError(f"expected vectors of dimension {self.dimension}, got shape {x.shape}")
        for layer in self.layers:
            x = layer(x)
        return x

    def predict_proba(self, vectors: Floats) -> Matrix:
        return softmax(self.logits(vectors))

    @classmethod
    def load(cls, path: str | Path) -> SentimentHead:
        root = Path(path)
        config_path = root / "config.json"
        if not config_path.is_file():
            raise HeadFormatError(f"{root} has no config.json")
        config = json.loads(config_path.read_text(encoding="utf-8"))
        if config.get("architecture") != HEAD_ARCHITECTURE:
            raise HeadFormatError(f"{config_path} is not a {HEAD_ARCHITECTURE} config")
        layers = [_load_dense(root / name) for name in config["layers"]]
        return cls(layers, labels=tuple(config["labels"]), path=str(root), config=config)


def _load_dense(folder: Path) -> DenseLayer:
    config = json.loads((folder / "config.json").read_text(encoding="utf-8"))
    tensors = load_file(str(folder / "model.safetensors"))
    weight = tensors["linear.weight"]
    bias = tensors.get("linear.bias")
    if bias is None:
        bias = np.zeros(weight.shape[0], dtype=np.float32)
    if weight.shape != (config["out_features"], config["in_features"]):
        raise HeadFormatError(f"{folder}: weight shape {weight.shape} does not match its config")
    return DenseLayer(weight, bias, config.get("activation_function", "torch.nn.modules.activation.Tanh"))
