"""staff.signin_requested -> staff_signin_mail: a single-use link that signs an organiser's browser in for the body
of the key their address is bound to (services/auth/staff.py), sent once (workers.deliveries.send_once).

In the language of the sign-in page the link was asked on (the event's `locale`, from the language cookie), with
its words from the pages' catalog (services/web/locales); Dutch for events from before it was recorded.
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
from services.web.i18n import gettext as _
from services.web.i18n import using
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
    with using(event.payload.locale):
        until = moment(expires_at, locale=event.payload.locale)
        hello = _("Hallo,")
        asked = _("Je vroeg om in te loggen op de organisatorpagina's van Leerkring.")
        open_it = _("Open deze link om in te loggen:")
        button = _("Inloggen op Leerkring")
        once = _("De link werkt één keer, tot %(until)s. Vroeg je hier niet om? Dan kun je deze mail negeren; er "
                 "gebeurt niets.")  # fmt: skip
        subject = _("Je inloglink voor Leerkring")
    text = f"{hello}\n\n{asked} {open_it}\n\n{url}\n\n{once % {'until': until}}\n"
    html = (
        f"<p>{escape(hello)}</p><p>{escape(asked)}</p>"
        f'<p><a href="{escape(url)}">{escape(button)}</a></p>'
        f"<p>{escape(once % {'until': until})}</p>"
    )

    def build(message_id: str) -> EmailMessage:
        return build_message(
            sender=settings.mail_from, to=member.email, subject=subject, text=text, html=html,
            message_id=message_id,
        )  # fmt: skip

    await send_once(ctx, Mail(key=f"staff-signin:{event.id}", kind="staff_signin", recipient=member.email, build=build))
