"""create_app(settings) -> Litestar: wiring only; every rule lives in a feature package."""

from __future__ import annotations

import logging
from collections.abc import AsyncGenerator
from contextlib import asynccontextmanager
from email.utils import parseaddr
from typing import Any

from litestar import Controller, Litestar, Request, Response, get
from litestar.di import Provide
from litestar.exceptions import HTTPException, PermissionDeniedException
from litestar.openapi.config import OpenAPIConfig
from litestar.openapi.spec import Components, Contact, SecurityScheme, Server
from litestar.response import Redirect
from redis.asyncio import Redis

from services import VERSION
from services.attendance.controllers import AttendanceController
from services.audit.controllers import AuditController
from services.auth.controllers import StaffAddressController
from services.catalog.controllers import CatalogController
from services.circles.controllers import CircleRoundController
from services.db import provide_transaction
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
from services.health import HealthController, start_pool
from services.invitations.controllers import (
    AudienceListController,
    InvitationController,
    InvitationReplyController,
)
from services.me.controllers import MeController
from services.meetings.controllers import MeetingController, SeriesController
from services.observe import tracing
from services.observe.controllers import MetricsController
from services.observe.middleware import observed
from services.openapi import document_problems
from services.organisations.controllers import OrganisationController
from services.participants.controllers import ParticipantController
from services.query_keys import LegacyQueryKeysMiddleware
from services.registrations.controllers import (
    MeetingRegistrationController,
    RegistrationController,
    RegistrationRequestController,
)
from services.reports.controllers import ReportController
from services.settings import Settings
from services.unknown_query_keys import UnknownQueryKeysMiddleware
from services.web import csrf
from services.web.account import ManageController, SignInController
from services.web.agenda import AgendaController
from services.web.checkin import CheckinPageController
from services.web.confirm import ConfirmController
from services.web.error_pages import for_browsers
from services.web.evaluations import EvaluationPageController
from services.web.funder import FunderController
from services.web.i18n import LocaleMiddleware
from services.web.invitation_links import InvitationLinkController
from services.web.language import switch_language
from services.web.meetings import MeetingPageController
from services.web.my_cancel import MyCancelController
from services.web.offers import OfferPageController
from services.web.organiser import OrganiserController
from services.web.organiser_circles import OrganiserCirclesController
from services.web.organiser_invite import OrganiserInviteController
from services.web.organiser_meeting import OrganiserMeetingController, door_worker
from services.web.organiser_series import OrganiserSeriesController
from services.web.organiser_staff import OrganiserStaffController
from services.web.reminders import CantComePageController, ReminderOptOutController, StillComingPageController
from services.web.render import favicon, stylesheet, template_config
from services.web.unsubscribe import UnsubscribePageController
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


def _on_forbidden(request: Request[Any, Any, Any], exc: PermissionDeniedException) -> Response[Any]:
    """A page form without its CSRF token gets a page; every other 403 the usual problem+json."""
    if csrf.is_csrf_failure(request, exc):
        return csrf.refused(request, exc)
    return EXCEPTION_HANDLERS[HTTPException](request, exc)


def create_app(settings: Settings) -> Litestar:
    if not settings.database_url or not settings.redis_url:
        raise RuntimeError("create_app needs database_url and redis_url; `leerkring run` fills them in when unset")
    database_url, redis_url = settings.database_url, settings.redis_url

    @asynccontextmanager
    async def lifespan(app: Litestar) -> AsyncGenerator[None, None]:
        app.state.settings = settings
        traced = tracing.configure(settings.otel_endpoint, "leerkring-api")
        app.state.pool = await start_pool(database_url, settings)
        app.state.redis = Redis.from_url(redis_url)
        try:
            yield
        finally:
            await app.state.redis.aclose()
            await app.state.pool.close()
            if traced:
                tracing.shutdown()

    @get("/", include_in_schema=False)
    async def index(request: Request[Any, Any, Any]) -> Response[Any]:
        # A browser lands on the agenda; a client asking for JSON gets where the API and its documentation are.
        if request.accept.best_match(["application/json", "text/html"], default="application/json") == "text/html":
            return Redirect("/agenda", status_code=303)
        return Response({"naam": "Leerkring", "documentatie": "/schema", "api": "/api/v1"})

    app = Litestar(
        route_handlers=[
            index,
            HealthController,
            MetricsController,
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
            AgendaController,
            OrganiserController,
            OrganiserInviteController,
            OrganiserMeetingController,
            door_worker,
            OrganiserStaffController,
            OrganiserSeriesController,
            OrganiserCirclesController,
            FunderController,
            CheckinPageController,
            SignInController,
            ManageController,
            MyCancelController,
            ConfirmController,
            OfferPageController,
            CantComePageController,
            StillComingPageController,
            ReminderOptOutController,
            EvaluationPageController,
            UnsubscribePageController,
            stylesheet,
            favicon,
            switch_language,
            docs_asset,
            AttendanceController,
            EvaluationController,
            QuestionnaireController,
            SeriesEvaluationController,
            ThemeEvaluationController,
            EventController,
            WebhookController,
            StaffAddressController,
            DeadLetterController,
            ReportController,
            AuditController,
            *_development_pages(settings),
        ],
        dependencies={"conn": Provide(provide_transaction)},
        # A browser opening a page path gets a page, an API client problem+json (services/web/error_pages.py).
        exception_handlers=for_browsers({**EXCEPTION_HANDLERS, PermissionDeniedException: _on_forbidden}),
        csrf_config=csrf.config(settings),
        # First the old key spellings become the new ones, then a key no operation reads is refused (/api/v1 only).
        middleware=[LocaleMiddleware, LegacyQueryKeysMiddleware, UnknownQueryKeysMiddleware],
        before_send=[add_response_headers],
        lifespan=[lifespan],
        on_startup=[document_problems],
        request_max_body_size=settings.max_body_bytes,
        template_config=template_config(),
        openapi_config=OpenAPIConfig(
            title="Leerkring API",
            version=VERSION,
            description=(
                "Collegiale leerbijeenkomsten: bijeenkomsten, inschrijvingen, uitnodigingen en agenda's. "
                "Query-parameters heten in lowerCamelCase (`audienceGroup`); de oude spellingen van v1 "
                "(`audience_group`, `audience_organisation`, `series_id`, `aggregate_id`, `professional_group`, "
                "`offer_token`) werken nog, verouderd, tot v2."
            ),
            # NLGov API Design Rules: who answers for this API, and where it runs (the major version is in every
            # path, /api/v1/...; a server URL ending in /v1 would move it out of the paths: an API break, README).
            contact=Contact(name="Leerkring", url=settings.base_url, email=parseaddr(settings.mail_from)[1] or None),
            servers=[Server(url=settings.base_url, description="Leerkring (API v1 onder /api/v1)")],
            components=Components(
                security_schemes={
                    "apiKey": SecurityScheme(type="http", scheme="bearer", description="lkr_… API-sleutel")
                }
            ),
            security=[{"apiKey": []}],
            render_plugins=[swagger_ui()],
        ),
        debug=False,
        # Logging is set up once per process (services/observe/logs.py); Litestar's default would replace it.
        logging_config=None,
    )
    # Outside Litestar's routing, so 404s and 405s get a request id and are counted too (services/observe).
    app.asgi_handler = observed(app.asgi_handler)
    return app
