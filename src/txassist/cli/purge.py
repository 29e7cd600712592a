"""``txassist purge``: apply the retention settings once (the service also does this periodically)."""

from __future__ import annotations

import argparse
import asyncio

import msgspec

from txassist.cli.parsers import Subcommands
from txassist.config import Settings
from txassist.db.engine import database_config
from txassist.logging import configure_logging
from txassist.privacy.retention import PurgeReport, RetentionPolicy, purge_once


def register(sub: Subcommands) -> None:
    parser: argparse.ArgumentParser = sub.add_parser(
        "purge", help="delete conversations and signals older than the retention settings"
    )
    parser.add_argument("--conversations-days", type=int, default=None, help="override the setting")
    parser.add_argument("--signals-days", type=int, default=None, help="override the setting")
    parser.set_defaults(handler=run_purge)


def run_purge(args: argparse.Namespace) -> int:
    settings = Settings.from_env()
    configure_logging(settings)
    policy = RetentionPolicy(
        conversations_days=_pick(args.conversations_days, settings.retention_conversations_days),
        signals_days=_pick(args.signals_days, settings.retention_signals_days),
    )
    report = asyncio.run(_purge(settings, policy))
    print(msgspec.json.encode(report).decode())
    return 0


async def _purge(settings: Settings, policy: RetentionPolicy) -> PurgeReport:
    db = database_config(settings)
    try:
        return await purge_once(db, policy)
    finally:
        await db.get_engine().dispose()


def _pick(override: int | None, configured: int) -> int:
    return configured if override is None else override
