"""``IntentReader``: which words a turn's intents read, in which language, embedded by which model.

A turn embeds the customer's text once and sentiment, search and intents share the vectors. The
intents read the customer's own words only: when a message carries more (an email's greeting, sign-off
and quoted thread, a sentence addressed to the assistant such as "ignore your instructions"), those
words are detected and embedded again. English and short Latin-script turns take the MiniLM head, the
rest the multilingual e5 head. The turn pipeline and the benchmarks both read intents here, so a
benchmark routes a turn exactly as a turn is routed.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import msgspec

from txassist.arrays import Floats
from txassist.drafting.message import read_message
from txassist.embedding import TextEncoder
from txassist.embedding.multilingual import MultilingualEncoder
from txassist.intent.detector import IntentDetector
from txassist.intent.schemas import Intents
from txassist.sentiment.service import uses_english_head
from txassist.text.language import Language

EMBED_CHARS = 4_096  # well past 256 word pieces of any ordinary text
Embed = Callable[[str], Awaitable[Floats]]  # one text to one row (MiniLM or e5 queries)
DetectLanguage = Callable[[str], Language | None]  # None: unknown, the English path


def own_words(text: str) -> str | None:
    """The customer's own words when the text carries more than them; None when it is all theirs."""
    message = read_message(text)
    return message.body if (message.injected or message.wrapped) and message.body else None


def takes_english_head(language: Language | None, text: str) -> bool:
    return language is None or uses_english_head(language, text)


class IntentReader(msgspec.Struct, frozen=True, kw_only=True):
    detector: IntentDetector
    language: DetectLanguage
    minilm: Embed
    e5: Embed | None  # None: every text takes the MiniLM head

    @classmethod
    def inline(
        cls,
        detector: IntentDetector,
        language: DetectLanguage,
        encoder: TextEncoder,
        multilingual: MultilingualEncoder | None,
    ) -> IntentReader:
        """The encoders called in place, for offline callers (benchmarks, training checks); a server
        embeds through its batcher and off the event loop instead."""

        async def minilm(text: str) -> Floats:
            row: Floats = encoder.encode([text])[0]
            return row

        async def e5(text: str) -> Floats:
            assert multilingual is not None
            row: Floats = multilingual.queries([text])[0]
            return row

        return cls(detector=detector, language=language, minilm=minilm, e5=None if multilingual is None else e5)

    async def read(
        self,
        text: str,
        *,
        language: Language | None = None,
        minilm: Floats | None = None,
        e5: Floats | None = None,
    ) -> Intents:
        """Intents of ``text``. A caller that embedded the whole text already passes its language and
        vectors (one row each); they are used when the text is all the customer's own words."""
        words = own_words(text)
        if words is not None:
            language, minilm, e5 = self.language(words), None, None
            text = words
        elif language is None:
            language = self.language(text)
        if minilm is None and e5 is None:
            if self.e5 is not None and not takes_english_head(language, text):
                e5 = await self.e5(text[:EMBED_CHARS])
            else:
                minilm = await self.minilm(text[:EMBED_CHARS])
        code = language.code if language is not None else "en"
        return self.detector.detect([text], _rows(minilm), _rows(e5), [code])[0]


def _rows(vector: Floats | None) -> Floats | None:
    return None if vector is None else vector.reshape(1, -1)
