"""Drafts, summaries, close, and suggestion feedback over HTTP (thin: the service does the work)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

import msgspec
import structlog
from litestar import Controller, Response, get, post
from litestar.background_tasks import BackgroundTask
from litestar.openapi import ResponseSpec
from litestar.params import Body, Parameter
from litestar.response import ServerSentEvent
from litestar.response.base import ASGIResponse
from litestar.response.sse import ServerSentEventMessage
from sqlalchemy.ext.asyncio import AsyncSession

from txassist.conversations.records import TurnRecord
from txassist.db.engine import SessionFactory
from txassist.drafting.closing import ConversationCloser
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
from txassist.drafting.service import DraftingService, knowledge_hits
from txassist.http.auth import requires
from txassist.http.openapi import BODY, GUARDED, problem_responses, with_media_types
from txassist.http.requests import AnyRequest
from txassist.knowledge.schemas import KnowledgeHit
from txassist.knowledge.service import KnowledgeService

PathId = Annotated[str, Parameter(min_length=1, max_length=128)]


log = structlog.get_logger("txassist.drafting")


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
        drafting: DraftingService,
        knowledge: KnowledgeService,
        session_factory: SessionFactory,
        request: AnyRequest,
        data: Annotated[DraftRequest | None, Body()] = None,
        stream: bool = False,
    ) -> ASGIResponse:
        options = data or DraftRequest()
        conversation, turns = await drafting.conversation_turns(db_session, conversation_id)
        hits = await knowledge_hits(knowledge, turns)
        customer = [t for t in turns if t.speaker == "customer"]
        sentiment = customer[-1].sentiment_label if customer else None
        channel = turns[-1].channel or conversation.channel
        if stream:
            # Validate the backend now, so a bad request is a 422 and not a broken stream.
            drafting.backend_is_slow(options.backend)
            events = ServerSentEvent(
                _sse_events(session_factory, drafting, conversation_id, channel, turns, hits, sentiment, options)
            )
            return events.to_asgi_response(request.app, request, media_type="text/event-stream")
        suggestion = await drafting.suggest(
            db_session,
            conversation_id=conversation_id,
            channel=channel,
            turns=turns,
            hits=hits,
            sentiment=sentiment,
            turn_key=None,
            allow_slow=True,
            backend=options.backend,
            max_tokens=options.max_tokens,
        )
        body = DraftOut(conversation_id=conversation_id, suggestions=[suggestion])
        # One return type for both shapes: the handler hands Litestar finished ASGI responses.
        return Response(body, status_code=201).to_asgi_response(request.app, request)

    @post(
        "/{conversation_id:str}/summary",
        summary="Rolling, handoff or after-contact summary",
        responses=problem_responses(*GUARDED, *BODY, 404, 409, 502, 504),
    )
    async def summary(
        self, conversation_id: PathId, db_session: AsyncSession, drafting: DraftingService, data: SummaryRequest
    ) -> SummaryOut:
        conversation, turns = await drafting.conversation_turns(db_session, conversation_id)
        out = await drafting.summarize(
            turns, kind=data.kind, conversation_channel=conversation.channel, backend=data.backend
        )
        if data.kind == "handoff":
            conversation.handoff_summary = out.text
        return msgspec.structs.replace(out, conversation_id=conversation_id)

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
        self, suggestion_id: PathId, db_session: AsyncSession, drafting: DraftingService, data: FeedbackIn
    ) -> FeedbackOut:
        return await drafting.record_feedback(
            db_session, suggestion_id, action=data.action, text=data.text, reason=data.reason
        )

    @get(
        "/stats",
        guards=[requires("agent", "platform", "product")],
        summary="Acceptance rate and edit distance per backend and prompt version",
        responses=problem_responses(*GUARDED),
    )
    async def stats(self, db_session: AsyncSession, drafting: DraftingService) -> StatsOut:
        return await drafting.stats(db_session)


async def _sse_events(
    session_factory: SessionFactory,
    drafting: DraftingService,
    conversation_id: str,
    channel: str,
    turns: list[TurnRecord],
    hits: list[KnowledgeHit],
    sentiment: str | None,
    request: DraftRequest,
) -> AsyncIterator[ServerSentEventMessage]:
    # The request's session is gone once streaming starts: the suggestion gets its own transaction.
    async with session_factory() as session:
        async for kind, payload in drafting.stream_suggestion(
            session,
            conversation_id=conversation_id,
            channel=channel,
            turns=turns,
            hits=hits,
            sentiment=sentiment,
            backend=request.backend,
            max_tokens=request.max_tokens,
        ):
            if isinstance(payload, SuggestionOut):
                await session.commit()
                yield ServerSentEventMessage(event="suggestion", data=msgspec.json.encode(payload).decode())
            else:
                yield ServerSentEventMessage(event=kind, data=msgspec.json.encode({"text": payload}).decode())
    yield ServerSentEventMessage(event="done", data="{}")
