"""One meeting on the organiser's pages: its details and counts, edit, publish, cancel, and at the door the
registrations and waiting list with a check-in button each and the QR code to project.

/organisator/bijeenkomsten/{id}  the meeting: where and when, counts, publish / cancel, edit, registrations,
                                 waiting list, QR, earlier invitation batches
  .../bewerken                   GET the form filled in, POST saves
  .../publiceren .../annuleren   POST
  .../aanwezig                   POST one registration present (a button per row, big enough for a tablet)
  .../aanwezig/lijst             POST the door view's queue (JSON, services/web/static/door.js)
  .../export/{inschrijvingen|aanwezigheid}.{csv|xlsx}   the exports, in Dutch (services/registrations/export.py)

Every POST that changes something answers 303 to the meeting's page with what happened (`?gedaan=`, a word, never
anything personal): Post/Redirect/Get, so reloading the page it lands on sends nothing again. A form with errors
is shown at the POST's URL with 422, as forms do. Every rule is the API's own: meetings.service,
registrations.listing, attendance.service, invitations.service.
"""

from __future__ import annotations

import base64
import re
import unicodedata
from datetime import UTC, datetime
from importlib import resources
from typing import Annotated, Any
from uuid import UUID
from zoneinfo import ZoneInfo

import msgspec
from litestar import Controller, Request, Response, get, post
from litestar.datastructures import State
from litestar.params import FromPath, QueryParameter
from litestar.response import Redirect, Template

from schemas.auth import Principal
from schemas.meetings import CancelIn, Meeting, MeetingPatch
from schemas.registrations import AttendanceMark
from services import sheets
from services.attendance import checkin
from services.attendance import service as attendance
from services.dates import format_when, moment
from services.db import Conn, Connection
from services.errors import Conflict, InvalidInput, NotFound, translate_msgspec
from services.evaluations import results as evaluation_files
from services.evaluations.results import results_for as evaluation_results
from services.headers import SCRIPT_PAGE_POLICY
from services.invitations import service as invitations
from services.meetings import service as meetings
from services.registrations import export, listing
from services.settings import Settings
from services.web import charts, forms, organiser_form
from services.web.i18n import N_, locale
from services.web.i18n import gettext as _
from services.web.organiser import _HANDLERS, HOME, _organiser, form_page
from services.web.render import HEADERS, field_errors, page, summary

# What a POST did, by the word it redirects with; an unknown word shows nothing.
DONE = {
    "opgeslagen": N_("Opgeslagen."),
    "gepubliceerd": N_("Gepubliceerd: de bijeenkomst staat in de agenda en inschrijven kan."),
    "geannuleerd": N_("Geannuleerd. Wie ingeschreven was, krijgt bericht."),
    "ingecheckt": N_("Ingecheckt."),
}
EXPORT_TYPES = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}
DoneParam = Annotated[str | None, QueryParameter(name="gedaan", max_length=20)]


# The door view's service worker (services/web/static/door-sw.js). Served here, not under /static/, because a worker
# may control only pages under its own path: from /organisator/ it can take the meeting pages' scope.
DOOR_WORKER = (resources.files("services.web") / "static" / "door-sw.js").read_bytes()
DOOR_WORKER_POLICY = "default-src 'none'; connect-src 'self'"


@get(f"{HOME}/deur-sw.js", include_in_schema=False)
async def door_worker() -> Response[bytes]:
    """Revalidated on every check, so a new release reaches the door tablets at their next online load."""
    return Response(DOOR_WORKER, media_type="text/javascript",
                    headers={"Cache-Control": "no-cache", "Content-Security-Policy": DOOR_WORKER_POLICY})  # fmt: skip


