"""evaluation.mailing_due -> evaluation_mailing: one job sends a meeting's marked evaluation requests and nudges in
lanes, the way an invitation batch is sent (workers/jobs/invitation_batches.py).

Each lane takes a block of marked requests (services/evaluations/mailing.py lock_block) and, in the same short
transaction, claims the deliveries behind their mails and records their personal links; then it sends the block
through the deliveries API and unmarks the rows whose mail is decided. The per-mail cost is the send and its mark;
the meeting, the deadline and the links are read once per block, not once per mail as one job per request did.

Exactly once: the delivery key is evaluation:{request}:{round}, claimed once, so a second job for the same meeting
(the next sweep's, a retry, another worker) shares the rows rather than sending them again. After a SIGKILL at most
one mail per lane can go twice (sent, not yet marked), the bound invitation batches state: lanes_for(tuning).
Someone who answers meanwhile is passed over (the row says answered); a closed form gets no mail.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from email.message import EmailMessage
from typing import Any
from uuid import UUID

import msgspec

from schemas.events import EvaluationMailingDue
from services.dates import moment
from services.db import Connection
from services.evaluations import links, mailing
from services.evaluations.notices import EvaluationNotices
from services.invitations.compose import Links, Recipient
from services.invitations.meeting import MailMeeting, load
from services.invitations.messages import NoticeKind, pick_locale
from services.participants import links as personal
from services.settings import Settings
from workers import deliveries
from workers.context import Ctx, gate_of, load_event, pool_of, settings_of, tuning_of
from workers.jobs.invitation_batches import lanes_for
from workers.jobs.participant_mail import _notice_message
from workers.mailgate import GateClosed
from workers.registry import JobDeferred, job

BLOCK = 50  # requests a lane takes at a time (as invitation batches: a block costs a few statements, a mail one)
IDLE = 0.05
MAX_IDLE = 1.0
DEFER_AFTER = 5.0  # rows left only waiting out a 4xx this far ahead: defer the job rather than poll


class _Block(msgspec.Struct, kw_only=True):
    meeting: MailMeeting | None  # None: nothing is to be sent for this meeting (any more)
    rows: list[mailing.Marked]
    mails: list[deliveries.Mail]
    claims: dict[str, deliveries.Claim]


def _mail(settings: Settings, meeting: MailMeeting, row: mailing.Marked, notices: EvaluationNotices,
          found: dict[str, personal.PersonalLinks]) -> deliveries.Mail:  # fmt: skip
    to = Recipient(email=row.email, name=row.name if row.proven else "", locale=pick_locale(row.locale))
    kind: NoticeKind = "evaluation" if row.mail_round == 0 else "evaluation_nudge"

    def build(message_id: str) -> EmailMessage:
        mine = found.get(row.key)
        notice = notices.notice(
            kind,
            to,
            form_url=links.form_url(settings.base_url, settings.secret_key, row.id),
            links=Links() if mine is None else Links(manage=mine.manage, feed=mine.feed, feed_webcal=mine.feed_webcal),
        )
        return _notice_message(settings, notice, to, message_id)

    return deliveries.Mail(
        key=row.key,
        kind=kind,
        recipient=row.email,
        build=build,
        meeting_id=meeting.id,
        participant_id=row.participant_id,
    )


async def _take(ctx: Ctx, meeting_id: UUID) -> _Block:
    """Lock a block of marked requests nobody is sending and claim their deliveries, in one short transaction."""
    settings, tuning = settings_of(ctx), tuning_of(ctx)
    async with pool_of(ctx).acquire() as conn, conn.transaction():
        opened = await mailing.open_evaluation(conn, meeting_id, datetime.now(UTC))
        meeting = await load(conn, meeting_id, settings)
        if opened is None or meeting is None:
            await mailing.drop_unsendable(conn, meeting_id, everything=True)
            return _Block(meeting=None, rows=[], mails=[], claims={})
        rows = await mailing.lock_block(conn, meeting_id, size=BLOCK, lease_seconds=tuning.delivery_lease)
        found: dict[str, personal.PersonalLinks] = {}
        # The closing moment in the meeting's zone, once per language in the block.
        deadlines = {
            locale: moment(opened.closes_at, meeting.calendar.timezone, locale)
            for locale in {pick_locale(r.locale) for r in rows}
        }
        notices = EvaluationNotices(meeting.calendar, deadlines)
        mails = [_mail(settings, meeting, row, notices, found) for row in rows]
        claims = await deliveries.claim(conn, mails, ctx)
        wanted = [
            personal.MailFor(participant_id=r.participant_id, mail_key=r.key, feed_generation=r.feed_generation)
            for r in rows
            if claims[r.key].mine
        ]
        if wanted:
            found.update(await personal.for_mails(conn, settings, wanted))
    return _Block(meeting=meeting, rows=rows, mails=mails, claims=claims)


async def _send(ctx: Ctx, block: _Block, probe: bool) -> None:
    ids = {r.key: r.id for r in block.rows}

    async def record(conn: Connection, outcomes: dict[str, deliveries.Outcome]) -> None:
        await mailing.unmark(conn, [ids[k] for k, o in outcomes.items() if o.status in ("sent", "failed")])

    await deliveries.send_claimed(ctx, block.mails, block.claims, probe=probe, record=record)


async def _lane(ctx: Ctx, meeting_id: UUID) -> None:
    gate, tuning, idle = gate_of(ctx), tuning_of(ctx), IDLE
    while True:
        try:
            probe = await gate.passage(tuning.mail_wait)
        except GateClosed as exc:
            raise JobDeferred(str(exc), delay=exc.retry_in) from exc
        try:
            block = await _take(ctx, meeting_id)
        except BaseException:
            if probe:
                gate.abandoned()
            raise
        if block.rows:
            await _send(ctx, block, probe)
            idle = IDLE
            continue
        if probe:
            gate.abandoned()
        if block.meeting is None:
            return
        async with pool_of(ctx).acquire() as conn:
            remaining = await mailing.left(conn, meeting_id)
        if remaining.marked == 0:
            return
        if remaining.retry_in is not None and remaining.retry_in > DEFER_AFTER:
            raise JobDeferred("ontvangers tijdelijk geweigerd (4xx); later opnieuw", delay=remaining.retry_in)
        # Rows another sender holds, or a 4xx about to be retried: back off rather than poll PostgreSQL hard.
        await asyncio.sleep(idle)
        idle = min(idle * 2, MAX_IDLE)


async def send_marked(ctx: Ctx, meeting_id: UUID, *, lanes: int | None = None) -> None:
    """Send every marked evaluation mail of the meeting; safe to run again, and alongside another run.

    Raises JobDeferred while the mail server stays away (or the rows left wait out a 4xx): rows stay marked."""
    async with pool_of(ctx).acquire() as conn:
        await mailing.drop_unsendable(conn, meeting_id, everything=False)
    try:
        async with asyncio.TaskGroup() as group:
            for _ in range(lanes or lanes_for(tuning_of(ctx))):
                group.create_task(_lane(ctx, meeting_id))
    except ExceptionGroup as failed:
        deferred = [e for e in failed.exceptions if isinstance(e, JobDeferred)]
        if deferred and len(deferred) == len(failed.exceptions):
            raise deferred[0] from None
        raise


@job(timeout=3600.0)
async def evaluation_mailing(ctx: dict[str, Any], outbox_id: int) -> None:
    """Long-running by design, like an invitation fan-out; it resumes where it stopped when run again."""
    payload = (await load_event(ctx, outbox_id)).payload
    if isinstance(payload, EvaluationMailingDue):
        await send_marked(ctx, payload.meeting_id)
