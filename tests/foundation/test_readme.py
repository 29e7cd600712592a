"""The README is the front door: its configuration table must name every setting there is."""

from __future__ import annotations

from pathlib import Path

import msgspec

from txassist.config import Settings

README = Path(__file__).resolve().parents[2] / "README.md"


def test_every_setting_is_documented() -> None:
    text = README.read_text(encoding="utf-8")
    missing = [f.name for f in msgspec.structs.fields(Settings) if f"`TXASSIST_{f.name.upper()}`" not in text]
    assert missing == []


def test_quick_start_names_the_two_commands() -> None:
    text = README.read_text(encoding="utf-8")
    assert "make run" in text
    assert "make test" in text
