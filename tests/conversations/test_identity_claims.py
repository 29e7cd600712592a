"""Identity taken on trust (issue 19): a claimed email, phone or handle never opens or captures another
customer's history; agents confirm possible matches; erasure works by any of a customer's ids.

Through the real app on SQLite and PostgreSQL, as a platform would call it.
"""

from __future__ import annotations

from typing import Any

from litestar import Litestar
from litestar.testing import AsyncTestClient

from tests.conftest import auth

Client = AsyncTestClient[Litestar]
FEATURES = ["context"]  # the identity path is what is under test; the models add nothing here


async def _turn(client: Client, conversation_id: str, customer_id: str, text: str, **extra: Any) -> dict[str, Any]:
    body = {"customer_id": customer_id, "channel": "chat", "speaker": "customer", "text": text, "features": FEATURES}
    response = await client.post(
        f"/v1/conversations/{conversation_id}/turns", json=body | extra, headers=auth("platform-key")
    )
    assert response.status_code in (200, 201), response.text
    result: dict[str, Any] = response.json()
    return result


async def _victim(client: Client) -> None:
    """A logged-in customer whose history holds an issue and a refund amount."""
    identity = {"email": "jane@example.com", "phone": "+44 20 7946 0958", "verified": {"email": True, "phone": True}}
    await _turn(client, "jane-chat", "jane", "My refund of 412.50 GBP for order 88 never arrived", identity=identity)


async def _context(client: Client, customer_id: str) -> dict[str, Any]:
    response = await client.get(f"/v1/customers/{customer_id}/context", headers=auth("agent-key"))
    assert response.status_code == 200, response.text
    result: dict[str, Any] = response.json()
    return result


async def _owner_of(client: Client, conversation_id: str) -> str:
    response = await client.get(f"/v1/conversations/{conversation_id}", headers=auth("agent-key"))
    assert response.status_code == 200, response.text
    owner: str = response.json()["customer_id"]
    return owner


async def test_a_claimed_email_opens_no_history_and_files_nothing_under_its_owner(client: Client) -> None:
    await _victim(client)
    # A new customer id with someone else's email, unverified (an old-style request: no "verified").
    body = await _turn(
        client, "att-chat", "attacker-1", "hi, any news on my refund?", identity={"email": "jane@example.com"}
    )
    context = body["context"]
    assert context["customer_id"] == "attacker-1"
    assert context["conversations"] == []
    assert context["possible_matches"] == [
        {"customer_id": "jane", "kind": "email", "note": "may be the same customer as jane (same email, not confirmed)"}
    ]
    assert "412.50" not in str(body) and "order 88" not in str(body)
    assert await _owner_of(client, "att-chat") == "attacker-1"
    # The owner's agent sees the match too, and still only the owner's own history.
    jane = await _context(client, "jane")
    assert [c["conversation_id"] for c in jane["conversations"]] == ["jane-chat"]
    assert [(m["customer_id"], m["kind"]) for m in jane["possible_matches"]] == [("attacker-1", "email")]
    # Claiming it as verified changes nothing for a customer that already exists: no identity moves.
    body = await _turn(
        client, "att-chat", "attacker-1", "again", identity={"email": "jane@example.com", "verified": {"email": True}}
    )
    assert body["context"]["conversations"] == []
    assert len(body["context"]["possible_matches"]) == 1  # stored once, not once per turn
    assert await _owner_of(client, "jane-chat") == "jane"


async def test_a_phone_registered_first_does_not_capture_its_owner(client: Client) -> None:
    # The attacker registers the victim's unused phone number first.
    await _turn(client, "att-sms", "attacker-2", "hello", identity={"phone": "+44 7700 900123"})
    # The real owner arrives later, verified by the platform (an OTP), under a new id.
    verified = {"phone": "+447700900123", "verified": {"phone": True}}
    body = await _turn(client, "own-voice", "owner-1", "my card was charged twice, 99.99", identity=verified)
    assert body["context"]["customer_id"] == "owner-1"
    assert [m["customer_id"] for m in body["context"]["possible_matches"]] == ["attacker-2"]
    assert await _owner_of(client, "own-voice") == "owner-1"
    # A second new id of the owner, verified again, does not join the attacker either.
    body = await _turn(client, "own-chat", "owner-chat-1", "following up", identity=verified)
    assert await _owner_of(client, "own-chat") == "owner-chat-1"
    attacker = await _context(client, "attacker-2")
    assert [c["conversation_id"] for c in attacker["conversations"]] == ["att-sms"]
    assert "99.99" not in str(attacker)


