"""Scheduled funder reports, mailed as an XLSX attachment exactly once per subscription and period:

    task report_mail (services/reports/subscriptions.py)  -> emits report.mail_due, schedules the next period
    report.mail_due                                        -> report_mail: the workbook, through send_once

The task is unique per (subscription, period) and the mail's delivery key is too, so a task that runs twice, an
event delivered twice or a job retried after a crash still sends one mail.
"""

from __future__ import annotations

import logging
from datetime import UTC, date, datetime, timedelta
from email.message import EmailMessage

import msgspec

from schemas.events import ReportMailDue
from services import scheduling
from services.dates import month
from services.db import Connection
from services.mail.message import build_message
from services.outbox import emit
from services.reports import formats
from services.reports.request import FORMATS, ReportRequest
from services.reports.service import Protection, attendance_report
from services.reports.subscriptions import TASK, active, schedule_period
from workers.context import load_event, pool_of, settings_of
from workers.deliveries import Mail, send_once
from workers.registry import job

log = logging.getLogger(__name__)


@scheduling.handler(TASK)
async def report_period_over(conn: Connection, task: scheduling.ScheduledTask) -> datetime | None:
    """The period is over: ask for the mail and schedule the next period (both once, in this transaction)."""
    subscription = await active(conn, task.aggregate_id)
    if subscription is None:
        return None  # cancelled meanwhile
    period_to = date.fromisoformat(str(task.payload["period_to"]))
    await emit(
        conn,
        task.aggregate_id,
        ReportMailDue(
            subscription_id=task.aggregate_id,
            period_from=str(task.payload["period_from"]),
            period_to=period_to.isoformat(),
        ),
    )
    await schedule_period(conn, task.aggregate_id, subscription.frequency, period_to + timedelta(days=1))
    return None


def title(first: date, last: date) -> str:
    if first.month == last.month:
        return month(first.year, first.month)
    return f"{first.year} K{(first.month - 1) // 3 + 1}"


@job()
async def report_mail(ctx: dict[str, object], outbox_id: int) -> None:
    event = await load_event(ctx, outbox_id)
    payload = event.payload
    if not isinstance(payload, ReportMailDue):
        return
    settings = settings_of(ctx)
    first, last = date.fromisoformat(payload.period_from), date.fromisoformat(payload.period_to)
    async with pool_of(ctx).acquire() as conn:
        subscription = await active(conn, payload.subscription_id)
        if subscription is None:
            return
        request = ReportRequest(
            funder=subscription.funder_code, first=first, last=last, group_by=tuple(subscription.group_by),
            today_division=False, format="xlsx",
        )  # fmt: skip
        protection = Protection(
            k=settings.report_min_cell, noise=settings.report_noise, secret=settings.secret_key.encode()
        )
        report = await attendance_report(conn, request, protection, now=datetime.now(UTC))
    workbook = formats.to_xlsx(report)
    name = title(first, last)
    filename = f"leerkring-aanwezigheid-{first.isoformat()}-{last.isoformat()}.xlsx"

    def build(message_id: str) -> EmailMessage:
        message = build_message(
            sender=settings.mail_from,
            to=subscription.email,
            subject=f"Leerkring-rapport aanwezigheid en bereik, {name}",
            text=(
                f"Beste lezer,\n\nIn de bijlage staat het rapport over aanwezigheid en bereik van de bijeenkomsten "
                f"die {subscription.funder_code} financiert, over {name} ({first:%d-%m-%Y} tot en met "
                f"{last:%d-%m-%Y}).\nHet tabblad Toelichting legt de cijfers en de afscherming uit.\n\n"
                "Je ontvangt dit bericht omdat dit adres op dit rapport is geabonneerd.\n\nLeerkring\n"
            ),
            message_id=message_id,
        )
        maintype, _, subtype = FORMATS["xlsx"].partition("/")
        message.add_attachment(workbook, maintype=maintype, subtype=subtype, filename=filename)
        return message

    mail = Mail(
        key=f"report:{subscription.id}:{first.isoformat()}", kind="report", recipient=subscription.email, build=build
    )
    sent = await send_once(ctx, mail)
    if sent:
        log.info("report mailed: %s", msgspec.json.encode({"subscription": str(subscription.id), "period": name}))
