"""Scoring variants beyond the shipped chunk score and fusion, on the retrieval_quality sets.

Each variant re-scores the same candidates from the same vectors and BM25 lists: the MiniLM dense
score of every live chunk (exact over the small benchmark KBs), then the hybrid fusion. Families:
pseudo-relevance feedback (Rocchio on the top unit vectors), soft aggregation of a chunk's units
(log-sum-exp), kNN voting over the nearest units, the unit centroid as a prototype, hubness
correction (CSLS), whitening (global and within-document), a logistic probe trained on the KB's own
units, BM25 variants (k1/b, bigrams, unit-level, BM25+, other normalisations, a margin-adaptive
weight) and e5 fused in for English queries (z-scored per query).

Settings are read on the banking77 dev part with ABCD and the English demo KB as guards (no question
lost against the default, hybrid not below its dense half); the test part is scored once, after the
choice, and never picks anything.

Run: ``nice .venv/bin/python -m benchmarks.retrieval_variants [--index-dir DIR]``
(writes benchmarks/results/retrieval_variants.json; ``--index-dir`` keeps the built indexes).
"""

from __future__ import annotations

import argparse
import csv
import itertools
import json
import math
import os
import random
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any

import bm25s
import numpy as np
import numpy.typing as npt

from benchmarks.common import (
    REPO_ROOT,
    SHARED_DATA,
    abcd_guideline_documents,
    abcd_queries,
    document_ranking,
    recall_at,
    temporary_service,
    write_result,
)
from benchmarks.retrieval_quality import DEV_PER_INTENT, DOC_QUESTIONS, TRANSLATED, banking77_parts
from txassist.knowledge.chunking import units as units_of
from txassist.knowledge.index import _lexical_text
from txassist.knowledge.lexical import tokenize
from txassist.knowledge.loaders import KnowledgeDocument, iter_files, load_path
from txassist.knowledge.service import AGGREGATION, FUSION, FUSION_DEPTH, Fusion, KnowledgeService, _aggregate, fuse

Array = npt.NDArray[np.float32]
Ranked = list[tuple[int, float]]
DEPTH = 20
EXTENDED_FROM = DOC_QUESTIONS + DEV_PER_INTENT + 20


class Data:
    """One query set against one KB: vectors, BM25 lists and the index arrays, computed once."""

    def __init__(self, service: KnowledgeService, queries: list[tuple[str, str]]) -> None:
        snap = service.snapshot
        assert snap.units is not None and snap.multilingual is not None and service.multilingual is not None
        self.snap = snap
        self.texts = [q for q, _ in queries]
        self.expected = [e for _, e in queries]
        self.q = service.encoder.encode(self.texts)
        self.e5q = service.multilingual.queries(self.texts)
        self.lex = [snap.lexical.search(t, FUSION_DEPTH, "en") for t in self.texts]
        self.docs = [c.document_id if c is not None else "" for c in snap.chunks]
        self.live = [p for p, c in enumerate(snap.chunks) if c is not None]
        self.U = np.asarray(snap.units.vectors)
        self.P = np.asarray(snap.units.parents)
        self.C = np.asarray(snap.vectors)
        self.EV = np.asarray(snap.multilingual.vectors)
        self.EP = np.asarray(snap.multilingual.parents)
        self.pos = np.asarray(self.live)
        self.pad, self.mask = padded(self.P, self.live)
        self.epad, self.emask = padded(self.EP, self.live)
        self.cache: dict[Any, Any] = {}
        self.default = [[(p, s) for p, s, _ in _aggregate(snap, v, FUSION_DEPTH, AGGREGATION)] for v in self.q]


def padded(parents: npt.NDArray[np.int64], live: list[int]) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.bool_]]:
    """Row numbers of each live chunk's rows, one line per chunk, padded (mask False) to the longest."""
    rows = [np.flatnonzero(parents == p) for p in live]
    width = max(1, *(len(r) for r in rows))
    pad = np.zeros((len(live), width), dtype=np.int64)
    mask = np.zeros((len(live), width), dtype=np.bool_)
    for line, r in enumerate(rows):
        pad[line, : len(r)] = r
        mask[line, : len(r)] = True
    return pad, mask


Dense = Callable[[Data, int], Ranked]
Lexical = Callable[[Data, int], Ranked]


def top(scores: dict[int, float]) -> Ranked:
    return sorted(scores.items(), key=lambda kv: -kv[1])[:FUSION_DEPTH]


