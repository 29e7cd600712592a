"""Signal extractors for one customer turn: embedding similarity to prototypes, plus precise rules.

Rules are used where they are more precise than similarity: competitor names (a closed list),
repeat contacts (the customer's recent topics), documentation gaps (the retrieval score) and
worsening sentiment (the conversation's sentiment history). Cancellation and price complaints have
both: the embedding finds paraphrases, the phrase rules make the common wordings certain.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Literal

import msgspec
import numpy as np

from txassist.signals.negation import first_unnegated, is_negated
from txassist.signals.prototypes import NONE
from txassist.text import windows

SignalKind = Literal["product", "churn"]

SIGNAL_KINDS: dict[str, SignalKind] = {
    "defect": "product",
    "feature_request": "product",
    "usability_friction": "product",
    "documentation_gap": "product",
    "cancellation_intent": "churn",
    "competitor_mention": "churn",
    "repeat_contact": "churn",
    "worsening_sentiment": "churn",
    "price_complaint": "churn",
}
SIGNAL_TYPES = tuple(SIGNAL_KINDS)

DEFAULT_COMPETITORS = (
    "HelloFresh",
    "Blue Apron",
    "Gousto",
    "Home Chef",
    "Green Chef",
    "Marley Spoon",
    "EveryPlate",
    "Dinnerly",
    "Sunbasket",
    "Factor",
)

# Per type: the cosine a turn needs to its nearest prototype, tuned on tests/signals/labelled_turns.jsonl
# (benchmarks/signals_quality.py); a turn must also beat its nearest "none" prototype by MARGIN.
EMBEDDING_THRESHOLDS: dict[str, float] = {
    "defect": 0.55,
    "feature_request": 0.62,
    "usability_friction": 0.55,
    "cancellation_intent": 0.60,
    "price_complaint": 0.58,
}
MARGIN = 0.05

_CANCEL_RE = re.compile(
    r"\b(?:cancel+(?:ing|ed)?|terminat(?:e|ing)|clos(?:e|ing)|delet(?:e|ing)|end(?:ing)?|quit(?:ting)?|stop(?:ping)?)"
    r"\b(?:\s+\w+){0,3}?\s+(?:account|subscription|membership|contract|plan|service|deliveries|boxes)\b"
    r"|\b(?:switch(?:ing)?|mov(?:e|ing)) (?:over )?to (?:another|a different|a new) (?:provider|company|service)\b"
    r"|\bi(?:'m| am) (?:leaving|done with (?:you|brightbox))\b|\b(?:thinking|thought) (?:of|about) leaving\b"
    # A bare "cancel" said as the customer's own next step is intent in a subscription business;
    # cancelling one order, payment or delivery is not.
    r"|\b(?:should i|i(?:'ll| will|'m going to| am going to| want to| wanna| might| may)|maybe i should)"
    r"(?: just| simply)? cancel\b(?!\s+(?:my|the|this|that|an?)\s+(?:order|payment|transfer|appointment|delivery|box))",
    re.IGNORECASE,
)
_PRICE_RE = re.compile(
    r"\b(?:too|so|way too|really) (?:expensive|pricey|costly)\b|\boverpriced\b|\brip[- ]?off\b"
    r"|\bprice(?:s)? (?:went|has gone|have gone|keeps? going|increased?|hike)\b|\bprice (?:increase|rise|hike)\b"
    r"|\b(?:raised|increased|put up) (?:the|my|your) (?:price|prices|fee|fees)\b|\bcheaper (?:elsewhere|with|at)\b"
    r"|\bcan(?:'t|not) afford\b|\bpaying (?:too much|more than)\b",
    re.IGNORECASE,
)
_REPEAT_RE = re.compile(
    r"\b(?:second|third|fourth|fifth|\d+(?:st|nd|rd|th)) time (?:i(?:'m| am| have|'ve)? )?"
    r"(?:contact|call|writ|messag|chat|ask|rais|report)\w*"
    r"|\b(?:already|again) (?:called|contacted|reported|raised|wrote|emailed|chatted)\b"
    r"|\b(?:called|contacted|wrote to) (?:you|support) (?:before|last week|yesterday|already)\b"
    r"|\bstill (?:not (?:fixed|resolved|sorted)|hasn't been (?:fixed|resolved))\b",
    re.IGNORECASE,
)
_DEFECT_RE = re.compile(
    r"\b(?:does(?:n't| not)|did(?:n't| not)|won't|will not|can't|cannot) "
    r"(?:work|load|open|connect|turn (?:on|back on)|charge|save|pair|sync)\b"
    r"|\b(?:not|stopped|isn't|is not|aren't) working\b|\b(?:is|are|seems?|looks?|it's) (?:broken|faulty|defective)\b"
    r"|\bbroken\b|\bfaulty\b|\b(?:crash(?:es|ed|ing)?|freez(?:es|ing)|froze)\b"
    r"|\bkeeps? (?:dropping|disconnecting|crashing|freezing|restarting|rebooting|failing|losing)\b"
    r"|\b(?:error|something went wrong)\b|\b(?:was|got|keeps? getting|is being) (?:declined|rejected)\b"
    r"|\b(?:failed|fails|failing)\b|\bdies (?:after|within)\b|\bwent (?:black|blank|dead)\b"
    r"|\bdoes nothing\b|\bwon't let me\b",
    re.IGNORECASE,
)
_FEATURE_RE = re.compile(
    r"\bwould (?:be|it be) (?:really |so )?(?:great|nice|good|helpful|useful|amazing) if\b|\bit would help if\b"
    r"|\bi wish (?:you|the|there|i could)\b|\b(?:can|could) you (?:please )?(?:add|make it possible|support|offer)\b"
    r"|\bplease (?:add|let (?:me|us)|support|offer)\b|\byou should (?:add|let|make|offer|support)\b"
    r"|\bany chance you could\b|\bi'?d love (?:to be able|it if|a way|an option)\b"
    r"|\bare you planning to (?:add|support|offer)\b"
    r"|\bfeature request\b",
    re.IGNORECASE,
)
_QUESTION_START_RE = re.compile(
    r"(?:how|what|why|when|where|which|who|can|could|do|does|is|are|will|would|should)\b", re.IGNORECASE
)
# The words that name each embedding-detected type. When the text names a type only in negated form
# ("I will not cancel", "nothing is broken"), the embedding's vote for that type is withdrawn: the
# sentence embedding does not see negation. Words whose negation *is* the signal ("it doesn't work",
# "I can't find it", "not cheap") are left out.
_TYPE_CUES: dict[str, re.Pattern[str]] = {
    "cancellation_intent": re.compile(
        r"\b(?:cancel\w*|terminat\w*|clos(?:e|ing)|end(?:ing)?|leav(?:e|ing)|quit\w*|unsubscrib\w*|delet\w*"
        r"|switch\w*|stop\w*)\b",
        re.IGNORECASE,
    ),
    "price_complaint": re.compile(
        r"\b(?:expensive|pricey|costly|overpriced|pric(?:e|es|ing)|cost\w*|fees?|rip[- ]?off)\b",
        re.IGNORECASE,
    ),
    "defect": re.compile(
        r"\b(?:broken|faulty|defective|crash\w*|freez\w*|froze|errors?|fail\w*|bugs?|buggy|glitch\w*)\b",
        re.IGNORECASE,
    ),
    "feature_request": re.compile(r"\b(?:add|wish|feature|option|support)\b", re.IGNORECASE),
    "usability_friction": re.compile(r"\b(?:confus\w*|hard|difficult|navigat\w*|complicated)\b", re.IGNORECASE),
}
# A question is told by its first words; looking further than this into a long text adds nothing.
_OPENING_CHARS = 200


class Candidate(msgspec.Struct, kw_only=True):
    """A signal found in one turn, before it has an id, a product area or a place in the store."""

    type: str
    confidence: float
    key: str = ""  # what distinguishes two signals of one type in a conversation (a competitor's name)
    details: dict[str, object] = msgspec.field(default_factory=dict)

    @property
    def kind(self) -> SignalKind:
        return SIGNAL_KINDS[self.type]


def _clip(value: float, low: float = 0.5, high: float = 0.99) -> float:
    return float(min(high, max(low, value)))


_HOW_TO_RE = re.compile(r"(?:how|where|when|what) (?:do|can|does|should|is|are) (?:i|we|you)\b", re.IGNORECASE)


def _opening(text: str) -> str:
    return text[: _OPENING_CHARS * 2].lstrip()[:_OPENING_CHARS]


def negated_types(text: str) -> set[str]:
    """Types whose cue words the text uses, every time in negated form."""
    out = set()
    for name, cue in _TYPE_CUES.items():
        said = False
        for found in windows.finditer(cue, text):
            said = True
            if not is_negated(text, found.start(), found.end()):
                break
        else:
            if said:
                out.add(name)
    return out


def from_similarities(
    similarities: dict[str, float], thresholds: dict[str, float] | None = None, *, text: str = ""
) -> list[Candidate]:
    if _HOW_TO_RE.match(_opening(text)):
        # A plain how-to question sits close to every prototype that shares its topic; on its own it
        # is a question for the knowledge base (documentation gap), not a defect or a request.
        return []
    limits = thresholds or EMBEDDING_THRESHOLDS
    baseline = similarities.get(NONE, 0.0)
    withdrawn = negated_types(text) if text else set()
    found: list[Candidate] = []
    for name, threshold in limits.items():
        score = similarities.get(name)
        if score is None or score < threshold or score - baseline < MARGIN or name in withdrawn:
            continue
        confidence = _clip(0.55 + (score - threshold) + (score - baseline))
        found.append(Candidate(type=name, confidence=round(confidence, 3), details={"similarity": round(score, 4)}))
    return found


_PHRASE_RULES: tuple[tuple[str, re.Pattern[str], float, str], ...] = (
    ("cancellation_intent", _CANCEL_RE, 0.9, "cancel_phrase"),
    ("price_complaint", _PRICE_RE, 0.85, "price_phrase"),
    ("defect", _DEFECT_RE, 0.8, "defect_phrase"),
    ("feature_request", _FEATURE_RE, 0.85, "feature_phrase"),
    ("repeat_contact", _REPEAT_RE, 0.85, "repeat_phrase"),
)


def from_phrase_rules(text: str) -> list[Candidate]:
    """A candidate per rule with a match that is not negated ("I will not cancel" raises none)."""
    found: list[Candidate] = []
    for name, pattern, confidence, rule in _PHRASE_RULES:
        if first_unnegated(windows.finditer(pattern, text)) is not None:
            found.append(Candidate(type=name, confidence=confidence, details={"rule": rule}))
    return found


def competitor_pattern(names: Sequence[str]) -> re.Pattern[str]:
    unique = sorted({n.strip() for n in names if n.strip()}, key=len, reverse=True)
    alternatives = "|".join(re.escape(name).replace(r"\ ", r"\s+") for name in unique)
    return re.compile(r"(?<![\w-])(?:" + alternatives + r")(?![\w-])", re.IGNORECASE)


def competitor_mentions(text: str, pattern: re.Pattern[str], canonical: dict[str, str]) -> list[Candidate]:
    seen: dict[str, Candidate] = {}
    # A competitor named in a negation ("I'd never go to Gousto") is still a competitor on their mind.
    for match in windows.finditer(pattern, text):
        name = canonical.get(re.sub(r"\s+", " ", match.group(0)).lower(), match.group(0))
        seen.setdefault(
            name, Candidate(type="competitor_mention", confidence=0.95, key=name, details={"competitor": name})
        )
    return list(seen.values())


def documentation_gap(text: str, best_dense_score: float | None, threshold: float) -> list[Candidate]:
    if best_dense_score is None or best_dense_score >= threshold:
        return []
    if "?" not in text and not _QUESTION_START_RE.match(_opening(text)):
        return []
    confidence = _clip(0.6 + (threshold - best_dense_score))
    return [
        Candidate(
            type="documentation_gap",
            confidence=round(confidence, 3),
            details={"best_dense_score": round(best_dense_score, 4)},
        )
    ]


def worsening_sentiment(history: Sequence[float]) -> list[Candidate]:
    """``history``: the conversation's customer-turn sentiment values (-1..1), oldest first, this turn last.

    Worsening means the latest two turns average clearly below the opening ones and end negative.
    """
    if len(history) < 3:
        return []
    values = [float(v) for v in history]
    opening = values[: max(1, len(values) // 2)]
    recent = values[-2:]
    drop = sum(opening) / len(opening) - sum(recent) / len(recent)
    if drop < 0.5 or values[-1] > -0.3:
        return []
    return [
        Candidate(
            type="worsening_sentiment",
            confidence=round(_clip(0.5 + drop / 2), 3),
            details={"drop": round(drop, 3), "last": round(values[-1], 3)},
        )
    ]


def repeat_contact_by_topic(
    area: str, vector: np.ndarray | None, topics: Sequence[str], topic_vectors: np.ndarray | None
) -> list[Candidate]:
    """Same customer, similar topic within the window: a named area match or a close topic embedding."""
    if not topics:
        return []
    lowered = {t.strip().lower() for t in topics}
    if area != "general" and area in lowered:
        return [Candidate(type="repeat_contact", confidence=0.8, details={"rule": "same_product_area", "topic": area})]
    if vector is None or topic_vectors is None or not len(topic_vectors):
        return []
    sims = topic_vectors @ vector.reshape(-1)
    index = int(np.argmax(sims))
    if float(sims[index]) < 0.6:
        return []
    return [
        Candidate(
            type="repeat_contact",
            confidence=round(_clip(float(sims[index])), 3),
            details={"rule": "similar_topic", "topic": topics[index][:200]},
        )
    ]


def merge_candidates(candidates: list[Candidate]) -> list[Candidate]:
    """One candidate per (type, key), keeping the most confident."""
    best: dict[tuple[str, str], Candidate] = {}
    for candidate in candidates:
        slot = (candidate.type, candidate.key)
        if slot not in best or candidate.confidence > best[slot].confidence:
            best[slot] = candidate
    return list(best.values())
