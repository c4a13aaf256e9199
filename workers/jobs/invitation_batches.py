"""Running one invitation batch: resolve its audience and send one mail per invitee, once.

`process_batch` runs a resolver and LANES senders side by side: the resolver inserts invitees a chunk per short
transaction (services/invitations/fanout.py), and each sender claims a block of queued rows with SKIP LOCKED and
sends it through the deliveries ledger (invitation_delivery.py): one claimed `deliveries` row per mail is what
makes every mail go out exactly once, also when several jobs work on the same batch or a job runs again after a
crash. Sending starts with the first chunk, so a 50,000-invitee batch never waits for its whole audience, never
holds a transaction longer than one chunk, and yields to the event loop on every database and SMTP round trip.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from datetime import UTC, datetime
from email.message import EmailMessage
from uuid import UUID

from services.invitations import fanout, links, sending
from services.invitations.changes import ChangeLine, previous, summarise
from services.invitations.compose import Composed, Links, Recipient, compose
from services.invitations.meeting import MailMeeting, load
from services.invitations.messages import Kind, Locale, pick_locale
from services.invitations.mime import invitation_message
from services.settings import Settings
from workers.context import Ctx, pool_of, settings_of, tuning_of, worker_id_of
from workers.jobs.invitation_delivery import Item, State, deliver_block
from workers.mailer import build_message

log = logging.getLogger(__name__)

# Senders per batch job. Each waits on four SMTP and one PostgreSQL round trip per mail, so it takes a dozen or so
# to keep a server busy; the mailer's pool (16 connections at the default tuning) caps them anyway.
LANES = 16
BLOCK = 50  # rows a sender claims at a time: a block costs a few statements, a mail one; lanes stay balanced
IDLE = 0.05  # seconds a sender waits for the resolver (or another worker's claims) before looking again
MAX_IDLE = 1.0
MAX_TRANSIENT = 3  # consecutive SMTP failures before the job gives up this attempt (the ledger retries it)
KINDS: dict[str, Kind] = {"invitation": "invitation", "update": "update", "cancellation": "cancellation"}


def delivery_key(batch: fanout.BatchWork, email: str, sequence: int) -> str:
    """One invitation per batch row; one update or cancellation per person and meeting version, whichever batch."""
    if batch.kind == "invitation":
        return f"invitation:{batch.id}:{email}"
    return f"{batch.kind}:{batch.meeting_id}:{email}:{sequence}"


def sendable(batch: fanout.BatchWork, meeting: MailMeeting | None) -> bool:
    """Invitations and updates only for a published meeting still ahead; cancellations for a cancelled one."""
    if meeting is None:
        return False
    if batch.kind == "cancellation":
        return meeting.status == "cancelled"
    return meeting.status == "published" and meeting.starts_at > datetime.now(UTC)


def signed_links(settings: Settings, meeting: MailMeeting, email: str, locale: Locale) -> Links:
    def make(purpose: links.Purpose) -> str:
        token = links.make(settings.secret_key, purpose, meeting.id, email, locale=locale, until=meeting.starts_at)
        return links.url(settings.base_url, token, purpose)

    return Links(register=make("register"), decline=make("decline"))


def build_mail(settings: Settings, composed: Composed, to: Recipient, message_id: str) -> EmailMessage:
    """The MIME message: pre-encoded (services/invitations/mime.py, the fan-out's hot path) for plain ASCII
    addresses, the mailer's general builder for the rest (SMTPUTF8 addresses)."""
    try:
        return invitation_message(
            sender=settings.mail_from, to_name=to.name, to_email=to.email, composed=composed, message_id=message_id
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
    )


class _Block:
    """What every row of one claimed block shares: the meeting as it is now, who is registered, the summary."""

    def __init__(self, batch: fanout.BatchWork, meeting: MailMeeting, registered: set[str]) -> None:
        self.batch = batch
        self.meeting = meeting
        self.registered = registered
        self._summaries: dict[Locale, list[ChangeLine]] = {}

    def changes(self, locale: Locale) -> list[ChangeLine]:
        if self.batch.kind != "update" or not self.batch.changes:
            return []
        if locale not in self._summaries:
            now = self.meeting.placement
            self._summaries[locale] = summarise(previous(now, self.batch.changes), now, locale)
        return self._summaries[locale]


def _item(ctx: Ctx, block: _Block, row: sending.Claimed) -> Item:
    """What the delivery of one row needs, with the (lazy) builder of its message."""
    settings, meeting, batch = settings_of(ctx), block.meeting, block.batch
    locale = pick_locale(row.locale)
    recipient = Recipient(email=row.email, name=row.name, locale=locale)

    def build(message_id: str) -> EmailMessage:
        composed = compose(
            KINDS[batch.kind],
            meeting.calendar,
            recipient,
            links=Links() if batch.kind == "cancellation" else signed_links(settings, meeting, row.email, locale),
            now=datetime.now(UTC),
            changes=block.changes(locale),
            note=batch.note,
            reason=batch.reason,
            registered=row.email in block.registered,
            rsvp=bool(settings.reply_address),
        )
        return build_mail(settings, composed, recipient, message_id)

    return Item(
        key=delivery_key(batch, row.email, meeting.sequence),
        kind=batch.kind,
        recipient=row.email,
        meeting_id=meeting.id,
        participant_id=row.participant_id,
        sequence=meeting.sequence,
        build=build,
    )


def _outcome(row: sending.Claimed, state: State) -> sending.Outcome:
    if state.status == "sent":
        return sending.Outcome(id=row.id, status="sent", sequence=state.sequence)
    error = state.last_error or "geweigerd"
    # The mailer words a 5xx refusal of the recipient as "ontvanger geweigerd": that is a bounce.
    return sending.Outcome(id=row.id, status="bounced" if "ontvanger" in error else "failed", error=error)


async def _claim(ctx: Ctx, batch_id: UUID) -> tuple[list[sending.Claimed], _Block | None]:
    """A block of rows to send and what they share; (rows=[], None) when the batch cannot be sent (any more)."""
    settings = settings_of(ctx)
    async with pool_of(ctx).acquire() as conn:
        batch = await fanout.load_batch(conn, batch_id)
        if batch is None:
            return [], None
        meeting = await load(conn, batch.meeting_id, settings)
        if meeting is None or not sendable(batch, meeting):
            if batch.kind != "cancellation":
                await sending.abandon_requests(conn, batch.meeting_id)
            return [], None
        rows = await sending.claim_block(
            conn, batch_id, size=BLOCK, lease_seconds=tuning_of(ctx).delivery_lease, worker_id=worker_id_of(ctx)
        )
        registered = await sending.registered(conn, meeting.id, [r.email for r in rows]) if rows else set()
    return rows, _Block(batch, meeting, registered)


async def _send_block(ctx: Ctx, block: _Block, rows: list[sending.Claimed], failures: int) -> int:
    """Send a claimed block and record how each row ended; returns the count of consecutive SMTP failures.

    Raises TransientMailError after MAX_TRANSIENT failing blocks in a row (the ledger retries the job later).
    """
    items = [_item(ctx, block, row) for row in rows]
    try:
        delivered = await deliver_block(ctx, items)
    except asyncio.CancelledError:
        # The block goes on in the background (shielded); let the next run take these rows over at once.
        with contextlib.suppress(Exception):
            async with pool_of(ctx).acquire() as conn:
                await sending.unclaim(conn, [r.id for r in rows])
        raise
    outcomes = [
        _outcome(r, delivered.states[i.key]) for r, i in zip(rows, items, strict=True) if i.key in delivered.states
    ]
    async with pool_of(ctx).acquire() as conn:
        await sending.record(conn, outcomes)
        if delivered.error is not None:
            for row, item in zip(rows, items, strict=True):
                if item.key not in delivered.states:
                    await sending.release(conn, row, str(delivered.error))
    # Rows whose delivery another sender holds keep this claim until they are recorded or the lease lapses.
    if delivered.error is None:
        return 0
    failures += 1
    if failures >= MAX_TRANSIENT:
        raise delivered.error
    await asyncio.sleep(0.5 * 2**failures)
    return failures


async def _lane(ctx: Ctx, batch_id: UUID, resolved: asyncio.Event) -> None:
    failures, idle = 0, IDLE
    while True:
        rows, block = await _claim(ctx, batch_id)
        if rows and block is not None:
            failures, idle = await _send_block(ctx, block, rows, failures), IDLE
            continue
        if resolved.is_set():
            async with pool_of(ctx).acquire() as conn:
                if block is None:
                    # Not sendable: the resolver has stopped, so this last sweep catches every row it inserted.
                    await _claim(ctx, batch_id)
                    await sending.finish_if_done(conn, batch_id)
                    return
                if await sending.finish_if_done(conn, batch_id):
                    return
        # Waiting for the resolver's next chunk, or for rows another sender holds to be finished; an idle lane
        # backs off so that sixteen of them do not poll PostgreSQL a hundred times a second.
        await asyncio.sleep(idle)
        idle = min(idle * 2, MAX_IDLE)


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
                step = await fanout.resolve_step(conn, batch)
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
            if await sending.requests_in_flight(conn, meeting_id, tuning_of(ctx).delivery_lease) == 0:
                return
        await asyncio.sleep(IDLE)
    log.warning("meeting %s: invitations still in flight after %.0fs; cancelling anyway", meeting_id, limit)


async def process_batch(ctx: Ctx, batch_id: UUID, *, lanes: int | None = None) -> None:
    """Resolve and send a whole batch; safe to run again, and alongside another run of the same batch.

    Raises TransientMailError when the SMTP server keeps failing (rows stay queued for the retry).
    """
    # A lane holds a pooled connection while it sends a block; leave half the pool to everything else.
    lanes = lanes or max(1, min(LANES, tuning_of(ctx).pool_max // 2))
    resolved = asyncio.Event()
    async with asyncio.TaskGroup() as group:
        group.create_task(_resolve(ctx, batch_id, resolved))
        for _ in range(lanes):
            group.create_task(_lane(ctx, batch_id, resolved))
