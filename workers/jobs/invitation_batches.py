"""Running one invitation batch: resolve its audience and send one mail per invitee, once.

`process_batch` runs a resolver and the lanes (workers/deliveries/lanes.py) side by side: the resolver inserts
invitees a chunk per short transaction (services/invitations/fanout.py); each lane takes a block of queued rows and,
in the same short transaction, claims the deliveries rows behind their mails (workers/deliveries): that one claim per
mail is what makes every mail go out exactly once, also when several jobs work on the same batch or a job runs again
after a crash. Then it sends the block through the deliveries API and records the rows' outcomes. Sending starts
with the first chunk, so a 50,000-invitee batch never waits for its whole audience, never holds a transaction longer
than one chunk or one claim, and yields to the event loop on every database and SMTP round trip.

When the mail server is away, the lanes wait at the worker's mail gate (workers/mailgate.py) and the batch's
progress says "wacht op mailserver"; nothing is marked failed and no attempt is spent. A lane that has waited
`mail_wait` seconds defers the job (JobDeferred: it runs again shortly, without spending an attempt) until the
retry horizon. Only a 5xx ends a row early (bounced or failed).
"""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime
from email.message import EmailMessage
from uuid import UUID

import msgspec

from services.db import Connection
from services.invitations import fanout, links, sending, unsubscribe
from services.invitations import queries as invitation_queries
from services.invitations.changes import ChangeLine, previous, summarise
from services.invitations.compose import Composed, Links, Recipient, compose
from services.invitations.meeting import MailMeeting, load
from services.invitations.messages import Kind, Locale, pick_locale
from services.invitations.mime import invitation_message
from services.mail.message import build_message
from services.participants import links as personal
from services.reminders.links import cant_come_url
from services.settings import Settings
from workers import deliveries
from workers.context import Ctx, gate_of, pool_of, settings_of, tuning_of
from workers.deliveries import queries as delivery_queries
from workers.deliveries.lanes import BLOCK, IDLE, LaneWork, Taken, defer_for_retry, run_lanes

log = logging.getLogger(__name__)

# Updates and cancellations go to people who hold the meeting in their calendar, mostly registered participants: their
# mail carries their own manage and feed links, as every mail about their place does (workers/jobs/participant_mail).
PERSONAL_KINDS = frozenset({"update", "cancellation"})
KINDS: dict[str, Kind] = {"invitation": "invitation", "update": "update", "cancellation": "cancellation"}


def key_parts(batch: fanout.BatchWork, sequence: int) -> tuple[str, str]:
    """A row's delivery key is prefix + email + suffix: one invitation per batch row; one update or cancellation per
    person and meeting version, whichever batch (services/invitations/sending.py finds deliveries by it)."""
    if batch.kind == "invitation":
        return f"invitation:{batch.id}:", ""
    return f"{batch.kind}:{batch.meeting_id}:", f":{sequence}"


def delivery_key(batch: fanout.BatchWork, email: str, sequence: int) -> str:
    prefix, suffix = key_parts(batch, sequence)
    return prefix + email + suffix


def sendable(batch: fanout.BatchWork, meeting: MailMeeting | None) -> bool:
    """Invitations only for a published meeting still ahead; updates until it has ended (a room changed while people
    are on their way is worth a mail most of all); cancellations for a cancelled one."""
    if meeting is None:
        return False
    if batch.kind == "cancellation":
        return meeting.status == "cancelled"
    last = meeting.starts_at if batch.kind == "invitation" else meeting.ends_at
    return meeting.status == "published" and last > datetime.now(UTC)


def signed_links(settings: Settings, invitation_id: int) -> Links:
    """Register and decline links that name the invitation row only: nothing personal in a URL."""

    def make(purpose: links.Purpose) -> str:
        return links.url(settings.base_url, links.make(settings.secret_key, purpose, invitation_id), purpose)

    return Links(register=make("register"), decline=make("decline"))


def build_mail(
    settings: Settings, composed: Composed, to: Recipient, message_id: str, *, list_unsubscribe: str | None = None
) -> EmailMessage:
    """The MIME message: pre-encoded (services/invitations/mime.py, the fan-out's hot path) for plain ASCII
    addresses, the mailer's general builder for the rest (SMTPUTF8 addresses). `list_unsubscribe`: the one-click
    link of a mass mail (RFC 8058)."""
    try:
        return invitation_message(
            sender=settings.mail_from,
            to_name=to.name,
            to_email=to.email,
            composed=composed,
            message_id=message_id,
            list_unsubscribe=list_unsubscribe,
        )
    except ValueError:
        pass
    return build_message(
        sender=settings.mail_from,
        to=(to.name, to.email),
        subject=composed.subject,
        text=composed.text,
        html=composed.html,
        calendar=composed.ics,
        calendar_method=composed.method,
        message_id=message_id,
        list_unsubscribe=list_unsubscribe,
    )


