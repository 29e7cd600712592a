"""Serving objects built once at start-up and kept on ``app.state.services`` (as vLLM does).

Each capability adds its object here; HTTP handlers receive them through dependency injection.
"""

from __future__ import annotations

import asyncio
import time

import anyio.to_thread
import structlog
from advanced_alchemy.extensions.litestar import SQLAlchemyAsyncConfig

from txassist.assist.pipeline import TurnServices
from txassist.config import Settings
from txassist.db import migrate
from txassist.db.engine import is_sqlite
from txassist.drafting.closing import ConversationCloser
from txassist.drafting.feedback import FeedbackService
from txassist.drafting.followup import FollowupDrafts
from txassist.drafting.generation import Generators, SignalJson
from txassist.drafting.guidance import GuidanceFinder
from txassist.drafting.prompts import PromptLibrary
from txassist.drafting.replying import ReplyDrafter
from txassist.drafting.suggestions import SuggestionService
from txassist.drafting.summarizer import SummaryService
from txassist.embedding import EmbeddingBatcher, TextEncoder
from txassist.embedding.multilingual import MultilingualEncoder
from txassist.health.readiness import Readiness
from txassist.intent import IntentDetector
from txassist.knowledge.service import KnowledgeService
from txassist.outbox.forwarder import SignalForwarder
from txassist.privacy.retention import RetentionJob
from txassist.replies.service import LearnedReplyLibrary
from txassist.sentiment.service import SentimentService
from txassist.sentiment.trend import conversation_trend
from txassist.signals.extraction import SignalExtractor
from txassist.signals.reporting import SignalReports
from txassist.signals.store import SignalStore
from txassist.text.language import LanguageDetector

log = structlog.get_logger("txassist.services")


