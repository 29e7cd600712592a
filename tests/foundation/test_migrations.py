"""Migrations apply from scratch on SQLite and PostgreSQL, are idempotent, and match the models."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from contextlib import closing
from pathlib import Path

import anyio.to_thread
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect
from sqlalchemy.ext.asyncio import create_async_engine

from txassist.db import migrate
from txassist.db.models import Base

EXPECTED_TABLES = {
    "customers",
    "customer_identities",
    "customer_matches",
    "conversations",
    "turns",
    "suggestions",
    "suggestion_feedback",
    "signals",
    "outbox_events",
    "learned_replies",
    "learned_reply_sources",
    "alembic_version",
}


async def test_upgrade_creates_schema_matching_models(database_url: str) -> None:
    await anyio.to_thread.run_sync(migrate.upgrade, database_url)
    # A second run is a no-op (replicas all migrate at start).
    await anyio.to_thread.run_sync(migrate.upgrade, database_url)

    engine = create_async_engine(database_url)
    try:
        async with engine.connect() as conn:
            tables = set(await conn.run_sync(lambda c: inspect(c).get_table_names()))
            diff = await conn.run_sync(lambda c: compare_metadata(MigrationContext.configure(c), Base.metadata))
    finally:
        await engine.dispose()
    assert tables >= EXPECTED_TABLES
    # Models and migrations must not drift apart.
    structural = {"add_table", "remove_table", "add_column", "remove_column"}
    assert [d for d in diff if isinstance(d, tuple) and d[0] in structural] == []


async def test_replicas_starting_together_do_not_race(database_url: str, tmp_path: Path) -> None:
    # Three processes, as three replicas starting at once would.
    env = {**os.environ, "TXASSIST_DATABASE_URL": database_url, "TXASSIST_DATA_DIR": str(tmp_path)}
    procs = [
        subprocess.Popen([sys.executable, "-m", "txassist", "db", "upgrade"], env=env, stderr=subprocess.PIPE)
        for _ in range(3)
    ]
    for proc in procs:
        _, stderr = proc.communicate(timeout=120)
        assert proc.returncode == 0, stderr.decode()[-2000:]
    engine = create_async_engine(database_url)
    try:
        async with engine.connect() as conn:
            tables = set(await conn.run_sync(lambda c: inspect(c).get_table_names()))
    finally:
        await engine.dispose()
    assert tables >= EXPECTED_TABLES


def test_sqlite_database_is_in_wal_mode_once_migrated(tmp_path: Path) -> None:
    # Set by the migration, under its lock: a service connection never has to take the exclusive lock
    # that switching journal modes needs while other connections are open.
    database = tmp_path / "txassist.db"
    migrate.upgrade(f"sqlite+aiosqlite:///{database}")
    with closing(sqlite3.connect(database)) as plain:  # no pragmas of ours on this connection
        assert plain.execute("PRAGMA journal_mode").fetchone() == ("wal",)
