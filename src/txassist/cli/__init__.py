"""The ``txassist`` command line. Each capability adds its sub-commands in a module of its own."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from txassist.cli import bench, db, kb, models, purge, serve, train
from txassist.config import SettingsError

COMMAND_MODULES = [serve, db, purge, train, kb, models, bench]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="txassist", description="Agent-assist copilot for contact centres.")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for module in COMMAND_MODULES:
        module.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        result: int = args.handler(args)
    except SettingsError as exc:
        print(f"txassist: {exc}", file=sys.stderr)
        return 2
    return result
