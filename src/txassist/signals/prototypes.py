"""Labelled prototype phrases per embedding-detected signal type, embedded once at start.

A turn is compared with each type's prototypes (cosine on the shared MiniLM embedding); ``none``
holds ordinary support talk so a turn must look more like a signal than like routine conversation.
"""

from __future__ import annotations

import numpy as np

from txassist.embedding import TextEncoder

NONE = "none"

PROTOTYPES: dict[str, list[str]] = {
    "defect": [
        "the app crashes every time I open it",
        "it keeps giving me an error when I try to pay",
        "the device stopped working after the update",
        "my card payment was declined for no reason",
        "the transfer failed and the money has not arrived",
        "the website is broken, the button does nothing",
        "I get an error message saying something went wrong",
        "the router keeps disconnecting every few minutes",
        "my card is not working at the shop",
        "the top-up failed but I was still charged",
        "the login page just freezes and never loads",
        "the feature is broken since yesterday",
    ],
    "feature_request": [
        "it would be great if the app had a dark mode",
        "can you add an option to export my history",
        "I wish I could pay with Apple Pay",
        "please add support for joint accounts",
        "why is there no way to schedule a delivery time, you should add that",
        "I would love a feature to split bills with friends",
        "are you planning to support more currencies",
        "you should let us change the delivery address after ordering",
        "it would help if I could get notifications by text",
        "could you make it possible to pause my subscription",
    ],
    "usability_friction": [
        "I could not find where to change my address in the app",
        "the settings menu is really confusing",
        "I had to call because I could not do it online",
        "it took me ages to figure out how to update my card",
        "the website is so hard to navigate",
        "why do I have to phone you just to change my plan",
        "the instructions on the screen make no sense",
        "there are too many steps to do something simple",
        "I tried to do it myself but got lost in the menus",
        "it is not obvious where the cancel button is",
    ],
    "cancellation_intent": [
        "I want to cancel my subscription",
        "please close my account",
        "I am thinking of leaving and closing my account",
        "how do I terminate my contract",
        "I want to end my membership today",
        "I'm done, cancel everything",
        "I would like to delete my account",
        "if this is not fixed I will cancel",
        "I am going to switch providers",
        "stop my plan at the end of the month",
    ],
    "price_complaint": [
        "this is way too expensive",
        "why did my price go up again",
        "I am paying too much for this plan",
        "the fees are ridiculous",
        "you raised the price without telling me",
        "it's cheaper elsewhere",
        "I can't afford this monthly charge any more",
        "the new pricing is a rip-off",
        "why am I being charged a fee for this",
        "the renewal price is much higher than what I signed up for",
    ],
    NONE: [
        "hello, I have a question about my order",
        "thank you, that's all I needed",
        "can you tell me when my parcel will arrive",
        "what is my account number",
        "ok great, thanks for your help",
        "I just wanted to check the status of my request",
        "yes, that is my email address",
        "how do I reset my password",
        "what are your opening hours",
        "I want to check my balance",
        "could you confirm my delivery address",
        "where can I find my invoice",
        "good morning",
        "let me check and get back to you",
        "sure, one moment please",
    ],
}


class PrototypeBank:
    """The embedded prototypes: per type, the max cosine of a turn vector to that type's phrases."""

    def __init__(self, prototypes: dict[str, list[str]] | None = None) -> None:
        self.prototypes = prototypes or PROTOTYPES
        self.types = list(self.prototypes)
        self._labels: np.ndarray = np.array(
            [index for index, name in enumerate(self.types) for _ in self.prototypes[name]]
        )
        self._vectors: np.ndarray | None = None

    @property
    def ready(self) -> bool:
        return self._vectors is not None

    def embed(self, encoder: TextEncoder) -> None:
        """Blocking: run in a worker thread at start-up."""
        texts = [text for name in self.types for text in self.prototypes[name]]
        self._vectors = encoder.encode(texts)

    def similarities(self, vector: np.ndarray) -> dict[str, float]:
        if self._vectors is None:
            raise RuntimeError("PrototypeBank.embed() has not run")
        sims = self._vectors @ vector.reshape(-1).astype(np.float32)
        return {name: float(sims[self._labels == index].max()) for index, name in enumerate(self.types)}
