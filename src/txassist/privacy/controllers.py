"""``DELETE /v1/customers/{customer_id}``: the right to erasure (scope ``admin``)."""

from __future__ import annotations

from typing import Annotated

from litestar import Controller, delete
from litestar.params import Parameter
from sqlalchemy.ext.asyncio import AsyncSession

from txassist.config import Settings
from txassist.http.auth import requires
from txassist.http.openapi import GUARDED, PARAMS, problem_responses
from txassist.privacy.erasure import erase_customer
from txassist.privacy.schemas import ErasureOut
from txassist.replies.service import LearnedReplyLibrary


class ErasureController(Controller):
    path = "/v1/customers"
    tags = ["privacy"]
    guards = [requires("admin")]

    @delete(
        "/{customer_id:str}",
        status_code=200,
        summary="Erase a customer",
        description="Removes the customer, identities, conversations, turns, suggestions, feedback, "
        "signals and pending outbox events. Each of the customer's ids works (an alias linked to it "
        "erases the customer it stands for). 404 when nothing is stored under the id, so a second "
        "call answers 404.",
        responses=problem_responses(*GUARDED, *PARAMS, 404),
    )
    async def erase(
        self,
        db_session: AsyncSession,
        settings: Settings,
        replies: LearnedReplyLibrary,
        customer_id: Annotated[str, Parameter(min_length=1, max_length=128)],
    ) -> ErasureOut:
        report = await erase_customer(db_session, customer_id, pseudonym_secret=settings.pseudonym_secret)
        if report.deleted.get("learned_replies"):
            replies.invalidate()
        return ErasureOut(customer_id=report.customer_id, deleted=report.deleted)
