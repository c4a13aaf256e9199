"""evaluation.requested -> evaluation_mail: the personal link to the anonymous form, once per round.

Kept for events already in the outbox when the sweep (services/evaluations/mailing.py) stopped emitting one event
per request: it now marks the rows and emits evaluation.mailing_due, sent in lanes by workers/jobs/
evaluation_mailing.py under the same delivery key (evaluation:{request}:{round}), so nothing goes out twice across
the change. The job re-reads the ledger when it runs: someone who answered meanwhile gets no nudge, a closed form no
mail.
"""

from __future__ import annotations

from datetime import UTC, datetime
from email.message import EmailMessage
from typing import Any

from schemas.events import EvaluationRequested
from services.dates import moment
from services.evaluations import links
from services.invitations.compose import Action, compose_notice
from services.invitations.meeting import load
from services.invitations.messages import NoticeKind, Strings
from services.participants import links as personal
from workers.context import load_event, pool_of, settings_of
from workers.deliveries import Mail, send_once
from workers.jobs.participant_mail import _notice_message, _person, _personal
from workers.registry import job


@job()
async def evaluation_mail(ctx: dict[str, Any], outbox_id: int) -> None:
    payload = (await load_event(ctx, outbox_id)).payload
    if not isinstance(payload, EvaluationRequested):
        return
    settings = settings_of(ctx)
    key = f"evaluation:{payload.request_id}:{payload.round}"
    async with pool_of(ctx).acquire() as conn:
        row = await conn.fetchrow(
            "SELECT r.participant_id, r.answered, e.closes_at FROM evaluation_requests r "
            "JOIN evaluations e ON e.meeting_id = r.meeting_id WHERE r.id = $1",
            payload.request_id,
        )
        if row is None or row["answered"] or row["closes_at"] <= datetime.now(UTC):
            return
        person = await _person(conn, row["participant_id"])
        meeting = await load(conn, payload.meeting_id, settings)
        if person is None or meeting is None:
            return
        mine = await personal.for_mail(conn, settings, person.id, key)
    to = person.recipient()
    t = Strings(to.locale)
    kind: NoticeKind = "evaluation" if payload.round == 0 else "evaluation_nudge"
    notice = compose_notice(
        kind,
        to,
        meeting=meeting.calendar,
        links=_personal(mine),
        actions=[
            Action(
                label=t.button_evaluation,
                url=links.form_url(settings.base_url, settings.secret_key, payload.request_id),
            )
        ],
        facts={"deadline": moment(row["closes_at"], meeting.calendar.timezone, to.locale)},
    )

    def build(message_id: str) -> EmailMessage:
        return _notice_message(settings, notice, to, message_id)

    await send_once(
        ctx,
        Mail(key=key, kind=kind, recipient=person.email, build=build, meeting_id=meeting.id, participant_id=person.id),
    )
