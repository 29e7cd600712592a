from __future__ import annotations

from txassist.conversations.identity import identity_key, normalize


def test_spellings_of_one_identity_share_a_key() -> None:
    assert identity_key("s", "email", " Ann@Example.COM ") == identity_key("s", "email", "ann@example.com")
    assert identity_key("s", "phone", "+44 20 7946 0958") == identity_key("s", "phone", "+442079460958")
    assert identity_key("s", "handle", "@Dana") == identity_key("s", "handle", "dana")


def test_keys_differ_by_kind_and_secret_and_hide_the_value() -> None:
    key = identity_key("s", "email", "ann@example.com")
    assert key != identity_key("other", "email", "ann@example.com")
    assert key != identity_key("s", "handle", "ann@example.com")
    assert "ann" not in key and len(key) == 64


def test_phone_without_country_code_keeps_digits() -> None:
    assert normalize("phone", "(020) 7946-0958") == "02079460958"
