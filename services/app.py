"""create_app(settings) -> Litestar: wiring only; every rule lives in a feature package."""

from __future__ import annotations

import logging
from collections.abc import AsyncGenerator
from contextlib import asynccontextmanager

from litestar import Controller, Litestar, get
from litestar.datastructures import State
from litestar.di import Provide
from litestar.openapi.config import OpenAPIConfig
from litestar.openapi.spec import Components, SecurityScheme
from redis.asyncio import Redis

from services import VERSION
from services.attendance.controllers import AttendanceController
from services.audit.controllers import AuditController
from services.catalog.controllers import CatalogController
from services.circles.controllers import CircleRoundController
from services.db import create_pool, provide_transaction
from services.deadletters.controllers import DeadLetterController
from services.docs import docs_asset, swagger_ui
from services.errors import EXCEPTION_HANDLERS
from services.evaluations.controllers import (
    EvaluationController,
    QuestionnaireController,
    SeriesEvaluationController,
    ThemeEvaluationController,
)
from services.events.controllers import EventController
from services.feeds.controllers import FeedController, FeedLinksController, MyFeedController
from services.headers import add_response_headers
from services.health import HealthController
from services.invitations.controllers import (
    AudienceListController,
    InvitationController,
    InvitationReplyController,
)
from services.invitations.pages import InvitationLinkController
from services.me.controllers import MeController
from services.meetings.controllers import MeetingController, SeriesController
from services.openapi import document_problems
from services.organisations.controllers import OrganisationController
from services.participants.controllers import ParticipantController
from services.registrations.controllers import (
    MeetingRegistrationController,
    RegistrationController,
    RegistrationRequestController,
)
from services.reports.controllers import ReportController
from services.settings import Settings
from services.web.account import ManageController, SignInController
from services.web.checkin import CheckinPageController
from services.web.confirm import ConfirmController
from services.web.evaluations import EvaluationPageController
from services.web.meetings import MeetingPageController
from services.web.offers import OfferPageController
from services.web.reminders import CantComePageController, ReminderOptOutController, StillComingPageController
from services.web.render import stylesheet, template_config
from services.webhooks.controllers import WebhookController

log = logging.getLogger(__name__)


def _development_pages(settings: Settings) -> list[type[Controller]]:
    """/dev/mail (what would have been mailed) outside production; production never imports localdev."""
    if settings.is_production:
        return []
    try:
        from localdev.devmail.controllers import DevMailController
    except ImportError:
        log.warning("no /dev/mail: the development package localdev is not installed")
        return []
    return [DevMailController]


def create_app(settings: Settings) -> Litestar:
    if not settings.database_url or not settings.redis_url:
        raise RuntimeError("create_app needs database_url and redis_url; `leerkring run` fills them in when unset")
    database_url, redis_url = settings.database_url, settings.redis_url

    @asynccontextmanager
    async def lifespan(app: Litestar) -> AsyncGenerator[None, None]:
        app.state.settings = settings
        app.state.pool = await create_pool(database_url, min_size=settings.db_pool_min, max_size=settings.db_pool_max)
        app.state.redis = Redis.from_url(redis_url)
        try:
            yield
        finally:
            await app.state.redis.aclose()
            await app.state.pool.close()

    @get("/", include_in_schema=False)
    async def index(state: State) -> dict[str, str]:
        return {"naam": "Leerkring", "documentatie": "/schema", "api": "/api/v1"}

    return Litestar(
        route_handlers=[
            index,
            HealthController,
            OrganisationController,
            CatalogController,
            MeetingController,
            SeriesController,
            CircleRoundController,
            FeedController,
            FeedLinksController,
            MyFeedController,
            ParticipantController,
            MeController,
            MeetingRegistrationController,
            RegistrationController,
            RegistrationRequestController,
            InvitationController,
            AudienceListController,
            InvitationReplyController,
            InvitationLinkController,
            # The pages every link in a mail or calendar entry opens.
            MeetingPageController,
            CheckinPageController,
            SignInController,
            ManageController,
            ConfirmController,
            OfferPageController,
            CantComePageController,
            StillComingPageController,
            ReminderOptOutController,
            EvaluationPageController,
            stylesheet,
            docs_asset,
            AttendanceController,
            EvaluationController,
            QuestionnaireController,
            SeriesEvaluationController,
            ThemeEvaluationController,
            EventController,
            WebhookController,
            DeadLetterController,
            ReportController,
            AuditController,
            *_development_pages(settings),
        ],
        dependencies={"conn": Provide(provide_transaction)},
        exception_handlers=EXCEPTION_HANDLERS,
        before_send=[add_response_headers],
        lifespan=[lifespan],
        on_startup=[document_problems],
        request_max_body_size=settings.max_body_bytes,
        template_config=template_config(),
        openapi_config=OpenAPIConfig(
            title="Leerkring API",
            version=VERSION,
            description="Collegiale leerbijeenkomsten: bijeenkomsten, inschrijvingen, uitnodigingen en agenda's.",
            components=Components(
                security_schemes={
                    "apiKey": SecurityScheme(type="http", scheme="bearer", description="lkr_… API-sleutel")
                }
            ),
            security=[{"apiKey": []}],
            render_plugins=[swagger_ui()],
        ),
        debug=False,
    )
