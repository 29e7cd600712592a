"""``SignalService``: extract signals per turn and at close, store them with their outbox events, serve them.

Never commits: the turn's (or the request's) transaction does, so a signal and its outbox event are
written together with the turn or not at all.
"""

from __future__ import annotations

import csv
import functools
import io
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, Literal, Protocol

import anyio.to_thread
import msgspec
import numpy as np
import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from txassist.config import Settings
from txassist.db.models import Conversation, OutboxEvent, Signal
from txassist.embedding import EmbeddingBatcher, TextEncoder
from txassist.errors import InvalidInput
from txassist.intent.schemas import Intents
from txassist.outbox.cloudevents import SIGNAL_CREATED, SIGNAL_UPDATED, signal_event
from txassist.outbox.repository import OutboxRepository
from txassist.privacy.pseudonym import customer_ref
from txassist.privacy.redaction import redact
from txassist.signals import extractors
from txassist.signals.cursor import decode_cursor, encode_cursor
from txassist.signals.prototypes import PrototypeBank
from txassist.signals.repository import SignalRepository
from txassist.signals.schemas import (
    SignalFilters,
    SignalOut,
    SignalPage,
    SignalSummary,
    SummaryBucket,
    TypeTrend,
)
from txassist.signals.taxonomy import ProductTaxonomy

log = structlog.get_logger("txassist.signals")

EXTRACTOR_VERSION = "signals-2026.11-minilm-proto1"
EVIDENCE_MAX_CHARS = 500
# Redaction sees the evidence's window plus this much: a card, phone, IBAN or address cut at the
# window's edge then falls beyond the part that is kept.
EVIDENCE_MARGIN_CHARS = 320
CLOSE_TRANSCRIPT_CHARS = 8_000  # the end of the conversation the close-time LLM extraction reads
NON_CUSTOMER_SPEAKERS = frozenset({"agent", "system", "bot", "assistant"})
SENTIMENT_VALUES = {"negative": -1.0, "neutral": 0.0, "positive": 1.0}
CSV_COLUMNS = (
    "id",
    "kind",
    "type",
    "confidence",
    "product_area",
    "evidence",
    "conversation_id",
    "turn_id",
    "customer_ref",
    "channel",
    "occurred_at",
    "extractor_version",
)


class TurnLike(Protocol):
    # Read-only: a stored ``Turn`` and a frozen ``TurnView`` both qualify.
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
    async def generate_json(self, text: str, schema: dict[str, Any]) -> Any: ...


class CloseSignal(msgspec.Struct):
    type: extractors.SignalKind | str
    confidence: float
    evidence: str


class CloseExtraction(msgspec.Struct):
    signals: list[CloseSignal]


