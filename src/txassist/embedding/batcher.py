"""Micro-batching: concurrent requests that arrive within a few milliseconds share one forward pass.

On 2 cores a batch of 16 short texts costs far less than 16 single encodes, so under load the
service keeps its throughput without each request paying for the others. A lone request is
encoded at once (no waiting when nothing else is queued).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import OrderedDict
from dataclasses import dataclass, field

import anyio
import anyio.to_thread
import numpy as np

from txassist.embedding.encoder import TextEncoder, Vectors


@dataclass
class _Pending:
    texts: list[str]
    future: asyncio.Future[Vectors] = field(repr=False)


class EmbeddingBatcher:
    def __init__(
        self, encoder: TextEncoder, *, max_batch: int = 64, max_wait_ms: float = 2.0, cache_size: int = 4096
    ) -> None:
        self.encoder = encoder
        self.max_batch = max_batch
        self.max_wait_s = max_wait_ms / 1000
        # Texts that recur on every turn (a customer's open topics, KB titles, prototypes) are
        # encoded once: the model is deterministic, and a batch of 20 topics costs more than the turn.
        self.cache_size = cache_size
        self._cache: OrderedDict[str, Vectors] = OrderedDict()
        self.batches = 0  # forward passes run (micro-batching shows as batches < requests)
        self.requests = 0
        self._queue: asyncio.Queue[_Pending] | None = None
        self._worker: asyncio.Task[None] | None = None
        # One model call at a time: torch already uses every core for a batch.
        self._limiter = anyio.CapacityLimiter(1)

    async def start(self) -> None:
        if self._worker is None:
            self._queue = asyncio.Queue()
            self._worker = asyncio.create_task(self._run(), name="embedding-batcher")

    async def stop(self) -> None:
        if self._worker is not None:
            self._worker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._worker
            self._worker = None

    async def encode(self, texts: list[str]) -> Vectors:
        """Vectors for ``texts`` in order; batched with whatever else is in flight, cached by text."""
        if not self.cache_size or not texts:
            return await self._encode_uncached(texts)
        cache = self._cache
        missing = list(dict.fromkeys(t for t in texts if t not in cache))
        if missing:
            fresh = await self._encode_uncached(missing)
            for text, vector in zip(missing, fresh, strict=True):
                kept = vector.copy()  # the caller owns ``fresh``; the cache keeps its own read-only rows
                kept.flags.writeable = False
                cache[text] = kept
            while len(cache) > self.cache_size:
                cache.popitem(last=False)
            if len(missing) == len(texts):
                return fresh
        rows = []
        for text in texts:
            vector = cache.get(text)
            if vector is None:  # evicted meanwhile by a larger batch: encode it again
                vector = (await self._encode_uncached([text]))[0]
            else:
                cache.move_to_end(text)
            rows.append(vector)
        return np.stack(rows)

    async def _encode_uncached(self, texts: list[str]) -> Vectors:
        self.requests += 1
        if self._queue is None:
            # Not started (CLI, tests): encode directly off the event loop.
            return await anyio.to_thread.run_sync(self.encoder.encode, texts, limiter=self._limiter)
        future: asyncio.Future[Vectors] = asyncio.get_running_loop().create_future()
        await self._queue.put(_Pending(texts, future))
        return await future

    async def encode_one(self, text: str) -> Vectors:
        vectors = await self.encode([text])
        return vectors[0:1].reshape(-1)

    async def _run(self) -> None:
        assert self._queue is not None
        queue = self._queue
        while True:
            first = await queue.get()
            batch = [first]
            size = len(first.texts)
            deadline = asyncio.get_running_loop().time() + self.max_wait_s
            # Take what is already queued at once; wait briefly for more only while others arrive.
            while size < self.max_batch:
                try:
                    item = queue.get_nowait()
                except asyncio.QueueEmpty:
                    remaining = deadline - asyncio.get_running_loop().time()
                    if remaining <= 0 or not self._busy_hint(batch):
                        break
                    try:
                        item = await asyncio.wait_for(queue.get(), remaining)
                    except TimeoutError:
                        break
                batch.append(item)
                size += len(item.texts)
            await self._encode_batch(batch)

    @staticmethod
    def _busy_hint(batch: list[_Pending]) -> bool:
        # A single waiting request is served immediately; a batch that already grew means load.
        return len(batch) > 1

    async def _encode_batch(self, batch: list[_Pending]) -> None:
        texts = [t for item in batch for t in item.texts]
        self.batches += 1
        try:
            vectors = await anyio.to_thread.run_sync(self.encoder.encode, texts, limiter=self._limiter)
        except Exception as exc:  # delivered to every waiter, the worker lives on
            for item in batch:
                if not item.future.done():
                    item.future.set_exception(exc)
            return
        start = 0
        for item in batch:
            end = start + len(item.texts)
            if not item.future.done():
                item.future.set_result(vectors[start:end])
            start = end
