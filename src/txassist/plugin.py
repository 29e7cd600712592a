"""One plugin registers every capability's controllers, dependencies and exception handlers."""

from __future__ import annotations

from typing import Any

from advanced_alchemy.extensions.litestar import SQLAlchemyAsyncConfig, SQLAlchemyPlugin
from litestar.config.app import AppConfig
from litestar.config.cors import CORSConfig
from litestar.datastructures import State
from litestar.di import Provide
from litestar.plugins import InitPluginProtocol
from litestar.plugins.prometheus import PrometheusConfig, PrometheusController

from txassist.assist.controllers import TurnController
from txassist.config import Settings
from txassist.console.controllers import console_routes, template_config
from txassist.conversations.controllers import (
    ConversationController,
    CustomerContextController,
    CustomerLinkController,
)
from txassist.drafting.controllers import DraftingController, SuggestionController
from txassist.health.controllers import HealthController
from txassist.http.limits import LoadShedder
from txassist.http.problems import EXCEPTION_HANDLERS
from txassist.knowledge.controllers import (
    KnowledgeDocumentController,
    KnowledgeSearchController,
    KnowledgeStatsController,
)
from txassist.privacy.controllers import ErasureController
from txassist.sentiment.controllers import SentimentController
from txassist.services import Services
from txassist.signals.controllers import OutboxController, SignalController


class MetricsController(PrometheusController):
    path = "/metrics"
    include_in_schema = False


def provide_services(state: State) -> Services:
    services: Services = state.services
    return services


class TxAssistPlugin(InitPluginProtocol):
    def __init__(self, settings: Settings, db: SQLAlchemyAsyncConfig) -> None:
        self.settings = settings
        self.db = db

    def on_app_init(self, app_config: AppConfig) -> AppConfig:
        prometheus = PrometheusConfig(app_name="txassist", prefix="txassist", group_path=True)
        app_config.route_handlers.extend(self._controllers())
        app_config.route_handlers.append(MetricsController)
        app_config.template_config = template_config()
        app_config.plugins.append(SQLAlchemyPlugin(config=self.db))
        app_config.dependencies["services"] = Provide(provide_services, sync_to_thread=False)
        app_config.exception_handlers.update(EXCEPTION_HANDLERS)
        app_config.middleware.append(prometheus.middleware)
        # The request context (create_app) wraps all of this, so a 429 carries the request id and headers.
        shedder = LoadShedder(self.settings)
        app_config.middleware.append(shedder.middleware)
        app_config.on_shutdown.append(shedder.close)
        if self.settings.cors_origins:
            app_config.cors_config = CORSConfig(allow_origins=self.settings.cors_origins)
        return app_config

    def _controllers(self) -> list[Any]:
        # Each capability's controllers are listed here as they land.
        return [
            HealthController,
            KnowledgeDocumentController,
            KnowledgeSearchController,
            KnowledgeStatsController,
            ErasureController,
            SentimentController,
            TurnController,
            ConversationController,
            CustomerContextController,
            CustomerLinkController,
            DraftingController,
            SuggestionController,
            SignalController,
            OutboxController,
            *console_routes(),
        ]
