"""The ``txassist`` command line, run as a real subprocess."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from txassist.cli import build_parser

REPO = Path(__file__).resolve().parents[2]


def run_cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "txassist", *args],
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {})},
        cwd=REPO,
        timeout=120,
        check=False,
    )


def test_help_lists_commands() -> None:
    result = run_cli("--help")
    assert result.returncode == 0
    for command in ("serve", "db"):
        assert command in result.stdout


def test_serve_accepts_host_and_port() -> None:
    args = build_parser().parse_args(["serve", "--host", "0.0.0.0", "--port", "9000"])
    assert (args.host, args.port) == ("0.0.0.0", 9000)


def test_db_upgrade_creates_database(tmp_path: Path) -> None:
    result = run_cli("db", "upgrade", env={"TXASSIST_DATA_DIR": str(tmp_path)})
    assert result.returncode == 0, result.stderr
    assert "revision 0004" in result.stdout
    assert (tmp_path / "txassist.db").exists()


def test_bad_setting_exits_2_with_message(tmp_path: Path) -> None:
    result = run_cli("db", "upgrade", env={"TXASSIST_DATA_DIR": str(tmp_path), "TXASSIST_API_KEYS": "{"})
    assert result.returncode == 2
    assert "TXASSIST_API_KEYS" in result.stderr
