"""Redaction covers the forms issue 19 found getting through (cards with ``.``, ``_`` or a leading ``-``,
lowercase and hyphenated IBANs, internationalised emails), and none of them reaches the outbox."""

from __future__ import annotations

import json

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy import select

from tests.conftest import auth
from txassist.db.models import OutboxEvent, Signal
from txassist.privacy.redaction import redact

RAW = ["4111111111111111", "4111", "gb82west12345698765432", "west1234", "jörg", "bücher"]


@pytest.mark.parametrize(
    ("text", "placeholder", "secret"),
    [
        ("card 4111.1111.1111.1111 declined", "[CARD]", "4111.1111"),
        ("card 4111_1111_1111_1111 declined", "[CARD]", "4111_1111"),
        ("my card-4111111111111111 was charged", "[CARD]", "4111111111"),
        ("card -4111-1111-1111-1111 declined", "[CARD]", "4111-1111"),
        ("refund to gb82west12345698765432 please", "[IBAN]", "west1234"),
        ("refund to GB82-WEST-1234-5698-7654-32 please", "[IBAN]", "WEST-1234"),
        ("refund to gb82 west 1234 5698 7654 32 thanks", "[IBAN]", "west 1234"),
        ("write to jörg@bücher.de today", "[EMAIL]", "jörg"),
        ("write to 山田@例え.jp today", "[EMAIL]", "山田"),
        ("write to ana.lópez@correo.es today", "[EMAIL]", "lópez"),
    ],
)
def test_each_form_is_redacted(text: str, placeholder: str, secret: str) -> None:
    redacted = redact(text)
    assert placeholder in redacted, redacted
    assert secret not in redacted


@pytest.mark.parametrize(
    "text",
    [
        "ticket 2024.03.05 at 10.30",
        "order_12345678_v2",
        "gb82west12345698765433",  # wrong check digits
        "version 4.2.1-beta, build 1234.5678",
        "ratio 50%%%% of 100%",
    ],
)
def test_lookalikes_are_left_alone(text: str) -> None:
    assert redact(text) == text


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
async def test_none_of_these_forms_reaches_the_outbox(client: AsyncTestClient[Litestar]) -> None:
    text = (
        "This is broken and I will cancel my subscription: my card-4111111111111111 was charged twice, "
        "refund it to gb82west12345698765432 or write to jörg@bücher.de"
    )
    body = {"customer_id": "c-forms", "channel": "chat", "speaker": "customer", "text": text, "features": ["signals"]}
    response = await client.post("/v1/conversations/conv-forms/turns", json=body, headers=auth("platform-key"))
    assert response.status_code in (200, 201), response.text
    async with client.app.state.services.db.get_session() as session:
        events = (await session.scalars(select(OutboxEvent))).all()
        payloads = [json.dumps(e.payload, ensure_ascii=False) for e in events]
        evidence = [s.evidence for s in (await session.scalars(select(Signal))).all()]
    assert payloads, "the text should raise at least one signal"
    for raw in RAW:
        assert all(raw not in payload for payload in payloads), raw
        assert all(raw not in quote for quote in evidence), raw
        assert raw not in response.text
