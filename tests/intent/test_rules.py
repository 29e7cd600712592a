"""The negation override: a cancellation the customer explicitly does not want is withdrawn."""

from __future__ import annotations

import pytest

from txassist.intent.rules import negated_cancellation, weighing_cancellation


@pytest.mark.parametrize(
    "text",
    [
        "I don't want to cancel my subscription, I just want a cheaper plan.",
        "I'm not going to cancel but I'm not happy either.",
        "Jeg vil ikke si opp, jeg vil bare ha en billigere avtale.",
        "Ich will nicht kündigen, nur einen günstigeren Tarif.",
        "No quiero darme de baja, solo una tarifa más barata.",
        "Je ne veux pas résilier mon abonnement.",
    ],
)
def test_negated_cancellation_is_recognised(text: str) -> None:
    assert negated_cancellation(text)


@pytest.mark.parametrize(
    "text",
    [
        "I want to cancel my subscription.",
        "Should I just cancel?",
        "Jeg vil si opp abonnementet mitt.",
        "Quiero cancelar mi suscripción.",
        # A negation elsewhere does not withdraw a plain request to leave.
        "It doesn't work, so cancel my contract.",
        "I don't like this. I want to cancel.",
    ],
)
def test_plain_cancellation_is_not_negated(text: str) -> None:
    assert not negated_cancellation(text)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("My Thermo keeps dropping off the Wi-Fi. Should I just cancel?", True),
        ("Honestly I might as well cancel at this point.", True),
        ("Should I cancel the transfer and send it again?", False),
        ("I don't think I should cancel, should I?", False),
    ],
)
def test_weighing_up_cancellation(text: str, expected: bool) -> None:
    assert weighing_cancellation(text) is expected
