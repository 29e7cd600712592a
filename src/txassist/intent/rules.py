"""Precise overrides on top of the model, each one explainable in a ``reasons`` line.

Negation is checked here until the shared negation helper (branch ``textwork``, ``signals/``) is
merged; then this module should call it instead.
"""

from __future__ import annotations

import re

# "I don't want to cancel", "jeg vil ikke si opp", "ich will nicht kündigen", "no quiero darme de baja".
_CANCEL_WORD = (
    r"(?:cancel\w*|terminat\w*|clos(?:e|ing)|leav(?:e|ing)|quit\w*|switch\w*|"
    r"si opp|avslutt\w*|slutte|kündig\w*|beenden|wechseln|"
    r"cancelar|dar(?:me)? de baja|irme|résilier|partir|quitter)"
)
_NEGATED_CANCEL = re.compile(
    r"\b(?:(?:do|did|will|would)\s*n[o']t|don'?t|won'?t|not|never|no need to|"
    r"ikke|nicht|kein\w*|no|ne\s+\w+\s+pas|pas)\b"
    r"(?:\s+\w+){0,3}?\s+" + _CANCEL_WORD + r"\b",
    re.IGNORECASE,
)


def negated_cancellation(text: str) -> bool:
    """True when every cancel-like word in ``text`` sits under a negation just before it."""
    return bool(_NEGATED_CANCEL.search(text)) and not _bare_cancel_outside_negation(text)


def _bare_cancel_outside_negation(text: str) -> bool:
    stripped = _NEGATED_CANCEL.sub(" ", text)
    return bool(re.search(r"\b" + _CANCEL_WORD + r"\b", stripped, re.IGNORECASE))


# "Should I just cancel?", "I might as well leave": a customer weighing up leaving is churn risk even as
# a question; the model reads such turns mostly as the complaint around them.
_WEIGHING_CANCELLATION = re.compile(
    r"\b(?:should|shall|do|might as well|may as well|maybe)\s+(?:i|we)\s+(?:just\s+|simply\s+)?"
    r"(?:cancel|leave you|quit|switch provider|close (?:my|the) account)\b(?!\s+(?:the|my|this|that|an?|it)\b)"
    r"|\b(?:i|we)\s+(?:might|may) as well (?:just )?(?:cancel|leave|quit)\b(?!\s+(?:the|my|this|that|an?|it)\b)",
    re.IGNORECASE,
)


def weighing_cancellation(text: str) -> bool:
    return bool(_WEIGHING_CANCELLATION.search(text)) and not negated_cancellation(text)
