"""The embedded default: replies assembled from retrieved passages, no language model involved.

Everything it says comes from the knowledge base, so it cannot be talked into an offer by the
customer's text, and it answers in well under a millisecond per passage.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

__all__ = ["ComposedReply", "ExtractiveDrafter", "channel_style"]

from txassist.drafting.grounding import citation_for, content_words
from txassist.drafting.planning import channel_style
from txassist.drafting.schemas import Citation
from txassist.drafting.text import sentences, shorten, strip_urls
from txassist.knowledge.schemas import KnowledgeHit

PROMPT_VERSION_PREFIX = "extractive"
VERSION = "v1"

_ACK = {
    "chat": "I'm sorry for the trouble, and I understand how frustrating this is.",
    "voice": "I'm sorry about this, I understand it's frustrating.",
    "email": "I'm sorry for the trouble this has caused, and I understand your frustration.",
}
_NO_ANSWER = {
    "chat": "Thanks for your patience. Let me check that for you and I'll come right back.",
    "voice": "Thanks for bearing with me. Let me check that for you.",
    "email": "Thank you for getting in touch. I'm looking into this and will follow up shortly.",
}


@dataclass(frozen=True)
class ComposedReply:
    text: str
    citations: list[Citation]
    prompt_version: str


class ExtractiveDrafter:
    name = "extractive"
    is_fast = True

    def __init__(self, *, max_passages: int = 3) -> None:
        self.max_passages = max_passages

    def prompt_version(self, channel: str) -> str:
        return f"{PROMPT_VERSION_PREFIX}.{channel_style(channel)}.{VERSION}"

    def compose_reply(
        self, *, query: str, passages: Sequence[KnowledgeHit], channel: str, sentiment: str | None
    ) -> ComposedReply:
        style = channel_style(channel)
        picked = self._pick(query, passages, style)
        body: list[str] = []
        if sentiment == "negative":
            body.append(_ACK[style])
        if not picked:
            body.append(_NO_ANSWER[style])
        used: list[KnowledgeHit] = []
        for passage, chosen in picked:
            body.extend(chosen)
            if passage not in used:
                used.append(passage)
        citations = _dedupe([citation_for(p) for p in used])
        text = self._render(style, body, citations)
        return ComposedReply(text=text, citations=citations, prompt_version=self.prompt_version(channel))

    def _pick(self, query: str, passages: Sequence[KnowledgeHit], style: str) -> list[tuple[KnowledgeHit, list[str]]]:
        query_words = content_words(query)
        budget = {"voice": 2, "chat": 3, "email": 4}[style]
        ranked = sorted(passages, key=lambda p: p.score, reverse=True)[: self.max_passages]
        picked: list[tuple[KnowledgeHit, list[str]]] = []
        for rank, passage in enumerate(ranked):
            if budget <= 0:
                break
            scored = []
            for position, sentence in enumerate(sentences(passage.text)):
                overlap = len(query_words & content_words(sentence))
                # Ties go to earlier sentences: help articles lead with the answer.
                scored.append((overlap, -position, sentence))
            if not scored:
                continue
            scored.sort(reverse=True)
            # The best passage always contributes; later ones only when they share words with the query.
            take = [s for o, _, s in scored if o > 0 or rank == 0][: 2 if rank == 0 else 1]
            if style == "voice":
                take = [shorten(strip_urls(s), 22) for s in take]
            take = take[:budget]
            if take:
                budget -= len(take)
                picked.append((passage, take))
        return picked

    @staticmethod
    def _render(style: str, body: list[str], citations: list[Citation]) -> str:
        links = [c.url for c in citations if c.url]
        if style == "voice":
            return " ".join(strip_urls(s) for s in body[:3])
        if style == "chat":
            text = " ".join(body)
            if links:
                text += " More details: " + " ".join(links[:2])
            return text
        paragraph = " ".join(body)
        more = ("\n\nYou can read more here:\n" + "\n".join(links)) if links else ""
        return f"Hello,\n\nThank you for contacting us. {paragraph}{more}\n\nKind regards,\nThe Support Team"


def _dedupe(citations: list[Citation]) -> list[Citation]:
    seen: dict[str, Citation] = {}
    for citation in citations:
        seen.setdefault(citation.document_id, citation)
    return list(seen.values())
