"""One plugin registers every capability's controllers, dependencies and exception handlers."""

from __future__ import annotations

from advanced_alchemy.extensions.litestar import SQLAlchemyAsyncConfig, SQLAlchemyPlugin
from litestar.config.app import AppConfig
from litestar.config.cors import CORSConfig
from litestar.datastructures import State
from litestar.di import Provide
from litestar.plugins import InitPluginProtocol
from litestar.plugins.prometheus import PrometheusConfig, PrometheusController
from litestar.types import ControllerRouterHandler

from txassist.assist.controllers import TurnController
from txassist.assist.pipeline import TurnServices
from txassist.config import Settings
from txassist.console.controllers import console_routes, template_config
from txassist.conversations.controllers import (
    ConversationController,
    CustomerContextController,
    CustomerLinkController,
)
from txassist.db.engine import SessionFactory
from txassist.drafting.closing import ConversationCloser
from txassist.drafting.controllers import DraftingController, SuggestionController
from txassist.drafting.feedback import FeedbackService
from txassist.drafting.followup import FollowupDrafts
from txassist.drafting.followup_controller import FollowupController
from txassist.drafting.suggestions import SuggestionService
from txassist.drafting.summarizer import SummaryService
from txassist.health.controllers import HealthController
from txassist.http.limits import LoadShedder
from txassist.http.problems import EXCEPTION_HANDLERS
from txassist.knowledge.controllers import (
    KnowledgeDocumentController,
    KnowledgeSearchController,
    KnowledgeStatsController,
)
from txassist.knowledge.service import KnowledgeService
from txassist.privacy.controllers import ErasureController
from txassist.replies.service import LearnedReplyLibrary
from txassist.sentiment.controllers import SentimentController
from txassist.sentiment.service import SentimentService
from txassist.services import Services
from txassist.signals.controllers import OutboxController, SignalController
from txassist.signals.reporting import SignalReports


class MetricsController(PrometheusController):
    path = "/metrics"
    include_in_schema = False


def provide_services(state: State) -> Services:
    """The whole composition, for the health routes that report on all of it."""
    services: Services = state.services
    return services


# One dependency per capability, so each controller names only what it uses.
def provide_settings(state: State) -> Settings:
    return provide_services(state).settings


def provide_sentiment(state: State) -> SentimentService:
    return provide_services(state).sentiment


def provide_knowledge(state: State) -> KnowledgeService:
    return provide_services(state).knowledge


def provide_suggestions(state: State) -> SuggestionService:
    return provide_services(state).suggestions


def provide_summaries(state: State) -> SummaryService:
    return provide_services(state).summaries


def provide_feedback(state: State) -> FeedbackService:
    return provide_services(state).feedback


def provide_signal_reports(state: State) -> SignalReports:
    return provide_services(state).signal_reports


def provide_replies(state: State) -> LearnedReplyLibrary:
    return provide_services(state).replies


def provide_turn_services(state: State) -> TurnServices:
    return provide_services(state).turns


def provide_closer(state: State) -> ConversationCloser:
    return provide_services(state).closer


def provide_followups(state: State) -> FollowupDrafts:
    return provide_services(state).followups


def provide_session_factory(state: State) -> SessionFactory:
    """Sessions for work that outlives the request's own (streamed bodies, background jobs)."""
    return provide_services(state).db.get_session


DEPENDENCIES = {
    "services": provide_services,
    "settings": provide_settings,
    "sentiment": provide_sentiment,
    "knowledge": provide_knowledge,
    "suggestions": provide_suggestions,
    "summaries": provide_summaries,
    "feedback": provide_feedback,
    "reports": provide_signal_reports,
    "replies": provide_replies,
    "turn_services": provide_turn_services,
    "session_factory": provide_session_factory,
    "closer": provide_closer,
    "followups": provide_followups,
}


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
        app_config.dependencies.update(
            {name: Provide(provider, sync_to_thread=False) for name, provider in DEPENDENCIES.items()}
        )
        app_config.exception_handlers.update(EXCEPTION_HANDLERS)
        app_config.middleware.append(prometheus.middleware)
        # The request context (create_app) wraps all of this, so a 429 carries the request id and headers.
        shedder = LoadShedder(self.settings)
        app_config.middleware.append(shedder.middleware)
        app_config.on_shutdown.append(shedder.close)
        if self.settings.cors_origins:
            app_config.cors_config = CORSConfig(allow_origins=self.settings.cors_origins)
        return app_config

    def _controllers(self) -> list[ControllerRouterHandler]:
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
            FollowupController,
            SignalController,
            OutboxController,
            *console_routes(),
        ]
