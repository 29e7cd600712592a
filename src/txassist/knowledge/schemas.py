"""Request and response bodies of the knowledge API, with their limits."""

from __future__ import annotations

from typing import Annotated, Literal

import msgspec

from txassist.jsontypes import JsonObject

MAX_DOCUMENT_CHARS = 2_000_000
MAX_DOCUMENTS_PER_REQUEST = 500

# A non-empty id up to 256 characters (paths, "?", spaces, non-ASCII); loaders.normalise_id
# refuses blank and control-character ids with a 422 that names the problem.
DocumentId = Annotated[str, msgspec.Meta(min_length=1, max_length=256)]
# Scheme and host are checked by loaders.check_url (http and https only).
Url = Annotated[str, msgspec.Meta(max_length=2_000)]


StepText = Annotated[str, msgspec.Meta(min_length=1, max_length=2_000)]


class DocumentIn(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    # Required for articles; a procedure may carry only its steps.
    text: Annotated[str, msgspec.Meta(min_length=1, max_length=MAX_DOCUMENT_CHARS)] | None = None
    id: DocumentId | None = None
    title: Annotated[str, msgspec.Meta(max_length=500)] | None = None
    url: Url | None = None
    format: Literal["markdown", "text"] = "markdown"
    updated: Annotated[str, msgspec.Meta(max_length=64)] | None = None
    metadata: JsonObject = msgspec.field(default_factory=dict)
    # A procedure is a flow the agent follows (guidance); its ordered steps live in the metadata.
    kind: Literal["article", "procedure"] = "article"
    steps: Annotated[list[StepText], msgspec.Meta(max_length=100)] | None = None


class WriteResult(msgspec.Struct, kw_only=True):
    version: str
    added: list[str]
    replaced: list[str]
    unchanged: list[str]
    deleted: list[str]
    chunks_embedded: int
    chunks_reused: int
    live_chunks: int


class DocumentOut(msgspec.Struct, kw_only=True):
    id: str
    title: str
    url: str | None
    source: str | None
    updated: str | None
    format: str
    metadata: JsonObject
    text: str
    chunk_ids: list[str]


class KnowledgeHit(msgspec.Struct, kw_only=True, frozen=True):
    """One search hit, as search makes it and drafting, guidance and signals read it."""

    document_id: str
    chunk_id: str
    title: str
    heading_path: list[str]
    snippet: str
    url: str | None
    score: float
    text: str  # the whole chunk: what a draft quotes and cites (the API shows only the snippet)


class SearchHitOut(msgspec.Struct, kw_only=True):
    document_id: str
    chunk_id: str
    title: str
    heading_path: list[str]
    snippet: str
    url: str | None
    score: float

    @classmethod
    def of(cls, hit: KnowledgeHit) -> SearchHitOut:
        return cls(
            document_id=hit.document_id,
            chunk_id=hit.chunk_id,
            title=hit.title,
            heading_path=list(hit.heading_path),
            snippet=hit.snippet,
            url=hit.url,
            score=hit.score,
        )


class SearchResponse(msgspec.Struct, kw_only=True):
    results: list[SearchHitOut]
    mode: Literal["hybrid", "dense", "lexical"]
    timings_ms: dict[str, float]


class StatsOut(msgspec.Struct, kw_only=True):
    version: str | None
    kind: str
    documents: int
    chunks: int
    tombstones: int
    dimension: int
    vector_bytes: int
    index_dir: str
