"""Negation withdraws a cue: "I will not cancel" is not cancellation intent."""

from __future__ import annotations

import pytest

from txassist.signals import extractors
from txassist.signals.negation import is_negated


def _cue(text: str, cue: str) -> bool:
    start = text.index(cue)
    return is_negated(text, start, start + len(cue))


@pytest.mark.parametrize(
    ("text", "cue"),
    [
        ("I will not cancel", "cancel"),
        ("it is not too expensive", "too expensive"),
        ("nothing is broken", "broken"),
        ("I don't want to cancel my plan", "cancel"),
        ("I never said the app crashes", "crashes"),
        ("we won't be leaving", "leaving"),
        ("jeg vil ikke si opp", "si opp"),  # nb: negation before the verb phrase
        ("ich kündige nicht", "kündige"),  # de: negation after the verb
        ("no quiero cancelar", "cancelar"),  # es
    ],
)
def test_negated_cues(text: str, cue: str) -> None:
    assert _cue(text, cue)


@pytest.mark.parametrize(
    ("text", "cue"),
    [
        ("I want to cancel", "cancel"),
        ("not only is it expensive, it is broken", "broken"),  # the comma closes the clause
        ("I'm not sure why it keeps crashing", "keeps crashing"),  # "why" opens a new clause
        ("If this isn't fixed I'll cancel my subscription", "I'll cancel"),  # the negation is the condition's
        ("no matter what I do it crashes", "crashes"),
        ("It is not cheap but it is broken", "broken"),
        ("No. It is broken", "broken"),
    ],
)
def test_cues_that_stand(text: str, cue: str) -> None:
    assert not _cue(text, cue)


def test_the_reported_sentence_raises_no_rule_signal() -> None:
    # Issue 19: this raised cancellation, price and defect signals.
    text = "I will not cancel, it is not too expensive, nothing is broken"
    assert extractors.from_phrase_rules(text) == []
    votes = {"cancellation_intent": 0.9, "price_complaint": 0.9, "defect": 0.9, "none": 0.1}
    assert extractors.from_similarities(votes, text=text) == []


def test_a_negated_cue_beside_a_real_one_still_raises() -> None:
    text = "The app is not slow, but it keeps crashing"
    assert [c.type for c in extractors.from_phrase_rules(text)] == ["defect"]
    votes = {"defect": 0.9, "none": 0.1}
    assert [c.type for c in extractors.from_similarities(votes, text=text)] == ["defect"]


@pytest.mark.parametrize(
    ("text", "cue"),
    [
        ("I can't cancel my account online", "cancel"),
        ("I cannot afford this any more", "afford"),
        ("I couldn't find the setting", "find"),
    ],
)
def test_inability_is_not_negation(text: str, cue: str) -> None:
    # "can't cancel" still wants to cancel: inability states the problem.
    assert not _cue(text, cue)


def test_words_whose_negation_is_the_signal_keep_the_embedding_vote() -> None:
    votes = {"defect": 0.9, "usability_friction": 0.9, "none": 0.1}
    found = {c.type for c in extractors.from_similarities(votes, text="It doesn't work and I can't find the menu")}
    assert found == {"defect", "usability_friction"}
