"""``POST /v1/conversations/{conversation_id}/turns``: the call made on every customer turn."""

from __future__ import annotations

from typing import Annotated

import msgspec
from litestar import Controller, MediaType, Response, post
from litestar.openapi.datastructures import ResponseSpec
from litestar.params import Parameter
from sqlalchemy.ext.asyncio import AsyncSession

from txassist.assist.pipeline import TurnPipeline, TurnServices
from txassist.assist.schemas import TurnRequest, TurnResponse
from txassist.http.auth import requires
from txassist.http.openapi import BODY, GUARDED, problem_responses

PathId = Annotated[str, Parameter(min_length=1, max_length=128)]


class TurnController(Controller):
    path = "/v1/conversations"
    tags = ["assist"]
    guards = [requires("agent", "platform")]

    @post(
        "/{conversation_id:str}/turns",
        summary="Store a turn; return its sentiment, knowledge, context, suggestion and signals",
        responses={
            **problem_responses(*GUARDED, *BODY, 404, 409),
            200: ResponseSpec(data_container=TurnResponse, description="The turn's assist"),
        },
        status_code=200,
    )
    async def add_turn(
        self, conversation_id: PathId, data: TurnRequest, db_session: AsyncSession, turn_services: TurnServices
    ) -> Response[bytes]:
        pipeline = TurnPipeline(turn_services, db_session)
        body = await pipeline.handle(conversation_id, data)
        # Keys sorted: PostgreSQL's JSONB does not keep key order, and a retried turn must get
        # byte-for-byte the answer the first attempt got.
        return Response(msgspec.json.encode(body, order="sorted"), media_type=MediaType.JSON)
