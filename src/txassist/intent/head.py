"""One-vs-rest logistic heads on a sentence vector, one head per encoder (MiniLM for English, e5 else).

On disk: ``config.json`` (labels, thresholds, encoder, dimension) and ``model.safetensors``
(``weight`` labels x dimension, ``bias``). Serving is one numpy matmul and a sigmoid.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import numpy.typing as npt
from safetensors.numpy import load_file, save_file

from txassist.arrays import Floats
from txassist.intent.schemas import INTENT_LABELS
from txassist.jsontypes import JsonObject

ARCHITECTURE = "txassist.IntentHead"
Matrix = npt.NDArray[np.float32]


def default_intent_dir() -> Path:
    return Path(__file__).resolve().parents[3] / "models" / "intent"


class IntentHeadError(ValueError):
    """The directory is not an intent head this code can serve."""


class IntentHead:
    def __init__(
        self,
        weight: Matrix,
        bias: Matrix,
        thresholds: dict[str, float],
        *,
        encoder: str,
        labels: tuple[str, ...] = INTENT_LABELS,
    ) -> None:
        if weight.shape[0] != len(labels) or bias.shape != (len(labels),):
            raise IntentHeadError(f"weights {weight.shape} do not fit {len(labels)} labels")
        if set(thresholds) != set(labels):
            raise IntentHeadError("every label needs a threshold")
        self.weight_t = np.ascontiguousarray(weight.T, dtype=np.float32)
        self.bias = np.ascontiguousarray(bias, dtype=np.float32)
        self.thresholds = dict(thresholds)
        self.encoder = encoder
        self.labels = labels

    @property
    def dimension(self) -> int:
        return int(self.weight_t.shape[0])

    def predict_proba(self, vectors: Floats) -> Matrix:
        x = np.asarray(vectors, dtype=np.float32)
        if x.ndim == 1:
            x = x[None, :]
        if x.ndim != 2 or x.shape[1] != self.dimension:
            raise ValueError(f"expected vectors of dimension {self.dimension}, got shape {x.shape}")
        logits = x @ self.weight_t + self.bias
        probs: Matrix = (1.0 / (1.0 + np.exp(-np.clip(logits, -30, 30)))).astype(np.float32)
        return probs

    def save(self, folder: str | Path, *, manifest: JsonObject | None = None) -> Path:
        out = Path(folder)
        out.mkdir(parents=True, exist_ok=True)
        save_file({"weight": np.ascontiguousarray(self.weight_t.T), "bias": self.bias}, str(out / "model.safetensors"))
        config = {
            "architecture": ARCHITECTURE,
            "labels": list(self.labels),
            "thresholds": {k: round(v, 4) for k, v in self.thresholds.items()},
            "encoder": self.encoder,
            "dimension": self.dimension,
            "output": "independent sigmoid probabilities per label",
        }
        (out / "config.json").write_text(json.dumps(config, indent=2) + "\n", encoding="utf-8")
        if manifest is not None:
            (out / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
        return out

    @classmethod
    def load(cls, folder: str | Path) -> IntentHead:
        root = Path(folder)
        config_path = root / "config.json"
        if not config_path.is_file():
            raise IntentHeadError(f"{root} has no config.json")
        config = json.loads(config_path.read_text(encoding="utf-8"))
        if config.get("architecture") != ARCHITECTURE:
            raise IntentHeadError(f"{config_path} is not a {ARCHITECTURE} config")
        tensors = load_file(str(root / "model.safetensors"))
        return cls(
            tensors["weight"],
            tensors["bias"],
            {str(k): float(v) for k, v in config["thresholds"].items()},
            encoder=str(config["encoder"]),
            labels=tuple(config["labels"]),
        )
