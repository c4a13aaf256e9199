"""Evaluation mails: when they are due, and the SQL of the job that sends them in lanes.

`sweep` (a worker sweep, `now` injectable for tests) opens the evaluation of every published meeting whose end
plus `send_after` has passed, makes a request for everyone marked *attended* (not merely registered), marks the
round each due request or nudge is to be mailed (`mail_round`) and emits one `evaluation.mailing_due` per meeting;
workers/jobs/evaluation_mailing.py then takes the marked rows in blocks, as invitation batches are sent. The row
lock here is held only while a block is claimed; the claim of the delivery (key evaluation:{request}:{round}) is
what makes each mail go out once.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from uuid import UUID

import msgspec

from schemas.evaluations import EvaluationSettings
from schemas.events import EvaluationMailingDue
from services.db import Connection, required
from services.outbox import emit

_DEFAULT_JSON = msgspec.to_builtins(EvaluationSettings())

# Open the evaluations whose moment has come; the settings are read from the meeting's jsonb (NULL: defaults). The
# questions of the meeting's template, or else its series', are copied in (NULL: the built-in default): answers are
# always read against the questions that were asked (services/evaluations/templates.py).
_OPEN = """
INSERT INTO evaluations (meeting_id, opened_at, closes_at, questions)
SELECT m.id, $1::timestamptz,
       $1::timestamptz + coalesce(m.evaluation->>'closes_after', $2::jsonb->>'closes_after')::interval,
       (SELECT q.questions FROM questionnaires q
        WHERE q.id = coalesce(m.questionnaire_id, (SELECT s.questionnaire_id FROM series s WHERE s.id = m.series_id)))
FROM meetings m
WHERE m.status = 'published'
  AND m.ends_at + coalesce(m.evaluation->>'send_after', $2::jsonb->>'send_after')::interval <= $1::timestamptz
  AND m.ends_at > $1::timestamptz - interval '90 days'
  AND NOT EXISTS (SELECT 1 FROM evaluations e WHERE e.meeting_id = m.id)
ON CONFLICT DO NOTHING
"""
# Everyone marked attended at an open evaluation gets a request (also when marked after it opened).
_REQUEST = """
INSERT INTO evaluation_requests (meeting_id, participant_id, next_at)
SELECT a.meeting_id, a.participant_id, $1::timestamptz
FROM evaluations e JOIN attendance a ON a.meeting_id = e.meeting_id AND a.status = 'attended'
JOIN participants p ON p.id = a.participant_id AND p.erased_at IS NULL
WHERE e.closes_at > $1
ON CONFLICT (meeting_id, participant_id) DO NOTHING
"""
# Mark the due rounds in one statement. A request whose last round is still being mailed waits for it (a nudge
# never overtakes the request); the next round is due nudge_after from now while nudges are left.
_MARK = """
WITH due AS (
    SELECT r.id,
           coalesce(m.evaluation->>'nudges', $3::jsonb->>'nudges')::int AS nudges,
           coalesce(m.evaluation->>'nudge_after', $3::jsonb->>'nudge_after')::interval AS nudge_after
    FROM evaluation_requests r JOIN evaluations e ON e.meeting_id = r.meeting_id JOIN meetings m ON m.id = r.meeting_id
    WHERE NOT r.answered AND r.next_at <= $1 AND e.closes_at > $1 AND r.mail_round IS NULL
    ORDER BY r.next_at LIMIT $2
    FOR UPDATE OF r SKIP LOCKED
)
UPDATE evaluation_requests r
SET mail_round = r.rounds_sent, rounds_sent = r.rounds_sent + 1,
    next_at = CASE WHEN r.rounds_sent + 1 <= due.nudges THEN $1::timestamptz + due.nudge_after END
FROM due WHERE r.id = due.id
RETURNING r.meeting_id
"""


async def sweep(conn: Connection, *, now: datetime | None = None, batch: int = 5000) -> int:
    """Open due evaluations, make requests for attendees, mark the due requests and nudges and emit one mailing
    per meeting; returns how many mails were marked."""
    now = now or datetime.now(UTC)
    await conn.execute(_OPEN, now, _DEFAULT_JSON)
    await conn.execute(_REQUEST, now)
    marked = [r["meeting_id"] for r in await conn.fetch(_MARK, now, batch, _DEFAULT_JSON)]
    per_meeting: dict[UUID, int] = {}
    for meeting_id in marked:
        per_meeting[meeting_id] = per_meeting.get(meeting_id, 0) + 1
    for meeting_id, count in per_meeting.items():
        await emit(conn, meeting_id, EvaluationMailingDue(meeting_id=meeting_id, count=count))
    return len(marked)


def delivery_key(request_id: UUID, mail_round: int) -> str:
    return f"evaluation:{request_id}:{mail_round}"


class Marked(msgspec.Struct, frozen=True, kw_only=True):
    """A request to mail now, with what its mail needs (read with the block, so no statement per mail)."""

    id: UUID
    mail_round: int
    participant_id: UUID
    email: str
    name: str
    locale: str
    proven: bool
    feed_generation: int

    @property
    def key(self) -> str:
        return delivery_key(self.id, self.mail_round)


class Open(msgspec.Struct, frozen=True, kw_only=True):
    closes_at: datetime


async def open_evaluation(conn: Connection, meeting_id: UUID, now: datetime) -> Open | None:
    """The meeting's evaluation while it takes answers; None once closed (or never opened)."""
    closes_at = await conn.fetchval("SELECT closes_at FROM evaluations WHERE meeting_id = $1", meeting_id)
    return None if closes_at is None or closes_at <= now else Open(closes_at=closes_at)


