"""Index mechanics with a fast hashing embedder: writes, reuse, versions, crashes and restarts."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest

from tests.knowledge.fakes import DIM, HashingEmbedder
from txassist.knowledge import index as index_module
from txassist.knowledge.chunking import chunk_document
from txassist.knowledge.index import (
    IndexCorruptError,
    IndexSnapshot,
    apply_changes,
    current_version,
    load_snapshot,
)
from txassist.knowledge.loaders import KnowledgeDocument, make_document

REPO = Path(__file__).resolve().parents[2]


def doc(doc_id: str, text: str) -> KnowledgeDocument:
    return make_document(doc_id=doc_id, title=doc_id.title(), text=text, url=f"https://kb/{doc_id}")


def write(
    index_dir: Path,
    embed: HashingEmbedder,
    upserts: list[KnowledgeDocument] = (),  # type: ignore[assignment]
    deletes: list[str] = (),  # type: ignore[assignment]
    **kwargs: object,
) -> IndexSnapshot:
    _, snapshot = apply_changes(
        index_dir,
        upserts=list(upserts),
        deletes=list(deletes),
        embed=embed,
        chunker=lambda d: chunk_document(d, max_tokens=64),
        dimension=DIM,
        **kwargs,  # type: ignore[arg-type]
    )
    return snapshot


def top_document(snapshot: IndexSnapshot, embed: HashingEmbedder, query: str) -> str | None:
    hits = snapshot.dense_search(embed([query])[0], 1)
    if not hits:
        return None
    chunk = snapshot.chunks[hits[0][0]]
    return chunk.document_id if chunk else None


CORPUS = {
    "refunds": "# Refunds\n\nRefunds reach your card within five business days after we approve them.",
    "delivery": "# Delivery\n\nBoxes arrive between eight and six on your chosen delivery day.",
    "password": "# Password\n\nReset your password from the sign in page using the emailed link.",
}


def test_add_replace_delete_and_search(tmp_path: Path) -> None:
    embed = HashingEmbedder()
    index_dir = tmp_path / "index"
    snap = write(index_dir, embed, [doc(k, v) for k, v in CORPUS.items()])
    assert (index_dir / "CURRENT").read_text().strip() == snap.version == "v000001"
    assert top_document(snap, embed, "reset password link") == "password"
    assert snap.lexical.search("delivery day", 3)[0][0] in {
        i for i, c in enumerate(snap.chunks) if c and c.document_id == "delivery"
    }

    snap = write(index_dir, embed, [doc("password", "# Password\n\nCall us to unlock a locked account.")])
    assert snap.documents["password"].document.text.endswith("locked account.")
    assert top_document(snap, embed, "emailed link sign in page") != "password"
    assert top_document(snap, embed, "unlock locked account") == "password"

    snap = write(index_dir, embed, deletes=["refunds"])
    assert "refunds" not in snap.documents
    assert all(c is None or c.document_id != "refunds" for c in snap.chunks)
    assert snap.lexical.search("refunds card business days", 5) == [] or all(
        snap.chunks[p].document_id != "refunds"  # type: ignore[union-attr]
        for p, _ in snap.lexical.search("refunds card business days", 5)
    )


def test_unchanged_documents_and_chunks_are_not_embedded_again(tmp_path: Path) -> None:
    embed = HashingEmbedder()
    index_dir = tmp_path / "index"
    write(index_dir, embed, [doc(k, v) for k, v in CORPUS.items()])
    first_calls = sum(embed.calls)
    assert first_calls == 3
    write(index_dir, embed, [doc(k, v) for k, v in CORPUS.items()])
    assert sum(embed.calls) == first_calls  # identical documents: nothing to embed

    long_text = "# Guide\n\n## Part A\n\nAlpha text stays the same.\n\n## Part B\n\nBeta text before the edit."
    write(index_dir, embed, [doc("guide", long_text)])
    before = sum(embed.calls)
    snap = write(index_dir, embed, [doc("guide", long_text.replace("before the edit", "after the edit"))])
    # Only the edited section is re-embedded; the unchanged sections keep their vectors.
    assert sum(embed.calls) - before == 1
    assert len(snap.documents["guide"].chunk_ids) == 2


def test_restart_loads_the_same_index(tmp_path: Path) -> None:
    embed = HashingEmbedder()
    index_dir = tmp_path / "index"
    written = write(index_dir, embed, [doc(k, v) for k, v in CORPUS.items()])
    loaded = load_snapshot(index_dir, DIM)
    assert loaded.version == written.version
    assert set(loaded.documents) == set(CORPUS)
    assert top_document(loaded, embed, "delivery day boxes") == "delivery"


def test_hnsw_past_threshold_appends_and_tombstones(tmp_path: Path) -> None:
    embed = HashingEmbedder()
    index_dir = tmp_path / "index"
    docs = [doc(f"d{i}", f"# Topic {i}\n\nUnique word w{i}x and shared filler.") for i in range(30)]
    snap = write(index_dir, embed, docs, ann_threshold=10)
    assert snap.kind == "hnsw"
    snap = write(index_dir, embed, deletes=["d3"], ann_threshold=10)
    assert snap.kind == "hnsw" and snap.tombstones == 1  # no rebuild: the deleted row is a tombstone
    assert top_document(snap, embed, "w3x") != "d3"
    snap = write(index_dir, embed, [doc("new", "# New\n\nFresh zzzword.")], ann_threshold=10)
    assert snap.tombstones == 1 and top_document(snap, embed, "zzzword fresh") == "new"
    flat = write(index_dir, embed, [doc("new2", "# Another\n\nMore.")], index_kind="flat")
    assert flat.kind == "flat" and flat.tombstones == 0


def test_unit_graph_grows_in_place_and_skips_deleted_chunks(tmp_path: Path) -> None:
    import faiss

    embed = HashingEmbedder()
    index_dir = tmp_path / "index"
    docs = [
        doc(f"d{i}", f"# Topic {i}\n\nThe first sentence names q{i}q here. The second one says r{i}r there.")
        for i in range(20)
    ]
    first = write(index_dir, embed, docs, ann_threshold=10)
    assert first.units is not None and isinstance(first.units.dense, faiss.IndexHNSW)
    rows = len(first.units)
    graph = first.units.dense.ntotal

    after_delete = write(index_dir, embed, deletes=["d3"], ann_threshold=10)
    assert after_delete.units is not None
    # Kept as tombstones, like the chunk rows: the graph was not rebuilt.
    assert len(after_delete.units) == rows and after_delete.units.dense.ntotal == graph
    found = {after_delete.chunks[p].document_id for p, _ in after_delete.unit_search(embed(["q3q"])[0], 5)}  # type: ignore[union-attr]
    assert "d3" not in found

    fresh = doc("new", "# New\n\nA fresh zzzword sentence. And a second one.")
    added = write(index_dir, embed, [fresh], ann_threshold=10)
    assert added.units is not None and len(added.units) == rows + 2
    assert first.units.dense.ntotal == graph  # the older snapshot's graph is untouched
    pos, _ = added.unit_search(embed(["fresh zzzword sentence"])[0], 1)[0]
    assert added.chunks[pos] is not None and added.chunks[pos].document_id == "new"  # type: ignore[union-attr]
    scores = added.unit_scores(embed(["fresh zzzword sentence"])[0], [pos], 2)
    assert len(scores[pos]) == 2
    # Past the tombstone share the chunk index compacts, and the units are rebuilt with it.
    compacted = write(index_dir, embed, deletes=[f"d{i}" for i in range(4, 12)], ann_threshold=10)
    assert compacted.units is not None and compacted.tombstones == 0
    assert all(compacted.chunks[int(p)] is not None for p in compacted.units.parents)


def test_large_hnsw_indexes_search_wider(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import faiss

    embed = HashingEmbedder()
    docs = [doc(f"d{i}", f"# Topic {i}\n\nUnique word w{i}x.") for i in range(30)]
    small = write(tmp_path / "small", embed, docs, ann_threshold=10)
    assert isinstance(small.dense, faiss.IndexHNSW)
    assert small.dense.hnsw.efSearch == index_module.HNSW_EF_SEARCH
    # The same size counts as large once past the (lowered) boundary: built and reloaded wider.
    monkeypatch.setattr(index_module, "HNSW_LARGE_INDEX", 10)
    large = write(tmp_path / "large", embed, docs, ann_threshold=10)
    assert isinstance(large.dense, faiss.IndexHNSW)
    assert large.dense.hnsw.efSearch == index_module.HNSW_EF_SEARCH_LARGE
    reloaded = load_snapshot(tmp_path / "large", DIM)
    assert isinstance(reloaded.dense, faiss.IndexHNSW)
    assert reloaded.dense.hnsw.efSearch == index_module.HNSW_EF_SEARCH_LARGE


def test_partial_version_dir_is_ignored_and_cleaned(tmp_path: Path) -> None:
    embed = HashingEmbedder()
    index_dir = tmp_path / "index"
    good = write(index_dir, embed, [doc(k, v) for k, v in CORPUS.items()])
    partial = index_dir / "versions" / ".partial-v000002-dead"
    partial.mkdir()
    (partial / "vectors.npy").write_bytes(b"half")
    assert load_snapshot(index_dir, DIM).version == good.version
    snap = write(index_dir, embed, [doc("extra", "# Extra\n\nMore text.")])
    assert not partial.exists()
    assert snap.version == "v000002"


def test_corrupt_current_version_is_reported(tmp_path: Path) -> None:
    embed = HashingEmbedder()
    index_dir = tmp_path / "index"
    snap = write(index_dir, embed, [doc(k, v) for k, v in CORPUS.items()])
    assert snap.path is not None
    (snap.path / "faiss.index").write_bytes(b"garbage")
    with pytest.raises(IndexCorruptError):
        load_snapshot(index_dir, DIM)


CRASHING_WRITER = textwrap.dedent(
    """
    import os, sys, time
    from pathlib import Path
    sys.path.insert(0, {repo!r})
    from tests.knowledge.fakes import DIM, HashingEmbedder
    from txassist.knowledge import index as index_module
    from txassist.knowledge.chunking import chunk_document
    from txassist.knowledge.loaders import make_document

    stage = sys.argv[1]
    ready = Path(sys.argv[2])
    embed = HashingEmbedder()

    def hang(*_args):
        ready.write_text("x")
        time.sleep(60)

    if stage == "embed":
        def slow_embed(texts):
            hang()
            return embed(texts)
        embed_fn = slow_embed
    else:
        embed_fn = embed
        original = index_module.faiss.write_index
        def write_then_hang(index, path):
            original(index, path)
            hang()
        index_module.faiss.write_index = write_then_hang
    docs = [make_document(doc_id="crash", title="Crash", text="# Crash\\n\\nNew text that must not appear.")]
    index_module.apply_changes(
        Path(sys.argv[3]), upserts=docs, deletes=["refunds"], embed=embed_fn,
        chunker=chunk_document, dimension=DIM,
    )
    """
)


@pytest.mark.parametrize("stage", ["embed", "publish"])
def test_killed_writer_leaves_the_old_index_readable(tmp_path: Path, stage: str) -> None:
    embed = HashingEmbedder()
    index_dir = tmp_path / "index"
    good = write(index_dir, embed, [doc(k, v) for k, v in CORPUS.items()])
    script = tmp_path / "writer.py"
    script.write_text(CRASHING_WRITER.format(repo=str(REPO)))
    ready = tmp_path / "ready"
    proc = subprocess.Popen(
        [sys.executable, str(script), stage, str(ready), str(index_dir)],
        env={**os.environ, "PYTHONPATH": str(REPO / "src")},
    )
    try:
        deadline = time.monotonic() + 60
        while not ready.exists():
            assert proc.poll() is None, "writer exited early"
            assert time.monotonic() < deadline
            time.sleep(0.05)
        if stage == "publish":
            assert list((index_dir / "versions").glob(".partial-*")), "the crash should leave a partial dir"
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        proc.wait(timeout=10)
    # Readers still see the last complete version: the crash left it untouched.
    assert current_version(index_dir) == good.version
    after = load_snapshot(index_dir, DIM)
    assert set(after.documents) == set(CORPUS)
    assert top_document(after, embed, "refunds card business days") == "refunds"
    np.testing.assert_array_equal(np.asarray(after.vectors), np.asarray(good.vectors))
    # The lock died with the writer, so the next write goes through and cleans up.
    snap = write(index_dir, embed, [doc("next", "# Next\n\nAfter the crash.")])
    assert snap.version == "v000002"
    assert not list((index_dir / "versions").glob(".partial-*"))
