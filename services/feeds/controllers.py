"""HTTP: /feeds/*.ics (subscription feeds), /api/v1/feeds/links and /api/v1/me/feed (a personal feed URL).

Shared feeds are the hottest path in Leerkring (every subscribed calendar polls them forever), so their handlers
are plain ASGI handlers: no signature model, no dependency injection, no per-request connection or transaction;
a cached feed answers from memory with response heads encoded once per version. That costs them a place in the
OpenAPI schema, which lists the personal feed and the link endpoints instead. The personal feed needs the
database anyway and is an ordinary handler.
"""

from __future__ import annotations

from typing import Annotated, Any, cast

from litestar import Controller, Request, asgi, delete, get, post, route
from litestar.datastructures import State
from litestar.enums import HttpMethod
from litestar.params import FromPath, QueryParameter
from litestar.types import HTTPScope, Receive, Scope, Send

from schemas.feeds import FeedLinks, PersonalFeedLinks
from services import ratelimit
from services.db import Conn, Pool
from services.errors import NotFound, TooManyRequests
from services.feeds import links, personal, service
from services.feeds.cache import FeedCache
from services.feeds.respond import Reply, method_not_allowed, not_found, too_many, validators
from services.feeds.service import FeedKind
from services.participants import tokens
from services.participants.auth import CurrentParticipant, provide_caller, provide_participant
from services.settings import Settings

GroupParam = Annotated[
    bool,
    QueryParameter(name="beroepsgroep", description="Ook bijeenkomsten voor je beroepsgroep tonen"),
]
FeedParam = Annotated[
    str,
    QueryParameter(
        pattern=r"^(public|(themes|groups)/[a-z0-9-]{1,60}|organisations/[A-Za-z0-9-]{2,40})$",
        description="public, themes/{slug}, groups/{slug} of organisations/{code}",
    ),
]


def feed_cache(state: State) -> FeedCache:
    cache: FeedCache | None = state.get("feed_cache")
    if cache is None:
        cache = FeedCache()
        state.feed_cache = cache
    return cache


async def _shared(asgi_scope: Scope, receive: Receive, send: Send, kind: FeedKind) -> None:
    scope = cast("HTTPScope", asgi_scope)  # an HTTP route: never a websocket
    if scope["method"] not in ("GET", "HEAD"):
        return await method_not_allowed()(scope, receive, send)
    ident = ""
    if kind != "public":
        # Mounted below /feeds/{kind}: the path is what follows, e.g. "/de-bedoeling.ics/".
        file = scope["path"].strip("/")
        if not file.endswith(".ics") or "/" in file:
            return await not_found(scope)(scope, receive, send)
        ident = file[:-4].upper() if kind == "organisations" else file[:-4]
    state = scope["app"].state
    entry = await service.shared_feed(feed_cache(state), state.pool, kind, ident)
    reply = not_found(scope) if entry is None else entry.rep.reply(scope)
    return await reply(scope, receive, send)


class FeedController(Controller):
    """`/feeds/public.ics`, `/feeds/themes/{slug}.ics`, `/feeds/groups/{slug}.ics`, `/feeds/organisations/{code}.ics`
    (GET and HEAD, `text/calendar`): published meetings within the feed's window (services/feeds/windows.py),
    cancelled ones visibly so."""

    path = "/feeds"
    tags = ("agenda's",)

    @asgi("/public.ics", copy_scope=False)
    async def public_feed(self, scope: Scope, receive: Receive, send: Send) -> None:
        await _shared(scope, receive, send, "public")

    @asgi("/themes", is_mount=True, copy_scope=False)
    async def theme_feed(self, scope: Scope, receive: Receive, send: Send) -> None:
        await _shared(scope, receive, send, "themes")

    @asgi("/groups", is_mount=True, copy_scope=False)
    async def group_feed(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Meetings for one professional group, and those open to every group."""
        await _shared(scope, receive, send, "groups")

    @asgi("/organisations", is_mount=True, copy_scope=False)
    async def organisation_feed(self, scope: Scope, receive: Receive, send: Send) -> None:
        """A municipality or region: meetings aimed at it directly, through its province, safety region or regions,
        or open to every organisation. An organising or funding body: the meetings it organises or funds."""
        await _shared(scope, receive, send, "organisations")

    @route(
        "/p/{file:str}",
        http_method=[HttpMethod.GET, HttpMethod.HEAD],
        media_type="text/calendar; charset=utf-8",
        response_description="iCalendar (RFC 5545); 304 when If-None-Match or If-Modified-Since still holds",
    )
    async def personal_feed(
        self, request: Request[Any, Any, Any], state: State, file: FromPath[str], beroepsgroep: GroupParam = False
    ) -> Reply:
        """A participant's own meetings, `/feeds/p/{token}.ics`: registrations (waiting list and offered seats as
        tentative), optionally meetings for their professional group. Unknown and revoked tokens get one 404."""
        scope = request.scope
        token = file[:-4] if file.endswith(".ics") else ""
        if not tokens.looks_like_token(token):
            return not_found(scope)
        pool: Pool = state.pool
        async with pool.acquire() as conn:
            # touch=False: a feed poll never writes (the token's last_used_at is for manage links).
            owner = await tokens.resolve_token(conn, token, "feed", touch=False)
            if owner is None:
                # Only unknown tokens are counted (one Redis round trip then); a known feed never waits on Redis.
                try:
                    await ratelimit.for_request(request, ratelimit.BAD_FEED)
                except TooManyRequests as exc:
                    return too_many(exc)
                return not_found(scope)
            feed = await personal.personal_feed(conn, owner.participant_id, with_group=beroepsgroep)
        unchanged = feed.representation(with_body=False)
        if unchanged.is_fresh(*validators(scope)):
            return unchanged.reply(scope)
        return feed.representation(with_body=True).reply(scope)


class FeedLinksController(Controller):
    path = "/api/v1/feeds"
    tags = ("agenda's",)

    @get("/links")
    async def feed_links(self, conn: Conn, state: State, feed: FeedParam) -> FeedLinks:
        """Subscription links for a shared feed (webcal, Google Calendar, Outlook.com, Microsoft 365, https), with
        what the feed holds and which meetings it covers (`description`, `window`, Dutch)."""
        kind, ident = service.parse_feed_ref(feed)
        spec = None if kind is None else await service.resolve_spec(conn, kind, ident)
        if spec is None:
            raise NotFound("Deze agenda bestaat niet")
        settings: Settings = state.settings
        return links.shared_links(settings.base_url, spec)


class MyFeedController(Controller):
    path = "/api/v1/me/feed"
    tags = ("deelnemers",)
    dependencies = {"caller": provide_caller, "participant": provide_participant}  # noqa: RUF012

    @post("/", status_code=201)
    async def new_feed_link(
        self, conn: Conn, state: State, participant: CurrentParticipant, beroepsgroep: GroupParam = False
    ) -> PersonalFeedLinks:
        """Make your personal feed URL (shown once). Every earlier feed URL of yours stops working (404)."""
        token = await tokens.rotate(conn, participant.participant_id, "feed")
        settings: Settings = state.settings
        return PersonalFeedLinks(
            links=links.personal_links(settings.base_url, token, personal.PERSONAL_NAME, with_group=beroepsgroep),
            includes_professional_group=beroepsgroep,
        )

    @delete("/", status_code=204)
    async def stop_feed(self, conn: Conn, participant: CurrentParticipant) -> None:
        """Stop your personal feed: every feed URL of yours answers 404 from now on."""
        await tokens.revoke_all(conn, participant.participant_id, "feed")
