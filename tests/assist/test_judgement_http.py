"""Language, intents, escalation and churn signals on one customer turn, through the real app.

The escalation flag and the ``cancellation_intent`` signal both read the turn's intents, so they must
agree on every turn; non-English turns are routed to the multilingual heads.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient

from tests.conftest import auth

Client = AsyncTestClient[Litestar]


@pytest.fixture
def database_url(tmp_path: Path) -> str:
    # The judgement is the same on either database; SQLite keeps this module quick.
    return f"sqlite+aiosqlite:///{tmp_path / 'txassist.db'}"


async def _turn(client: Client, conversation: str, text: str) -> dict[str, Any]:
    response = await client.post(
        f"/v1/conversations/{conversation}/turns",
        json={"customer_id": f"cust-{conversation}", "channel": "chat", "speaker": "customer", "text": text},
        headers=auth("platform-key"),
    )
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    assert body["degraded"] == []
    return body


def _cancellation_signal(body: dict[str, Any]) -> bool:
    return any(s["type"] == "cancellation_intent" for s in body["signals"])


def _agree(body: dict[str, Any]) -> None:
    fired = "cancel_service" in body["intents"]["fired"]
    assert _cancellation_signal(body) == fired
    assert ("cancellation" in body["sentiment"]["reasons"]) == fired
    assert body["sentiment"]["escalation"] == bool(body["sentiment"]["reasons"])


async def test_escalation_and_churn_signal_agree_on_the_thermo_turn(client: Client) -> None:
    body = await _turn(
        client,
        "thermo",
        "My Thermo keeps dropping off the Wi-Fi every evening, I've reset it three times. Should I just cancel?",
    )
    _agree(body)
    assert body["language"] == "en"
    assert "cancel_service" in body["intents"]["fired"]
    assert body["sentiment"]["escalation"] is True


async def test_cancelling_a_transfer_is_no_cancellation(client: Client) -> None:
    body = await _turn(client, "transfer", "How do I cancel the transfer I just made?")
    _agree(body)
    assert "how_to" in body["intents"]["fired"]
    assert not _cancellation_signal(body)
    assert body["sentiment"]["escalation"] is False


@pytest.mark.xfail(strict=True, reason="the shipped English head still reads this question as negative (0.95)")
async def test_cancelling_a_transfer_is_a_neutral_question(client: Client) -> None:
    body = await _turn(client, "transfer-label", "How do I cancel the transfer I just made?")
    assert body["sentiment"]["label"] != "negative"


async def test_norwegian_cancellation_is_negative_with_cancel_service(client: Client) -> None:
    body = await _turn(client, "nb", "Jeg vil si opp abonnementet mitt, dette er helt uakseptabelt!")
    _agree(body)
    assert body["language"] == "nb" and body["intents"]["language"] == "nb"
    assert body["sentiment"]["language"] == "nb" and body["sentiment"]["reliable"] is True
    assert "cancel_service" in body["intents"]["fired"]
    assert _cancellation_signal(body)
    assert body["sentiment"]["escalation"] is True


@pytest.mark.xfail(strict=True, reason="the e5 head labels this turn positive (0.88 macro-F1 on the Norwegian set)")
async def test_norwegian_cancellation_is_negative(client: Client) -> None:
    body = await _turn(client, "nb-label", "Jeg vil si opp abonnementet mitt, dette er helt uakseptabelt!")
    assert body["sentiment"]["label"] == "negative"


async def test_spanish_subscription_cancellation_raises_the_signal(client: Client) -> None:
    body = await _turn(client, "es", "Quiero cancelar mi suscripción")
    _agree(body)
    assert body["language"] == "es"
    assert "cancel_service" in body["intents"]["fired"]
    assert _cancellation_signal(body)


async def test_unsupported_script_is_marked_unreliable(client: Client) -> None:
    body = await _turn(client, "th", "ฉันต้องการความช่วยเหลือเกี่ยวกับบัญชีของฉันด่วนที่สุด")
    assert body["language"] == "th"
    assert body["sentiment"]["reliable"] is False
    assert body["sentiment"]["score"] < 0.85
