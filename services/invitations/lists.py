"""Saved audience lists: criteria and addresses an organising body invites again and again."""

from __future__ import annotations

from uuid import UUID

from schemas.auth import Principal
from schemas.invitations import AudienceList, AudienceListCreated, AudienceListIn, RejectedAddress
from services.auth.guards import require_role
from services.db import Connection
from services.errors import InvalidInput, NotFound
from services.invitations import queries as q
from services.invitations.addresses import parse_addresses
from services.invitations.service import check_criteria, criteria_json


def _own_code(principal: Principal, organisation_code: str | None) -> str:
    require_role(principal, "admin", "organiser")
    code = organisation_code if principal.is_admin else principal.organisation_code
    if code is None:
        raise InvalidInput("Geef de organisatie op waarvan de lijst is", field="organisation_code")
    return code


async def save(
    conn: Connection, principal: Principal, data: AudienceListIn, organisation_code: str | None = None
) -> AudienceListCreated:
    """Create or replace the list with this name. Raises Forbidden, InvalidInput (unknown references, nothing in it)."""
    code = _own_code(principal, organisation_code)
    errors = await check_criteria(conn, data)
    if errors:
        raise InvalidInput(f"{errors[0].field}: {errors[0].message}", errors=errors)
    parsed = parse_addresses(data.emails)
    if data.is_empty() and not parsed.accepted:
        raise InvalidInput("Een lijst bevat ten minste één doelgroep of één geldig e-mailadres", field="emails")
    audience = {
        **criteria_json(data),
        "emails": [{"email": a.email, "name": a.name} for a in parsed.accepted],
    }
    saved = await q.upsert_audience_list(conn, code, data.name.strip(), audience)
    return AudienceListCreated(
        audience_list=saved,
        rejected=[RejectedAddress(value=r.value, reason=r.reason) for r in parsed.rejected],
        duplicates=parsed.duplicates,
    )


async def mine(conn: Connection, principal: Principal) -> list[AudienceList]:
    """An organiser's own lists; an admin sees all of them."""
    require_role(principal, "admin", "organiser")
    return await q.audience_lists(conn, None if principal.is_admin else principal.organisation_code)


async def delete(conn: Connection, principal: Principal, list_id: UUID) -> None:
    """Raises NotFound (also for another organisation's list, which is none of the caller's business)."""
    require_role(principal, "admin", "organiser")
    rows = await q.audience_list_rows(conn, [list_id])
    if not rows:
        raise NotFound("Deze lijst bestaat niet")
    if not principal.is_admin and rows[0]["organisation_code"] != principal.organisation_code:
        raise NotFound("Deze lijst bestaat niet")
    await q.delete_audience_list(conn, list_id)
