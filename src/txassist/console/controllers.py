"""``/console/assist`` and ``/console/signals``: open pages that call the JSON API with the user's key.

The pages carry no data and no secret: the browser asks for the API key, keeps it in
sessionStorage and sends it as a bearer token on each API call, so these routes need no scope.
"""

from __future__ import annotations

from pathlib import Path

from litestar import Controller, Router, get
from litestar.contrib.jinja import JinjaTemplateEngine
from litestar.response import Redirect, Template
from litestar.static_files import create_static_files_router
from litestar.template.config import TemplateConfig
from litestar.types import ControllerRouterHandler

from txassist import __version__
from txassist.console.samples import SampleConversation, load_samples

CONSOLE_DIR = Path(__file__).resolve().parent
TEMPLATES_DIR = CONSOLE_DIR / "templates"
STATIC_DIR = CONSOLE_DIR / "static"

# Nothing external may load: scripts, styles and API calls all come from this origin.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
)
PAGE_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}


def template_config() -> TemplateConfig[JinjaTemplateEngine]:
    return TemplateConfig(directory=TEMPLATES_DIR, engine=JinjaTemplateEngine)


def _page(name: str, title: str, **context: object) -> Template:
    return Template(
        template_name=name,
        context={"title": title, "version": __version__, "page": name.removesuffix(".html"), **context},
        headers=PAGE_HEADERS,
        media_type="text/html",
    )


class ConsoleController(Controller):
    path = "/console"
    tags = ["console"]
    include_in_schema = False
    security = [{}]

    @get("/", name="console:index")
    async def index(self) -> Redirect:
        return Redirect(path="/console/assist")

    @get("/assist", name="console:assist")
    async def assist(self) -> Template:
        return _page("assist.html", "Assist panel")

    @get("/signals", name="console:signals")
    async def signals(self) -> Template:
        return _page("signals.html", "Signals dashboard")

    @get("/samples", name="console:samples")
    async def samples(self) -> list[SampleConversation]:
        return load_samples()


def static_router() -> Router:
    # Versioned file names are not needed: the pages add ?v=<version> so upgrades bust caches.
    return create_static_files_router(
        path="/console/static", directories=[STATIC_DIR], include_in_schema=False, name="console:static"
    )


def console_routes() -> list[ControllerRouterHandler]:
    return [ConsoleController, static_router()]


__all__ = ["console_routes", "template_config"]
