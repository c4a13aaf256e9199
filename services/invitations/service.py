"""Rules for inviting an audience: who may, to what, and what the request records (the workers do the rest)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from uuid import UUID

import asyncpg

from schemas.auth import Principal
from schemas.events import InvitationRequested
from schemas.invitations import (
    AudienceCriteria,
    InvitationBatch,
    InvitationsAccepted,
    InvitationsIn,
    Invitee,
    InviteeStatus,
    RejectedAddress,
)
from services.auth.guards import require_organisation, require_role
from services.catalog.queries import active_slugs
from services.db import Connection
from services.errors import Conflict, FieldError, Forbidden, InvalidInput, NotFound
from services.invitations import fanout, quota
from services.invitations import queries as q
from services.invitations.addresses import Address, parse_addresses
from services.organisations.queries import existing_codes
from services.outbox import emit

API_BASE = "/api/v1/meetings"


async def meeting_for_organiser(conn: Connection, principal: Principal, meeting_id: UUID) -> asyncpg.Record:
    """The meeting row when the caller organises it. Raises Forbidden, or NotFound (also for others' drafts)."""
    require_role(principal, "admin", "organiser")
    row = await conn.fetchrow(
        "SELECT id, status, starts_at, ends_at, organiser_codes FROM meetings WHERE id = $1", meeting_id
    )
    if row is None:
        raise NotFound("Deze bijeenkomst bestaat niet")
    try:
        require_organisation(principal, row["organiser_codes"])
    except Forbidden:
        if row["status"] == "draft":
            raise NotFound("Deze bijeenkomst bestaat niet") from None
        raise Forbidden("Alleen de organiserende organisaties mogen voor deze bijeenkomst uitnodigen") from None
    return row


async def check_criteria(conn: Connection, criteria: AudienceCriteria) -> list[FieldError]:
    """Unknown or inactive groups, organisations and regions, one FieldError per field."""
    errors: list[FieldError] = []

    def unknown(field: str, wanted: list[str], found: set[str]) -> None:
        missing = [v for v in wanted if v not in found]
        if missing:
            errors.append(FieldError(field=field, message=f"Onbekend of niet actief: {', '.join(missing)}"))

    if criteria.groups:
        unknown("groups", criteria.groups, await active_slugs(conn, "professional_groups", criteria.groups))
    if criteria.organisations:
        unknown("organisations", criteria.organisations, await existing_codes(conn, criteria.organisations))
    if criteria.regions:
        rows = await conn.fetch(
            "SELECT code FROM provinces WHERE code = ANY($1) "
            "UNION SELECT code FROM safety_regions WHERE code = ANY($1)",
            criteria.regions,
        )
        unknown("regions", criteria.regions, {r["code"] for r in rows})
    return errors


def criteria_json(criteria: AudienceCriteria) -> dict[str, list[str]]:
    return {
        "groups": sorted(set(criteria.groups)),
        "organisations": sorted(set(criteria.organisations)),
        "regions": sorted(set(criteria.regions)),
    }


async def _saved_lists(conn: Connection, principal: Principal, ids: list[UUID]) -> list[dict[str, Any]]:
    rows = {r["id"]: r for r in await q.audience_list_rows(conn, ids)}
    missing = [str(i) for i in ids if i not in rows]
    if missing:
        raise InvalidInput(f"Onbekende lijst: {', '.join(missing)}", field="lists")
    for row in rows.values():
        if not principal.is_admin and row["organisation_code"] != principal.organisation_code:
            raise Forbidden(f"De lijst {row['name']!r} is van een andere organisatie")
    return [rows[i]["audience"] for i in dict.fromkeys(ids)]


async def request_invitations(
    conn: Connection, principal: Principal, meeting_id: UUID, data: InvitationsIn, *, quota_per_day: int
) -> InvitationsAccepted:
    """Record a batch and its InvitationRequested event; nothing is resolved or sent here.

    Raises NotFound, Forbidden, Conflict (meeting not published or over), InvalidInput (unknown references, or no
    audience left once bad addresses are set aside; each bad address is then listed in `errors`),
    MailQuotaExceeded (the caller's body would pass its quota: `quota_per_day` unless an admin set another).
    """
    meeting = await meeting_for_organiser(conn, principal, meeting_id)
    if meeting["status"] != "published":
        raise Conflict("Alleen voor een gepubliceerde bijeenkomst kun je uitnodigen")
    if meeting["starts_at"] <= datetime.now(UTC):
        raise Conflict("Deze bijeenkomst is al begonnen; uitnodigen kan niet meer")
    errors = await check_criteria(conn, data)
    if errors:
        raise InvalidInput(f"{errors[0].field}: {errors[0].message}", errors=errors)
    saved = await _saved_lists(conn, principal, data.lists) if data.lists else []
    parsed = parse_addresses(data.emails)
    criteria = [criteria_json(data)] if not data.is_empty() else []
    emails: dict[str, Address] = {a.email: a for a in parsed.accepted}
    for audience in saved:
        listed = AudienceCriteria(
            groups=audience.get("groups", []),
            organisations=audience.get("organisations", []),
            regions=audience.get("regions", []),
        )
        if not listed.is_empty():
            criteria.append(criteria_json(listed))
        for item in audience.get("emails", []):
            emails.setdefault(item["email"], Address(email=item["email"], name=item.get("name", "")))
    rejected = [RejectedAddress(value=r.value, reason=r.reason) for r in parsed.rejected]
    if not criteria and not emails:
        field_errors = [FieldError(field="emails", message=f"{r.value}: {r.reason}") for r in rejected]
        raise InvalidInput(
            "Kies ten minste één doelgroep (beroepsgroep, organisatie, regio of lijst) "
            "of geef geldige e-mailadressen op",
            errors=field_errors,
        )
    reached = [
        {**c, "organisations": await fanout.expand_organisations(conn, c.get("organisations", []))} for c in criteria
    ]
    planned = await quota.reach(conn, reached, len(emails))
    charged = await quota.charge(conn, principal, planned, quota_per_day)
    audience_json = {
        "direct": criteria_json(data),
        "lists": [str(i) for i in dict.fromkeys(data.lists)],
        "criteria": criteria,
        "emails": [{"email": a.email, "name": a.name} for a in emails.values()],
    }
    batch = await q.insert_batch(
        conn,
        meeting_id=meeting_id,
        audience=audience_json,
        resend=data.resend,
        note=data.note.strip(),
        created_by=principal.key_id,
        quota_body=charged,
        planned_count=planned,
    )
    await emit(conn, meeting_id, InvitationRequested(batch_id=batch.id, meeting_id=meeting_id))
    return InvitationsAccepted(
        batch=batch,
        progress_url=f"{API_BASE}/{meeting_id}/invitations/{batch.id}",
        accepted_emails=len(parsed.accepted),
        rejected=rejected,
        duplicates=parsed.duplicates,
    )


async def batches(
    conn: Connection,
    principal: Principal,
    meeting_id: UUID,
    *,
    after: tuple[datetime, UUID] | None = None,
    limit: int | None = None,
) -> list[InvitationBatch]:
    """The meeting's batches with their counts, oldest first, after `after`. Raises NotFound, Forbidden."""
    await meeting_for_organiser(conn, principal, meeting_id)
    return await q.list_batches(conn, meeting_id, after=after, limit=limit)


async def batch(conn: Connection, principal: Principal, meeting_id: UUID, batch_id: UUID) -> InvitationBatch:
    """One batch's progress. Raises NotFound, Forbidden."""
    await meeting_for_organiser(conn, principal, meeting_id)
    found = await q.get_batch(conn, meeting_id, batch_id)
    if found is None:
        raise NotFound("Deze uitnodigingsronde bestaat niet")
    return found


async def invitees(
    conn: Connection,
    principal: Principal,
    meeting_id: UUID,
    batch_id: UUID,
    *,
    status: InviteeStatus | None,
    after_id: int | None,
    limit: int,
) -> list[Invitee]:
    """A page of one batch's invitees with their delivery status. Raises NotFound, Forbidden."""
    await batch(conn, principal, meeting_id, batch_id)
    viewer = None if principal.is_admin else principal.organisation_code
    return await q.list_invitees(conn, batch_id, viewer=viewer, status=status, after_id=after_id, limit=limit)
