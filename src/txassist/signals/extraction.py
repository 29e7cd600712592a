"""``SignalExtractor``: product and churn signals in one customer turn, or in a whole conversation at close.

Pure: it reads text and vectors and writes nothing; ``SignalStore`` records what it finds. The evidence
of a signal is redacted once, here, when the signal is made.
"""

from __future__ import annotations

import functools
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Protocol

import anyio.to_thread
import msgspec
import numpy as np
import structlog

from txassist.config import Settings
from txassist.embedding import EmbeddingBatcher, TextEncoder
from txassist.intent.schemas import Intents
from txassist.privacy.pseudonym import customer_ref
from txassist.signals import extractors
from txassist.signals.evidence import evidence_of, redacted_window
from txassist.signals.prototypes import PrototypeBank
from txassist.signals.schemas import SignalOut
from txassist.signals.taxonomy import ProductTaxonomy

log = structlog.get_logger("txassist.signals")

EXTRACTOR_VERSION = "signals-2026.11-minilm-proto1"
CLOSE_TRANSCRIPT_CHARS = 8_000  # the end of the conversation the close-time LLM extraction reads
NON_CUSTOMER_SPEAKERS = frozenset({"agent", "system", "bot", "assistant"})
SENTIMENT_VALUES = {"negative": -1.0, "neutral": 0.0, "positive": 1.0}


class TurnLike(Protocol):
    # Read-only: a stored ``Turn`` and a frozen ``TurnRecord`` both qualify.
    @property
    def speaker(self) -> str: ...
    @property
    def channel(self) -> str: ...
    @property
    def text(self) -> str: ...


class KeyedTurn(TurnLike, Protocol):
    @property
    def turn_key(self) -> str: ...


class ConversationRef(Protocol):
    # The turn pipeline passes a ``ConversationRecord``; close-time extraction an ORM ``Conversation``.
    @property
    def id(self) -> str: ...
    @property
    def customer_id(self) -> str: ...
    @property
    def channel(self) -> str: ...


class JsonGenerator(Protocol):
    async def generate_json(self, text: str, schema: dict[str, object]) -> object: ...


class CloseSignal(msgspec.Struct):
    type: extractors.SignalKind | str
    confidence: float
    evidence: str


class CloseExtraction(msgspec.Struct):
    signals: list[CloseSignal]


CLOSE_SCHEMA: dict[str, object] = {
    "type": "object",
    "properties": {
        "signals": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {
                    "type": {"type": "string", "enum": list(extractors.SIGNAL_TYPES)},
                    "confidence": {"type": "number", "minimum": 0, "maximum": 1},
                    "evidence": {"type": "string", "maxLength": 500},
                },
                "required": ["type", "confidence", "evidence"],
            },
        }
    },
    "required": ["signals"],
}


def _cancellation_from(intents: Intents) -> list[extractors.Candidate]:
    if "cancel_service" not in intents.fired:
        return []
    reasons = [r for r in intents.reasons if "cancel_service" in r or "cancel" in r]
    return [
        extractors.Candidate(
            type="cancellation_intent",
            confidence=round(float(intents.scores["cancel_service"]), 3),
            details={"intent": "cancel_service", "reasons": reasons, "language": intents.language},
        )
    ]


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def _turn_time(turn: object) -> datetime:
    for name in ("occurred_at", "at"):
        value = getattr(turn, name, None)
        if isinstance(value, datetime):
            return _aware(value)
    return datetime.now(UTC)


