"""Apply Alembic migrations programmatically (at start-up and from ``txassist db upgrade``)."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import closing, contextmanager
from pathlib import Path

from alembic import command
from alembic.config import Config
from filelock import FileLock
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError, ProgrammingError
from sqlalchemy.ext.asyncio import create_async_engine

MIGRATIONS_DIR = Path(__file__).parent / "migrations"


def alembic_config(database_url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.set_main_option("sqlalchemy.url", database_url.replace("%", "%%"))
    return config


# Alembic keeps its context in module globals: one migration at a time per process.
_PROCESS_LOCK = threading.Lock()


def upgrade(database_url: str, revision: str = "head") -> None:
    """Migrate to ``revision``. Safe when several replicas start together: PostgreSQL serialises
    through an advisory lock (env.py), SQLite through a lock file beside the database."""
    with _PROCESS_LOCK, _sqlite_file_lock(database_url):
        command.upgrade(alembic_config(database_url), revision)
        database = _sqlite_file(database_url)
        if database is not None:
            _use_wal(database)


def _use_wal(database: Path) -> None:
    # WAL is a property of the file. Switching to it takes an exclusive lock, so it is done here, under
    # the migration lock, before the service's connections open: their own ``journal_mode=WAL`` then
    # finds it set. Left to the first pooled connection, it raced other connections ("database is locked").
    with closing(sqlite3.connect(database, timeout=30)) as connection:
        connection.execute("PRAGMA journal_mode=WAL")


def _sqlite_file(database_url: str) -> Path | None:
    url = make_url(database_url)
    if not url.drivername.startswith("sqlite") or not url.database or url.database == ":memory:":
        return None
    return Path(url.database)


@contextmanager
def _sqlite_file_lock(database_url: str) -> Iterator[None]:
    database = _sqlite_file(database_url)
    if database is None:
        yield
        return
    lock_path = database.with_suffix(".migrate.lock")
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    with FileLock(lock_path):
        yield


def current_revision(database_url: str) -> str | None:
    """The applied revision, or None for an empty database."""
    return asyncio.run(_current_revision(database_url))


async def _current_revision(database_url: str) -> str | None:
    engine = create_async_engine(database_url)
    try:
        async with engine.connect() as conn:
            result = await conn.execute(text("SELECT version_num FROM alembic_version"))
            return result.scalar_one_or_none()
    except (OperationalError, ProgrammingError):
        return None
    finally:
        await engine.dispose()
