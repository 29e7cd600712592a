"""An OpenAI-compatible chat-completions server (vLLM, TGI, Ollama, llama.cpp server, hosted APIs).

Retries with exponential backoff and jitter on 429, 5xx and connection failures; a read timeout is
not retried, because a server that was too slow once will be too slow again within the budget.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator

import httpx
from tenacity import (
    AsyncRetrying,
    RetryError,
    retry_if_exception,
    stop_after_attempt,
    wait_random_exponential,
)

from txassist.drafting.backends.base import BackendError, ChatMessage
from txassist.jsontypes import JsonObject


def _retryable(exc: BaseException) -> bool:
    if isinstance(exc, httpx.HTTPStatusError):
        status = exc.response.status_code
        return status == 429 or status >= 500
    return isinstance(exc, httpx.ConnectError | httpx.RemoteProtocolError | httpx.ConnectTimeout)


def _failure(exc: BaseException) -> BackendError:
    if isinstance(exc, httpx.HTTPStatusError):
        return BackendError(f"openai: server answered HTTP {exc.response.status_code}")
    if isinstance(exc, httpx.TimeoutException):
        return BackendError(f"openai: timed out ({type(exc).__name__})")
    if isinstance(exc, httpx.TransportError):
        return BackendError(f"openai: server unreachable ({type(exc).__name__})")
    return BackendError(f"openai: {exc}")


class OpenAIBackend:
    name = "openai"
    is_fast = False

    def __init__(
        self,
        *,
        base_url: str,
        model: str,
        api_key: str = "",
        timeout_s: float = 20.0,
        max_retries: int = 2,
        backoff_base_s: float = 0.25,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.model = model
        self.max_retries = max_retries
        self.backoff_base_s = backoff_base_s
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self._client = httpx.AsyncClient(
            base_url=base_url.rstrip("/") + "/",
            headers=headers,
            timeout=httpx.Timeout(timeout_s, connect=min(timeout_s, 5.0)),
            transport=transport,
        )

    def _retrying(self) -> AsyncRetrying:
        return AsyncRetrying(
            retry=retry_if_exception(_retryable),
            stop=stop_after_attempt(self.max_retries + 1),
            wait=wait_random_exponential(multiplier=self.backoff_base_s, max=4.0),
            reraise=True,
        )

    def _body(
        self,
        messages: list[ChatMessage],
        max_tokens: int,
        *,
        stream: bool,
        json_schema: JsonObject | None,
    ) -> JsonObject:
        body: JsonObject = {
            "model": self.model,
            "messages": messages,
            "max_tokens": max_tokens,
            "temperature": 0.2,
            "stream": stream,
        }
        if json_schema is not None:
            body["response_format"] = {
                "type": "json_schema",
                "json_schema": {"name": "answer", "schema": json_schema, "strict": True},
            }
        return body

    async def generate(
        self, messages: list[ChatMessage], *, max_tokens: int, json_schema: JsonObject | None = None
    ) -> str:
        body = self._body(messages, max_tokens, stream=False, json_schema=json_schema)
        try:
            async for attempt in self._retrying():
                with attempt:
                    response = await self._client.post("chat/completions", json=body)
                    response.raise_for_status()
        except (httpx.HTTPError, RetryError) as exc:
            raise _failure(exc) from exc
        return _content_of(response)

    async def stream(self, messages: list[ChatMessage], *, max_tokens: int) -> AsyncIterator[str]:
        body = self._body(messages, max_tokens, stream=True, json_schema=None)
        # Retries cover only the time before the first byte: a stream half-delivered is not replayed.
        try:
            async for attempt in self._retrying():
                with attempt:
                    request = self._client.build_request("POST", "chat/completions", json=body)
                    response = await self._client.send(request, stream=True)
                    if response.is_error:
                        await response.aread()
                        await response.aclose()
                        response.raise_for_status()
        except (httpx.HTTPError, RetryError) as exc:
            raise _failure(exc) from exc
        try:
            async for line in response.aiter_lines():
                delta = _sse_delta(line)
                if delta is None:
                    continue
                if delta == "":
                    continue
                yield delta
        except httpx.HTTPError as exc:
            raise _failure(exc) from exc
        except ValueError as exc:
            raise BackendError(f"openai: malformed stream event ({exc})") from exc
        finally:
            await response.aclose()

    async def aclose(self) -> None:
        await self._client.aclose()


def _content_of(response: httpx.Response) -> str:
    try:
        payload = response.json()
        content = payload["choices"][0]["message"]["content"]
    except (ValueError, KeyError, IndexError, TypeError) as exc:
        raise BackendError("openai: response is not a chat completion") from exc
    if not isinstance(content, str) or not content.strip():
        raise BackendError("openai: empty completion")
    return content


def _sse_delta(line: str) -> str | None:
    """The text in one ``data:`` line of a chat-completions stream; None for anything else."""
    if not line.startswith("data:"):
        return None
    data = line[5:].strip()
    if not data or data == "[DONE]":
        return None
    try:
        event = json.loads(data)
        choice = event["choices"][0] if event.get("choices") else {}
        content = choice.get("delta", {}).get("content")
    except (json.JSONDecodeError, AttributeError, IndexError, KeyError, TypeError) as exc:
        raise ValueError("not a chat.completion.chunk") from exc
    return content if isinstance(content, str) else ""
