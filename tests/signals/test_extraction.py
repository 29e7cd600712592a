"""Per-turn extraction with the real MiniLM model: each extractor, on realistic turns."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest

from txassist.config import Settings
from txassist.db.models import Conversation, Turn
from txassist.embedding import EmbeddingBatcher, TextEncoder
from txassist.privacy.redaction import redact
from txassist.signals.extraction import SignalExtractor
from txassist.text.normalize import normalize_text


@pytest.fixture(scope="module")
def encoder() -> TextEncoder:
    model = TextEncoder("")
    model.warm_up()
    return model


@pytest.fixture(scope="module")
async def service(encoder: TextEncoder) -> SignalExtractor:
    settings = Settings.from_env({}, competitors=["FreshBoxx"], pseudonym_secret="test-secret")
    signals = SignalExtractor(settings, encoder, EmbeddingBatcher(encoder))
    await signals.start()
    return signals


CONVERSATION = Conversation(id="conv-1", customer_id="cust-1", channel="chat")


def _turn(text: str, speaker: str = "customer") -> Turn:
    return Turn(
        id=uuid.uuid4(),
        conversation_id="conv-1",
        turn_key=uuid.uuid4().hex,
        request_hash="x",
        seq=1,
        speaker=speaker,
        channel="chat",
        text=text,
        occurred_at=datetime.now(UTC),
    )


async def _types(service: SignalExtractor, text: str, **kwargs: object) -> set[str]:
    args: dict[str, object] = {
        "vector": None,
        "hits": [],
        "best_dense_score": 0.9,
        "sentiment_history": [],
        "customer_recent_topics": [],
    }
    args.update(kwargs)
    found = await service.extract_for_turn(conversation=CONVERSATION, turn=_turn(text), **args)  # type: ignore[arg-type]
    return {s.type for s in found}


async def test_cancellation_and_competitor_in_one_turn(service: SignalExtractor) -> None:
    found = await service.extract_for_turn(
        conversation=CONVERSATION,
        turn=_turn("If this isn't fixed I'll cancel my subscription and go to HelloFresh. Mail me at a@b.com"),
        vector=None,
        hits=[],
        best_dense_score=0.8,
        sentiment_history=[],
        customer_recent_topics=[],
    )
    by_type = {s.type: s for s in found}
    assert {"cancellation_intent", "competitor_mention"} <= set(by_type)
    assert by_type["cancellation_intent"].kind == "churn"
    assert by_type["competitor_mention"].details["competitor"] == "HelloFresh"
    assert all("a@b.com" not in s.evidence and "[EMAIL]" in s.evidence for s in found)
    assert all(s.customer_ref and "cust-1" not in s.customer_ref for s in found)


async def test_configured_competitor_and_product_defect(service: SignalExtractor) -> None:
    assert "competitor_mention" in await _types(service, "FreshBoxx sends recipe cards that are way better")
    defect = await _types(service, "The Thermo keeps crashing when I start a recipe")
    assert "defect" in defect


async def test_documentation_gap_needs_a_question_and_a_weak_best_hit(service: SignalExtractor) -> None:
    assert "documentation_gap" in await _types(service, "How do I descale the Thermo?", best_dense_score=0.2)
    assert "documentation_gap" not in await _types(service, "How do I descale the Thermo?", best_dense_score=0.8)
    assert "documentation_gap" not in await _types(service, "Thanks, bye", best_dense_score=0.1)


async def test_worsening_sentiment_and_repeat_contact_by_topic(service: SignalExtractor) -> None:
    assert "worsening_sentiment" in await _types(service, "This is useless.", sentiment_history=[0.6, 0.1, -0.7, -0.9])
    assert "worsening_sentiment" not in await _types(service, "Fine.", sentiment_history=[0.2, 0.3, 0.1])
    repeat = await _types(
        service,
        "My Thermo is dropping the wifi connection again",
        customer_recent_topics=["Thermo loses Wi-Fi connection every evening"],
    )
    assert "repeat_contact" in repeat
    assert "repeat_contact" not in await _types(
        service, "Can I add a dessert to my next box?", customer_recent_topics=["refund for double charge"]
    )


async def test_agent_turns_and_small_talk_yield_nothing(service: SignalExtractor) -> None:
    agent_turn = _turn("I'm sorry you want to cancel, the app crash is a known bug", speaker="agent")
    found = await service.extract_for_turn(
        conversation=CONVERSATION,
        turn=agent_turn,
        vector=None,
        hits=[],
        best_dense_score=0.1,
        sentiment_history=[],
        customer_recent_topics=[],
    )
    assert found == []
    assert await _types(service, "Great, thanks for your help!") == set()


async def test_product_area_from_the_taxonomy(service: SignalExtractor) -> None:
    found = await service.extract_for_turn(
        conversation=CONVERSATION,
        turn=_turn("I was charged twice on my invoice, this is too expensive"),
        vector=None,
        hits=[],
        best_dense_score=0.9,
        sentiment_history=[],
        customer_recent_topics=[],
    )
    assert {s.product_area for s in found} == {"billing"}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("The Thermo keeps dropping off the Wi-Fi and I am fed up. Should I just cancel?", True),
        ("Honestly I'll cancel if nobody calls me back today.", True),
        ("I want to cancel my subscription.", True),
        ("Can you cancel this delivery and send it next week instead?", False),
    ],
)
async def test_bare_cancel_as_the_customers_next_step(service: SignalExtractor, text: str, expected: bool) -> None:
    assert ("cancellation_intent" in await _types(service, text)) is expected


async def test_negated_cues_raise_no_signal(service: SignalExtractor) -> None:
    # Issue 19: this raised cancellation, price and defect signals (rules and embedding alike).
    assert await _types(service, "I will not cancel, it is not too expensive, nothing is broken") == set()
    assert "cancellation_intent" not in await _types(service, "I don't want to cancel my subscription")
    # Negation is scoped: a cue in its own clause still counts.
    assert "defect" in await _types(service, "The app is not slow, but it keeps crashing")


async def test_a_zero_width_space_no_longer_hides_a_competitor(service: SignalExtractor) -> None:
    text = normalize_text("Honestly I'm switching to Hello\u200bFresh, Marley\u00a0Spoon was cheaper too")
    assert "competitor_mention" in await _types(service, text)


async def test_evidence_is_redacted_once_on_a_bounded_window(
    service: SignalExtractor, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Issue 19: the whole text was redacted once per candidate signal, then truncated.
    from txassist.signals import evidence as evidence_module

    seen: list[int] = []
    real = redact

    def counting(text: str) -> str:
        seen.append(len(text))
        return real(text)

    monkeypatch.setattr(evidence_module, "redact", counting)
    text = "I will cancel, it is too expensive, the app crashes, call +44 20 7946 0958. " + "1/2 " * 4000
    found = await _types(service, text)
    assert len(found) >= 3
    assert len(seen) == 1 and seen[0] < 3 * evidence_module.EVIDENCE_MAX_CHARS