def ranked(d: Data, scores: Array) -> Ranked:
    """Live chunks by ``scores`` (one per live chunk), best first."""
    order = np.argsort(-scores, kind="stable")[:FUSION_DEPTH]
    return [(int(d.pos[j]), float(scores[j])) for j in order.tolist()]


def unit_matrix(d: Data, us: Array) -> Array:
    return np.where(d.mask, us[d.pad], -np.inf)


def max_part(parts: Array) -> Array:
    return np.asarray(parts[:, 0])


def chunk_scores(d: Data, us: Array, cs: Array, part: Callable[[Array], Array] = max_part, cw: float = 0.25) -> Ranked:
    """The shipped shape, ``(part(units and chunk) + cw x chunk) / (1 + cw)``, with a pluggable ``part``
    (it reads each chunk's part cosines, best first, padded with -inf)."""
    whole = cs[d.pos]
    parts = -np.sort(-np.concatenate([whole[:, None], unit_matrix(d, us)], axis=1), axis=1)
    return ranked(d, (part(parts) + cw * whole) / (1 + cw))


def shipped(d: Data, i: int) -> Ranked:
    return d.default[i]


def lse(temperature: float, n: int) -> Dense:
    def part(parts: Array) -> Array:
        t = parts[:, :n]
        return np.asarray(t[:, 0] + temperature * np.log(np.exp((t - t[:, :1]) / temperature).sum(1)))

    return lambda d, i: chunk_scores(d, d.U @ d.q[i], d.C @ d.q[i], part)


def rocchio(beta: float, m: int) -> Dense:
    def run(d: Data, i: int) -> Ranked:
        q = d.q[i]
        nearest = np.argsort(-(d.U @ q))[:m]
        q2 = q + beta * d.U[nearest].mean(0)
        q2 /= np.linalg.norm(q2)
        return chunk_scores(d, d.U @ q2, d.C @ q2)

    return run


def centred(alpha: float) -> Dense:
    def run(d: Data, i: int) -> Ranked:
        q = d.q[i] - alpha * d.U.mean(0)
        q /= np.linalg.norm(q)
        return chunk_scores(d, d.U @ q, d.C @ q)

    return run


def csls(k: int, alpha: float) -> Dense:
    """Cross-domain similarity local scaling: a unit close to many other documents' units counts less."""

    def penalties(d: Data) -> tuple[Array, Array]:
        key = ("csls", k)
        if key not in d.cache:
            sim = np.where(d.P[:, None] == d.P[None, :], -1.0, d.U @ d.U.T)
            simc = np.where(np.arange(len(d.C))[:, None] == d.P[None, :], -1.0, d.C @ d.U.T)
            d.cache[key] = (np.sort(sim, 1)[:, -k:].mean(1), np.sort(simc, 1)[:, -k:].mean(1))
        value: tuple[Array, Array] = d.cache[key]
        return value

    def run(d: Data, i: int) -> Ranked:
        ru, rc = penalties(d)
        return chunk_scores(d, d.U @ d.q[i] - alpha / 2 * ru, d.C @ d.q[i] - alpha / 2 * rc)

    return run


def whitened(shrink: float, within: bool) -> Dense:
    def transform(d: Data) -> tuple[Array, Array, Array]:
        key = ("whiten", shrink, within)
        if key not in d.cache:
            centre = np.zeros_like(d.U)
            if within:
                for rows, keep in zip(d.pad, d.mask, strict=True):
                    if keep.any():
                        centre[rows[keep]] = d.U[rows[keep]].mean(0)
            else:
                centre[:] = d.U.mean(0)
            r = d.U - centre
            cov = r.T @ r / len(r)
            cov += shrink * np.trace(cov) / len(cov) * np.eye(len(cov), dtype=np.float32)
            values, vectors = np.linalg.eigh(cov)
            w = (vectors @ np.diag(values**-0.5) @ vectors.T).astype(np.float32)

            def unit(a: Array) -> Array:
                b = a @ w
                return np.asarray(b / np.linalg.norm(b, axis=-1, keepdims=True), dtype=np.float32)

            d.cache[key] = (w, unit(d.U), unit(d.C))
        value: tuple[Array, Array, Array] = d.cache[key]
        return value

    def run(d: Data, i: int) -> Ranked:
        w, u2, c2 = transform(d)
        q = d.q[i] @ w
        q /= np.linalg.norm(q)
        return chunk_scores(d, u2 @ q, c2 @ q)

    return run


