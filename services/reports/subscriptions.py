"""Scheduled funder reports: subscriptions, their periods and the task that says a period is over.

A subscription has one pending `report_mail` task per period (dedupe key: the period's first day), due the morning
after the period ends. The task's handler (workers/jobs/report_mail.py) emits `report.mail_due` and schedules the
next period; the job mails the workbook through a deliveries row keyed by subscription and period.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from uuid import UUID
from zoneinfo import ZoneInfo

from schemas.auth import Principal
from schemas.reports import Subscription, SubscriptionIn
from services import scheduling
from services.audit import queries as audit
from services.db import Connection
from services.errors import InvalidInput, NotFound
from services.reports import queries as q
from services.reports.request import funder_of, group_by

TASK = "report_mail"
ZONE = ZoneInfo("Europe/Amsterdam")
# Mailed at this local hour on the day after the period, when the last meetings of the period have been recorded.
SEND_AT = time(6, 0)
_COLUMNS = "id, funder_code, email, frequency, group_by, created_at, cancelled_at"


def period_of(frequency: str, day: date) -> tuple[date, date]:
    """The calendar month or quarter that holds `day`: (first day, last day)."""
    first_month = day.month if frequency == "month" else 3 * ((day.month - 1) // 3) + 1
    first = date(day.year, first_month, 1)
    months = 1 if frequency == "month" else 3
    year, month = divmod(first.month - 1 + months, 12)
    return first, date(first.year + year, month + 1, 1) - timedelta(days=1)


def due_at(last: date) -> datetime:
    return datetime.combine(last + timedelta(days=1), SEND_AT, tzinfo=ZONE).astimezone(UTC)


async def schedule_period(conn: Connection, subscription_id: UUID, frequency: str, day: date) -> date:
    """Schedule the mail for the period holding `day` (once: the task is unique per period). Returns its start."""
    first, last = period_of(frequency, day)
    await scheduling.schedule(
        conn, TASK, subscription_id, due_at(last),
        payload={"period_from": first.isoformat(), "period_to": last.isoformat()}, dedupe_key=first.isoformat(),
    )  # fmt: skip
    return first


async def create(conn: Connection, principal: Principal, data: SubscriptionIn) -> Subscription:
    """Subscribe an address; the first mail covers the current period. Raises Forbidden, InvalidInput."""
    funder = funder_of(principal, data.funder)
    if funder is None:
        raise InvalidInput("Noem de financier waarvoor dit rapport is", field="funder")
    if not await q.funder_exists(conn, funder):
        raise InvalidInput("Onbekende financier", field="funder")
    try:
        dims = group_by(",".join(data.group_by))
    except InvalidInput as exc:
        raise InvalidInput(exc.detail, field="group_by") from None
    row = await conn.fetchrow(
        f"""
        INSERT INTO report_subscriptions (funder_code, email, frequency, group_by, created_by)
        VALUES ($1, $2, $3, $4, $5) RETURNING {_COLUMNS}
        """,
        funder, data.email.strip().lower(), data.frequency, list(dims), principal.key_id,
    )  # fmt: skip
    if row is None:
        raise RuntimeError("insert returned nothing")
    first = await schedule_period(conn, row["id"], data.frequency, datetime.now(ZONE).date())
    await audit.record(
        conn,
        "report.subscribed",
        "report_subscription",
        str(row["id"]),
        {"funder": funder, "frequency": data.frequency},
    )
    return Subscription(**dict(row), next_period_from=first)


async def list_for(conn: Connection, principal: Principal) -> list[Subscription]:
    funder = funder_of(principal, None)
    rows = await conn.fetch(
        f"SELECT {_COLUMNS} FROM report_subscriptions WHERE ($1::text IS NULL OR funder_code = $1) "
        "AND cancelled_at IS NULL ORDER BY created_at, id",
        funder,
    )
    return [Subscription(**dict(r)) for r in rows]


async def cancel(conn: Connection, principal: Principal, subscription_id: UUID) -> Subscription:
    """Stop the mails; the pending task is cancelled. Raises NotFound (also for another funder's subscription)."""
    funder = funder_of(principal, None)
    row = await conn.fetchrow(
        f"""
        UPDATE report_subscriptions SET cancelled_at = coalesce(cancelled_at, now())
        WHERE id = $1 AND ($2::text IS NULL OR funder_code = $2) RETURNING {_COLUMNS}
        """,
        subscription_id,
        funder,
    )
    if row is None:
        raise NotFound("Dit abonnement bestaat niet")
    await scheduling.cancel(conn, TASK, subscription_id)
    await audit.record(conn, "report.unsubscribed", "report_subscription", str(subscription_id))
    return Subscription(**dict(row))


async def active(conn: Connection, subscription_id: UUID) -> Subscription | None:
    row = await conn.fetchrow(
        f"SELECT {_COLUMNS} FROM report_subscriptions WHERE id = $1 AND cancelled_at IS NULL", subscription_id
    )
    return Subscription(**dict(row)) if row is not None else None
