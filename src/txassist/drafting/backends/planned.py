"""The extractive backend following a ``ReplyPlan``: templates per act and language around KB sentences.

The templates (``prompts/reply_templates.v<N>.json``) hold every word the backend writes itself; the
rest is quoted from the passages the plan allows, so the reply can only offer what the KB states and
can only cite documents that were retrieved. Knowledge-base sentences stay in the KB's language;
in another language a short note says so.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from pathlib import Path

from txassist.drafting.backends.extractive import ComposedReply
from txassist.drafting.grounding import citation_for, content_words
from txassist.drafting.planning import ReplyPlan, latest_file
from txassist.drafting.text import sentences, shorten, strip_urls
from txassist.jsontypes import JsonObject
from txassist.knowledge.schemas import KnowledgeHit

VOICE_WORDS = 22
# Acts whose template already acknowledges the customer's feelings.
_OWN_ACK = frozenset(
    {"retain", "billing", "known_defect", "ask_cause", "escalate", "abuse", "off_topic", "close", "no_answer"}
)
_KB_BUDGET = {"voice": 2, "chat": 2, "email": 4}
_SPLIT = re.compile(r"(?<=[.!?])\s+")
_LANGUAGE_NAMES = {"fr": "French", "sv": "Swedish", "da": "Danish", "it": "Italian", "pt": "Portuguese", "nl": "Dutch"}


class PlannedDrafter:
    name = "extractive"
    is_fast = True

    def __init__(self, prompts_dir: Path) -> None:
        path = latest_file(prompts_dir, "reply_templates")
        self.templates: JsonObject = json.loads(path.read_text(encoding="utf-8"))
        self.version: str = self.templates["version"]

    def prompt_version(self, plan: ReplyPlan) -> str:
        return f"extractive.{plan.channel}.v2+{plan.version}"

    def _language(self, plan: ReplyPlan) -> str:
        """The plan's language where the templates have it, else their fallback language."""
        languages: JsonObject = self.templates["languages"]
        return plan.language if plan.language in languages else str(self.templates["fallback_language"])

    def _pack(self, plan: ReplyPlan) -> JsonObject:
        pack: JsonObject = self.templates["languages"][self._language(plan)]
        return pack

    def frame_email(self, plan: ReplyPlan, body: str) -> str:
        """A written body between the greeting and sign-off every email reply of the service has."""
        pack = self._pack(plan)
        return f"{pack['greeting']}\n\n{body}\n\n{pack['sign_off']}"

    def with_link(self, plan: ReplyPlan, text: str, urls: Sequence[str]) -> str:
        """A chat reply that cites an article but shows no link gets the article's link."""
        if not urls or "http" in text:
            return text
        return f"{text} {self._pack(plan)['more']} {urls[0]}"

    def compose(
        self,
        plan: ReplyPlan,
        *,
        query: str,
        passages: Sequence[KnowledgeHit],
        sentiment: str | None,
        prefer: Sequence[str] = (),
        skip: Sequence[str] = (),
    ) -> ComposedReply:
        lang = self._language(plan)
        pack = self._pack(plan)
        style = plan.channel
        lead = self._lines(pack, plan.act, "lead", style)
        tail = self._lines(pack, plan.act, "tail", style)
        if sentiment == "negative" and plan.act not in _OWN_ACK:
            lead = self._lines(pack, "negative_ack", "lead", style) + lead
        allowed = {doc_id: i for i, doc_id in enumerate(plan.citable)}
        usable = sorted((p for p in passages if p.document_id in allowed), key=lambda p: allowed[p.document_id])
        budget = _KB_BUDGET[style]
        if style == "voice":
            budget = min(budget, plan.max_sentences - len(lead))
        picked = self._pick(query, usable, budget, prefer, skip, voice=style == "voice") if usable else []
        kb = [sentence for _, sentence in picked]
        if kb and pack["kb_note"]:
            kb[0] = f"{pack['kb_note']} {kb[0]}"
        also = [line for extra in plan.also for line in self._lines(pack, f"{extra}_also", "lead", style)]
        body = [*lead, *kb, *also, *tail]
        if style == "voice":
            body = _fit_voice(lead, kb, also, tail, plan.max_sentences)
        used: list[KnowledgeHit] = []
        for passage, _ in picked:
            if passage not in used:
                used.append(passage)
        citations = list({c.document_id: c for c in (citation_for(p) for p in used)}.values())
        note = self._language_note(plan.language, lang)
        text = self._render(style, pack, body, [c.url for c in citations if c.url], note)
        return ComposedReply(text=text, citations=citations, prompt_version=self.prompt_version(plan))

    @staticmethod
    def _lines(pack: JsonObject, act: str, part: str, style: str) -> list[str]:
        entry: dict[str, list[str]] = pack["acts"].get(act, {})
        if style == "voice" and part == "lead" and entry.get("voice"):
            return list(entry["voice"])
        if style == "voice" and part == "tail":
            return []  # spoken replies stop after the answer; the agent asks follow-ups aloud
        return list(entry.get(part, []))

    def _language_note(self, wanted: str, used: str) -> str | None:
        if wanted == used:
            return None
        name = _LANGUAGE_NAMES.get(wanted, wanted)
        note: str = self.templates["unsupported_language_note"]
        return note.format(language=name)

    @staticmethod
    def _pick(
        query: str,
        passages: Sequence[KnowledgeHit],
        budget: int,
        prefer: Sequence[str],
        skip: Sequence[str] = (),
        *,
        voice: bool,
    ) -> list[tuple[KnowledgeHit, str]]:
        """The ``budget`` best sentences over the allowed passages, in their reading order.

        A sentence scores by the act's quote terms (the offer, the workaround) and by the words it
        shares with the customer's turn; the best passage always contributes its best sentence. A
        sentence with one of the act's ``skip`` terms is never quoted (a retention reply never gives
        the cancellation steps that sit in the offers article).
        """
        query_words = content_words(query)
        scored: list[tuple[int, int, int, KnowledgeHit, str]] = []
        seen: set[str] = set()
        for rank, passage in enumerate(passages):
            for position, sentence in enumerate(sentences(passage.text)):
                if sentence in seen:
                    continue
                seen.add(sentence)
                lowered = sentence.lower()
                if any(term in lowered for term in skip):
                    continue
                cue = sum(1 for term in prefer if term in lowered)
                overlap = len(query_words & content_words(sentence))
                scored.append((cue * 2 + overlap, rank, position, passage, sentence))
        if not scored or budget <= 0:
            return []
        # Best score first; ties go to the better passage, then to earlier sentences (answers lead).
        ranked = sorted(scored, key=lambda item: (-item[0], item[1], item[2]))
        chosen = [item for item in ranked if item[0] > 0][:budget] or ranked[:1]
        chosen.sort(key=lambda item: (item[1], item[2]))
        return [(p, shorten(strip_urls(s), VOICE_WORDS) if voice else s) for _, _, _, p, s in chosen]

    @staticmethod
    def _render(style: str, pack: JsonObject, body: list[str], links: list[str], note: str | None) -> str:
        if style == "voice":
            return " ".join(strip_urls(s) for s in body)
        if style == "chat":
            text = " ".join(body)
            if links:
                text += f" {pack['more']} " + " ".join(links[:2])
            return f"{text} {note}" if note else text
        paragraph = " ".join(body)
        more = (f"\n\n{pack['read_more']}\n" + "\n".join(links)) if links else ""
        extra = f"\n\n{note}" if note else ""
        return f"{pack['greeting']}\n\n{paragraph}{more}{extra}\n\n{pack['sign_off']}"


def _fit_voice(lead: list[str], kb: list[str], also: list[str], tail: list[str], limit: int) -> list[str]:
    """At most ``limit`` spoken sentences: the lead first, then the KB answer, then the extras."""
    out: list[str] = []
    for sentence in [*lead, *kb, *also, *tail]:
        parts = [p for p in _SPLIT.split(sentence) if p]
        if len(out) + len(parts) > limit:
            break
        out.extend(parts)
    return out
