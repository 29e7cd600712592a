"""``GET /v1/conversations/{id}``, ``GET /v1/customers/{id}/context`` and ``POST /v1/customers/{id}/links``."""

from __future__ import annotations

from typing import Annotated

from litestar import Controller, get, post
from litestar.params import Parameter
from sqlalchemy.ext.asyncio import AsyncSession

from txassist.config import Settings
from txassist.conversations.repository import ConversationRepository
from txassist.conversations.schemas import ConversationOut, CustomerContext, LinkIn, LinkOut
from txassist.conversations.service import ConversationQueries, CustomerLinks
from txassist.http.auth import requires
from txassist.http.openapi import BODY, GUARDED, PARAMS, problem_responses

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
        self, conversation_id: PathId, db_session: AsyncSession, settings: Settings
    ) -> ConversationOut:
        queries = ConversationQueries(ConversationRepository(db_session), settings)
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
    async def context(self, customer_id: PathId, db_session: AsyncSession, settings: Settings) -> CustomerContext:
        queries = ConversationQueries(ConversationRepository(db_session), settings)
        return await queries.customer_context(customer_id)


class CustomerLinkController(Controller):
    path = "/v1/customers"
    tags = ["conversations"]
    guards = [requires("agent")]  # confirming who is who is an agent's decision, not a platform's

    @post(
        "/{customer_id:str}/links",
        status_code=200,
        summary="Confirm that this customer is the same person as another customer, or holds an identity",
        description="Body: `customer_id` of the other customer (this customer joins it and its id becomes "
        "an alias), or `kind` and `value` of an identity: held by nobody, it is linked here (verified); "
        "held by a customer named in this customer's possible matches, this customer joins that one; "
        "held by anyone else, 409.",
        responses=problem_responses(*GUARDED, *BODY, *PARAMS, 404, 409),
    )
    async def link(self, customer_id: PathId, data: LinkIn, db_session: AsyncSession, settings: Settings) -> LinkOut:
        return await CustomerLinks(ConversationRepository(db_session), settings).link(customer_id, data)
