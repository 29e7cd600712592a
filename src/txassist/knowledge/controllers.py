"""``/v1/kb``: document writes (admin), document reads and search (agent, platform)."""

from __future__ import annotations

import functools
from typing import Annotated, Literal
from urllib.parse import unquote

import anyio.to_thread
import msgspec
from litestar import Controller, delete, get, post
from litestar.datastructures import UploadFile
from litestar.params import Parameter

from txassist.config import Settings
from txassist.errors import InvalidInput, NotFound, PayloadTooLarge, UnsupportedMediaType
from txassist.http.auth import requires
from txassist.http.openapi import BODY, GUARDED, PARAMS, problem_responses
from txassist.http.requests import AnyRequest
from txassist.jsontypes import JsonObject
from txassist.knowledge.index import ChangeReport
from txassist.knowledge.loaders import KnowledgeDocument, load_bytes, make_document
from txassist.knowledge.pdf import PdfText, extract_pdf_isolated
from txassist.knowledge.schemas import (
    MAX_DOCUMENTS_PER_REQUEST,
    DocumentIn,
    DocumentOut,
    SearchHitOut,
    SearchResponse,
    StatsOut,
    WriteResult,
)
from txassist.knowledge.service import MAX_K, MAX_QUERY_CHARS, KnowledgeService

DOCUMENTS_PATH = "/v1/kb/documents"


def _result(report: ChangeReport) -> WriteResult:
    return WriteResult(
        version=report.version,
        added=report.added,
        replaced=report.replaced,
        unchanged=report.unchanged,
        deleted=report.deleted,
        chunks_embedded=report.chunks_embedded,
        chunks_reused=report.chunks_reused,
        live_chunks=report.live_chunks,
    )


def _from_json(body: bytes) -> list[KnowledgeDocument]:
    try:
        parsed = msgspec.json.decode(body, type=DocumentIn | list[DocumentIn])
    except msgspec.ValidationError as exc:
        raise InvalidInput(f"invalid document: {exc}") from exc
    except msgspec.DecodeError as exc:
        raise InvalidInput(f"body is not valid JSON: {exc}") from exc
    items = parsed if isinstance(parsed, list) else [parsed]
    if not items or len(items) > MAX_DOCUMENTS_PER_REQUEST:
        raise InvalidInput(f"send between 1 and {MAX_DOCUMENTS_PER_REQUEST} documents")
    return [
        make_document(
            doc_id=item.id,
            title=item.title,
            text=_document_text(item),
            fmt=item.format,
            url=item.url,
            source="api",
            updated=item.updated,
            metadata=_document_metadata(item),
        )
        for item in items
    ]


def _document_text(item: DocumentIn) -> str:
    if item.kind == "procedure":
        steps = [s.strip() for s in item.steps or [] if s.strip()]
        if not steps:
            raise InvalidInput(
                f"procedure {item.id or item.title or ''} needs a non-empty 'steps' list".replace("  ", " ")
            )
        # The steps are indexed with the text so that searches find the procedure.
        numbered = "\n".join(f"{i}. {step}" for i, step in enumerate(steps, 1))
        return f"{item.text}\n\n{numbered}" if item.text else numbered
    if item.steps:
        raise InvalidInput('\'steps\' belong to documents with "kind": "procedure"')
    if not item.text:
        raise InvalidInput("document needs 'text'")
    return item.text


def _document_metadata(item: DocumentIn) -> JsonObject:
    if item.kind != "procedure":
        return item.metadata
    return {**item.metadata, "kind": "procedure", "steps": [s.strip() for s in item.steps or [] if s.strip()]}


async def _from_upload(request: AnyRequest, settings: Settings) -> list[KnowledgeDocument]:
    form = await request.form()
    uploads = [value for _, value in form.multi_items() if isinstance(value, UploadFile)]
    if not uploads:
        raise InvalidInput("multipart body has no file part")
    limit = settings.max_body_bytes

    def isolated_pdf(data: bytes, name: str) -> PdfText:
        return extract_pdf_isolated(
            data, name, timeout_s=settings.upload_parse_timeout_s, max_pages=settings.upload_max_pages
        )

    documents: list[KnowledgeDocument] = []
    for upload in uploads:
        data = await upload.read()
        if len(data) > limit:
            raise PayloadTooLarge(f"{upload.filename}: larger than {limit} bytes")
        name = upload.filename or "upload.txt"
        # Parsing leaves the event loop; PDFs go further, into a killable worker process.
        parsed = await anyio.to_thread.run_sync(
            functools.partial(load_bytes, data, name, source=upload.filename, extract_pdf=isolated_pdf)
        )
        documents.extend(parsed)
    return documents


