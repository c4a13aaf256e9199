"""Inviting an audience from the organiser's pages, and the batch's live progress bar.

/organisator/bijeenkomsten/{id}/uitnodigen               GET the form, POST records the batch (the API's service)
/organisator/bijeenkomsten/{id}/uitnodigingen/{batch}    the progress page: a <progress> the server fills in, kept
                                                         live by /static/progress.js (the only script of the pages)
  .../{batch}/voortgang                                  what that script polls (JSON)

Without the script the page shows the state at load and a link to look again: nothing depends on it.
"""

from __future__ import annotations

import base64
import json
import re
from typing import Any
from uuid import UUID

from litestar import Controller, Request, Response, get, post
from litestar.datastructures import Cookie, State
from litestar.params import FromPath
from litestar.response import Redirect, Template

from schemas.invitations import InvitationBatch, InvitationsIn
from services.db import Conn, Connection
from services.errors import InvalidInput
from services.headers import SCRIPT_PAGE_POLICY
from services.invitations import service as invitations
from services.meetings import service as meetings
from services.web import choices, forms
from services.web.i18n import gettext as _
from services.web.organiser import _HANDLERS, HOME, _organiser
from services.web.render import HEADERS, page, summary

# The pasted addresses the service set aside, shown on the progress page: the batch does not keep them, and they
# are personal, so they travel in a short-lived cookie scoped to that page, never in its URL.
_REJECTED = "leerkring_afgewezen"
_REJECTED_SHOWN = 50  # a cookie holds about 4 kB


def _rejected_cookie(path: str, rejected: list[dict[str, str]]) -> Cookie:
    value = base64.urlsafe_b64encode(json.dumps(rejected[:_REJECTED_SHOWN]).encode()).decode()
    return Cookie(key=_REJECTED, value=value, path=path, max_age=3600, httponly=True, samesite="strict")


def _rejected(request: Request[Any, Any, Any]) -> list[dict[str, str]]:
    try:
        found = json.loads(base64.urlsafe_b64decode(request.cookies.get(_REJECTED, "").encode()) or b"[]")
    except ValueError:
        return []
    if not isinstance(found, list):
        return []
    return [
        {"value": str(r.get("value", "")), "reason": str(r.get("reason", ""))} for r in found if isinstance(r, dict)
    ]


_FIELDS = {"groups": "group", "organisations": "organisation", "emails": "emails", "note": "note"}


def progress(batch: InvitationBatch) -> dict[str, Any]:
    c = batch.counts
    done = c.sent + c.failed + c.bounced + c.skipped
    total = max(c.total, done)
    finished = batch.state == "done"
    parts = [_("%(sent)s van %(total)s verstuurd") % {"sent": c.sent, "total": total}]
    if c.failed or c.bounced:
        parts.append(_("%(n)s niet bezorgd") % {"n": c.failed + c.bounced})
    if c.skipped:
        parts.append(_("%(n)s overgeslagen (al uitgenodigd of ingeschreven)") % {"n": c.skipped})
    if batch.waiting:
        parts.append(_("wacht op de mailserver"))
    if finished and total == 0:
        # Criteria reach only people who confirmed their address and asked for invitations: say so, or "0 of 0"
        # reads as a fault.
        text = _(
            "Klaar: niemand uitgenodigd. In deze doelgroep is niemand die zijn adres bevestigde en uitnodigingen "
            "wil krijgen; plak adressen om mensen toch uit te nodigen."
        )
    elif finished:
        text = _("Klaar: %(details)s.") % {"details": ", ".join(parts)}
    elif batch.state in ("requested", "resolving"):
        text = _("De genodigden worden opgezocht…")
    else:
        text = _("Bezig: %(details)s.") % {"details": ", ".join(parts)}
    return {"total": total, "done": done, "finished": finished, "text": text}


async def _form(
    conn: Connection, meeting_id: UUID, title: str, values: dict[str, str], errors: dict[str, str], status: int = 200
) -> Template:
    options = await choices.load(conn)
    return page(
        "organiser_invite.html", status=status, title=_("Uitnodigen"), organiser=True, meeting_id=meeting_id,
        meeting_title=title, values=values, places=options.organisations,
        groups=options.groups[0][1] if options.groups else [], errors=errors, error_list=summary(errors),
    )  # fmt: skip


