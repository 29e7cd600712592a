"""Signal extraction quality: precision and recall per type on labelled turns and on banking77.

    HF_HUB_OFFLINE=1 .venv/bin/python benchmarks/signals_quality.py [--banking-limit N]

Labelled turns: tests/signals/labelled_turns.jsonl (contact-centre wording for the demo meal-kit
company; each row lists the expected signal types, plus best_dense_score / sentiment_history where
those rules need them). banking77 (../shared/data/banking77/train.csv, all 77 intents): the intent
``terminate_account`` should raise cancellation_intent, and the card and transfer *failure* intents
(DEFECT_INTENTS) should raise defect; every other intent should raise neither.
Writes benchmarks/results/signals_quality.json.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import sys
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

os.environ.setdefault("HF_HUB_OFFLINE", "1")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from txassist.config import Settings  # noqa: E402
from txassist.embedding import EmbeddingBatcher, TextEncoder  # noqa: E402
from txassist.signals import extractors  # noqa: E402
from txassist.signals.extraction import SignalExtractor  # noqa: E402

LABELLED = ROOT / "tests" / "signals" / "labelled_turns.jsonl"
BANKING = ROOT.parent / "shared" / "data" / "banking77" / "train.csv"
RESULTS = ROOT / "benchmarks" / "results" / "signals_quality.json"

# Failures of something that should have worked (a card, a payment, a transfer, a top-up, an ATM):
# what a product team would file as a defect. Excluded: pending states (working as designed, just
# slow), fraud/unrecognised payments (security, not a defect), and how-to or fee questions.
DEFECT_INTENTS = (
    "card_not_working",
    "contactless_not_working",
    "virtual_card_not_working",
    "declined_card_payment",
    "declined_cash_withdrawal",
    "declined_transfer",
    "failed_transfer",
    "transfer_not_received_by_recipient",
    "card_swallowed",
    "top_up_failed",
    "top_up_reverted",
    "wrong_amount_of_cash_received",
)
CANCEL_INTENTS = ("terminate_account",)


def build_service() -> SignalExtractor:
    settings = Settings.from_env({})
    encoder = TextEncoder(settings.embedding_model)
    encoder.warm_up()
    service = SignalExtractor(settings, encoder, EmbeddingBatcher(encoder))
    service.prototypes.embed(encoder)
    return service


def predict(service: SignalExtractor, texts: list[str], rows: list[dict[str, Any]] | None = None) -> list[set[str]]:
    vectors = service.encoder.encode(texts)
    out: list[set[str]] = []
    for index, (text, vector) in enumerate(zip(texts, vectors, strict=True)):
        row = rows[index] if rows else {}
        found = service.candidates_for_text(text, vector, best_dense_score=row.get("best_dense_score"))
        found += extractors.worsening_sentiment(row.get("sentiment_history", []))
        out.append({c.type for c in found})
    return out


def scores(gold: list[set[str]], predicted: list[set[str]], types: list[str]) -> dict[str, dict[str, float]]:
    result: dict[str, dict[str, float]] = {}
    for name in types:
        tp = sum(1 for g, p in zip(gold, predicted, strict=True) if name in g and name in p)
        fp = sum(1 for g, p in zip(gold, predicted, strict=True) if name not in g and name in p)
        fn = sum(1 for g, p in zip(gold, predicted, strict=True) if name in g and name not in p)
        precision = tp / (tp + fp) if tp + fp else 0.0
        recall = tp / (tp + fn) if tp + fn else 0.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        result[name] = {
            "precision": round(precision, 3),
            "recall": round(recall, 3),
            "f1": round(f1, 3),
            "support": tp + fn,
            "tp": tp,
            "fp": fp,
            "fn": fn,
        }
    return result


def labelled(service: SignalExtractor) -> dict[str, Any]:
    rows = [json.loads(line) for line in LABELLED.read_text().splitlines() if line.strip()]
    predicted = predict(service, [r["text"] for r in rows], rows)
    gold = [set(r["labels"]) for r in rows]
    errors = [
        {"text": r["text"], "gold": sorted(g), "predicted": sorted(p)}
        for r, g, p in zip(rows, gold, predicted, strict=True)
        if g != p
    ]
    return {"turns": len(rows), "per_type": scores(gold, predicted, list(extractors.SIGNAL_TYPES)), "errors": errors}


def banking(service: SignalExtractor, limit: int) -> dict[str, Any]:
    with BANKING.open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    if limit:
        rows = rows[:limit]
    started = time.perf_counter()
    predicted = predict(service, [r["text"] for r in rows])
    elapsed = time.perf_counter() - started
    gold: list[set[str]] = []
    for row in rows:
        labels = set()
        if row["category"] in CANCEL_INTENTS:
            labels.add("cancellation_intent")
        if row["category"] in DEFECT_INTENTS:
            labels.add("defect")
        gold.append(labels)
    per_intent: dict[str, dict[str, int]] = defaultdict(lambda: {"n": 0, "defect": 0, "cancellation_intent": 0})
    for row, p in zip(rows, predicted, strict=True):
        bucket = per_intent[row["category"]]
        bucket["n"] += 1
        for name in ("defect", "cancellation_intent"):
            bucket[name] += name in p
    noisiest = sorted(
        ((k, v) for k, v in per_intent.items() if k not in DEFECT_INTENTS + CANCEL_INTENTS),
        key=lambda kv: -(kv[1]["defect"] + kv[1]["cancellation_intent"]) / kv[1]["n"],
    )[:8]
    return {
        "rows": len(rows),
        "intents": len(per_intent),
        "defect_intents": list(DEFECT_INTENTS),
        "per_type": scores(gold, predicted, ["defect", "cancellation_intent"]),
        "false_positive_intents": dict(noisiest),
        "turns_per_second": round(len(rows) / elapsed, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--banking-limit", type=int, default=0, help="only the first N banking77 rows (0: all)")
    args = parser.parse_args()
    service = build_service()
    result = {"extractor_version": "see txassist.signals.extraction.EXTRACTOR_VERSION", "labelled": labelled(service)}
    if BANKING.exists():
        result["banking77"] = banking(service, args.banking_limit)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2) + "\n")
    summary = {k: v["per_type"] for k, v in result.items() if isinstance(v, dict) and "per_type" in v}
    print(json.dumps(summary, indent=2))


if __name__ == "__main__":
    main()
