"""One-vs-rest logistic heads on a sentence vector, one head per encoder (MiniLM for English, e5 else).

On disk: ``config.json`` (labels, thresholds, encoder, dimension) and ``model.safetensors``
(``weight`` labels x dimension, ``bias``). Serving is one numpy matmul and a sigmoid.

A head may also keep the written training turns (a ``Memory``: float16 vectors with their labels,
saved as ``memory`` and ``memory_targets``): its probability is then ``weight`` x the logistic one
plus the rest x a vote of the ``k`` most similar turns, each weighted by
``exp(similarity / temperature)``. A turn that sits among written cancellations is read as one even
where the linear boundary cuts close to it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt
from safetensors.numpy import load_file, save_file

from txassist.arrays import Floats
from txassist.intent.schemas import INTENT_LABELS
from txassist.jsontypes import JsonObject

ARCHITECTURE = "txassist.IntentHead"
Matrix = npt.NDArray[np.float32]


@dataclass(frozen=True)
class Neighbours:
    """How a head with a memory blends the vote of its nearest written turns into its probabilities."""

    k: int = 10
    temperature: float = 0.02
    weight: float = 0.5  # share of the logistic probability; the vote gets the rest


def neighbour_vote(x: Matrix, memory: Matrix, targets: Matrix, neighbours: Neighbours) -> Matrix:
    """Per row of ``x``: the similarity-weighted share of its ``k`` nearest memory rows per label."""
    sims = x @ memory.T
    k = min(neighbours.k, memory.shape[0])
    top = np.argpartition(-sims, k - 1, axis=1)[:, :k]
    near = np.take_along_axis(sims, top, axis=1)
    w = np.exp((near - near.max(axis=1, keepdims=True)) / neighbours.temperature)
    vote: Matrix = (np.einsum("rk,rkl->rl", w, targets[top]) / w.sum(axis=1, keepdims=True)).astype(np.float32)
    return vote


class Memory:
    """The written training turns a head keeps, with their labels and how their vote is blended in."""

    def __init__(self, vectors: Floats, targets: Floats, neighbours: Neighbours) -> None:
        # float16 on disk (rounded here already, so a saved head answers as this one); float32 to compute.
        self.vectors = _half(vectors)
        self.targets = _half(targets)
        self.neighbours = neighbours
        if self.vectors.ndim != 2 or self.vectors.shape[0] == 0:
            raise IntentHeadError(f"memory {self.vectors.shape} is not a non-empty matrix")
        if self.targets.ndim != 2 or self.targets.shape[0] != self.vectors.shape[0]:
            raise IntentHeadError(f"memory targets {self.targets.shape} do not fit the memory")

    def blend(self, x: Matrix, probs: Matrix) -> Matrix:
        vote = neighbour_vote(x, self.vectors, self.targets, self.neighbours)
        blended: Matrix = (self.neighbours.weight * probs + (1.0 - self.neighbours.weight) * vote).astype(np.float32)
        return blended


def default_intent_dir() -> Path:
    return Path(__file__).resolve().parents[3] / "models" / "intent"


def _half(values: Floats) -> Matrix:
    return np.ascontiguousarray(np.asarray(values, dtype=np.float16), dtype=np.float32)


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
        memory: Memory | None = None,
    ) -> None:
        if weight.shape[0] != len(labels) or bias.shape != (len(labels),):
            raise IntentHeadError(f"weights {weight.shape} do not fit {len(labels)} labels")
        if set(thresholds) != set(labels):
            raise IntentHeadError("every label needs a threshold")
        if memory is not None:
            if memory.vectors.shape[1] != weight.shape[1]:
                raise IntentHeadError(f"memory {memory.vectors.shape} does not fit dimension {weight.shape[1]}")
            if memory.targets.shape[1] != len(labels):
                raise IntentHeadError(f"memory targets {memory.targets.shape} do not fit {len(labels)} labels")
        self.weight_t = np.ascontiguousarray(weight.T, dtype=np.float32)
        self.bias = np.ascontiguousarray(bias, dtype=np.float32)
        self.thresholds = dict(thresholds)
        self.encoder = encoder
        self.labels = labels
        self.memory = memory

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
        return probs if self.memory is None else self.memory.blend(x, probs)

    def save(self, folder: str | Path, *, manifest: JsonObject | None = None) -> Path:
        out = Path(folder)
        out.mkdir(parents=True, exist_ok=True)
        tensors = {"weight": np.ascontiguousarray(self.weight_t.T), "bias": self.bias}
        config: JsonObject = {
            "architecture": ARCHITECTURE,
            "labels": list(self.labels),
            "thresholds": {k: round(v, 4) for k, v in self.thresholds.items()},
            "encoder": self.encoder,
            "dimension": self.dimension,
            "output": "independent sigmoid probabilities per label",
        }
        memory = self.memory
        if memory is not None:
            tensors["memory"] = memory.vectors.astype(np.float16)
            tensors["memory_targets"] = memory.targets.astype(np.float16)
            config["output"] = "per label: weight x sigmoid probability + (1 - weight) x nearest-memory vote"
            config["neighbours"] = {
                "k": memory.neighbours.k,
                "temperature": memory.neighbours.temperature,
                "weight": memory.neighbours.weight,
                "memory_rows": int(memory.vectors.shape[0]),
            }
        save_file(tensors, str(out / "model.safetensors"))
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
        settings = config.get("neighbours")
        memory = (
            None
            if settings is None
            else Memory(
                tensors["memory"],
                tensors["memory_targets"],
                Neighbours(int(settings["k"]), float(settings["temperature"]), float(settings["weight"])),
            )
        )
        return cls(
            tensors["weight"],
            tensors["bias"],
            {str(k): float(v) for k, v in config["thresholds"].items()},
            encoder=str(config["encoder"]),
            labels=tuple(config["labels"]),
            memory=memory,
        )
