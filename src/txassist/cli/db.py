"""``txassist db upgrade``: apply migrations (the service also does this at start)."""

from __future__ import annotations

import argparse

from txassist.cli.parsers import Subcommands
from txassist.config import Settings
from txassist.db import migrate


def register(sub: Subcommands) -> None:
    parser: argparse.ArgumentParser = sub.add_parser("db", help="database migrations")
    db_sub = parser.add_subparsers(dest="db_command", required=True, metavar="ACTION")
    upgrade = db_sub.add_parser("upgrade", help="apply all migrations")
    upgrade.set_defaults(handler=run_upgrade)
    current = db_sub.add_parser("current", help="print the applied revision")
    current.set_defaults(handler=run_current)


def run_upgrade(_: argparse.Namespace) -> int:
    settings = Settings.from_env()
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    migrate.upgrade(settings.resolved_database_url)
    print(f"database at revision {migrate.current_revision(settings.resolved_database_url)}")
    return 0


def run_current(_: argparse.Namespace) -> int:
    settings = Settings.from_env()
    print(migrate.current_revision(settings.resolved_database_url) or "none")
    return 0
