"""SQL of the erasure: every place outside `participants` where an address can sit, found by address and by id.

Erasure is rare (a person's own request), so these statements scan `deliveries`, `invitations` and the jsonb
audiences rather than adding an index by address that every one of 50,000 mails of a fan-out would pay for.
"""

from __future__ import annotations

from uuid import UUID

from services.db import Connection

# $1 the address (normalised), $2 the participant, $3 what stands in its place ('gewist+<id>@invalid': the
# reserved .invalid domain, which no mail server accepts and the senders refuse outright).
_DELIVERIES = """
UPDATE deliveries
SET recipient = $3, key = replace(key, $1, $3),
    last_error = CASE WHEN status = 'queued' THEN 'Niet verstuurd: de deelnemer is gewist'
                      WHEN strpos(lower(last_error), $1) > 0 THEN replace(lower(last_error), $1, $3)
                      ELSE last_error END,
    -- A queued mail (waiting out a 4xx, or not yet taken) never leaves; one on the wire now cannot be called back.
    failure = CASE WHEN status = 'queued' THEN 'erased' ELSE failure END,
    status = CASE WHEN status = 'queued' THEN 'failed' ELSE status END
WHERE recipient = $1 OR participant_id = $2
"""

# The rows stay, anonymous, so an organiser's counts do not change after the fact; a queued one is not sent.
_INVITATIONS = """
UPDATE invitations
SET email = 'verwijderd-' || id || '@invalid', name = '', participant_id = NULL,
    status = CASE WHEN status = 'queued' THEN 'failed' ELSE status END,
    last_error = CASE WHEN status = 'queued' THEN 'Niet verstuurd: de deelnemer is gewist' ELSE last_error END
WHERE email = $1 OR participant_id = $2
"""

_RESPONSES = "DELETE FROM invitation_responses WHERE email = $1"

# Pasted addresses in saved lists and in batches: the entry goes, name and all. A batch still walking its pasted
# addresses keeps its place (its cursor is an offset into that array: it moves back by the entries removed before).
_AUDIENCE_EMAILS = """
WITH hit AS (
    SELECT x.id, k.emails, k.before
    FROM {table} x
    CROSS JOIN LATERAL (
        SELECT coalesce(jsonb_agg(e ORDER BY n) FILTER (WHERE lower(e ->> 'email') <> $1), '[]'::jsonb) AS emails,
               count(*) FILTER (WHERE lower(e ->> 'email') = $1 AND n <= {offset}) AS before,
               count(*) FILTER (WHERE lower(e ->> 'email') = $1) AS found
        FROM jsonb_array_elements(coalesce(x.audience -> 'emails', '[]'::jsonb)) WITH ORDINALITY AS t(e, n)
    ) k
    WHERE k.found > 0
    FOR UPDATE OF x
)
UPDATE {table} x SET audience = jsonb_set(x.audience, '{{emails}}', hit.emails){cursor}
FROM hit WHERE x.id = hit.id
"""
_LISTS = _AUDIENCE_EMAILS.format(table="audience_lists", offset="0", cursor=", updated_at = now()")
_BATCHES = _AUDIENCE_EMAILS.format(
    table="invitation_batches",
    offset="CASE WHEN x.resolve_phase = 'emails' THEN coalesce(nullif(x.resolve_after, '')::int, 0) ELSE 0 END",
    cursor=", resolve_after = CASE WHEN x.resolve_phase = 'emails' "
    "THEN (coalesce(nullif(x.resolve_after, '')::int, 0) - hit.before)::text ELSE x.resolve_after END",
)

# Answers remembered for retried requests (a participant record sent back by POST /api/v1/participants).
_IDEMPOTENCY = "DELETE FROM idempotency_keys WHERE strpos(lower(response::text), $1) > 0"
# A funder may have subscribed this very address to its reports; it goes with the rest.
_REPORTS = "DELETE FROM report_subscriptions WHERE email = $1"


async def forget_address(conn: Connection, email: str, participant_id: UUID, placeholder: str) -> None:
    """Take the address (and the name beside it) out of every table but `participants`, in the caller's
    transaction."""
    await conn.execute(_DELIVERIES, email, participant_id, placeholder)
    await conn.execute(_INVITATIONS, email, participant_id)
    await conn.execute(_RESPONSES, email)
    await conn.execute(_LISTS, email)
    await conn.execute(_BATCHES, email)
    await conn.execute(_IDEMPOTENCY, email)
    await conn.execute(_REPORTS, email)
