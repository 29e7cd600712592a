"""No constant secrets: without a configured pseudonym secret, one is generated at first start, kept in
the data directory (mode 0600), reused across restarts and shared by replicas starting together."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import structlog

from tests.conftest import REPO_ROOT
from txassist.app import create_app
from txassist.config import Settings
from txassist.privacy.secrets import load_or_create_secret, secret_path


def test_config_holds_no_constant_secret() -> None:
    settings = Settings.from_env({})
    assert settings.pseudonym_secret == ""
    assert settings.tx_store_secret == "" and settings.openai_api_key == ""
    source = (REPO_ROOT / "src" / "txassist" / "config.py").read_text()
    assert "dev-pseudonym-secret" not in source


def test_first_start_generates_a_private_secret_that_every_part_uses(make_settings: Callable[..., Settings]) -> None:
    settings = make_settings()
    app = create_app(settings)
    path = secret_path(settings)
    secret = path.read_text().strip()
    assert len(secret) >= 32
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert app.state.settings.pseudonym_secret == secret
    services = app.state.services
    # Identity hashes and customer refs (the turn pipeline), and the signed cursors (signals).
    assert services.settings.pseudonym_secret == secret
    assert services.signals.settings.pseudonym_secret == secret
    # A restart reads it back instead of making a new one.
    assert create_app(make_settings()).state.settings.pseudonym_secret == secret


def test_a_configured_secret_wins_and_nothing_is_written(make_settings: Callable[..., Settings]) -> None:
    settings = make_settings(pseudonym_secret="from-the-environment")
    assert create_app(settings).state.settings.pseudonym_secret == "from-the-environment"
    assert not secret_path(settings).exists()


def test_generation_is_logged_without_the_value(tmp_path: Path) -> None:
    with structlog.testing.capture_logs() as logs:
        secret = load_or_create_secret(tmp_path / "s")
        load_or_create_secret(tmp_path / "s")
    assert [entry["event"] for entry in logs] == ["pseudonym_secret_generated"]
    assert secret not in repr(logs)


def test_replicas_starting_together_share_one_secret(tmp_path: Path) -> None:
    path = tmp_path / "shared" / "pseudonym_secret"
    code = (
        "import sys, time; from pathlib import Path; from txassist.privacy.secrets import load_or_create_secret; "
        "time.sleep(max(0.0, float(sys.argv[2]) - time.time())); print(load_or_create_secret(Path(sys.argv[1])))"
    )
    start_at = str(time.time() + 2.0)  # every process starts its attempt at the same moment
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT / "src")}
    procs = [
        subprocess.Popen([sys.executable, "-c", code, str(path), start_at], stdout=subprocess.PIPE, env=env, text=True)
        for _ in range(6)
    ]
    # The last line: the generating process also logs (structlog prints to stdout by default).
    outputs = {proc.communicate(timeout=60)[0].strip().splitlines()[-1] for proc in procs}
    assert all(proc.returncode == 0 for proc in procs)
    assert outputs == {path.read_text().strip()}
    assert [p.name for p in path.parent.iterdir()] == ["pseudonym_secret"]  # no temporary files left
