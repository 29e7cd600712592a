"""A header-read timeout: a connection that sends half a header (or trickles it) is closed, against a
server process, over a raw socket. Both of uvicorn's HTTP/1.1 implementations, then ``txassist serve``."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator

import pytest

from tests.conftest import REPO_ROOT
from tests.support.server import free_port, running_server, server_env
from txassist.http.header_timeout import HeaderTimeoutHttpToolsProtocol

TIMEOUT_S = 1.0
# A tiny app served by uvicorn with the protocol class named on the command line.
SERVER = """
import sys, uvicorn
from txassist.http import header_timeout

async def app(scope, receive, send):
    if scope["type"] != "http":
        return
    await send({"type": "http.response.start", "status": 200, "headers": [(b"content-length", b"2")]})
    await send({"type": "http.response.body", "body": b"ok"})

uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[1]), http=getattr(header_timeout, sys.argv[2]), log_level="error")
"""
PROTOCOLS = ["HeaderTimeoutH11Protocol"]
if HeaderTimeoutHttpToolsProtocol is not None:
    PROTOCOLS.append("HeaderTimeoutHttpToolsProtocol")


@pytest.fixture(params=PROTOCOLS)
def port(request: pytest.FixtureRequest) -> Iterator[int]:
    port = free_port()
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT / "src"), "TXASSIST_HEADER_TIMEOUT_S": str(TIMEOUT_S)}
    process = subprocess.Popen([sys.executable, "-c", SERVER, str(port), request.param], env=env)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if time.monotonic() > deadline or process.poll() is not None:
                    raise
                time.sleep(0.1)
        yield port
    finally:
        process.terminate()
        process.wait(timeout=10)


def _closed_after(sock: socket.socket, *, trickle: bytes = b"", limit_s: float = 8.0) -> float:
    """Seconds until the server closes ``sock``; sends ``trickle`` one byte at a time meanwhile."""
    started = time.monotonic()
    sock.settimeout(0.2)
    pending = list(trickle)
    while time.monotonic() - started < limit_s:
        if pending:
            try:
                sock.send(bytes([pending.pop(0)]))
            except OSError:
                return time.monotonic() - started
        try:
            if sock.recv(1024) == b"":
                return time.monotonic() - started
        except TimeoutError:
            continue
        except OSError:
            return time.monotonic() - started
    raise AssertionError(f"connection still open after {limit_s} s")


def _request(sock: socket.socket, path: str = "/") -> bytes:
    """One whole request; returns the whole response (head and a Content-Length body)."""
    sock.sendall(f"GET {path} HTTP/1.1\r\nHost: x\r\n\r\n".encode())
    sock.settimeout(5)
    data = b""
    while b"\r\n\r\n" not in data:
        data += sock.recv(4096)
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.lower().split(b"\r\n")
    length = next(int(line.split(b":")[1]) for line in lines if line.startswith(b"content-length"))
    while len(body) < length:
        body += sock.recv(4096)
    return data


def test_half_a_header_is_closed(port: int) -> None:
    with socket.create_connection(("127.0.0.1", port)) as sock:
        sock.sendall(b"GET / HTTP/1.1\r\nHost: x\r\nX-Half: ")
        assert TIMEOUT_S * 0.8 <= _closed_after(sock) < TIMEOUT_S + 3


def test_a_header_trickled_byte_by_byte_is_closed(port: int) -> None:
    # One byte every 0.2 s would keep uvicorn's keep-alive timer from ever firing.
    with socket.create_connection(("127.0.0.1", port)) as sock:
        assert _closed_after(sock, trickle=b"GET / HTTP/1.1\r\n" + b"X-Slow: " + b"a" * 100) < TIMEOUT_S + 3


def test_a_silent_connection_is_closed(port: int) -> None:
    with socket.create_connection(("127.0.0.1", port)) as sock:
        assert _closed_after(sock) < TIMEOUT_S + 3


def test_whole_requests_are_served_on_a_kept_alive_connection(port: int) -> None:
    with socket.create_connection(("127.0.0.1", port)) as sock:
        assert _request(sock).startswith(b"HTTP/1.1 200")
        time.sleep(TIMEOUT_S * 1.5)  # idle between requests: keep-alive's business (5 s), not ours
        assert _request(sock).startswith(b"HTTP/1.1 200")


@pytest.mark.e2e
def test_txassist_serve_closes_half_a_header(tmp_path_factory: pytest.TempPathFactory) -> None:
    data_dir = tmp_path_factory.mktemp("header-timeout")
    env = server_env(data_dir, {"k": ["agent"]}, TXASSIST_HEADER_TIMEOUT_S=str(TIMEOUT_S))
    with running_server(env, data_dir / "server.log", ready_path="/health/live") as base:
        host, port = base.removeprefix("http://").split(":")
        with socket.create_connection((host, int(port))) as sock:
            sock.sendall(b"GET /health/live HTTP/1.1\r\nHost: x\r\n")
            assert _closed_after(sock) < TIMEOUT_S + 3
        with socket.create_connection((host, int(port))) as sock:
            assert _request(sock, "/health/live").startswith(b"HTTP/1.1 200")
