"""The generating backends by name: which are available, which are fast, and a call under one deadline.

Every drafting job (replies, summaries, JSON for signals) reaches a model through ``Generators``, so
the choice of backend and the time limit on it are decided in one place.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import anyio.to_thread
import msgspec

from txassist.config import REPO_ROOT, Settings
from txassist.drafting import summaries
from txassist.drafting.backends.base import BackendError, ChatMessage, GenerationBackend
from txassist.drafting.backends.local import LocalLlamaBackend, local_llm_available, resolve_model_path
from txassist.drafting.backends.openai import OpenAIBackend
from txassist.drafting.prompts import PromptLibrary
from txassist.errors import InvalidInput

EXTRACTIVE = "extractive"  # no model: quotes the retrieved passages, always available and fast
SIGNAL_JSON_TOKENS = 512


def fallback_reason(exc: BaseException, name: str) -> str:
    """What an agent is told when a backend's answer was replaced by the extractive one."""
    if isinstance(exc, BackendError):
        return exc.reason
    if isinstance(exc, TimeoutError):
        return f"{name}: no answer in time"
    return f"{name}: answer was not valid JSON for the summary schema"


class Generators:
    def __init__(self, settings: Settings, *, backends: dict[str, GenerationBackend] | None = None) -> None:
        self.settings = settings
        self._backends: dict[str, GenerationBackend] = dict(backends or {})

    @property
    def default(self) -> str:
        return self.settings.llm_backend

    def available(self) -> list[str]:
        names = [EXTRACTIVE, "openai"]
        if "local" in self._backends or local_llm_available():
            names.append("local")
        return names

    def choose(self, requested: str | None) -> str:
        """The backend a request asked for (or the configured one); a 422 if this host lacks it."""
        name = requested or self.default
        if name not in self.available():
            raise InvalidInput(f"backend {name!r} is not available here; available: {self.available()}")
        return name

    def is_fast(self, name: str) -> bool:
        if name == EXTRACTIVE:
            return True
        existing = self._backends.get(name)
        return bool(existing is not None and existing.is_fast)

    def is_slow(self, requested: str | None) -> bool:
        return not self.is_fast(self.choose(requested))

    def deadline_s(self) -> float:
        # Every attempt may take the full timeout; backoff adds at most a few seconds.
        return self.settings.llm_timeout_s * (self.settings.llm_max_retries + 1) + 5.0

    def backend(self, name: str) -> GenerationBackend:
        if name in self._backends:
            return self._backends[name]
        backend: GenerationBackend
        if name == "openai":
            backend = OpenAIBackend(
                base_url=self.settings.openai_base_url,
                model=self.settings.openai_model,
                api_key=self.settings.openai_api_key,
                timeout_s=self.settings.llm_timeout_s,
                max_retries=self.settings.llm_max_retries,
            )
        elif name == "local":
            if not local_llm_available():
                raise BackendError("local: xllamacpp is not installed (pip install 'txassist[local-llm]')")
            path = resolve_model_path(self.settings.local_model_path, self.settings.data_dir, REPO_ROOT / "models")
            s = self.settings
            backend = LocalLlamaBackend(
                path,
                n_ctx=s.local_llm_ctx,
                threads=s.local_llm_threads,
                batch_threads=s.local_llm_batch_threads,
                slots=s.local_llm_slots,
            )
        else:
            raise BackendError(f"unknown backend {name!r}")
        self._backends[name] = backend
        return backend

    async def generate(
        self,
        name: str,
        messages: list[ChatMessage],
        *,
        max_tokens: int,
        json_schema: dict[str, object] | None = None,
    ) -> str:
        """The model's answer within the deadline; ``BackendError`` or ``TimeoutError`` otherwise."""
        generator = self.backend(name)
        async with asyncio.timeout(self.deadline_s()):
            return await generator.generate(messages, max_tokens=max_tokens, json_schema=json_schema)

    async def stream(self, name: str, messages: list[ChatMessage], *, max_tokens: int) -> AsyncIterator[str]:
        """The answer piece by piece; the whole stream shares one deadline."""
        generator = self.backend(name)
        async with asyncio.timeout(self.deadline_s()):
            async for piece in generator.stream(messages, max_tokens=max_tokens):
                yield piece

    async def start(self) -> None:
        if self.default == "local":
            # Loading 1 GB of weights takes seconds: do it before the first request, off the loop.
            backend = await anyio.to_thread.run_sync(self.backend, "local")
            if isinstance(backend, LocalLlamaBackend):
                await anyio.to_thread.run_sync(backend.warm_up)
        elif self.default == "openai":
            self.backend("openai")

    async def stop(self) -> None:
        for backend in self._backends.values():
            await backend.aclose()


class SignalJson:
    """Signals in a transcript as JSON under a schema, from the configured LLM (the close-time extractor)."""

    def __init__(self, generators: Generators, prompts: PromptLibrary) -> None:
        self.generators = generators
        self.prompts = prompts

    async def generate_json(self, text: str, schema: dict[str, object]) -> object:
        """The decoded JSON; None when the service drafts extractively and so has no model to ask."""
        name = self.generators.default
        if name == EXTRACTIVE:
            return None
        rendered = self.prompts.render("signal_extraction", text=text)
        raw = await self.generators.generate(name, rendered.messages, max_tokens=SIGNAL_JSON_TOKENS, json_schema=schema)
        decoded: object = msgspec.json.decode(summaries.json_object(raw))
        return decoded
