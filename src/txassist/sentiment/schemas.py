"""Request and response bodies for sentiment, with their limits."""

from __future__ import annotations

from typing import Annotated, Literal

import msgspec

MAX_TEXTS = 256

# The per-text character limit is ``settings.max_text_chars`` (checked by the service); this
# static bound only keeps a schema-level ceiling on what the decoder accepts.
Text = Annotated[str, msgspec.Meta(min_length=1, max_length=1_000_000)]


class SentimentRequest(msgspec.Struct, forbid_unknown_fields=True):
    texts: Annotated[list[Text], msgspec.Meta(min_length=1, max_length=MAX_TEXTS)]


class SentimentResult(msgspec.Struct):
    label: Literal["negative", "neutral", "positive"]
    score: Annotated[float, msgspec.Meta(ge=0.0, le=1.0)]  # probability of ``label``
    scores: dict[str, float]  # calibrated probability for each of negative, neutral, positive
    language: str = "en"  # BCP 47 of the text, as detected
    # False: a language or script the models were not built for, or too short to tell; the scores are
    # then flattened towards neutral so no confident label is given on guesswork.
    reliable: bool = True


class SentimentResponse(msgspec.Struct):
    results: list[SentimentResult]
    model: str
