"""Shared benchmark helpers: timing statistics, JSON results, and the real data sets as documents.

The data stays in ``../shared/data`` (never copied into the repository).
"""

from __future__ import annotations

import csv
import json
import os
import platform
import random
import re
import statistics
import time
from collections import defaultdict
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from txassist.knowledge.loaders import KnowledgeDocument, make_document

REPO_ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO_ROOT.parent / "shared" / "data"
RESULTS_DIR = REPO_ROOT / "benchmarks" / "results"


# ------------------------------------------------------------------ timing and output


def timing_stats(samples_s: Sequence[float]) -> dict[str, float]:
    """Milliseconds: median, p99 (nearest rank), mean, min, max over ``samples_s`` seconds."""
    ms = sorted(s * 1000 for s in samples_s)
    if not ms:
        return {"n": 0}
    p99_rank = max(0, min(len(ms) - 1, round(0.99 * len(ms)) - 1))
    return {
        "n": len(ms),
        "p50_ms": round(statistics.median(ms), 3),
        "p99_ms": round(ms[p99_rank], 3),
        "mean_ms": round(statistics.fmean(ms), 3),
        "min_ms": round(ms[0], 3),
        "max_ms": round(ms[-1], 3),
    }


def time_calls(fn: Callable[[], Any], *, repeat: int, warmup: int = 3) -> list[float]:
    for _ in range(warmup):
        fn()
    samples = []
    for _ in range(repeat):
        started = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - started)
    return samples


