"""/bijeenkomsten/{id}: the meeting's page, where every mail and calendar entry links to.

What, when, where and for whom; seats left or the waiting list; the visitor's own place (with cancel, or the
answer to a held seat); registering: at once for someone signed in, by a confirmation mail for anyone else.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

from litestar import Controller, Request, get, post
from litestar.datastructures import State
from litestar.params import FromPath
from litestar.response import Redirect, Template

from schemas.meetings import Meeting
from schemas.participants import ParticipantIn
from schemas.registrations import RegistrationIn
from services import ratelimit
from services.dates import format_when, moment
from services.db import Conn, Connection
from services.errors import DomainError, InvalidInput
from services.meetings import service as meetings
from services.participants.auth import ParticipantActor
from services.registrations import offers, requests
from services.registrations import queries as rq
from services.registrations import service as registrations
from services.registrations.admission import refuse_if_closed
from services.seats import queries as sq
from services.seats.queries import MeetingSeats
from services.settings import Settings
from services.web import choices, forms, session
from services.web.i18n import gettext as _
from services.web.i18n import locale
from services.web.render import field_errors, message, page, refusal, summary


async def _names(conn: Connection, table: str, key: str, values: list[str]) -> list[str]:
    if not values:
        return []
    rows = await conn.fetch(f"SELECT {key}, name FROM {table} WHERE {key} = ANY($1::text[])", values)
    names = {r[key]: r["name"] for r in rows}
    return [names.get(v, v) for v in values]


async def _audience(conn: Connection, meeting: Meeting) -> str:
    groups = await _names(conn, "professional_groups", "slug", meeting.audience.groups)
    places = await _names(conn, "organisations", "code", meeting.audience.organisations + meeting.audience.regions)
    parts = [", ".join(groups)] if groups else []
    if places:
        parts.append(_("uit %(places)s") % {"places": ", ".join(places)})
    return " ".join(parts) if parts else _("Iedereen die in het sociaal domein werkt")


def _where(meeting: Meeting) -> str:
    venue = meeting.venue
    if venue is None:
        return _("Online") if meeting.online else ""
    return ", ".join(p for p in (venue.name, venue.address, venue.city) if p)


def _mine_text(row: Any, rank: int | None, zone: str) -> str:
    if row["status"] == "confirmed":
        return _("Je bent ingeschreven. De bijeenkomst staat in je agenda.")
    if row["status"] == "waitlisted":
        return _("Je staat op de wachtlijst, op plaats %(rank)s. Komt er een plek vrij, dan hoor je het meteen.") % {
            "rank": rank
        }
    until = moment(row["offer_expires_at"], zone, locale())
    return _("Er is een plek voor je vrij. We houden hem vast tot %(until)s.") % {"until": until}


async def meeting_page(
    conn: Connection,
    settings: Settings,
    meeting_id: UUID,
    visitor: ParticipantActor | None,
    *,
    status: int = 200,
    notice: str = "",
    form: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
) -> Template:
    """The page; raises NotFound for an unknown meeting or a draft."""
    meeting = await meetings.get(conn, None, meeting_id)
    mine = await rq.active_for(conn, meeting_id, visitor.participant_id) if visitor is not None else None
    rank = (
        await rq.waitlist_rank(conn, meeting_id, mine["position"]) if mine and mine["status"] == "waitlisted" else None
    )
    closed_reason = ""
    seats = await sq.meeting_seats(conn, meeting_id)
    try:
        refuse_if_closed(seats, staff=False)
        is_open = True
    except DomainError as exc:
        is_open, closed_reason = False, _closed_reason(exc, seats)
    organisers = ", ".join(await _names(conn, "organisations", "code", meeting.organiser_codes))
    # The online link is for those with a seat (meetings.shown_to keeps it out of the public answer).
    online_url = None
    if meeting.online and mine is not None and mine["status"] == "confirmed":
        online_url = await conn.fetchval("SELECT online_url FROM meetings WHERE id = $1", meeting_id)
    profile = forms.profile_values(form or {}) | {"email": (form or {}).get("email", "")}
    errors = errors or {}
    return page(
        "meeting.html",
        status=status,
        back_path=f"/bijeenkomsten/{meeting_id}",
        title=meeting.title,
        meeting=meeting,
        online_url=online_url,
        when=format_when(meeting.starts_at, meeting.ends_at, meeting.timezone, locale()),
        where=_where(meeting),
        audience=await _audience(conn, meeting),
        organisers=organisers,
        mine=mine,
        mine_text=_mine_text(mine, rank, meeting.timezone) if mine else "",
        offer_links=offers.offer_links("", settings.secret_key, mine["id"]) if mine else {},
        open=is_open and meeting.status == "published",
        closed_reason=closed_reason,
        notice=notice,
        signed_in=visitor is not None,
        profile=profile,
        choices=await choices.load(conn),
        errors=errors,
        error_list=summary(errors),
    )


def _registered_notice(status: str, rank: int | None) -> str:
    if status == "waitlisted":
        return _(
            "De bijeenkomst is vol: je staat op de wachtlijst, op plaats %(rank)s. We mailen je zodra er plek is."
        ) % {"rank": rank}
    return _("Je bent ingeschreven. De bevestiging met de agenda-uitnodiging komt per mail.")


def _closed_reason(exc: DomainError, seats: MeetingSeats | None) -> str:
    """Why registering is closed, in the page's language: the two answers with a moment in them are said here (the
    service's Dutch has the date formatted in, which no catalog entry matches)."""
    field = exc.errors[0].field if exc.errors else ""
    if seats is None:
        return _(exc.detail)
    if field == "registration_opens_at" and seats.registration_opens_at is not None:
        when = moment(seats.registration_opens_at, seats.timezone, locale())
        return _("De inschrijving opent op %(when)s") % {"when": when}
    if field == "registration_closes_at":
        when = moment(seats.registration_closes_at or seats.starts_at, seats.timezone, locale())
        return _("De inschrijving is gesloten sinds %(when)s") % {"when": when}
    return _(exc.detail)


