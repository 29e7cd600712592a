"""Two ``txassist serve`` processes on one PostgreSQL database and one shared data dir.

Nothing a turn needs lives in one process: the conversation, the idempotency key and the context are
in the database, and the knowledge index is versioned files in the shared data dir that each replica
reloads when the version changes. One customer's conversation alternates between the replicas.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import REPO_ROOT
from tests.support.server import run_cli, running_server, server_env
from txassist.sentiment.service import is_head_dir

pytestmark = pytest.mark.e2e

KEYS = {"platform-key": ["platform"], "agent-key": ["agent"], "admin-key": ["admin"]}
READY_PATH = "/health/ready" if is_head_dir(REPO_ROOT / "models" / "sentiment-head") else "/health/live"
RELOAD_S = 1.0
PLATFORM = {"Authorization": "Bearer platform-key"}


@pytest.fixture
def replicas(fresh_postgres_url: str, tmp_path: Path) -> Iterator[tuple[str, str]]:
    data_dir = tmp_path / "shared-data"
    env = server_env(
        data_dir,
        KEYS,
        TXASSIST_DATABASE_URL=fresh_postgres_url,
        TXASSIST_INDEX_RELOAD_INTERVAL_S=str(RELOAD_S),
    )
    # The deployment recipe: one ingest job builds the index, every replica loads it.
    ingest = run_cli("kb", "ingest", str(REPO_ROOT / "examples" / "kb"), env=env)
    assert ingest.returncode == 0, ingest.stderr[-2000:]
    with ExitStack() as stack:
        a = stack.enter_context(running_server(env, tmp_path / "a.log", ready_path=READY_PATH))
        b = stack.enter_context(running_server(env, tmp_path / "b.log", ready_path=READY_PATH))
        yield a, b


def turn(base: str, conversation: str, **fields: Any) -> httpx.Response:
    return httpx.post(f"{base}/v1/conversations/{conversation}/turns", json=fields, headers=PLATFORM, timeout=60)


def one_conversation_alternates(a: str, b: str) -> None:
    customer = {"customer_id": "cust-two", "channel": "chat", "speaker": "customer"}
    texts = [
        "My router keeps dropping the connection every evening.",
        "I already restarted it twice today.",
        "Is there an outage in my area?",
        "Can you send an engineer?",
    ]
    bodies = []
    for i, text in enumerate(texts):
        base = (a, b)[i % 2]
        response = turn(base, "chat-two", **customer, text=text, turn_id=f"t{i}")
        assert response.status_code == 200, response.text
        bodies.append(response.json())
    # Turn numbers and history are shared: the latest summary on B covers what A stored.
    history = httpx.get(f"{b}/v1/conversations/chat-two", headers={"Authorization": "Bearer agent-key"}, timeout=30)
    assert history.status_code == 200, history.text
    assert history.json()["turn_count"] == 4

    # A platform retry of turn t2 (first answered by A) lands on B: the same bytes come back.
    first = turn(a, "chat-two", **customer, text=texts[2], turn_id="t2")
    again = turn(b, "chat-two", **customer, text=texts[2], turn_id="t2")
    assert first.status_code == again.status_code == 200
    assert again.content == first.content
    assert again.json()["turn_id"] == "t2" and again.json() == bodies[2]
    # Reusing the id for other words is a conflict on either replica.
    assert turn(b, "chat-two", **customer, text="something else", turn_id="t2").status_code == 409

    # A second channel through the other replica sees the chat as context.
    voice = turn(b, "voice-two", customer_id="cust-two", channel="voice", speaker="customer", text="Calling again.")
    assert voice.status_code == 200, voice.text
    context = voice.json()["context"]
    assert [c["conversation_id"] for c in context["conversations"]] == ["chat-two"]
    assert context["conversations"][0]["turn_count"] == 4


def document_added_on_a_is_found_on_b(a: str, b: str) -> None:
    admin = {"Authorization": "Bearer admin-key"}
    agent = {"Authorization": "Bearer agent-key"}
    query: dict[str, str | int] = {"q": "zebra-striped loyalty voucher", "mode": "lexical", "k": 3}

    def ids_on(base: str) -> list[str]:
        response = httpx.get(f"{base}/v1/kb/search", params=query, headers=agent, timeout=30)
        assert response.status_code == 200, response.text
        return [hit["document_id"] for hit in response.json()["results"]]

    assert "zebra-voucher" not in ids_on(b)
    doc = {
        "id": "zebra-voucher",
        "title": "Zebra-striped loyalty voucher",
        "text": "# Zebra-striped loyalty voucher\n\nThe zebra-striped loyalty voucher gives 10% off a router.",
    }
    added = httpx.post(f"{a}/v1/kb/documents", json=[doc], headers=admin, timeout=120)
    assert added.status_code in (200, 201), added.text
    assert "zebra-voucher" in ids_on(a)
    # B notices the new index version on its next reload check.
    deadline = time.monotonic() + RELOAD_S * 10 + 10
    while "zebra-voucher" not in ids_on(b):
        assert time.monotonic() < deadline, "replica B never loaded the new index version"
        time.sleep(0.25)


def test_two_replicas_share_conversations_and_the_index(replicas: tuple[str, str]) -> None:
    # One test, one pair of server processes: starting two model-loading servers is the slow part.
    a, b = replicas
    one_conversation_alternates(a, b)
    document_added_on_a_is_found_on_b(a, b)
