"""The organiser's learning-circle pages: ask for a round, watch it being composed, review, move, publish.

/organisator/leerkringen                          the body's rounds
/organisator/leerkringen/nieuw                    GET the form, POST asks for a round (a worker composes it)
/organisator/leerkringen/{id}                     the round: state (live while a worker is busy), circles, members
  .../voortgang                                   the state as JSON, for /static/progress.js
  .../verplaatsen .../samenstellen .../publiceren  POST, then back to the round (Post/Redirect/Get)

Every rule is the API's own (services/circles: service, review); the form only turns fields into a CircleRoundIn
and the service's field names back into the form's.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from litestar import Controller, Request, Response, get, post
from litestar.datastructures import State
from litestar.params import FromPath
from litestar.response import Redirect, Template

from schemas.auth import Principal
from schemas.circles import CircleRound, CircleRoundIn, MemberPatch
from services.circles import review
from services.circles import service as circles
from services.dates import DUTCH_ZONE, format_when
from services.db import Conn, Connection
from services.errors import InvalidInput
from services.headers import SCRIPT_PAGE_POLICY
from services.meetings import service as meetings
from services.web import forms
from services.web.i18n import N_, locale
from services.web.i18n import gettext as _
from services.web.organiser import _HANDLERS, HOME, _organiser
from services.web.render import HEADERS, field_errors, page, summary

ROUNDS = f"{HOME}/leerkringen"
FIELDS = ("title", "signup_meeting", "size_min", "size_max", "first_date", "start_time", "end_time", "every_weeks",
          "count", "venue_name", "venue_address", "venue_city", "online_url")  # fmt: skip
NUMBERS = ("size_min", "size_max", "every_weeks", "count")
FILL_IN_A_NUMBER = N_("Vul een getal in")
# The API's field (as the service and msgspec name it) -> the form's.
_FIELD = {
    "signup_meeting_id": "signup_meeting",
    "venue.name": "venue_name",
    "venue.address": "venue_address",
    "venue.city": "venue_city",
    "venue": "venue_name",
    "schedule": "first_date",
    "sessions": "first_date",
}
STATE_TEXT = {
    "composing": N_("De kringen worden samengesteld…"),
    "proposed": N_("Het voorstel is klaar: bekijk de kringen, verplaats wie je wilt en publiceer."),
    "publishing": N_("De kringen worden gepubliceerd en de leden uitgenodigd…"),
    "published": N_("Gepubliceerd: elke kring is een reeks bijeenkomsten en de leden hebben hun uitnodigingen."),
    "infeasible": N_("Zo lukt het niet: pas de grootte of de deelnemers aan."),
}
BUSY = ("composing", "publishing")


def _number(text: str) -> Any:
    """A whole number as typed ("-1" too, so the message is about its size, not its kind); other text as it is."""
    try:
        return int(text)
    except ValueError:
        return text


def _body(form: Mapping[str, str]) -> dict[str, Any]:
    """The API body of the posted form; msgspec and the service check it."""
    venue = {k: form.get(f"venue_{k}", "").strip() for k in ("name", "address", "city")}
    return {
        "title": form.get("title", ""),
        "signup_meeting_id": form.get("signup_meeting") or None,
        "size_min": _number(form.get("size_min", "")),
        "size_max": _number(form.get("size_max", "")),
        "schedule": {
            "first_date": form.get("first_date", ""),
            "start_time": form.get("start_time", ""),
            "end_time": form.get("end_time", ""),
            "every_weeks": _number(form.get("every_weeks", "")),
            "count": _number(form.get("count", "")),
        },
        "timezone": DUTCH_ZONE,
        "venue": venue if any(venue.values()) else None,
        "online_url": form.get("online_url", "").strip() or None,
    }


def _empty() -> dict[str, str]:
    return dict.fromkeys(FIELDS, "") | {
        "size_min": "6", "size_max": "8", "start_time": "13:30", "end_time": "16:00", "every_weeks": "6", "count": "4",
    }  # fmt: skip


async def _signup_meetings(conn: Connection, principal: Principal) -> list[tuple[str, str]]:
    """The body's published meetings, as (id, title and date): whose registrants may form the circles."""
    found = await meetings.list_visible(
        conn, principal, cursor=None, limit=200, audience_organisation=None, theme=None, from_=None, to=None,
        status="published", organisation=principal.organisation_code, funder=None, audience_group=None, series_id=None,
    )  # fmt: skip
    return [(str(m.id), f"{m.title} ({format_when(m.starts_at, m.ends_at, m.timezone, locale())})") for m in found]


async def _form_page(
    conn: Connection, principal: Principal, values: dict[str, str], errors: dict[str, str], status: int = 200
) -> Template:
    return page(
        "organiser_circle_form.html", status=status, title=_("Nieuwe leerkringen"), organiser=True, values=values,
        signup_meetings=await _signup_meetings(conn, principal), errors=errors, error_list=summary(errors),
    )  # fmt: skip


def _progress(round_: CircleRound) -> dict[str, Any]:
    text = _(STATE_TEXT[round_.state])
    if round_.state == "infeasible" and round_.explanation:
        text = f"{text} {' '.join(round_.explanation)}"
    busy = round_.state in BUSY
    return {"total": 1, "done": 0 if busy else 1, "text": text, "finished": not busy}


