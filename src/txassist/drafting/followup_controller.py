"""``GET /v1/conversations/{id}/turns/{turn_id}/followup``: a slow backend's reply to a turn, as SSE."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated, Any

import msgspec
from litestar import Controller, Request, get
from litestar.params import Parameter
from litestar.response import ServerSentEvent
from litestar.response.base import ASGIResponse
from litestar.response.sse import ServerSentEventMessage

from txassist.drafting.followup import FollowupDrafts
from txassist.errors import NotFound
from txassist.http.auth import requires
from txassist.http.openapi import GUARDED, problem_responses, with_media_types

PathId = Annotated[str, Parameter(min_length=1, max_length=128)]


class FollowupController(Controller):
    path = "/v1/conversations"
    tags = ["drafting"]
    guards = [requires("agent")]

    @get(
        "/{conversation_id:str}/turns/{turn_id:str}/followup",
        summary="The LLM reply that follows a turn's grounded reply (Server-Sent Events)",
        responses=problem_responses(*GUARDED, 404),
        operation_class=with_media_types(
            200, "text/event-stream", description="delta events, then suggestion or failed, then done"
        ),
    )
    async def followup(
        self, conversation_id: PathId, turn_id: PathId, followups: FollowupDrafts, request: Request[Any, Any, Any]
    ) -> ASGIResponse:
        if not followups.find(conversation_id, turn_id):
            raise NotFound(f"no LLM follow-up for turn {turn_id!r} of conversation {conversation_id!r} in this process")
        events = ServerSentEvent(_messages(followups, conversation_id, turn_id))
        return events.to_asgi_response(request.app, request, media_type="text/event-stream")


async def _messages(
    followups: FollowupDrafts, conversation_id: str, turn_id: str
) -> AsyncIterator[ServerSentEventMessage]:
    async for kind, data in followups.events(conversation_id, turn_id):
        yield ServerSentEventMessage(event=kind, data=msgspec.json.encode(data).decode())
