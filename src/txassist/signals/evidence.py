"""Evidence for a signal: the customer's words, bounded and redacted, with redaction run on a window only."""

from __future__ import annotations

from txassist.privacy.redaction import redact

EVIDENCE_MAX_CHARS = 500
# Redaction sees the evidence's window plus this much: a card, phone, IBAN or address cut at the
# window's edge then falls beyond the part that is kept.
EVIDENCE_MARGIN_CHARS = 320


def evidence_of(text: str) -> str:
    """The first ``EVIDENCE_MAX_CHARS`` of ``text``, redacted; redaction runs on that window, not the text."""
    return redacted_window(text, EVIDENCE_MAX_CHARS)


def redacted_window(text: str, keep: int, *, tail: bool = False) -> str:
    """The first (or, with ``tail``, the last) ``keep`` characters of ``redact(text)``, redacting a window only.

    The window starts at ``keep`` plus twice the margin and grows only when redaction shortened it so much
    (many placeholders) that the kept part could reach the window's cut edge, where an item may be cut.
    """
    window = keep + 2 * EVIDENCE_MARGIN_CHARS
    while True:
        piece = text[-window:] if tail else text[:window]
        redacted = redact(piece)
        if len(piece) == len(text) or len(redacted) >= keep + EVIDENCE_MARGIN_CHARS:
            return redacted[-keep:] if tail else redacted[:keep]
        window *= 2
