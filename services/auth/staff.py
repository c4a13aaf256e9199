"""Staff addresses and their sign-in links: an organiser signs in by mail instead of pasting the body's key.

An organiser (signed in with the key) registers colleagues' work addresses; each address is bound to the key that
registered it, so whoever opens a link mailed to it gets a page session acting as that key, for that key's body
(services/web/organiser_session.py). Revoking the key, or removing the address, ends those sessions at once.

Asking for a link (the sign-in page) answers the same whether the address is known or not; a known one gets at most
one mail per THROTTLE (on top of the per-client rate limit on the page). The link's token is derived from the secret
key and the request's event id, as participants' sign-in links are (services/participants/tokens.py): a retried
mail job sends the same link, and only its hash is stored, when the job records it. A link works once, within
LINK_MINUTES; a GET shows a button and never spends it (mail scanners open every link).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from uuid import UUID

import msgspec

from schemas.auth import Principal, StaffAddress
from schemas.events import StaffSignInRequested
from services.audit import queries as audit
from services.auth.guards import require_role
from services.dates import Locale
from services.db import Connection
from services.errors import InvalidInput, NotFound
from services.mail.headers import address_problem
from services.outbox import emit
from services.participants.tokens import derive, looks_like_token, token_hash

LINK_MINUTES = 30
THROTTLE = timedelta(minutes=2)
MAX_ADDRESSES = 200  # per body: a team, not a mailing list


class StaffMember(msgspec.Struct, frozen=True, kw_only=True):
    """A live address with its live key: who a sign-in mail goes to, and what a session acts as."""

    id: UUID
    email: str
    key_id: UUID
    role: str


def _normalised(email: str) -> str:
    address = email.strip().lower()
    if not address or len(address) > 254 or "@" not in address or address_problem(address):
        raise InvalidInput("Vul een geldig e-mailadres in", field="email")
    return address


_ADDRESS = """
SELECT s.id, s.email, s.added_at, s.key_id AS api_key_id, k.organisation_code, k.name AS key_name
FROM staff_addresses s JOIN api_keys k ON k.id = s.key_id
"""


async def _key_for(conn: Connection, principal: Principal, key_id: UUID | None) -> tuple[UUID, str | None]:
    """The key a new address is bound to, and its body: the caller's own, or (admin; an organiser for its own body)
    a live organiser key named by id. Raises Forbidden, InvalidInput."""
    if key_id is None:
        if principal.is_admin:
            raise InvalidInput("Kies de sleutel van de organisatie waarvoor dit adres inlogt", field="api_key_id")
        return principal.key_id, principal.organisation_code
    row = await conn.fetchrow(
        "SELECT role, organisation_code FROM api_keys WHERE id = $1 AND revoked_at IS NULL "
        "AND (expires_at IS NULL OR expires_at > now())",
        key_id,
    )
    if row is None or row["role"] != "organiser":
        raise InvalidInput("Deze organisatorsleutel bestaat niet", field="api_key_id")
    if not principal.is_admin and row["organisation_code"] != principal.organisation_code:
        raise InvalidInput("Deze organisatorsleutel bestaat niet", field="api_key_id")
    return key_id, row["organisation_code"]


async def add(conn: Connection, principal: Principal, email: str, key_id: UUID | None = None) -> StaffAddress:
    """Register a colleague's address, bound to the caller's key or to `key_id` (see _key_for). Adding it again
    changes nothing. Raises Forbidden (funders), InvalidInput (not an address, no such key, too many)."""
    require_role(principal, "organiser", "admin")
    address = _normalised(email)
    bound_to, body = await _key_for(conn, principal, key_id)
    count = await conn.fetchval(
        "SELECT count(*) FROM staff_addresses s JOIN api_keys k ON k.id = s.key_id "
        "WHERE k.organisation_code = $1 AND s.removed_at IS NULL",
        body,
    )
    if count >= MAX_ADDRESSES:
        raise InvalidInput(f"Een organisatie kan hier ten hoogste {MAX_ADDRESSES} adressen hebben", field="email")
    added = await conn.fetchval(
        "INSERT INTO staff_addresses (key_id, email) VALUES ($1, $2) "
        "ON CONFLICT (email, key_id) WHERE removed_at IS NULL DO NOTHING RETURNING id",
        bound_to,
        address,
    )
    if added is not None:
        await audit.record(conn, "staff_address.added", "staff_address", str(added), {"organisation": body})
    row = await conn.fetchrow(
        f"{_ADDRESS} WHERE s.key_id = $1 AND s.email = $2 AND s.removed_at IS NULL", bound_to, address
    )
    if row is None:  # removed by a concurrent request in the meantime
        raise InvalidInput("Dit adres wordt al toegevoegd", field="email")
    return StaffAddress(**dict(row))


async def list_for(conn: Connection, principal: Principal) -> list[StaffAddress]:
    """The live addresses of the caller's body (bound to any of its keys; an admin: all), in the order added."""
    require_role(principal, "organiser", "admin")
    rows = await conn.fetch(
        f"""{_ADDRESS}
        WHERE ($1::text IS NULL OR k.organisation_code = $1) AND s.removed_at IS NULL AND k.revoked_at IS NULL
        ORDER BY s.added_at, s.id
        """,
        None if principal.is_admin else principal.organisation_code,
    )
    return [StaffAddress(**dict(r)) for r in rows]


