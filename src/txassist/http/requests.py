"""The request class every route gets: Litestar's own, with the decoder's edge cases answered as 400.

msgspec decodes in C but recurses per nesting level: a 10 KB body of brackets exhausts Python's
recursion limit and raises ``RecursionError``, which Litestar does not treat as a client error. Raising
``SerializationException`` instead lets Litestar answer 400 through the usual problem-details handler,
for every route, before any handler code runs.
"""

from __future__ import annotations

from typing import Any, TypeAlias

from litestar import Request
from litestar.connection import ASGIConnection
from litestar.exceptions import SerializationException

# Handlers, guards and exception handlers take a connection of any user, auth and state: Litestar's own
# signatures leave those open, and an exact type would not match them.
AnyRequest: TypeAlias = Request[Any, Any, Any]
AnyConnection: TypeAlias = ASGIConnection[Any, Any, Any, Any]


class TxAssistRequest(AnyRequest):
    async def json(self) -> object:
        try:
            return await super().json()
        except RecursionError:
            raise SerializationException("the JSON body nests too deeply") from None

    async def msgpack(self) -> object:
        try:
            return await super().msgpack()
        except RecursionError:
            raise SerializationException("the MessagePack body nests too deeply") from None
