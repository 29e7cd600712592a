"""The head's file format: written with sentence-transformers Dense modules, served with numpy."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pytest

from txassist.sentiment.head import HeadFormatError, SentimentHead
from txassist.sentiment.training import HeadTrainingConfig, evaluate, fit, save_head, split_indices


def _toy_data(seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Three gaussian blobs on the unit sphere in 384-d: learnable, like sentiment clusters."""
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(3, 384))
    labels = rng.integers(0, 3, size=1500).astype(np.int64)
    x = centres[labels] + rng.normal(scale=1.5, size=(1500, 384))
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    return x.astype(np.float32), labels


@pytest.fixture(scope="module")
def trained_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    x, y = _toy_data()
    train, val, _ = split_indices(y, seed=1)
    trained = fit(x[train], y[train], x[val], y[val], HeadTrainingConfig(hidden=32, epochs=5, seed=1))
    return save_head(trained, tmp_path_factory.mktemp("head"), manifest={"seed": 1})


def test_head_learns_and_round_trips(trained_dir: Path) -> None:
    x, y = _toy_data()
    _, _, test = split_indices(y, seed=1)
    head = SentimentHead.load(trained_dir)
    metrics = evaluate(head, x[test], y[test])
    assert metrics["accuracy"] > 0.9
    probs = head.predict_proba(x[:5])
    assert probs.shape == (5, 3)
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, atol=1e-5)
    single = head.predict_proba(x[0])  # one vector, 1-d
    np.testing.assert_allclose(single[0], probs[0], atol=1e-6)


def test_sentence_transformers_dense_loads_the_same_logits(trained_dir: Path) -> None:
    import torch
    from sentence_transformers.sentence_transformer.modules import Dense

    x, _ = _toy_data()
    config = json.loads((trained_dir / "config.json").read_text())
    features = {"sentence_embedding": torch.from_numpy(x[:8])}
    for name in config["layers"]:
        features = Dense.load(str(trained_dir / name))(features)
    expected = SentimentHead.load(trained_dir).logits(x[:8])
    np.testing.assert_allclose(features["sentence_embedding"].detach().numpy(), expected, atol=1e-5)


def test_manifest_hashes_match_the_weights(trained_dir: Path) -> None:
    manifest = json.loads((trained_dir / "manifest.json").read_text())
    assert manifest["seed"] == 1
    assert manifest["temperature"] > 0
    for relative, digest in manifest["sha256"].items():
        assert hashlib.sha256((trained_dir / relative).read_bytes()).hexdigest() == digest
    assert {"val_ece_before", "val_ece_after"} <= set(manifest["metrics"])


def test_training_is_reproducible_with_a_seed(tmp_path: Path) -> None:
    x, y = _toy_data()
    train, val, _ = split_indices(y, seed=3)
    digests = []
    for run in range(2):
        trained = fit(x[train], y[train], x[val], y[val], HeadTrainingConfig(hidden=0, epochs=3, seed=3))
        out = save_head(trained, tmp_path / str(run), manifest={})
        digests.append(json.loads((out / "manifest.json").read_text())["sha256"])
    assert digests[0] == digests[1]


def test_split_is_stratified_and_disjoint() -> None:
    _, y = _toy_data()
    train, val, test = split_indices(y, seed=5)
    assert len(set(train) | set(val) | set(test)) == len(y)
    assert not set(train) & set(test)
    assert abs(np.mean(y[test] == 0) - np.mean(y == 0)) < 0.02


def test_wrong_directories_are_refused(tmp_path: Path, trained_dir: Path) -> None:
    with pytest.raises(HeadFormatError):
        SentimentHead.load(tmp_path)
    (tmp_path / "config.json").write_text(json.dumps({"architecture": "BertForSequenceClassification"}))
    with pytest.raises(HeadFormatError):
        SentimentHead.load(tmp_path)
    head = SentimentHead.load(trained_dir)
    with pytest.raises(ValueError, match="dimension"):
        head.predict_proba(np.zeros((2, 100), dtype=np.float32))
