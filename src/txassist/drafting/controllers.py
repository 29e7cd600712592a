"""Drafts, summaries, close, and suggestion feedback over HTTP (thin: each service does its own job)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

import msgspec
from litestar import Controller, Response, get, post
from litestar.background_tasks import BackgroundTask
from litestar.openapi import ResponseSpec
from litestar.params import Body, Parameter
from litestar.response import ServerSentEvent
from litestar.response.base import ASGIResponse
from litestar.response.sse import ServerSentEventMessage
from sqlalchemy.ext.asyncio import AsyncSession

from txassist.drafting.closing import ConversationCloser
from txassist.drafting.feedback import FeedbackService
from txassist.drafting.schemas import (
    CloseOut,
    CloseRequest,
    DraftOut,
    DraftRequest,
    FeedbackIn,
    FeedbackOut,
    StatsOut,
    SuggestionOut,
    SummaryOut,
    SummaryRequest,
)
from txassist.drafting.suggestions import SuggestionEvent, SuggestionService
from txassist.drafting.summarizer import SummaryService
from txassist.http.auth import requires
from txassist.http.openapi import BODY, GUARDED, problem_responses, with_media_types
from txassist.http.requests import AnyRequest

PathId = Annotated[str, Parameter(min_length=1, max_length=128)]


class DraftingController(Controller):
    path = "/v1/conversations"
    tags = ["drafting"]
    guards = [requires("agent")]

    @post(
        "/{conversation_id:str}/draft",
        summary="A suggested reply grounded in the knowledge base (Server-Sent Events with ?stream=true)",
        responses={
            **problem_responses(*GUARDED, *BODY, 404, 409, 502, 504),
            201: ResponseSpec(DraftOut, description="The suggestion (JSON unless ?stream=true)"),
        },
        operation_class=with_media_types(
            200, "text/event-stream", description="The suggestion as Server-Sent Events (?stream=true)"
        ),
    )
    async def draft(
        self,
        conversation_id: PathId,
        db_session: AsyncSession,
        suggestions: SuggestionService,
        request: AnyRequest,
        data: Annotated[DraftRequest | None, Body()] = None,
        stream: bool = False,
    ) -> ASGIResponse:
        options = data or DraftRequest()
        found = await suggestions.draft_input(db_session, conversation_id)
        if stream:
            # Validate the backend now, so a bad request is a 422 and not a broken stream.
            suggestions.check_backend(options)
            events = ServerSentEvent(_sse_events(suggestions.stream(found, options)))
            return events.to_asgi_response(request.app, request, media_type="text/event-stream")
        suggestion = await suggestions.suggest(db_session, found, options)
        body = DraftOut(conversation_id=conversation_id, suggestions=[suggestion])
        # One return type for both shapes: the handler hands Litestar finished ASGI responses.
        return Response(body, status_code=201).to_asgi_response(request.app, request)

    @post(
        "/{conversation_id:str}/summary",
        summary="Rolling, handoff or after-contact summary",
        responses=problem_responses(*GUARDED, *BODY, 404, 409, 502, 504),
    )
    async def summary(
        self, conversation_id: PathId, db_session: AsyncSession, summaries: SummaryService, data: SummaryRequest
    ) -> SummaryOut:
        return await summaries.for_conversation(db_session, conversation_id, kind=data.kind, backend=data.backend)

    @post(
        "/{conversation_id:str}/close",
        summary="Close and write the after-contact summary",
        status_code=200,
        responses={
            **problem_responses(*GUARDED, *BODY, 404, 409),
            202: ResponseSpec(CloseOut, description="Closed; a slow backend writes the summary in the background"),
        },
    )
    async def close(
        self,
        conversation_id: PathId,
        db_session: AsyncSession,
        closer: ConversationCloser,
        data: Annotated[CloseRequest | None, Body()] = None,
    ) -> Response[CloseOut]:
        backend = (data or CloseRequest()).backend
        body = await closer.close(db_session, conversation_id, backend)
        if body.pending:
            # The close itself commits now; the summary and close-time signals land when the model is done.
            task = BackgroundTask(closer.finish_later, conversation_id, backend)
            return Response(body, status_code=202, background=task)
        return Response(body, status_code=200)


class SuggestionController(Controller):
    path = "/v1/suggestions"
    tags = ["drafting"]

    @post(
        "/{suggestion_id:str}/feedback",
        guards=[requires("agent")],
        summary="Agent feedback on a suggestion",
        responses=problem_responses(*GUARDED, *BODY, 404, 409),
    )
    async def feedback(
        self, suggestion_id: PathId, db_session: AsyncSession, feedback: FeedbackService, data: FeedbackIn
    ) -> FeedbackOut:
        return await feedback.record(db_session, suggestion_id, action=data.action, text=data.text, reason=data.reason)

    @get(
        "/stats",
        guards=[requires("agent", "platform", "product")],
        summary="Acceptance rate and edit distance per backend and prompt version",
        responses=problem_responses(*GUARDED),
    )
    async def stats(self, db_session: AsyncSession, feedback: FeedbackService) -> StatsOut:
        return await feedback.stats(db_session)


async def _sse_events(events: AsyncIterator[SuggestionEvent]) -> AsyncIterator[ServerSentEventMessage]:
    async for kind, payload in events:
        if isinstance(payload, SuggestionOut):
            yield ServerSentEventMessage(event=kind, data=msgspec.json.encode(payload).decode())
        else:
            yield ServerSentEventMessage(event=kind, data=msgspec.json.encode({"text": payload}).decode())
    yield ServerSentEventMessage(event="done", data="{}")
