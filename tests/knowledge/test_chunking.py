from __future__ import annotations

from pathlib import Path

import pytest
from benchmarks.common import abcd_guideline_documents

from txassist.embedding import TextEncoder
from txassist.knowledge.chunking import chunk_document, split_sentences
from txassist.knowledge.loaders import iter_files, load_path, make_document

REPO = Path(__file__).resolve().parents[2]


def test_heading_paths_and_overlap() -> None:
    body = " ".join(f"Sentence number {i} talks about refunds and deliveries." for i in range(80))
    doc = make_document(
        doc_id="d", title="Guide", text=f"# Guide\n\nIntro.\n\n## Refunds\n\n{body}\n\n### Late\n\nLate."
    )
    chunks = chunk_document(doc, max_tokens=128, overlap_tokens=24)
    assert chunks[0].heading_path == ["Guide"]
    refund_chunks = [c for c in chunks if c.heading_path == ["Guide", "Refunds"]]
    assert len(refund_chunks) > 2
    # Consecutive chunks of one section share their boundary sentence.
    first, second = refund_chunks[0].text.splitlines(), refund_chunks[1].text.splitlines()
    assert first[-1] == second[0]
    assert chunks[-1].heading_path == ["Guide", "Refunds", "Late"]
    assert [c.ordinal for c in chunks] == list(range(len(chunks)))


def test_sentences_split_at_ends_only() -> None:
    assert split_sentences("It costs $4.99 per box. Then stop! OK?") == ["It costs $4.99 per box.", "Then stop!", "OK?"]


@pytest.fixture(scope="module")
def encoder() -> TextEncoder:
    return TextEncoder()


def test_real_chunks_fit_the_model_window(encoder: TextEncoder) -> None:
    from txassist.knowledge.service import KnowledgeService

    counter = KnowledgeService.count_tokens.__get__(type("S", (), {"encoder": encoder})())
    docs = [d for f in iter_files([REPO / "examples" / "kb"]) for d in load_path(f)] + abcd_guideline_documents()
    long_doc = make_document(doc_id="long", title="Long", text="word " * 3000)
    for doc in [*docs, long_doc]:
        for chunk in chunk_document(doc, max_tokens=256, count=counter):
            assert encoder.count_tokens(chunk.embed_text) + 2 <= 256, chunk.chunk_id
