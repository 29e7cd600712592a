"""The persisted knowledge index: versioned directories and an atomic ``CURRENT`` pointer.

Layout under ``index_dir``::

    CURRENT              name of the live version (replaced atomically with os.replace)
    .lock                fcntl lock serialising writers across processes
    versions/v000042/    manifest.json (written last), documents.msgpack, chunks.msgpack,
                         vectors.npy, faiss.index, bm25/,
                         units/ (MiniLM vectors of each chunk's sentences and FAQ lines),
                         multilingual/ (multilingual-e5 vectors of chunks and units, when enabled)

A writer builds a complete new version in a temporary directory, renames it into place, then
swaps ``CURRENT``. A crash at any point leaves the previous version as the one ``CURRENT`` names;
half-written directories are ignored by readers and removed by the next writer. Readers (every
service replica) load a version once and swap their in-memory snapshot when ``CURRENT`` changes.

Positions: row ``i`` of ``vectors.npy`` is FAISS id ``i`` and ``chunks[i]``; a deleted chunk
becomes ``None`` (a tombstone) so an HNSW graph can stay as it is until compaction.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import faiss
import msgspec
import numpy as np
import numpy.typing as npt
from filelock import FileLock

from txassist.knowledge.chunking import Chunk, units
from txassist.knowledge.lexical import LexicalIndex
from txassist.knowledge.loaders import KnowledgeDocument

FORMAT_VERSION = 1
IndexKind = Literal["flat", "hnsw"]
Vectors = npt.NDArray[np.float32]
Embed = Callable[[list[str]], Vectors]
MultilingualEmbed = tuple[str, Embed]
ChunkDocument = Callable[[KnowledgeDocument], list[Chunk]]

HNSW_M = 32
HNSW_EF_CONSTRUCTION = 80
HNSW_EF_SEARCH = 96
# Past a few hundred thousand vectors the graph needs a wider search to keep finding the exact top 10;
# the wider one still costs little per query (recall and latency: benchmarks/results/search_scaling.json).
HNSW_LARGE_INDEX = 300_000
HNSW_EF_SEARCH_LARGE = 256
# Past this share of tombstones an HNSW index is rebuilt from the live vectors.
COMPACT_TOMBSTONE_RATIO = 0.25
KEEP_VERSIONS = 3


class IndexCorruptError(RuntimeError):
    """A version directory could not be read; the previous snapshot stays in service."""


class DocumentRecord(msgspec.Struct, kw_only=True):
    document: KnowledgeDocument
    content_hash: str
    chunk_ids: list[str]
    ingested_at: float


class Manifest(msgspec.Struct, kw_only=True):
    format: int
    version: str
    kind: IndexKind
    dimension: int
    total: int
    live: int
    documents: int
    created_at: float
    units: int = 0
    multilingual: int = 0
    multilingual_model: str | None = None


class AuxIndex:
    """A dense index whose rows point at chunk positions (``parents``): one chunk, many rows.

    Rebuilt on every write from the live chunks; a row whose text hash the previous version had
    keeps its vector, so only new text is embedded.
    """

    def __init__(self, vectors: Vectors, parents: npt.NDArray[np.int64], hashes: list[str], dense: faiss.Index):
        self.vectors = vectors
        self.parents = parents
        self.hashes = hashes
        self.dense = dense

    @classmethod
    def empty(cls, dimension: int) -> AuxIndex:
        return cls(
            np.zeros((0, dimension), dtype=np.float32),
            np.zeros(0, dtype=np.int64),
            [],
            faiss.IndexFlatIP(dimension),
        )

    def __len__(self) -> int:
        return len(self.parents)

    def search(self, query: Vectors, k: int, chunks: list[Chunk | None]) -> list[tuple[int, float]]:
        """(chunk position, best row cosine) for up to ``k`` distinct live chunks, best first."""
        if len(self) == 0 or k <= 0:
            return []
        fetch = min(len(self), 4 * k + 64)
        scores, ids = self.dense.search(np.ascontiguousarray(query, dtype=np.float32).reshape(1, -1), fetch)
        best: dict[int, float] = {}
        for row, score in zip(ids[0].tolist(), scores[0].tolist(), strict=True):
            if row < 0:
                continue
            parent = int(self.parents[row])
            if chunks[parent] is not None and parent not in best:
                best[parent] = float(score)
                if len(best) == k:
                    break
        return list(best.items())

    def top_scores(self, query: Vectors, positions: list[int], n: int) -> dict[int, list[float]]:
        """The ``n`` best row cosines of each chunk position, best first (exact, not from the ANN).

        Rows are built chunk by chunk, so ``parents`` is sorted and a chunk's rows are one slice.
        """
        if len(self) == 0 or not positions:
            return {}
        wanted = np.asarray(positions, dtype=np.int64)
        starts = np.searchsorted(self.parents, wanted, side="left")
        ends = np.searchsorted(self.parents, wanted, side="right")
        rows = np.concatenate([np.arange(a, b) for a, b in zip(starts, ends, strict=True)])
        if len(rows) == 0:
            return {}
        scores = np.asarray(self.vectors[rows] @ np.asarray(query, dtype=np.float32).reshape(-1)).tolist()
        out: dict[int, list[float]] = {}
        offset = 0
        for pos, a, b in zip(positions, starts.tolist(), ends.tolist(), strict=True):
            if b > a:
                out[pos] = sorted(scores[offset : offset + b - a], reverse=True)[:n]
            offset += b - a
        return out

    def save(self, directory: Path) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        np.save(directory / "vectors.npy", np.ascontiguousarray(self.vectors, dtype=np.float32))
        np.save(directory / "parents.npy", self.parents)
        (directory / "hashes.msgpack").write_bytes(msgspec.msgpack.encode(self.hashes))
        faiss.write_index(self.dense, str(directory / "faiss.index"))

    @classmethod
    def load(cls, directory: Path, dimension: int) -> AuxIndex:
        if not (directory / "parents.npy").exists():
            return cls.empty(dimension)
        vectors = np.load(directory / "vectors.npy", mmap_mode="r")
        parents = np.load(directory / "parents.npy")
        hashes = msgspec.msgpack.decode((directory / "hashes.msgpack").read_bytes(), type=list[str])
        dense = faiss.read_index(str(directory / "faiss.index"))
        if not (len(parents) == len(hashes) == vectors.shape[0] == dense.ntotal):
            raise IndexCorruptError(f"{directory}: row counts disagree")
        if isinstance(dense, faiss.IndexHNSW):
            dense.hnsw.efSearch = ef_search(dense.ntotal)
        return cls(vectors, parents, hashes, dense)


def build_aux(
    chunks: list[Chunk | None],
    texts_of: Callable[[Chunk], list[str]],
    embed: Embed,
    base: AuxIndex,
    dimension: int,
    index_kind: str,
    ann_threshold: int,
    *,
    appended_from: int | None = None,
) -> AuxIndex:
    """The rows of every live chunk's ``texts_of``.

    ``appended_from``: chunk positions below it are the base version's, unchanged (the chunk index
    appended instead of compacting). A base HNSW graph then only gains the new chunks' rows, and the
    rows of deleted chunks stay as tombstones that searches skip, as in the chunk index; rebuilding
    the graph would cost a minute per write at 100k chunks.
    """
    start = 0
    if appended_from is not None and isinstance(base.dense, faiss.IndexHNSW) and len(base):
        start = appended_from
    texts: list[str] = []
    parents: list[int] = []
    for pos in range(start, len(chunks)):
        chunk = chunks[pos]
        if chunk is None:
            continue
        for text in texts_of(chunk):
            texts.append(text)
            parents.append(pos)
    hashes = [hashlib.sha256(t.encode("utf-8")).hexdigest() for t in texts]
    known = {h: row for row, h in enumerate(base.hashes)}
    vectors = np.zeros((len(texts), dimension), dtype=np.float32)
    missing = [i for i, h in enumerate(hashes) if h not in known]
    if missing:
        vectors[missing] = embed([texts[i] for i in missing])
    for i, h in enumerate(hashes):
        if h in known:
            vectors[i] = base.vectors[known[h]]
    new_parents = np.asarray(parents, dtype=np.int64)
    if start:
        # A copy: the live snapshot keeps searching its own graph.
        dense = faiss.clone_index(base.dense)
        assert isinstance(dense, faiss.IndexHNSW)
        if len(vectors):
            dense.add(vectors)
        dense.hnsw.efSearch = ef_search(dense.ntotal)
        return AuxIndex(
            np.concatenate([np.asarray(base.vectors), vectors]),
            np.concatenate([base.parents, new_parents]),
            [*base.hashes, *hashes],
            dense,
        )
    if not texts:
        return AuxIndex.empty(dimension)
    kind = choose_kind(index_kind, len(texts), ann_threshold)
    return AuxIndex(vectors, new_parents, hashes, build_dense(kind, vectors, dimension))


@dataclass
class IndexSnapshot:
    """One immutable, loaded version. Searches hold a reference; reloads replace the reference."""

    version: str
    kind: IndexKind
    dimension: int
    documents: dict[str, DocumentRecord]
    chunks: list[Chunk | None]
    vectors: Vectors
    dense: faiss.Index
    lexical: LexicalIndex
    path: Path | None = None
    units: AuxIndex | None = None
    multilingual: AuxIndex | None = None
    multilingual_model: str | None = None
    live: int = field(init=False)

    def __post_init__(self) -> None:
        self.live = sum(1 for c in self.chunks if c is not None)

    @property
    def tombstones(self) -> int:
        return len(self.chunks) - self.live

    @classmethod
    def empty(cls, dimension: int) -> IndexSnapshot:
        return cls(
            version="",
            kind="flat",
            dimension=dimension,
            documents={},
            chunks=[],
            vectors=np.zeros((0, dimension), dtype=np.float32),
            dense=faiss.IndexFlatIP(dimension),
            lexical=LexicalIndex(None, np.zeros(0, dtype=np.int64)),
        )

    def unit_search(self, query: Vectors, k: int) -> list[tuple[int, float]]:
        return self.units.search(query, k, self.chunks) if self.units is not None else []

    def unit_scores(self, query: Vectors, positions: list[int], n: int) -> dict[int, list[float]]:
        """The ``n`` best unit cosines of each chunk in ``positions`` (chunks without units are absent)."""
        return self.units.top_scores(query, positions, n) if self.units is not None else {}

    def multilingual_search(self, query: Vectors, k: int) -> list[tuple[int, float]]:
        return self.multilingual.search(query, k, self.chunks) if self.multilingual is not None else []

    @property
    def has_multilingual(self) -> bool:
        return self.multilingual is not None and len(self.multilingual) > 0

    def dense_search(self, query: Vectors, k: int) -> list[tuple[int, float]]:
        """(position, cosine) of the nearest live chunks, best first."""
        if self.live == 0 or k <= 0:
            return []
        # Tombstones still occupy HNSW slots: fetch enough extra to fill k with live chunks.
        fetch = min(len(self.chunks), k + self.tombstones if self.kind == "flat" else 2 * k + self.tombstones)
        scores, ids = self.dense.search(query.reshape(1, -1), min(fetch, 4 * k + 64))
        hits = []
        for pos, score in zip(ids[0], scores[0], strict=True):
            if pos >= 0 and self.chunks[pos] is not None:
                hits.append((int(pos), float(score)))
                if len(hits) == k:
                    break
        return hits

    def cosine(self, query: Vectors, positions: list[int]) -> npt.NDArray[np.float32]:
        if not positions:
            return np.zeros(0, dtype=np.float32)
        return np.asarray(self.vectors[np.asarray(positions)] @ query, dtype=np.float32)


# ---------------------------------------------------------------- reading


def current_version(index_dir: Path) -> str | None:
    try:
        name = (index_dir / "CURRENT").read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        return None
    return name or None


def load_snapshot(index_dir: Path, dimension: int) -> IndexSnapshot:
    """The version ``CURRENT`` names (an empty snapshot when there is none yet)."""
    version = current_version(index_dir)
    if version is None:
        return IndexSnapshot.empty(dimension)
    return load_version(index_dir / "versions" / version)


def load_version(path: Path) -> IndexSnapshot:
    try:
        manifest = msgspec.json.decode((path / "manifest.json").read_bytes(), type=Manifest)
        if manifest.format != FORMAT_VERSION:
            raise IndexCorruptError(f"{path.name}: format {manifest.format}, expected {FORMAT_VERSION}")
        raw_documents = (path / "documents.msgpack").read_bytes()
        documents = msgspec.msgpack.decode(raw_documents, type=list[DocumentRecord])
        chunks = msgspec.msgpack.decode((path / "chunks.msgpack").read_bytes(), type=list[Chunk | None])
        vectors = np.load(path / "vectors.npy", mmap_mode="r")
        dense = faiss.read_index(str(path / "faiss.index"))
        lexical = LexicalIndex.load(path / "bm25")
        unit_index = AuxIndex.load(path / "units", manifest.dimension)
        multilingual = AuxIndex.load(path / "multilingual", manifest.dimension)
    except IndexCorruptError:
        raise
    except (OSError, ValueError, RuntimeError, msgspec.DecodeError, KeyError) as exc:
        raise IndexCorruptError(f"{path.name}: {type(exc).__name__}: {exc}") from exc
    if not (len(chunks) == manifest.total == vectors.shape[0] == dense.ntotal):
        raise IndexCorruptError(f"{path.name}: chunk, vector and FAISS counts disagree")
    if isinstance(dense, faiss.IndexHNSW):
        dense.hnsw.efSearch = ef_search(dense.ntotal)
    return IndexSnapshot(
        version=manifest.version,
        kind=manifest.kind,
        dimension=manifest.dimension,
        documents={r.document.id: r for r in documents},
        chunks=chunks,
        vectors=vectors,
        dense=dense,
        lexical=lexical,
        path=path,
        units=unit_index,
        multilingual=multilingual,
        multilingual_model=manifest.multilingual_model,
    )


# ---------------------------------------------------------------- writing


def writer_lock(index_dir: Path) -> FileLock:
    """One writer at a time across processes and replicas sharing the directory."""
    index_dir.mkdir(parents=True, exist_ok=True)
    return FileLock(index_dir / ".lock")


@dataclass
class ChangeReport:
    version: str
    added: list[str]
    replaced: list[str]
    unchanged: list[str]
    deleted: list[str]
    chunks_embedded: int
    chunks_reused: int
    kind: IndexKind
    live_chunks: int


def choose_kind(setting: str, live: int, threshold: int) -> IndexKind:
    if setting in ("flat", "hnsw"):
        return setting  # type: ignore[return-value]
    return "hnsw" if live > threshold else "flat"


def ef_search(total: int) -> int:
    """HNSW search breadth for an index of ``total`` vectors."""
    return HNSW_EF_SEARCH if total <= HNSW_LARGE_INDEX else HNSW_EF_SEARCH_LARGE


def build_dense(kind: IndexKind, vectors: Vectors, dimension: int) -> faiss.Index:
    index: faiss.Index
    if kind == "hnsw":
        index = faiss.IndexHNSWFlat(dimension, HNSW_M, faiss.METRIC_INNER_PRODUCT)
        index.hnsw.efConstruction = HNSW_EF_CONSTRUCTION
        index.hnsw.efSearch = ef_search(len(vectors))
    else:
        index = faiss.IndexFlatIP(dimension)
    if len(vectors):
        index.add(np.ascontiguousarray(vectors, dtype=np.float32))
    return index


def apply_changes(
    index_dir: Path,
    *,
    upserts: list[KnowledgeDocument],
    deletes: list[str],
    embed: Embed,
    chunker: ChunkDocument,
    dimension: int,
    index_kind: str = "auto",
    ann_threshold: int = 50_000,
    multilingual: MultilingualEmbed | None = None,
) -> tuple[ChangeReport, IndexSnapshot]:
    """Add/replace ``upserts`` and remove ``deletes`` as one new version; returns it loaded.

    ``multilingual`` (model name, passage embedder) adds the cross-lingual index to the version.
    """
    with writer_lock(index_dir):
        _remove_partials(index_dir)
        base = load_snapshot(index_dir, dimension)
        return _write_changes(
            index_dir, base, upserts, deletes, embed, chunker, index_kind, ann_threshold, multilingual
        )


def _write_changes(
    index_dir: Path,
    base: IndexSnapshot,
    upserts: list[KnowledgeDocument],
    deletes: list[str],
    embed: Embed,
    chunker: ChunkDocument,
    index_kind: str,
    ann_threshold: int,
    multilingual: MultilingualEmbed | None = None,
) -> tuple[ChangeReport, IndexSnapshot]:
    documents = dict(base.documents)
    chunks: list[Chunk | None] = list(base.chunks)
    by_hash: dict[str, int] = {}
    for pos, chunk in enumerate(chunks):
        if chunk is not None:
            by_hash.setdefault(chunk.content_hash, pos)

    deleted = [d for d in dict.fromkeys(deletes) if d in documents]
    added: list[str] = []
    replaced: list[str] = []
    unchanged: list[str] = []
    latest: dict[str, KnowledgeDocument] = {doc.id: doc for doc in upserts}  # last one wins
    for doc_id in latest:
        record = documents.get(doc_id)
        if record is not None and record.content_hash == latest[doc_id].content_hash():
            unchanged.append(doc_id)
    to_write = [doc for doc_id, doc in latest.items() if doc_id not in unchanged]
    for doc_id in [*deleted, *(d.id for d in to_write)]:
        record = documents.pop(doc_id, None)
        if record is None:
            continue
        if doc_id not in deleted:
            replaced.append(doc_id)
        drop = set(record.chunk_ids)
        for pos, chunk in enumerate(chunks):
            if chunk is not None and chunk.chunk_id in drop:
                chunks[pos] = None
    added = [d.id for d in to_write if d.id not in replaced]

    new_chunks: list[Chunk] = []
    now = time.time()
    for doc in to_write:
        doc_chunks = chunker(doc)
        new_chunks.extend(doc_chunks)
        chunk_ids = [c.chunk_id for c in doc_chunks]
        documents[doc.id] = DocumentRecord(
            document=doc, content_hash=doc.content_hash(), chunk_ids=chunk_ids, ingested_at=now
        )

    # Content hashes: an unchanged paragraph in an edited article keeps its vector.
    hashes = [c.content_hash for c in new_chunks]
    missing = [i for i, h in enumerate(hashes) if h not in by_hash]
    fresh_vectors = embed([new_chunks[i].embed_text for i in missing]) if missing else None
    new_vectors = np.zeros((len(new_chunks), base.dimension), dtype=np.float32)
    if fresh_vectors is not None:
        new_vectors[missing] = fresh_vectors
    for i, h in enumerate(hashes):
        if h in by_hash:
            new_vectors[i] = base.vectors[by_hash[h]]

    live_after = sum(1 for c in chunks if c is not None) + len(new_chunks)
    kind = choose_kind(index_kind, live_after, ann_threshold)
    tombstones = len(chunks) - (live_after - len(new_chunks))
    total_after = len(chunks) + len(new_chunks)
    incremental = (
        kind == "hnsw"
        and base.kind == "hnsw"
        and base.path is not None
        and tombstones <= COMPACT_TOMBSTONE_RATIO * max(total_after, 1)
    )
    if incremental:
        # Append to the existing graph instead of rebuilding it; deleted rows stay as tombstones.
        assert base.path is not None
        dense = faiss.read_index(str(base.path / "faiss.index"))
        if len(new_vectors):
            dense.add(new_vectors)
        all_chunks: list[Chunk | None] = [*chunks, *new_chunks]
        vectors = np.concatenate([np.asarray(base.vectors), new_vectors]) if len(new_vectors) else base.vectors

    else:
        keep = [pos for pos, c in enumerate(chunks) if c is not None]
        all_chunks = [chunks[p] for p in keep] + list(new_chunks)
        old_vectors = np.asarray(base.vectors[np.asarray(keep, dtype=np.int64)]) if keep else new_vectors[:0]
        vectors = np.concatenate([old_vectors, new_vectors]) if len(new_vectors) else old_vectors
        dense = build_dense(kind, vectors, base.dimension)

    live_positions = np.asarray([p for p, c in enumerate(all_chunks) if c is not None], dtype=np.int64)
    live_list = [all_chunks[p] for p in live_positions.tolist()]
    lexical = LexicalIndex.build(
        [_lexical_text(c) for c in live_list], live_positions, [c.language if c else "en" for c in live_list]
    )
    empty = AuxIndex.empty(base.dimension)
    appended_from = len(chunks) if incremental else None
    unit_index = build_aux(
        all_chunks,
        units,
        embed,
        base.units or empty,
        base.dimension,
        index_kind,
        ann_threshold,
        appended_from=appended_from,
    )
    multilingual_index: AuxIndex | None = None
    model_name: str | None = None
    if multilingual is not None:
        model_name, embed_passages = multilingual
        # Vectors of another model cannot be reused.
        previous = base.multilingual if base.multilingual_model == model_name and base.multilingual else empty
        multilingual_index = build_aux(
            all_chunks,
            _multilingual_texts,
            embed_passages,
            previous,
            base.dimension,
            index_kind,
            ann_threshold,
            appended_from=appended_from,
        )
    version = _next_version(index_dir)
    path = _publish(
        index_dir,
        version,
        kind,
        base.dimension,
        documents,
        all_chunks,
        np.asarray(vectors),
        dense,
        lexical,
        unit_index,
        multilingual_index,
        model_name,
    )
    report = ChangeReport(
        version=version,
        added=added,
        replaced=replaced,
        unchanged=unchanged,
        deleted=deleted,
        chunks_embedded=len(missing),
        chunks_reused=len(new_chunks) - len(missing),
        kind=kind,
        live_chunks=len(live_positions),
    )
    return report, load_version(path)


# The title counts this many times in BM25: a word of the title says more than one of the body.
TITLE_WEIGHT = 2


def _lexical_text(chunk: Chunk | None) -> str:
    assert chunk is not None
    return "\n".join([chunk.title] * (TITLE_WEIGHT - 1) + [chunk.embed_text])


def _multilingual_texts(chunk: Chunk) -> list[str]:
    return [chunk.embed_text, *units(chunk)]


def _next_version(index_dir: Path) -> str:
    versions = index_dir / "versions"
    if not versions.exists():
        return "v000001"
    numbers = [int(p.name[1:]) for p in versions.glob("v*") if p.name[1:].isdigit()]
    return f"v{max(numbers, default=0) + 1:06d}"


def _publish(
    index_dir: Path,
    version: str,
    kind: IndexKind,
    dimension: int,
    documents: dict[str, DocumentRecord],
    chunks: list[Chunk | None],
    vectors: Vectors,
    dense: faiss.Index,
    lexical: LexicalIndex,
    unit_index: AuxIndex,
    multilingual: AuxIndex | None,
    multilingual_model: str | None,
) -> Path:
    versions = index_dir / "versions"
    versions.mkdir(parents=True, exist_ok=True)
    tmp = versions / f".partial-{version}-{uuid.uuid4().hex[:8]}"
    tmp.mkdir()
    (tmp / "documents.msgpack").write_bytes(msgspec.msgpack.encode(list(documents.values())))
    (tmp / "chunks.msgpack").write_bytes(msgspec.msgpack.encode(chunks))
    np.save(tmp / "vectors.npy", np.ascontiguousarray(vectors, dtype=np.float32))
    faiss.write_index(dense, str(tmp / "faiss.index"))
    lexical.save(tmp / "bm25")
    unit_index.save(tmp / "units")
    if multilingual is not None:
        multilingual.save(tmp / "multilingual")
    manifest = Manifest(
        format=FORMAT_VERSION,
        version=version,
        kind=kind,
        dimension=dimension,
        total=len(chunks),
        live=sum(1 for c in chunks if c is not None),
        documents=len(documents),
        created_at=time.time(),
        units=len(unit_index),
        multilingual=len(multilingual) if multilingual is not None else 0,
        multilingual_model=multilingual_model if multilingual is not None else None,
    )
    (tmp / "manifest.json").write_bytes(msgspec.json.encode(manifest))
    _fsync_tree(tmp)
    final = versions / version
    tmp.rename(final)
    _swap_current(index_dir, version)
    _prune(index_dir, keep=KEEP_VERSIONS)
    return final


def _swap_current(index_dir: Path, version: str) -> None:
    tmp = index_dir / f".CURRENT.{uuid.uuid4().hex[:8]}"
    with tmp.open("w", encoding="utf-8") as handle:
        handle.write(version + "\n")
        handle.flush()
        os.fsync(handle.fileno())
    tmp.replace(index_dir / "CURRENT")
    _fsync_dir(index_dir)


def _fsync_tree(path: Path) -> None:
    for file in path.rglob("*"):
        if file.is_file():
            fd = os.open(file, os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)
    _fsync_dir(path)


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _remove_partials(index_dir: Path) -> None:
    """Leftovers of a writer that crashed; only called while holding the writer lock."""
    versions = index_dir / "versions"
    if versions.exists():
        for leftover in versions.glob(".partial-*"):
            shutil.rmtree(leftover, ignore_errors=True)
    for stale in index_dir.glob(".CURRENT.*"):
        stale.unlink(missing_ok=True)


def _prune(index_dir: Path, *, keep: int) -> None:
    # Replicas that have not reloaded yet may still be opening the previous versions: keep a few.
    current = current_version(index_dir)
    versions = sorted(p for p in (index_dir / "versions").glob("v*") if p.name[1:].isdigit())
    for old in versions[:-keep]:
        if old.name != current:
            shutil.rmtree(old, ignore_errors=True)


def manifest_of(index_dir: Path) -> dict[str, object] | None:
    version = current_version(index_dir)
    if version is None:
        return None
    try:
        data: dict[str, object] = json.loads((index_dir / "versions" / version / "manifest.json").read_text())
    except (OSError, ValueError):
        return None
    return data
