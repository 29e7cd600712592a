"""``DELETE /v1/customers/{id}`` removes the customer's data everywhere, and nobody else's."""

from __future__ import annotations

from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy import select

from tests.conftest import auth
from tests.reliability.seed import own_session, seed_customer, table_counts
from txassist.db.models import OutboxEvent, Signal, Turn


async def test_erasure_removes_everything_of_one_customer(client: AsyncTestClient[Litestar]) -> None:
    async with own_session(client.app.state.settings) as session:
        await seed_customer(session, "cust-erase")
        await seed_customer(session, "cust-keep")
        await session.commit()
        before = await table_counts(session)

    assert (await client.delete("/v1/customers/cust-erase", headers=auth("agent-key"))).status_code == 403
    assert (await client.delete("/v1/customers/cust-erase")).status_code == 401

    response = await client.delete("/v1/customers/cust-erase", headers=auth("admin-key"))
    assert response.status_code == 200, response.text
    deleted = response.json()["deleted"]
    assert deleted == {
        "customers": 1,
        "customer_identities": 1,
        "customer_matches": 0,
        "conversations": 2,
        "turns": 6,
        "suggestions": 2,
        "suggestion_feedback": 2,
        "signals": 2,
        "outbox_events": 3,
        "learned_reply_sources": 0,  # learned replies have tests of their own (tests/replies)
        "learned_replies": 0,
    }

    async with own_session(client.app.state.settings) as session:
        after = await table_counts(session)
        # Exactly half of every table went: the other customer's rows are all still there.
        assert after == {table: count // 2 for table, count in before.items()}
        texts = (await session.scalars(select(Turn.text))).all()
        assert texts and all("cust-keep" in text for text in texts)
        refs: set[str | None] = set((await session.scalars(select(Signal.customer_ref))).all())
        refs |= set((await session.scalars(select(OutboxEvent.customer_ref))).all())
        assert len(refs) == 1

    # Nothing is left under the id: 404, never a 200 that erased nothing.
    again = await client.delete("/v1/customers/cust-erase", headers=auth("admin-key"))
    assert again.status_code == 404
    assert again.headers["content-type"].startswith("application/problem+json")


async def test_erasure_rejects_an_overlong_id(client: AsyncTestClient[Litestar]) -> None:
    response = await client.delete("/v1/customers/" + "x" * 200, headers=auth("admin-key"))
    assert response.status_code in (400, 422)
