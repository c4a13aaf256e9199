"""Which jobs run for which event type.

To add work for an event: write `@job() async def my_job(ctx, outbox_id)` in a module under
workers/jobs/ and add its name to the event type's tuple below. The worker refuses to start when a
route names a job that is not registered, so a typo fails at once, not silently.

Every event also goes to the jobs in EVERY_EVENT (webhook fan-out), so editing a tuple here can
never cut webhooks off.

A promise needs a consumer: every event type in schemas/events.py EVENT_TYPES has a routed job here or
is listed in WEBHOOK_ONLY with the reason nothing in Leerkring acts on it. The worker refuses to start
otherwise (workers/runner.py: check_routes), so a new event type cannot be emitted into the void.

Ordering: jobs for one event run concurrently, and jobs for different events run concurrently.
A job that must see an aggregate's events one at a time, in outbox order, is registered with
`@job(ordered=True)`. Everything else re-reads the current state from PostgreSQL and so converges
whatever the order (see workers/jobs/meeting_schedule.py).
"""

from __future__ import annotations

EVERY_EVENT: tuple[str, ...] = ("dispatch_webhooks",)

ROUTES: dict[str, tuple[str, ...]] = {
    "meeting.published": ("sync_meeting_schedule", "render_meeting_fragment", "sync_reminders"),
    "meeting.updated": (
        "sync_meeting_schedule",
        "render_meeting_fragment",
        "invitation_schedule_update",
        "sync_reminders",
    ),
    "meeting.cancelled": (
        "sync_meeting_schedule",
        "render_meeting_fragment",
        "invitation_meeting_cancelled",
        "sync_reminders",
    ),
    "invitation.requested": ("invitation_fanout",),
    "registration.requested": ("registration_request_mail",),
    "registration.confirmed": ("registration_mail", "sync_reminders"),
    "registration.waitlisted": ("registration_mail",),
    "registration.promoted": ("registration_mail", "sync_reminders"),
    "registration.cancelled": ("registration_mail", "sync_reminders"),
    "reminder.due": ("reminder_mail",),
    "evaluation.requested": ("evaluation_mail",),
    "evaluation.mailing_due": ("evaluation_mailing",),
    "participant.link_requested": ("signin_mail",),
    "participant.erased": ("invitation_forget_participant",),
    "staff.signin_requested": ("staff_signin_mail",),
    "report.mail_due": ("report_mail",),
    "circle_round.solve_requested": ("solve_circle_round",),
    "circle_round.publish_requested": ("publish_circle_round",),
}


# Event types only webhook subscribers (and GET /api/v1/events) receive, each with why no job consumes it.
WEBHOOK_ONLY: dict[str, str] = {
    "meeting.ended": "a fact for subscribers; no Leerkring feature acts on a meeting's end yet",
    "registration.rsvp_changed": "the RSVP lives on the registration, read where it is shown; subscribers are told",
    "attendance.recorded": "reports read attendance from its table; subscribers (an LMS, say) are told",
    # Never emitted: an event per answer would tell when a person answered (anonymous but once, issue 12).
    "evaluation.submitted": "not emitted, kept for the published contract; results are read from their table",
}


def route_arrays() -> tuple[list[str], list[str], list[str]]:
    """ROUTES as parallel (event type, job) arrays, and EVERY_EVENT: the relay's SQL routes every event with them
    (workers/relay.py; a job both routed and in EVERY_EVENT gets one ledger row)."""
    pairs = [(event_type, name) for event_type, names in ROUTES.items() for name in names]
    return [t for t, _ in pairs], [n for _, n in pairs], list(EVERY_EVENT)
