"""What a draft may rely on: retrieved passages, their citations, and a guard against ungrounded offers."""

from __future__ import annotations

import re
from collections.abc import Sequence

from txassist.drafting.schemas import Citation
from txassist.knowledge.schemas import KnowledgeHit

_MARKER = re.compile(r"\s?\[(\d{1,2})\]")
# Commercial promises an agent must not make unless the knowledge base states the policy.
_OFFER_TERMS = (
    "full refund",
    "refund",
    "reimburse",
    "compensation",
    "compensate",
    "discount",
    "credit",
    "voucher",
    "free of charge",
    "for free",
    "waive",
)


def citation_for(passage: KnowledgeHit) -> Citation:
    return Citation(document_id=passage.document_id, url=passage.url, title=passage.title)


def unique_citations(passages: Sequence[KnowledgeHit]) -> list[Citation]:
    seen: dict[str, Citation] = {}
    for passage in passages:
        seen.setdefault(passage.document_id, citation_for(passage))
    return list(seen.values())


def resolve_markers(text: str, passages: Sequence[KnowledgeHit]) -> tuple[str, list[Citation]]:
    """Map ``[n]`` markers to retrieved passages; markers naming no retrieved passage are dropped.

    The returned text has the markers removed: citations travel separately, and a marker the
    model invented must not look like a source to the agent.
    """
    used: list[KnowledgeHit] = []
    for match in _MARKER.finditer(text):
        index = int(match.group(1)) - 1
        if 0 <= index < len(passages):
            used.append(passages[index])
    cleaned = _MARKER.sub("", text).strip()
    return cleaned, unique_citations(used)


def overlap_citations(text: str, passages: Sequence[KnowledgeHit], *, min_shared: int = 4) -> list[Citation]:
    """Citations for a model answer without markers: the passages it visibly draws words from."""
    words = _content_words(text)
    used = [p for p in passages if len(words & _content_words(p.text)) >= min_shared]
    return unique_citations(used)


def ungrounded_offers(text: str, passages: Sequence[KnowledgeHit]) -> list[str]:
    """Offer terms in ``text`` that no retrieved passage mentions (a sign of injected instructions)."""
    lowered = text.lower()
    knowledge = " ".join(p.text.lower() for p in passages)
    return [term for term in _OFFER_TERMS if term in lowered and term not in knowledge]


ECHO_WORDS = 6  # a run of this many of the customer's words, verbatim, is the model repeating them


def echoes(text: str, customer: str, *, run: int = ECHO_WORDS) -> bool:
    """Whether ``text`` repeats ``run`` consecutive words of the customer's message.

    A small model sometimes continues the customer's message instead of answering it (seen with the
    packaged 1.5B model in nb, de and es); an agent's reply restates a need in its own words.
    """
    said = _ANY_WORD.findall(customer.lower())
    if len(said) < run:
        return False
    written = f" {' '.join(_ANY_WORD.findall(text.lower()))} "
    return any(f" {' '.join(said[i : i + run])} " in written for i in range(len(said) - run + 1))


# A model declining to help ("I'm sorry, but I can't assist with that."): right only where the plan sets a
# boundary (abuse, off-topic); elsewhere the packaged small model says it when the prompt confuses it.
_REFUSAL = re.compile(
    r"\b(?:can(?:no|')t|can not|unable to|not able to) (?:assist|help) (?:you )?with (?:that|this)\b", re.IGNORECASE
)


def refuses(text: str) -> bool:
    """Whether ``text`` declines to help."""
    return _REFUSAL.search(text) is not None


# "How can I help you today?": an opening line, never a reply to a customer who has said what they want
# (the packaged small model writes it, in the customer's language, when it has lost the thread).
_OPENING = re.compile(
    r"how (?:can|may) i (?:help|assist)(?! (?:you )?(?:further|more|with anything else))"
    r"|wie kann ich ihnen (?:heute )?(?:helfen|behilflich sein)"
    r"|en qu[eé] (?:puedo|le puedo|te puedo) ayudar"
    r"|hvordan kan jeg hjelpe(?: deg| dere)?(?: i dag)?\s*\?"
    r"|comment puis-je vous aider",
    re.IGNORECASE,
)


def only_opens(text: str) -> bool:
    """Whether ``text`` asks how it can help, as a conversation's first line would."""
    return _OPENING.search(text) is not None


# "[Customer's Name]", "[Your Name]", "<agent name>": text for somebody to fill in, never sent as it is.
_PLACEHOLDER = re.compile(r"\[[^\[\]\d\n]{2,40}\]|<[a-z][a-z' _-]{1,30}>", re.IGNORECASE)


def has_placeholder(text: str) -> bool:
    """Whether ``text`` still holds a placeholder for somebody to fill in."""
    return _PLACEHOLDER.search(text) is not None


def repeats_itself(text: str, *, times: int = 3) -> bool:
    """Whether one line or sentence of ``text`` comes ``times`` times or more (a model in a loop)."""
    parts = [p.strip().lower() for p in re.split(r"[\n.!?]+", text) if len(p.strip()) > 3]
    return any(parts.count(p) >= times for p in set(parts))


_STOP = frozenset(  # noqa: RUF100
    [
        "a",
        "an",
        "the",
        "and",
        "or",
        "but",
        "if",
        "of",
        "to",
        "in",
        "on",
        "at",
        "for",
        "with",
        "by",
        "from",
        "is",
        "are",
        "was",
        "were",
        "be",
        "been",
        "it",
        "this",
        "that",
        "these",
        "those",
        "i",
        "you",
        "we",
        "they",
        "he",
        "she",
        "my",
        "your",
        "our",
        "their",
        "me",
        "us",
        "them",
        "do",
        "does",
        "did",
        "have",
        "has",
        "had",
        "can",
        "could",
        "will",
        "would",
        "should",
        "not",
        "no",
        "yes",
        "so",
        "as",
        "about",
        "into",
        "than",
        "then",
        "there",
        "here",
        "what",
        "when",
        "where",
        "which",
        "who",
        "why",
        "how",
        "please",
        "thanks",
        "hi",
        "hello",
        "just",
        "get",
        "got",
        "any",
        "some",
        "all",
        "more",
        "also",
    ]
)
_WORD = re.compile(r"[a-z0-9]+")
_ANY_WORD = re.compile(r"\w+")


def _content_words(text: str) -> set[str]:
    return {w for w in _WORD.findall(text.lower()) if w not in _STOP and len(w) > 2}


def content_words(text: str) -> set[str]:
    return _content_words(text)
