"""structlog JSON logs with the request id bound on every line."""

from __future__ import annotations

import logging
import sys

import structlog
from litestar.logging.config import StructLoggingConfig
from litestar.middleware.logging import LoggingMiddlewareConfig
from litestar.plugins.structlog import StructlogConfig, StructlogPlugin

from txassist.config import Settings
from txassist.http.request_context import scrub_path_ids
from txassist.privacy.redaction import redact_log_event


def _stderr_logger(*_: object) -> structlog.PrintLogger:
    # Looked up per logger, not once at configuration: whoever swaps sys.stderr (a test capture, a
    # daemon redirecting it) must not leave loggers writing to a stream that has since been closed.
    return structlog.PrintLogger(sys.stderr)


def _processors(settings: Settings) -> list[structlog.types.Processor]:
    renderer: structlog.types.Processor = (
        structlog.processors.JSONRenderer()
        if settings.log_format == "json"
        else structlog.dev.ConsoleRenderer(colors=False)
    )
    return [
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        structlog.processors.format_exc_info,
        scrub_path_ids,  # before redaction: an id that is an email becomes its hash, not [EMAIL]
        redact_log_event,  # last before rendering, so no processor can add PII after it
        renderer,
    ]


def configure_logging(settings: Settings) -> None:
    """Configure structlog for processes that do not go through the Litestar plugin (CLI, workers)."""
    level = getattr(logging, settings.log_level.upper())
    structlog.configure(
        processors=_processors(settings),
        wrapper_class=structlog.make_filtering_bound_logger(level),
        logger_factory=_stderr_logger,
        cache_logger_on_first_use=False,
    )


def structlog_plugin(settings: Settings) -> StructlogPlugin:
    configure_logging(settings)
    level = getattr(logging, settings.log_level.upper())
    return StructlogPlugin(
        config=StructlogConfig(
            structlog_logging_config=StructLoggingConfig(
                processors=_processors(settings),
                wrapper_class=structlog.make_filtering_bound_logger(level),
                logger_factory=_stderr_logger,
                # Every create_app reconfigures logging; a logger cached on first use would keep
                # writing through the configuration (and stream) of the first app.
                cache_logger_on_first_use=False,
                log_exceptions="never",  # our exception handlers log once, with the request id
            ),
            middleware_logging_config=LoggingMiddlewareConfig(),
            enable_middleware_logging=False,  # txassist.http.request_context logs each request
        )
    )
