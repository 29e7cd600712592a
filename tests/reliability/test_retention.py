"""Retention: old conversations and signals are purged by the job and by ``txassist purge``."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy import select

from tests.reliability.seed import own_session, seed_customer, table_counts
from txassist.cli import main as cli_main
from txassist.config import Settings
from txassist.db import migrate
from txassist.db.engine import database_config
from txassist.db.models import Conversation
from txassist.privacy.retention import RetentionPolicy, purge_expired


@pytest.fixture
def settings(make_settings: Callable[..., Settings], database_url: str) -> Settings:
    # The service's own purge job stays off: these tests purge by hand and count what went, and a
    # background run at startup would race them.
    return make_settings(database_url=database_url, retention_purge_interval_s=0)


async def test_purge_keeps_recent_data_and_signals_outlive_conversation_text(
    client: AsyncTestClient[Litestar],
) -> None:
    async with own_session(client.app.state.settings) as session:
        await seed_customer(session, "old", age_days=400)
        await seed_customer(session, "ancient", age_days=800)
        await seed_customer(session, "new", age_days=1)
        await session.commit()
        before = await table_counts(session)

        report = await purge_expired(session, RetentionPolicy(conversations_days=365, signals_days=730))
        await session.commit()
        after = await table_counts(session)

        # "ancient" is gone entirely; "old" keeps its signals on empty conversation shells.
        assert after["turns"] == before["turns"] // 3
        assert after["suggestions"] == after["suggestion_feedback"] == before["suggestions"] // 3
        assert after["signals"] == 2 * before["signals"] // 3
        assert after["conversations"] == 2 * before["conversations"] // 3
        assert after["customers"] == 2
        assert report.deleted["customers"] == 1
        rows = (await session.execute(select(Conversation.id, Conversation.rolling_summary))).tuples()
        summaries: dict[str, str] = dict(rows.all())
        assert summaries["old-c0"] == ""
        assert summaries["new-c0"].startswith("new")

        # Once the signals expire too, the shells and the customer go.
        await purge_expired(session, RetentionPolicy(conversations_days=365, signals_days=365))
        await session.commit()
        final = await table_counts(session)
        assert final == {table: count // 3 for table, count in before.items()}


async def test_zero_days_keeps_everything(client: AsyncTestClient[Litestar]) -> None:
    async with own_session(client.app.state.settings) as session:
        await seed_customer(session, "old", age_days=4000)
        await session.commit()
        before = await table_counts(session)
        report = await purge_expired(session, RetentionPolicy(conversations_days=0, signals_days=0))
        assert report.deleted == {}
        assert await table_counts(session) == before


def test_purge_command(
    make_settings: Callable[..., Settings],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    import asyncio

    settings = make_settings()
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    migrate.upgrade(settings.resolved_database_url)

    async def seed() -> None:
        db = database_config(settings)
        async with db.get_session() as session:
            await seed_customer(session, "old", age_days=1000)
            await seed_customer(session, "new")
            await session.commit()
        await db.get_engine().dispose()

    asyncio.run(seed())
    monkeypatch.setenv("TXASSIST_DATA_DIR", str(settings.data_dir))
    monkeypatch.setenv("TXASSIST_RETENTION_CONVERSATIONS_DAYS", "30")
    assert cli_main(["purge", "--signals-days", "90"]) == 0
    report = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert report["deleted"]["customers"] == 1
    assert report["deleted"]["turns"] == 6
    assert report["deleted"]["signals"] == 2
