"""/agenda: the upcoming meetings anyone may see, with filters (theme, region or municipality, professional group,
online or on location, a word to search for). A GET form, so every filter is a link one can share or bookmark.

The list is the API's own (`meetings.service.list_visible`, as `GET /api/v1/meetings?status=published`): the same
visibility and audience rules, the same order and cursor.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any
from urllib.parse import urlencode
from uuid import UUID

from litestar import Controller, Request, get
from litestar.datastructures import State
from litestar.params import QueryParameter
from litestar.response import Template

from schemas.feeds import FeedLinks
from schemas.meetings import Meeting
from services.dates import span, zone_label
from services.db import Conn, Connection
from services.errors import InvalidInput
from services.feeds import links as feed_links
from services.feeds import service as feeds
from services.meetings import service as meetings
from services.pagination import decode_cursor, encode_cursor
from services.web import choices, session
from services.web.account import in_language
from services.web.i18n import gettext as _
from services.web.i18n import locale
from services.web.render import page, summary

PAGE_SIZE = 20
Text = Annotated[str | None, QueryParameter(max_length=200)]
SEARCH_MAX = 100
# "online" filter values as the form sends them
_FORMATS = {"online": True, "locatie": False}


def _seats(meeting: Meeting) -> str:
    if meeting.seats_available > 0:
        return _("nog %(left)s van de %(capacity)s plaatsen vrij") % {
            "left": meeting.seats_available,
            "capacity": meeting.capacity,
        }
    if meeting.waitlist_enabled:
        return _("vol; wachtlijst open")
    return _("vol")


def _where(meeting: Meeting) -> str:
    venue = meeting.venue
    place = ", ".join(p for p in (venue.name, venue.city) if p) if venue else ""
    # `online`, not the link: the public agenda never sees the link itself (meetings.service.shown_to).
    if meeting.online and place:
        return _("%(place)s, of online") % {"place": place}
    return place or (_("Online") if meeting.online else "")


def _item(meeting: Meeting) -> dict[str, Any]:
    return {
        "id": meeting.id,
        "title": meeting.title,
        "when": span(meeting.starts_at, meeting.ends_at, meeting.timezone, locale()),
        "zone": zone_label(meeting.timezone, locale()),
        "where": _where(meeting),
        "seats": _seats(meeting),
    }


async def _themes(conn: Connection) -> list[tuple[str, str]]:
    return [(r["slug"], r["name"]) for r in await conn.fetch("SELECT slug, name FROM themes ORDER BY position, slug")]


def _known(value: str | None, options: list[tuple[str, str]]) -> str | None:
    return value if value and value in {code for code, _label in options} else None


async def _feed_for(
    conn: Connection, base_url: str, theme: str | None, group: str | None, place: str | None
) -> FeedLinks | None:
    """The shared feed nearest to what the visitor chose (a theme, else a profession, else a place, else all), to
    follow the agenda in their own calendar without registering anywhere."""
    kind, ident = (
        ("themes", theme)
        if theme
        else ("groups", group)
        if group
        else ("organisations", place)
        if place
        else ("public", "")
    )
    spec = await feeds.resolve_spec(conn, kind, ident)  # type: ignore[arg-type]
    return None if spec is None else in_language(feed_links.shared_links(base_url, spec))


class AgendaController(Controller):
    path = "/agenda"
    include_in_schema = False

    @get("/")
    async def agenda(
        self,
        conn: Conn,
        state: State,
        request: Request[Any, Any, Any],
        thema: Text = None,
        voor: Text = None,
        groep: Text = None,
        vorm: Text = None,
        zoek: Annotated[str | None, QueryParameter(max_length=2000)] = None,
        verder: Text = None,
    ) -> Template:
        options = await choices.load(conn)
        themes = await _themes(conn)
        places = [option for _group, group_options in options.organisations for option in group_options]
        groups = options.groups[0][1] if options.groups else []
        errors: dict[str, str] = {}
        # A value that is not in the list (an old bookmark, a typo in the address) is said at its field.
        for field, value, known in (("thema", thema, themes), ("voor", voor, places), ("groep", groep, groups)):
            if value and _known(value, known) is None:
                errors[field] = _("Kies een waarde uit de lijst")
        if vorm and vorm not in _FORMATS:
            errors["vorm"] = _("Kies een waarde uit de lijst")
        text = (zoek or "").strip().replace("\x00", "")
        if len(text) > SEARCH_MAX:
            # Said at the search box, with the agenda below it, rather than on a page of its own.
            errors["zoek"] = _("Zoek met hoogstens %(n)s tekens") % {"n": SEARCH_MAX}
            text = text[:SEARCH_MAX]
        try:
            after = decode_cursor(verder, tuple[datetime, UUID])
        except InvalidInput:
            after = None  # a mangled "more" link starts at the beginning
        found = await meetings.list_visible(
            conn,
            None,
            cursor=after,
            limit=PAGE_SIZE + 1,
            audience_organisation=_known(voor, places),
            theme=_known(thema, themes),
            from_=datetime.now(UTC),
            to=None,
            status="published",
            organisation=None,
            funder=None,
            audience_group=_known(groep, groups),
            series_id=None,
            online=_FORMATS.get(vorm or ""),
            text=text or None,
        )
        more = found[PAGE_SIZE] if len(found) > PAGE_SIZE else None
        shown = found[:PAGE_SIZE]
        next_cursor = encode_cursor(shown[-1].starts_at.isoformat(), str(shown[-1].id)) if more and shown else None
        filters = {"thema": thema or "", "voor": voor or "", "groep": groep or "", "vorm": vorm or "", "zoek": text}
        feed = await _feed_for(conn, state.settings.base_url, _known(thema, themes), _known(groep, groups),
                               _known(voor, places))  # fmt: skip
        query = urlencode({**{k: v for k, v in filters.items() if v}, "verder": next_cursor or ""})
        return page(
            "agenda.html",
            title=_("Agenda"),
            signed_in=await session.participant(conn, request) is not None,
            meetings=[_item(m) for m in shown],
            filters=filters,
            filtered=any(filters.values()),
            themes=themes,
            places=options.organisations,
            groups=groups,
            next_link=f"/agenda?{query}" if next_cursor else "",
            errors=errors,
            error_list=summary(errors),
            feed=feed,
            status=422 if "zoek" in errors else 200,
        )
