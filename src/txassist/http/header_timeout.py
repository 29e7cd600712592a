"""A header-read timeout for uvicorn, which has none: a connection whose request head is not complete
within ``header_timeout_s`` of its first byte (or of connecting) is closed.

uvicorn's only timer is keep-alive, armed after a response and cancelled by any byte received, so a
client that sends half a header, or one byte at a time, holds its connection (and a file descriptor)
forever. These protocol classes wrap uvicorn's own two HTTP/1.1 implementations and add one timer per
connection; the timeout comes from ``TXASSIST_HEADER_TIMEOUT_S`` so that every worker process reads
the same value.
"""

from __future__ import annotations

import asyncio
from typing import Any

import h11
from uvicorn.protocols.http.h11_impl import H11Protocol

from txassist.config import Settings


def header_timeout_s() -> float:
    return Settings.from_env().header_timeout_s


class _HeaderDeadline:
    """Mixin: arms a timer while a request head is being received; closes the connection when it fires."""

    transport: asyncio.Transport
    loop: asyncio.AbstractEventLoop
    _head_timer: asyncio.TimerHandle | None = None
    _timeout_s: float = 0.0

    def _head_pending(self) -> bool:
        raise NotImplementedError

    def _arm_head_deadline(self) -> None:
        if self._timeout_s > 0 and self._head_timer is None:
            self._head_timer = self.loop.call_later(self._timeout_s, self._head_deadline_passed)

    def _disarm_head_deadline(self) -> None:
        if self._head_timer is not None:
            self._head_timer.cancel()
            self._head_timer = None

    def _after_data(self) -> None:
        if self._head_pending():
            self._arm_head_deadline()
        else:
            self._disarm_head_deadline()

    def _head_deadline_passed(self) -> None:
        self._head_timer = None
        if self._head_pending() and not self.transport.is_closing():
            self.transport.close()


class HeaderTimeoutH11Protocol(_HeaderDeadline, H11Protocol):
    # uvicorn's own arguments (config, server state, app state), passed through as they come.
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._timeout_s = _TIMEOUT_S

    def _head_pending(self) -> bool:
        # h11 leaves IDLE once it has parsed a whole request line and header block.
        return bool(self.conn.their_state is h11.IDLE)

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm_head_deadline()

    def data_received(self, data: bytes) -> None:
        super().data_received(data)
        self._after_data()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm_head_deadline()
        super().connection_lost(exc)


try:
    from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol
except ImportError:  # httptools is optional in uvicorn
    HeaderTimeoutHttpToolsProtocol: type[asyncio.Protocol] | None = None
else:

    class _HeaderTimeoutHttpTools(_HeaderDeadline, HttpToolsProtocol):
        # uvicorn's own arguments, passed through as they come.
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            self._timeout_s = _TIMEOUT_S
            self._in_head = True  # a new connection owes us a request head

        def _head_pending(self) -> bool:
            return self._in_head

        def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
            super().connection_made(transport)
            self._arm_head_deadline()

        def data_received(self, data: bytes) -> None:
            super().data_received(data)
            self._after_data()

        def on_message_begin(self) -> None:
            self._in_head = True
            super().on_message_begin()

        def on_headers_complete(self) -> None:
            self._in_head = False
            super().on_headers_complete()

        def connection_lost(self, exc: Exception | None) -> None:
            self._disarm_head_deadline()
            super().connection_lost(exc)

    HeaderTimeoutHttpToolsProtocol = _HeaderTimeoutHttpTools


_TIMEOUT_S = header_timeout_s()


def protocol_class() -> type[asyncio.Protocol]:
    """The fastest installed implementation (uvicorn's ``auto`` choice), with the header timeout."""
    return HeaderTimeoutHttpToolsProtocol or HeaderTimeoutH11Protocol