class MeetingPageController(Controller):
    path = "/bijeenkomsten"
    include_in_schema = False

    @get("/{meeting_id:uuid}")
    async def show(
        self, conn: Conn, state: State, request: Request[Any, Any, Any], meeting_id: FromPath[UUID]
    ) -> Template:
        try:
            return await meeting_page(conn, state.settings, meeting_id, await session.participant(conn, request))
        except DomainError as exc:
            return refusal(exc)

    @get(["/{meeting_id:uuid}/inschrijven", "/{meeting_id:uuid}/afmelden"])
    async def after_post(self, meeting_id: FromPath[UUID]) -> Redirect:
        """A form's answer stays at its POST address; opened again (a reload after moving on, a bookmark, the
        language switch) that address leads back to the meeting instead of answering 405."""
        return Redirect(f"/bijeenkomsten/{meeting_id}", status_code=303)

    @post("/{meeting_id:uuid}/inschrijven", status_code=200)
    async def register(
        self, conn: Conn, state: State, request: Request[Any, Any, Any], meeting_id: FromPath[UUID]
    ) -> Template:
        """Signed in: register now. Anyone else: a confirmation mail to the address given (nothing counts before)."""
        settings: Settings = state.settings
        session.same_site(request, settings)
        visitor = await session.participant(conn, request)
        form = await forms.read(request)
        try:
            async with conn.transaction():
                if visitor is not None:
                    registration, _created = await registrations.register(conn, visitor, meeting_id, RegistrationIn())
                    notice = _registered_notice(registration.status, registration.waitlist_rank)
                    return await meeting_page(conn, settings, meeting_id, visitor, notice=notice)
                await ratelimit.for_request(request, ratelimit.MAIL)
                # The page's language becomes the language of a new participant's mails (an existing one keeps theirs).
                given = {"email": form.get("email", ""), "locale": locale(), **forms.profile_values(form)}
                person = forms.decode(given, ParticipantIn)
                answer = await requests.request(conn, settings, meeting_id, person)
        except InvalidInput as exc:
            errors = field_errors(exc.errors) or {"email": exc.detail}
            return await meeting_page(conn, settings, meeting_id, visitor, status=422, form=form, errors=errors)
        except DomainError as exc:
            return refusal(exc)
        return message(_("Bijna klaar: kijk in je mail"), _(answer.detail), status=202)

    @post("/{meeting_id:uuid}/afmelden", status_code=200)
    async def cancel(
        self, conn: Conn, state: State, request: Request[Any, Any, Any], meeting_id: FromPath[UUID]
    ) -> Template:
        settings: Settings = state.settings
        session.same_site(request, settings)
        visitor = await session.participant(conn, request)
        if visitor is None:
            return message(
                _("Log eerst in"),
                _("Open de link uit je mail of log in om je af te melden."),
                status=401,
                signin_form=True,
            )
        mine = await rq.active_for(conn, meeting_id, visitor.participant_id)
        try:
            if mine is not None:
                async with conn.transaction():
                    await registrations.cancel(conn, visitor, mine["id"])
            return await meeting_page(
                conn, settings, meeting_id, visitor, notice=_("Je bent afgemeld. Bedankt dat je het laat weten.")
            )
        except DomainError as exc:
            return refusal(exc)
