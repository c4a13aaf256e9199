"""SQL for retention. Every cut-off is computed from a clock the caller passes, so tests can purge "two years on"."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

import msgspec

from services.db import Connection

# The last sign of life of a person: their profile, a registration (or the meeting it was for, which may lie in the
# future), an attendance, a personal link used, an open registration request.
INACTIVE = """
SELECT p.id FROM participants p
WHERE p.erased_at IS NULL
  AND greatest(p.created_at, p.updated_at, p.verified_at, p.consent_changed_at, p.link_requested_at) < $1
  AND NOT EXISTS (
      SELECT 1 FROM registrations r JOIN meetings m ON m.id = r.meeting_id
      WHERE r.participant_id = p.id AND greatest(r.updated_at, m.ends_at) >= $1)
  AND NOT EXISTS (SELECT 1 FROM attendance a WHERE a.participant_id = p.id AND a.recorded_at >= $1)
  AND NOT EXISTS (
      SELECT 1 FROM participant_tokens t WHERE t.participant_id = p.id AND coalesce(t.last_used_at, t.created_at) >= $1)
  AND NOT EXISTS (
      SELECT 1 FROM registration_requests q WHERE q.participant_id = p.id AND q.created_at >= $1)
ORDER BY p.id
LIMIT $2
"""

# Name and address go; organisation, group and the report key stay, so every report gives the same figures after
# the purge as before. What the person said in a request and their links go with the address.
ANONYMISE = """
WITH gone AS (
    UPDATE participants
    SET email = 'gewist+' || id::text || '@invalid', name = 'Gewist', erased_at = $1, updated_at = $1,
        link_requested_at = NULL, invitation_consent = false
    WHERE id = ANY ($2::uuid[]) AND erased_at IS NULL
    RETURNING id
), tokens AS (
    DELETE FROM participant_tokens WHERE participant_id IN (SELECT id FROM gone)
), requests AS (
    DELETE FROM registration_requests WHERE participant_id IN (SELECT id FROM gone)
)
SELECT count(*) FROM gone
"""


async def inactive(conn: Connection, *, now: datetime, months: int, limit: int) -> list[object]:
    cutoff = now - timedelta(days=round(months * 30.44))
    return [r["id"] for r in await conn.fetch(INACTIVE, cutoff, limit)]


async def anonymise(conn: Connection, ids: list[object], *, now: datetime) -> int:
    return int(await conn.fetchval(ANONYMISE, now, ids) or 0)


# Delivery logs: who was mailed what. The exactly-once claims of long-finished sends are not needed any more
# (their events left the outbox after 30 days), nor are invitation lists and answers of meetings long over.
EXPIRE_DELIVERIES = """
DELETE FROM deliveries WHERE status IN ('sent', 'failed') AND created_at < $1
"""
EXPIRE_INVITATIONS = """
DELETE FROM invitations i USING meetings m
WHERE m.id = i.meeting_id AND m.ends_at < $1 AND i.status <> 'queued'
"""
EXPIRE_RESPONSES = """
DELETE FROM invitation_responses r USING meetings m WHERE m.id = r.meeting_id AND m.ends_at < $1
"""
# What a subscriber's server answered may hold anything (its own error pages, echoed data): the body goes first,
# the attempt's status and timing stay for the delivery history.
EXPIRE_WEBHOOK_BODIES = """
UPDATE webhook_attempts SET response_body = NULL WHERE response_body IS NOT NULL AND attempted_at < $1
"""

# Organisers' sign-in links live LINK_MINUTES (services/auth/staff.py). A row goes once its link has expired, used
# or not: deleting a used one sooner would let the mail job, if retried within the link's life, record it again as
# unused. The caller keeps them a while after, so a link opened late still says "expired" rather than "unknown".
EXPIRE_STAFF_SIGNIN_TOKENS = """
DELETE FROM staff_signin_tokens WHERE expires_at < $1
"""


async def expire(conn: Connection, sql: str, before: datetime) -> int:
    status = await conn.execute(sql, before)
    return int(status.split()[-1])


# Evaluations whose form closed before the cut-off and still keep their open answers, oldest first.
CLOSED_WITH_OPEN_ANSWERS = """
SELECT meeting_id, questionnaire, questions FROM evaluations
WHERE open_answers_removed_at IS NULL AND closes_at < $1
ORDER BY closes_at
LIMIT $2
FOR UPDATE SKIP LOCKED
"""
# Each open answer becomes JSON null: its text is gone, the question still counts as answered (the results say how
# many answered it). Grades, choices and the consent tick stay as they were, and with them every figure.
REMOVE_OPEN_ANSWERS = """
WITH cleared AS (
    UPDATE evaluation_responses r
    SET answers = (SELECT jsonb_object_agg(key, CASE WHEN key = ANY($2::text[]) THEN 'null'::jsonb ELSE value END)
                   FROM jsonb_each(r.answers))
    WHERE r.meeting_id = $1 AND r.answers ?| $2::text[]
    RETURNING 1
), marked AS (
    UPDATE evaluations SET open_answers_removed_at = $3 WHERE meeting_id = $1
)
SELECT count(*) FROM cleared
"""


class ClosedEvaluation(msgspec.Struct, frozen=True, kw_only=True):
    meeting_id: UUID
    questionnaire: str
    questions: Any  # the snapshot of the questions asked (services/evaluations/questionnaire.py load)


async def closed_with_open_answers(conn: Connection, *, before: datetime, limit: int) -> list[ClosedEvaluation]:
    return [ClosedEvaluation(**dict(r)) for r in await conn.fetch(CLOSED_WITH_OPEN_ANSWERS, before, limit)]


async def remove_open_answers(conn: Connection, meeting_id: UUID, keys: list[str], *, now: datetime) -> int:
    """Clear these questions' answers of the meeting's evaluation and mark it done; how many answers changed."""
    return int(await conn.fetchval(REMOVE_OPEN_ANSWERS, meeting_id, keys, now) or 0)
