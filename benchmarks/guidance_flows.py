"""Guidance: is the conversation's flow first? ABCD's three labelled samples and the conversations
written for every ABCD flow family (tests/drafting/guidance_data.py), over ABCD's 55 sub-flows as
procedure documents, searched by the real KnowledgeService (MiniLM, hybrid).

Reported beside the plain baseline (the best procedure hit of the search, no title re-rank):
flow-first rate per set, and the misses with what ranked first.

    nice -n 10 .venv/bin/python benchmarks/guidance_flows.py
"""

from __future__ import annotations

import asyncio
import os
import sys
import tempfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

from tests.drafting.guidance_data import WRITTEN, abcd_conversations, abcd_procedure_index, abcd_procedures  # noqa: E402
from tests.drafting.support import turns  # noqa: E402

from benchmarks.common import write_result  # noqa: E402
from txassist.drafting import guidance  # noqa: E402
from txassist.knowledge.service import KnowledgeService  # noqa: E402


def knowledge() -> KnowledgeService:
    return abcd_procedure_index(Path(tempfile.mkdtemp(prefix="guidance-")))


async def score(service: KnowledgeService, cases: list[tuple[str, list[tuple[str, str]]]]) -> dict[str, Any]:
    misses = []
    for expected, pairs in cases:
        found = await guidance.find_guidance(service, turns(*pairs))
        if found is None or found.flow_id != expected:
            misses.append({"expected": expected, "first": found.flow_id if found else None})
    return {"conversations": len(cases), "flow_first": round(1 - len(misses) / len(cases), 4), "misses": misses}


async def main() -> None:
    service = knowledge()
    sets = {"abcd_samples": abcd_conversations(), "written": WRITTEN}
    weight = guidance.TITLE_WEIGHT
    results: dict[str, Any] = {}
    for name, value in (("title_rerank", weight), ("baseline_search_only", 0.0)):
        guidance.TITLE_WEIGHT = value
        results[name] = {key: await score(service, cases) for key, cases in sets.items()}
    guidance.TITLE_WEIGHT = weight
    families = sorted({e.split(".")[0] for e, _ in WRITTEN})
    path = write_result(
        "guidance_flows",
        {
            "procedures": len(abcd_procedures()),
            "written_flow_families": families,
            "title_weight": weight,
            "results": results,
        },
    )
    for name, result in results.items():
        print(name, {k: v["flow_first"] for k, v in result.items()})
    print(path)


if __name__ == "__main__":
    asyncio.run(main())
