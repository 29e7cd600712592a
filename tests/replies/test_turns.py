"""Learned replies through the real turn route: taught by feedback or by an agent sending a suggestion
unchanged, offered first to the next customer who asks the same, gone with an erasure; SQLite and
PostgreSQL."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy import select

from tests.conftest import auth
from tests.drafting.test_api import own_session
from txassist.app import create_app
from txassist.config import Settings
from txassist.db.models import LearnedReply, SuggestionFeedback

Client = AsyncTestClient[Litestar]
QUESTION = "How do I change the delivery address for my next box?"
REPEAT = "Can I update the address my next delivery goes to?"
AGENT_REPLY = "You can change the delivery address under Account > Deliveries until the day before dispatch."


async def _customer(client: Client, conversation: str, customer: str, text: str) -> dict[str, Any]:
    response = await client.post(
        f"/v1/conversations/{conversation}/turns",
        json={"customer_id": customer, "channel": "chat", "speaker": "customer", "text": text},
        headers=auth("agent-key"),
    )
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def _agent(client: Client, conversation: str, customer: str, text: str) -> None:
    response = await client.post(
        f"/v1/conversations/{conversation}/turns",
        json={"customer_id": customer, "channel": "chat", "speaker": "agent", "text": text},
        headers=auth("agent-key"),
    )
    assert response.status_code == 200, response.text


def _sources(body: dict[str, Any]) -> list[str]:
    return [s["source"] for s in body["suggestions"]]


async def test_an_edited_reply_is_offered_first_to_the_next_customer_and_erased_with_its_teacher(
    client: Client,
) -> None:
    first = await _customer(client, "lr-1", "cust-a", QUESTION)
    assert _sources(first) == ["grounded"]
    feedback = await client.post(
        f"/v1/suggestions/{first['suggestions'][0]['id']}/feedback",
        json={"action": "edited", "text": AGENT_REPLY},
        headers=auth("agent-key"),
    )
    assert feedback.status_code == 201, feedback.text

    repeat = await _customer(client, "lr-2", "cust-b", REPEAT)
    assert _sources(repeat) == ["learned", "grounded"]
    learned = repeat["suggestions"][0]
    assert learned["text"] == AGENT_REPLY and learned["citations"] == []

    # Rejected once, it is still offered (one rejection against one acceptance), and the stats see it.
    rejected = await client.post(
        f"/v1/suggestions/{learned['id']}/feedback", json={"action": "rejected"}, headers=auth("agent-key")
    )
    assert rejected.status_code == 201
    stats = (await client.get("/v1/suggestions/stats", headers=auth("product-key"))).json()["items"]
    assert any(row["backend"] == "learned" and row["rejected"] == 1 for row in stats)

    erased = await client.delete("/v1/customers/cust-a", headers=auth("admin-key"))
    assert erased.status_code == 200, erased.text
    assert erased.json()["deleted"]["learned_replies"] == 1
    after = await _customer(client, "lr-3", "cust-c", REPEAT)
    assert _sources(after) == ["grounded"]


async def test_a_suggestion_sent_unchanged_is_learned(client: Client) -> None:
    first = await _customer(client, "lr-4", "cust-d", "Can I pause my deliveries while I am away on holiday?")
    suggested = first["suggestions"][0]["text"]
    await _agent(client, "lr-4", "cust-d", suggested)
    repeat = await _customer(client, "lr-5", "cust-e", "Is it possible to pause deliveries during my holiday?")
    assert repeat["suggestions"][0]["source"] == "learned"
    assert repeat["suggestions"][0]["text"] == suggested


async def test_the_library_can_be_switched_off(make_settings: Callable[..., Settings]) -> None:
    async with AsyncTestClient(app=create_app(make_settings(learned_replies=False))) as client:
        first = await _customer(client, "lr-6", "cust-f", QUESTION)
        await client.post(
            f"/v1/suggestions/{first['suggestions'][0]['id']}/feedback",
            json={"action": "edited", "text": AGENT_REPLY},
            headers=auth("agent-key"),
        )
        repeat = await _customer(client, "lr-7", "cust-g", REPEAT)
        assert _sources(repeat) == ["grounded"]


async def test_a_learned_reply_edited_to_carry_pii_is_stored_redacted_and_never_learned(client: Client) -> None:
    first = await _customer(client, "lr-8", "cust-h", QUESTION)
    await client.post(
        f"/v1/suggestions/{first['suggestions'][0]['id']}/feedback",
        json={"action": "edited", "text": AGENT_REPLY},
        headers=auth("agent-key"),
    )
    repeat = await _customer(client, "lr-9", "cust-i", REPEAT)
    learned = repeat["suggestions"][0]
    assert learned["source"] == "learned"
    personal = f"{AGENT_REPLY} Or email me at dana.woods@example.com and I will do it for you."
    edited = await client.post(
        f"/v1/suggestions/{learned['id']}/feedback",
        json={"action": "edited", "text": personal},
        headers=auth("agent-key"),
    )
    assert edited.status_code == 201, edited.text
    async with own_session(client.app) as session:
        feedback = (await session.scalars(select(SuggestionFeedback.text))).all()
        replies = (await session.scalars(select(LearnedReply.text))).all()
    # The feedback keeps what the agent sent, redacted; the library never takes one customer's address.
    assert feedback and not any("dana.woods@example.com" in (text or "") for text in feedback)
    assert any("[EMAIL]" in (text or "") for text in feedback)
    assert replies and not any("dana.woods" in text or "[EMAIL]" in text for text in replies)
    later = await _customer(client, "lr-10", "cust-j", REPEAT)
    assert all("dana.woods" not in s["text"] for s in later["suggestions"])
