"""``GET /v1/conversations/{id}`` and ``GET /v1/customers/{id}/context``."""

from __future__ import annotations

from typing import Annotated

from litestar import Controller, get
from litestar.params import Parameter
from sqlalchemy.ext.asyncio import AsyncSession

from txassist.conversations.repository import ConversationRepository
from txassist.conversations.schemas import ConversationOut, CustomerContext
from txassist.conversations.service import ConversationQueries
from txassist.http.auth import requires
from txassist.http.openapi import GUARDED, PARAMS, problem_responses
from txassist.services import Services

PathId = Annotated[str, Parameter(min_length=1, max_length=128)]


class ConversationController(Controller):
    path = "/v1/conversations"
    tags = ["conversations"]
    guards = [requires("agent")]

    @get(
        "/{conversation_id:str}",
        summary="A conversation with its turns and summary",
        responses=problem_responses(*GUARDED, *PARAMS, 404),
    )
    async def get_conversation(
        self, conversation_id: PathId, db_session: AsyncSession, services: Services
    ) -> ConversationOut:
        queries = ConversationQueries(ConversationRepository(db_session), services.settings)
        return await queries.conversation(conversation_id)


class CustomerContextController(Controller):
    path = "/v1/customers"
    tags = ["conversations"]
    guards = [requires("agent", "platform")]

    @get(
        "/{customer_id:str}/context",
        summary="The customer's recent conversations on every channel",
        responses=problem_responses(*GUARDED, *PARAMS, 404),
    )
    async def context(self, customer_id: PathId, db_session: AsyncSession, services: Services) -> CustomerContext:
        queries = ConversationQueries(ConversationRepository(db_session), services.settings)
        return await queries.customer_context(customer_id)