async def remove(conn: Connection, principal: Principal, staff_id: UUID) -> None:
    """Remove an address of the caller's body (an admin: any); its page sessions end and the address is forgotten
    (the row stays, without it, for the audit log). Raises NotFound (also another body's)."""
    require_role(principal, "organiser", "admin")
    removed = await conn.fetchval(
        """
        UPDATE staff_addresses s SET removed_at = now(), email = ''
        FROM api_keys k
        WHERE s.id = $1 AND k.id = s.key_id AND ($2::text IS NULL OR k.organisation_code = $2)
          AND s.removed_at IS NULL
        RETURNING s.id
        """,
        staff_id,
        None if principal.is_admin else principal.organisation_code,
    )
    if removed is None:
        raise NotFound("Dit adres staat niet bij je organisatie")
    await audit.record(conn, "staff_address.removed", "staff_address", str(staff_id), {})


async def request_link(conn: Connection, email: str, locale: Locale = "nl") -> None:
    """Mail a sign-in link to each live registration of this address whose key is live (once per THROTTLE), in
    `locale`; an unknown address gets nothing, and the caller cannot tell which it was."""
    address = email.strip().lower()
    rows = await conn.fetch(
        """
        UPDATE staff_addresses s SET link_requested_at = now()
        FROM api_keys k
        WHERE s.email = $1 AND s.removed_at IS NULL AND k.id = s.key_id AND k.revoked_at IS NULL
          AND (k.expires_at IS NULL OR k.expires_at > now())
          AND (s.link_requested_at IS NULL OR s.link_requested_at < now() - $2::interval)
        RETURNING s.id
        """,
        address,
        THROTTLE,
    )
    for row in rows:
        await emit(conn, row["id"], StaffSignInRequested(staff_id=row["id"], locale=locale))


async def member(conn: Connection, staff_id: UUID) -> StaffMember | None:
    """A live address whose key is live; None once either is gone."""
    row = await conn.fetchrow(
        """
        SELECT s.id, s.email, s.key_id, k.role
        FROM staff_addresses s JOIN api_keys k ON k.id = s.key_id
        WHERE s.id = $1 AND s.removed_at IS NULL AND k.revoked_at IS NULL
          AND (k.expires_at IS NULL OR k.expires_at > now())
        """,
        staff_id,
    )
    return None if row is None else StaffMember(**dict(row))


def link_token(secret: str, event_id: UUID) -> str:
    return derive(secret, "staff-signin", str(event_id))


async def record_link(conn: Connection, staff_id: UUID, token: str, expires_at: datetime) -> None:
    """Store the hash of a mailed link's token (again: nothing changes; a used one stays used)."""
    await conn.execute(
        "INSERT INTO staff_signin_tokens (token_hash, staff_id, expires_at) VALUES ($1, $2, $3) "
        "ON CONFLICT (token_hash) DO NOTHING",
        token_hash(token),
        staff_id,
        expires_at,
    )


async def link_state(conn: Connection, token: str) -> str | None:
    """'valid', 'used' or 'expired' for a link we made, None for any other."""
    if not looks_like_token(token):
        return None
    row = await conn.fetchrow(
        "SELECT used_at IS NOT NULL AS used, expires_at <= now() AS expired FROM staff_signin_tokens "
        "WHERE token_hash = $1",
        token_hash(token),
    )
    if row is None:
        return None
    return "used" if row["used"] else "expired" if row["expired"] else "valid"


async def spend_link(conn: Connection, token: str) -> StaffMember | None:
    """Use a link once: the address it was mailed to (still live, with a live key), or None."""
    if not looks_like_token(token):
        return None
    staff_id = await conn.fetchval(
        "UPDATE staff_signin_tokens SET used_at = now() "
        "WHERE token_hash = $1 AND used_at IS NULL AND expires_at > now() RETURNING staff_id",
        token_hash(token),
    )
    return None if staff_id is None else await member(conn, staff_id)
