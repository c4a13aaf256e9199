"""Turning a batch's audience into invitee rows, a chunk per short transaction, resumable from a cursor.

Workers call `resolve_step` until it says the batch is resolved; each step inserts at most CHUNK rows and moves the
batch's cursor in the same transaction, so a worker killed halfway resumes exactly where the last commit left off,
and no transaction or lock lasts longer than one chunk. Who is left out (skip rules) is decided here, in SQL, under
a per-meeting advisory lock so two batches resolving at once cannot both take the same person.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

import msgspec

from services.db import Connection, required
from services.participants import suppression

CHUNK = 1000
# Calendar messages that put the meeting in someone's calendar, and those that take it out again.
REQUEST_KINDS = ["invitation", "confirmation", "update"]
CANCEL_KINDS = ["cancellation", "registration_cancelled"]


class BatchWork(msgspec.Struct, frozen=True, kw_only=True):
    id: UUID
    meeting_id: UUID
    kind: str
    state: str
    audience: dict[str, Any]
    resend: str
    note: str
    reason: str
    changes: dict[str, Any] | None
    sequence: int | None
    resolve_phase: str
    resolve_after: str | None


_BATCH = """
SELECT id, meeting_id, kind, state, audience, resend, note, reason, changes, sequence, resolve_phase, resolve_after
FROM invitation_batches WHERE id = $1
"""


async def load_batch(conn: Connection, batch_id: UUID, *, lock: bool = False) -> BatchWork | None:
    """The batch; `lock` (in a transaction) makes concurrent resolvers of one batch take turns."""
    row = await conn.fetchrow(_BATCH + (" FOR UPDATE" if lock else ""), batch_id)
    return None if row is None else BatchWork(**dict(row))


# Left out, whatever the batch asks: people registered already, people who answered, people whose invitation is
# still on its way or bounced. Sent-before is left out too unless the batch resends to those who did not respond.
_NOT_SKIPPED = """
NOT EXISTS (
    SELECT 1 FROM registrations r JOIN participants rp ON rp.id = r.participant_id
    WHERE r.meeting_id = $2 AND rp.email = c.email AND r.status IN ('confirmed', 'waitlisted', 'offered'))
AND NOT EXISTS (SELECT 1 FROM invitation_responses ir WHERE ir.meeting_id = $2 AND ir.email = c.email)
AND NOT EXISTS (
    SELECT 1 FROM invitations i JOIN invitation_batches ib ON ib.id = i.batch_id
    WHERE i.meeting_id = $2 AND i.email = c.email AND ib.kind = 'invitation' AND i.batch_id <> $1
      AND (i.status IN ('queued', 'bounced') OR (i.status = 'sent' AND $3 = 'none')))
