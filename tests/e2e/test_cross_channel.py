"""End to end: the server runs as a process; one customer moves from chat to voice to email."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from tests.conftest import REPO_ROOT
from tests.support.server import running_server, server_env
from txassist.sentiment.service import is_head_dir

SENTIMENT_SHIPPED = is_head_dir(REPO_ROOT / "models" / "sentiment-head")
# Without the trained head the service is live but (rightly) not ready; turns still answer.
READY_PATH = "/health/ready" if SENTIMENT_SHIPPED else "/health/live"

pytestmark = pytest.mark.e2e

KEYS = {"agent-key": ["agent"], "platform-key": ["platform"], "admin-key": ["admin"]}


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    data_dir = tmp_path_factory.mktemp("e2e-data")
    with running_server(server_env(data_dir, KEYS), data_dir / "server.log", ready_path=READY_PATH) as base:
        yield base


def _turn(client: httpx.Client, conversation: str, key: str, **fields: object) -> dict[str, object]:
    response = client.post(
        f"/v1/conversations/{conversation}/turns", json=fields, headers={"Authorization": f"Bearer {key}"}
    )
    assert response.status_code == 200, response.text
    body: dict[str, object] = response.json()
    return body


def test_context_follows_the_customer_from_chat_to_voice_to_email(server: str) -> None:
    with httpx.Client(base_url=server, timeout=30) as client:
        admin = {"Authorization": "Bearer admin-key"}
        doc = {
            "id": "refunds",
            "title": "Refunds",
            "url": "https://help.example/refunds",
            "text": "# Refunds\n\nRefunds reach the original card within 5 working days of the return.",
        }
        assert client.post("/v1/kb/documents", json=[doc], headers=admin).status_code in (200, 201)

        chat = {"customer_id": "cust-e2e", "channel": "chat", "speaker": "customer"}
        first = _turn(
            client,
            "chat-1",
            "platform-key",
            **chat,
            turn_id="c1",
            text="I returned my jacket two weeks ago and still no refund. This is really annoying.",
            # A logged-in chat: the platform vouches for both.
            identity={
                "email": "dana@example.com",
                "phone": "+44 20 7946 0958",
                "verified": {"email": True, "phone": True},
            },
        )
        assert first["context"] == {"customer_id": "cust-e2e", "conversations": [], "possible_matches": []}
        if SENTIMENT_SHIPPED:
            assert first["sentiment"]["label"] == "negative"  # type: ignore[index]
        else:
            assert first["degraded"] == ["sentiment"]
        _turn(
            client, "chat-1", "agent-key", **(chat | {"speaker": "agent"}), text="Sorry! I will chase the refund today."
        )
        _turn(client, "chat-1", "platform-key", **chat, text="Thanks, please do.")

        # Voice: the IVR knows only the phone number, under its own caller id.
        voice = _turn(
            client,
            "voice-1",
            "platform-key",
            customer_id="ivr-caller-77",
            channel="voice",
            speaker="customer",
            text="Hi, I'm calling about my refund again.",
            identity={"phone": "+442079460958", "verified": {"phone": True}},
            features=["sentiment", "knowledge"],
        )
        ctx = voice["context"]
        assert isinstance(ctx, dict) and ctx["customer_id"] == "cust-e2e"
        [prior] = ctx["conversations"]
        assert prior["conversation_id"] == "chat-1" and prior["channel"] == "chat"
        assert "refund" in prior["summary"].lower()
        assert prior["turn_count"] == 3
        assert any("Refunds" in issue for issue in prior["open_issues"])
        # Later voice turns asked only for sentiment and knowledge: the cheap path, no context, no draft.
        again = _turn(
            client,
            "voice-1",
            "platform-key",
            customer_id="ivr-caller-77",
            channel="voice",
            speaker="customer",
            text="It was a jacket.",
            features=["sentiment", "knowledge"],
        )
        assert again["context"] is None and again["suggestions"] == []

        # Email, found by the address given in chat.
        email = _turn(
            client,
            "email-1",
            "agent-key",
            customer_id="dana@example.com",
            channel="email",
            speaker="customer",
            text="Following up on my refund.",
            identity={"email": "DANA@example.com", "verified": {"email": True}},
        )
        ids = [(c["conversation_id"], c["channel"]) for c in email["context"]["conversations"]]  # type: ignore[index]
        assert ids == [("voice-1", "voice"), ("chat-1", "chat")]

        ctx_all = client.get("/v1/customers/ivr-caller-77/context", headers={"Authorization": "Bearer agent-key"})
        assert ctx_all.status_code == 200
        assert [c["conversation_id"] for c in ctx_all.json()["conversations"]] == ["email-1", "voice-1", "chat-1"]
