"""Retrieval on banking77: one FAQ document per intent (20 queries each), held-out queries search.

Run: ``.venv/bin/python -m benchmarks.knowledge_banking77``.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from benchmarks.common import banking77_split, evaluate_retrieval, temporary_service, write_result

PER_DOCUMENT = 20
QUERIES_PER_INTENT = 10


def main() -> None:
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    docs, queries = banking77_split(per_document=PER_DOCUMENT, queries_per_intent=QUERIES_PER_INTENT)
    with tempfile.TemporaryDirectory() as tmp:
        service = temporary_service(Path(tmp))
        report = service.apply_sync(docs, [])
        results = evaluate_retrieval(service, queries)
    path = write_result(
        "knowledge_banking77",
        {
            "documents": len(docs),
            "chunks": report.live_chunks,
            "queries": len(queries),
            "split": f"per intent (seed 0): {PER_DOCUMENT} training queries form the FAQ document, "
            f"{QUERIES_PER_INTENT} other training queries are searched",
            "recall": results,
        },
    )
    print(path.read_text())


if __name__ == "__main__":
    main()
