"""Render what an invitee would receive, with the real meeting, before anything is sent."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from uuid import UUID

from schemas.auth import Principal
from schemas.invitations import InvitationPreview, Locale, PreviewKind
from services.db import Connection
from services.errors import Conflict, NotFound
from services.invitations import links
from services.invitations.changes import ChangeLine, Placement, summarise
from services.invitations.compose import METHODS, Links, Recipient, compose
from services.invitations.meeting import load
from services.invitations.service import meeting_for_organiser
from services.settings import Settings

SAMPLE_NAME = {"nl": "Voorbeeld Deelnemer", "en": "Sample Participant"}
SAMPLE_EMAIL = "deelnemer@voorbeeld.invalid"
SAMPLE_PATH = "voorbeeld"


def _sample_changes(now: Placement, locale: Locale) -> list[ChangeLine]:
    # An update preview needs something that changed; show the meeting as if it had moved from a week earlier.
    before = Placement(
        starts_at=now.starts_at - timedelta(days=7),
        ends_at=now.ends_at - timedelta(days=7),
        timezone=now.timezone,
        venue_name=now.venue_name,
        venue_address=now.venue_address,
        venue_city=now.venue_city,
        online_url=now.online_url,
    )
    return summarise(before, now, locale)


async def preview(
    conn: Connection,
    principal: Principal,
    meeting_id: UUID,
    *,
    kind: PreviewKind,
    locale: Locale,
    note: str,
    settings: Settings,
) -> InvitationPreview:
    """Subject, text, HTML and calendar part for a sample invitee. Raises NotFound, Forbidden, Conflict (a
    request for a cancelled meeting: those only go out as cancellations)."""
    await meeting_for_organiser(conn, principal, meeting_id)
    meeting = await load(conn, meeting_id, settings)
    if meeting is None:
        raise NotFound("Deze bijeenkomst bestaat niet")
    method = METHODS[kind]
    if method == "REQUEST" and meeting.status == "cancelled":
        raise Conflict("Deze bijeenkomst is geannuleerd; er kan alleen een annulering worden verstuurd", field="kind")
    # Links that look like the real ones but carry no valid signature, so a forwarded preview acts on nothing.
    sample = Links(
        register=links.url(settings.base_url, SAMPLE_PATH, "register"),
        decline=links.url(settings.base_url, SAMPLE_PATH, "decline"),
    )
    composed = compose(
        kind,
        meeting.calendar,
        Recipient(email=SAMPLE_EMAIL, name=SAMPLE_NAME[locale], locale=locale),
        links=sample,
        now=datetime.now(UTC),
        changes=_sample_changes(meeting.placement, locale) if kind == "update" else (),
        note=note,
        reason="" if kind != "cancellation" else "…",
    )
    return InvitationPreview(
        kind=kind,
        locale=locale,
        subject=composed.subject,
        text=composed.text,
        html=composed.html,
        ics=composed.ics,
        content_type=f"text/calendar; charset=utf-8; method={composed.method}",
    )
