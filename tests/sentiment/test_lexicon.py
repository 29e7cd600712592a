"""The lexicon beside the English head: VADER's scores as features, the fusion, and its files."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

from txassist.config import Settings
from txassist.sentiment.head import SentimentHead, default_head_path
from txassist.sentiment.lexicon import FEATURES, WINDOW_WORDS, LexiconFusion, LexiconScorer
from txassist.sentiment.recipe import LEXICON_TRAINING, LEXICON_WEIGHT
from txassist.sentiment.training import HeadTrainingConfig, fit, save_head, save_lexicon, split_indices

SCORER = LexiconScorer()


def test_a_turn_is_scored_exactly_as_vader_scores_it() -> None:
    text = "The app is great, but the delivery was terribly late!!"
    vader = SentimentIntensityAnalyzer().polarity_scores(text)
    row = SCORER.features([text])[0]
    assert row.shape == (len(FEATURES),)
    assert row[:4].tolist() == pytest.approx([vader["neg"], vader["neu"], vader["pos"], vader["compound"]], abs=1e-6)
    # VADER weighs the clause after "but" more: the votes follow its compound score.
    assert vader["compound"] < -0.05
    assert (row[5], row[6]) == (0.0, 1.0)


def test_a_long_text_is_the_length_weighted_mean_of_its_windows() -> None:
    happy, angry = "I love it, wonderful and great. " * 20, "This is awful, horrible and useless. " * 40
    words = (happy + angry).split()
    windows = [" ".join(words[i : i + WINDOW_WORDS]) for i in range(0, len(words), WINDOW_WORDS)]
    assert len(windows) > 2
    sizes = [len(w.split()) for w in windows]
    expected = np.average(SCORER.features(windows)[:, 3], weights=sizes)
    assert SCORER.features([happy + angry])[0, 3] == pytest.approx(expected, abs=1e-5)


def _expert() -> SentimentHead:
    """A logistic regression that reads VADER's compound score: negative < 0 < positive."""
    rng = np.random.default_rng(3)
    compound = rng.uniform(-1, 1, size=900).astype(np.float32)
    labels = np.where(compound < -0.3, 0, np.where(compound > 0.3, 2, 1)).astype(np.int64)
    x = np.zeros((900, len(FEATURES)), dtype=np.float32)
    x[:, 3], x[:, 4] = compound, compound**2
    train, val, _ = split_indices(labels, seed=3)
    return fit(x[train], labels[train], x[val], labels[val], LEXICON_TRAINING).head()


def test_the_lexicon_moves_an_unsure_head_and_weight_zero_does_not() -> None:
    unsure = np.asarray([[0.36, 0.33, 0.31]], dtype=np.float32)
    glowing = SCORER.features(["Absolutely wonderful, thank you so much, I love it!"])
    fused = LexiconFusion(_expert(), weight=1.0).combine(unsure, glowing)
    assert int(fused.argmax()) == 2
    assert int(LexiconFusion(_expert(), weight=0.0).combine(unsure, glowing).argmax()) == 0
    assert fused.sum() == pytest.approx(1.0, abs=1e-5)


def test_the_fusion_round_trips_through_the_head_folder(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(300, 384)).astype(np.float32)
    y = rng.integers(0, 3, size=300).astype(np.int64)
    head_dir = save_head(fit(x, y, x, y, HeadTrainingConfig(hidden=0, epochs=1)), tmp_path / "head", manifest={})
    assert LexiconFusion.load(head_dir) is None  # a head without a lexicon stays as it was
    fusion = LexiconFusion(_expert(), weight=0.75, temperature=1.3)
    save_lexicon(fusion, head_dir, config=LEXICON_TRAINING, manifest={})
    loaded = LexiconFusion.load(head_dir)
    assert loaded is not None
    assert (loaded.weight, loaded.temperature) == (0.75, 1.3)
    probs, features = rng.dirichlet([1, 1, 1], size=5).astype(np.float32), SCORER.features(["fine"] * 5)
    assert np.allclose(loaded.combine(probs, features), fusion.combine(probs, features), atol=1e-6)
    config = json.loads((head_dir / "config.json").read_text())
    assert config["lexicon"]["features"] == list(FEATURES)


def test_a_lexicon_with_other_features_is_refused(tmp_path: Path) -> None:
    head_dir = tmp_path / "head"
    shutil.copytree(default_head_path(), head_dir)
    config = json.loads((head_dir / "config.json").read_text())
    config["lexicon"]["features"] = ["neg", "pos"]
    (head_dir / "config.json").write_text(json.dumps(config))
    with pytest.raises(ValueError, match="lexicon features"):
        LexiconFusion.load(head_dir)


def test_the_shipped_english_head_carries_the_lexicon_at_the_chosen_weight() -> None:
    fusion = LexiconFusion.load(default_head_path())
    assert fusion is not None
    assert fusion.weight == LEXICON_WEIGHT
    manifest = json.loads((default_head_path() / "manifest.json").read_text())
    assert manifest["command"].startswith("txassist train sentiment --shipped --heads minilm")


async def test_a_short_turn_is_fused_on_the_loop_a_long_text_in_a_worker_thread(
    make_settings: Callable[..., Settings], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A worker thread waits for the GIL behind the turn's search; a pasted email must not hold the loop."""
    import anyio.to_thread

    from txassist.embedding import EmbeddingBatcher, TextEncoder
    from txassist.sentiment import service as module

    service = module.SentimentService(make_settings(), EmbeddingBatcher(TextEncoder()))
    service.load()
    hops: list[object] = []
    original = anyio.to_thread.run_sync

    async def counted(func: Callable[..., object], *args: object, **kwargs: Any) -> object:
        hops.append(func)
        return await original(func, *args, **kwargs)

    monkeypatch.setattr(anyio.to_thread, "run_sync", counted)
    vector = np.zeros((1, 384), dtype=np.float32)
    vector[0, 0] = 1.0
    await service.classify(["The box came late again."], vector)
    assert hops == []
    long_text = "The box came late again and nobody answered my emails. " * 60
    assert len(long_text) > module.INLINE_LEXICON_CHARS
    await service.classify([long_text], vector)
    assert len(hops) == 1