class Services:
    # A plain class, not a dataclass: Litestar would try to validate a dataclass injected as a dependency.
    def __init__(
        self,
        settings: Settings,
        db: SQLAlchemyAsyncConfig,
        encoder: TextEncoder,
        embeddings: EmbeddingBatcher,
    ) -> None:
        self.settings = settings
        self.db = db
        self.encoder = encoder
        self.embeddings = embeddings
        self.readiness = Readiness()
        self.started_at = time.time()
        self.knowledge = KnowledgeService(settings, encoder, embeddings, self.readiness)
        # Drafting, one service per job, all reaching a model through the same ``Generators``.
        prompts = PromptLibrary(settings.prompts_dir)
        self.generators = Generators(settings)
        self.drafter = ReplyDrafter.create(prompts, self.generators)
        self.suggestions = SuggestionService(self.drafter, self.knowledge, db.get_session)
        self.followups = FollowupDrafts(self.drafter, self.suggestions, db.get_session)
        self.summaries = SummaryService(prompts, self.generators)
        # Close-time extraction asks the drafting LLM for JSON when one is configured.
        self.signals = SignalExtractor(settings, encoder, embeddings, generator=SignalJson(self.generators, prompts))
        self.signal_store = SignalStore()
        self.signal_reports = SignalReports(settings, db.get_session)
        self.forwarder: SignalForwarder | None = (
            SignalForwarder(settings, db.get_session) if settings.tx_store_url else None
        )
        self.replies = LearnedReplyLibrary(
            embed=embeddings.encode_one,
            enabled=settings.learned_replies,
            min_similarity=settings.learned_reply_min_similarity,
        )
        self.feedback = FeedbackService(self.replies)
        # Language routing: non-English turns take the e5 vector (one model per process, shared).
        self.language = LanguageDetector()
        self.multilingual = MultilingualEncoder(threads=1)
        # None once its models fail to load: turns then run without intents (readiness says so).
        self.intents: IntentDetector | None = IntentDetector(multilingual=self.multilingual)
        self.sentiment = SentimentService(settings, embeddings, language=self.language, multilingual=self.multilingual)
        self.retention = RetentionJob.from_settings(settings, db)
        # SQLite has one writer: this process's turns queue here for their short write phase instead of
        # sleeping in SQLite's busy handler, whose back-off stretched the p99 at 16 clients to seconds.
        self.turn_write_lock = asyncio.Lock() if is_sqlite(settings.resolved_database_url) else None
        # What the turn pipeline uses, built once; unit tests build a ``TurnServices`` of fakes instead.
        self.turns = TurnServices(
            settings=settings,
            embeddings=embeddings,
            sentiment=self.sentiment,
            knowledge=self.knowledge,
            language=self.language,
            multilingual=self.multilingual,
            intents=self.intents,
            replies=self.replies,
            drafter=self.drafter,
            suggestions=self.suggestions,
            summaries=self.summaries,
            followups=self.followups,
            guidance=GuidanceFinder(self.knowledge),
            signals=self.signals,
            signal_store=self.signal_store,
            trend=conversation_trend,
            part_timeout_s=settings.turn_part_timeout_s,
            write_lock=self.turn_write_lock,
        )
        self.closer = ConversationCloser(
            self.summaries, self.generators, self.signals, self.signal_store, db.get_session
        )

    @classmethod
    def create(cls, settings: Settings, db: SQLAlchemyAsyncConfig) -> Services:
        encoder = TextEncoder.from_settings(settings, serving=True)
        embeddings = EmbeddingBatcher(
            encoder, max_batch=settings.batch_max_size, max_wait_ms=settings.batch_max_wait_ms
        )
        return cls(settings=settings, db=db, encoder=encoder, embeddings=embeddings)

    async def start(self) -> None:
        settings = self.settings
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        self.readiness.set("database", "starting")
        self.readiness.set("embedding_model", "starting")
        if settings.migrate_on_start:
            await anyio.to_thread.run_sync(migrate.upgrade, settings.resolved_database_url)
        self.readiness.set("database", "ok")
        await anyio.to_thread.run_sync(self.encoder.warm_up)
        await self.embeddings.start()
        self.readiness.set("embedding_model", "ok", self.encoder.model_path)
        await self.knowledge.start()
        await self._start_signals()
        await self._start_judgement()
        await self._start_sentiment()
        self.retention.start()
        await self._start_drafting()
        log.info("services_started", ready=self.readiness.ready)

    async def _start_sentiment(self) -> None:
        self.readiness.set("sentiment_model", "starting")
        try:
            await self.sentiment.start()
        except Exception as exc:  # a bad model path must say so in readiness, not crash the service
            log.error("sentiment_model_failed", path=str(self.sentiment.path), error=repr(exc))
            self.readiness.set("sentiment_model", "failed", f"{type(exc).__name__}: {exc}")
        else:
            self.readiness.set("sentiment_model", "ok", self.sentiment.model_name)

    async def _start_judgement(self) -> None:
        """Language detector, e5 and the intent heads; a failure degrades to the English path."""
        detector = self.intents
        if detector is None:
            return
        self.readiness.set("intent_model", "starting", required=False)
        try:
            await anyio.to_thread.run_sync(self.language.warm_up)
            await anyio.to_thread.run_sync(self.multilingual.warm_up)
            await anyio.to_thread.run_sync(detector.warm_up)
        except Exception as exc:
            log.error("intent_model_failed", error=repr(exc))
            self.readiness.set("intent_model", "degraded", f"{type(exc).__name__}: {exc}", required=False)
            self.intents = self.turns.intents = None
        else:
            self.readiness.set("intent_model", "ok", str(detector.model_dir), required=False)

    async def _start_drafting(self) -> None:
        # Not required for readiness: drafts fall back to the extractive backend when an LLM is missing.
        try:
            await self.drafter.warm_up()
            await self.generators.start()
        except Exception as exc:
            log.error("drafting_backend_failed", backend=self.settings.llm_backend, error=repr(exc))
            self.readiness.set("drafting", "degraded", f"{type(exc).__name__}: {exc}", required=False)
        else:
            self.readiness.set("drafting", "ok", self.settings.llm_backend, required=False)

    async def _start_signals(self) -> None:
        self.readiness.set("signals", "starting")
        await self.signals.start()
        self.readiness.set("signals", "ok", f"taxonomy areas: {len(self.signals.taxonomy.areas)}")
        if self.forwarder is not None:
            await self.forwarder.start()
            self.readiness.set("tx_store_forwarder", "ok", self.settings.tx_store_url, required=False)

    async def stop(self) -> None:
        await self.knowledge.stop()
        if self.forwarder is not None:
            await self.forwarder.stop()
        await self.followups.stop()
        await self.generators.stop()
        await self.retention.stop()
        await self.embeddings.stop()
