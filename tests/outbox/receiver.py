"""A real TX-store receiver on loopback for fault injection: uvicorn in a thread, scripted answers."""

from __future__ import annotations

import asyncio
import json
import socket
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import uvicorn

from txassist.outbox.signing import verify

SECRET = "receiver-test-secret"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass
class TxStoreReceiver:
    """Answers each POST by the next scripted mode ("ok", "500", "429", "hang", "bad_signature"
    is detected, not scripted), then by ``default``; records what it accepted and what it saw."""

    port: int = field(default_factory=free_port)
    default: str = "ok"
    script: list[str] = field(default_factory=list)
    retry_after: str = "1"
    hang_s: float = 60.0
    delay_s: float = 0.0
    accepted: list[str] = field(default_factory=list)  # event ids in 2xx-answered batches, in order
    seen: list[str] = field(default_factory=list)  # every event id received, whatever the answer
    requests: int = 0
    request_times: list[float] = field(default_factory=list)
    rejected_signatures: int = 0
    got_request: threading.Event = field(default_factory=threading.Event)
    _server: uvicorn.Server | None = None
    _thread: threading.Thread | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/events"

    def accepted_counts(self) -> Counter[str]:
        with self._lock:
            return Counter(self.accepted)

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            while True:
                message = await receive()
                if message["type"] == "lifespan.startup":
                    await send({"type": "lifespan.startup.complete"})
                elif message["type"] == "lifespan.shutdown":
                    await send({"type": "lifespan.shutdown.complete"})
                    return
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        headers = {k.decode(): v.decode() for k, v in scope["headers"]}
        with self._lock:
            self.requests += 1
            self.request_times.append(time.monotonic())
            mode = self.script.pop(0) if self.script else self.default
        if not verify(body, headers, SECRET):
            with self._lock:
                self.rejected_signatures += 1
            await _answer(send, 401, b'{"error":"bad signature"}')
            return
        events = json.loads(body)
        ids = [event["id"] for event in events]
        with self._lock:
            self.seen.extend(ids)
        self.got_request.set()
        if mode == "hang":
            # Past the sender's timeout: the sender has given up, so this batch is not accepted.
            await asyncio.sleep(self.hang_s)
            await _answer(send, 503, b"too late")
            return
        if self.delay_s:
            await asyncio.sleep(self.delay_s)
        if mode == "500":
            await _answer(send, 500, b"internal error")
        elif mode == "429":
            await _answer(send, 429, b"slow down", extra=[(b"retry-after", self.retry_after.encode())])
        else:
            with self._lock:
                self.accepted.extend(ids)
            await _answer(send, 202, b'{"accepted":true}')

    def start(self) -> None:
        config = uvicorn.Config(self, host="127.0.0.1", port=self.port, log_level="warning", lifespan="off")
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, daemon=True)
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started:
            if time.monotonic() > deadline:
                raise RuntimeError("receiver did not start")
            time.sleep(0.02)

    def stop(self) -> None:
        if self._server is not None:
            self._server.should_exit = True
            self._server.force_exit = True
        if self._thread is not None:
            self._thread.join(timeout=10)


async def _answer(send: Any, status: int, body: bytes, extra: list[tuple[bytes, bytes]] | None = None) -> None:
    headers = [(b"content-type", b"application/json"), *(extra or [])]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


class GarbageServer:
    """Accepts TCP connections and answers bytes that are not HTTP at all."""

    def __init__(self) -> None:
        self.port = free_port()
        self.connections = 0
        self._sock = socket.socket()
        self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._sock.bind(("127.0.0.1", self.port))
        self._sock.listen(16)
        self._sock.settimeout(0.2)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/events"

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self._sock.accept()
            except TimeoutError:
                continue
            self.connections += 1
            with conn:
                conn.settimeout(1)
                try:
                    conn.recv(65536)
                    conn.sendall(b"\x00\xffTOTALLY NOT HTTP\r\n\r\n")
                except OSError:
                    pass

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        self._sock.close()
