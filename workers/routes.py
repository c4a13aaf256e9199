"""Which jobs run for which event type.

To add work for an event: write `@job() async def my_job(ctx, outbox_id)` in a module under
workers/jobs/ and add its name to the event type's tuple below. The worker refuses to start when a
route names a job that is not registered, so a typo fails at once, not silently.

Every event also goes to the jobs in EVERY_EVENT (webhook fan-out), so editing a tuple here can
never cut webhooks off.

Ordering: jobs for one event run concurrently, and jobs for different events run concurrently.
A job that must see an aggregate's events one at a time, in outbox order, is registered with
`@job(ordered=True)`. Everything else re-reads the current state from PostgreSQL and so converges
whatever the order (see workers/jobs/meeting_schedule.py).
"""

from __future__ import annotations

EVERY_EVENT: tuple[str, ...] = ("dispatch_webhooks",)

ROUTES: dict[str, tuple[str, ...]] = {
    "meeting.published": ("sync_meeting_schedule", "render_meeting_fragment"),
    "meeting.updated": ("sync_meeting_schedule", "render_meeting_fragment", "invitation_schedule_update"),
    "meeting.cancelled": ("sync_meeting_schedule", "render_meeting_fragment", "invitation_meeting_cancelled"),
    "invitation.requested": ("invitation_fanout",),
    "registration.requested": ("registration_request_mail",),
    "registration.confirmed": ("registration_mail",),
    "registration.waitlisted": ("registration_mail",),
    "registration.promoted": ("registration_mail",),
    "registration.cancelled": ("registration_mail",),
    "participant.link_requested": ("signin_mail",),
    "participant.erased": ("invitation_forget_participant",),
}


def jobs_for(event_type: str) -> tuple[str, ...]:
    """The job names to enqueue for one event, without duplicates, routed jobs first."""
    return tuple(dict.fromkeys((*ROUTES.get(event_type, ()), *EVERY_EVENT)))