class _Block:
    """What every row of one claimed block shares: the meeting as it is now, who is registered, the summary."""

    def __init__(
        self, batch: fanout.BatchWork, meeting: MailMeeting, registered: dict[str, invitation_queries.Place]
    ) -> None:
        self.batch = batch
        self.meeting = meeting
        self.registered = registered
        self.key_prefix, self.key_suffix = key_parts(batch, meeting.sequence)
        # A participant's own links (manage page, calendar feed) by address, for the mails this sender claimed.
        self.personal: dict[str, Links] = {}
        self._summaries: dict[Locale, list[ChangeLine]] = {}

    def changes(self, locale: Locale) -> list[ChangeLine]:
        if self.batch.kind != "update" or not self.batch.changes:
            return []
        if locale not in self._summaries:
            now = self.meeting.placement
            self._summaries[locale] = summarise(previous(now, self.batch.changes), now, locale)
        return self._summaries[locale]


def _mail(ctx: Ctx, block: _Block, row: sending.Claimed) -> deliveries.Mail:
    """What the delivery of one row needs, with the (lazy) builder of its message."""
    settings, meeting, batch = settings_of(ctx), block.meeting, block.batch
    locale = pick_locale(row.locale)
    recipient = Recipient(email=row.email, name=row.name, locale=locale)

    def build(message_id: str) -> EmailMessage:
        mine = block.personal.get(row.email, Links())
        place = block.registered.get(row.email)
        if batch.kind != "cancellation" and place is not None:
            # A registered person's way out names their registration, as their confirmation's does: the "ik kan
            # niet" page, not the invitation's decline (which they may never have had).
            cancel = cant_come_url(settings.base_url, settings.secret_key, place.registration_id)
            mine = msgspec.structs.replace(mine, register=None, decline=cancel)
        elif batch.kind != "cancellation":
            answer = signed_links(settings, row.id)
            mine = msgspec.structs.replace(mine, register=answer.register, decline=answer.decline)
        composed = compose(
            KINDS[batch.kind],
            meeting.calendar,
            recipient,
            links=mine,
            now=datetime.now(UTC),
            changes=block.changes(locale),
            note=batch.note,
            reason=batch.reason,
            registered=place is not None,
            seated=place is not None and place.status == "confirmed",
            rsvp=bool(settings.reply_address),
        )
        # Only an organiser's invitations are mass mail; updates and cancellations concern a meeting one holds.
        # RFC 8058 wants https: a development server on http:// sends its invitations without the header.
        leave = None
        if batch.kind == "invitation" and settings.base_url.startswith("https://"):
            leave = unsubscribe.url(settings.base_url, settings.secret_key, row.id, row.email, row.participant_id)
        return build_mail(settings, composed, recipient, message_id, list_unsubscribe=leave)

    return deliveries.Mail(
        key=block.key_prefix + row.email + block.key_suffix,
        kind=batch.kind,
        recipient=row.email,
        meeting_id=meeting.id,
        participant_id=row.participant_id,
        sequence=meeting.sequence,
        build=build,
    )


def _outcome(row: sending.Claimed, outcome: deliveries.Outcome) -> sending.Outcome | None:
    """The row's final status, or None while its mail is still to be sent (or another sender holds it)."""
    if outcome.status == "sent":
        return sending.Outcome(id=row.id, status="sent", sequence=outcome.sequence, attempts=outcome.attempts)
    if outcome.status == "failed":
        status = "bounced" if outcome.failure == "bounced" else "failed"
        return sending.Outcome(id=row.id, status=status, attempts=outcome.attempts, error=outcome.error or "geweigerd")
    return None


async def _personal_links(
    conn: Connection,
    settings: Settings,
    block: _Block,
    rows: list[sending.Claimed],
    mails: list[deliveries.Mail],
    claims: dict[str, deliveries.Claim],
) -> None:
    """The manage and feed links of the participants among the claimed mails, recorded in one statement."""
    wanted = {
        mail.key: (row.email, personal.MailFor(participant_id=row.participant_id, mail_key=mail.key,
                                               feed_generation=row.feed_generation))
        for row, mail in zip(rows, mails, strict=True)
        if claims[mail.key].mine and row.participant_id is not None and row.feed_generation is not None
    }  # fmt: skip
    if not wanted:
        return
    found = await personal.for_mails(conn, settings, [w for _, w in wanted.values()])
    for key, (email, _) in wanted.items():
        links_ = found[key]
        block.personal[email] = Links(manage=links_.manage, feed=links_.feed, feed_webcal=links_.feed_webcal)


class _Taken(Taken, kw_only=True):
    """A block of rows a lane took, with what they share (the key prefix and suffix among it); block None: the batch
    cannot be sent (any more)."""

    block: _Block | None = None


