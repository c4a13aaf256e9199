"""The retention purge: run by the worker's maintenance loop, and by tests with a clock of their choosing.

* Participants with no activity for `retention_participant_months` (24) lose name and address (as when they erase
  themselves), their links and open requests; attendance stays, anonymous, so reports do not change.
* Delivery logs (mail claims, invitation lists, invitation answers) go `retention_delivery_months` (12) after the
  send or the meeting.
* Webhook attempt bodies go after `retention_webhook_body_days` (30).
* Organisers' sign-in links (used or not) go STAFF_LINKS_KEPT after they expired; their address stays.
* Open evaluation answers (free text, which may name people) are cleared `retention_evaluation_text_months` (6) after
  the form closed; grades, choices, consent ticks and how many answered each question stay, so the results and the
  funder reports give the same figures afterwards.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import msgspec

from services.db import Connection
from services.evaluations.questionnaire import load
from services.retention import queries as q
from services.settings import Settings

# An expired sign-in link opened in this time still gets "this link has expired, ask for a new one".
STAFF_LINKS_KEPT = timedelta(days=7)


class PurgeResult(msgspec.Struct, frozen=True, kw_only=True):
    participants: int
    deliveries: int
    invitations: int
    invitation_responses: int
    webhook_bodies: int
    evaluation_answers: int
    staff_signin_tokens: int


async def purge(conn: Connection, settings: Settings, *, now: datetime | None = None, batch: int = 1000) -> PurgeResult:
    """Apply every retention rule once at `now` (default: the clock). Each batch is its own transaction."""
    now = now or datetime.now(UTC)
    participants = 0
    while True:
        async with conn.transaction():
            ids = await q.inactive(conn, now=now, months=settings.retention_participant_months, limit=batch)
            if ids:
                participants += await q.anonymise(conn, ids, now=now)
        if len(ids) < batch:
            break
    evaluation_answers = await _clear_open_answers(conn, settings, now=now, batch=batch)
    logs = now - timedelta(days=round(settings.retention_delivery_months * 30.44))
    async with conn.transaction():
        return PurgeResult(
            participants=participants,
            deliveries=await q.expire(conn, q.EXPIRE_DELIVERIES, logs),
            invitations=await q.expire(conn, q.EXPIRE_INVITATIONS, logs),
            invitation_responses=await q.expire(conn, q.EXPIRE_RESPONSES, logs),
            webhook_bodies=await q.expire(
                conn, q.EXPIRE_WEBHOOK_BODIES, now - timedelta(days=settings.retention_webhook_body_days)
            ),
            evaluation_answers=evaluation_answers,
            staff_signin_tokens=await q.expire(conn, q.EXPIRE_STAFF_SIGNIN_TOKENS, now - STAFF_LINKS_KEPT),
        )


async def _clear_open_answers(conn: Connection, settings: Settings, *, now: datetime, batch: int) -> int:
    """The open answers of evaluations closed longer ago than the retention period; a batch of evaluations per
    transaction. Which questions are open is read from the questions each evaluation asked."""
    before = now - timedelta(days=round(settings.retention_evaluation_text_months * 30.44))
    cleared = 0
    while True:
        async with conn.transaction():
            closed = await q.closed_with_open_answers(conn, before=before, limit=batch)
            for evaluation in closed:
                keys = [question.key for question in load(evaluation.questions, evaluation.questionnaire)
                        if question.kind == "text"]  # fmt: skip
                cleared += await q.remove_open_answers(conn, evaluation.meeting_id, keys, now=now)
        if len(closed) < batch:
            return cleared
