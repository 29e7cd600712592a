"""How the intent recipe was chosen: out-of-fold cancel_service on the training rows only, never an eval set.

For each head (MiniLM: English written turns + BANKING77 train share; e5: every written turn + its
banking share), 5-fold out-of-fold scores for cancel_service under:

- ``random``: folds per row at random (the recipe before): a turn's translation sits in the training
  folds, so the scores are optimistic;
- ``grouped``: translations of one turn share a fold (``translation_groups``), as ``train intent`` does now;
- ``grouped+vote k``: as grouped, with the nearest-written-turn vote blended in (``Neighbours``).

Each row: precision / recall per language at the threshold with the best F1 over all rows.

    .venv/bin/python -m benchmarks.intent_cv      # after `txassist train intent --cache-dir ...`

Writes benchmarks/results/intent_cv.json.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

from benchmarks.common import write_result
from benchmarks.intent_quality import CACHE, pr
from txassist.cli.train import e5_encoder, minilm_encoder
from txassist.config import Settings
from txassist.intent import INTENT_LABELS
from txassist.intent.head import Neighbours, neighbour_vote
from txassist.intent.training import (
    REGULARISATION,
    SEED,
    _fit_label,
    banking_split,
    best_threshold,
    concat,
    e5_banking_rows,
    read_banking77,
    read_examples,
    translation_groups,
)
from txassist.sentiment.sources import cached_blocks, cached_vectors, shared_data_dir

FOLDS = 5
VARIANTS: dict[str, tuple[bool, Neighbours | None]] = {
    "random": (False, None),
    "grouped": (True, None),
    "grouped+vote k5": (True, Neighbours(k=5)),
    "grouped+vote k10": (True, Neighbours(k=10)),
}


def main() -> None:
    settings = Settings.from_env()
    minilm, e5 = minilm_encoder(settings), e5_encoder()
    examples = read_examples()
    banking, categories = read_banking77(shared_data_dir() / "banking77" / "train.csv")
    train_rows, _ = banking_split(categories)
    e5_examples = cached_blocks(examples.texts, "e5", e5, CACHE)
    groups = translation_groups(e5_examples, examples.languages)
    english = np.asarray([i for i, lang in enumerate(examples.languages) if lang == "en"], dtype=np.int64)
    e5_rows = e5_banking_rows(categories, train_rows)
    heads = {
        "minilm": (
            english,
            cached_blocks(examples.texts, "minilm", minilm, CACHE)[english],
            train_rows,
            cached_vectors(banking.texts, "minilm", minilm, CACHE)[train_rows],
        ),
        "e5": (
            np.arange(len(examples), dtype=np.int64),
            e5_examples,
            e5_rows,
            cached_vectors(banking.take(e5_rows).texts, "e5", e5, CACHE),
        ),
    }
    report: dict[str, Any] = {"label": "cancel_service", "folds": FOLDS, "written_rows": len(examples)}
    for name, (example_rows, x_examples, banking_rows, x_banking) in heads.items():
        data = concat([examples.take(example_rows), banking.take(banking_rows)])
        x = np.concatenate([x_examples, x_banking]).astype(np.float32)
        written = len(example_rows)
        row_groups = np.concatenate([groups[example_rows], len(examples) + np.arange(len(banking_rows))])
        report[name] = {
            variant: oof_report(
                data.targets[:, 0], data.languages, x, written, row_groups if grouped else None, vote, name
            )
            for variant, (grouped, vote) in VARIANTS.items()
        }
    path = write_result("intent_cv", report)
    print(path)
    for name in heads:
        for variant, scores in report[name].items():
            print(name, variant, scores["threshold"], {k: v["f1"] for k, v in scores["per_language"].items()})


def oof_report(
    y: npt.NDArray[np.float32],
    languages: list[str],
    x: npt.NDArray[np.float32],
    written: int,
    groups: npt.NDArray[np.int64] | None,
    vote: Neighbours | None,
    encoder: str,
) -> dict[str, Any]:
    rng = np.random.default_rng(SEED)
    if groups is None:
        fold_of = rng.integers(0, FOLDS, size=len(y))
    else:
        names, index = np.unique(groups, return_inverse=True)
        fold_of = rng.integers(0, FOLDS, size=len(names))[index]
    memory = np.arange(written)
    targets = np.zeros((len(y), len(INTENT_LABELS)), dtype=np.float32)
    targets[:, 0] = y
    scores = np.zeros(len(y))
    for fold in range(FOLDS):
        held = fold_of == fold
        coef, intercept = _fit_label(x[~held], y[~held], REGULARISATION[encoder])
        scores[held] = 1.0 / (1.0 + np.exp(-(x[held] @ coef + intercept)))
        if vote is not None:
            known = memory[fold_of[memory] != fold]
            votes = neighbour_vote(x[held], x[known], targets[known], vote)[:, 0]
            scores[held] = vote.weight * scores[held] + (1 - vote.weight) * votes
    threshold = best_threshold(scores, y)
    truth, fired = y == 1, scores >= threshold
    source = np.asarray(["written" if i < written else "banking77" for i in range(len(y))])
    langs = np.asarray(languages)
    per_language = {
        lang: pr(truth[(source == "written") & (langs == lang)], fired[(source == "written") & (langs == lang)])
        for lang in sorted(set(languages[:written]))
    }
    return {
        "threshold": threshold,
        "per_language": per_language,
        "written": pr(truth[source == "written"], fired[source == "written"]),
        "banking77": pr(truth[source == "banking77"], fired[source == "banking77"]),
    }


if __name__ == "__main__":
    main()
