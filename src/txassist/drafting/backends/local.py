"""An embedded llama.cpp model through xllamacpp (the optional ``local-llm`` extra).

llama.cpp generates one answer at a time on CPU; a lock keeps it that way and every call runs in
a worker thread, so the event loop keeps serving while the model works. Each conversation is pinned
to a slot (``prompt_cache``) whose KV cache keeps the conversation's prompt prefix between turns.
Generation runs on fewer threads than prompt processing: one token at a time is memory-bound, and
on a busy host every extra thread waits on the slowest (benchmarks/results/llm_latency.json).
"""

from __future__ import annotations

import asyncio
import os
import secrets
import threading
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import anyio
import anyio.to_thread

from txassist.drafting.backends import model_assembly
from txassist.drafting.backends.base import BackendError, ChatMessage
from txassist.drafting.backends.prompt_cache import SlotPinning, current_key
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

    def __init__(
        self,
        model_path: Path,
        *,
        n_ctx: int = 8192,
        threads: int = 0,
        batch_threads: int = 0,
        slots: int = 4,
        cache_ram_mib: int = 256,
        cache_prompt: bool = True,
        speculative: str = "",
    ) -> None:
        cpus = max(1, os.cpu_count() or 1)
        self.model_path = model_path
        self.n_ctx = n_ctx
        self.threads = threads or max(1, cpus - 1)
        self.batch_threads = batch_threads or cpus
        self.cache_ram_mib = cache_ram_mib
        self.cache_prompt = cache_prompt
        # An n-gram speculative mode of llama.cpp ("ngram_simple", ...): drafts from the prompt itself.
        self.speculative = speculative
        self.pinning = SlotPinning(slots)
        # The last generation's llama.cpp timings (prompt tokens, cached tokens, speeds): benchmarks read it.
        self.last_timings: JsonObject | None = None
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
        params.n_parallel = self.pinning.slots
        # One KV cache per slot (n_ctx split evenly): with one pool shared by the slots, llama.cpp
        # clears an idle slot's prefix when another slot runs, which defeats the pinning.
        params.kv_unified = False
        params.cache_prompt = True
        params.cache_ram_mib = self.cache_ram_mib
        params.cpuparams.n_threads = self.threads
        params.cpuparams_batch.n_threads = self.batch_threads
        params.warmup = False
        # xllamacpp also opens llama.cpp's HTTP server on loopback; this process calls it in-process,
        # so the socket gets a key nobody knows rather than serving the model to any local user.
        params.api_keys = [secrets.token_urlsafe(32)]
        if self.speculative:
            kind = f"COMMON_SPECULATIVE_TYPE_{self.speculative.upper()}"
            params.speculative.types = [getattr(xllamacpp.common_speculative_type, kind)]
        self._server = xllamacpp.Server(params)

    def _request(
        self,
        messages: list[ChatMessage],
        max_tokens: int,
        json_schema: JsonObject | None,
        stream: bool,
        key: str | None,
    ) -> JsonObject:
        body: JsonObject = {
            "messages": messages,
            "max_tokens": max_tokens,
            "temperature": 0.2,
            "stream": stream,
            "cache_prompt": self.cache_prompt,
            "id_slot": self.pinning.slot_for(key),
        }
        if json_schema is not None:
            body["response_format"] = {"type": "json_schema", "json_schema": {"schema": json_schema}}
        return body

    def _generate_blocking(
        self,
        messages: list[ChatMessage],
        max_tokens: int,
        json_schema: JsonObject | None,
        key: str | None = None,
    ) -> str:
        with self._lock:
            self.warm_up()
            body = self._request(messages, max_tokens, json_schema, False, key)
            result = self._server.handle_chat_completions(body)
        if isinstance(result, dict):
            self.last_timings = result.get("timings")
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
        key = current_key()  # read here: worker threads do not see the caller's context
        return await anyio.to_thread.run_sync(self._generate_blocking, messages, max_tokens, json_schema, key)

    async def stream(self, messages: list[ChatMessage], *, max_tokens: int) -> AsyncIterator[str]:
        loop = asyncio.get_running_loop()
        queue: asyncio.Queue[object] = asyncio.Queue()
        stop = threading.Event()
        key = current_key()

        def on_chunk(chunk: object) -> bool:
            if isinstance(chunk, dict) and chunk.get("timings"):
                self.last_timings = chunk["timings"]
            loop.call_soon_threadsafe(queue.put_nowait, chunk)
            return stop.is_set()  # True asks llama.cpp to stop: nobody reads the rest

        def run() -> None:
            try:
                with self._lock:
                    self.warm_up()
                    body = self._request(messages, max_tokens, None, True, key)
                    self._server.handle_chat_completions(body, on_chunk)
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
            stop.set()
            await asyncio.shield(worker)

    async def prefill(self, messages: list[ChatMessage]) -> None:
        """Process ``messages`` into the conversation's slot without answering, so the next prompt
        that starts with them only pays for its new tokens."""
        key = current_key()
        await anyio.to_thread.run_sync(self._generate_prefill, messages, key)

    def _generate_prefill(self, messages: list[ChatMessage], key: str | None) -> None:
        with self._lock:
            self.warm_up()
            result = self._server.handle_chat_completions(self._request(messages, 1, None, False, key))
        if isinstance(result, dict):
            self.last_timings = result.get("timings")

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
