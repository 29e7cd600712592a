"""Forwarders as real processes: killed with SIGKILL mid-delivery, and two replicas on one database."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from advanced_alchemy.extensions.litestar import SQLAlchemyAsyncConfig

from tests.outbox.conftest import FAST, add_events, statuses, wait_until
from tests.outbox.receiver import SECRET, TxStoreReceiver
from txassist.config import Settings

REPO_ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def spawn(tmp_path: Path) -> Iterator[Callable[..., subprocess.Popen[bytes]]]:
    started: list[subprocess.Popen[bytes]] = []

    def run(settings: Settings, name: str) -> subprocess.Popen[bytes]:
        env = {
            **os.environ,
            "TXASSIST_DATABASE_URL": settings.resolved_database_url,
            "TXASSIST_DATA_DIR": str(settings.data_dir),
            "TXASSIST_TX_STORE_URL": settings.tx_store_url,
            "TXASSIST_TX_STORE_SECRET": SECRET,
            "TXASSIST_LOG_FORMAT": "json",
            **{f"TXASSIST_{k.upper()}": str(v) for k, v in FAST.items() if k != "tx_store_secret"},
            "TXASSIST_TX_STORE_TIMEOUT_S": str(settings.tx_store_timeout_s),
            "TXASSIST_OUTBOX_LEASE_S": str(settings.outbox_lease_s),
        }
        log = (tmp_path / f"{name}.log").open("wb")
        process = subprocess.Popen(
            [sys.executable, "-m", "txassist.outbox"], cwd=REPO_ROOT, env=env, stdout=log, stderr=log
        )
        started.append(process)
        return process

    yield run
    for process in started:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()


async def test_kill_9_mid_delivery_then_restart_delivers_all_with_the_same_ids(
    fast_settings: Callable[..., Settings],
    db: SQLAlchemyAsyncConfig,
    receiver: TxStoreReceiver,
    spawn: Callable[..., subprocess.Popen[bytes]],
) -> None:
    settings = fast_settings(tx_store_url=receiver.url, tx_store_timeout_s=30.0, outbox_lease_s=2.0)
    ids = await add_events(db, 30)
    receiver.script = ["hang"]  # the first batch is in flight when the process dies
    first = spawn(settings, "first")
    await wait_until(receiver.got_request.is_set, timeout=60)
    first.kill()  # SIGKILL: no cleanup, the claim stays on the rows
    first.wait(timeout=10)
    in_flight = set(receiver.seen)
    assert in_flight and not receiver.accepted
    assert set((await statuses(db)).values()) == {"pending"}

    spawn(settings, "second")
    await wait_until(lambda: _delivered(db, ids), timeout=90)
    assert set(receiver.accepted) == set(ids)  # nothing lost
    assert set(receiver.seen) <= set(ids)  # nothing re-sent under a different id
    assert in_flight <= set(receiver.accepted)  # the killed batch came back with its original ids


async def test_two_forwarder_processes_share_the_work_without_double_delivery(
    tmp_path: Path,
    fast_settings: Callable[..., Settings],
    db: SQLAlchemyAsyncConfig,
    receiver: TxStoreReceiver,
    spawn: Callable[..., subprocess.Popen[bytes]],
) -> None:
    settings = fast_settings(tx_store_url=receiver.url, tx_store_timeout_s=10.0, outbox_lease_s=30.0)
    receiver.delay_s = 0.1  # keep batches in flight so the replicas overlap
    spawn(settings, "a")
    spawn(settings, "b")
    logs = [tmp_path / "a.log", tmp_path / "b.log"]
    await wait_until(lambda: all(b"outbox_forwarder_started" in p.read_bytes() for p in logs), timeout=60)
    ids = await add_events(db, 200)
    await wait_until(lambda: _delivered(db, ids), timeout=120)
    assert all(b"outbox_batch" in p.read_bytes() for p in logs)  # both replicas did deliver
    counts = receiver.accepted_counts()
    assert set(counts) == set(ids)
    assert max(counts.values()) == 1  # no event sent by both replicas
    assert receiver.rejected_signatures == 0


async def _delivered(db: SQLAlchemyAsyncConfig, ids: list[str]) -> bool:
    found = await statuses(db)
    return all(found.get(i) == "delivered" for i in ids)