class _Batch(LaneWork[_Taken]):
    """The queued rows of one batch, and whether the batch is marked as waiting for the mail server."""

    def __init__(self, batch_id: UUID, resolved: asyncio.Event) -> None:
        self.batch_id = batch_id
        self.resolved = resolved
        # Unknown at the start: an earlier, deferred run may have left the batch marked as waiting.
        self.waiting: bool | None = None

    async def look(self, ctx: Ctx) -> None:
        """Mark or unmark the batch as waiting when the gate changed since this job last looked."""
        down = gate_of(ctx).down
        if down != self.waiting:
            self.waiting = down
            async with pool_of(ctx).acquire() as conn:
                await sending.set_waiting(conn, self.batch_id, down)

    async def take(self, ctx: Ctx) -> _Taken:
        """Lock a block of rows nobody is sending and claim their deliveries, in one short transaction."""
        settings, tuning = settings_of(ctx), tuning_of(ctx)
        async with pool_of(ctx).acquire() as conn, conn.transaction():
            batch = await fanout.load_batch(conn, self.batch_id)
            if batch is None:
                return _Taken(mails=[], claims={}, sendable=False)
            meeting = await load(conn, batch.meeting_id, settings)
            if meeting is None or not sendable(batch, meeting):
                if batch.kind != "cancellation":
                    await sending.abandon_requests(conn, batch.meeting_id)
                return _Taken(mails=[], claims={}, sendable=False)
            prefix, suffix = key_parts(batch, meeting.sequence)
            rows = await sending.lock_block(
                conn, self.batch_id, size=BLOCK, key_prefix=prefix, key_suffix=suffix,
                lease_seconds=tuning.delivery_lease,
            )  # fmt: skip
            emails = [r.email for r in rows]
            registered = await invitation_queries.places(conn, meeting.id, emails) if rows else {}
            block = _Block(batch, meeting, registered)
            mails = [_mail(ctx, block, row) for row in rows]
            claims = await deliveries.claim(conn, mails, ctx)
            if batch.kind in PERSONAL_KINDS:
                await _personal_links(conn, settings, block, rows, mails, claims)
        by_key = {m.key: r for m, r in zip(mails, rows, strict=True)}

        async def record(conn: Connection, outcomes: dict[str, deliveries.Outcome]) -> None:
            final = [o for key, outcome in outcomes.items() if (o := _outcome(by_key[key], outcome)) is not None]
            await sending.record(conn, final)

        return _Taken(mails=mails, claims=claims, record=record, block=block)

    async def settle(self, ctx: Ctx, last: _Taken) -> bool:
        if not self.resolved.is_set():
            return False  # the resolver's next chunk is on its way
        if not last.sendable:
            # Not sendable: the resolver has stopped, so this last take catches every row it inserted.
            await self.take(ctx)
            async with pool_of(ctx).acquire() as conn:
                await sending.finish_if_done(conn, self.batch_id)
            return True
        async with pool_of(ctx).acquire() as conn:
            block = last.block
            if block is not None:
                await sending.record_decided(conn, self.batch_id, key_prefix=block.key_prefix,
                                             key_suffix=block.key_suffix)  # fmt: skip
            if await sending.finish_if_done(conn, self.batch_id):
                return True
            wait = None if block is None else await sending.next_retry(
                conn, self.batch_id, key_prefix=block.key_prefix, key_suffix=block.key_suffix
            )  # fmt: skip
        defer_for_retry(wait)
        return False


async def _resolve(ctx: Ctx, batch_id: UUID, resolved: asyncio.Event) -> None:
    pool, settings = pool_of(ctx), settings_of(ctx)
    try:
        async with pool.acquire() as conn:
            batch = await fanout.load_batch(conn, batch_id)
            if batch is not None and batch.kind == "cancellation" and batch.resolve_phase != "done":
                await _wait_for_requests_in_flight(ctx, batch.meeting_id)
        while True:
            async with pool.acquire() as conn, conn.transaction():
                batch = await fanout.load_batch(conn, batch_id, lock=True)
                if batch is None:
                    return
                if not sendable(batch, await load(conn, batch.meeting_id, settings)):
                    await fanout.stop_resolving(conn, batch)
                    return
                step = await fanout.resolve_step(conn, batch, secret=settings.secret_key)
            if step.done:
                return
    finally:
        resolved.set()


async def _wait_for_requests_in_flight(ctx: Ctx, meeting_id: UUID, limit: float = 30.0) -> None:
    """A cancellation goes to whoever holds a REQUEST; invitations still being sent must land in that set first."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + limit
    while loop.time() < deadline:
        async with pool_of(ctx).acquire() as conn:
            held = await delivery_queries.claimed_for_meeting(
                conn, meeting_id, fanout.REQUEST_KINDS, tuning_of(ctx).delivery_lease
            )
            if held == 0:
                return
        await asyncio.sleep(IDLE)
    log.warning("meeting %s: invitations still in flight after %.0fs; cancelling anyway", meeting_id, limit)


async def process_batch(ctx: Ctx, batch_id: UUID, *, lanes: int | None = None) -> None:
    """Resolve and send a whole batch; safe to run again, and alongside another run of the same batch.

    Raises JobDeferred while the mail server stays away (or the rows left wait out a 4xx): rows stay queued.
    """
    resolved = asyncio.Event()
    await run_lanes(ctx, _Batch(batch_id, resolved), lanes=lanes, beside=[_resolve(ctx, batch_id, resolved)])