def _document_id(request: AnyRequest, routed: str) -> str:
    """The id exactly as the client percent-encoded it.

    The router hands over a path that was decoded and normalised (``//`` collapsed, a trailing ``/``
    dropped, ``%25`` decoded twice); the raw path, decoded once, is what the client meant.
    """
    raw = request.scope.get("raw_path")
    if isinstance(raw, bytes):
        path = raw.decode("latin-1")
        marker = DOCUMENTS_PATH + "/"
        at = path.find(marker)
        if at >= 0:
            try:
                return unquote(path[at + len(marker) :], encoding="utf-8", errors="strict")
            except UnicodeDecodeError as exc:
                raise InvalidInput("document id is not valid UTF-8 once percent-decoded") from exc
    return routed.removeprefix("/")


class KnowledgeDocumentController(Controller):
    path = DOCUMENTS_PATH
    tags = ["knowledge"]

    @post(
        "/",
        guards=[requires("admin")],
        summary="Add or replace documents (JSON: one or a list; or multipart file upload)",
        responses=problem_responses(*GUARDED, *BODY, 404, 507),
    )
    async def add(self, request: AnyRequest, knowledge: KnowledgeService, settings: Settings) -> WriteResult:
        limit = settings.max_body_bytes
        declared = request.headers.get("content-length")
        if declared and declared.isdigit() and int(declared) > limit:
            raise PayloadTooLarge(f"body larger than {limit} bytes")
        content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
        if content_type == "application/json":
            body = await request.body()
            if len(body) > limit:
                raise PayloadTooLarge(f"body larger than {limit} bytes")
            documents = _from_json(body)
        elif content_type == "multipart/form-data":
            documents = await _from_upload(request, settings)
        else:
            raise UnsupportedMediaType("send application/json or multipart/form-data")
        return _result(await knowledge.upsert(documents))

    @delete(
        "/{document_id:path}",
        guards=[requires("admin")],
        status_code=200,
        summary="Delete a document and its chunks",
        responses=problem_responses(*GUARDED, 404, 507),
    )
    async def remove(self, request: AnyRequest, document_id: str, knowledge: KnowledgeService) -> WriteResult:
        return _result(await knowledge.delete(_document_id(request, document_id)))

    @get(
        "/{document_id:path}",
        guards=[requires("agent", "platform", "admin")],
        summary="One document",
        responses=problem_responses(*GUARDED, 404),
    )
    async def read(self, request: AnyRequest, document_id: str, knowledge: KnowledgeService) -> DocumentOut:
        document_id = _document_id(request, document_id)
        doc = knowledge.get_document(document_id)
        if doc is None:
            raise NotFound(f"document {document_id} not found")
        return DocumentOut(
            id=doc.id,
            title=doc.title,
            url=doc.url,
            source=doc.source,
            updated=doc.updated,
            format=doc.format,
            metadata=doc.metadata,
            text=doc.text,
            chunk_ids=knowledge.document_chunk_ids(document_id),
        )


class KnowledgeStatsController(Controller):
    path = "/v1/kb/stats"
    tags = ["knowledge"]
    guards = [requires("agent", "platform", "admin")]

    @get("/", summary="Index version, kind and size", responses=problem_responses(*GUARDED, 404))
    async def stats(self, knowledge: KnowledgeService) -> StatsOut:
        return msgspec.convert(knowledge.stats(), StatsOut)


class KnowledgeSearchController(Controller):
    path = "/v1/kb/search"
    tags = ["knowledge"]
    guards = [requires("agent", "platform")]

    @get(
        "/",
        summary="Hybrid (default), dense or lexical search with citations",
        responses=problem_responses(*GUARDED, *PARAMS, 404),
    )
    async def search(
        self,
        knowledge: KnowledgeService,
        q: Annotated[str, Parameter(min_length=1, max_length=MAX_QUERY_CHARS)],
        k: Annotated[int, Parameter(ge=1, le=MAX_K)] = 5,
        mode: Literal["hybrid", "dense", "lexical"] = "hybrid",
        min_score: Annotated[float | None, Parameter(ge=-1.0, le=1000.0)] = None,
    ) -> SearchResponse:
        if not q.strip():
            raise InvalidInput("q is empty")
        outcome = await knowledge.search(q, k=k, mode=mode, min_score=min_score)
        results = [SearchHitOut.of(hit) for hit in outcome.hits]
        return SearchResponse(results=results, mode=mode, timings_ms=outcome.timings_ms)
