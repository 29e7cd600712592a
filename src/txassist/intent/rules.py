"""Precise overrides on top of the model, each one explainable in a ``reasons`` line.

Negation is the signal rules' own check (``txassist.signals.negation``), so the intent detector and
the phrase rules withdraw a negated cue the same way.
"""

from __future__ import annotations

import re

from txassist.signals.negation import first_unnegated

# Cancel-like words the negation check looks at, in the languages the intent heads read.
_CANCEL_WORD = (
    r"(?:cancel\w*|terminat\w*|clos(?:e|ing)|leav(?:e|ing)|quit\w*|switch\w*|"
    r"si opp|avslutt\w*|slutte|kündig\w*|beenden|wechseln|"
    r"cancelar|dar(?:me)? de baja|irme|résilier|partir|quitter)"
)
_CANCEL = re.compile(r"\b" + _CANCEL_WORD + r"\b", re.IGNORECASE)
# Long texts: the cues that matter sit near the start of a turn; the scan stays bounded.
_SCAN_CHARS = 4_000


def negated_cancellation(text: str) -> bool:
    """True when there is a cancel-like word and every one sits under a negation ("I won't cancel")."""
    matches = list(_CANCEL.finditer(text[:_SCAN_CHARS]))
    return bool(matches) and first_unnegated(matches) is None


# "Should I just cancel?", "I might as well leave": a customer weighing up leaving is churn risk even as
# a question; the model reads such turns mostly as the complaint around them.
_WEIGHING_CANCELLATION = re.compile(
    r"\b(?:should|shall|do|might as well|may as well|maybe)\s+(?:i|we)\s+(?:just\s+|simply\s+)?"
    r"(?:cancel|leave you|quit|switch provider|close (?:my|the) account)\b(?!\s+(?:the|my|this|that|an?|it)\b)"
    r"|\b(?:i|we)\s+(?:might|may) as well (?:just )?(?:cancel|leave|quit)\b(?!\s+(?:the|my|this|that|an?|it)\b)",
    re.IGNORECASE,
)


def weighing_cancellation(text: str) -> bool:
    return bool(_WEIGHING_CANCELLATION.search(text[:_SCAN_CHARS])) and not negated_cancellation(text)
