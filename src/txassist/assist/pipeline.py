"""The per-turn pipeline: one customer turn, from the request to the stored answer, top to bottom.

``TurnPipeline.handle`` runs five steps, each a method below in the order it runs:

1. ``_run`` reads: a retry's stored answer, the conversation, who the customer is, the turns so far.
2. ``_judge`` runs the models on the customer's text, embedded once: language, intents, sentiment and
   knowledge search side by side, then the sentiment trend.
3. ``_run`` updates the conversation in memory (topics, trend, rolling summary).
4. ``_offer`` computes what the agent is offered: the draft, the guidance, the signals, a learned reply.
5. ``_write`` stores all of it in one transaction and returns the answer every retry will get.

Agent and bot turns are stored and summarised but skip every model. A part that fails or runs out of
time is named in ``degraded`` and the rest of the answer still goes out (``PartRunner``). Time limits
wrap model calls and CPU work only, never a database call: a cancellation that lands inside a query
leaves the session unusable and would cost the turn its write. CPU work on the customer's text (the
trend rules, the rolling summary, signal extraction) runs in worker threads, so the event loop keeps
answering other requests while a long or hostile turn is worked on.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import anyio.to_thread
import msgspec
import numpy as np
import structlog
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from txassist.assist.answer import plain_scores, polarity, response_body, sentiment_out
from txassist.assist.parts import PartRunner
from txassist.assist.ports import (
    Embedder,
    Knowledge,
    ReplyDrafting,
    RollingSummaries,
    SearchResult,
    Sentiment,
    SignalExtraction,
    SignalRecording,
    SuggestionStore,
    TrendFunction,
    Vector,
)
from txassist.assist.replay import replay, request_hash
from txassist.assist.schemas import ALL_FEATURES, TurnRequest, TurnResponse
from txassist.config import Settings
from txassist.conversations.context import build_context
from txassist.conversations.identity import IdentityResolver, Resolution
from txassist.conversations.records import ConversationRecord, TurnRecord
from txassist.conversations.repository import ConversationRepository
from txassist.conversations.schemas import CustomerContext
from txassist.conversations.turns import (
    TurnFindings,
    apply_turn,
    aware,
    fallback_summary,
    new_conversation,
    new_turn,
)
from txassist.db.models import Signal
from txassist.drafting.followup import FollowupDrafts, FollowupOut
from txassist.drafting.guidance import GuidanceFinder, GuidanceOut
from txassist.drafting.inputs import ReplyInputs
from txassist.drafting.replying import Draft
from txassist.drafting.schemas import SuggestionOut
from txassist.embedding.multilingual import MultilingualEncoder
from txassist.errors import Conflict, InvalidInput
from txassist.intent import IntentDetector
from txassist.intent.reader import EMBED_CHARS, Embed, IntentReader
from txassist.intent.schemas import Intents
from txassist.knowledge.schemas import KnowledgeHit, SearchHitOut
from txassist.replies.service import LearnedReplyLibrary, LearnedReplyMatch
from txassist.sentiment.schemas import SentimentResult
from txassist.sentiment.service import uses_english_head
from txassist.sentiment.trend import SentimentTrend
from txassist.signals.schemas import SignalOut
from txassist.text.language import Language, LanguageDetector
from txassist.text.normalize import normalize_text

log = structlog.get_logger("txassist.assist")

HISTORY_TURNS = 20  # what the trend, the rolling summary and the draft look back over
PLAN_FETCH_K = 8  # chunks the reply plan's own search reads (an article's key section may rank below its intro)
MODELLED = frozenset({"sentiment", "knowledge", "signals"})  # the features that read the text's vector


class TurnServices(msgspec.Struct, kw_only=True):
    """The capabilities a turn uses, built once (``Services.turns``); unit tests pass fakes."""

    settings: Settings
    embeddings: Embedder
    sentiment: Sentiment
    knowledge: Knowledge
    drafter: ReplyDrafting
    suggestions: SuggestionStore
    summaries: RollingSummaries
    signals: SignalExtraction
    signal_store: SignalRecording
    trend: TrendFunction
    replies: LearnedReplyLibrary  # agents' proven replies (off: ``TXASSIST_LEARNED_REPLIES``)
    # Language routing and intents. ``intents`` becomes None when its models fail to load (readiness
    # says so); all three are None in unit tests with fakes. Without them a turn takes the English path.
    language: LanguageDetector | None = None
    multilingual: MultilingualEncoder | None = None
    intents: IntentDetector | None = None
    part_timeout_s: float = 5.0
    write_lock: asyncio.Lock | None = None  # SQLite: one turn at a time in the write phase
    followups: FollowupDrafts | None = None  # a slow LLM's reply to the turn, after it (over SSE)
    guidance: GuidanceFinder | None = None  # the flow the conversation is in (procedures in the KB)


@dataclass
class _Turn:
    """One turn as it moves through the steps: what the request said and what was read for it."""

    conversation_id: str
    request: TurnRequest
    text: str  # normalised once: every rule, model and the redaction after this sees the same text
    features: frozenset[str]
    turn_key: str
    request_hash: str
    conversation: ConversationRecord | None  # None: the first turn creates it
    resolution: Resolution
    history: list[TurnRecord]
    occurred_at: datetime
    started: float
    run: PartRunner

    @property
    def customer_spoke(self) -> bool:
        return self.request.speaker == "customer"

    @property
    def wants_context(self) -> bool:
        """The customer's context goes in the answer when asked for, and on a conversation's first turn."""
        return "context" in self.features or self.conversation is None or self.conversation.turn_count == 0

    def wants(self, feature: str) -> bool:
        """A model part runs only on a customer's turn that asked for it."""
        return self.customer_spoke and feature in self.features


