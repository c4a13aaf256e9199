"""Per-organiser mail quotas: how many invitations one organising body may have mailed in a rolling 24 hours.

A batch is charged at request time, to the body of the key that made it (admins are not charged: they set the
quotas), with its audience as counted then: the pasted addresses plus the people the criteria reach. Once workers
have resolved the batch, its real number of invitees (skips left out) replaces that estimate. Requests of one body
take turns (an advisory lock), so two at once cannot both slip under the limit.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from uuid import UUID

from schemas.auth import Principal
from schemas.invitations import MailQuota
from services.db import Connection, required
from services.errors import MailQuotaExceeded, NotFound

WINDOW = timedelta(hours=24)

# The people the criteria sets reach (OR-ed; each is groups AND (organisations OR regions)), as the fan-out
# resolves them (services/invitations/fanout.py), before its skip rules.
_REACH = """
WITH c AS (
    SELECT ARRAY(SELECT jsonb_array_elements_text(x -> 'groups')) AS g,
           ARRAY(SELECT jsonb_array_elements_text(x -> 'organisations')) AS o,
           ARRAY(SELECT jsonb_array_elements_text(x -> 'regions')) AS r
    FROM jsonb_array_elements($1::jsonb) AS x
)
SELECT count(*) FROM participants p LEFT JOIN organisations og ON og.code = p.organisation_code
WHERE p.erased_at IS NULL AND p.verified_at IS NOT NULL AND p.invitation_consent
  AND EXISTS (
      SELECT 1 FROM c
      WHERE (cardinality(c.g) = 0 OR p.professional_group = ANY(c.g))
        AND ((cardinality(c.o) = 0 AND cardinality(c.r) = 0)
             OR p.organisation_code = ANY(c.o) OR og.province_code = ANY(c.r) OR og.safety_region_code = ANY(c.r)))
"""

_USED = """
SELECT coalesce(sum(CASE WHEN resolved_at IS NOT NULL THEN resolved_count ELSE planned_count END), 0) AS used,
       min(created_at) AS oldest, now() AS now
FROM invitation_batches WHERE quota_body = $1 AND created_at > now() - $2::interval
"""


async def reach(conn: Connection, criteria: list[dict[str, list[str]]], emails: int) -> int:
    """How many addresses a batch would mail at most (criteria sets with regions' members expanded)."""
    found = int(await conn.fetchval(_REACH, criteria) or 0) if criteria else 0
    return found + emails


async def _limit(conn: Connection, code: str, default: int) -> tuple[int, bool]:
    value = await conn.fetchval("SELECT daily_limit FROM mail_quotas WHERE organisation_code = $1", code)
    return (default, False) if value is None else (int(value), True)


async def charge(conn: Connection, principal: Principal, planned: int, default: int) -> str | None:
    """The body to charge a batch of `planned` mails to (None for an admin), after checking its quota.
    Raises MailQuotaExceeded with Retry-After: when the oldest batch of the window leaves it."""
    code = principal.organisation_code
    if principal.is_admin or code is None:
        return None
    await conn.execute("SELECT pg_advisory_xact_lock(hashtextextended($1, 7))", f"mail-quota:{code}")
    limit, _ = await _limit(conn, code, default)
    row = required(await conn.fetchrow(_USED, code, WINDOW))
    remaining = max(0, limit - int(row["used"]))
    if planned > remaining:
        oldest: datetime | None = row["oldest"]
        wait = (oldest + WINDOW - row["now"]).total_seconds() if oldest is not None else WINDOW.total_seconds()
        raise MailQuotaExceeded(
            f"Je organisatie kan in 24 uur {limit} uitnodigingen versturen en heeft er nu nog {remaining} over; "
            f"deze ronde gaat naar {planned} adressen. Verklein de doelgroep, probeer het later opnieuw of vraag "
            "een beheerder om de limiet te verhogen.",
            retry_after=max(1, int(wait) + 1),
        )
    return code


async def standing(conn: Connection, code: str, default: int) -> MailQuota:
    """A body's quota and what it used in the last 24 hours. Raises NotFound for an unknown organisation."""
    if not await conn.fetchval("SELECT EXISTS (SELECT 1 FROM organisations WHERE code = $1)", code):
        raise NotFound("Deze organisatie bestaat niet")
    limit, custom = await _limit(conn, code, default)
    used = int(required(await conn.fetchrow(_USED, code, WINDOW))["used"])
    remaining = max(0, limit - used)
    return MailQuota(organisation_code=code, daily_limit=limit, used=used, remaining=remaining, custom=custom)


async def set_limit(conn: Connection, code: str, daily_limit: int, set_by: UUID | None, default: int) -> MailQuota:
    """An admin sets a body's quota. Raises NotFound for an unknown organisation."""
    if not await conn.fetchval("SELECT EXISTS (SELECT 1 FROM organisations WHERE code = $1)", code):
        raise NotFound("Deze organisatie bestaat niet")
    await conn.execute(
        """
        INSERT INTO mail_quotas (organisation_code, daily_limit, set_by) VALUES ($1, $2, $3)
        ON CONFLICT (organisation_code) DO UPDATE SET daily_limit = $2, set_by = $3, updated_at = now()
        """,
        code,
        daily_limit,
        set_by,
    )
    return await standing(conn, code, default)