async def drop_unsendable(conn: Connection, meeting_id: UUID, *, everything: bool) -> int:
    """Unmark what is not to be mailed any more: answered meanwhile, the person erased, the mail decided by a run
    that stopped before it unmarked the row, or (everything) all of the meeting's marks, when its evaluation has
    closed."""
    status = await conn.execute(
        """
        UPDATE evaluation_requests r SET mail_round = NULL
        WHERE r.meeting_id = $1 AND r.mail_round IS NOT NULL
          AND ($2 OR r.answered
               OR NOT EXISTS (SELECT 1 FROM participants p WHERE p.id = r.participant_id AND p.erased_at IS NULL)
               OR EXISTS (SELECT 1 FROM deliveries d WHERE d.key = 'evaluation:' || r.id || ':' || r.mail_round
                                                         AND d.status IN ('sent', 'failed')))
        """,
        meeting_id,
        everything,
    )
    return int(status.split()[-1])


# Marked rows nobody is sending now: passed over while their delivery is held by a live claim, waits out a 4xx, or
# was decided (sent or failed: the lane that sent it unmarks the row when its block is done, or else the next run's
# drop_unsendable; taking such rows again filled blocks with mails already sent). The block is chosen from
# evaluation_requests alone, as an anti-join that walks the partial index evaluation_requests_to_mail in id order and
# stops at the block (2 ms at 5,000 marked rows), and only then joined to the people: with the join inside, fresh
# participants without statistics (a bulk import, the bench's 10,000) made the planner start from participants and
# sort every marked row of the meeting per block (84-160 ms at 10,000; a left-join form likewise, 28 ms at 5,000).
_LOCK_BLOCK = """
WITH block AS (
    SELECT r.id, r.mail_round, r.participant_id
    FROM evaluation_requests r
    WHERE r.meeting_id = $1 AND r.mail_round IS NOT NULL AND NOT r.answered
      AND EXISTS (SELECT 1 FROM participants p WHERE p.id = r.participant_id AND p.erased_at IS NULL)
      AND NOT EXISTS (
          SELECT 1 FROM deliveries d
          WHERE d.key = 'evaluation:' || r.id || ':' || r.mail_round
            AND (d.status IN ('sent', 'failed')
                 OR (d.status = 'queued' AND d.not_before > now())
                 OR (d.status = 'claimed' AND d.claimed_at >= now() - make_interval(secs => $3))))
    ORDER BY r.id
    LIMIT $2
    FOR UPDATE OF r SKIP LOCKED
)
SELECT b.id, b.mail_round, b.participant_id, p.email, p.name, p.locale, p.verified_at IS NOT NULL AS proven,
       p.feed_generation
FROM block b JOIN participants p ON p.id = b.participant_id
ORDER BY b.id
"""


async def lock_block(conn: Connection, meeting_id: UUID, *, size: int, lease_seconds: float) -> list[Marked]:
    """Up to `size` marked requests nobody is sending now, locked until the caller's transaction ends."""
    rows = await conn.fetch(_LOCK_BLOCK, meeting_id, size, float(lease_seconds))
    return [Marked(**dict(r)) for r in rows]


async def unmark(conn: Connection, request_ids: Sequence[UUID]) -> None:
    """These requests' mails are decided (sent, or failed for good)."""
    if request_ids:
        await conn.execute(
            "UPDATE evaluation_requests SET mail_round = NULL WHERE id = ANY($1::uuid[])", list(request_ids)
        )


class Left(msgspec.Struct, frozen=True, kw_only=True):
    marked: int  # still to be mailed (a person erased meanwhile is not: lock_block passes them over for good)
    retry_in: float | None  # seconds until the first of them that waits out a 4xx may be tried again


async def left(conn: Connection, meeting_id: UUID) -> Left:
    row = await conn.fetchrow(
        """
        SELECT count(*) AS marked, extract(epoch FROM min(d.not_before) FILTER (WHERE d.not_before > now()) - now())
               AS retry_in
        FROM evaluation_requests r
        LEFT JOIN deliveries d ON d.key = 'evaluation:' || r.id || ':' || r.mail_round AND d.status = 'queued'
        WHERE r.meeting_id = $1 AND r.mail_round IS NOT NULL AND NOT r.answered
          AND EXISTS (SELECT 1 FROM participants p WHERE p.id = r.participant_id AND p.erased_at IS NULL)
        """,
        meeting_id,
    )
    row = required(row)
    return Left(marked=int(row["marked"]), retry_in=None if row["retry_in"] is None else float(row["retry_in"]))
