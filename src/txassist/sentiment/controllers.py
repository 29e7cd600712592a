"""``POST /v1/sentiment``: labels and calibrated scores for up to 256 texts in one batch."""

from __future__ import annotations

import anyio.to_thread
from litestar import Controller, post

from txassist.http.auth import requires
from txassist.http.openapi import BODY, GUARDED, problem_responses
from txassist.sentiment.schemas import SentimentRequest, SentimentResponse
from txassist.sentiment.service import SentimentService
from txassist.text.normalize import normalize_text


class SentimentController(Controller):
    path = "/v1/sentiment"
    tags = ["sentiment"]
    guards = [requires("agent", "platform")]

    @post(
        "",
        status_code=200,
        summary="Sentiment of each text: label, score, and a calibrated probability per label",
        responses=problem_responses(*GUARDED, *BODY),
    )
    async def classify(self, data: SentimentRequest, sentiment: SentimentService) -> SentimentResponse:
        sentiment.check_texts(data.texts)  # the limits first, so normalising has a bounded cost
        # The same normal form as a turn's text; a batch may be large, so off the event loop.
        texts = await anyio.to_thread.run_sync(lambda: [normalize_text(text) for text in data.texts])
        results = await sentiment.classify(texts)
        return SentimentResponse(results=results, model=sentiment.model_name)
