"""Which mail tells a person about a change to their place, and when it still applies.

Pure: the event comes in, a plan comes out; the mail job (workers/jobs/participant_mail.py) re-reads the
registration and sends only when it still stands as the plan expects (someone promoted before the waiting-list
mail went out gets the promotion mail, not both). Every plan has a delivery key of its own, so each mail goes out
once: one confirmation per registration, one mail when it ends, one waiting-list and one offer mail.
"""

from __future__ import annotations

from typing import Literal
from uuid import UUID

import msgspec

from schemas.events import (
    EventPayload,
    RegistrationCancelled,
    RegistrationConfirmed,
    RegistrationPromoted,
    RegistrationWaitlisted,
)
from services.invitations.messages import Kind, NoticeKind

# What the registration must look like when the mail leaves.
Expect = Literal["confirmed", "waitlisted", "offered", "ended"]


class Plan(msgspec.Struct, frozen=True, kw_only=True):
    registration_id: UUID
    template: Kind | NoticeKind
    # The deliveries row: its key makes the mail once-only, its kind is what the person's calendar received
    # (updates and cancellations go to whoever holds a REQUEST, see services/invitations/fanout.py).
    key: str
    delivery_kind: str
    expect: Expect


# Why a registration ended -> the mail that says so. Not here: the meeting's own cancellation (its batch tells
# everyone) and erasure (the person is gone).
_ENDED: dict[str, Kind | NoticeKind] = {
    "participant": "registration_cancelled",
    "organiser": "registration_cancelled",
    "rsvp_declined": "registration_cancelled",
    "no_show_released": "no_show_released",
    "offer_expired": "offer_expired",
    "offer_declined": "offer_declined",
}
CALENDAR_KINDS: dict[str, str] = {
    "confirmation": "confirmation",
    "promoted": "confirmation",
    "registration_cancelled": "registration_cancelled",
    "no_show_released": "registration_cancelled",
}


def _plan(rid: UUID, template: Kind | NoticeKind, key: str, expect: Expect) -> Plan:
    delivery_kind = CALENDAR_KINDS.get(template, template)
    return Plan(registration_id=rid, template=template, key=key, delivery_kind=delivery_kind, expect=expect)


def plan(payload: EventPayload) -> Plan | None:
    """The mail this event asks for, or None."""
    if isinstance(payload, RegistrationConfirmed):
        rid = payload.registration_id
        return _plan(rid, "confirmation", f"confirmation:{rid}", "confirmed")
    if isinstance(payload, RegistrationPromoted):
        rid = payload.registration_id
        if payload.mode == "offer":
            return _plan(rid, "offered", f"offered:{rid}", "offered")
        return _plan(rid, "promoted", f"confirmation:{rid}", "confirmed")
    if isinstance(payload, RegistrationWaitlisted):
        rid = payload.registration_id
        return _plan(rid, "waitlisted", f"waitlisted:{rid}", "waitlisted")
    if isinstance(payload, RegistrationCancelled):
        template = _ENDED.get(payload.reason)
        if template is None:
            return None
        rid = payload.registration_id
        return _plan(rid, template, f"registration_cancelled:{rid}", "ended")
    return None


def still_applies(expect: Expect, status: str) -> bool:
    if expect == "ended":
        return status in ("cancelled", "declined")
    return status == expect
