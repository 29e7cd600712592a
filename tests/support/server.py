"""Start ``txassist serve`` as a real process for end-to-end tests, and stop it cleanly."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

import httpx

REPO_ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def server_env(data_dir: Path, api_keys: Mapping[str, list[str]], **extra: str) -> dict[str, str]:
    """The environment of a server on its own data dir (SQLite unless ``extra`` names a database)."""
    env = dict(os.environ)
    env.pop("TXASSIST_DATABASE_URL", None)
    env.update(
        {
            "TXASSIST_DATA_DIR": str(data_dir),
            "TXASSIST_API_KEYS": json.dumps(dict(api_keys)),
            "TXASSIST_LOG_FORMAT": "json",
            "TXASSIST_LOG_LEVEL": "warning",
            "HF_HUB_OFFLINE": "1",
            "TRANSFORMERS_OFFLINE": "1",
        }
    )
    env.update(extra)
    return env


def run_cli(*args: str, env: Mapping[str, str], timeout_s: float = 600) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "txassist", *args],
        env=dict(env),
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=timeout_s,
        check=False,
    )


@contextmanager
def running_server(
    env: Mapping[str, str],
    log_path: Path,
    *,
    ready_path: str = "/health/ready",
    timeout_s: float = 300,
) -> Iterator[str]:
    """Serve on a free loopback port; yields the base URL once ``ready_path`` answers 200."""
    port = free_port()
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "txassist", "serve", "--host", "127.0.0.1", "--port", str(port)],
            env=dict(env),
            cwd=REPO_ROOT,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    base_url = f"http://127.0.0.1:{port}"
    try:
        _wait_until_ready(base_url + ready_path, process, log_path, timeout_s)
        yield base_url
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _wait_until_ready(url: str, process: subprocess.Popen[bytes], log_path: Path, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while True:
        if process.poll() is not None:
            raise AssertionError(f"server exited with {process.returncode}:\n{log_path.read_text()[-3000:]}")
        try:
            if httpx.get(url, timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        if time.monotonic() > deadline:
            raise AssertionError(f"server not ready in {timeout_s:.0f} s:\n{log_path.read_text()[-3000:]}")
        time.sleep(0.3)
