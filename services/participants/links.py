"""The personal links a participant's mail carries: manage page, calendar feed, sign-in, registration confirmation.

Every link is a derived token (services/participants/tokens.py): the mail job makes the same link when it runs
again, and only its hash is stored. Paths are the pages that open them (services/web).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from urllib.parse import urlencode
from uuid import UUID

import msgspec

from services.db import Connection
from services.feeds.links import feed_url
from services.participants import tokens
from services.settings import Settings

MANAGE_PATH = "/mijn"
SIGNIN_PATH = "/inloggen"
CONFIRM_PATH = "/bevestigen"


class PersonalLinks(msgspec.Struct, frozen=True, kw_only=True):
    manage: str
    feed: str  # https
    feed_webcal: str
    manage_expires_at: datetime


def _base(settings: Settings) -> str:
    return settings.base_url.rstrip("/")


def manage_url(settings: Settings, token: str) -> str:
    return f"{_base(settings)}{MANAGE_PATH}?token={token}"


def signin_url(settings: Settings, token: str) -> str:
    return f"{_base(settings)}{SIGNIN_PATH}/{token}"


def confirm_url(settings: Settings, token: str) -> str:
    return f"{_base(settings)}{CONFIRM_PATH}/{token}"


def confirm_token(settings: Settings, request_id: UUID) -> str:
    """The token of a registration request's confirmation link (its hash is stored on the request)."""
    return tokens.derive(settings.secret_key, "confirm", str(request_id))


async def for_mail(conn: Connection, settings: Settings, participant_id: UUID, mail_key: str) -> PersonalLinks:
    """Manage and feed links for the mail with this delivery key; the manage link works for `manage_link_days`."""
    expires_at = datetime.now(UTC) + timedelta(days=settings.manage_link_days)
    manage = tokens.derive(settings.secret_key, "manage", mail_key)
    await tokens.ensure(conn, participant_id, "manage", manage, expires_at=expires_at)
    feed = feed_url(settings.base_url, f"p/{await tokens.feed_token(conn, settings.secret_key, participant_id)}")
    return PersonalLinks(
        manage=manage_url(settings, manage),
        feed=feed,
        feed_webcal="webcal://" + feed.partition("://")[2],
        manage_expires_at=expires_at,
    )


class MailFor(msgspec.Struct, frozen=True, kw_only=True):
    """One mail of a block that goes to a participant: who, the delivery key, their feed generation (read with
    the block's rows, so no statement per mail)."""

    participant_id: UUID
    mail_key: str
    feed_generation: int


async def for_mails(conn: Connection, settings: Settings, mails: list[MailFor]) -> dict[str, PersonalLinks]:
    """`for_mail` for a block of mails in one statement: the links by mail key, recorded before any mail leaves."""
    expires_at = datetime.now(UTC) + timedelta(days=settings.manage_link_days)
    found: dict[str, PersonalLinks] = {}
    rows: list[tuple[UUID, tokens.StoredPurpose, str, datetime | None]] = []
    feeds: dict[UUID, str] = {}
    for mail in mails:
        manage = tokens.derive(settings.secret_key, "manage", mail.mail_key)
        rows.append((mail.participant_id, "manage", manage, expires_at))
        if mail.participant_id not in feeds:
            feeds[mail.participant_id] = tokens.derive_feed(settings.secret_key, mail.participant_id,
                                                            mail.feed_generation)  # fmt: skip
            rows.append((mail.participant_id, "feed", feeds[mail.participant_id], None))
        feed = feed_url(settings.base_url, f"p/{feeds[mail.participant_id]}")
        found[mail.mail_key] = PersonalLinks(
            manage=manage_url(settings, manage),
            feed=feed,
            feed_webcal="webcal://" + feed.partition("://")[2],
            manage_expires_at=expires_at,
        )
    await tokens.ensure_many(conn, rows)
    return found


async def signin_link(
    conn: Connection,
    settings: Settings,
    participant_id: UUID,
    subject: str,
    *,
    asked_at: datetime,
    next_path: str = "",
) -> tuple[str, datetime]:
    """The single-use sign-in link for one request (subject: the request's event id) and when it stops working;
    `next_path` is the page to return to (checked again when the link is used)."""
    expires_at = asked_at + timedelta(hours=settings.signin_link_hours)
    token = tokens.derive(settings.secret_key, "signin", subject)
    await tokens.ensure(conn, participant_id, "signin", token, expires_at=expires_at)
    url = signin_url(settings, token)
    return (f"{url}?{urlencode({'verder': next_path})}" if next_path else url), expires_at