class DoorQueue(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    registration_ids: Annotated[list[UUID], msgspec.Meta(min_length=1, max_length=500)]


def meeting_path(meeting_id: UUID) -> str:
    return f"{HOME}/bijeenkomsten/{meeting_id}"


def _closing(opens: datetime, closes: datetime, timezone: str) -> str:
    """The end of the check-in window: its time alone on the day it opens ("van … om 09:00 tot 12:30")."""
    zone = ZoneInfo(timezone)
    if opens.astimezone(zone).date() == closes.astimezone(zone).date():
        return f"{closes.astimezone(zone):%H:%M}"
    return moment(closes, timezone, locale())


def file_part(meeting: Meeting) -> str:
    """The meeting in a download's name, as people find it among their files: its date and title
    ("2027-03-02-werksessie-armoedebeleid"), plain ASCII."""
    words = unicodedata.normalize("NFKD", meeting.title).encode("ascii", "ignore").decode().lower()
    slug = re.sub(r"[^a-z0-9]+", "-", words).strip("-")[:60].rstrip("-") or "bijeenkomst"
    return f"{meeting.starts_at:%Y-%m-%d}-{slug}"


def _done(meeting_id: UUID, what: str) -> Redirect:
    return Redirect(f"{meeting_path(meeting_id)}?gedaan={what}", status_code=303, headers=HEADERS)


async def _meeting_page(
    conn: Connection, settings: Settings, principal: Principal, meeting_id: UUID, *, notice: str = ""
) -> Template:
    meeting = await meetings.get(conn, principal, meeting_id)
    registrations = await listing.for_meeting(
        conn, principal, meeting_id, cursor=None, limit=500,
        status=None, organisation=None, professional_group=None, search=None,
    )  # fmt: skip
    info = await attendance.checkin_info(conn, principal, meeting_id, settings.base_url)
    qr = base64.b64encode(checkin.qr(info.url, "svg")).decode()
    now = datetime.now(UTC)
    people = [r for r in registrations.items if r.status in ("confirmed", "offered")]
    waiting = sorted((r for r in registrations.items if r.status == "waitlisted"), key=lambda r: r.position or 0)
    codes = sorted({r.participant.organisation_code for r in registrations.items if r.participant.organisation_code})
    names = await conn.fetch("SELECT code, name FROM organisations WHERE code = ANY($1::text[])", codes)
    batches = await invitations.batches(conn, principal, meeting_id)
    series_title = (
        await conn.fetchval("SELECT title FROM series WHERE id = $1", meeting.series_id) if meeting.series_id else None
    )
    return page(
        "organiser_meeting.html", title=meeting.title, organiser=True, meeting=meeting, notice=notice,
        when=format_when(meeting.starts_at, meeting.ends_at, meeting.timezone, locale()),
        people=people, waiting=waiting, organisation_names={r["code"]: r["name"] for r in names},
        checked_in=sum(1 for r in people if r.attendance == "attended"), series_title=series_title,
        batches=[{"batch": b, "when": moment(b.created_at, meeting.timezone, locale())}
                 for b in reversed(batches)],
        code=info.code, qr=qr, door_open=info.opens_at <= now < info.closes_at and meeting.status == "published",
        door_opens=moment(info.opens_at, meeting.timezone, locale()),
        door_closes=_closing(info.opens_at, info.closes_at, meeting.timezone),
        back_path=meeting_path(meeting_id),
        headers={"Content-Security-Policy": SCRIPT_PAGE_POLICY},
    )  # fmt: skip


async def _edit_form(
    conn: Connection, principal: Principal, meeting_id: UUID, values: dict[str, str], errors: dict[str, str]
) -> Template:
    return await form_page(
        conn, principal, title=_("Bijeenkomst bewerken"), action=f"{meeting_path(meeting_id)}/bewerken",
        values=values, errors=errors, status=422 if errors else 200,
    )  # fmt: skip


class OrganiserMeetingController(Controller):
    path = f"{HOME}/bijeenkomsten/{{meeting_id:uuid}}"
    include_in_schema = False
    exception_handlers = _HANDLERS  # type: ignore[assignment]

    @get("/")
    async def show(
        self, conn: Conn, state: State, request: Request[Any, Any, Any], meeting_id: FromPath[UUID],
        gedaan: DoneParam = None,
    ) -> Template:  # fmt: skip
        principal = await _organiser(conn, state, request)
        notice = _(DONE[gedaan]) if gedaan in DONE else ""
        return await _meeting_page(conn, state.settings, principal, meeting_id, notice=notice)

    @get("/bewerken")
    async def edit(
        self, conn: Conn, state: State, request: Request[Any, Any, Any], meeting_id: FromPath[UUID]
    ) -> Template:
        principal = await _organiser(conn, state, request)
        meeting = await meetings.get(conn, principal, meeting_id)
        return await _edit_form(conn, principal, meeting_id, organiser_form.from_meeting(meeting), {})

    @post("/bewerken", status_code=303)
    async def save(
        self, conn: Conn, state: State, request: Request[Any, Any, Any], meeting_id: FromPath[UUID]
    ) -> Response[Any]:
        principal = await _organiser(conn, state, request)
        form = await forms.read(request, organiser_form.LONGER)
        try:
            async with conn.transaction():
                await meetings.update(conn, principal, meeting_id, organiser_form.decode(form, MeetingPatch))
        except (InvalidInput, Conflict) as exc:
            if not exc.errors:
                raise
            # A refusal about a field (fewer seats than people registered: 409 at capacity) belongs at that field.
            errors = organiser_form.errors_at_fields(exc.errors)
            return await _edit_form(conn, principal, meeting_id, organiser_form.as_posted(form), errors)
        return _done(meeting_id, "opgeslagen")

    @get(["/publiceren", "/annuleren", "/aanwezig"])
    async def after_post(self, meeting_id: FromPath[UUID]) -> Redirect:
        """A form's answer shown at its POST address (a confirmation, a refusal), opened again by a reload, a new tab
        or a bookmark: back to the meeting, not 405."""
        return Redirect(meeting_path(meeting_id), status_code=303, headers=HEADERS)

    @post("/publiceren", status_code=303)
    async def publish(
        self, conn: Conn, state: State, request: Request[Any, Any, Any], meeting_id: FromPath[UUID]
    ) -> Response[Any]:
        """Publish; a meeting the service refuses for a missing field (no place to go) opens its form with the
        message at that field, where it can be put right."""
        principal = await _organiser(conn, state, request)
        try:
            async with conn.transaction():
                await meetings.publish(conn, principal, meeting_id)
        except InvalidInput as exc:
            meeting = await meetings.get(conn, principal, meeting_id)
            errors = organiser_form.errors_at_fields(exc.errors)
            return await _edit_form(conn, principal, meeting_id, organiser_form.from_meeting(meeting), errors)
        return _done(meeting_id, "gepubliceerd")

    @post("/annuleren", status_code=303)
    async def cancel(
        self, conn: Conn, state: State, request: Request[Any, Any, Any], meeting_id: FromPath[UUID]
    ) -> Response[Any]:
        """Two steps: the meeting page's button asks, with how many people will be mailed; only the confirming post
        cancels. A published meeting's cancellation mail needs its reason."""
        principal = await _organiser(conn, state, request)
        form = await forms.read(request, {"reason": forms.LONG_TEXT})
        reason = form.get("reason", "")
        meeting = await meetings.get(conn, principal, meeting_id)
        errors: dict[str, str] = {}
        try:
            forms.decode({"reason": reason}, CancelIn)  # as the API checks it: its length, no control characters
        except InvalidInput as exc:
            errors = field_errors(exc.errors)
        if form.get("bevestigd") == "ja" and not errors:
            if reason or meeting.status != "published":
                async with conn.transaction():
                    await meetings.cancel(conn, principal, meeting_id, reason)
                return _done(meeting_id, "geannuleerd")
            errors = {"reason": _("Schrijf kort waarom: de reden komt in de mail aan iedereen die komt")}
        holders = await conn.fetchval(
            "SELECT count(*) FROM registrations "
            "WHERE meeting_id = $1 AND status IN ('confirmed', 'offered', 'waitlisted')",
            meeting_id,
        )
        return page(
            "organiser_cancel.html", title=_("Bijeenkomst annuleren"), organiser=True, meeting=meeting, reason=reason,
            holders=holders, errors=errors, error_list=summary(errors), status=422 if errors else 200,
            when=format_when(meeting.starts_at, meeting.ends_at, meeting.timezone, locale()),
        )  # fmt: skip

    @post("/aanwezig", status_code=303)
    async def present(
        self, conn: Conn, state: State, request: Request[Any, Any, Any], meeting_id: FromPath[UUID]
    ) -> Redirect:
        principal = await _organiser(conn, state, request)
        try:
            registration_id = UUID((await forms.read(request)).get("registration_id", ""))
        except ValueError:
            raise InvalidInput(_("Deze inschrijving kennen we niet"), field="registration_id") from None
        async with conn.transaction():
            await attendance.record(conn, principal, meeting_id, [AttendanceMark(registration_id=registration_id)])
        return _done(meeting_id, "ingecheckt")

    @post("/aanwezig/lijst", status_code=200)
    async def present_many(
        self, conn: Conn, state: State, request: Request[Any, Any, Any], meeting_id: FromPath[UUID]
    ) -> dict[str, list[str]]:
        """The door view's queue (services/web/static/door.js), sent when there is a connection: each registration
        present. Recording is idempotent, so a queue sent twice counts nobody twice."""
        principal = await _organiser(conn, state, request)
        try:
            body = msgspec.json.decode(await request.body(), type=DoorQueue)
        except msgspec.DecodeError as exc:  # not JSON at all (a form post, a cut-off body) as well as the wrong shape
            problem = translate_msgspec(str(exc))
            raise InvalidInput(f"registration_ids: {problem.message}", field="registration_ids") from None
        marks = [AttendanceMark(registration_id=rid) for rid in dict.fromkeys(body.registration_ids)]
        async with conn.transaction():
            recorded = await attendance.record(conn, principal, meeting_id, marks)
        return {"recorded": [str(a.registration_id) for a in recorded if a.registration_id]}

    @get("/export/{file:str}")
    async def export(
        self, conn: Conn, state: State, request: Request[Any, Any, Any], meeting_id: FromPath[UUID],
        file: FromPath[str],
    ) -> Response[bytes]:  # fmt: skip
        """inschrijvingen or aanwezigheid, as .csv or .xlsx (services/registrations/export.py)."""
        principal = await _organiser(conn, state, request)
        kind, _dot, suffix = file.partition(".")
        if kind not in ("inschrijvingen", "aanwezigheid") or suffix not in EXPORT_TYPES:
            raise NotFound(_("Dit bestand bestaat niet"))
        table = await export.sheet(conn, principal, meeting_id, kind)  # type: ignore[arg-type]
        body = sheets.to_csv(table) if suffix == "csv" else sheets.to_xlsx(table)
        meeting = await meetings.get(conn, principal, meeting_id)
        disposition = f'attachment; filename="{kind}-{file_part(meeting)}.{suffix}"'
        return Response(body, media_type=EXPORT_TYPES[suffix], headers={**HEADERS, "Content-Disposition": disposition})

    @get("/evaluatie/{file:str}")
    async def evaluation_download(
        self, conn: Conn, state: State, request: Request[Any, Any, Any], meeting_id: FromPath[UUID],
        file: FromPath[str],
    ) -> Response[str | bytes]:  # fmt: skip
        """uitkomsten.csv / uitkomsten.xlsx: the results as the API exports them, with the same minimum of answers."""
        principal = await _organiser(conn, state, request)
        name, _dot, suffix = file.partition(".")
        if name != "uitkomsten" or suffix not in EXPORT_TYPES:
            raise NotFound(_("Dit bestand bestaat niet"))
        found = await evaluation_results(conn, principal, meeting_id)
        meeting = await meetings.get(conn, principal, meeting_id)
        body: str | bytes = (
            evaluation_files.results_csv(found)
            if suffix == "csv"
            else evaluation_files.results_xlsx(found, f"Evaluatie: {meeting.title}")
        )
        disposition = f'attachment; filename="evaluatie-{file_part(meeting)}.{suffix}"'
        return Response(body, media_type=EXPORT_TYPES[suffix], headers={**HEADERS, "Content-Disposition": disposition})

    @get("/evaluatie")
    async def evaluation(
        self, conn: Conn, state: State, request: Request[Any, Any, Any], meeting_id: FromPath[UUID]
    ) -> Template:
        """The evaluation's results (the API's, with its minimum of answers), a chart per closed question."""
        principal = await _organiser(conn, state, request)
        meeting = await meetings.get(conn, principal, meeting_id)
        results = await evaluation_results(conn, principal, meeting_id)
        charts_by_key = {
            q.key: charts.bars(f"vraag-{q.key}", q.text, list(q.distribution.items()))
            for q in results.questions
            if q.distribution
        }
        return page(
            "organiser_evaluation.html", title=_("Evaluatie"), organiser=True, meeting=meeting, results=results,
            charts=charts_by_key,
        )  # fmt: skip
