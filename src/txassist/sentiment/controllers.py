"""``POST /v1/sentiment``: labels and calibrated scores for up to 256 texts in one batch."""

from __future__ import annotations

from litestar import Controller, post

from txassist.http.auth import requires
from txassist.http.openapi import BODY, GUARDED, problem_responses
from txassist.sentiment.schemas import SentimentRequest, SentimentResponse
from txassist.services import Services


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
    async def classify(self, data: SentimentRequest, services: Services) -> SentimentResponse:
        sentiment = services.sentiment
        results = await sentiment.classify(data.texts)
        return SentimentResponse(results=results, model=sentiment.model_name)