def probe(c: float, gamma: float) -> Dense:
    """A logistic regression over chunks, trained on each chunk's units and its own vector."""
    from sklearn.linear_model import LogisticRegression

    def model(d: Data) -> Any:
        key = ("probe", c)
        if key not in d.cache:
            x = np.concatenate([d.U, d.C[d.live]])
            y = np.concatenate([d.P, np.asarray(d.live)])
            d.cache[key] = LogisticRegression(C=c, max_iter=300).fit(x, y)
        return d.cache[key]

    def run(d: Data, i: int) -> Ranked:
        m = model(d)
        logp = dict(zip(m.classes_.tolist(), m.predict_log_proba(d.q[i][None])[0].tolist(), strict=True))
        return top({p: s + gamma * logp[p] for p, s in chunk_scores(d, d.U @ d.q[i], d.C @ d.q[i])})

    return run


def prototype(weight: float) -> Dense:
    def run(d: Data, i: int) -> Ranked:
        us, whole = d.U @ d.q[i], (d.C @ d.q[i])[d.pos]
        units = unit_matrix(d, us)
        has = d.mask.any(1)
        best = np.where(has, np.maximum(whole, units.max(1)), whole)
        mean = np.where(has, np.where(d.mask, units, 0.0).sum(1) / np.maximum(1, d.mask.sum(1)), whole)
        return ranked(d, (best + 0.25 * whole + weight * mean) / (1.25 + weight))

    return run


def knn_vote(k: int, temperature: float, weight: float) -> Dense:
    def run(d: Data, i: int) -> Ranked:
        us = d.U @ d.q[i]
        nearest = np.argsort(-us)[:k]
        votes: dict[int, float] = {}
        for row in nearest.tolist():
            p = int(d.P[row])
            votes[p] = votes.get(p, 0.0) + math.exp((us[row] - us[nearest[0]]) / temperature)
        return top({p: s + weight * math.log(votes.get(p, 1e-3)) for p, s in d.default[i]})

    return run


def with_e5(alpha: float) -> Dense:
    """MiniLM and e5 (best row per chunk) scores, e5 z-scored onto MiniLM's spread per query."""

    def run(d: Data, i: int) -> Ranked:
        best = np.where(d.emask, (d.EV @ d.e5q[i])[d.epad], -np.inf).max(1)
        e5 = dict(zip(d.live, best.tolist(), strict=True))
        minilm = dict(d.default[i])
        keys = list(minilm)
        mv = np.asarray([minilm[p] for p in keys])
        ev = np.asarray([e5[p] for p in keys])
        ev = (ev - ev.mean()) / (ev.std() + 1e-9) * mv.std() + mv.mean()
        return top({p: float((1 - alpha) * a + alpha * b) for p, a, b in zip(keys, mv, ev, strict=True)})

    return run


def bm25_variant(d: Data, key: tuple[Any, ...]) -> Lexical:
    """BM25 rebuilt with other parameters: (k1, b, method, bigrams, unit level)."""
    if key not in d.cache:
        k1, b, method, bigrams, unit_level = key
        texts, owners = [], []
        for p in d.live:
            chunk = d.snap.chunks[p]
            assert chunk is not None
            for text in (units_of(chunk) or [chunk.embed_text]) if unit_level else [_lexical_text(chunk)]:
                texts.append(text)
                owners.append(p)

        def terms(text: str) -> list[str]:
            words = tokenize(text)
            return words + [f"{a}_{b}" for a, b in itertools.pairwise(words)] if bigrams else words

        retriever = bm25s.BM25(k1=k1, b=b, method=method)
        retriever.index([terms(t) or ["\x00"] for t in texts], show_progress=False)
        where = np.asarray(owners)

        def run(d: Data, i: int) -> Ranked:
            words = terms(d.texts[i])
            if not words:
                return []
            scores = np.asarray(retriever.get_scores(words))
            best: dict[int, float] = {}
            for row in np.argsort(-scores).tolist():
                if scores[row] <= 0:
                    break
                best.setdefault(int(where[row]), float(scores[row]))
            return top(best)

        d.cache[key] = run
    found: Lexical = d.cache[key]
    return found


def adaptive_fuse(dense: Ranked, lexical: Ranked, weight: float, scale: float) -> Ranked:
    """The shipped score fusion with a weight that shrinks as the dense margin (first - second) grows."""
    margin = dense[0][1] - dense[1][1] if len(dense) > 1 else 0.0
    return fuse(dense, lexical, Fusion("score", weight * math.exp(-margin / scale)))


