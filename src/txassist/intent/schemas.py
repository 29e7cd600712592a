"""The intent labels and the per-turn result the pipeline, the escalation flag and the signals read."""

from __future__ import annotations

import msgspec

INTENT_LABELS: tuple[str, ...] = (
    "cancel_service",  # leave / cancel a subscription, account or contract (not a transfer, order, card)
    "complaint",  # about service, product or staff
    "human_agent",  # asks for a manager, supervisor or a human
    "thanks_resolved",  # thanks, the problem is solved, goodbye
    "abuse",  # insults, threats, profanity aimed at the agent or company
    "billing_dispute",  # disputes a charge, double charge, wrong amount, refund demand
    "defect_report",  # something broken, not working, an error
    "how_to",  # asks how to do something, for steps
    "off_topic",  # general help no contact centre gives (homework, code, trivia, jokes, poems)
)


class Intents(msgspec.Struct, frozen=True):
    scores: dict[str, float]  # probability per label, 0..1
    fired: list[str]  # labels over their thresholds, strongest first
    reasons: list[str]  # which model or rule fired, human readable
    language: str  # BCP 47 of the text the intents were read from