"""

_PARTICIPANT_CHUNK = f"""
WITH c AS (
    SELECT p.id, p.email, p.name, p.locale
    FROM participants p LEFT JOIN organisations o ON o.code = p.organisation_code
    -- By criteria only people who proved their address and asked for invitations (pasted addresses are the
    -- organiser's own responsibility, see the 'emails' phase).
    WHERE p.erased_at IS NULL AND p.verified_at IS NOT NULL AND p.invitation_consent AND ($4::uuid IS NULL OR p.id > $4)
      AND (cardinality($5::text[]) = 0 OR p.professional_group = ANY($5))
      AND ((cardinality($6::text[]) = 0 AND cardinality($7::text[]) = 0)
           OR p.organisation_code = ANY($6) OR o.province_code = ANY($7) OR o.safety_region_code = ANY($7))
    ORDER BY p.id
    LIMIT $8
), ins AS (
    INSERT INTO invitations (batch_id, meeting_id, email, name, participant_id, locale)
    SELECT $1, $2, c.email, c.name, c.id, c.locale FROM c WHERE {_NOT_SKIPPED}
    ON CONFLICT (batch_id, email) DO NOTHING
    RETURNING id, email
)
SELECT (SELECT count(*) FROM c) AS found, (SELECT id FROM c ORDER BY id DESC LIMIT 1) AS last,
       (SELECT count(*) FROM ins) AS inserted,
       (SELECT coalesce(array_agg(id ORDER BY id), '{{}}') FROM ins) AS ids,
       (SELECT coalesce(array_agg(email ORDER BY id), '{{}}') FROM ins) AS emails
"""

_EMAIL_CHUNK = f"""
WITH given AS (
    SELECT g.email, g.name FROM unnest($4::text[], $5::text[]) AS g(email, name)
), c AS (
    SELECT g.email, coalesce(nullif(p.name, ''), g.name) AS name, p.id AS participant_id,
           coalesce(p.locale, 'nl') AS locale
    FROM given g LEFT JOIN participants p ON p.email = g.email AND p.erased_at IS NULL
), ins AS (
    INSERT INTO invitations (batch_id, meeting_id, email, name, participant_id, locale)
    SELECT $1, $2, c.email, c.name, c.participant_id, c.locale FROM c WHERE {_NOT_SKIPPED}
    ON CONFLICT (batch_id, email) DO NOTHING
    RETURNING id
)
SELECT (SELECT count(*) FROM c) AS found, (SELECT count(*) FROM ins) AS inserted
"""

# Updates and cancellations go to whoever holds the meeting in their calendar: per address, the last calendar
# message we sent them was a REQUEST, not a CANCEL. The deliveries ledger is the record of exactly that.
# Keyset by address over the (meeting_id, recipient) index keeps each chunk's work proportional to the chunk.
_HOLDERS_CHUNK = """
WITH last AS (
    SELECT d.recipient AS email,
           max(d.sent_at) FILTER (WHERE d.kind = ANY($5::text[])) AS request_at,
           max(d.sent_at) FILTER (WHERE d.kind = ANY($6::text[])) AS cancel_at,
           max(d.sequence) FILTER (WHERE d.kind = ANY($5::text[])) AS request_seq,
           (array_agg(d.participant_id) FILTER (WHERE d.participant_id IS NOT NULL))[1] AS participant_id
    FROM deliveries d
    WHERE d.meeting_id = $2 AND d.status = 'sent' AND ($4::text IS NULL OR d.recipient > $4)
    GROUP BY d.recipient
    ORDER BY d.recipient
    LIMIT $8
), c AS (
    SELECT l.email, l.participant_id, coalesce(p.name, '') AS name, coalesce(p.locale, 'nl') AS locale
    FROM last l LEFT JOIN participants p ON p.id = l.participant_id AND p.erased_at IS NULL
    WHERE l.request_at IS NOT NULL AND (l.cancel_at IS NULL OR l.cancel_at < l.request_at)
      -- an update skips those whose last REQUEST already carried this sequence, and those who declined
      AND ($3 <> 'update' OR l.request_seq < $7)
      AND ($3 <> 'update' OR NOT EXISTS (
            SELECT 1 FROM invitation_responses ir
            WHERE ir.meeting_id = $2 AND ir.email = l.email AND ir.response = 'declined'))
      -- an update that changed only the online link goes to the people with a seat alone
      AND (NOT $9 OR EXISTS (
            SELECT 1 FROM registrations r
            WHERE r.meeting_id = $2 AND r.participant_id = l.participant_id AND r.status = 'confirmed'))
), ins AS (
    INSERT INTO invitations (batch_id, meeting_id, email, name, participant_id, locale)
    SELECT $1, $2, c.email, c.name, c.participant_id, c.locale FROM c
    ON CONFLICT (batch_id, email) DO NOTHING
    RETURNING id
)
SELECT (SELECT count(*) FROM last) AS found, (SELECT email FROM last ORDER BY email DESC LIMIT 1) AS last,
       (SELECT count(*) FROM ins) AS inserted
"""


class Step(msgspec.Struct, frozen=True, kw_only=True):
    done: bool
    inserted: int = 0


async def _lock_meeting_invitations(conn: Connection, meeting_id: UUID) -> None:
    # An advisory lock, not a row lock: the meeting row is the registration hot spot and must stay free.
    await conn.execute("SELECT pg_advisory_xact_lock(hashtextextended($1, 0))", f"invitations:{meeting_id}")


async def _advance(
    conn: Connection, batch: BatchWork, phase: str, after: str | None, found: int, inserted: int
) -> None:
    await conn.execute(
        """
        UPDATE invitation_batches
        SET resolve_phase = $2, resolve_after = $3, resolved_count = resolved_count + $4,
            skipped_count = skipped_count + $5,
            state = CASE WHEN $2 = 'done' THEN 'sending' ELSE 'resolving' END,
            resolved_at = CASE WHEN $2 = 'done' THEN now() ELSE resolved_at END
        WHERE id = $1
        """,
        batch.id,
        phase,
        after,
        inserted,
        max(0, found - inserted),
    )


async def stop_resolving(conn: Connection, batch: BatchWork) -> None:
    """The meeting can no longer get this batch's mail (cancelled, started): stop adding invitees."""
    await _advance(conn, batch, "done", batch.resolve_after, 0, 0)


def _cursor(after: str | None) -> tuple[int, str | None]:
    """'2:<uuid>' → criteria index 2, after that participant id."""
    if not after:
        return 0, None
    index, _, last = after.partition(":")
    return int(index), last or None


async def resolve_step(conn: Connection, batch: BatchWork, *, secret: str) -> Step:
    """Insert the next chunk of invitees; the caller runs it in a transaction and calls again until `done`.
    Addresses on the suppression list (erased people, keyed with `secret`) are left out of invitations."""
    await _lock_meeting_invitations(conn, batch.meeting_id)
    if batch.resolve_phase == "done":
        return Step(done=True)
    if batch.kind != "invitation":
        return await _holders_step(conn, batch)
    if batch.resolve_phase == "participants":
        return await _participants_step(conn, batch, secret)
    return await _emails_step(conn, batch, secret)


async def _participants_step(conn: Connection, batch: BatchWork, secret: str) -> Step:
    criteria: list[dict[str, list[str]]] = batch.audience.get("criteria", [])
    index, after = _cursor(batch.resolve_after)
    if index >= len(criteria):
        await _advance(conn, batch, "emails", "0", 0, 0)
        return Step(done=False)
    c = criteria[index]
    organisations = await expand_organisations(conn, c.get("organisations", []))
    row = await conn.fetchrow(
        _PARTICIPANT_CHUNK,
        batch.id,
        batch.meeting_id,
        batch.resend,
        UUID(after) if after else None,
        c.get("groups", []),
        organisations,
        c.get("regions", []),
        CHUNK,
    )
    row = required(row)
    found, inserted = int(row["found"]), int(row["inserted"])
    # A participant row for a suppressed address is someone an organiser re-created after the erasure (vouching
    # for consent the person never gave again): out again, in this transaction, counted as skipped.
    barred = await suppression.suppressed(conn, secret, row["emails"])
    if barred:
        ids = [i for i, e in zip(row["ids"], row["emails"], strict=True) if e in barred]
        await conn.execute("DELETE FROM invitations WHERE id = ANY($1::bigint[])", ids)
        inserted -= len(ids)
    cursor = f"{index}:{row['last']}" if found == CHUNK else f"{index + 1}:"
    await _advance(conn, batch, "participants", cursor, found, inserted)
    return Step(done=False, inserted=inserted)


async def expand_organisations(conn: Connection, codes: list[str]) -> list[str]:
    """Listed organisations plus the member municipalities of listed regional collaborations."""
    if not codes:
        return []
    rows = await conn.fetch(
        "SELECT unnest(member_codes) AS code FROM organisations WHERE code = ANY($1::text[]) AND kind = 'region'",
        codes,
    )
    return sorted({*codes, *(r["code"] for r in rows)})


async def _emails_step(conn: Connection, batch: BatchWork, secret: str) -> Step:
    emails: list[dict[str, str]] = batch.audience.get("emails", [])
    offset = int(batch.resolve_after or 0)
    chunk = emails[offset : offset + CHUNK]
    if not chunk:
        await _advance(conn, batch, "done", None, 0, 0)
        return Step(done=True)
    barred = await suppression.suppressed(conn, secret, [e["email"] for e in chunk])
    part = [e for e in chunk if e["email"] not in barred]
    row = await conn.fetchrow(
        _EMAIL_CHUNK,
        batch.id,
        batch.meeting_id,
        batch.resend,
        [e["email"] for e in part],
        [e.get("name", "") for e in part],
    )
    row = required(row)
    inserted = int(row["inserted"])
    await _advance(conn, batch, "emails", str(offset + len(chunk)), int(row["found"]) + len(barred), inserted)
    return Step(done=False, inserted=inserted)


async def _holders_step(conn: Connection, batch: BatchWork) -> Step:
    row = await conn.fetchrow(
        _HOLDERS_CHUNK,
        batch.id,
        batch.meeting_id,
        batch.kind,
        batch.resolve_after,
        REQUEST_KINDS,
        CANCEL_KINDS,
        batch.sequence or 0,
        CHUNK,
        bool(batch.audience.get("seated_only")),
    )
    row = required(row)
    found, inserted = int(row["found"]), int(row["inserted"])
    done = found < CHUNK
    # Holders that were filtered out (already up to date, cancelled) are not "skipped" in the organiser's sense.
    await _advance(conn, batch, "done" if done else "participants", row["last"], inserted, inserted)
    return Step(done=done, inserted=inserted)
