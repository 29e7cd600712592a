"""Engine and session configuration: SQLite (embedded default) or PostgreSQL by URL."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractAsyncContextManager

from advanced_alchemy.extensions.litestar import (
    AsyncSessionConfig,
    EngineConfig,
    SQLAlchemyAsyncConfig,
)
from sqlalchemy import event
from sqlalchemy.engine.interfaces import DBAPIConnection
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.pool import ConnectionPoolEntry

from txassist.config import Settings

# Sessions for work outside a request's own (jobs, streamed bodies): each commits what it does.
SessionFactory = Callable[[], AbstractAsyncContextManager[AsyncSession]]


def is_sqlite(url: str) -> bool:
    return url.startswith("sqlite")


def database_config(settings: Settings) -> SQLAlchemyAsyncConfig:
    url = settings.resolved_database_url
    if is_sqlite(url):
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        engine = EngineConfig(connect_args={"timeout": 30})
    else:
        engine = EngineConfig(pool_size=10, max_overflow=10, pool_pre_ping=True, pool_recycle=1800)
    config = SQLAlchemyAsyncConfig(
        connection_string=url,
        engine_config=engine,
        # No FileObject columns and no dogpile cache here: their per-flush and per-commit listeners
        # cost a few percent of every turn for nothing.
        session_config=AsyncSessionConfig(expire_on_commit=False, info={"enable_cache_listener": False}),
        enable_file_object_listener=False,
        before_send_handler="autocommit",
        session_dependency_key="db_session",
        create_all=False,
    )
    if is_sqlite(url):
        event.listen(config.get_engine().sync_engine, "connect", _sqlite_pragmas)
    return config


def _sqlite_pragmas(dbapi_connection: DBAPIConnection, _: ConnectionPoolEntry) -> None:
    # WAL lets readers run beside one writer; busy_timeout waits out short locks instead of failing.
    # The migration already switched the file to WAL (see ``migrate``); this keeps it so for a database
    # made some other way.
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()
