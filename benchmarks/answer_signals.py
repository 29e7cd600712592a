"""Can retrieval tell an answerable non-English question from an off-topic one? (issue 17, `answer`)

The KB is English; an unlabelled nb/de/es question shares no words with it, so the planner hands it
over (`no_answer`). This measures, on the unlabelled `answer` and `no_answer` turns in other
languages of the five scenario sets (all development sets), how well each candidate signal
separates the two: ROC AUC, the best balanced accuracy over thresholds, and how many answerable
turns score above every off-topic one (what a threshold could take without one wrong answer).

Signals, all from the e5 index a turn already searches: the best cosine; it as a z-score over the
query's cosines to every row; the margin between the first document and the second, fifth and tenth;
the MiniLM search of the same words agreeing on the first document; hubness-corrected scores
(CSLS: ``2 cos(q, d) - r_q - r_d``, where ``r_d`` is a document's mean cosine to its nearest
reference queries, either the KB's own titles embedded as queries or the intent head's written
training turns); the nearest written training turn; and the best score and margins of the ranking
search uses since the query mean is taken off (``knowledge.centering``).

    nice -n 10 .venv/bin/python -m benchmarks.answer_signals   → benchmarks/results/answer_signals.json
"""

from __future__ import annotations

import csv
import json
import os
import sys
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

from benchmarks.common import write_result  # noqa: E402
from benchmarks.reply_scenarios import BLIND, SETS, knowledge_service  # noqa: E402
from txassist.drafting.message import read_message  # noqa: E402
from txassist.knowledge.centering import centred, load_query_mean  # noqa: E402

NEAREST = 10  # reference queries per document, and documents per query, in the CSLS means
TRAIN = ROOT / "src" / "txassist" / "intent" / "data" / "intent_train.csv"


def per_document(scores: np.ndarray, documents: np.ndarray, names: list[str]) -> np.ndarray:
    return np.array([scores[documents == name].max() for name in names])


def separation(rows: list[dict[str, Any]], key: str) -> dict[str, float]:
    pos = [r[key] for r in rows if r["answerable"]]
    neg = [r[key] for r in rows if not r["answerable"]]
    auc = sum((p > n) + 0.5 * (p == n) for p in pos for n in neg) / (len(pos) * len(neg))
    balanced = max((sum(p >= t for p in pos) / len(pos) + sum(n < t for n in neg) / len(neg)) / 2 for t in pos + neg)
    return {
        "auc": round(auc, 3),
        "best_balanced_accuracy": round(balanced, 3),
        "answerable_above_every_off_topic": sum(p > max(neg) for p in pos),
    }


def main() -> None:
    knowledge = knowledge_service()
    snapshot = knowledge._snapshot
    index = snapshot.multilingual
    encoder = knowledge.multilingual
    assert index is not None and encoder is not None
    chunks = [snapshot.chunks[int(p)] for p in index.parents]
    documents = np.array([c.document_id if c is not None else "" for c in chunks])
    names = sorted(set(documents) - {""})
    titles = [snapshot.documents[name].document.title for name in names]
    with TRAIN.open(encoding="utf-8") as handle:
        written = [row["text"] for row in csv.DictReader(handle)]
    loaded = load_query_mean()
    assert loaded is not None
    mean = loaded.array()
    references = {"titles": encoder.queries(titles), "written_turns": encoder.queries(written)}
    hub = {
        name: np.sort(np.array([per_document(index.vectors @ q, documents, names) for q in refs]), axis=0)[::-1][
            :NEAREST
        ].mean(axis=0)
        for name, refs in references.items()
    }
    rows: list[dict[str, Any]] = []
    for subset, path in SETS.items():
        if subset in BLIND:
            continue
        for item in json.loads(path.read_text(encoding="utf-8"))["items"]:
            if item["language"] == "en" or item.get("intents") or item.get("history"):
                continue
            if item["expected_act"] not in ("answer", "no_answer"):
                continue
            text = read_message(item["text"]).body or item["text"]
            query = encoder.queries([text])[0]
            cosines = index.vectors @ query
            docs = per_document(cosines, documents, names)
            ranked = np.sort(docs)[::-1]
            e5_first = names[int(docs.argmax())]
            minilm = knowledge.search_sync(text, k=5, language="en").hits
            r_q = ranked[:NEAREST].mean()
            row: dict[str, Any] = {
                "set": subset,
                "id": item["id"],
                "answerable": item["expected_act"] == "answer",
                "best": float(ranked[0]),
                "z": float((ranked[0] - cosines.mean()) / cosines.std()),
                "margin_2nd": float(ranked[0] - ranked[1]),
                "margin_5th": float(ranked[0] - ranked[4]),
                "margin_10th": float(ranked[0] - ranked[9]),
                "minilm_agrees": float(bool(minilm) and minilm[0].document_id == e5_first),
                "nearest_written_turn": float((references["written_turns"] @ query).max()),
            }
            for name, r_d in hub.items():
                row[f"csls_{name}"] = float((2 * docs - r_q - r_d).max())
            # What search ranks by (knowledge.centering): the query minus the mean customer question.
            centred_docs = np.sort(per_document(index.vectors @ centred(query, mean), documents, names))[::-1]
            row["centred_best"] = float(centred_docs[0])
            row["centred_margin_2nd"] = float(centred_docs[0] - centred_docs[1])
            row["centred_margin_5th"] = float(centred_docs[0] - centred_docs[4])
            rows.append(row)
    signals = [k for k in rows[0] if k not in ("set", "id", "answerable")]
    separations = {key: separation(rows, key) for key in signals}
    payload = {
        "turns": {
            "answerable": sum(r["answerable"] for r in rows),
            "off_topic": sum(not r["answerable"] for r in rows),
        },
        "signals": separations,
        "rows": [{k: (round(v, 4) if isinstance(v, float) else v) for k, v in r.items()} for r in rows],
    }
    path = write_result("answer_signals", payload)
    for key, found in separations.items():
        print(f"{key:24}", found)
    print(path)


if __name__ == "__main__":
    main()
