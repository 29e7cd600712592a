"""``ReplyDrafter``: a suggested reply, planned, then written by a model or quoted from the knowledge base.

Drafts are grounded: the extractive backend only quotes retrieved passages, and an LLM answer is kept
only when its citations name retrieved passages and it makes no offer that no passage supports. Every
way a model can fail (error, timeout, ungrounded answer, a slow backend in the per-turn call) ends in
the same place: ``_grounded``, the plan's extractive reply, with the reason in ``fallback``.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass, replace

import anyio.to_thread
import msgspec
import structlog

from txassist.conversations.records import TurnRecord
from txassist.drafting import llm_context
from txassist.drafting.backends.base import BackendError, ChatMessage
from txassist.drafting.backends.extractive import ExtractiveDrafter, channel_style
from txassist.drafting.backends.planned import PlannedDrafter
from txassist.drafting.generation import EXTRACTIVE, Generators, fallback_reason
from txassist.drafting.grounding import (
    echoes,
    has_placeholder,
    only_opens,
    overlap_citations,
    refuses,
    repeats_itself,
    resolve_markers,
    ungrounded_offers,
)
from txassist.drafting.inputs import ReplyInputs
from txassist.drafting.message import letter_body, read_message, without_preamble
from txassist.drafting.planning import ReplyPlan, ReplyPlanner
from txassist.drafting.prompts import PromptLibrary
from txassist.drafting.schemas import Citation
from txassist.drafting.text import strip_urls, voice_sentences
from txassist.knowledge.schemas import KnowledgeHit
from txassist.text.language import LanguageDetector

log = structlog.get_logger("txassist.drafting")

DEFAULT_DRAFT_TOKENS = 200

# A knowledge search the plan may run for the article its act needs (query -> passages).
Retriever = Callable[[str], Awaitable[Sequence[KnowledgeHit]]]


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
    passages: tuple[KnowledgeHit, ...] = ()  # what the plan could quote: an LLM follow-up reuses them


@dataclass(frozen=True)
class _Prompt:
    version: str
    messages: list[ChatMessage]
    allowed: list[KnowledgeHit]  # the passages the model was shown, the only ones it may cite
    channel: str
    customer: str  # the customer's message it answers


# What ``ReplyDrafter.stream`` yields: ("delta", text), ("reset", reason), then ("draft", Draft).
DraftEvent = tuple[str, str] | tuple[str, Draft]


def last_customer_text(turns: Sequence[TurnRecord], count: int = 2) -> str:
    customer = [t.text for t in turns if t.speaker == "customer"]
    return " ".join(customer[-count:])


class ReplyDrafter:
    def __init__(
        self,
        prompts: PromptLibrary,
        generators: Generators,
        planner: ReplyPlanner,
        planned: PlannedDrafter,
        *,
        languages: LanguageDetector | None = None,
    ) -> None:
        self.prompts = prompts
        self.generators = generators
        self.planner = planner
        self.planned = planned
        self.extractive = ExtractiveDrafter()
        self._languages = languages or LanguageDetector()

    @classmethod
    def create(cls, prompts: PromptLibrary, generators: Generators) -> ReplyDrafter:
        directory = prompts.directory
        return cls(prompts, generators, ReplyPlanner(directory), PlannedDrafter(directory))

    async def warm_up(self) -> None:
        await anyio.to_thread.run_sync(self._languages.warm_up)

    async def plan_reply(
        self, inputs: ReplyInputs, *, retrieve: Retriever | None = None
    ) -> tuple[ReplyPlan, list[KnowledgeHit]]:
        """The reply's plan and the passages it may use (the turn's hits plus the act's own article)."""
        if inputs.intents is None and inputs.language is None:
            inputs = replace(inputs, language=self._detect_language(last_customer_text(inputs.turns, 1)))
        plan = self.planner.plan(inputs)
        pool = list(inputs.passages)
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

    async def draft(
        self,
        inputs: ReplyInputs,
        *,
        backend: str | None = None,
        allow_slow: bool = True,
        max_tokens: int | None = None,
        retrieve: Retriever | None = None,
    ) -> Draft:
        started = time.perf_counter()
        name = self.generators.choose(backend)
        plan, pool = await self.plan_reply(inputs, retrieve=retrieve)
        turns, sentiment = inputs.turns, inputs.sentiment
        reason: str | None = None
        if name != EXTRACTIVE and not allow_slow and not self.generators.is_fast(name):
            reason = f"the {name} backend is not awaited in the per-turn call"
        elif name != EXTRACTIVE:
            prompt = self._prompt(turns, pool, plan, sentiment, inputs.channel)
            try:
                raw = await self.generators.generate(
                    name, prompt.messages, max_tokens=max_tokens or DEFAULT_DRAFT_TOKENS
                )
                return self._written(raw, prompt, plan, name, started)
            except (BackendError, TimeoutError) as exc:
                reason = fallback_reason(exc, name)
                log.warning("draft_fallback", backend=name, reason=reason)
        return self._grounded(turns, pool, plan, sentiment, reason, started)

    async def stream(
        self,
        inputs: ReplyInputs,
        *,
        backend: str | None = None,
        max_tokens: int | None = None,
        retrieve: Retriever | None = None,
    ) -> AsyncIterator[DraftEvent]:
        """Yields ``("delta", text)`` as the model writes, then ``("draft", Draft)``.

        The final draft is the grounded text; if grounding or the backend fails midway, a
        ``("reset", reason)`` event tells the client to discard the deltas before the fallback.
        """
        started = time.perf_counter()
        name = self.generators.choose(backend)
        plan, pool = await self.plan_reply(inputs, retrieve=retrieve)
        turns, sentiment = inputs.turns, inputs.sentiment
        reason: str | None = None
        if name != EXTRACTIVE:
            prompt = self._prompt(turns, pool, plan, sentiment, inputs.channel)
            parts: list[str] = []
            try:
                async for piece in self.generators.stream(
                    name, prompt.messages, max_tokens=max_tokens or DEFAULT_DRAFT_TOKENS
                ):
                    parts.append(piece)
                    yield ("delta", piece)
                written = self._written("".join(parts), prompt, plan, name, started)
            except (BackendError, TimeoutError) as exc:
                reason = fallback_reason(exc, name)
                log.warning("draft_stream_fallback", backend=name, reason=reason)
                if parts:
                    yield ("reset", reason)
            else:
                yield ("draft", written)
                return
        draft = self._grounded(turns, pool, plan, sentiment, reason, started)
        yield ("delta", draft.text)
        yield ("draft", draft)

    async def follow(
        self, name: str, draft: Draft, turns: Sequence[TurnRecord], sentiment: str | None, *, max_tokens: int
    ) -> AsyncIterator[DraftEvent]:
        """A model's reply to a turn already planned and answered by ``draft`` (the LLM follow-up):
        ``("delta", text)`` as it writes, then ``("draft", Draft)``; raises ``BackendError`` or
        ``TimeoutError`` when the model fails or its answer is not grounded."""
        assert draft.plan is not None
        started = time.perf_counter()
        channel = turns[-1].channel if turns else draft.plan.channel
        prompt = self._prompt(turns, draft.passages, draft.plan, sentiment, channel)
        parts: list[str] = []
        async for piece in self.generators.stream(name, prompt.messages, max_tokens=max_tokens):
            parts.append(piece)
            yield ("delta", piece)
        yield ("draft", self._written("".join(parts), prompt, draft.plan, name, started))

    # --- the two ways a draft is made ---

    def _written(self, raw: str, prompt: _Prompt, plan: ReplyPlan, name: str, started: float) -> Draft:
        """The model's answer, kept only if grounded; raises ``BackendError`` (→ fallback) if not."""
        passages = prompt.allowed
        text, citations = resolve_markers(without_preamble(raw), passages)
        if not citations:
            citations = overlap_citations(text, passages)
        written = text
        style = channel_style(prompt.channel)
        if style == "voice":
            text = " ".join(voice_sentences(strip_urls(text), 3))
        elif style == "email":
            text = self.planned.frame_email(plan, letter_body(text))
        else:
            text = self.planned.with_link(plan, text, [c.url for c in citations if c.url])
        if has_placeholder(text):
            raise BackendError("model answer left a placeholder to fill in")
        if repeats_itself(text):
            raise BackendError("model answer repeats itself")
        offers = ungrounded_offers(text, passages)
        if offers:
            raise BackendError(f"model answer offered {', '.join(offers)}, which no retrieved passage supports")
        if not text:
            raise BackendError("model answer was empty")
        if echoes(text, prompt.customer):
            raise BackendError("model answer repeated the customer's message")
        self._check_act(written, citations, prompt, plan)
        return Draft(
            text=text,
            citations=citations,
            backend=name,
            prompt_version=prompt.version,
            latency_ms=_ms(started),
            fallback=None,
            act=plan.act,
            source="llm",
            plan=plan,
        )

    def _check_act(self, text: str, citations: Sequence[Citation], prompt: _Prompt, plan: ReplyPlan) -> None:
        """Raises ``BackendError`` (→ the grounded reply) when the model's own words cannot be doing
        the plan's act: a refusal where no boundary is set, a "how can I help you?" opening, a reply
        in another language than the plan's, or an act that states what an article says with no
        passage used."""
        if refuses(text) and not self.planner.sets_boundary(plan.act):
            raise BackendError(f"model answer declined to help where the plan is {plan.act}")
        if only_opens(text):
            raise BackendError("model answer asked how it can help, as if nothing had been said")
        try:
            found = self._languages.detect(letter_body(text))
        except Exception:  # a reply that cannot be read for its language is judged on the rest
            log.warning("language_detection_failed", exc_info=True)
        else:
            if found.reliable and found.code != plan.language:
                raise BackendError(f"model answer is in {found.code}, the plan asks for {plan.language}")
        if prompt.allowed and not citations and self.planner.needs_passage(plan.act):
            raise BackendError(f"model answer uses none of the passages the {plan.act} reply needs")

    def _grounded(
        self,
        turns: Sequence[TurnRecord],
        passages: Sequence[KnowledgeHit],
        plan: ReplyPlan,
        sentiment: str | None,
        fallback: str | None,
        started: float,
    ) -> Draft:
        query = read_message(last_customer_text(turns)).body
        composed = self.planned.compose(
            plan,
            query=query,
            passages=passages,
            sentiment=sentiment,
            prefer=self.planner.quote_terms(plan.act),
            skip=self.planner.skip_terms(plan.act),
        )
        return Draft(
            text=composed.text,
            citations=composed.citations,
            backend=EXTRACTIVE,
            prompt_version=composed.prompt_version,
            latency_ms=_ms(started),
            fallback=fallback,
            act=plan.act,
            source="grounded",
            plan=plan,
            passages=tuple(passages),
        )

    def _prompt(
        self,
        turns: Sequence[TurnRecord],
        passages: Sequence[KnowledgeHit],
        plan: ReplyPlan,
        sentiment: str | None,
        channel: str,
    ) -> _Prompt:
        # The model sees only the passages the plan allows, so its [n] markers can only cite those;
        # trimmed to what the plan needs, the conversation first (llm_context).
        allowed = llm_context.prompt_passages([p for p in passages if p.document_id in plan.citable], plan.channel)
        customer = [t for t in turns if t.speaker == "customer"]
        last = customer[-1].text[:2000] if customer else ""
        rendered = self.prompts.render(
            f"draft_reply.{plan.channel}",
            passages=llm_context.passage_context(allowed, plan.channel),
            turns=llm_context.transcript(turns[:-1]),
            last_customer=last,
            sentiment=sentiment,
            channel=plan.channel,
            plan=msgspec.to_builtins(plan),
        )
        return _Prompt(f"{rendered.version}+{plan.version}", rendered.messages, allowed, channel, last)

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


def _ms(started: float) -> float:
    return (time.perf_counter() - started) * 1000
