"""``txassist serve``: run the HTTP service."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from txassist.cli.parsers import Subcommands
from txassist.config import Settings

if TYPE_CHECKING:
    from litestar import Litestar


def register(sub: Subcommands) -> None:
    parser: argparse.ArgumentParser = sub.add_parser("serve", help="run the HTTP service")
    parser.add_argument("--host", help="interface to bind (default: TXASSIST_HOST or 127.0.0.1)")
    parser.add_argument("--port", type=int, help="port (default: TXASSIST_PORT or 8000)")
    parser.add_argument("--workers", type=int, default=1, help="worker processes")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    import uvicorn

    from txassist.http.header_timeout import protocol_class

    overrides: dict[str, object] = {}
    if args.host:
        overrides["host"] = args.host
    if args.port:
        overrides["port"] = args.port
    settings = Settings.from_env(None, **overrides)
    uvicorn.run(
        "txassist.asgi:app" if args.workers > 1 else _app(settings),
        host=settings.host,
        port=settings.port,
        workers=args.workers,
        log_config=None,
        access_log=False,
        lifespan="on",
        timeout_graceful_shutdown=10,
        http=protocol_class(),  # uvicorn's own HTTP/1.1, plus a header-read timeout it lacks
    )
    return 0


def _app(settings: Settings) -> Litestar:
    from txassist.app import create_app

    return create_app(settings)
