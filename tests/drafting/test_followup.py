"""The turn answers with the grounded reply at once; a slow backend's reply follows over SSE."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator, Callable
from typing import Any, cast

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient

from tests.conftest import auth
from txassist.app import create_app
from txassist.config import Settings
from txassist.drafting.backends.base import BackendError, ChatMessage
from txassist.drafting.backends.prompt_cache import current_key
from txassist.drafting.followup import FollowupDrafts
from txassist.drafting.generation import Generators
from txassist.drafting.inputs import ReplyInputs
from txassist.drafting.prompts import PromptLibrary
from txassist.drafting.replying import ReplyDrafter

from .support import FakeLLMServer, turns


@pytest.fixture
async def slow_llm_client(
    make_settings: Callable[..., Settings], database_url: str, llm_server: FakeLLMServer
) -> AsyncIterator[AsyncTestClient[Litestar]]:
    # "slow-stream" sends its first words, then pauses for the fake server's slow_s (3 s).
    settings = make_settings(
        database_url=database_url,
        llm_backend="openai",
        openai_base_url=llm_server.base_url,
        openai_model="slow-stream",
        llm_timeout_s=6.0,
    )
    async with AsyncTestClient(app=create_app(settings)) as client:
        yield client


def _events(text: str) -> list[tuple[str, Any]]:
    events = []
    for block in text.replace("\r\n", "\n").strip().split("\n\n"):
        fields = dict(line.split(": ", 1) for line in block.splitlines() if ": " in line)
        events.append((fields.get("event", ""), json.loads(fields.get("data", "{}"))))
    return events


async def _turn(client: AsyncTestClient[Litestar], conversation: str, turn_id: str, text: str) -> dict[str, Any]:
    body = {"customer_id": "cust-f", "channel": "chat", "speaker": "customer", "text": text, "turn_id": turn_id}
    response = await client.post(f"/v1/conversations/{conversation}/turns", json=body, headers=auth())
    assert response.status_code == 200, response.text
    result: dict[str, Any] = response.json()
    return result


async def test_turn_returns_the_grounded_reply_before_the_llm_reply_follows_over_sse(
    slow_llm_client: AsyncTestClient[Litestar],
) -> None:
    client = slow_llm_client
    followups: FollowupDrafts = client.app.state.services.followups
    started = time.monotonic()
    body = await _turn(client, "f-1", "f-1-t1", "I was charged twice this month, why are there two amounts?")
    elapsed = time.monotonic() - started
    [grounded] = body["suggestions"]
    assert grounded["source"] == "grounded" and grounded["backend"] == "extractive"
    assert body["followup"] == {"backend": "openai", "events": "/v1/conversations/f-1/turns/f-1-t1/followup"}
    # The model is still writing (it pauses 3 s after its first words) when the turn has answered.
    item = followups._items[("f-1", "f-1-t1")]
    assert not item.finished, f"the turn waited {elapsed:.1f}s for the LLM"

    response = await client.get(body["followup"]["events"], headers=auth())
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/event-stream")
    events = _events(response.text)
    kinds = [kind for kind, _ in events]
    assert kinds.count("delta") >= 2 and kinds[-2:] == ["suggestion", "done"], kinds
    reply = events[-2][1]
    assert reply["source"] == "llm" and reply["backend"] == "openai"
    assert reply["prompt_version"].startswith("draft_reply.chat.v6+")
    assert reply["text"].startswith("Let me check")  # no knowledge base here: nothing to cite

    # The LLM reply is a suggestion like any other: feedback and stats per backend and prompt version.
    feedback = await client.post(f"/v1/suggestions/{reply['id']}/feedback", json={"action": "accepted"}, headers=auth())
    assert feedback.status_code == 201
    stats = (await client.get("/v1/suggestions/stats", headers=auth())).json()["items"]
    [row] = [r for r in stats if r["backend"] == "openai"]
    assert row["prompt_version"] == reply["prompt_version"] and row["accepted"] == 1

    # A late reader gets the same events again, from the first.
    again = await client.get(body["followup"]["events"], headers=auth())
    assert _events(again.text) == events


async def test_a_newer_turn_supersedes_the_running_followup(slow_llm_client: AsyncTestClient[Litestar]) -> None:
    client = slow_llm_client
    first = await _turn(client, "f-2", "f-2-t1", "My box is late, where is it?")
    second = await _turn(client, "f-2", "f-2-t2", "Actually, can I change the delivery address instead?")
    old = _events((await client.get(first["followup"]["events"], headers=auth())).text)
    assert [kind for kind, _ in old][-2:] == ["superseded", "done"]
    new = _events((await client.get(second["followup"]["events"], headers=auth())).text)
    assert [kind for kind, _ in new][-2:] == ["suggestion", "done"]


async def test_unknown_followup_is_404(slow_llm_client: AsyncTestClient[Litestar]) -> None:
    response = await slow_llm_client.get("/v1/conversations/nope/turns/nope/followup", headers=auth())
    assert response.status_code == 404
    assert "no LLM follow-up" in response.text


async def test_fast_backend_has_no_followup(client: AsyncTestClient[Litestar]) -> None:
    body = await _turn(client, "f-3", "f-3-t1", "Where is my box?")
    assert body["followup"] is None
    assert [s["source"] for s in body["suggestions"]] == ["grounded"]


class _PrefillingBackend:
    """A slow backend that records what it was asked to cache (unit test: no model)."""

    name = "local"
    is_fast = False

    def __init__(self) -> None:
        self.cached: list[tuple[str | None, list[ChatMessage]]] = []

    async def generate(
        self, messages: list[ChatMessage], *, max_tokens: int, json_schema: dict[str, Any] | None = None
    ) -> str:
        raise BackendError("not used")

    async def stream(self, messages: list[ChatMessage], *, max_tokens: int) -> AsyncIterator[str]:
        raise BackendError("not used")
        yield ""

    async def prefill(self, messages: list[ChatMessage]) -> None:
        self.cached.append((current_key(), messages))

    async def aclose(self) -> None:
        return None


async def test_an_agent_turn_warms_the_conversations_prefix_for_the_next_customer_turn(
    make_settings: Callable[..., Settings],
) -> None:
    settings = make_settings(llm_backend="local")
    backend = _PrefillingBackend()
    generators = Generators(settings, backends={"local": backend})
    drafter = ReplyDrafter.create(PromptLibrary(settings.prompts_dir), generators)
    followups = FollowupDrafts(drafter, cast("Any", None), cast("Any", None))
    assert followups.wanted()
    history = turns(("customer", "Where is my box?"), ("agent", "Let me check the tracking for you."))
    followups.prefill("c-9", history)
    await asyncio.gather(*followups._prefills)
    [(key, messages)] = backend.cached
    assert key == "c-9"  # the conversation's own slot
    # What the next customer turn's draft prompt starts with.
    following = [*history, turns(("customer", "It says delivered but it is not here."))[0]]
    plan, pool = await drafter.plan_reply(ReplyInputs(turns=following, passages=[], channel="chat", sentiment=None))
    prompt = drafter._prompt(following, pool, plan, None, "chat")
    assert prompt.messages[0] == messages[0]
    assert prompt.messages[1]["content"].startswith(messages[1]["content"])
