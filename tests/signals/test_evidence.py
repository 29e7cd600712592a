"""Signal evidence: redacted on a bounded window, and nothing cut at the window's edge slips through."""

from __future__ import annotations

import pytest

from txassist.privacy.redaction import redact
from txassist.signals.evidence import EVIDENCE_MAX_CHARS, evidence_of, redacted_window


@pytest.mark.parametrize("offset", range(EVIDENCE_MAX_CHARS - 40, EVIDENCE_MAX_CHARS + 40, 7))
def test_pii_across_the_kept_edge_is_redacted_or_left_out(offset: int) -> None:
    text = "x" * offset + " card 4111 1111 1111 1111 or mail jane.doe@example.com " + "y " * 2000
    evidence = evidence_of(text)
    assert len(evidence) <= EVIDENCE_MAX_CHARS
    assert "jane" not in evidence and "4111 1111" not in evidence
    assert evidence == redact(text)[:EVIDENCE_MAX_CHARS]


def test_many_placeholders_before_the_edge_still_keep_it_clean() -> None:
    # Each address shrinks to a short placeholder, so the kept part reaches further into the text.
    text = "mail a.very.long.address.number@example-company.com " * 40 + "call +44 20 7946 0958 " * 40
    evidence = evidence_of(text)
    assert evidence == redact(text)[:EVIDENCE_MAX_CHARS]
    assert "7946" not in evidence and "example-company" not in evidence


@pytest.mark.parametrize("offset", range(0, 80, 9))
def test_the_close_transcript_keeps_its_clean_end(offset: int) -> None:
    keep = 2_000
    pii = " card 4111 1111 1111 1111, mail jane.doe@example.com "
    text = "y " * 3000 + "x" * offset + pii + "z " * (keep // 2 - 30)  # the PII straddles the kept edge
    tail = redacted_window(text, keep, tail=True)
    assert tail == redact(text)[-keep:]
    assert "jane" not in tail and "4111 1111" not in tail