class SignalExtractor:
    def __init__(
        self,
        settings: Settings,
        encoder: TextEncoder,
        embeddings: EmbeddingBatcher,
        *,
        generator: JsonGenerator | None = None,
    ) -> None:
        self.settings = settings
        self.encoder = encoder
        self.embeddings = embeddings
        self.generator = generator  # set by Services when drafting offers a JSON-capable LLM backend
        self.taxonomy = ProductTaxonomy.load(settings.product_taxonomy)
        self.prototypes = PrototypeBank()
        names = [*extractors.DEFAULT_COMPETITORS, *settings.competitors]
        self._competitor_canonical = {" ".join(n.split()).lower(): n.strip() for n in names if n.strip()}
        self._competitor_re = extractors.competitor_pattern(names)

    async def start(self) -> None:
        """Embed prototypes and taxonomy phrases once (blocking model calls, off the event loop)."""
        await anyio.to_thread.run_sync(self.prototypes.embed, self.encoder)
        phrases = self.taxonomy.phrases
        if phrases:
            vectors = await anyio.to_thread.run_sync(self.encoder.encode, phrases)
            self.taxonomy.set_phrase_vectors(vectors)

    @property
    def ready(self) -> bool:
        return self.prototypes.ready

    # --- extraction -------------------------------------------------------------------------

    def candidates_for_text(
        self, text: str, vector: np.ndarray, *, best_dense_score: float | None = None
    ) -> list[extractors.Candidate]:
        """Every candidate that needs only the text, its vector and the retrieval score."""
        found = extractors.from_similarities(self.prototypes.similarities(vector), text=text)
        found += extractors.from_phrase_rules(text)
        found += extractors.competitor_mentions(text, self._competitor_re, self._competitor_canonical)
        found += extractors.documentation_gap(text, best_dense_score, self.settings.signal_doc_gap_score)
        return found

    async def extract_for_turn(
        self,
        *,
        conversation: ConversationRef,
        turn: KeyedTurn,
        vector: np.ndarray | None,
        hits: Sequence[object],
        best_dense_score: float | None,
        sentiment_history: list[float],
        customer_recent_topics: list[str],
        intents: Intents | None = None,
    ) -> list[SignalOut]:
        """Signals in one customer turn. Pure: no database writes; agent turns yield none.

        ``intents`` (the turn's ``txassist.intent.Intents``) decides cancellation intent when given:
        the phrase and prototype rules defer to it, so the churn signal and the escalation flag agree.
        """
        del hits  # the retrieval score carries what we need; hits stay in the contract for richer rules
        if turn.speaker in NON_CUSTOMER_SPEAKERS or not turn.text.strip():
            return []
        if vector is None:
            vector = await self.embeddings.encode_one(turn.text)
        vector = np.asarray(vector, dtype=np.float32).reshape(-1)
        topics = customer_recent_topics[:20]
        topic_vectors = await self.embeddings.encode([t[:1000] for t in topics]) if topics else None
        # The rules, the taxonomy and the redaction are CPU work on the customer's text: a worker thread,
        # left to finish on its own (not waited for) when the caller's time limit cancels the part.
        work = functools.partial(
            self._turn_signals,
            conversation,
            turn,
            vector,
            best_dense_score,
            sentiment_history,
            topics,
            topic_vectors,
            intents,
        )
        return await anyio.to_thread.run_sync(work, abandon_on_cancel=True)

    def _turn_signals(
        self,
        conversation: ConversationRef,
        turn: KeyedTurn,
        vector: np.ndarray,
        best_dense_score: float | None,
        sentiment_history: list[float],
        topics: list[str],
        topic_vectors: np.ndarray | None,
        intents: Intents | None = None,
    ) -> list[SignalOut]:
        area = self.taxonomy.area_for(turn.text, vector)
        found = self.candidates_for_text(turn.text, vector, best_dense_score=best_dense_score)
        if intents is not None:
            found = [c for c in found if c.type != "cancellation_intent"] + _cancellation_from(intents)
        found += extractors.worsening_sentiment(sentiment_history)
        if topics:
            found += extractors.repeat_contact_by_topic(area, vector, topics, topic_vectors)
        merged = extractors.merge_candidates(found)
        if not merged:
            return []
        evidence = evidence_of(turn.text)  # once per turn, whatever the number of signals
        return [
            self._signal_out(candidate, conversation=conversation, turn=turn, area=area, evidence=evidence)
            for candidate in merged
        ]

    def _signal_out(
        self,
        candidate: extractors.Candidate,
        *,
        conversation: ConversationRef,
        turn: TurnLike | None,
        area: str,
        evidence: str,
    ) -> SignalOut:
        """``evidence`` is already redacted and bounded (``evidence_of``)."""
        turn_id = getattr(turn, "id", None) or getattr(turn, "turn_id", None)
        details = dict(candidate.details)
        if candidate.key:
            details["key"] = candidate.key
        turn_key = getattr(turn, "turn_key", None)
        if turn_key:
            details["turn_key"] = turn_key
        return SignalOut(
            id=str(uuid.uuid4()),
            kind=candidate.kind,
            type=candidate.type,
            confidence=float(candidate.confidence),
            product_area=area,
            evidence=evidence,
            conversation_id=conversation.id,
            turn_id=str(turn_id) if turn_id is not None else None,
            customer_ref=customer_ref(conversation.customer_id, self.settings.pseudonym_secret),
            channel=turn.channel if turn is not None else conversation.channel,
            occurred_at=_turn_time(turn) if turn is not None else datetime.now(UTC),
            extractor_version=EXTRACTOR_VERSION,
            details=details,
        )

    async def at_close(self, conversation: ConversationRef, turns: Sequence[TurnLike]) -> list[SignalOut]:
        """Whole-conversation extraction at close (the caller records them, merged with per-turn ones).

        Uses the LLM under a JSON schema when a generator is configured; otherwise (or when it fails)
        the embedding extractors over every customer turn plus the conversation's sentiment course.
        """
        customer_turns = [t for t in turns if t.speaker not in NON_CUSTOMER_SPEAKERS and t.text.strip()]
        if not customer_turns:
            return []
        found: list[SignalOut] = []
        if self.generator is not None:
            found = await self._llm_close_signals(conversation, customer_turns)
        if not found:
            vectors = await self.embeddings.encode([t.text for t in customer_turns])
            work = functools.partial(self._close_signals, conversation, customer_turns, vectors)
            found = await anyio.to_thread.run_sync(work, abandon_on_cancel=True)
        return found

    def _close_signals(
        self, conversation: ConversationRef, customer_turns: Sequence[TurnLike], vectors: np.ndarray
    ) -> list[SignalOut]:
        found: list[SignalOut] = []
        for turn, vector in zip(customer_turns, vectors, strict=True):
            area = self.taxonomy.area_for(turn.text, vector)
            candidates = extractors.merge_candidates(self.candidates_for_text(turn.text, vector))
            evidence = evidence_of(turn.text) if candidates else ""
            found.extend(
                self._signal_out(candidate, conversation=conversation, turn=turn, area=area, evidence=evidence)
                for candidate in candidates
            )
        history = [
            SENTIMENT_VALUES[s] for t in customer_turns if (s := getattr(t, "sentiment", None)) in SENTIMENT_VALUES
        ]
        for candidate in extractors.worsening_sentiment(history):
            last = customer_turns[-1]
            area = self.taxonomy.area_for(" ".join(t.text for t in customer_turns))
            found.append(
                self._signal_out(
                    candidate, conversation=conversation, turn=last, area=area, evidence=evidence_of(last.text)
                )
            )
        return found

    async def _llm_close_signals(self, conversation: ConversationRef, turns: Sequence[TurnLike]) -> list[SignalOut]:
        assert self.generator is not None
        # The prompt lives in prompts/signal_extraction; the customer's words go in fenced and redacted.
        transcript = redacted_window("\n".join(t.text for t in turns), CLOSE_TRANSCRIPT_CHARS, tail=True)
        try:
            raw = await self.generator.generate_json(transcript, CLOSE_SCHEMA)
            if raw is None:
                return []
            parsed = msgspec.convert(raw, CloseExtraction)
        except Exception as exc:  # the LLM is optional: a failure falls back to the embedding extractors
            log.warning("close_llm_extraction_failed", conversation_id=conversation.id, error=repr(exc))
            return []
        out: list[SignalOut] = []
        for item in parsed.signals:
            if item.type not in extractors.SIGNAL_KINDS:
                continue
            candidate = extractors.Candidate(
                type=item.type, confidence=min(0.99, max(0.0, item.confidence)), details={"rule": "llm_close"}
            )
            area = self.taxonomy.area_for(item.evidence)
            evidence = evidence_of(item.evidence)
            out.append(
                self._signal_out(candidate, conversation=conversation, turn=turns[-1], area=area, evidence=evidence)
            )
        return out
