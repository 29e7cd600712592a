"""Trend and escalation rules: pure functions, no model."""

from __future__ import annotations

import pytest

from txassist.sentiment.schemas import SentimentResult
from txassist.sentiment.trend import conversation_trend, matched_rules, weighted_value

NEG = {"negative": 0.9, "neutral": 0.08, "positive": 0.02}
NEU = {"negative": 0.1, "neutral": 0.8, "positive": 0.1}
POS = {"negative": 0.02, "neutral": 0.08, "positive": 0.9}


def result(scores: dict[str, float]) -> SentimentResult:
    label = max(scores, key=lambda k: scores[k])
    return SentimentResult(label=label, score=scores[label], scores=scores)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("Can I speak to your manager please?", "asked_for_manager"),
        ("I want to talk to a supervisor right now", "asked_for_manager"),
        ("Put me through to someone senior.", "asked_for_manager"),
        ("Please escalate this, it has been three weeks", "asked_for_manager"),
        ("I'd like to file a formal complaint", "complaint"),
        ("I want to complain about the engineer", "complaint"),
        ("I'm taking this to the ombudsman", "complaint"),
        ("Cancel my subscription today.", "cancellation"),
        ("I want to cancel, this is useless", "cancellation"),
        ("Please close my account", "cancellation"),
        ("We're going to terminate the contract", "cancellation"),
    ],
)
def test_escalation_phrases_are_found(text: str, reason: str) -> None:
    assert reason in matched_rules(text)


@pytest.mark.parametrize(
    "text",
    [
        "My manager asked me to call about the invoice",  # someone else's manager, no request
        "The management app crashed",  # 'manager' only as a whole word
        "What is your cancellation policy?",
        "I don't want to cancel my plan, just change it",
        "No complaints, it works great",
        "The cancellations page loads slowly",
        "Please do not close my account",
        "My router is supervising nothing",
    ],
)
def test_ordinary_sentences_do_not_escalate(text: str) -> None:
    assert matched_rules(text) == []


def test_weighted_value_favours_recent_turns() -> None:
    assert weighted_value([-1.0, 1.0]) > 0  # the last turn weighs most
    assert weighted_value([-1.0, -1.0, 1.0]) > -1 / 3  # above the plain mean
    assert weighted_value([1.0, 1.0, -1.0]) < 1 / 3
    assert weighted_value([]) == 0.0
    assert weighted_value([0.5]) == pytest.approx(0.5)


def test_first_turn_is_stable_and_not_sharp() -> None:
    trend = conversation_trend([], result(NEG), "this is bad")
    assert trend.direction == "stable"
    assert trend.escalation is False
    assert trend.value == pytest.approx(-0.88)


def test_sharp_negative_turn_after_calm_history_escalates() -> None:
    trend = conversation_trend([NEU, POS, NEU], result(NEG), "this is ridiculous")
    assert trend.direction == "worsening"
    assert trend.reasons == ["sharp_negative_turn"]
    assert trend.escalation is True


def test_steady_negative_is_not_a_sharp_turn() -> None:
    trend = conversation_trend([NEG, NEG, NEG], result(NEG), "still broken")
    assert "sharp_negative_turn" not in trend.reasons
    assert trend.direction == "stable"


def test_recovery_is_improving_and_rules_combine() -> None:
    improving = conversation_trend([NEG, NEG], result(POS), "thanks, that fixed it")
    assert improving.direction == "improving"
    assert improving.escalation is False
    both = conversation_trend([NEU], result(NEG), "I want to cancel my contract and speak to a manager")
    assert set(both.reasons) == {"sharp_negative_turn", "cancellation", "asked_for_manager"}
    assert -1.0 <= both.value <= 1.0
