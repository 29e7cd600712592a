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


def test_layout_names_every_package_and_root_module() -> None:
    text = README.read_text(encoding="utf-8")
    layout = text.split("## Layout", 1)[1].split("\n## ", 1)[0]
    package = README.parent / "src" / "txassist"
    folders = [p.name + "/" for p in package.iterdir() if p.is_dir() and (p / "__init__.py").is_file()]
    modules = [p.name for p in package.glob("*.py") if p.name not in {"__init__.py", "__main__.py", "asgi.py"}]
    missing = [name for name in folders + modules if name not in layout]
    assert missing == []