def environment() -> dict[str, Any]:
    try:
        load = os.getloadavg()
    except OSError:
        load = (0.0, 0.0, 0.0)
    return {
        "python": platform.python_version(),
        "machine": platform.machine(),
        "cpus_available": len(os.sched_getaffinity(0)),
        "load_average_1m_at_start": round(load[0], 2),
        "when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }


def write_result(name: str, payload: dict[str, Any]) -> Path:
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    path = RESULTS_DIR / f"{name}.json"
    body = {"benchmark": name, "environment": environment(), **payload}
    path.write_text(json.dumps(body, indent=2, sort_keys=False) + "\n", encoding="utf-8")
    return path


# ------------------------------------------------------------------ ABCD


def _key(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", name.lower()).strip("_")


def abcd_subflow_keys(data_dir: Path = SHARED_DATA / "abcd") -> dict[tuple[str, str], str]:
    """(guideline flow, guideline sub-flow) -> ontology sub-flow key (same order within a flow)."""
    guidelines = json.loads((data_dir / "guidelines.json").read_text())
    ontology = json.loads((data_dir / "ontology.json").read_text())["intents"]["subflows"]
    keys: dict[tuple[str, str], str] = {}
    for flow, body in guidelines.items():
        names = list(body["subflows"])
        labels = ontology[_key(flow)]
        assert len(names) == len(labels), flow
        for name, label in zip(names, labels, strict=True):
            keys[(flow, name)] = f"{_key(flow)}.{label}"
    return keys


def abcd_guideline_documents(data_dir: Path = SHARED_DATA / "abcd") -> list[KnowledgeDocument]:
    """One Markdown document per sub-flow; the id is ``abcd-<flow>.<subflow>`` (the label)."""
    guidelines = json.loads((data_dir / "guidelines.json").read_text())
    keys = abcd_subflow_keys(data_dir)
    docs = []
    for flow, body in guidelines.items():
        for name, sub in body["subflows"].items():
            lines = [f"# {name}", "", f"{flow}: {body.get('description', '')}.", "", "## Instructions"]
            lines += [f"- {text}" for text in sub.get("instructions", [])]
            lines += ["", "## Actions"]
            for action in sub.get("actions", []):
                lines += ["", f"### {action.get('button') or action.get('type', 'Step')}", action.get("text", "")]
                lines += [f"- {text}" for text in action.get("subtext", [])]
            docs.append(
                make_document(
                    doc_id=f"abcd-{keys[(flow, name)]}",
                    title=f"{flow}: {name}",
                    text="\n".join(lines),
                    source="abcd/guidelines.json",
                    metadata={"flow": flow, "subflow": name},
                )
            )
    return docs


def abcd_queries(data_dir: Path = SHARED_DATA / "abcd") -> list[tuple[str, str]]:
    """(customer text, expected document id) from the labelled conversations.

    Two queries per conversation: the first customer message that states a need (four or more
    words), and the customer's first three messages together (what the panel has seen by then).
    """
    conversations = json.loads((data_dir / "abcd_sample.json").read_text())
    queries = []
    for convo in conversations:
        scenario = convo["scenario"]
        expected = abcd_expected_label(f"abcd-{scenario['flow']}.{scenario['subflow']}")
        customer = [text for speaker, text in convo["original"] if speaker == "customer"]
        first = next((t for t in customer if len(t.split()) >= 4), customer[0])
        queries.append((first, expected))
        queries.append((" ".join(customer[:3]), expected))
    return queries


def abcd_expected_label(expected: str) -> str:
    # ABCD conversations label some sub-flows with a numeric suffix ("timing_4"); the guideline
    # documents are per sub-flow, so the suffix is dropped.
    return re.sub(r"_\d+$", "", expected)


# ------------------------------------------------------------------ banking77


def banking77_split(
    path: Path = SHARED_DATA / "banking77" / "train.csv",
    *,
    per_document: int = 20,
    queries_per_intent: int = 10,
    seed: int = 0,
) -> tuple[list[KnowledgeDocument], list[tuple[str, str]]]:
    """One FAQ document per intent from ``per_document`` queries; held-out queries to search with."""
    by_intent: dict[str, list[str]] = defaultdict(list)
    with path.open(newline="", encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            by_intent[row["category"]].append(row["text"].strip())
    rng = random.Random(seed)
    docs = []
    queries: list[tuple[str, str]] = []
    for intent in sorted(by_intent):
        texts = by_intent[intent][:]
        rng.shuffle(texts)
        doc_texts, held_out = texts[:per_document], texts[per_document:]
        title = intent.replace("_", " ").capitalize()
        body = "\n".join([f"# {title}", "", "Customers ask:", *[f"- {t}" for t in doc_texts]])
        docs.append(make_document(doc_id=f"b77-{intent}", title=title, text=body, source="banking77/train.csv"))
        queries.extend((q, f"b77-{intent}") for q in held_out[:queries_per_intent])
    return docs, queries


def recall_at(ranked_ids: Sequence[Sequence[str]], expected: Sequence[str], k: int) -> float:
    hits = sum(1 for ids, want in zip(ranked_ids, expected, strict=True) if want in list(ids)[:k])
    return round(hits / max(1, len(expected)), 4)


def document_ranking(hit_document_ids: Sequence[str]) -> list[str]:
    """Chunk hits to a ranking of distinct documents (a document counts once, at its best chunk)."""
    return list(dict.fromkeys(hit_document_ids))


# ------------------------------------------------------------------ retrieval evaluation


def evaluate_retrieval(
    service: Any,
    queries: Sequence[tuple[str, str]],
    *,
    modes: Sequence[str] = ("hybrid", "dense", "lexical"),
    depth: int = 20,
) -> dict[str, dict[str, float]]:
    """recall@1 and recall@5 at document level for each mode; one embedding per query, shared."""
    texts = [q for q, _ in queries]
    expected = [e for _, e in queries]
    vectors = service.encoder.encode(texts)
    results: dict[str, dict[str, float]] = {}
    for mode in modes:
        rankings = []
        started = time.perf_counter()
        for text, vector in zip(texts, vectors, strict=True):
            outcome = service.search_sync(text, k=depth, mode=mode, vector=None if mode == "lexical" else vector)
            rankings.append(document_ranking([h.document_id for h in outcome.hits]))
        elapsed = time.perf_counter() - started
        results[mode] = {
            "recall@1": recall_at(rankings, expected, 1),
            "recall@5": recall_at(rankings, expected, 5),
            "queries": len(queries),
            "search_ms_per_query_excl_embedding": round(elapsed * 1000 / max(1, len(queries)), 3),
        }
    return results


def temporary_service(data_dir: Path, **overrides: Any) -> Any:
    from txassist.config import Settings
    from txassist.embedding import EmbeddingBatcher, TextEncoder
    from txassist.knowledge.service import KnowledgeService

    settings = Settings.from_env({}, data_dir=data_dir, **overrides)
    # Exported ONNX graphs are cached beside the benchmark cache, not in each temporary data dir.
    encoder = TextEncoder(backend=settings.embedding_backend, models_dir=REPO_ROOT / "benchmarks" / ".cache" / "models")
    encoder.warm_up()
    return KnowledgeService(settings, encoder, EmbeddingBatcher(encoder))
