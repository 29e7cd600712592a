"""A conversation's sentiment trend and when to flag it for escalation.

The trend is a recency-weighted mean of polarity (p(positive) - p(negative)) over the customer's
turns, so one old outburst fades while the last few turns dominate. Escalation rules are plain
phrase patterns with word boundaries: a contact centre must be able to read why a flag was raised.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Literal

import msgspec

from txassist.intent.schemas import Intents
from txassist.sentiment.schemas import SentimentResult
from txassist.text import windows

DECAY = 0.7  # weight of a turn relative to the one after it
WINDOW = 12  # turns that still count; older ones weigh under 2% anyway
DIRECTION_DELTA = 0.15  # change in trend value that counts as moving
SHARP_DROP = 0.8  # fall in polarity from the running trend to a negative turn
SHARP_MIN_NEGATIVE = 0.6  # p(negative) a sharp turn needs


class SentimentTrend(msgspec.Struct):
    value: float  # -1..1
    direction: Literal["improving", "stable", "worsening"]
    escalation: bool
    reasons: list[str]


def polarity(scores: Mapping[str, float]) -> float:
    return float(scores.get("positive", 0.0)) - float(scores.get("negative", 0.0))


def weighted_value(polarities: Sequence[float]) -> float:
    """Recency-weighted mean; the last element is the most recent turn."""
    recent = list(polarities)[-WINDOW:]
    if not recent:
        return 0.0
    weights = [DECAY ** (len(recent) - 1 - i) for i in range(len(recent))]
    return sum(w * p for w, p in zip(weights, recent, strict=True)) / sum(weights)


# A negation just before the phrase ("I don't want to cancel") withdraws it.
_NEGATION = re.compile(r"\b(?:not|don't|dont|do not|never|no need to|won't|wont|didn't|no)\b[\w\s']{0,12}$", re.I)

_MANAGER = re.compile(
    r"\b(?:speak|talk|put me through|transfer me|escalate (?:this|it|me)|get me|connect me|want|need|"
    r"let me (?:speak|talk)|can i (?:speak|talk|have)|where is|give me)\b[\w\s']{0,25}?"
    r"\b(?:(?:your|a|the|my account|a senior) )?(?:manager|supervisor|team ?leader|team lead|"
    r"someone (?:more )?senior|someone in charge|person in charge|higher up)s?\b"
    r"|\bescalate (?:this|it|my (?:case|complaint|issue))\b"
    r"|\b(?:your|a) (?:manager|supervisor)\b",
    re.IGNORECASE,
)
_COMPLAINT = re.compile(
    # Each optional word brings its own following space: ``\s+(?:a )?\s*`` could split one run of spaces
    # in quadratically many ways before failing.
    r"\b(?:file|make|lodge|raise|submit|log|register|open|put in|filing|making|lodging)\s+(?:(?:a|an|my)\s+)?"
    r"(?:(?:formal|official|written)\s+)?complaint\b"
    r"|\bformal complaint\b"
    r"|\bcomplaints? (?:department|team|procedure|process)\b"
    r"|\bi (?:want|wish|would like|need|am going|'m going|intend) to complain\b"
    r"|\b(?:ombudsman|better business bureau|trading standards)\b"
    r"|\breport (?:you|this|your company) to\b",
    re.IGNORECASE,
)
_CANCELLATION = re.compile(
    r"\b(?:cancel|cancelling|canceling|terminate|terminating|close|closing|end|ending)\s+"
    r"(?:my|our|the|this)\s+(?:\w+\s+)?(?:account|subscription|contract|plan|service|membership|policy|"
    r"broadband|line|package)\b"
    r"|\b(?:i|we)(?:'m| am|'ll| will| want to| wanna| would like to| need to| are going to| am going to)"
    r"\s+(?:cancel|unsubscribe|switch (?:provider|to \w+)|leave you|take my business elsewhere)\b"
    r"|\bcancel(?:lation)? (?:request|fee|form)\b"
    r"|\bi want out\b",
    re.IGNORECASE,
)
_RULES: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("asked_for_manager", _MANAGER),
    ("complaint", _COMPLAINT),
    ("cancellation", _CANCELLATION),
)


def matched_rules(text: str) -> list[str]:
    """Names of the escalation phrases in ``text`` that are not negated just before."""
    found = []
    for name, pattern in _RULES:
        for match in windows.finditer(pattern, text):
            if not _NEGATION.search(text[max(0, match.start() - 30) : match.start()]):
                found.append(name)
                break
    return found


# Intents that flag a conversation for escalation, under the reason names the phrase rules use.
ESCALATING_INTENTS = {
    "cancel_service": "cancellation",
    "human_agent": "asked_for_manager",
    "complaint": "complaint",
    "abuse": "abuse",
}


def intent_reasons(fired: Sequence[str]) -> list[str]:
    return [ESCALATING_INTENTS[name] for name in fired if name in ESCALATING_INTENTS]


def conversation_trend(
    history: Sequence[Mapping[str, float]],
    current: SentimentResult,
    text: str,
    *,
    intents: Intents | None = None,
) -> SentimentTrend:
    """``history``: earlier customer turns' score maps, oldest first; ``current``: this turn.

    ``intents`` (the turn's ``Intents``) replaces the phrase rules when given, so the escalation flag
    and the churn signals read one decision and cannot disagree.
    """
    earlier = [polarity(scores) for scores in history]
    now = polarity(current.scores)
    value = weighted_value([*earlier, now])
    direction: Literal["improving", "stable", "worsening"] = "stable"
    reasons: list[str] = []
    if earlier:
        before = weighted_value(earlier)
        if value - before >= DIRECTION_DELTA:
            direction = "improving"
        elif before - value >= DIRECTION_DELTA:
            direction = "worsening"
        negative = current.scores.get("negative", 0.0)
        if current.label == "negative" and negative >= SHARP_MIN_NEGATIVE and before - now >= SHARP_DROP:
            reasons.append("sharp_negative_turn")
    reasons.extend(matched_rules(text) if intents is None else intent_reasons(intents.fired))
    return SentimentTrend(
        value=round(max(-1.0, min(1.0, value)), 4),
        direction=direction,
        escalation=bool(reasons),
        reasons=reasons,
    )
