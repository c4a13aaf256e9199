"""Registrations without proof of address: nothing counts until the mailed link is confirmed (double opt-in).

Anyone can type any address into a form, so an anonymous registration only records a request and mails a link
to that address; the answer is the same whoever the address belongs to and whether they were registered already.
Confirming the link proves the mailbox: the participant becomes proven, the details they gave are applied, and
only then is a seat taken (or a place on the waiting list), in confirmation order. An unconfirmed request holds
no seat, enters no audience and lapses after `confirm_link_hours` (or when registration closes).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID, uuid4

import msgspec

from schemas.events import RegistrationRequested
from schemas.participants import ParticipantIn
from schemas.registrations import Registration
from schemas.registrations import RegistrationRequested as RequestedAnswer
from services.db import Connection
from services.errors import Gone, NotFound
from services.observe.metrics import counts_registrations, counts_requests
from services.outbox import emit
from services.participants import links, suppression, tokens
from services.participants import queries as participants
from services.registrations import queries as q
from services.registrations.admission import refuse_if_closed, refuse_if_full, take_seat
from services.seats import queries as sq
from services.settings import Settings

REQUESTED = (
    "Bijna klaar: we hebben een e-mail gestuurd naar het opgegeven adres. Je inschrijving telt pas als je op de "
    "link in die mail klikt. Geen mail ontvangen? Kijk in je map met ongewenste e-mail."
)
# Asking again within this time sends no new mail (nobody can flood a mailbox through us).
RESEND_AFTER = timedelta(minutes=10)

_OPEN_REQUEST = """
INSERT INTO registration_requests (id, meeting_id, participant_id, details, token_hash, expires_at)
VALUES ($1, $2, $3, $4::jsonb, $5, $6)
ON CONFLICT (meeting_id, participant_id) WHERE confirmed_at IS NULL DO UPDATE
SET details = excluded.details, expires_at = excluded.expires_at, mailed_at = now()
WHERE registration_requests.mailed_at < now() - $7::interval OR registration_requests.expires_at <= now()
RETURNING id
"""
_BY_LINK = """
SELECT r.id, r.meeting_id, r.participant_id, r.details, r.expires_at, r.confirmed_at, r.registration_id,
       p.verified_at IS NOT NULL AS proven, p.locale
FROM registration_requests r JOIN participants p ON p.id = r.participant_id
WHERE r.token_hash = $1 AND p.erased_at IS NULL
"""
_CONFIRMED = "UPDATE registration_requests SET confirmed_at = now(), registration_id = $2 WHERE id = $1"


class Request(msgspec.Struct, frozen=True, kw_only=True):
    id: UUID
    meeting_id: UUID
    participant_id: UUID
    details: dict[str, Any]
    expires_at: datetime
    confirmed_at: datetime | None
    registration_id: UUID | None
    proven: bool
    locale: str | None = None  # the person's mail language: the page behind the mail's link speaks it too

    @property
    def expired(self) -> bool:
        return self.expires_at <= datetime.now(UTC)


@counts_requests
async def request(conn: Connection, settings: Settings, meeting_id: UUID, data: ParticipantIn) -> RequestedAnswer:
    """Record the request and mail the confirmation link. Raises NotFound, Conflict (closed, full) before anything
    is written; the answer never says whether the address was known or already registered."""
    meeting = refuse_if_closed(await sq.meeting_seats(conn, meeting_id), staff=False)
    refuse_if_full(meeting)
    async with conn.transaction():
        participant, _ = await participants.find_or_create(conn, data)
        request_id = uuid4()
        digest = tokens.token_hash(links.confirm_token(settings, request_id))
        now = datetime.now(UTC)
        closes = min(meeting.registration_closes_at or meeting.starts_at, meeting.starts_at)
        expires_at = min(now + timedelta(hours=settings.confirm_link_hours), closes)
        details = msgspec.json.encode(msgspec.structs.asdict(data)).decode()
        opened = await conn.fetchval(
            _OPEN_REQUEST, request_id, meeting_id, participant.id, details, digest, expires_at, RESEND_AFTER
        )
        if opened is not None:
            event = RegistrationRequested(request_id=opened, meeting_id=meeting_id, participant_id=participant.id)
            await emit(conn, meeting_id, event)
    return RequestedAnswer(detail=REQUESTED)


async def find(conn: Connection, token: str) -> Request:
    """The request a confirmation link belongs to. Raises NotFound for an unknown or altered link."""
    row = await conn.fetchrow(_BY_LINK, tokens.token_hash(token)) if tokens.looks_like_token(token) else None
    if row is None:
        raise NotFound("Deze bevestigingslink is onbekend. Gebruik de link uit de laatste e-mail.", field="token")
    return msgspec.convert(dict(row), Request)


@counts_registrations
async def confirm(
    conn: Connection, token: str, profile: dict[str, Any] | None = None, *, secret: str
) -> tuple[Registration, bool]:
    """Prove the address, apply the details and take a seat or a waiting-list place; (registration, created).
    A link used twice answers the same registration. `profile`: what the person filled in on the page (otherwise
    the request's details apply to a participant who was not proven yet). Raises NotFound, Gone (expired),
    Conflict (closed, full)."""
    found = await find(conn, token)
    if found.confirmed_at is not None and found.registration_id is not None:
        row = await q.get(conn, found.registration_id)
        if row is not None:
            return await q.with_rank(conn, row), False
    if found.expired:
        raise Gone("Deze bevestigingslink is verlopen. Schrijf je opnieuw in via de pagina van de bijeenkomst.")
    await _apply_details(conn, found, profile)
    await suppression.came_back(conn, secret, found.participant_id)  # their own link: they are back
    registration, created = await take_seat(
        conn, meeting_id=found.meeting_id, participant_id=found.participant_id, staff=False, created_by=None
    )
    await conn.execute(_CONFIRMED, found.id, registration.id)
    return registration, created


async def _apply_details(conn: Connection, found: Request, profile: dict[str, Any] | None) -> None:
    """The person behind the mailbox speaks now: their own form, or (unproven until now) what the request said."""
    await participants.prove(conn, found.participant_id)
    if profile is None and not found.proven:
        profile = {k: v for k, v in found.details.items() if k in participants.PROFILE_FIELDS}
    if profile:
        await participants.update(conn, found.participant_id, profile)


async def purge_lapsed(conn: Connection, *, older_than: timedelta = timedelta(days=7)) -> int:
    """Sweep: forget requests that lapsed unconfirmed a while ago (what they said is nobody's business)."""
    status = await conn.execute(
        "DELETE FROM registration_requests WHERE confirmed_at IS NULL AND expires_at < now() - $1::interval",
        older_than,
    )
    return int(status.split()[-1])
