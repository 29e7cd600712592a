"""Language identification with the bundled models: the codes callers receive are BCP 47."""

from __future__ import annotations

import pytest

from txassist.text.language import LanguageDetector


@pytest.fixture(scope="module")
def detector() -> LanguageDetector:
    found = LanguageDetector()
    found.warm_up()
    return found


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("How do I cancel the transfer I just made?", "en"),
        # fastText alone calls these Danish; Norwegian customers must get nb.
        ("Jeg vil si opp abonnementet mitt, dette er helt uakseptabelt!", "nb"),
        ("Hei, kortet mitt fungerer ikke etter oppdateringen", "nb"),
        ("Jeg vil gerne opsige mit abonnement med det samme", "da"),
        ("Quiero cancelar mi suscripción", "es"),
        ("Ich möchte mein Abo kündigen, das ist unerhört", "de"),
        ("Je voudrais parler à un responsable", "fr"),
    ],
)
def test_customer_turns_get_their_language(detector: LanguageDetector, text: str, code: str) -> None:
    found = detector.detect(text)
    assert found.code == code
    assert found.reliable


@pytest.mark.parametrize("text", ["ok", "??", "#123-456", "   "])
def test_too_little_text_is_not_reliable(detector: LanguageDetector, text: str) -> None:
    found = detector.detect(text)
    assert not found.reliable
    assert found.confidence == 0.0