# One pasted entry: "Eva Tester <eva@example.nl>" or '"Tester, Eva" <eva@example.nl>' (as Outlook and Gmail copy a
# list of people; a name holds no @), or anything else up to a comma, semicolon or space.
_ENTRY = re.compile(r'(?:"[^"]*"|[^,;<>"@\n])*<[^<>\s]+>|[^\s,;]+')


def pasted_addresses(text: str) -> list[str]:
    """The entries of a pasted list, each bare or with its name: the service reads the name too
    (services/invitations/addresses.py), so the invitation greets the person by it."""
    return [e.strip() for e in _ENTRY.findall(text) if e.strip()]


class OrganiserInviteController(Controller):
    path = f"{HOME}/bijeenkomsten/{{meeting_id:uuid}}"
    include_in_schema = False
    exception_handlers = _HANDLERS  # type: ignore[assignment]

    @get("/uitnodigen")
    async def form(
        self, conn: Conn, state: State, request: Request[Any, Any, Any], meeting_id: FromPath[UUID]
    ) -> Template:
        principal = await _organiser(conn, state, request)
        meeting = await meetings.get(conn, principal, meeting_id)
        return await _form(
            conn, meeting_id, meeting.title, {"group": "", "organisation": "", "emails": "", "note": ""}, {}
        )

    @post("/uitnodigen", status_code=303)
    async def invite(
        self, conn: Conn, state: State, request: Request[Any, Any, Any], meeting_id: FromPath[UUID]
    ) -> Response[Any]:
        principal = await _organiser(conn, state, request)
        form = await forms.read(request, {"emails": None})  # a long list: every address (the service counts them)
        body = {
            "groups": [form["group"]] if form.get("group") else [],
            "organisations": [form["organisation"]] if form.get("organisation") else [],
            "emails": pasted_addresses(form.get("emails", "")),
            "note": form.get("note", ""),
        }
        try:
            async with conn.transaction():
                accepted = await invitations.request_invitations(
                    conn,
                    principal,
                    meeting_id,
                    forms.decode(body, InvitationsIn),
                    quota_per_day=state.settings.mail_quota_per_day,
                )
        except InvalidInput as exc:
            errors: dict[str, str] = {}
            for error in exc.errors:
                errors.setdefault(_FIELDS.get(error.field.split(".")[0].split("[")[0], "emails"), _(error.message))
            if not errors:  # nothing chosen at all: the service names no field, the form says what to do
                errors["group"] = _("Kies een doelgroep of plak adressen")
            title = (await meetings.get(conn, principal, meeting_id)).title
            shown = dict.fromkeys(_FIELDS.values(), "") | {k: v for k, v in form.items() if k in _FIELDS.values()}
            return await _form(conn, meeting_id, title, shown, errors, status=422)
        target = f"{HOME}/bijeenkomsten/{meeting_id}/uitnodigingen/{accepted.batch.id}"
        rejected = [{"value": r.value, "reason": r.reason} for r in accepted.rejected]
        cookies = [_rejected_cookie(target, rejected)] if rejected else []
        return Redirect(target, status_code=303, headers=HEADERS, cookies=cookies)

    @get("/uitnodigingen/{batch_id:uuid}")
    async def progress_page(
        self, conn: Conn, state: State, request: Request[Any, Any, Any], meeting_id: FromPath[UUID],
        batch_id: FromPath[UUID],
    ) -> Template:  # fmt: skip
        principal = await _organiser(conn, state, request)
        batch = await invitations.batch(conn, principal, meeting_id, batch_id)
        meeting = await meetings.get(conn, principal, meeting_id)
        return page(
            "organiser_progress.html", title=_("Uitnodigingen"), organiser=True, meeting=meeting, batch=batch,
            progress=progress(batch), rejected=_rejected(request),
            headers={"Content-Security-Policy": SCRIPT_PAGE_POLICY},
            json_url=f"{HOME}/bijeenkomsten/{meeting_id}/uitnodigingen/{batch_id}/voortgang",
        )  # fmt: skip

    @get("/uitnodigingen/{batch_id:uuid}/voortgang")
    async def progress_json(
        self, conn: Conn, state: State, request: Request[Any, Any, Any], meeting_id: FromPath[UUID],
        batch_id: FromPath[UUID],
    ) -> Response[dict[str, Any]]:  # fmt: skip
        principal = await _organiser(conn, state, request)
        batch = await invitations.batch(conn, principal, meeting_id, batch_id)
        return Response(progress(batch), headers={"Cache-Control": "no-store"})
