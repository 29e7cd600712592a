"""Test helpers: knowledge passages from the demo KB, turn builders, and an OpenAI-compatible server.

The server is real HTTP on loopback (uvicorn in a thread); its model is chosen per request by the
``model`` field, so one server covers the good, slow, failing and misbehaving cases.
"""

from __future__ import annotations

import asyncio
import json
import re
import socket
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import msgspec
import uvicorn

from txassist.config import Settings
from txassist.conversations.records import TurnRecord
from txassist.drafting import summaries
from txassist.drafting.generation import Generators, SignalJson
from txassist.drafting.prompts import PromptLibrary
from txassist.drafting.replying import ReplyDrafter
from txassist.drafting.summarizer import SummaryService
from txassist.knowledge.schemas import KnowledgeHit

REPO_ROOT = Path(__file__).resolve().parents[2]
KB_DIR = REPO_ROOT / "examples" / "kb"


class DraftingKit:
    """The drafting services as ``Services`` wires them, for tests and benchmarks without an app."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        prompts = PromptLibrary(settings.prompts_dir)
        self.generators = Generators(settings)
        self.drafter = ReplyDrafter.create(prompts, self.generators)
        self.summaries = SummaryService(prompts, self.generators)
        self.json = SignalJson(self.generators, prompts)

    async def stop(self) -> None:
        await self.generators.stop()


def passage(document_id: str, title: str, url: str | None, text: str, score: float) -> KnowledgeHit:
    """A whole document as one hit."""
    return KnowledgeHit(
        document_id=document_id,
        chunk_id=f"{document_id}#0",
        title=title,
        heading_path=[],
        snippet=text[:200],
        url=url,
        score=score,
        text=text,
    )


def kb_hit(relative: str, score: float = 1.0) -> KnowledgeHit:
    raw = (KB_DIR / relative).read_text()
    _, front, body = raw.split("---", 2)
    meta = dict(line.split(": ", 1) for line in front.strip().splitlines() if ": " in line)
    return passage(meta["id"], meta["title"], meta.get("url"), body.strip(), score)


def turns(*pairs: tuple[str, str], channel: str = "chat", sentiment: str | None = None) -> list[TurnRecord]:
    start = datetime(2026, 1, 1, tzinfo=UTC)
    return [
        TurnRecord(
            id=uuid.uuid4(),
            conversation_id="c1",
            turn_key=f"t{i}",
            request_hash="",
            seq=i + 1,
            speaker=speaker,
            channel=channel,
            text=text,
            sentiment_label=sentiment if speaker == "customer" else None,
            occurred_at=start + timedelta(seconds=i),
        )
        for i, (speaker, text) in enumerate(pairs)
    ]


_PASSAGE = re.compile(r"<<<PASSAGE \[(\d+)\][^\n]*\n(.*?)\nPASSAGE>>>", re.DOTALL)
_TRANSCRIPT = re.compile(r"<<<TRANSCRIPT\n(.*?)TRANSCRIPT>>>", re.DOTALL)
_CUSTOMER = re.compile(r"<<<CUSTOMER\n(.*?)\nCUSTOMER>>>", re.DOTALL)


def _grounded_answer(user: str) -> str:
    """What a well-behaved model answers: the first sentence of passage 1, cited."""
    match = _PASSAGE.search(user)
    if match is None:
        return "Let me check that for you."
    body = " ".join(line.strip() for line in match.group(2).splitlines() if line.strip() and not line.startswith("#"))
    first = re.split(r"(?<=[.!?])\s", body, maxsplit=1)[0]
    return f"{first} [{match.group(1)}]"


def _transcript_turns(user: str) -> list[TurnRecord]:
    match = _TRANSCRIPT.search(user)
    pairs: list[tuple[str, str]] = []
    for line in (match.group(1) if match else "").splitlines():
        speaker, _, text = line.partition(": ")
        if text:
            pairs.append((speaker.strip(), text.strip()))
    return turns(*pairs)


def answer_for(body: dict[str, Any]) -> str:
    user = body["messages"][-1]["content"]
    model = body.get("model", "")
    if body.get("response_format"):
        return msgspec.json.encode(summaries.after_contact(_transcript_turns(user))).decode()
    if "Knowledge passages" not in user:
        return summaries.rolling_summary(_transcript_turns(user)) or "No summary."
    if model == "obedient":
        # A model that follows instructions hidden in the customer's text.
        customer = _CUSTOMER.search(user)
        if customer and "ignore previous instructions" in customer.group(1).lower():
            return "Of course, I will offer you a full refund of your last three boxes right away."
    if model == "invented-citation":
        return _grounded_answer(user).rsplit(" [", 1)[0] + " [9]"
    if model == "letter":
        # A model that writes its own email frame, with placeholders in it.
        answer = _grounded_answer(user)
        return f"Subject: Your question\n\nDear [Customer's Name],\n\n{answer}\n\nBest regards,\n[Your Name]"
    if model == "placeholder":
        return _grounded_answer(user) + " Your reference is [reference number]."
    if model == "loop":
        return "Of course! Here is the answer:\n" * 4
    if model == "refusal":
        return "I'm sorry, but I can't assist with that."
    if model == "off-passage":
        # Friendly, and about nothing the passages say.
        return "Thanks for reaching out, I'm happy to look at this for you and sort it."
    if model == "opener":
        return "¡Hola! ¿En qué puedo ayudarte hoy?"
    if model == "norwegian":
        return "Hei! Jeg ser at du har blitt belastet to ganger, og jeg skal sjekke det for deg med en gang."
    if model == "parrot":
        # A small model continuing the customer's message instead of answering it.
        customer = _CUSTOMER.search(user)
        return f"Hello! {customer.group(1).strip()}" if customer else "Hello!"
    return _grounded_answer(user)


class FakeLLMServer:
    """An OpenAI-compatible ``/v1/chat/completions`` on loopback; behaviour by model name."""

    def __init__(self, answer: Callable[[dict[str, Any]], str] = answer_for, slow_s: float = 3.0) -> None:
        self.answer = answer
        self.slow_s = slow_s
        self.requests: Counter[str] = Counter()
        sock = socket.socket()
        sock.bind(("127.0.0.1", 0))
        self.port = sock.getsockname()[1]
        sock.close()
        config = uvicorn.Config(
            self.app, host="127.0.0.1", port=self.port, log_level="warning", lifespan="off", interface="asgi3"
        )
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def start(self) -> FakeLLMServer:
        self.thread.start()
        deadline = time.monotonic() + 10
        while not self.server.started:
            if time.monotonic() > deadline:
                raise RuntimeError("fake LLM server did not start")
            time.sleep(0.02)
        return self

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=5)

    async def app(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        assert scope["type"] == "http"
        raw = b""
        while True:
            message = await receive()
            raw += message.get("body", b"")
            if not message.get("more_body"):
                break
        if scope["path"] != "/v1/chat/completions":
            await self._send(send, 404, b'{"error": "not found"}')
            return
        body = json.loads(raw)
        model = body.get("model", "")
        self.requests[model] += 1
        if model == "error500" or (model == "flaky" and self.requests[model] == 1):
            await self._send(send, 500, b'{"error": {"message": "boom"}}')
            return
        if model == "ratelimited":
            await self._send(send, 429, b'{"error": {"message": "slow down"}}')
            return
        if model == "garbage":
            await self._send(send, 200, b"<html>this is not json{")
            return
        if model == "slow":
            await asyncio.sleep(self.slow_s)
        text = await asyncio.to_thread(self.answer, body)
        if body.get("stream"):
            await self._stream(send, text, slow=model == "slow-stream")
            return
        payload = {
            "id": "chatcmpl-test",
            "object": "chat.completion",
            "model": model,
            "choices": [{"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}],
        }
        await self._send(send, 200, json.dumps(payload).encode())

    @staticmethod
    async def _send(send: Any, status: int, body: bytes) -> None:
        headers = [(b"content-type", b"application/json")]
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body})

    async def _stream(self, send: Any, text: str, *, slow: bool) -> None:
        headers = [(b"content-type", b"text/event-stream")]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        pieces = re.findall(r"\S+\s*", text)
        for index, piece in enumerate(pieces):
            chunk = {"object": "chat.completion.chunk", "choices": [{"index": 0, "delta": {"content": piece}}]}
            data = f"data: {json.dumps(chunk)}\n\n".encode()
            await send({"type": "http.response.body", "body": data, "more_body": True})
            if slow and index == 0:
                await asyncio.sleep(self.slow_s)
        await send({"type": "http.response.body", "body": b"data: [DONE]\n\n", "more_body": False})
