"""``python -m txassist.outbox``: a forwarder process on its own, configured by ``TXASSIST_*``."""

from __future__ import annotations

import asyncio
import signal

from txassist.config import Settings
from txassist.logging import configure_logging
from txassist.outbox.forwarder import run_standalone


async def _main() -> None:
    settings = Settings.from_env()
    configure_logging(settings)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    await run_standalone(settings, stop=stop)


if __name__ == "__main__":
    asyncio.run(_main())
