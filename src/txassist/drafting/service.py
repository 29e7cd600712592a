"""``DraftingService``: suggested replies and summaries, with a clean fallback to ``extractive``.

Drafts are grounded: the extractive backend only quotes retrieved passages, and an LLM answer is
kept only when its citations name retrieved passages and it makes no offer that no passage supports.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

import anyio.to_thread
import msgspec
import structlog
from rapidfuzz.distance import Levenshtein
from sqlalchemy.ext.asyncio import AsyncSession

from txassist.config import REPO_ROOT, Settings
from txassist.conversations.views import TurnView
from txassist.drafting import metrics, summaries
from txassist.drafting.backends.base import BackendError, GenerationBackend
from txassist.drafting.backends.extractive import ExtractiveDrafter, channel_style
from txassist.drafting.backends.local import LocalLlamaBackend, local_llm_available, resolve_model_path
from txassist.drafting.backends.openai import OpenAIBackend
from txassist.drafting.backends.planned import PlannedDrafter
from txassist.drafting.grounding import Passage, overlap_citations, resolve_markers, ungrounded_offers
from txassist.drafting.planning import IntentsLike, ReplyPlan, ReplyPlanner, without_instructions
from txassist.drafting.prompts import PromptLibrary
from txassist.drafting.repository import DraftingRepository
from txassist.drafting.schemas import (
    AfterContactSummary,
    BackendName,
    Citation,
    FeedbackAction,
    FeedbackOut,
    StatsOut,
    StatsRow,
    SuggestionOut,
    SummaryKind,
    SummaryOut,
)
from txassist.drafting.text import strip_urls, voice_sentences
from txassist.errors import Conflict, InvalidInput, NotFound
from txassist.privacy.redaction import redact
from txassist.replies.service import LearnedReplyLibrary, LearnedReplyMatch
from txassist.text.language import LanguageDetector

LEARNED_BACKEND = "learned"  # a learned reply is offered as it was sent: no backend wrote it
LEARNED_VERSION = "learned.v1"
log = structlog.get_logger("txassist.drafting")

DEFAULT_DRAFT_TOKENS = 200

# A knowledge search the plan may run for the article its act needs (query -> passages).
Retriever = Callable[[str], Awaitable[Sequence[Passage]]]
DEFAULT_SUMMARY_TOKENS = 300


@dataclass(frozen=True)
class Draft:
    text: str
    citations: list[Citation]
    backend: str
    prompt_version: str
    latency_ms: float
    fallback: str | None
    act: str | None = None
    source: str = "grounded"  # grounded: quoted from the KB by the plan's templates; llm: a model wrote it
    plan: ReplyPlan | None = None


@dataclass(frozen=True)
class AfterContactResult:
    summary: AfterContactSummary
    backend: str
    prompt_version: str
    latency_ms: float
    fallback: str | None


def last_customer_text(turns: Sequence[TurnView], count: int = 2) -> str:
    customer = [t.text for t in turns if t.speaker == "customer"]
    return " ".join(customer[-count:])


class DraftingService:
    def __init__(
        self,
        settings: Settings,
        *,
        prompts: PromptLibrary | None = None,
        backends: dict[str, GenerationBackend] | None = None,
        replies: LearnedReplyLibrary | None = None,
    ) -> None:
        self.settings = settings
        self.replies = replies
        self.prompts = prompts or PromptLibrary(settings.prompts_dir)
        self.extractive = ExtractiveDrafter()
        self.planner = ReplyPlanner(settings.prompts_dir)
        self.planned = PlannedDrafter(settings.prompts_dir)
        self._languages = LanguageDetector()
        self._backends: dict[str, GenerationBackend] = dict(backends or {})
        self._redact = redact

    @classmethod
    def create(cls, settings: Settings, *, replies: LearnedReplyLibrary | None = None) -> DraftingService:
        return cls(settings, replies=replies)

    # --- backends -----------------------------------------------------------------------------

    @property
    def default_backend(self) -> str:
        return self.settings.llm_backend

    def available_backends(self) -> list[str]:
        names = ["extractive", "openai"]
        if "local" in self._backends or local_llm_available():
            names.append("local")
        return names

    def _backend(self, name: str) -> GenerationBackend:
        if name in self._backends:
            return self._backends[name]
        backend: GenerationBackend
        if name == "openai":
            backend = OpenAIBackend(
                base_url=self.settings.openai_base_url,
                model=self.settings.openai_model,
                api_key=self.settings.openai_api_key,
                timeout_s=self.settings.llm_timeout_s,
                max_retries=self.settings.llm_max_retries,
            )
        elif name == "local":
            if not local_llm_available():
                raise BackendError("local: xllamacpp is not installed (pip install 'txassist[local-llm]')")
            path = resolve_model_path(self.settings.local_model_path, self.settings.data_dir, REPO_ROOT / "models")
            backend = LocalLlamaBackend(path)
        else:
            raise BackendError(f"unknown backend {name!r}")
        self._backends[name] = backend
        return backend

    def _is_fast(self, name: str) -> bool:
        if name == "extractive":
            return True
        existing = self._backends.get(name)
        return bool(existing is not None and existing.is_fast)

    async def start(self) -> None:
        await anyio.to_thread.run_sync(self._languages.warm_up)
        if self.default_backend == "local":
            # Loading 1 GB of weights takes seconds: do it before the first request, off the loop.
            backend = await anyio.to_thread.run_sync(self._backend, "local")
            if isinstance(backend, LocalLlamaBackend):
                await anyio.to_thread.run_sync(backend.warm_up)
        elif self.default_backend == "openai":
            self._backend("openai")

    async def stop(self) -> None:
        for backend in self._backends.values():
            await backend.aclose()

    def _choose(self, requested: str | None) -> str:
        name = requested or self.default_backend
        if name not in self.available_backends():
            raise InvalidInput(f"backend {name!r} is not available here; available: {self.available_backends()}")
        return name

    def _generation_deadline_s(self) -> float:
        # Every attempt may take the full timeout; backoff adds at most a few seconds.
        return self.settings.llm_timeout_s * (self.settings.llm_max_retries + 1) + 5.0

    # --- drafts -------------------------------------------------------------------------------

    async def plan_reply(
        self,
        *,
        turns: Sequence[TurnView],
        passages: Sequence[Passage],
        channel: str,
        sentiment: str | None,
        intents: IntentsLike | None = None,
        language: str | None = None,
        best_score: float | None = None,
        retrieve: Retriever | None = None,
    ) -> tuple[ReplyPlan, list[Passage]]:
        """The reply's plan and the passages it may use (the turn's hits plus the act's own article)."""
        if intents is None and language is None:
            language = self._detect_language(last_customer_text(turns, 1))
        plan = self.planner.plan(
            turns=turns,
            passages=passages,
            channel=channel,
            sentiment=sentiment,
            intents=intents,
            language=language,
            best_score=best_score,
        )
        pool = list(passages)
        if plan.fetch and retrieve is not None:
            try:
                fetched = list(await retrieve(plan.fetch))
            except Exception:  # the turn's own hits still make a reply
                log.warning("plan_fetch_failed", act=plan.act, exc_info=True)
                fetched = []
            plan = self.planner.with_fetched(plan, fetched)
            known = {p.document_id for p in pool}
            pool.extend(p for p in fetched if p.document_id in plan.citable and p.document_id not in known)
        return plan, pool

    def _detect_language(self, text: str) -> str | None:
        # Only when the caller has no intents or language of its own (the intent detector sets both).
        if not text.strip():
            return None
        try:
            found = self._languages.detect(text)
        except Exception:  # the plan falls back to English templates
            log.warning("language_detection_failed", exc_info=True)
            return None
        return found.code if found.reliable else None

    def _extractive_draft(
        self,
        turns: Sequence[TurnView],
        passages: Sequence[Passage],
        plan: ReplyPlan,
        sentiment: str | None,
        fallback: str | None,
        started: float,
    ) -> Draft:
        query, _ = without_instructions(last_customer_text(turns))
        composed = self.planned.compose(
            plan, query=query, passages=passages, sentiment=sentiment, prefer=self.planner.quote_terms(plan.act)
        )
        return Draft(
            text=composed.text,
            citations=composed.citations,
            backend="extractive",
            prompt_version=composed.prompt_version,
            latency_ms=(time.perf_counter() - started) * 1000,
            fallback=fallback,
            act=plan.act,
            source="grounded",
            plan=plan,
        )

    def _draft_prompt(
        self, turns: Sequence[TurnView], passages: Sequence[Passage], plan: ReplyPlan, sentiment: str | None
    ) -> tuple[str, Any, list[Passage]]:
        # The model sees only the passages the plan allows, so its [n] markers can only cite those.
        allowed = [p for p in passages if p.document_id in plan.citable]
        customer = [t for t in turns if t.speaker == "customer"]
        rendered = self.prompts.render(
            f"draft_reply.{plan.channel}",
            passages=[
                {"n": i + 1, "title": p.title, "url": p.url, "text": p.text[:1500]} for i, p in enumerate(allowed)
            ],
            turns=[{"speaker": t.speaker, "text": t.text[:1000]} for t in turns[-8:-1]],
            last_customer=customer[-1].text[:2000] if customer else "",
            sentiment=sentiment,
            channel=plan.channel,
            plan=msgspec.to_builtins(plan),
        )
        return f"{rendered.version}+{plan.version}", rendered.messages, allowed

    def _ground(self, raw: str, passages: Sequence[Passage], channel: str) -> tuple[str, list[Citation]]:
        """Keep an LLM answer only if it is grounded; raises ``BackendError`` (→ fallback) if not."""
        text, citations = resolve_markers(raw, passages)
        if not citations:
            citations = overlap_citations(text, passages)
        if channel_style(channel) == "voice":
            text = " ".join(voice_sentences(strip_urls(text), 3))
        offers = ungrounded_offers(text, passages)
        if offers:
            raise BackendError(f"model answer offered {', '.join(offers)}, which no retrieved passage supports")
        if not text:
            raise BackendError("model answer was empty")
        return text, citations

    async def draft(
        self,
        *,
        turns: Sequence[TurnView],
        passages: Sequence[Passage],
        channel: str,
        sentiment: str | None,
        backend: str | None = None,
        allow_slow: bool = True,
        max_tokens: int | None = None,
        intents: IntentsLike | None = None,
        language: str | None = None,
        best_score: float | None = None,
        retrieve: Retriever | None = None,
    ) -> Draft:
        started = time.perf_counter()
        name = self._choose(backend)
        plan, pool = await self.plan_reply(
            turns=turns,
            passages=passages,
            channel=channel,
            sentiment=sentiment,
            intents=intents,
            language=language,
            best_score=best_score,
            retrieve=retrieve,
        )
        if name == "extractive":
            return self._extractive_draft(turns, pool, plan, sentiment, None, started)
        if not allow_slow and not self._is_fast(name):
            reason = f"the {name} backend is not awaited in the per-turn call"
            return self._extractive_draft(turns, pool, plan, sentiment, reason, started)
        try:
            generator = self._backend(name)
            version, messages, allowed = self._draft_prompt(turns, pool, plan, sentiment)
            async with asyncio.timeout(self._generation_deadline_s()):
                raw = await generator.generate(messages, max_tokens=max_tokens or DEFAULT_DRAFT_TOKENS)
            text, citations = self._ground(raw, allowed, channel)
        except (BackendError, TimeoutError) as exc:
            reason = exc.reason if isinstance(exc, BackendError) else f"{name}: no answer in time"
            log.warning("draft_fallback", backend=name, reason=reason)
            return self._extractive_draft(turns, pool, plan, sentiment, reason, started)
        return Draft(
            text=text,
            citations=citations,
            backend=name,
            prompt_version=version,
            latency_ms=(time.perf_counter() - started) * 1000,
            fallback=None,
            act=plan.act,
            source="llm",
            plan=plan,
        )

    def store(
        self,
        session: AsyncSession,
        draft: Draft,
        *,
        conversation_id: str,
        turn_key: str | None,
        learned_reply_id: uuid.UUID | None = None,
    ) -> SuggestionOut:
        """Add the draft as a ``Suggestion`` row to the caller's session (written at its next flush)."""
        row = DraftingRepository(session).add_suggestion(
            conversation_id=conversation_id,
            turn_key=turn_key,
            text=draft.text,
            citations=[msgspec.to_builtins(c) for c in draft.citations],
            backend=draft.backend,
            prompt_version=draft.prompt_version,
            latency_ms=draft.latency_ms,
            fallback_reason=draft.fallback,
            learned_reply_id=learned_reply_id,
        )
        metrics.DRAFTS.labels(draft.backend, draft.prompt_version, "yes" if draft.fallback else "no").inc()
        metrics.DRAFT_LATENCY.labels(draft.backend).observe(draft.latency_ms / 1000)
        return SuggestionOut(
            id=str(row.id),
            text=draft.text,
            citations=draft.citations,
            backend=draft.backend,
            prompt_version=draft.prompt_version,
            latency_ms=round(draft.latency_ms, 3),
            fallback=draft.fallback,
            source=draft.source,
            act=draft.act,
        )

    def store_learned(
        self, session: AsyncSession, match: LearnedReplyMatch, *, conversation_id: str, turn_key: str | None
    ) -> SuggestionOut:
        """Add a learned reply offered on this turn as a ``Suggestion`` row; its feedback counts for it."""
        draft = Draft(
            text=match.text,
            citations=[],
            backend=LEARNED_BACKEND,
            prompt_version=LEARNED_VERSION,
            latency_ms=0.0,
            fallback=None,
            source="learned",
        )
        return self.store(
            session, draft, conversation_id=conversation_id, turn_key=turn_key, learned_reply_id=match.reply_id
        )

    async def suggest(
        self,
        session: AsyncSession,
        *,
        conversation_id: str,
        channel: str,
        turns: list[TurnView],
        hits: Sequence[Passage],
        sentiment: str | None,
        turn_key: str | None,
        allow_slow: bool = False,
        backend: BackendName | None = None,
        max_tokens: int | None = None,
        retrieve: Retriever | None = None,
    ) -> SuggestionOut:
        """Draft a reply and store it as a ``Suggestion`` in the caller's session (no commit)."""
        draft = await self.draft(
            turns=turns,
            passages=hits,
            channel=channel,
            sentiment=sentiment,
            backend=backend,
            allow_slow=allow_slow,
            max_tokens=max_tokens,
            retrieve=retrieve,
        )
        return self.store(session, draft, conversation_id=conversation_id, turn_key=turn_key)

    async def stream_suggestion(
        self,
        session: AsyncSession,
        *,
        conversation_id: str,
        channel: str,
        turns: list[TurnView],
        hits: Sequence[Passage],
        sentiment: str | None,
        backend: BackendName | None = None,
        max_tokens: int | None = None,
        retrieve: Retriever | None = None,
    ) -> AsyncIterator[tuple[str, str | SuggestionOut]]:
        """Yields ``("delta", text)`` as the model writes, then ``("suggestion", SuggestionOut)``.

        The final suggestion is the grounded text; if grounding or the backend fails midway, a
        ``("reset", reason)`` event tells the client to discard the deltas before the fallback.
        """
        started = time.perf_counter()
        name = self._choose(backend)
        plan, pool = await self.plan_reply(
            turns=turns, passages=hits, channel=channel, sentiment=sentiment, retrieve=retrieve
        )
        draft: Draft | None = None
        if name != "extractive":
            parts: list[str] = []
            try:
                generator = self._backend(name)
                version, messages, allowed = self._draft_prompt(turns, pool, plan, sentiment)
                async with asyncio.timeout(self._generation_deadline_s()):
                    async for piece in generator.stream(messages, max_tokens=max_tokens or DEFAULT_DRAFT_TOKENS):
                        parts.append(piece)
                        yield ("delta", piece)
                text, citations = self._ground("".join(parts), allowed, channel)
                elapsed = (time.perf_counter() - started) * 1000
                draft = Draft(text, citations, name, version, elapsed, None, plan.act, "llm", plan)
            except (BackendError, TimeoutError) as exc:
                reason = exc.reason if isinstance(exc, BackendError) else f"{name}: no answer in time"
                log.warning("draft_stream_fallback", backend=name, reason=reason)
                if parts:
                    yield ("reset", reason)
                draft = self._extractive_draft(turns, pool, plan, sentiment, reason, started)
                yield ("delta", draft.text)
        if draft is None:
            draft = self._extractive_draft(turns, pool, plan, sentiment, None, started)
            yield ("delta", draft.text)
        yield ("suggestion", self.store(session, draft, conversation_id=conversation_id, turn_key=None))

    # --- summaries ----------------------------------------------------------------------------

    def rolling_summary(self, turns: list[TurnView]) -> str:
        return self._redact(summaries.rolling_summary(turns))

    async def _llm_text(self, name: str, template: str, max_tokens: int, **context: object) -> tuple[str, str]:
        rendered = self.prompts.render(template, **context)
        async with asyncio.timeout(self._generation_deadline_s()):
            text = await self._backend(name).generate(rendered.messages, max_tokens=max_tokens)
        return text.strip(), rendered.version

    async def generate_json(self, text: str, schema: dict[str, Any]) -> Any:
        """Signals in ``text`` as JSON under ``schema`` from the configured LLM (the signal-extraction
        prompt); None when the service drafts extractively and so has no model to ask."""
        name = self.default_backend
        if name == "extractive":
            return None
        rendered = self.prompts.render("signal_extraction", text=text)
        async with asyncio.timeout(self._generation_deadline_s()):
            raw = await self._backend(name).generate(rendered.messages, max_tokens=512, json_schema=schema)
        return msgspec.json.decode(summaries.json_object(raw))

    async def after_contact(self, turns: list[TurnView], *, backend: str | None = None) -> AfterContactResult:
        started = time.perf_counter()
        name = self._choose(backend)
        fallback: str | None = None
        if name != "extractive":
            try:
                rendered = self.prompts.render("after_contact_summary", turns=_turn_context(turns))
                async with asyncio.timeout(self._generation_deadline_s()):
                    raw = await self._backend(name).generate(
                        rendered.messages,
                        max_tokens=DEFAULT_SUMMARY_TOKENS,
                        json_schema=summaries.AFTER_CONTACT_SCHEMA,
                    )
                summary = summaries.parse_after_contact(raw)
                return AfterContactResult(
                    self._redact_summary(summary),
                    name,
                    rendered.version,
                    (time.perf_counter() - started) * 1000,
                    None,
                )
            except (BackendError, TimeoutError, ValueError, msgspec.ValidationError) as exc:
                fallback = _reason(exc, name)
                log.warning("summary_fallback", backend=name, reason=fallback)
        summary = summaries.after_contact(turns)
        return AfterContactResult(
            self._redact_summary(summary),
            "extractive",
            summaries.EXTRACTIVE_VERSION,
            (time.perf_counter() - started) * 1000,
            fallback,
        )

    def _redact_summary(self, summary: AfterContactSummary) -> AfterContactSummary:
        r = self._redact
        return AfterContactSummary(
            issue=r(summary.issue),
            actions_taken=[r(a) for a in summary.actions_taken],
            resolution=r(summary.resolution),
            next_steps=[r(s) for s in summary.next_steps],
            commitments=[msgspec.structs.replace(c, promise=r(c.promise)) for c in summary.commitments],
        )

    async def summarize(
        self,
        turns: list[TurnView],
        *,
        kind: SummaryKind,
        conversation_channel: str,
        backend: str | None = None,
    ) -> SummaryOut:
        if kind == "after_contact":
            result = await self.after_contact(turns, backend=backend)
            metrics.SUMMARY_LATENCY.labels(result.backend, kind).observe(result.latency_ms / 1000)
            return SummaryOut(
                conversation_id="",
                kind=kind,
                text=summaries.render_after_contact(result.summary),
                backend=result.backend,
                prompt_version=result.prompt_version,
                latency_ms=round(result.latency_ms, 3),
                structured=result.summary,
                fallback=result.fallback,
            )
        started = time.perf_counter()
        name = self._choose(backend)
        from_channel, to_channel = _channel_switch(turns, conversation_channel)
        fallback: str | None = None
        text = ""
        version = summaries.EXTRACTIVE_VERSION
        used = "extractive"
        if name != "extractive":
            template = "rolling_summary" if kind == "rolling" else "handoff_summary"
            try:
                text, version = await self._llm_text(
                    name,
                    template,
                    DEFAULT_SUMMARY_TOKENS,
                    turns=_turn_context(turns),
                    from_channel=from_channel,
                    to_channel=to_channel,
                )
                used = name
                if not text:
                    raise BackendError(f"{name}: empty summary")
            except (BackendError, TimeoutError) as exc:
                fallback = _reason(exc, name)
                text, version, used = "", summaries.EXTRACTIVE_VERSION, "extractive"
        if used == "extractive":
            if kind == "rolling":
                text = summaries.rolling_summary(turns)
            else:
                text = summaries.handoff_summary(turns, from_channel=from_channel, to_channel=to_channel)
        latency_ms = (time.perf_counter() - started) * 1000
        metrics.SUMMARY_LATENCY.labels(used, kind).observe(latency_ms / 1000)
        return SummaryOut(
            conversation_id="",
            kind=kind,
            text=self._redact(text),
            backend=used,
            prompt_version=version,
            latency_ms=round(latency_ms, 3),
            fallback=fallback,
        )

    # --- conversation-level operations (used by the HTTP handlers) -----------------------------

    async def conversation_turns(self, session: AsyncSession, conversation_id: str) -> tuple[Any, list[TurnView]]:
        repo = DraftingRepository(session)
        conversation = await repo.get_conversation(conversation_id)
        if conversation is None:
            raise NotFound(f"conversation {conversation_id!r} not found")
        turns = await repo.list_turns(conversation_id)
        if not turns:
            raise Conflict(f"conversation {conversation_id!r} has no turns yet: add a turn first")
        return conversation, turns

    def backend_is_slow(self, requested: str | None) -> bool:
        return not self._is_fast(self._choose(requested))

    async def write_after_contact(
        self, session: AsyncSession, conversation_id: str, *, backend: str | None
    ) -> AfterContactResult:
        conversation, turns = await self.conversation_turns(session, conversation_id)
        result = await self.after_contact(turns, backend=backend)
        conversation.after_contact = {
            **msgspec.to_builtins(result.summary),
            # The rendered text is what the customer's context shows on their next contact.
            "summary": self._redact(summaries.render_after_contact(result.summary)),
            "backend": result.backend,
            "prompt_version": result.prompt_version,
            "fallback": result.fallback,
        }
        return result

    async def close_job(self, sessions: Callable[[], Any], conversation_id: str, backend: str | None) -> None:
        """Write the after-contact summary with a slow backend after the close response has gone."""
        try:
            async with sessions() as session:
                await self.write_after_contact(session, conversation_id, backend=backend)
                await session.commit()
        except Exception:  # a background job has no caller to raise to
            log.exception("after_contact_failed", conversation_id=conversation_id)

    # --- feedback -----------------------------------------------------------------------------

    async def record_feedback(
        self,
        session: AsyncSession,
        suggestion_id: str,
        *,
        action: FeedbackAction,
        text: str | None,
        reason: str | None,
    ) -> FeedbackOut:
        try:
            key = uuid.UUID(suggestion_id)
        except ValueError as exc:
            raise NotFound(f"suggestion {suggestion_id!r} not found") from exc
        repo = DraftingRepository(session)
        suggestion = await repo.get_suggestion(key)
        if suggestion is None:
            raise NotFound(f"suggestion {suggestion_id!r} not found")
        if action == "edited" and not (text and text.strip()):
            raise InvalidInput("action 'edited' needs the final text the agent sent in 'text'")
        distance: int | None = None
        if action == "accepted":
            distance = 0
        elif action == "edited" and text is not None:
            distance = int(Levenshtein.distance(suggestion.text, text))
        # What the agent sent may name the customer: stored redacted, like every learned reply.
        row = repo.add_feedback(
            suggestion_id=key,
            action=action,
            text=redact(text) if text is not None else None,
            reason=redact(reason) if reason is not None else None,
            edit_distance=distance,
        )
        await session.flush()
        if self.replies is not None:
            # What agents accept, or edit and send, becomes this organisation's own reply library.
            await self.replies.learn_from_feedback(
                session,
                conversation_id=suggestion.conversation_id,
                turn_key=suggestion.turn_key,
                suggested=suggestion.text,
                action=action,
                edited=text,
                learned_reply_id=suggestion.learned_reply_id,
            )
        metrics.FEEDBACK.labels(suggestion.backend, suggestion.prompt_version, action).inc()
        if distance is not None:
            metrics.EDIT_DISTANCE.labels(suggestion.backend, suggestion.prompt_version).observe(distance)
        return FeedbackOut(
            id=str(row.id),
            suggestion_id=str(key),
            action=action,
            edit_distance=distance,
            created_at=row.created_at,
        )

    async def stats(self, session: AsyncSession) -> StatsOut:
        repo = DraftingRepository(session)
        counts = await repo.suggestion_counts()
        by_group: dict[tuple[str, str], dict[str, Any]] = {}
        for key, count in counts.items():
            by_group[key] = {"suggestions": count, "accepted": 0, "edited": 0, "rejected": 0, "dist": []}
        for agg in await repo.feedback_aggregates():
            group = by_group.setdefault(
                (agg.backend, agg.prompt_version),
                {"suggestions": 0, "accepted": 0, "edited": 0, "rejected": 0, "dist": []},
            )
            if agg.action in ("accepted", "edited", "rejected"):
                group[agg.action] += agg.count
            if agg.mean_edit_distance is not None:
                group["dist"].append((agg.mean_edit_distance, agg.count))
        items: list[StatsRow] = []
        for (backend, version), g in sorted(by_group.items()):
            feedback = g["accepted"] + g["edited"] + g["rejected"]
            weighted = sum(mean * n for mean, n in g["dist"])
            measured = sum(n for _, n in g["dist"])
            items.append(
                StatsRow(
                    backend=backend,
                    prompt_version=version,
                    suggestions=g["suggestions"],
                    feedback=feedback,
                    accepted=g["accepted"],
                    edited=g["edited"],
                    rejected=g["rejected"],
                    acceptance_rate=round(g["accepted"] / feedback, 4) if feedback else None,
                    mean_edit_distance=round(weighted / measured, 2) if measured else None,
                )
            )
        return StatsOut(items=items)


def _reason(exc: BaseException, name: str) -> str:
    if isinstance(exc, BackendError):
        return exc.reason
    if isinstance(exc, TimeoutError):
        return f"{name}: no answer in time"
    return f"{name}: answer was not valid JSON for the summary schema"


def _turn_context(turns: Sequence[TurnView], limit: int = 40) -> list[dict[str, str]]:
    return [{"speaker": t.speaker, "text": t.text[:1000]} for t in turns[-limit:]]


def _channel_switch(turns: Sequence[TurnView], default: str) -> tuple[str, str]:
    """The channel before the latest switch and the channel after it (the same when none)."""
    for previous, current in zip(reversed(turns[:-1]), reversed(turns), strict=False):
        if previous.channel != current.channel:
            return previous.channel, current.channel
    channel = turns[-1].channel if turns else default
    return channel, channel


async def knowledge_hits(knowledge: Any, turns: Sequence[TurnView], *, k: int = 3) -> list[Passage]:
    """Passages for the customer's last turns from the knowledge service, when one is running."""
    query = last_customer_text(turns)
    if knowledge is None or not query.strip():
        return []
    outcome = await knowledge.search(query[:2000], k=k)
    hits: list[Passage] = list(outcome.hits)
    return hits
