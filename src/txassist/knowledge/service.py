"""``KnowledgeService``: the search every turn calls, plus document writes and replica reloads.

The query path is one embedding (through the shared micro-batcher) plus a FAISS search and a BM25
lookup off the event loop. Writes build a new index version on disk under a file lock so every
replica (including this one) picks it up; the in-memory snapshot is swapped by reference, so a
search in flight keeps the version it started with.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import anyio
import anyio.to_thread
import faiss
import msgspec
import numpy as np
import numpy.typing as npt
import structlog

from txassist.config import Settings
from txassist.errors import InvalidInput, NotFound
from txassist.knowledge.chunking import Chunk, chunk_document
from txassist.knowledge.fusion import reciprocal_rank_fusion
from txassist.knowledge.index import (
    ChangeReport,
    IndexCorruptError,
    IndexSnapshot,
    apply_changes,
    current_version,
    load_snapshot,
)
from txassist.knowledge.lexical import tokenize
from txassist.knowledge.loaders import KnowledgeDocument

if TYPE_CHECKING:
    from txassist.embedding import EmbeddingBatcher, TextEncoder
    from txassist.health.readiness import Readiness

log = structlog.get_logger("txassist.knowledge")

SearchMode = Literal["hybrid", "dense", "lexical"]
MAX_K = 100
MAX_QUERY_CHARS = 2_000
# Candidates each ranker contributes to the fusion; more than k so that agreement can promote.
FUSION_DEPTH = 50
SNIPPET_CHARS = 280
Vector = npt.NDArray[np.float32]


class KnowledgeHit(msgspec.Struct, kw_only=True):
    document_id: str
    chunk_id: str
    title: str
    heading_path: list[str]
    snippet: str
    url: str | None
    score: float
    text: str


class SearchOutcome(msgspec.Struct, kw_only=True):
    hits: list[KnowledgeHit]
    vector: Vector | None
    best_dense_score: float
    mode: str = "hybrid"
    timings_ms: dict[str, float] = msgspec.field(default_factory=dict)


class KnowledgeService:
    def __init__(
        self,
        settings: Settings,
        encoder: TextEncoder,
        embeddings: EmbeddingBatcher,
        readiness: Readiness | None = None,
    ) -> None:
        self.settings = settings
        self.encoder = encoder
        self.embeddings = embeddings
        self.readiness = readiness
        self.index_dir: Path = settings.index_dir
        self._snapshot = IndexSnapshot.empty(384)
        self._loaded_version: str | None = None
        self._reloader: asyncio.Task[None] | None = None
        self._write_limiter = anyio.CapacityLimiter(1)

    # ------------------------------------------------------------ lifecycle

    @property
    def snapshot(self) -> IndexSnapshot:
        return self._snapshot

    async def start(self) -> None:
        use_serving_threads()
        self._report("starting", "loading index")
        await anyio.to_thread.run_sync(self.reload_if_changed)
        if self._reloader is None and self.settings.index_reload_interval_s > 0:
            self._reloader = asyncio.create_task(self._poll(), name="knowledge-index-reload")

    async def stop(self) -> None:
        if self._reloader is not None:
            self._reloader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._reloader
            self._reloader = None

    async def _poll(self) -> None:
        while True:
            await asyncio.sleep(self.settings.index_reload_interval_s)
            try:
                await anyio.to_thread.run_sync(self.reload_if_changed)
            except Exception:  # a failed poll must not end the loop; the next one retries
                log.exception("index_reload_failed")

    def reload_if_changed(self) -> bool:
        """Load the version ``CURRENT`` names if it is not the one in memory; True if swapped."""
        version = current_version(self.index_dir)
        if version == self._loaded_version and version is not None:
            return False
        try:
            snapshot = load_snapshot(self.index_dir, self.encoder.dimension)
        except IndexCorruptError as exc:
            log.error("index_corrupt", error=str(exc))
            self._report("degraded", f"index unreadable, serving version {self._loaded_version}: {exc}")
            self._loaded_version = version  # do not retry the same broken version every poll
            return False
        self._swap(snapshot)
        return True

    def _swap(self, snapshot: IndexSnapshot) -> None:
        previous = self._snapshot.version
        self._snapshot = snapshot
        self._loaded_version = snapshot.version or None
        self._report("ok", f"version {snapshot.version or 'empty'}, {snapshot.live} chunks")
        if previous != snapshot.version:
            log.info("index_loaded", version=snapshot.version, chunks=snapshot.live, kind=snapshot.kind)

    def _report(self, state: Literal["starting", "ok", "degraded"], detail: str) -> None:
        if self.readiness is not None:
            self.readiness.set("knowledge_index", state, detail)

    # ------------------------------------------------------------ reads

    def get_document(self, document_id: str) -> KnowledgeDocument | None:
        record = self._snapshot.documents.get(document_id)
        return record.document if record else None

    def document_chunk_ids(self, document_id: str) -> list[str]:
        record = self._snapshot.documents.get(document_id)
        return list(record.chunk_ids) if record else []

    async def search(
        self,
        query: str,
        *,
        k: int = 5,
        mode: SearchMode = "hybrid",
        min_score: float | None = None,
        vector: np.ndarray[Any, Any] | None = None,
    ) -> SearchOutcome:
        """Top ``k`` chunks for ``query``. ``vector`` (the query's embedding) skips the model call.

        Scores: cosine for dense, BM25 for lexical, normalised RRF (1.0 = first in both lists)
        for hybrid. ``min_score`` filters on cosine in dense and hybrid modes (an off-topic query
        then returns nothing), on the BM25 score in lexical mode.
        """
        query = query.strip()
        if not query:
            raise InvalidInput("query is empty")
        if not 1 <= k <= MAX_K:
            raise InvalidInput(f"k must be between 1 and {MAX_K}")
        if min_score is None and self.settings.search_min_score > 0:
            min_score = self.settings.search_min_score
        query = query[:MAX_QUERY_CHARS]
        timings: dict[str, float] = {}
        started = time.perf_counter()
        query_vector: Vector | None = None
        if vector is not None:
            query_vector = np.asarray(vector, dtype=np.float32).reshape(-1)
        elif mode != "lexical" and self._snapshot.live > 0:
            query_vector = await self.embeddings.encode_one(query)
            timings["embed"] = round((time.perf_counter() - started) * 1000, 3)
        snapshot = self._snapshot
        search_started = time.perf_counter()
        hits, best = await anyio.to_thread.run_sync(
            self._search_snapshot, snapshot, query, query_vector, k, mode, min_score
        )
        timings["search"] = round((time.perf_counter() - search_started) * 1000, 3)
        timings["total"] = round((time.perf_counter() - started) * 1000, 3)
        return SearchOutcome(hits=hits, vector=query_vector, best_dense_score=best, mode=mode, timings_ms=timings)

    def search_sync(
        self,
        query: str,
        *,
        k: int = 5,
        mode: SearchMode = "hybrid",
        min_score: float | None = None,
        vector: Vector | None = None,
    ) -> SearchOutcome:
        """The same search for the CLI and benchmarks (no event loop, embeds inline)."""
        query = query.strip()[:MAX_QUERY_CHARS]
        if not query:
            raise InvalidInput("query is empty")
        if vector is None and mode != "lexical":
            vector = self.encoder.encode([query])[0]
        hits, best = self._search_snapshot(self._snapshot, query, vector, k, mode, min_score)
        return SearchOutcome(hits=hits, vector=vector, best_dense_score=best, mode=mode)

    def _search_snapshot(
        self,
        snapshot: IndexSnapshot,
        query: str,
        vector: Vector | None,
        k: int,
        mode: SearchMode,
        min_score: float | None,
    ) -> tuple[list[KnowledgeHit], float]:
        if snapshot.live == 0:
            return [], 0.0
        depth = max(k, FUSION_DEPTH) if mode == "hybrid" else k
        dense = snapshot.dense_search(vector, depth) if vector is not None and mode != "lexical" else []
        best = dense[0][1] if dense else 0.0
        if mode == "dense":
            scored = [(pos, score) for pos, score in dense if min_score is None or score >= min_score]
        elif mode == "lexical":
            lexical = snapshot.lexical.search(query, k)
            scored = [(pos, score) for pos, score in lexical if min_score is None or score >= min_score]
        else:
            lexical = snapshot.lexical.search(query, depth)
            fused = reciprocal_rank_fusion([[p for p, _ in dense], [p for p, _ in lexical]])
            if min_score is not None and vector is not None:
                cosines = snapshot.cosine(vector, [p for p, _ in fused])
                fused = [(p, s) for (p, s), c in zip(fused, cosines.tolist(), strict=True) if c >= min_score]
            scored = fused
        hits = []
        for pos, score in scored[:k]:
            chunk = snapshot.chunks[pos]
            if chunk is not None:
                hits.append(_hit(chunk, score, query))
        return hits, best

    def stats(self) -> dict[str, Any]:
        snapshot = self._snapshot
        vectors_bytes = snapshot.live * snapshot.dimension * 4
        return {
            "version": snapshot.version or None,
            "kind": snapshot.kind,
            "documents": len(snapshot.documents),
            "chunks": snapshot.live,
            "tombstones": snapshot.tombstones,
            "dimension": snapshot.dimension,
            "vector_bytes": vectors_bytes,
            "index_dir": str(self.index_dir),
        }

    # ------------------------------------------------------------ writes

    def chunker(self, doc: KnowledgeDocument) -> list[Chunk]:
        return chunk_document(doc, max_tokens=min(256, self.encoder.max_tokens), count=self.count_tokens)

    def count_tokens(self, texts: list[str]) -> list[int]:
        encoded = self.encoder.model.tokenizer(texts, add_special_tokens=False)["input_ids"]
        return [len(ids) for ids in encoded]

    def apply_sync(
        self,
        upserts: list[KnowledgeDocument],
        deletes: list[str],
        *,
        show_progress: bool = False,
    ) -> ChangeReport:
        report, snapshot = apply_changes(
            self.index_dir,
            upserts=upserts,
            deletes=deletes,
            embed=lambda texts: self.encoder.encode(texts, show_progress=show_progress),
            chunker=self.chunker,
            dimension=self.encoder.dimension,
            index_kind=self.settings.index_kind,
            ann_threshold=self.settings.ann_threshold,
        )
        self._swap(snapshot)
        log.info(
            "index_written",
            version=report.version,
            added=len(report.added),
            replaced=len(report.replaced),
            deleted=len(report.deleted),
            embedded=report.chunks_embedded,
            reused=report.chunks_reused,
        )
        return report

    async def upsert(self, documents: list[KnowledgeDocument]) -> ChangeReport:
        if not documents:
            raise InvalidInput("no documents")
        return await anyio.to_thread.run_sync(lambda: self.apply_sync(documents, []), limiter=self._write_limiter)

    async def delete(self, document_id: str) -> ChangeReport:
        if document_id not in self._snapshot.documents:
            # Another replica may have added it since our last reload.
            await anyio.to_thread.run_sync(self.reload_if_changed)
            if document_id not in self._snapshot.documents:
                raise NotFound(f"document {document_id} not found")
        return await anyio.to_thread.run_sync(lambda: self.apply_sync([], [document_id]), limiter=self._write_limiter)


def use_serving_threads() -> None:
    """One OpenMP thread for FAISS: a single-query search loses more to thread wake-ups on a
    busy 2-core host than it gains; requests run concurrently in their own threads instead."""
    faiss.omp_set_num_threads(1)


_SENTENCE_SPLIT = re.compile(r"(?<=[.!?])\s+|\n+")


def _hit(chunk: Chunk, score: float, query: str) -> KnowledgeHit:
    return KnowledgeHit(
        document_id=chunk.document_id,
        chunk_id=chunk.chunk_id,
        title=chunk.title,
        heading_path=chunk.heading_path,
        snippet=make_snippet(chunk.text, query),
        url=chunk.url,
        score=round(float(score), 6),
        text=chunk.text,
    )


def make_snippet(text: str, query: str, limit: int = SNIPPET_CHARS) -> str:
    """The passage that shares most words with the query, trimmed to ``limit`` characters."""
    sentences = [s.strip() for s in _SENTENCE_SPLIT.split(text) if s.strip()]
    if not sentences:
        return text[:limit]
    terms = set(tokenize(query))
    best = max(range(len(sentences)), key=lambda i: len(terms & set(tokenize(sentences[i]))))
    snippet = sentences[best]
    nxt = best + 1
    while nxt < len(sentences) and len(snippet) + len(sentences[nxt]) + 1 <= limit:
        snippet = f"{snippet} {sentences[nxt]}"
        nxt += 1
    if len(snippet) > limit:
        snippet = snippet[: limit - 1].rsplit(" ", 1)[0] + "…"
    return snippet
