"""The application factory."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from litestar import Litestar
from litestar.datastructures import State
from litestar.openapi import OpenAPIConfig
from litestar.openapi.plugins import ScalarRenderPlugin, SwaggerRenderPlugin
from litestar.openapi.spec import Components, SecurityScheme

from txassist import __version__
from txassist.config import Settings
from txassist.db.engine import database_config
from txassist.http.auth import key_ring_from
from txassist.http.request_context import request_context_middleware
from txassist.http.requests import TxAssistRequest
from txassist.logging import structlog_plugin
from txassist.plugin import TxAssistPlugin
from txassist.privacy.secrets import with_pseudonym_secret
from txassist.services import Services


def create_app(settings: Settings | None = None) -> Litestar:
    settings = with_pseudonym_secret(settings or Settings.from_env())
    db = database_config(settings)
    services = Services.create(settings, db)

    @asynccontextmanager
    async def lifespan(_: Litestar) -> AsyncIterator[None]:
        await services.start()
        try:
            yield
        finally:
            await services.stop()

    app = Litestar(
        route_handlers=[],
        plugins=[structlog_plugin(settings), TxAssistPlugin(settings, db)],
        lifespan=[lifespan],
        state=State({"settings": settings, "services": services, "key_ring": key_ring_from(settings)}),
        openapi_config=OpenAPIConfig(
            title="txassist",
            version=__version__,
            description="Agent-assist copilot for contact centres.",
            path="/schema",
            render_plugins=[ScalarRenderPlugin(), SwaggerRenderPlugin(path="/swagger")],
            components=Components(security_schemes={"bearer": SecurityScheme(type="http", scheme="bearer")}),
            security=[{"bearer": []}],
        ),
        request_max_body_size=settings.max_body_bytes,
        request_class=TxAssistRequest,
        debug=False,
    )
    # Around the whole ASGI handler, not as route middleware: router-level 404 and 405 answers
    # (raised before any route matches) carry the request id and security headers too.
    app.asgi_handler = request_context_middleware(app.asgi_handler)
    return app
