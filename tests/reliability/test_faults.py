"""Faults: the database locked or gone for a while, the index disk full. The service answers what
it can, reports the degraded part in ``/health/ready``, recovers by itself, and loses nothing."""

from __future__ import annotations

import asyncio
import contextlib
import errno
import sqlite3
import threading
import time
from collections.abc import AsyncIterator, Callable
from typing import Any

import asyncpg
import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy.engine import make_url

from tests.conftest import auth
from tests.reliability.seed import own_session, seed_customer, table_counts
from txassist.app import create_app
from txassist.config import Settings


async def _seed(app: Litestar, customer_id: str) -> None:
    async with own_session(app.state.settings) as session:
        await seed_customer(session, customer_id)
        await session.commit()


async def test_sqlite_write_lock_is_waited_out(make_settings: Callable[..., Settings]) -> None:
    # The retention job stays off: its startup purge would be a second writer racing the seed.
    settings = make_settings(retention_purge_interval_s=0)
    async with AsyncTestClient(app=create_app(settings)) as client:
        await _seed(client.app, "locked")
        db_file = settings.resolved_database_url.split("///", 1)[1]
        holder = sqlite3.connect(db_file, timeout=1, check_same_thread=False)
        holder.execute("BEGIN IMMEDIATE")  # another process holding the write lock
        holder.execute("UPDATE customers SET pseudonym = pseudonym")

        def release() -> None:
            # A commit, not a rollback: the waiting transaction must then see the newer database
            # (a read-then-write transaction on an old WAL snapshot would fail here).
            holder.commit()
            holder.close()

        # The in-process client blocks this event loop for the whole request, so the lock is let
        # go from a timer thread while the write is waiting.
        timer = threading.Timer(1.5, release)
        try:
            # Reads go on beside the writer (WAL): readiness and reads answer during the lock.
            ready = await client.get("/health/ready")
            assert ready.status_code == 200, ready.text
            timer.start()
            started = time.monotonic()
            response = await client.delete("/v1/customers/locked", headers=auth("admin-key"))
            waited = time.monotonic() - started
        finally:
            if timer.is_alive():
                timer.join()
            else:  # never started (or already fired: closing twice is a no-op error)
                with contextlib.suppress(sqlite3.ProgrammingError):
                    release()
        assert response.status_code == 200, response.text
        assert waited >= 1.4, "the write waited for the lock instead of failing"
        assert response.json()["deleted"]["turns"] == 6


@contextlib.asynccontextmanager
async def tcp_proxy(target_host: str, target_port: int) -> AsyncIterator[Any]:
    """A loopback TCP proxy to PostgreSQL that can cut every connection and refuse new ones."""

    class Proxy:
        def __init__(self) -> None:
            self.server: asyncio.AbstractServer | None = None
            self.port = 0
            self.writers: set[asyncio.StreamWriter] = set()

        async def start(self) -> None:
            self.server = await asyncio.start_server(self._handle, "127.0.0.1", self.port)
            self.port = self.server.sockets[0].getsockname()[1]

        async def stop(self) -> None:
            assert self.server is not None
            self.server.close()
            for writer in list(self.writers):
                writer.close()
            self.writers.clear()
            await self.server.wait_closed()

        async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            try:
                up_reader, up_writer = await asyncio.open_connection(target_host, target_port)
            except OSError:
                writer.close()
                return
            self.writers |= {writer, up_writer}

            async def pipe(src: asyncio.StreamReader, dst: asyncio.StreamWriter) -> None:
                with contextlib.suppress(Exception):
                    while data := await src.read(65536):
                        dst.write(data)
                        await dst.drain()
                dst.close()

            await asyncio.gather(pipe(reader, up_writer), pipe(up_reader, writer))

    # The proxy runs on an event loop of its own: the in-process test client blocks this loop
    # while the app handles a request (or starts up), and the app's database traffic goes through
    # the proxy meanwhile.
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, name="pg-proxy", daemon=True)
    thread.start()
    proxy = Proxy()

    class Handle:
        port = 0

        async def start(self) -> None:
            await asyncio.wrap_future(asyncio.run_coroutine_threadsafe(proxy.start(), loop))
            self.port = proxy.port

        async def stop(self) -> None:
            await asyncio.wrap_future(asyncio.run_coroutine_threadsafe(proxy.stop(), loop))

    handle = Handle()
    await handle.start()
    try:
        yield handle
    finally:
        with contextlib.suppress(Exception):
            await handle.stop()
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout=5)
        loop.close()


