"""What a register or decline link does, once its signature checked out (services/invitations/links.py).

The signed link proves the person controls the invited mailbox, which is what a personal token proves too; so a
decline may cancel that person's registration, and a register link registers them (creating the participant from
the invitation when the address was pasted and is new to us).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Literal
from uuid import UUID

import msgspec

from schemas.participants import ParticipantIn, ProfileIn
from services.db import Connection
from services.errors import InvalidInput, NotFound
from services.invitations import links
from services.invitations.links import InvalidLink, InvitationRef, LinkClaims
from services.participants import queries as participants
from services.participants.auth import ParticipantActor
from services.registrations import queries as rq
from services.registrations import service as registrations
from services.registrations.admission import refuse_if_closed, refuse_if_full, take_seat
from services.seats import queries as sq

Result = Literal["confirmed", "waitlisted", "offered", "declined"]
# A registration cancelled through a signed link has no participant token behind it.
_NO_TOKEN = UUID(int=0)


class ProfileDraft(msgspec.Struct, frozen=True, kw_only=True):
    """A profile as far as we know it; the page asks for the rest."""

    name: str = ""
    organisation_code: str | None = None
    professional_group: str | None = None
    invitation_consent: bool = False


class Answer(msgspec.Struct, frozen=True, kw_only=True):
    result: Result
    title: str
    position: int | None = None
    participant_id: UUID | None = None


async def claims_for(
    conn: Connection, verified: LinkClaims | InvitationRef, *, now: datetime | None = None
) -> LinkClaims:
    """Who a verified link is for. A v2 link names its invitation row: the row says the meeting, address and
    language, the meeting's start how long it holds. Raises InvalidLink (gone: the row was purged or its address
    erased; expired)."""
    if isinstance(verified, LinkClaims):
        return verified
    row = await conn.fetchrow(
        "SELECT i.meeting_id, i.email, i.locale, i.sent_at, m.starts_at FROM invitations i "
        "JOIN meetings m ON m.id = i.meeting_id WHERE i.id = $1",
        verified.invitation_id,
    )
    if row is None:
        raise InvalidLink("gone", gone=True)
    locale: links.Locale = "en" if row["locale"] == "en" else "nl"
    if str(row["email"]).endswith("@invalid"):  # erased (services/me): the link names nobody any more
        raise InvalidLink("gone", gone=True, locale=locale)
    now = now or datetime.now(UTC)
    expires = links.expiry(row["starts_at"], row["sent_at"], now)
    claims = LinkClaims(
        purpose=verified.purpose,
        meeting_id=row["meeting_id"],
        email=str(row["email"]),
        locale=locale,
        expires=int(expires.timestamp()),
    )
    if expires <= now:
        raise InvalidLink("expired", expired=True, claims=claims)
    return claims


async def meeting_title(conn: Connection, meeting_id: UUID) -> str:
    """Raises NotFound for a meeting that no longer exists."""
    title = await conn.fetchval("SELECT title FROM meetings WHERE id = $1", meeting_id)
    if title is None:
        raise NotFound("Deze bijeenkomst bestaat niet meer")
    return str(title)


async def _record(conn: Connection, claims: LinkClaims, response: str) -> None:
    await conn.execute(
        """
        INSERT INTO invitation_responses (meeting_id, email, response, source) VALUES ($1, $2, $3, 'link')
        ON CONFLICT (meeting_id, email) DO UPDATE SET response = excluded.response, source = 'link',
            responded_at = now()
        """,
        claims.meeting_id,
        claims.email,
        response,
    )


async def known_profile(conn: Connection, claims: LinkClaims) -> ProfileDraft:
    """What we know of the invitee to fill in the form: their own profile, else the name the invitation used."""
    row = await conn.fetchrow(
        "SELECT name, organisation_code, professional_group, invitation_consent FROM participants "
        "WHERE email = $1 AND erased_at IS NULL",
        claims.email,
    )
    if row is not None:
        return ProfileDraft(**dict(row))
    name = await conn.fetchval(
        "SELECT name FROM invitations WHERE meeting_id = $1 AND email = $2 AND name <> '' ORDER BY id DESC LIMIT 1",
        claims.meeting_id,
        claims.email,
    )
    return ProfileDraft(name=str(name or ""))


async def register(conn: Connection, claims: LinkClaims, profile: ProfileIn | None = None) -> Answer:
    """Register the invitee (confirmed or waitlisted). The signed link proves the mailbox, so what they fill in
    (`profile`) becomes their profile. Raises InvalidInput (no name known), NotFound, Conflict (closed, full)."""
    title = await meeting_title(conn, claims.meeting_id)
    # Closed or full: say so before asking anything of the person.
    meeting = refuse_if_closed(await sq.meeting_seats(conn, claims.meeting_id), staff=False)
    refuse_if_full(meeting)
    known = await known_profile(conn, claims)
    name = profile.name if profile is not None else known.name
    if not name.strip():
        raise InvalidInput("Vul je naam in", field="name")
    person = ParticipantIn(email=claims.email, name=name, locale=claims.locale)
    participant, _ = await participants.find_or_create(conn, person, vouched=True)
    await participants.prove(conn, participant.id)
    if profile is not None:
        await participants.update(conn, participant.id, msgspec.structs.asdict(profile))
    registration, _ = await take_seat(
        conn, meeting_id=claims.meeting_id, participant_id=participant.id, staff=False, created_by=None
    )
    await _record(conn, claims, "registered")
    return Answer(
        result=registration.status,  # type: ignore[arg-type]
        title=title,
        position=registration.waitlist_rank,
        participant_id=participant.id,
    )


async def registered_already(conn: Connection, claims: LinkClaims) -> Answer | None:
    """The invitee's active registration for the meeting, as register would answer it; None when they have none.
    Tells nothing the link does not: pressing its button again answers the same."""
    row = await conn.fetchrow(
        """
        SELECT r.meeting_id, r.status, r.position, r.participant_id FROM registrations r
        JOIN participants p ON p.id = r.participant_id
        WHERE r.meeting_id = $1 AND p.email = $2 AND r.status IN ('confirmed', 'waitlisted', 'offered')
        """,
        claims.meeting_id,
        claims.email,
    )
    if row is None:
        return None
    position = (
        await rq.waitlist_rank(conn, row["meeting_id"], row["position"]) if row["status"] == "waitlisted" else None
    )
    return Answer(
        result=row["status"],
        title=await meeting_title(conn, claims.meeting_id),
        position=position,
        participant_id=row["participant_id"],
    )


async def decline(conn: Connection, claims: LinkClaims) -> Answer:
    """Record the decline and cancel the invitee's registration if they have one. Raises NotFound, Conflict."""
    title = await meeting_title(conn, claims.meeting_id)
    row = await conn.fetchrow(
        """
        SELECT r.id, r.participant_id FROM registrations r JOIN participants p ON p.id = r.participant_id
        WHERE r.meeting_id = $1 AND p.email = $2 AND r.status IN ('confirmed', 'waitlisted', 'offered')
        """,
        claims.meeting_id,
        claims.email,
    )
    if row is not None:
        actor = ParticipantActor(participant_id=row["participant_id"], token_id=_NO_TOKEN)
        await registrations.cancel(conn, actor, row["id"])
    await _record(conn, claims, "declined")
    return Answer(result="declined", title=title)
