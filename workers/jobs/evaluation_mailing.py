"""evaluation.mailing_due -> evaluation_mailing: one job sends a meeting's marked evaluation requests and nudges in
lanes (workers/deliveries/lanes.py), as an invitation batch is sent.

Each lane takes a block of marked requests (services/evaluations/mailing.py lock_block) and, in the same short
transaction, claims the deliveries behind their mails and records their personal links; then it sends the block
through the deliveries API and unmarks the rows whose mail is decided. The per-mail cost is the send and its mark;
the meeting, the deadline and the links are read once per block, and the text is rendered once per language
(services/evaluations/notices.py), not once per mail.

Exactly once: the delivery key is evaluation:{request}:{round}, claimed once, so a second job for the same meeting
(the next sweep's, a retry, another worker) shares the rows rather than sending them again. After a SIGKILL at most
one mail per lane can go twice (sent, not yet marked): lanes_for(tuning).
Someone who answers meanwhile is passed over (the row says answered); a closed form gets no mail.
"""

from __future__ import annotations

from datetime import UTC, datetime
from email.message import EmailMessage
from typing import Any
from uuid import UUID

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
from workers.context import Ctx, load_event, pool_of, settings_of, tuning_of
from workers.deliveries.lanes import BLOCK, NOTHING, LaneWork, Taken, defer_for_retry, run_lanes
from workers.jobs.participant_mail import _notice_message
from workers.registry import job


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


class _Mailing(LaneWork[Taken]):
    """The marked requests of one meeting."""

    def __init__(self, meeting_id: UUID) -> None:
        self.meeting_id = meeting_id

    async def take(self, ctx: Ctx) -> Taken:
        """Lock a block of marked requests nobody is sending and claim their deliveries, in one short transaction."""
        settings, tuning = settings_of(ctx), tuning_of(ctx)
        async with pool_of(ctx).acquire() as conn, conn.transaction():
            opened = await mailing.open_evaluation(conn, self.meeting_id, datetime.now(UTC))
            meeting = await load(conn, self.meeting_id, settings)
            if opened is None or meeting is None:
                await mailing.drop_unsendable(conn, self.meeting_id, everything=True)
                return NOTHING
            rows = await mailing.lock_block(conn, self.meeting_id, size=BLOCK, lease_seconds=tuning.delivery_lease)
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
        ids = {r.key: r.id for r in rows}

        async def record(conn: Connection, outcomes: dict[str, deliveries.Outcome]) -> None:
            await mailing.unmark(conn, [ids[k] for k, o in outcomes.items() if o.status in ("sent", "failed")])

        return Taken(mails=mails, claims=claims, record=record)

    async def settle(self, ctx: Ctx, last: Taken) -> bool:
        if not last.sendable:
            return True
        async with pool_of(ctx).acquire() as conn:
            remaining = await mailing.left(conn, self.meeting_id)
        if remaining.marked == 0:
            return True
        # Rows another sender holds, or a 4xx about to be retried: look again after a while.
        defer_for_retry(remaining.retry_in)
        return False


async def send_marked(ctx: Ctx, meeting_id: UUID, *, lanes: int | None = None) -> None:
    """Send every marked evaluation mail of the meeting; safe to run again, and alongside another run.

    Raises JobDeferred while the mail server stays away (or the rows left wait out a 4xx): rows stay marked."""
    async with pool_of(ctx).acquire() as conn:
        await mailing.drop_unsendable(conn, meeting_id, everything=False)
    await run_lanes(ctx, _Mailing(meeting_id), lanes=lanes)


@job(timeout=3600.0)
async def evaluation_mailing(ctx: dict[str, Any], outbox_id: int) -> None:
    """Long-running by design, like an invitation fan-out; it resumes where it stopped when run again."""
    payload = (await load_event(ctx, outbox_id)).payload
    if isinstance(payload, EvaluationMailingDue):
        await send_marked(ctx, payload.meeting_id)