class Variant:
    def __init__(
        self,
        family: str,
        name: str,
        dense: Dense = shipped,
        *,
        fusion: Fusion = FUSION,
        lexical: tuple[Any, ...] | None = None,
        adaptive: float | None = None,
    ) -> None:
        self.family, self.name, self.dense, self.fusion = family, name, dense, fusion
        self.lexical, self.adaptive = lexical, adaptive
        self.top1: dict[int, list[bool]] = {}  # per query set: hybrid's first document right

    def recall(self, d: Data) -> dict[str, float]:
        hybrid, dense = [], []
        lexical = bm25_variant(d, self.lexical) if self.lexical else None
        for i in range(len(d.texts)):
            ranked = self.dense(d, i)
            words = lexical(d, i) if lexical else d.lex[i]
            if self.adaptive is not None:
                fused = adaptive_fuse(ranked, words, self.fusion.lexical_weight, self.adaptive)
            else:
                fused = fuse(ranked, words, self.fusion)
            hybrid.append(document_ranking([d.docs[p] for p, _ in fused[:DEPTH]]))
            dense.append(document_ranking([d.docs[p] for p, _ in ranked[:DEPTH]]))
        self.top1[id(d)] = [bool(r) and r[0] == e for r, e in zip(hybrid, d.expected, strict=True)]
        return {
            "hybrid@1": recall_at(hybrid, d.expected, 1),
            "hybrid@5": recall_at(hybrid, d.expected, 5),
            "dense@1": recall_at(dense, d.expected, 1),
            "dense@5": recall_at(dense, d.expected, 5),
        }


def variants() -> list[Variant]:
    out = [Variant("shipped", "default: (best + 0.25 chunk) / 1.25, score fusion w 0.2")]
    out += [Variant("lse", f"log-sum-exp of top {n}, T {t}", lse(t, n)) for t in (0.02, 0.05, 0.1) for n in (3, 8)]
    out += [Variant("rocchio", f"beta {b}, top {m} units", rocchio(b, m)) for b in (0.25, 0.5, 1.0) for m in (3, 10)]
    out += [Variant("centring", f"query minus {a} x unit mean", centred(a)) for a in (0.5, 1.0)]
    out += [Variant("csls", f"k {k}, alpha {a}", csls(k, a)) for k in (5, 10) for a in (0.5, 1.0)]
    out += [Variant("whitening", f"within-document, shrink {s}", whitened(s, True)) for s in (0.3, 1.0, 3.0)]
    out += [Variant("whitening", f"global, shrink {s}", whitened(s, False)) for s in (0.3, 1.0)]
    out += [Variant("probe", f"logistic C {c}, + {g} log p", probe(c, g)) for c in (1.0, 10.0) for g in (0.01, 0.03)]
    out += [Variant("prototype", f"+ {w} x mean unit cosine", prototype(w)) for w in (0.1, 0.25, 0.5)]
    out += [
        Variant("knn", f"top {k} units, T {t}, + 0.01 log votes", knn_vote(k, t, 0.01))
        for k in (10, 30)
        for t in (0.02, 0.05)
    ]
    out += [Variant("e5 for English", f"alpha {a} (z-scored e5)", with_e5(a)) for a in (0.2, 0.35, 0.5)]
    out += [Variant("fusion weight", f"score fusion w {w}", fusion=Fusion("score", w)) for w in (0.1, 0.3, 0.4)]
    out += [
        Variant("fusion weight", f"adaptive w {w}, margin scale {s}", fusion=Fusion("score", w), adaptive=s)
        for w in (0.3, 0.4)
        for s in (0.02, 0.05)
    ]
    bm25 = [
        ("k1 1.2, b 0.75", (1.2, 0.75, "lucene", False, False)),
        ("k1 2.0, b 0.75", (2.0, 0.75, "lucene", False, False)),
        ("k1 1.5, b 0.3", (1.5, 0.3, "lucene", False, False)),
        ("k1 0.9, b 0.4", (0.9, 0.4, "lucene", False, False)),
        ("BM25+", (1.5, 0.75, "bm25+", False, False)),
        ("bigrams", (1.5, 0.75, "lucene", True, False)),
        ("unit level (best unit)", (1.5, 0.75, "lucene", False, True)),
    ]
    out += [
        Variant("bm25", f"{name}, w {w}", fusion=Fusion("score", w), lexical=key)
        for name, key in bm25
        for w in (0.2, 0.3)
    ]
    return out