async def test_a_verified_identity_links_a_new_id_as_before(client: Client) -> None:
    await _victim(client)
    body = await _turn(
        client,
        "jane-voice",
        "ivr-7",
        "calling about my refund",
        identity={"phone": "+442079460958", "verified": {"phone": True}},
    )
    assert body["context"]["customer_id"] == "jane"
    assert [c["conversation_id"] for c in body["context"]["conversations"]] == ["jane-chat"]
    assert body["context"]["possible_matches"] == []


async def test_an_agent_confirms_a_possible_match_through_links(client: Client) -> None:
    await _victim(client)
    await _turn(client, "jane-email", "jane-mail-id", "about my refund", identity={"email": "jane@example.com"})
    url = "/v1/customers/jane-mail-id/links"
    assert (await client.post(url, json={"customer_id": "jane"}, headers=auth("platform-key"))).status_code == 403
    assert (await client.post(url, json={"customer_id": "nobody"}, headers=auth("agent-key"))).status_code == 404
    missing = await client.post("/v1/customers/nobody/links", json={"customer_id": "jane"}, headers=auth("agent-key"))
    assert missing.status_code == 404
    both = await client.post(
        url, json={"customer_id": "jane", "kind": "email", "value": "x@y.z"}, headers=auth("agent-key")
    )
    assert both.status_code == 422
    for half in ({}, {"kind": "email"}, {"value": "x@y.z"}):
        assert (await client.post(url, json=half, headers=auth("agent-key"))).status_code == 422, half
    assert both.headers["content-type"].startswith("application/problem+json")

    response = await client.post(url, json={"customer_id": "jane"}, headers=auth("agent-key"))
    assert response.status_code == 200, response.text
    assert response.json() == {
        "customer_id": "jane",
        "merged_customer_id": "jane-mail-id",
        "linked_kind": None,
        "conversations_moved": 1,
    }
    # One customer now, reachable by either id; the match is settled.
    for customer_id in ("jane", "jane-mail-id"):
        context = await _context(client, customer_id)
        assert context["customer_id"] == "jane"
        assert sorted(c["conversation_id"] for c in context["conversations"]) == ["jane-chat", "jane-email"]
        assert context["possible_matches"] == []
    # The alias keeps working for later turns.
    body = await _turn(client, "jane-email", "jane-mail-id", "thanks")
    assert body["context"]["customer_id"] == "jane"


async def test_links_by_identity_refuse_to_take_it_from_a_third_customer(client: Client) -> None:
    await _victim(client)
    await _turn(client, "other-chat", "other", "hello", identity={"handle": "@other"})
    await _turn(client, "claim-chat", "claimant", "hello", identity={"email": "jane@example.com"})
    url = "/v1/customers/claimant/links"
    # The handle belongs to "other", whom no possible match of the claimant names: 409, nothing moves.
    conflict = await client.post(url, json={"kind": "handle", "value": "other"}, headers=auth("agent-key"))
    assert conflict.status_code == 409, conflict.text
    assert await _owner_of(client, "other-chat") == "other"
    # An identity nobody holds is linked to the customer, verified (an agent checked it).
    fresh = await client.post(url, json={"kind": "phone", "value": "+1 415 555 0100"}, headers=auth("agent-key"))
    assert fresh.status_code == 200 and fresh.json()["linked_kind"] == "phone"
    # The email the possible match is about: the claimant joins its holder.
    joined = await client.post(url, json={"kind": "email", "value": "JANE@example.com"}, headers=auth("agent-key"))
    assert joined.status_code == 200 and joined.json()["customer_id"] == "jane"
    assert await _owner_of(client, "claim-chat") == "jane"


async def test_erasure_by_an_alias_erases_the_customer(client: Client) -> None:
    await _victim(client)
    await _turn(
        client, "jane-voice", "ivr-9", "hello", identity={"phone": "+442079460958", "verified": {"phone": True}}
    )
    admin = auth("admin-key")
    response = await client.delete("/v1/customers/ivr-9", headers=admin)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["customer_id"] == "jane"
    assert body["deleted"]["customers"] == 1 and body["deleted"]["conversations"] == 2
    assert (await client.get("/v1/customers/jane/context", headers=auth("agent-key"))).status_code == 404
    assert (await client.get("/v1/conversations/jane-chat", headers=auth("agent-key"))).status_code == 404
    for customer_id in ("ivr-9", "jane", "never-seen"):
        assert (await client.delete(f"/v1/customers/{customer_id}", headers=admin)).status_code == 404
