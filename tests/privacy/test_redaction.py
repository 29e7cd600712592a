from __future__ import annotations

import json

import pytest
import structlog

from txassist.privacy.pseudonym import customer_ref
from txassist.privacy.redaction import redact, redact_log_event


@pytest.mark.parametrize(
    ("text", "placeholder", "secret"),
    [
        ("reach me at jane.doe+orders@example.co.uk today", "[EMAIL]", "jane.doe"),
        ("call me on +44 20 7946 0958 after five", "[PHONE]", "7946 0958"),
        ("my number is (415) 555-2671", "[PHONE]", "555-2671"),
        ("card 4111 1111 1111 1111 was declined", "[CARD]", "4111 1111"),
        ("card 5500-0000-0000-0004 please", "[CARD]", "5500-0000"),
        ("send it to GB82 WEST 1234 5698 7654 32 please", "[IBAN]", "WEST 1234"),
        ("IBAN DE89370400440532013000", "[IBAN]", "DE89370400440532013000"),
        ("deliver to 221B Baker Street, London NW1 6XE", "[ADDRESS]", "Baker Street"),
        ("ship to 1600 Pennsylvania Avenue NW, Washington, DC 20500", "[ADDRESS]", "Pennsylvania"),
        ("my zip code is 94105", "[ADDRESS]", "94105"),
        ("SSN 123-45-6789", "[NATIONAL_ID]", "6789"),
        ("my NI number is QQ 12 34 56 C", "[NATIONAL_ID]", "QQ 12"),
        ("passport number X1234567", "[NATIONAL_ID]", "X1234567"),
    ],
)
def test_each_pii_type_is_replaced_by_its_placeholder(text: str, placeholder: str, secret: str) -> None:
    redacted = redact(text)
    assert placeholder in redacted
    assert secret not in redacted


@pytest.mark.parametrize(
    "text",
    [
        "order 12345678 cost $49.99 on 2024-03-05",
        "card 4111 1111 1111 1112 failed",  # fails the Luhn check: not a card number
        "GB82 WEST 1234 5698 7654 33",  # wrong IBAN check digits
        "it took 20 minutes and 3 calls",
        "my Thermo firmware is 4.2.1",
    ],
)
def test_ordinary_numbers_are_left_alone(text: str) -> None:
    assert redact(text) == text


def test_log_processor_redacts_nested_values_and_keeps_our_fields() -> None:
    event = {"event": "turn from bob@example.com", "extra": {"phone": ["+1 415 555 2671"]}, "request_id": "r-1"}
    out = redact_log_event(None, "info", event)
    rendered = json.dumps(dict(out))
    assert "bob@example.com" not in rendered and "555 2671" not in rendered
    assert out["request_id"] == "r-1"


def test_configured_logging_redacts(capsys: pytest.CaptureFixture[str]) -> None:
    from txassist.config import Settings
    from txassist.logging import configure_logging

    configure_logging(Settings.from_env({}))
    try:
        structlog.get_logger("t").info("contact", text="write to carol@example.org")
        assert "carol@example.org" not in capsys.readouterr().err
    finally:
        # The configured logger holds capsys's stream, which closes after this test.
        structlog.reset_defaults()


def test_customer_ref_is_keyed_and_stable() -> None:
    assert customer_ref("c1", "s") == customer_ref("c1", "s")
    assert customer_ref("c1", "s") != customer_ref("c1", "t")
    assert "customer-42" not in customer_ref("customer-42", "s")