def extended_dev(per_intent: int, seed: int = 0) -> list[tuple[str, str]]:
    """More development questions: the same shuffle as ``banking77_parts``, rows past every test part
    it can cut (its default test part is 20 per intent), so no test question is read."""
    by_intent: dict[str, list[str]] = defaultdict(list)
    with (SHARED_DATA / "banking77" / "train.csv").open(newline="", encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            by_intent[row["category"]].append(row["text"].strip())
    rng = random.Random(seed)
    out = []
    for intent in sorted(by_intent):
        texts = list(dict.fromkeys(by_intent[intent]))
        rng.shuffle(texts)
        out += [(q, f"b77-{intent}") for q in texts[EXTENDED_FROM : EXTENDED_FROM + per_intent]]
    return out


def services(root: Path) -> dict[str, tuple[KnowledgeService, list[KnowledgeDocument]]]:
    demo = [d for f in iter_files([REPO_ROOT / "examples" / "kb"]) for d in load_path(f)]
    docs, _, _ = banking77_parts(10)
    out = {}
    for name, documents in (("b77", docs), ("abcd", abcd_guideline_documents()), ("demo", demo)):
        service = temporary_service(root / name, embedding_backend="auto", multilingual_search=True)
        service.languages.warm_up()
        service.reload_if_changed()
        if service.snapshot.live == 0:
            service.apply_sync(documents, [])
        out[name] = (service, documents)
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--index-dir", type=Path, default=None)
    args = parser.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        built = services(args.index_dir or Path(tmp))
        _, dev, test = banking77_parts(10)
        questions = json.loads(TRANSLATED.read_text(encoding="utf-8"))["questions"]
        guards = {
            "dev": Data(built["b77"][0], dev),
            "dev_extended": Data(built["b77"][0], extended_dev(50)),
            "abcd": Data(built["abcd"][0], abcd_queries()),
            "demo_kb_en": Data(built["demo"][0], [(q["en"], q["document_id"]) for q in questions]),
        }
        rows: list[dict[str, Any]] = []
        tried = variants()
        for variant in tried:
            rows.append(
                {"family": variant.family, "variant": variant.name, **{k: variant.recall(d) for k, d in guards.items()}}
            )
            # Paired against the default on the larger dev set: questions this variant wins and loses.
            mine, base = variant.top1[id(guards["dev_extended"])], tried[0].top1[id(guards["dev_extended"])]
            rows[-1]["dev_extended"]["won_vs_default@1"] = sum(a and not b for a, b in zip(mine, base, strict=True))
            rows[-1]["dev_extended"]["lost_vs_default@1"] = sum(b and not a for a, b in zip(mine, base, strict=True))
            print(json.dumps(rows[-1]), flush=True)
        reference = rows[0]

        def allowed(row: dict[str, Any]) -> bool:
            return (
                all(
                    row[k]["hybrid@1"] >= reference[k]["hybrid@1"] and row[k]["hybrid@1"] >= row[k]["dense@1"]
                    for k in ("abcd", "demo_kb_en")
                )
                and row["dev"]["hybrid@1"] >= row["dev"]["dense@1"]
            )

        candidates = [r for r in rows if allowed(r)]
        chosen = max(candidates, key=lambda r: (r["dev"]["hybrid@1"], r["dev"]["hybrid@5"]))
        # Scored after the choice, for the record only.
        held_out = Data(built["b77"][0], test)
        for row, variant in zip(rows, tried, strict=True):
            row["test"] = variant.recall(held_out)
    n = len(dev)
    p = reference["dev"]["hybrid@1"]
    write_result(
        "retrieval_variants",
        {
            "sets": {
                "dev": n,
                "dev_extended": len(guards["dev_extended"].texts),
                "test": len(test),
                "abcd": len(guards["abcd"].texts),
                "demo_kb_en": len(questions),
            },
            "rule": "dev-best hybrid recall@1 (then @5) among variants that lose no ABCD or English demo question "
            "against the default and keep hybrid >= dense on dev, ABCD and demo; test scored after the choice",
            "dev_standard_error_recall@1": round(math.sqrt(p * (1 - p) / n), 4),
            "chosen_on_dev": chosen["variant"],
            "runtime_s": round(time.perf_counter() - started, 1),
            "variants": rows,
        },
    )


if __name__ == "__main__":
    main()