CLOSE_SCHEMA: dict[str, Any] = {
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


def evidence_of(text: str) -> str:
    """The first ``EVIDENCE_MAX_CHARS`` of ``text``, redacted; redaction runs on that window, not the text."""
    return redacted_window(text, EVIDENCE_MAX_CHARS)


def redacted_window(text: str, keep: int, *, tail: bool = False) -> str:
    """The first (or, with ``tail``, the last) ``keep`` characters of ``redact(text)``, redacting a window only.

    The window starts at ``keep`` plus twice the margin and grows only when redaction shortened it so much
    (many placeholders) that the kept part could reach the window's cut edge, where an item may be cut.
    """
    window = keep + 2 * EVIDENCE_MARGIN_CHARS
    while True:
        piece = text[-window:] if tail else text[:window]
        redacted = redact(piece)
        if len(piece) == len(text) or len(redacted) >= keep + EVIDENCE_MARGIN_CHARS:
            return redacted[-keep:] if tail else redacted[:keep]
        window *= 2


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def _turn_time(turn: object) -> datetime:
    for name in ("occurred_at", "at"):
        value = getattr(turn, name, None)
        if isinstance(value, datetime):
            return _aware(value)
    return datetime.now(UTC)


class SignalService:
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

    async def extract_at_close(
        self, session: AsyncSession, conversation: Conversation, turns: Sequence[TurnLike]
    ) -> list[SignalOut]:
        """Whole-conversation extraction at close, recorded in ``session`` (merged with per-turn ones).

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
        return await self.record(session, found, conversation=conversation, turn=None)

    def _close_signals(
        self, conversation: Conversation, customer_turns: Sequence[TurnLike], vectors: np.ndarray
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

    async def _llm_close_signals(self, conversation: Conversation, turns: Sequence[TurnLike]) -> list[SignalOut]:
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

    # --- storage ----------------------------------------------------------------------------

    @staticmethod
    def dedup_key(signal: SignalOut) -> str:
        key = signal.details.get("key")
        if key:
            return f"{signal.type}:{str(key).lower()}"[:128]
        return f"{signal.type}:{signal.product_area}"[:128]

    async def stored_duplicates(
        self, session: AsyncSession, conversation_id: str, signals: list[SignalOut]
    ) -> dict[str, Signal]:
        """The conversation's stored signals that ``signals`` would merge into, by dedup key (one query)."""
        keys = sorted({self.dedup_key(signal) for signal in signals})
        return await SignalRepository(session).by_dedup_keys(conversation_id, keys) if keys else {}

    async def record(
        self,
        session: AsyncSession,
        signals: list[SignalOut],
        *,
        conversation: ConversationRef,
        turn: KeyedTurn | None,
        duplicates: Mapping[str, Signal] | None = None,
    ) -> list[SignalOut]:
        """Write signals and their outbox events in the caller's session; merge duplicates.

        A duplicate (same type and product area, or same competitor, in one conversation) keeps
        the highest confidence; raising it emits a ``signal.updated`` event with the same signal id.
        ``duplicates`` (from ``stored_duplicates``) lets the turn pipeline read them before its write phase.
        """
        if duplicates is None:
            duplicates = await self.stored_duplicates(session, conversation.id, signals)
        repo = SignalRepository(session)
        outbox = OutboxRepository(session)
        best: dict[str, SignalOut] = {}
        for signal in signals:
            slot = self.dedup_key(signal)
            if slot not in best or signal.confidence > best[slot].confidence:
                best[slot] = signal
        stored: list[SignalOut] = []
        pending_events: list[tuple[Signal, str]] = []
        now = datetime.now(UTC)
        for slot, signal in best.items():
            # Redacted and bounded when the signal was made (``evidence_of``): not a second time.
            evidence = signal.evidence[:EVIDENCE_MAX_CHARS]
            turn_key = signal.details.get("turn_key") or (turn.turn_key if turn is not None else None)
            details = {**signal.details, "turn_id": signal.turn_id}
            existing = duplicates.get(slot)
            if existing is None:
                row = Signal(
                    id=uuid.UUID(signal.id),
                    kind=signal.kind,
                    type=signal.type,
                    confidence=signal.confidence,
                    product_area=signal.product_area,
                    evidence=evidence,
                    conversation_id=conversation.id,
                    turn_key=turn_key,
                    customer_ref=signal.customer_ref,
                    channel=signal.channel,
                    occurred_at=signal.occurred_at,
                    created_at=now,
                    extractor_version=signal.extractor_version,
                    dedup_key=slot,
                    details=details,
                )
                repo.add(row)
                event_type = SIGNAL_CREATED
            elif signal.confidence > existing.confidence:
                row = existing
                row.confidence = signal.confidence
                row.evidence = evidence
                row.turn_key = turn_key
                row.occurred_at = signal.occurred_at
                row.details = details
                row.extractor_version = signal.extractor_version
                event_type = SIGNAL_UPDATED
            else:
                stored.append(self.to_out(existing))
                continue
            pending_events.append((row, event_type))
            stored.append(self.to_out(row))
        if not pending_events:
            return stored  # every signal merged into a stronger stored one: nothing to write
        # Signals first: there is no ORM relationship to order the inserts, and events reference them.
        await session.flush()
        for row, event_type in pending_events:
            self._add_event(outbox, row, event_type, now)
        await session.flush()
        return stored

    def _add_event(self, outbox: OutboxRepository, row: Signal, event_type: str, now: datetime) -> None:
        event_id = uuid.uuid4()
        outbox.add(
            OutboxEvent(
                id=event_id,
                signal_id=row.id,
                customer_ref=row.customer_ref,
                event_type=event_type,
                payload=signal_event(
                    event_id=event_id,
                    event_type=event_type,
                    subject=f"signals/{row.id}",
                    time=now,
                    data=msgspec.to_builtins(self.to_out(row)),
                ),
                status="pending",
                attempts=0,
                next_attempt_at=now,
                created_at=now,
            )
        )

    @staticmethod
    def to_out(row: Signal) -> SignalOut:
        details = dict(row.details or {})
        turn_id = details.pop("turn_id", None)
        kind: Literal["product", "churn"] = "churn" if row.kind == "churn" else "product"
        return SignalOut(
            id=str(row.id),
            kind=kind,
            type=row.type,
            confidence=row.confidence,
            product_area=row.product_area,
            evidence=row.evidence,
            conversation_id=row.conversation_id,
            turn_id=turn_id if isinstance(turn_id, str) else None,
            customer_ref=row.customer_ref,
            channel=row.channel,
            occurred_at=_aware(row.occurred_at),
            extractor_version=row.extractor_version,
            details=details,
        )

    # --- serving ----------------------------------------------------------------------------

    async def page(
        self, session: AsyncSession, filters: SignalFilters, *, cursor: str | None, limit: int
    ) -> SignalPage:
        _check_window(filters)
        after = decode_cursor(cursor, self.settings.pseudonym_secret) if cursor else None
        rows = await SignalRepository(session).page(filters, after=after, limit=limit + 1)
        more = len(rows) > limit
        rows = rows[:limit]
        next_cursor = (
            encode_cursor(rows[-1].created_at, rows[-1].id, self.settings.pseudonym_secret) if more and rows else None
        )
        return SignalPage(items=[self.to_out(r) for r in rows], next_cursor=next_cursor)

    async def summary(self, session: AsyncSession, filters: SignalFilters, *, days: int) -> SignalSummary:
        _check_window(filters)
        until = _aware(filters.until) if filters.until else datetime.now(UTC)
        since = _aware(filters.since) if filters.since else until - timedelta(days=days)
        previous_since = since - (until - since)
        window = msgspec.structs.replace(filters, since=previous_since, until=until)
        rows = await SignalRepository(session).summary_rows(window)
        current = [(_aware(at), t, a) for at, t, a in rows if _aware(at) >= since]
        previous = [(_aware(at), t, a) for at, t, a in rows if _aware(at) < since]
        buckets = Counter((at.date().isoformat(), t, a) for at, t, a in current)
        by_type = Counter(t for _, t, _ in current)
        previous_by_type = Counter(t for _, t, _ in previous)
        trends = []
        for name in sorted(set(by_type) | set(previous_by_type)):
            now_count, before = by_type.get(name, 0), previous_by_type.get(name, 0)
            change = None if before == 0 else round((now_count - before) / before, 4)
            direction: Literal["up", "down", "flat"] = (
                "up" if now_count > before else "down" if now_count < before else "flat"
            )
            trends.append(TypeTrend(type=name, current=now_count, previous=before, change=change, direction=direction))
        return SignalSummary(
            since=since,
            until=until,
            previous_since=previous_since,
            total=len(current),
            previous_total=len(previous),
            by_day=[SummaryBucket(day=d, type=t, product_area=a, count=c) for (d, t, a), c in sorted(buckets.items())],
            by_type=dict(sorted(by_type.items())),
            by_product_area=dict(sorted(Counter(a for _, _, a in current).items())),
            trends=trends,
        )

    async def export(self, session: AsyncSession, filters: SignalFilters, fmt: str) -> AsyncIterator[bytes]:
        """Stream every matching signal as NDJSON or CSV (header first), page by page."""
        _check_window(filters)
        encoder = msgspec.json.Encoder()
        if fmt == "csv":
            yield _csv_line(CSV_COLUMNS)
        async for row in SignalRepository(session).iterate(filters):
            out = self.to_out(row)
            if fmt == "csv":
                values = msgspec.to_builtins(out)
                yield _csv_line(tuple(_csv_cell(values.get(c)) for c in CSV_COLUMNS))
            else:
                yield encoder.encode(out) + b"\n"


def _csv_cell(value: object) -> str:
    text = "" if value is None else str(value)
    # A leading =, +, - or @ makes spreadsheets run the cell as a formula (CSV injection).
    return "'" + text if text[:1] in ("=", "+", "-", "@") else text


def _csv_line(values: Sequence[str]) -> bytes:
    buffer = io.StringIO()
    csv.writer(buffer).writerow(values)
    return buffer.getvalue().encode("utf-8")


def _check_window(filters: SignalFilters) -> None:
    if filters.since and filters.until and _aware(filters.since) >= _aware(filters.until):
        raise InvalidInput("since must be before until")
