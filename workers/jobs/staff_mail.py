"""staff.signin_requested -> staff_signin_mail: a single-use link that signs an organiser's browser in for the body
of the key their address is bound to (services/auth/staff.py), sent once (workers.deliveries.send_once).

Dutch only: the organiser's pages are Dutch by default, and nothing tells us this person's language.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from html import escape
from typing import Any

from schemas.events import StaffSignInRequested
from services.auth import staff
from services.dates import moment
from services.mail.message import build_message
from workers.context import load_event, pool_of, settings_of
from workers.deliveries import Mail, send_once
from workers.registry import job

log = logging.getLogger(__name__)
SIGNIN_PATH = "/organisator/inloggen/link"


@job()
async def staff_signin_mail(ctx: dict[str, Any], outbox_id: int) -> None:
    event = await load_event(ctx, outbox_id)
    if not isinstance(event.payload, StaffSignInRequested):
        return
    settings = settings_of(ctx)
    expires_at = event.occurred_at + timedelta(minutes=staff.LINK_MINUTES)
    if expires_at <= datetime.now(UTC):
        log.info("staff sign-in request %s is older than its link would live; not sent", event.id)
        return
    token = staff.link_token(settings.secret_key, event.id)
    async with pool_of(ctx).acquire() as conn:
        member = await staff.member(conn, event.payload.staff_id)
        if member is None:
            return  # removed, or its key revoked, since the request
        await staff.record_link(conn, member.id, token, expires_at)
    url = f"{settings.base_url.rstrip('/')}{SIGNIN_PATH}/{token}"
    until = moment(expires_at)
    text = (
        "Hallo,\n\n"
        "Je vroeg om in te loggen op de organisatorpagina's van Leerkring. Open deze link om in te loggen:\n\n"
        f"{url}\n\n"
        f"De link werkt één keer, tot {until}. Vroeg je hier niet om? Dan kun je deze mail negeren; er gebeurt niets.\n"
    )
    html = (
        "<p>Hallo,</p><p>Je vroeg om in te loggen op de organisatorpagina's van Leerkring.</p>"
        f'<p><a href="{escape(url)}">Inloggen op Leerkring</a></p>'
        f"<p>De link werkt één keer, tot {escape(until)}. Vroeg je hier niet om? Dan kun je deze mail negeren; er "
        "gebeurt niets.</p>"
    )

    def build(message_id: str) -> EmailMessage:
        return build_message(
            sender=settings.mail_from, to=member.email, subject="Je inloglink voor Leerkring", text=text, html=html,
            message_id=message_id,
        )  # fmt: skip

    await send_once(ctx, Mail(key=f"staff-signin:{event.id}", kind="staff_signin", recipient=member.email, build=build))