@pytest.mark.postgres
async def test_postgres_gone_then_back(make_settings: Callable[..., Settings], fresh_postgres_url: str) -> None:
    url = make_url(fresh_postgres_url)
    async with tcp_proxy(url.host or "127.0.0.1", url.port or 5432) as proxy:
        proxied = url.set(host="127.0.0.1", port=proxy.port).render_as_string(hide_password=False)
        app = create_app(make_settings(database_url=proxied, retention_purge_interval_s=0))
        async with AsyncTestClient(app=app) as client:
            await _seed(client.app, "kept")

            # Backends killed under the pool: the next request reconnects (pre-ping) and succeeds.
            conn = await asyncpg.connect(
                host=url.host, port=url.port or 5432, user=url.username, password=url.password, database="postgres"
            )
            try:
                await conn.execute(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1", url.database
                )
            finally:
                await conn.close()
            # Answered from the database (nothing stored under that id): a 404, not a 503.
            assert (await client.delete("/v1/customers/none", headers=auth("admin-key"))).status_code == 404

            # The database gone: readiness names it, live stays up, DB routes answer 503, not 500.
            await proxy.stop()
            ready = await client.get("/health/ready")
            assert ready.status_code == 503
            assert ready.json()["components"]["database"]["state"] == "failed"
            assert (await client.get("/health/live")).status_code == 200
            started = time.monotonic()
            down = await client.delete("/v1/customers/kept", headers=auth("admin-key"))
            assert down.status_code == 503, down.text
            assert down.headers.get("retry-after")
            # Neither the driver's name nor any connection detail leaks into the answer.
            assert "postgres" not in down.text.lower()
            assert "password" not in down.text.lower()
            assert (url.database or "") not in down.text
            assert time.monotonic() - started < 30, "a dead database fails fast instead of hanging"
            answered = await client.post("/v1/sentiment", json={"texts": ["this is great"]}, headers=auth("agent-key"))
            assert answered.status_code == 200, "what needs no database still answers"
            assert answered.json()["results"][0]["label"] == "positive"

            # Back: recovers by itself, and nothing stored was lost.
            await proxy.start()
            for _ in range(50):
                if (await client.get("/health/ready")).status_code == 200:
                    break
                await asyncio.sleep(0.2)
            assert (await client.get("/health/ready")).status_code == 200
            async with own_session(client.app.state.settings) as session:
                counts = await table_counts(session)
            assert counts["turns"] == 6 and counts["signals"] == 2
            back = await client.delete("/v1/customers/kept", headers=auth("admin-key"))
            assert back.status_code == 200
            assert back.json()["deleted"]["turns"] == 6


async def test_index_disk_full_is_507_and_the_index_is_untouched(
    make_settings: Callable[..., Settings], monkeypatch: pytest.MonkeyPatch
) -> None:
    index_module = pytest.importorskip("txassist.knowledge.index")
    async with AsyncTestClient(app=create_app(make_settings())) as client:
        doc = {"id": "refunds", "title": "Refunds", "text": "# Refunds\n\nRefunds take five working days."}
        first = await client.post("/v1/kb/documents", json=doc, headers=auth("admin-key"))
        assert first.status_code in (200, 201), first.text
        before = (await client.get("/v1/kb/stats", headers=auth("agent-key"))).json()

        def disk_full(*_: Any, **__: Any) -> None:
            raise OSError(errno.ENOSPC, "No space left on device")

        monkeypatch.setattr(index_module.faiss, "write_index", disk_full)
        extra = {"id": "delivery", "title": "Delivery", "text": "# Delivery\n\nParcels arrive in two days."}
        full = await client.post("/v1/kb/documents", json=extra, headers=auth("admin-key"))
        assert full.status_code == 507, full.text
        assert full.json()["error_type"] == "insufficient_storage"
        assert "No space" not in full.text

        after = (await client.get("/v1/kb/stats", headers=auth("agent-key"))).json()
        assert after["version"] == before["version"]
        assert after["documents"] == before["documents"]
        found = await client.get("/v1/kb/search", params={"q": "refund"}, headers=auth("agent-key"))
        assert found.status_code == 200
        assert found.json()["results"][0]["document_id"] == "refunds"

        monkeypatch.undo()
        recovered = await client.post("/v1/kb/documents", json=extra, headers=auth("admin-key"))
        assert recovered.status_code in (200, 201), recovered.text
        assert (await client.get("/v1/kb/stats", headers=auth("agent-key"))).json()["documents"] == 2
