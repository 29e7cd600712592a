"""Retrieval on ABCD: 55 sub-flow guidelines as documents, labelled customer openings as queries.

Run: ``.venv/bin/python -m benchmarks.knowledge_abcd`` (writes benchmarks/results/knowledge_abcd.json).
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from benchmarks.common import (
    abcd_guideline_documents,
    abcd_queries,
    evaluate_retrieval,
    temporary_service,
    write_result,
)


def main() -> None:
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    docs = abcd_guideline_documents()
    queries = abcd_queries()
    with tempfile.TemporaryDirectory() as tmp:
        service = temporary_service(Path(tmp))
        report = service.apply_sync(docs, [])
        results = evaluate_retrieval(service, queries)
    path = write_result(
        "knowledge_abcd",
        {
            "documents": len(docs),
            "chunks": report.live_chunks,
            "queries": len(queries),
            "query_source": "abcd_sample.json: per conversation, the first customer message with 4+ words "
            "and the first three customer messages joined; expected = the conversation's sub-flow",
            "recall": results,
        },
    )
    print(path.read_text())


if __name__ == "__main__":
    main()
