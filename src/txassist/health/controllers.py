"""``/health/live``, ``/health/ready`` and ``/info``: open routes for orchestrators."""

from __future__ import annotations

import time

import anyio
from litestar import Controller, Response, get
from litestar.openapi.datastructures import ResponseSpec
from sqlalchemy import text

from txassist import __version__
from txassist.jsontypes import JsonObject
from txassist.services import Services


class HealthController(Controller):
    path = ""
    tags = ["operations"]
    security = [{}]

    @get("/health/live", summary="Process is up")
    async def live(self) -> dict[str, str]:
        return {"status": "ok"}

    @get(
        "/health/ready",
        summary="Models loaded, index open, database reachable",
        responses={503: ResponseSpec(data_container=JsonObject, description="Not ready: see components")},
    )
    async def ready(self, services: Services) -> Response[JsonObject]:
        await _check_database(services)
        ready = services.readiness.ready
        body = {"status": "ok" if ready else "unavailable", "components": services.readiness.report()}
        return Response(body, status_code=200 if ready else 503)

    @get("/info", summary="Version, models and configuration that callers may rely on")
    async def info(self, services: Services) -> JsonObject:
        settings = services.settings
        return {
            "version": __version__,
            "uptime_s": round(time.time() - services.started_at, 1),
            "embedding_model": services.encoder.model_path,
            "embedding_backend": services.encoder.backend,  # what ``auto`` resolved to on this CPU
            "llm_backend": settings.llm_backend,
            "device": settings.device,
        }


async def _check_database(services: Services) -> None:
    try:
        with anyio.fail_after(2):
            async with services.db.get_session() as session:
                await session.execute(text("SELECT 1"))
        services.readiness.set("database", "ok")
    except Exception as exc:  # any failure means not ready; the detail says which
        services.readiness.set("database", "failed", type(exc).__name__)
