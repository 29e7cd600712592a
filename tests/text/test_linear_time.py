"""Every rule that reads customer text in the per-turn path grows linearly with the text.

Each case builds a family of hostile inputs from the pattern's own worst case (a run it can split in
many ways, a bracket it rescans) and times it at n, 2n, 4n and 8n characters, up to the text limit.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import UTC, datetime

import pytest

from tests.support.growth import assert_linear_growth
from txassist.conversations.records import TurnRecord
from txassist.drafting import summaries
from txassist.drafting.situation import has_cue
from txassist.drafting.text import sentences
from txassist.sentiment.lexicon import LexiconScorer
from txassist.sentiment.trend import matched_rules
from txassist.signals import extractors
from txassist.signals.evidence import EVIDENCE_MAX_CHARS, evidence_of
from txassist.signals.taxonomy import DEFAULT_AREAS, ProductTaxonomy
from txassist.text.normalize import normalize_text


def _fill(unit: str) -> Callable[[int], str]:
    return lambda n: (unit * (n // len(unit) + 1))[:n]


def _spaces_after(word: str) -> Callable[[int], str]:
    return lambda n: word + " " * n + "x"


# The families every rule is tried on: runs that split many ways, brackets, separators, floods.
FAMILIES: dict[str, Callable[[int], str]] = {
    "file-spaces-x": lambda n: ("file" + " " * (n // 2) + "x ") * 2,
    "spaces": _fill(" "),
    "open-brackets": _fill("["),
    "link-openers": _fill("[a]("),
    "brackets-then-parens": lambda n: "[" * (n // 2) + "](" * (n // 4),
    "percent": _fill("%"),
    "halves": _fill("1/2 "),
    "dots": _fill(". "),
    "one-long-word": lambda n: "cancel " + "a" * n,
    "repeated-cues": _fill("cancel my not too expensive broken "),
    "cue-then-spaces": _spaces_after("cancel"),
    "manager-spaces": _spaces_after("speak to"),
    "question-flood": _fill("how do I "),
}

TAXONOMY = ProductTaxonomy(DEFAULT_AREAS)
COMPETITORS = extractors.competitor_pattern(list(extractors.DEFAULT_COMPETITORS))
CANONICAL = {n.lower(): n for n in extractors.DEFAULT_COMPETITORS}
LEXICON = LexiconScorer()
SIMILARITIES = {"cancellation_intent": 0.9, "price_complaint": 0.9, "defect": 0.9, "none": 0.1}


def _history(text: str) -> list[TurnRecord]:
    now = datetime.now(UTC)
    return [
        TurnRecord(
            id=uuid.uuid4(),
            conversation_id="c1",
            turn_key=str(i),
            request_hash="",
            seq=i + 1,
            speaker=speaker,
            channel="chat",
            text=text,
            occurred_at=now,
        )
        for i, speaker in enumerate(("customer", "agent", "customer"))
    ]


WORK: dict[str, Callable[[str], object]] = {
    "escalation rules (trend)": matched_rules,
    "signal phrase rules": extractors.from_phrase_rules,
    "embedding votes and negation": lambda t: extractors.from_similarities(SIMILARITIES, text=t),
    "competitor names": lambda t: extractors.competitor_mentions(t, COMPETITORS, CANONICAL),
    "documentation gap": lambda t: extractors.documentation_gap(t, 0.1, 0.5),
    "product area": lambda t: TAXONOMY.area_for(t, None),
    "sentences": lambda t: sentences(t + " "),  # a new string each time: no cache hit
    "rolling summary": lambda t: summaries.rolling_summary(_history(t + " ")),
    "after-contact summary": lambda t: summaries.after_contact(_history(t + " ")),
    "normalisation": normalize_text,
    "lexicon scores (sentiment)": lambda t: LEXICON.features([t]),
    "situation cues with a gap word": lambda t: has_cue(t, ["cancel my subscription", "speak to a manager"], gap=True),
}


@pytest.mark.parametrize("family", list(FAMILIES))
@pytest.mark.parametrize("work", list(WORK))
def test_text_work_grows_linearly(work: str, family: str) -> None:
    assert_linear_growth(WORK[work], FAMILIES[family])


def test_the_reported_complaint_payload_is_fast() -> None:
    # Issue 19: 20,000 characters of "file", spaces and "x" took 12.7 s in the complaint pattern.
    assert_linear_growth(matched_rules, lambda n: "file" + " " * n + "x", ceiling_s=0.05)


def test_the_reported_link_payload_is_fast() -> None:
    # Issue 19: "[[[[…" took 3.7 s in the Markdown link pattern.
    assert_linear_growth(lambda t: sentences(t + "."), _fill("["), ceiling_s=0.05)


def test_evidence_redaction_costs_the_same_whatever_the_text_length() -> None:
    # phonenumbers on "1/2 1/2 …" is slow; the evidence is redacted on its window, not the whole text.
    times = assert_linear_growth(evidence_of, _fill("I will cancel 1/2 "), max_ratio=1.5, ceiling_s=0.2)
    assert len(evidence_of("1/2 " * 5000)) <= EVIDENCE_MAX_CHARS
    assert times[-1] < 0.2
