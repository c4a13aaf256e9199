"""Exactly-once mail: every mail has a unique key and one `deliveries` row; whoever holds its claim sends it.

    await send_once(ctx, Mail(key=..., kind=..., recipient=..., build=...))   # one mail, in an event job
    claims = await claim(conn, mails, ctx)                                   # many, e.g. in the caller's
    outcomes = await send_claimed(ctx, mails, claims, record=...)            # transaction, then send them

A job that runs twice (arq retry, re-enqueue after FLUSHALL, two workers) finds the row `sent`, or claimed by
someone else, and does nothing. A claim whose worker died is handed back through its liveness lock
(workers/recovery.py) within seconds; failing that, a claim older than the lease may be taken over.

How a send ends (workers/mailerrors.py), and what is recorded:

* 250: `sent`, as the very next statement on a connection held from before the send.
* 5xx (Permanent): `failed`, with `failure` bounced (the recipient) or rejected (the message); a mail that cannot
  be built is failed as `invalid`. Only these end a delivery before the horizon.
* 4xx (Transient): handed back, not to be tried again for a growing while (`not_before`), for up to the retry
  horizon (WorkerTuning.defer_horizon, LEERKRING_MAIL_RETRY_HORIZON, 24 h) after its first try; then `expired`.
* ServerDown (refused, dropped, timed out, 421): handed back without counting the try, and the rest of the block
  with it; the mail gate (workers/mailgate.py) holds every sender of this worker until a probe gets through.
  A single mail's job is deferred (workers/registry.py JobDeferred), spending no attempt.

Nothing is recorded while the outcome is unknown. The at-least-once window: when the server has answered 250 but
the process dies before `mark_sent` commits, the next run sends the mail again. Nothing can close that window with
a server that offers no way to ask "did you get this?"; here it is at most one mail per sender in flight at the
moment of the crash (one per job, one per lane of a batch), because a sender has one mail on the wire at a time and
marks it before the next. The send-then-mark pair is shielded, so a cancellation (shutdown, job timeout) cannot
come between them. Both copies carry the same Message-ID (derived from the key), so clients show one.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from email.message import EmailMessage
from typing import Any, Literal
from uuid import UUID

import msgspec

from services.db import Connection
from services.mail.headers import domain_of, message_id_for
from services.observe.logs import scrub
from services.observe.metrics import MAILS
from workers.context import Ctx, gate_of, mailer_of, pool_of, settings_of, tuning_of, worker_id_of
from workers.deliveries import queries
from workers.deliveries.queries import status_of
from workers.mailerrors import Permanent, ServerDown, Transient
from workers.mailgate import GateClosed
from workers.registry import JobDeferred
from workers.settings import retry_delay

__all__ = ["Claim", "Mail", "Outcome", "claim", "send_claimed", "send_once", "status_of"]

log = logging.getLogger(__name__)


class Mail(msgspec.Struct, frozen=True, kw_only=True):
    """One mail to send once ever: `key` is its identity; `build(message_id)` makes the message when it is sent."""

    key: str
    kind: str
    recipient: str
    build: Callable[[str], EmailMessage]
    meeting_id: UUID | None = None
    participant_id: UUID | None = None
    sequence: int = 0


class Claim(msgspec.Struct, frozen=True, kw_only=True):
    id: int
    mine: bool  # this sender holds it and must send it
    attempts: int
    status: str | None = None  # when not mine: sent, failed, queued (waiting out a 4xx), claimed; None: unseen
    sequence: int = 0
    failure: str | None = None
    last_error: str | None = None


Status = Literal["sent", "failed", "waiting", "busy"]


class Outcome(msgspec.Struct, frozen=True, kw_only=True):
    """How a mail's delivery stands after `send_claimed`. sent and failed are final (by this sender or another);
    waiting: not sent, to be tried again (server away, a 4xx); busy: another sender holds it."""

    status: Status
    sequence: int = 0
    attempts: int = 0
    failure: str | None = None  # bounced, rejected, invalid, expired
    error: str | None = None


def erased(recipient: str) -> bool:
    """The reserved `.invalid` domain (RFC 2606) is what an erasure leaves in place of an address."""
    return recipient.lower().rstrip(".").endswith(".invalid") or recipient.lower().endswith("@invalid")


def _message_ids(ctx: Ctx, mails: Sequence[Mail]) -> list[str]:
    domain = domain_of(settings_of(ctx).mail_from)
    return [message_id_for(m.key, domain) for m in mails]


async def claim(conn: Connection, mails: Sequence[Mail], ctx: Ctx) -> dict[str, Claim]:
    """Ensure a delivery row per mail and claim those that are free, in one statement (may run in the caller's
    transaction). Keys must be distinct."""
    if not mails:
        return {}
    lease, message_ids = tuning_of(ctx).delivery_lease, _message_ids(ctx, mails)
    if len(mails) == 1:
        row = await queries.claim_one(conn, mails[0], message_ids[0], lease, worker_id_of(ctx))
        if row is not None:
            return {mails[0].key: Claim(id=int(row["id"]), mine=True, attempts=int(row["attempts"]))}
    rows = await queries.claim(conn, mails, message_ids, lease, worker_id_of(ctx))
    return {
        r["key"]: Claim(
            id=int(r["id"]) if r["id"] is not None else 0,
            mine=bool(r["mine"]),
            attempts=int(r["attempts"]),
            status=r["status"],
            sequence=int(r["sequence"] or 0),
            failure=r["failure"],
            last_error=r["last_error"],
        )
        for r in rows
    }


def _standing(mail: Mail, found: Claim) -> Outcome:
    """The outcome of a mail whose delivery this sender does not hold."""
    if found.status in ("sent", "failed"):
        status: Status = found.status  # type: ignore[assignment]
        return Outcome(
            status=status, sequence=found.sequence, attempts=found.attempts, failure=found.failure,
            error=found.last_error,
        )  # fmt: skip
    if found.status == "queued":
        return Outcome(status="waiting", sequence=mail.sequence, attempts=found.attempts, error=found.last_error)
    return Outcome(status="busy", sequence=mail.sequence, attempts=found.attempts)


Record = Callable[[Connection, dict[str, Outcome]], Awaitable[None]]


async def send_claimed(
    ctx: Ctx, mails: Sequence[Mail], claims: dict[str, Claim], *, probe: bool = False, record: Record | None = None
) -> dict[str, Outcome]:
    """Send the mails this sender claimed, one at a time, and say how every mail stands (by key).

    `probe`: the mail gate let this sender through as its probe (MailGate.passage returned True). `record`, when
    given, runs on the same connection after the last mark, inside the shield: the caller's own bookkeeping of the
    outcomes cannot be cut off by a cancellation either. The whole block is shielded: a cancellation (shutdown, job
    timeout) lets it finish (shutdown waits for it, workers/lifecycle.py) rather than cut between a send and its
    record. Raises only what is unexpected (the claims are handed back first)."""
    if not mails:
        return {}
    task = asyncio.ensure_future(_send_claimed(ctx, mails, claims, probe, record))
    _track(ctx, task)
    return await asyncio.shield(task)


async def _send_claimed(
    ctx: Ctx, mails: Sequence[Mail], claims: dict[str, Claim], probe: bool, record: Record | None
) -> dict[str, Outcome]:
    # One connection from the first send to the last mark: no pool wait can fall between a send and its record.
    async with pool_of(ctx).acquire() as conn:
        return await _send_on(ctx, conn, mails, claims, probe, record)


async def _send_on(
    ctx: Ctx, conn: Connection, mails: Sequence[Mail], claims: dict[str, Claim], probe: bool, record: Record | None
) -> dict[str, Outcome]:
    gate, mailer, tuning = gate_of(ctx), mailer_of(ctx), tuning_of(ctx)
    outcomes = {m.key: _standing(m, claims[m.key]) for m in mails if not claims[m.key].mine}
    mine = [m for m in mails if claims[m.key].mine]
    message_ids = dict(zip((m.key for m in mine), _message_ids(ctx, mine), strict=True))
    try:
        for n, mail in enumerate(mine):
            found = claims[mail.key]
            if gate.down and not probe:
                # Another sender found the server away: hand the rest back untried.
                await _hand_back(conn, mine[n:], claims, outcomes, "mailserver onbereikbaar")
                break
            if erased(mail.recipient):
                # An erased person's stand-in address (services/me): whatever job still found them sends nothing.
                await queries.mark_failed(conn, found.id, "erased", "Niet verstuurd: de deelnemer is gewist")
                outcomes[mail.key] = Outcome(status="failed", attempts=found.attempts, failure="erased")
                continue
            try:
                message = mail.build(message_ids[mail.key])
            except ValueError as exc:  # an address or header the mail cannot carry: trying again cannot help
                error = f"niet te versturen: {exc}"
                await queries.mark_failed(conn, found.id, "invalid", error)
                MAILS.labels("invalid").inc()
                # The kind, not the key: a key holds the recipient's address (so may the error: scrubbed).
                log.warning("delivery %s (%s) cannot be built: %s", found.id, mail.kind, scrub(str(exc)))
                outcomes[mail.key] = Outcome(status="failed", attempts=found.attempts, failure="invalid",
                                             error=error)  # fmt: skip
                continue
            try:
                await mailer.send(message)
            except ServerDown as exc:
                gate.failed(probe=probe)
                probe = False
                MAILS.labels("server_down").inc(len(mine) - n)
                await _hand_back(conn, mine[n:], claims, outcomes, f"mailserver onbereikbaar: {exc}")
                break
            except Transient as exc:  # a 4xx for this recipient: later, without holding up the rest
                gate.answered()
                after = retry_delay(found.attempts, tuning.mail_retry_base, tuning.mail_retry_cap)
                status = await queries.release(conn, [found.id], str(exc), after=after, horizon=tuning.defer_horizon)
                expired = status.get(found.id) == "failed"
                MAILS.labels("expired" if expired else "deferred").inc()
                outcomes[mail.key] = Outcome(
                    status="failed" if expired else "waiting", sequence=mail.sequence, attempts=found.attempts,
                    failure="expired" if expired else None, error=str(exc),
                )  # fmt: skip
            except Permanent as exc:
                gate.answered()
                await queries.mark_failed(conn, found.id, exc.failure, str(exc))
                MAILS.labels(exc.failure).inc()
                log.warning("delivery %s (%s) failed for good: %s", found.id, mail.kind, scrub(str(exc)))
                outcomes[mail.key] = Outcome(status="failed", attempts=found.attempts, failure=exc.failure,
                                             error=str(exc))  # fmt: skip
            except BaseException as exc:
                # Unexpected: hand this one and the rest back (the try is not counted) and let the job fail.
                await _hand_back(conn, mine[n:], claims, outcomes, f"{type(exc).__name__}: {exc}")
                raise
            else:
                await queries.mark_sent(conn, found.id)
                MAILS.labels("sent").inc()
                gate.answered()
                outcomes[mail.key] = Outcome(status="sent", sequence=mail.sequence, attempts=found.attempts)
            probe = False
        if record is not None:
            await record(conn, outcomes)
    finally:
        if probe:
            gate.abandoned()  # no send reached the server, so this was no probe
    return outcomes


async def _hand_back(
    conn: Connection, rest: Sequence[Mail], claims: dict[str, Claim], outcomes: dict[str, Outcome], error: str
) -> None:
    await queries.release(conn, [claims[m.key].id for m in rest], error, unspent=True)
    for m in rest:
        outcomes[m.key] = Outcome(status="waiting", sequence=m.sequence, attempts=claims[m.key].attempts - 1,
                                  error=error)  # fmt: skip


async def send_once(ctx: Ctx, mail: Mail) -> bool:
    """Send this mail once ever (by its key); True when this call sent it, False when it was sent, failed for good
    or is held by another sender.

    Waits for the mail gate a little while (a tenth of `mail_wait`) before it claims anything. Raises JobDeferred
    while the mail cannot go yet (the server is away, or answered 4xx): the job runs again later without spending
    an attempt, until the retry horizon."""
    gate, tuning = gate_of(ctx), tuning_of(ctx)
    try:
        probe = await gate.passage(tuning.mail_wait / 10)
    except GateClosed as exc:
        raise JobDeferred(str(exc), delay=exc.retry_in) from exc
    # Claim, send and mark on one connection (one pool round, one session reset), the whole step shielded.
    task = asyncio.ensure_future(_claim_and_send(ctx, mail, probe))
    _track(ctx, task)
    outcome, mine = await asyncio.shield(task)
    if outcome.status == "waiting":
        if gate.down:
            raise JobDeferred(
                f"mailserver onbereikbaar: {outcome.error}", delay=max(gate.delay, tuning.mail_gate_first)
            )
        delay = retry_delay(max(outcome.attempts, 1), tuning.mail_retry_base, tuning.mail_retry_cap)
        raise JobDeferred(f"ontvanger tijdelijk geweigerd: {outcome.error}", delay=delay)
    return outcome.status == "sent" and mine


async def _claim_and_send(ctx: Ctx, mail: Mail, probe: bool) -> tuple[Outcome, bool]:
    sending = False  # from here on _send_on settles the probe
    try:
        async with pool_of(ctx).acquire() as conn:
            claims = await claim(conn, [mail], ctx)
            sending = True
            outcomes = await _send_on(ctx, conn, [mail], claims, probe, None)
    except BaseException:
        if probe and not sending:
            gate_of(ctx).abandoned()
        raise
    return outcomes[mail.key], claims[mail.key].mine


def _track(ctx: Ctx, task: asyncio.Future[Any]) -> None:
    """Shutdown waits for these (workers/lifecycle.py), so a shielded send is not cut off by loop close."""
    # When the job was cancelled nobody awaits the result any more; fetch it so errors are logged, not lost.
    task.add_done_callback(_log_orphan_failure)
    inflight: set[asyncio.Future[Any]] | None = ctx.get("inflight")
    if inflight is not None:
        inflight.add(task)
        task.add_done_callback(inflight.discard)


def _log_orphan_failure(task: asyncio.Future[Any]) -> None:
    if not task.cancelled() and task.exception() is not None:
        log.info("delivery step ended with %r", task.exception())
