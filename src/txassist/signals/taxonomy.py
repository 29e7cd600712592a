"""The product-area taxonomy signals are filed under: built in for the demo company, or a JSON file.

File format (``TXASSIST_PRODUCT_TAXONOMY=/path/taxonomy.json``)::

    {"areas": {"billing": {"keywords": ["invoice", "charged"], "phrases": ["I was charged twice"]}, ...}}

Keywords are matched as whole words (case-insensitive); phrases are embedded once at start and used
when no keyword matches.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import msgspec
import numpy as np

from txassist.errors import InvalidInput
from txassist.text import windows

GENERAL = "general"


class ProductArea(msgspec.Struct, frozen=True):
    keywords: list[str] = msgspec.field(default_factory=list)
    phrases: list[str] = msgspec.field(default_factory=list)


class TaxonomyFile(msgspec.Struct):
    areas: dict[str, ProductArea]


DEFAULT_AREAS: dict[str, ProductArea] = {
    "billing": ProductArea(
        keywords=["bill", "billing", "invoice", "charge", "charged", "payment", "refund", "overcharged", "fee", "fees"],
        phrases=["I was charged twice this month", "my invoice is wrong", "when will my refund arrive"],
    ),
    "cancellations": ProductArea(
        keywords=["cancel", "cancellation", "terminate", "close my account", "unsubscribe", "end my contract"],
        phrases=["I want to cancel my subscription", "please close my account"],
    ),
    "shipping": ProductArea(
        keywords=[
            "delivery",
            "shipping",
            "shipped",
            "courier",
            "parcel",
            "package",
            "box",
            "tracking",
            "arrive",
            "arrived",
        ],
        phrases=["my order has not arrived yet", "the tracking number does not work"],
    ),
    "returns": ProductArea(
        keywords=["return", "returns", "exchange", "send it back", "rma", "warranty"],
        phrases=["how do I return this item", "I want to exchange it for another one"],
    ),
    "account": ProductArea(
        keywords=["login", "log in", "password", "account", "sign in", "2fa", "verification", "email address"],
        phrases=["I cannot log in to my account", "reset my password"],
    ),
    "device": ProductArea(
        keywords=[
            "device",
            "thermo",
            "wi-fi",
            "wifi",
            "router",
            "hub",
            "camera",
            "speaker",
            "battery",
            "firmware",
            "hardware",
            "charger",
        ],
        phrases=["the device keeps restarting", "the battery drains overnight"],
    ),
    "app": ProductArea(
        keywords=["app", "application", "website", "screen", "button", "crash", "crashes", "update", "ios", "android"],
        phrases=["the app crashes when I open it", "I cannot find the setting in the app"],
    ),
    "plans": ProductArea(
        keywords=[
            "plan",
            "plans",
            "subscription",
            "upgrade",
            "downgrade",
            "price",
            "pricing",
            "tier",
            "premium",
            "recipe",
            "recipes",
        ],
        phrases=["I want to change my plan", "how much is the premium plan"],
    ),
}


class ProductTaxonomy:
    """Assigns a product area to a text: keyword votes first, nearest area phrase second."""

    def __init__(self, areas: dict[str, ProductArea]) -> None:
        if not areas:
            raise InvalidInput("the product taxonomy defines no areas")
        self.areas = areas
        self._patterns = {
            name: re.compile(r"\b(?:" + "|".join(re.escape(k.lower()) for k in area.keywords) + r")\b", re.IGNORECASE)
            for name, area in areas.items()
            if area.keywords
        }
        self._phrase_areas: list[str] = [name for name, area in areas.items() for _ in area.phrases]
        self._phrase_texts: list[str] = [p for area in areas.values() for p in area.phrases]
        self._phrase_vectors: np.ndarray | None = None

    @classmethod
    def load(cls, path: str) -> ProductTaxonomy:
        if not path:
            return cls(DEFAULT_AREAS)
        try:
            raw = Path(path).read_bytes()
            parsed = msgspec.json.decode(raw, type=TaxonomyFile)
        except (OSError, msgspec.DecodeError, json.JSONDecodeError) as exc:
            raise InvalidInput(f"TXASSIST_PRODUCT_TAXONOMY {path!r} is unreadable: {exc}") from exc
        return cls(parsed.areas)

    @property
    def phrases(self) -> list[str]:
        return list(self._phrase_texts)

    def set_phrase_vectors(self, vectors: np.ndarray) -> None:
        self._phrase_vectors = vectors

    def area_for(self, text: str, vector: np.ndarray | None = None, *, min_similarity: float = 0.35) -> str:
        votes = {name: windows.count(pattern, text) for name, pattern in self._patterns.items()}
        best = max(votes.items(), key=lambda item: item[1], default=(GENERAL, 0))
        if best[1] > 0:
            return best[0]
        if vector is not None and self._phrase_vectors is not None and len(self._phrase_areas):
            sims = self._phrase_vectors @ vector.reshape(-1)
            index = int(np.argmax(sims))
            if float(sims[index]) >= min_similarity:
                return self._phrase_areas[index]
        return GENERAL