@dataclass
class _Judgement:
    """What the models said about the turn's text (each None where its part did not run or failed)."""

    vector: Vector | None = None
    language: Language | None = None
    intents: Intents | None = None
    label: SentimentResult | None = None
    trend: SentimentTrend | None = None
    search: SearchResult | None = None
    context: CustomerContext | None = None

    @property
    def hits(self) -> list[KnowledgeHit]:
        return list(self.search.hits) if self.search is not None else []


@dataclass
class _Offer:
    """What the agent is offered, computed before the write phase so no model call holds a lock."""

    draft: Draft | None = None
    learned: LearnedReplyMatch | None = None
    guidance: GuidanceOut | None = None
    signals: list[SignalOut] = field(default_factory=list)
    duplicates: Mapping[str, Signal] = field(default_factory=dict)  # stored signals they merge into, by key


class TurnPipeline:
    def __init__(self, services: TurnServices, session: AsyncSession) -> None:
        self.services = services
        self.settings = services.settings
        self.session = session
        self.repo = ConversationRepository(session)
        self.identities = IdentityResolver(self.repo, self.settings.pseudonym_secret)

    async def handle(self, conversation_id: str, request: TurnRequest) -> dict[str, object]:
        """The turn's answer as stored (a replay of the same turn returns it unchanged)."""
        text = normalize_text(request.text).strip()
        if not text:
            raise InvalidInput("text must not be empty")
        if len(text) > self.settings.max_text_chars:
            raise InvalidInput(f"text is longer than {self.settings.max_text_chars} characters")
        features = frozenset(request.features if request.features is not None else ALL_FEATURES)
        turn_key = request.turn_id or uuid.uuid4().hex
        fingerprint = request_hash(request, text, features)
        for attempt in range(2):
            try:
                return await self._run(conversation_id, request, text, features, turn_key, fingerprint)
            except IntegrityError:
                # A concurrent request stored this turn (or created this customer or conversation)
                # first. Start over on a clean transaction: the retry replays the stored turn.
                await self.repo.rollback()
                if attempt == 1:
                    raise Conflict("a concurrent request changed this conversation; retry") from None
        raise AssertionError("unreachable")

    async def _run(
        self,
        conversation_id: str,
        request: TurnRequest,
        text: str,
        features: frozenset[str],
        turn_key: str,
        fingerprint: str,
    ) -> dict[str, object]:
        started = time.perf_counter()
        # 1. Read.
        if request.turn_id is not None:
            # Only a caller-chosen turn id can be a retry; a generated one is new by construction.
            existing = await self.repo.stored_response(conversation_id, turn_key)
            if existing is not None:
                return replay(existing, fingerprint)
        conversation = await self.repo.conversation_for_turn(conversation_id)
        resolution = await self.identities.resolve(
            request.customer_id, request.identity, conversation.customer_id if conversation else None
        )
        if conversation is not None and conversation.customer_id != resolution.customer_id:
            raise Conflict(f"conversation {conversation_id!r} belongs to another customer")
        turn = _Turn(
            conversation_id=conversation_id,
            request=request,
            text=text,
            features=features,
            turn_key=turn_key,
            request_hash=fingerprint,
            conversation=conversation,
            resolution=resolution,
            history=await self.repo.last_turns(conversation_id, HISTORY_TURNS) if conversation else [],
            occurred_at=aware(request.timestamp) if request.timestamp else datetime.now(UTC),
            started=started,
            run=PartRunner(self.services.part_timeout_s),
        )

        # 2. Judge the text.
        judged = await self._judge(turn)

        # 3. The conversation after this turn (in memory until the write).
        label = judged.label
        row = new_turn(
            conversation_id,
            turn_key,
            fingerprint,
            speaker=request.speaker,
            channel=request.channel,
            text=text,
            occurred_at=turn.occurred_at,
            sentiment=(label.label, float(label.score), plain_scores(label.scores)) if label else None,
        )
        views = [*turn.history, row]
        record = conversation or new_conversation(
            conversation_id, resolution.customer_id, request.channel, turn.occurred_at
        )
        summary = await turn.run(
            "summary", lambda: anyio.to_thread.run_sync(self._rolling_summary, views, abandon_on_cancel=True)
        )
        apply_turn(
            record,
            row,
            TurnFindings(
                sentiment=label.label if label else None,
                trend=judged.trend.value if judged.trend else None,
                escalation=bool(judged.trend.escalation) if judged.trend else False,
                topics=[(hit.document_id, hit.title) for hit in judged.hits],
                summary=summary if summary is not None else fallback_summary(views),
            ),
        )

        # 4. What the agent is offered.
        offer = await self._offer(turn, judged, record, row, views)

        # 5. Write, then hand a slow LLM the turn (its reply follows over SSE).
        body = await self._write(turn, judged, offer, record, row)
        followups = self.services.followups
        if followups is not None and followups.wanted():
            if offer.draft is not None:
                followups.start(turn.conversation_id, turn.turn_key, offer.draft, views)
            elif turn.request.speaker == "agent":
                followups.prefill(turn.conversation_id, views)
        return body

    # --- 2. judge -------------------------------------------------------------------------------

    async def _judge(self, turn: _Turn) -> _Judgement:
        services, run, text = self.services, turn.run, turn.text
        judged = _Judgement()
        # The context is read while the text is embedded: a database round trip beside the model call.
        # (The signals read it too: repeat contact looks at the customer's recent conversations.)
        context = asyncio.ensure_future(
            run.read("context", self._context(turn) if turn.wants_context or turn.wants("signals") else None)
        )
        if not (turn.customer_spoke and turn.features & MODELLED):
            judged.context = await context
            return judged
        judged.language = self._language(text)
        embeddings = services.embeddings
        # The model reads its first 256 word pieces; tokenising the rest of a long text is waste.
        judged.vector = await run("embedding", lambda: embeddings.encode_one(text[:EMBED_CHARS]))
        e5 = await self._multilingual_vector(turn, judged.language)
        vectors = None if judged.vector is None else np.asarray(judged.vector, dtype=np.float32).reshape(1, -1)
        if turn.customer_spoke and turn.features & {"sentiment", "signals"}:
            judged.intents = await run.maybe("intents", self._intents(text, vectors, e5, judged.language))
        sentiment = services.sentiment
        languages = [judged.language] if judged.language is not None else None
        knowledge = services.knowledge
        # An unsure guess is left to the search, which routes it but stems the words as English.
        code = judged.language.code if judged.language is not None and judged.language.reliable else None
        e5_row = None if e5 is None else np.asarray(e5, dtype=np.float32).reshape(-1)
        labels, judged.search, judged.context = await asyncio.gather(
            run.maybe(
                "sentiment",
                (lambda: sentiment.classify([text], vectors, languages=languages, multilingual_vectors=e5))
                if turn.wants("sentiment")
                else None,
            ),
            run.maybe(
                "knowledge",
                (
                    lambda: knowledge.search(
                        text, k=turn.request.k, vector=judged.vector, language=code, multilingual_vector=e5_row
                    )
                )
                if turn.wants("knowledge")
                else None,
            ),
            context,
        )
        judged.label = labels[0] if labels else None
        # A part of its own: a broken or slow trend must not cost the turn its sentiment label.
        judged.trend = await run.maybe("trend", self._trend(turn, judged), timing="sentiment")
        return judged

    def _context(self, turn: _Turn) -> Callable[[], Awaitable[CustomerContext]]:
        return lambda: build_context(
            self.repo,
            self.settings,
            turn.resolution.customer_id,
            exclude_conversation_id=turn.conversation_id,
            pending_matches=turn.resolution.matches,
        )

    def _language(self, text: str) -> Language | None:
        detector = self.services.language
        if detector is None:
            return None
        try:
            return detector.detect(text)
        except Exception:  # without a language the turn still answers, on the English path
            log.warning("language_detection_failed", exc_info=True)
            return None

    async def _multilingual_vector(self, turn: _Turn, language: Language | None) -> Vector | None:
        """The e5 vector, once per non-English turn, off the loop: sentiment, intents and search read it."""
        encoder = self.services.multilingual
        if encoder is None or language is None or uses_english_head(language, turn.text):
            return None
        text = turn.text[:EMBED_CHARS]
        return await turn.run(
            "embedding", lambda: anyio.to_thread.run_sync(encoder.queries, [text], abandon_on_cancel=True)
        )

    def _intents(
        self, text: str, vectors: Vector | None, e5: Vector | None, language: Language | None
    ) -> Callable[[], Awaitable[Intents]] | None:
        detector = self.services.intents
        if detector is None or (vectors is None and e5 is None):
            return None
        multilingual = self.services.multilingual
        reader = IntentReader(
            detector=detector,
            language=self._language,
            minilm=self.services.embeddings.encode_one,
            e5=None if multilingual is None else _off_loop(multilingual),
        )
        return lambda: reader.read(text, language=language, minilm=vectors, e5=e5)

    def _trend(self, turn: _Turn, judged: _Judgement) -> Callable[[], Awaitable[SentimentTrend]] | None:
        label = judged.label
        if label is None:
            return None
        trend, text, intents = self.services.trend, turn.text, judged.intents
        scores = [t.sentiment_scores for t in turn.history if t.speaker == "customer" and t.sentiment_scores]

        def work() -> SentimentTrend:
            # The escalation flag reads the same intents as the churn signals.
            return trend(scores, label, text, intents=intents)

        return lambda: anyio.to_thread.run_sync(work, abandon_on_cancel=True)

    # --- 3. the conversation ------------------------------------------------------------------------

    def _rolling_summary(self, views: list[TurnRecord]) -> str:
        try:
            return self.services.summaries.rolling_summary(views)
        except Exception:
            log.warning("rolling_summary_failed", exc_info=True)
            return fallback_summary(views)

    # --- 4. the offer -------------------------------------------------------------------------------

    async def _offer(
        self, turn: _Turn, judged: _Judgement, record: ConversationRecord, row: TurnRecord, views: list[TurnRecord]
    ) -> _Offer:
        run, offer = turn.run, _Offer()
        if turn.wants("draft"):
            offer.draft = await run("draft", lambda: self._draft(views, judged))
        guidance = self.services.guidance
        if turn.wants("knowledge") and guidance is not None:
            offer.guidance = await run("guidance", lambda: guidance.find(views))
        if turn.wants("signals"):
            found = await run("signals", lambda: self._find_signals(turn, judged, record, row))
            if found:
                # The stored signals these merge into: a read, so outside the part's time limit.
                store = self.services.signal_store
                duplicates = await run.read(
                    "signals", lambda: store.stored_duplicates(self.session, record.id, list(found))
                )
                offer.signals = list(found) if duplicates is not None else []
                offer.duplicates = dict(duplicates or {})
        replies = self.services.replies
        vector = judged.vector
        if turn.wants("draft") and vector is not None and replies.enabled:
            offer.learned = await run.read("draft", lambda: replies.match(self.session, vector))
        return offer

    async def _draft(self, views: list[TurnRecord], judged: _Judgement) -> Draft:
        knowledge = self.services.knowledge

        async def retrieve(query: str) -> list[KnowledgeHit]:
            # The reply plan's search for the article its act needs (e.g. the retention offers).
            return list((await knowledge.search(query, k=PLAN_FETCH_K)).hits)

        search = judged.search
        inputs = ReplyInputs(
            turns=views,
            passages=judged.hits,
            channel=views[-1].channel,
            sentiment=judged.label.label if judged.label else None,
            # The plan reads the same intents as escalation and the churn signals.
            intents=judged.intents,
            language=judged.language.code if judged.language is not None else None,
            best_score=search.best_dense_score if search is not None else None,
        )
        return await self.services.drafter.draft(inputs, allow_slow=False, retrieve=retrieve)

    async def _find_signals(
        self, turn: _Turn, judged: _Judgement, record: ConversationRecord, row: TurnRecord
    ) -> list[SignalOut]:
        course = [polarity(t.sentiment_scores) for t in turn.history if t.sentiment_scores]
        if judged.label is not None:
            course.append(polarity(judged.label.scores))
        # Repeat contact counts only within its own window, shorter than the context's.
        window_start = datetime.now(UTC) - timedelta(days=self.settings.repeat_contact_window_days)
        recent = judged.context.conversations if judged.context else []
        recent_topics = [
            issue for conv in recent if aware(conv.updated_at) >= window_start for issue in conv.open_issues
        ]
        search = judged.search
        found = await self.services.signals.extract_for_turn(
            conversation=record,
            turn=row,
            vector=judged.vector,
            hits=judged.hits,
            best_dense_score=search.best_dense_score if search else None,
            sentiment_history=course,
            customer_recent_topics=recent_topics,
            intents=judged.intents,
        )
        return list(found)

    # --- 5. write -----------------------------------------------------------------------------------

    async def _write(
        self, turn: _Turn, judged: _Judgement, offer: _Offer, record: ConversationRecord, row: TurnRecord
    ) -> dict[str, object]:
        """Stores the turn with everything it found, and commits.

        The one commit a request makes itself, for two reasons: the outbox events of the turn's signals
        must be written in the same transaction as the turn, and on SQLite the write lock is held only
        for these statements (the autocommit handler would commit after the response is encoded).
        """
        async with self.services.write_lock or contextlib.nullcontext():
            store_started = time.perf_counter()
            await self.identities.store(turn.resolution)
            if turn.conversation is None:
                await self.repo.insert_conversation(record)
            row.seq = await self.repo.bump_conversation(record)
            suggestions: list[SuggestionOut] = []
            if offer.draft is not None:
                made = self.services.suggestions.store(
                    self.session, offer.draft, conversation_id=turn.conversation_id, turn_key=turn.turn_key
                )
                suggestions.append(made)
            if offer.learned is not None:
                # A reply agents accepted for this question before ranks first, beside the grounded one.
                await self.services.replies.record(self.session, offer.learned.reply_id, "offered")
                made = self.services.suggestions.store_learned(
                    self.session, offer.learned, conversation_id=turn.conversation_id, turn_key=turn.turn_key
                )
                suggestions.insert(0, made)
            signals: list[SignalOut] = []
            if offer.signals:
                # No savepoint: a duplicate stored meanwhile by a concurrent turn of this conversation fails
                # the transaction with an IntegrityError, and ``handle`` runs the turn again.
                signals = await self.services.signal_store.record(
                    self.session, offer.signals, conversation=record, turn=row, duplicates=offer.duplicates
                )
            turn.run.timings["store"] = (time.perf_counter() - store_started) * 1000
            # Timed up to here: the stored answer is the one every retry gets, byte for byte.
            body = response_body(
                TurnResponse(
                    turn_id=turn.turn_key,
                    conversation_id=turn.conversation_id,
                    sentiment=sentiment_out(judged.label, judged.trend),
                    knowledge=[SearchHitOut.of(hit) for hit in judged.hits],
                    suggestions=suggestions,
                    signals=signals,
                    context=judged.context if turn.wants_context else None,
                    language=judged.language.code if judged.language is not None else None,
                    intents=judged.intents,
                    timings_ms=turn.run.timings_ms(turn.started),
                    degraded=turn.run.degraded,
                    guidance=offer.guidance,
                    followup=self._followup(turn, offer),
                )
            )
            await self.repo.insert_turn(row, body)
            await self.repo.commit()
            if turn.request.speaker == "agent" and turn.conversation is not None:
                await self._learn_from_agent(turn.conversation_id, turn.text)
        return body

    def _followup(self, turn: _Turn, offer: _Offer) -> FollowupOut | None:
        followups = self.services.followups
        if offer.draft is None or followups is None or not followups.wanted():
            return None
        return followups.describe(turn.conversation_id, turn.turn_key)

    async def _learn_from_agent(self, conversation_id: str, text: str) -> None:
        # After the turn's commit, in a transaction of its own (committed here, so a failure is rolled
        # back alone): the agent's turn is stored whatever happens to this side effect.
        try:
            await self.services.replies.learn_from_agent_turn(self.session, conversation_id=conversation_id, text=text)
            await self.repo.commit()
        except Exception:
            await self.repo.rollback()
            log.warning("learned_reply_failed", exc_info=True)


def _off_loop(encoder: MultilingualEncoder) -> Embed:
    """e5 query embedding in a worker thread: a model call must not hold the event loop."""

    async def queries(text: str) -> Vector:
        rows = await anyio.to_thread.run_sync(encoder.queries, [text], abandon_on_cancel=True)
        row: Vector = rows[0]
        return row

    return queries
