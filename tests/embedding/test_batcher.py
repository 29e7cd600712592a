"""Micro-batching and the text cache of ``EmbeddingBatcher``."""

from __future__ import annotations

import asyncio

import numpy as np

from txassist.embedding import EmbeddingBatcher, TextEncoder
from txassist.embedding.encoder import Vectors


class CountingEncoder(TextEncoder):
    """The real model, counting the texts it is asked to encode."""

    def __init__(self) -> None:
        super().__init__()
        self.texts_seen: list[str] = []

    def encode(self, texts: list[str], *, batch_size: int = 64, show_progress: bool = False) -> Vectors:
        self.texts_seen.extend(texts)
        return super().encode(texts, batch_size=batch_size, show_progress=show_progress)


async def test_repeated_texts_are_encoded_once_and_match_the_model() -> None:
    encoder = CountingEncoder()
    batcher = EmbeddingBatcher(encoder, cache_size=8)
    topics = ["Refunds", "Router setup", "Refunds"]
    first = await batcher.encode(topics)
    again = await batcher.encode(["Router setup", "A new question", "Refunds"])
    assert encoder.texts_seen == ["Refunds", "Router setup", "A new question"]
    assert np.allclose(first[0], first[2]) and np.allclose(again[2], first[0])
    assert np.allclose(
        again, encoder.model.encode(["Router setup", "A new question", "Refunds"], normalize_embeddings=True), atol=1e-5
    )
    # The caller may modify what it got without touching the cache.
    again[0][:] = 0
    assert np.allclose((await batcher.encode(["Router setup"]))[0], first[1])


async def test_cache_is_bounded() -> None:
    encoder = CountingEncoder()
    batcher = EmbeddingBatcher(encoder, cache_size=2)
    await batcher.encode(["a b", "c d", "e f"])
    await batcher.encode(["a b"])  # evicted: encoded again
    assert encoder.texts_seen == ["a b", "c d", "e f", "a b"]


async def test_concurrent_requests_share_forward_passes() -> None:
    encoder = CountingEncoder()
    batcher = EmbeddingBatcher(encoder, max_wait_ms=20, cache_size=0)
    await batcher.start()
    try:
        texts = [f"customer question number {i}" for i in range(24)]
        vectors = await asyncio.gather(*(batcher.encode_one(t) for t in texts))
    finally:
        await batcher.stop()
    assert batcher.requests == 24 and batcher.batches < 24
    assert np.allclose(np.stack(vectors), encoder.model.encode(texts, normalize_embeddings=True), atol=1e-5)