async def _names(conn: Connection, round_: CircleRound) -> dict[str, str]:
    """Names of the members' organisations and provinces, by code."""
    codes = {c for circle in round_.circles for m in circle.members for c in (m.organisation_code, m.region) if c}
    codes |= {c for m in round_.unplaced for c in (m.organisation_code, m.region) if c}
    rows = await conn.fetch(
        "SELECT code, name FROM organisations WHERE code = ANY($1::text[]) "
        "UNION ALL SELECT code, name FROM provinces WHERE code = ANY($1::text[])",
        sorted(codes),
    )
    return {r["code"]: r["name"] for r in rows}


def _back(round_id: UUID) -> Redirect:
    return Redirect(f"{ROUNDS}/{round_id}", status_code=303, headers=HEADERS)


class OrganiserCirclesController(Controller):
    path = ROUNDS
    include_in_schema = False
    exception_handlers = _HANDLERS  # type: ignore[assignment]

    @get("/")
    async def rounds(self, conn: Conn, state: State, request: Request[Any, Any, Any]) -> Template:
        principal = await _organiser(conn, state, request)
        found = await circles.list_rounds(conn, principal, None, 200)
        rows = [{"round": r, "state": _(STATE_TEXT[r.state])} for r in found]
        return page("organiser_circles.html", title=_("Leerkringen"), organiser=True, rows=rows)

    @get("/nieuw")
    async def new(self, conn: Conn, state: State, request: Request[Any, Any, Any]) -> Template:
        principal = await _organiser(conn, state, request)
        return await _form_page(conn, principal, _empty(), {})

    @post("/nieuw", status_code=303)
    async def create(self, conn: Conn, state: State, request: Request[Any, Any, Any]) -> Response[Any]:
        principal = await _organiser(conn, state, request)
        form = await forms.read(request)
        posted = dict.fromkeys(FIELDS, "") | {k: v for k, v in form.items() if k in FIELDS}
        try:
            data = forms.decode(_body(form), CircleRoundIn)
            async with conn.transaction():
                created = await circles.create(conn, principal, data, best_effort=False)
        except InvalidInput as exc:
            errors = field_errors(exc.errors, _FIELD)
            # An empty number field reads as text to the API's check ("Vul een geheel getal in (nu: tekst)").
            errors |= {name: _(FILL_IN_A_NUMBER) for name in NUMBERS if name in errors and not form.get(name, "")}
            return await _form_page(conn, principal, posted, errors, status=422)
        return _back(created.id)

    @get("/{round_id:uuid}")
    async def show(
        self, conn: Conn, state: State, request: Request[Any, Any, Any], round_id: FromPath[UUID]
    ) -> Template:
        principal = await _organiser(conn, state, request)
        round_ = await circles.view(conn, principal, round_id)
        now = datetime.now(UTC)
        sessions = [format_when(s.starts_at, s.ends_at, DUTCH_ZONE, locale()) for s in round_.sessions]
        return page(
            "organiser_circle.html", title=round_.title, organiser=True, round=round_, progress=_progress(round_),
            busy=round_.state in BUSY, sessions=sessions, names=await _names(conn, round_),
            moved=any(m.pinned for c in round_.circles for m in c.members),
            started=any(s.starts_at <= now for s in round_.sessions), json_url=f"{ROUNDS}/{round_id}/voortgang",
            headers={"Content-Security-Policy": SCRIPT_PAGE_POLICY},
        )  # fmt: skip

    @get("/{round_id:uuid}/voortgang")
    async def progress_json(
        self, conn: Conn, state: State, request: Request[Any, Any, Any], round_id: FromPath[UUID]
    ) -> Response[dict[str, Any]]:
        principal = await _organiser(conn, state, request)
        round_ = await circles.view(conn, principal, round_id)
        return Response(_progress(round_), headers=HEADERS)

    @get(["/{round_id:uuid}/verplaatsen", "/{round_id:uuid}/samenstellen", "/{round_id:uuid}/publiceren"])
    async def after_post(self, round_id: FromPath[UUID]) -> Redirect:
        """A refusal shown at a POST address, opened again: back to the round, not 405."""
        return _back(round_id)

    @post("/{round_id:uuid}/verplaatsen", status_code=303)
    async def move(
        self, conn: Conn, state: State, request: Request[Any, Any, Any], round_id: FromPath[UUID]
    ) -> Redirect:
        principal = await _organiser(conn, state, request)
        form = await forms.read(request)
        try:
            member_id = UUID(form.get("member_id", ""))
        except ValueError:
            raise InvalidInput(_("Dit lid kennen we niet"), field="member_id") from None
        circle = form.get("circle", "")
        if not circle.isdigit():
            raise InvalidInput(_("Kies een kring"), field="circle")
        async with conn.transaction():
            await review.patch_member(conn, principal, round_id, member_id, MemberPatch(circle=int(circle)))
        return _back(round_id)

    @post("/{round_id:uuid}/samenstellen", status_code=303)
    async def solve(
        self, conn: Conn, state: State, request: Request[Any, Any, Any], round_id: FromPath[UUID]
    ) -> Redirect:
        principal = await _organiser(conn, state, request)
        async with conn.transaction():
            # After a move by hand, the fewest moves around it; otherwise a fresh composition.
            keep = (await forms.read(request)).get("houden") == "ja"
            await review.request_solve(conn, principal, round_id, time_limit=None, keep=keep)
        return _back(round_id)

    @post("/{round_id:uuid}/publiceren", status_code=303)
    async def publish(
        self, conn: Conn, state: State, request: Request[Any, Any, Any], round_id: FromPath[UUID]
    ) -> Redirect:
        principal = await _organiser(conn, state, request)
        async with conn.transaction():
            await review.request_publish(conn, principal, round_id)
        return _back(round_id)
