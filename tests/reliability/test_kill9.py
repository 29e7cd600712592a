"""``kill -9`` of the server mid-write: every acknowledged turn survives, the database is intact,
and the restarted server answers on the same data."""

from __future__ import annotations

import asyncio
import signal
import sqlite3
import time
from pathlib import Path

import httpx
from benchmarks import soak

WRITERS = 4
KILL_AFTER_S = 4.0


async def _write_turns(
    client: httpx.AsyncClient, worker: int, acknowledged: list[tuple[str, str]], stop: asyncio.Event
) -> None:
    conversation_id = f"k9-{worker}"
    for turn in range(10_000):
        if stop.is_set():
            return
        turn_id = f"t{turn}"
        body = {
            "customer_id": f"cust-k9-{worker}",
            "channel": "chat",
            "speaker": "customer" if turn % 2 == 0 else "agent",
            "text": f"message {turn} from writer {worker} about my card payment",
            "turn_id": turn_id,
        }
        try:
            response = await client.post(
                f"/v1/conversations/{conversation_id}/turns",
                json=body,
                headers={"Authorization": "Bearer platform-key"},
            )
        except httpx.HTTPError:
            return  # the server died under this request: not acknowledged, may or may not be stored
        if response.status_code < 300:
            acknowledged.append((conversation_id, turn_id))


async def test_kill_9_mid_write_loses_no_acknowledged_turn(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    acknowledged: list[tuple[str, str]] = []
    port = soak.free_port()
    with soak.server_process(data_dir, port, ingest_kb=False) as proc:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=30) as client:
            await soak.wait_ready(client, proc)
            stop = asyncio.Event()
            writers = [asyncio.create_task(_write_turns(client, n, acknowledged, stop)) for n in range(WRITERS)]
            started = time.monotonic()
            while time.monotonic() - started < KILL_AFTER_S or len(acknowledged) < 8:
                assert time.monotonic() - started < 120, "no turns acknowledged"
                await asyncio.sleep(0.1)
            proc.send_signal(signal.SIGKILL)  # requests in flight: mid-write by construction
            proc.wait(timeout=10)
            stop.set()
            await asyncio.gather(*writers)
    assert proc.returncode == -signal.SIGKILL

    databases = list(data_dir.glob("*.db"))
    assert databases, list(data_dir.iterdir())
    for database in databases:
        with sqlite3.connect(database) as conn:
            assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"

    port = soak.free_port()
    with soak.server_process(data_dir, port, ingest_kb=False) as proc:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=30) as client:
            await soak.wait_ready(client, proc)
            stored: dict[str, set[str]] = {}
            for conversation_id in {c for c, _ in acknowledged}:
                response = await client.get(
                    f"/v1/conversations/{conversation_id}", headers={"Authorization": "Bearer agent-key"}
                )
                assert response.status_code == 200, response.text
                stored[conversation_id] = {t["turn_id"] for t in response.json()["turns"]}
            lost = [(c, t) for c, t in acknowledged if t not in stored[c]]
            assert lost == [], f"{len(lost)} of {len(acknowledged)} acknowledged turns lost"
            # And the restarted server takes new writes on the same conversations.
            more = await client.post(
                "/v1/conversations/k9-0/turns",
                json={"customer_id": "cust-k9-0", "channel": "chat", "speaker": "customer", "text": "still there?"},
                headers={"Authorization": "Bearer platform-key"},
            )
            assert more.status_code == 200, more.text
