"""An embedded llama.cpp model through xllamacpp (the optional ``local-llm`` extra).

llama.cpp generates one answer at a time on CPU; a lock keeps it that way and every call runs in
a worker thread, so the event loop keeps serving while the model works.
"""

from __future__ import annotations

import asyncio
import os
import threading
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import anyio
import anyio.to_thread

from txassist.drafting.backends import model_assembly
from txassist.drafting.backends.base import BackendError, ChatMessage
from txassist.jsontypes import JsonObject

_DONE = object()


def local_llm_available() -> bool:
    try:
        import xllamacpp  # noqa: F401
    except ImportError:
        return False
    return True


def resolve_model_path(configured: str, data_dir: Path, repo_models: Path) -> Path:
    """An explicit path, else a GGUF in ``models/``, else the packaged model assembled into the data dir."""
    if configured:
        return Path(configured)
    candidates = sorted(repo_models.glob("*.gguf")) if repo_models.is_dir() else []
    if candidates:
        return candidates[0]
    return model_assembly.assemble(data_dir / "models")


class LocalLlamaBackend:
    name = "local"
    is_fast = False

    def __init__(self, model_path: Path, *, n_ctx: int = 4096, threads: int = 0) -> None:
        self.model_path = model_path
        self.n_ctx = n_ctx
        self.threads = threads or max(1, os.cpu_count() or 1)
        # An xllamacpp.Server: the optional extra may be absent, so its type cannot be named here.
        self._server: Any = None
        self._lock = threading.Lock()

    def warm_up(self) -> None:
        """Load the weights (seconds); call from a worker thread."""
        if self._server is not None:
            return
        try:
            import xllamacpp
        except ImportError as exc:
            raise BackendError("local: xllamacpp is not installed (pip install 'txassist[local-llm]')") from exc
        if not self.model_path.is_file():
            raise BackendError(f"local: model file {self.model_path} not found")
        params = xllamacpp.CommonParams()
        params.model.path = str(self.model_path)
        params.n_ctx = self.n_ctx
        params.n_parallel = 1
        params.cpuparams.n_threads = self.threads
        params.cpuparams_batch.n_threads = self.threads
        params.warmup = False
        self._server = xllamacpp.Server(params)

    def _request(
        self, messages: list[ChatMessage], max_tokens: int, json_schema: JsonObject | None, stream: bool
    ) -> JsonObject:
        body: JsonObject = {
            "messages": messages,
            "max_tokens": max_tokens,
            "temperature": 0.2,
            "stream": stream,
        }
        if json_schema is not None:
            body["response_format"] = {"type": "json_schema", "json_schema": {"schema": json_schema}}
        return body

    def _generate_blocking(self, messages: list[ChatMessage], max_tokens: int, json_schema: JsonObject | None) -> str:
        with self._lock:
            self.warm_up()
            result = self._server.handle_chat_completions(self._request(messages, max_tokens, json_schema, False))
        if not isinstance(result, dict) or result.get("error"):
            raise BackendError(f"local: generation failed ({_error_text(result)})")
        try:
            content = result["choices"][0]["message"]["content"]
        except (KeyError, IndexError, TypeError) as exc:
            raise BackendError("local: unexpected response shape") from exc
        if not isinstance(content, str) or not content.strip():
            raise BackendError("local: empty completion")
        return content

    async def generate(
        self, messages: list[ChatMessage], *, max_tokens: int, json_schema: JsonObject | None = None
    ) -> str:
        return await anyio.to_thread.run_sync(self._generate_blocking, messages, max_tokens, json_schema)

    async def stream(self, messages: list[ChatMessage], *, max_tokens: int) -> AsyncIterator[str]:
        loop = asyncio.get_running_loop()
        queue: asyncio.Queue[object] = asyncio.Queue()

        def on_chunk(chunk: object) -> None:
            loop.call_soon_threadsafe(queue.put_nowait, chunk)

        def run() -> None:
            try:
                with self._lock:
                    self.warm_up()
                    self._server.handle_chat_completions(self._request(messages, max_tokens, None, True), on_chunk)
            except BaseException as exc:  # handed to the event loop, which re-raises it
                loop.call_soon_threadsafe(queue.put_nowait, exc)
            finally:
                loop.call_soon_threadsafe(queue.put_nowait, _DONE)

        worker = loop.run_in_executor(None, run)
        try:
            while (item := await queue.get()) is not _DONE:
                if isinstance(item, BackendError):
                    raise item
                if isinstance(item, BaseException):
                    raise BackendError(f"local: {item}") from item
                text = _chunk_text(item)
                if text:
                    yield text
        finally:
            await asyncio.shield(worker)

    async def aclose(self) -> None:
        self._server = None


def _chunk_text(chunk: object) -> str:
    if not isinstance(chunk, dict):
        return ""
    if chunk.get("error"):
        raise BackendError(f"local: generation failed ({_error_text(chunk)})")
    choices = chunk.get("choices") or []
    if not choices:
        return ""
    content = (choices[0].get("delta") or {}).get("content")
    return content if isinstance(content, str) else ""


def _error_text(result: object) -> str:
    if isinstance(result, dict):
        error = result.get("error")
        if isinstance(error, dict):
            return str(error.get("message", error))
        return str(error)
    return type(result).__name__
