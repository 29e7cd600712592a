"""Shared fixtures: settings on a temporary data dir, SQLite always, PostgreSQL when configured.

PostgreSQL tests run whenever ``TXASSIST_TEST_DATABASE_URL`` is set (CI sets it) and fail, not
skip, if that server is unreachable. Each PostgreSQL test gets a database of its own.
"""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy.engine import make_url

from txassist.app import create_app
from txassist.config import Settings

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

REPO_ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO_ROOT.parent / "shared" / "data"
# The default embedding backend (auto) exports MiniLM to ONNX once into this folder; servers started
# as processes inherit it, so a run exports once instead of once per temporary data dir.
MODEL_CACHE = Path(os.environ.setdefault("TXASSIST_MODEL_CACHE_DIR", str(REPO_ROOT / ".cache" / "models")))
POSTGRES_URL = os.environ.get("TXASSIST_TEST_DATABASE_URL", "")

API_KEYS: dict[str, list[str]] = {
    "agent-key": ["agent"],
    "platform-key": ["platform"],
    "product-key": ["product"],
    "admin-key": ["admin"],
    "all-key": ["agent", "platform", "product", "admin"],
}


# What makes a test an integration test: a fixture that builds the app or a database, or a module that
# builds the app, loads a model or starts a server itself. Everything else runs in `make check`.
_INTEGRATION_FIXTURES = frozenset({"app", "client", "settings", "database_url", "fresh_postgres_url"})
_INTEGRATION_NAMES = frozenset(
    {
        "create_app",
        "TextEncoder",
        "EmbeddingBatcher",
        "SentimentService",
        "SentimentHead",
        "MultilingualEncoder",
        "LanguageDetector",
        "KnowledgeService",
        "running_server",
        "serve",
        "run_cli",
        "main",
        "soak",
    }
)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        module = getattr(item, "module", None)
        names = set(vars(module)) if module is not None else set()
        fixtures = set(getattr(item, "fixturenames", ()))
        marked = {mark.name for mark in item.iter_markers()} & {"e2e", "postgres", "browser", "slow", "local_llm"}
        if marked or fixtures & _INTEGRATION_FIXTURES or names & _INTEGRATION_NAMES:
            item.add_marker(pytest.mark.integration)


def auth(key: str = "all-key") -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


DATABASE_BACKENDS = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]


def _postgres_admin(statement: str) -> None:
    async def run() -> None:
        url = make_url(POSTGRES_URL)
        conn = await asyncpg.connect(
            host=url.host,
            port=url.port or 5432,
            user=url.username,
            password=url.password,
            database=url.database,
        )
        try:
            await conn.execute(statement)
        finally:
            await conn.close()

    asyncio.run(run())


@pytest.fixture
def fresh_postgres_url() -> Iterator[str]:
    """A brand-new PostgreSQL database for one test, dropped afterwards."""
    if not POSTGRES_URL:
        pytest.skip("TXASSIST_TEST_DATABASE_URL is not set (CI sets it)")
    name = f"txassist_t_{uuid.uuid4().hex[:12]}"
    _postgres_admin(f'CREATE DATABASE "{name}"')
    try:
        yield make_url(POSTGRES_URL).set(database=name).render_as_string(hide_password=False)
    finally:
        _postgres_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(params=DATABASE_BACKENDS)
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite+aiosqlite:///{tmp_path / 'txassist.db'}"
    url: str = request.getfixturevalue("fresh_postgres_url")
    return url


@pytest.fixture
def make_settings(tmp_path: Path) -> Callable[..., Settings]:
    def factory(**overrides: Any) -> Settings:
        values: dict[str, Any] = {
            "data_dir": tmp_path / "data",
            "api_keys": API_KEYS,
            "log_format": "json",
            "model_cache_dir": MODEL_CACHE,
        }
        values.update(overrides)
        return Settings.from_env({}, **values)

    return factory


@pytest.fixture
def settings(make_settings: Callable[..., Settings], database_url: str) -> Settings:
    return make_settings(database_url=database_url)


@pytest.fixture
def app(settings: Settings) -> Litestar:
    return create_app(settings)


@pytest.fixture
async def client(app: Litestar) -> AsyncIterator[AsyncTestClient[Litestar]]:
    async with AsyncTestClient(app=app) as test_client:
        yield test_client
