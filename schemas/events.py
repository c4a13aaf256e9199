"""Domain events: a tagged union of payloads inside one envelope.

A published tag never changes and new fields get defaults, so old rows in the outbox and the
event log keep decoding (msgspec's schema-evolution rules).
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal
from uuid import UUID

import msgspec

JsonValue = str | int | bool | list[str] | None


class _Payload(msgspec.Struct, frozen=True, kw_only=True, tag_field="type"):
    pass


class Change(msgspec.Struct, frozen=True, kw_only=True):
    field: str
    old: JsonValue
    new: JsonValue


class MeetingPublished(_Payload, frozen=True, tag="meeting.published"):
    meeting_id: UUID
    sequence: int
    revision: int


class MeetingUpdated(_Payload, frozen=True, tag="meeting.updated"):
    meeting_id: UUID
    changes: tuple[Change, ...]
    sequence: int
    revision: int
    # True when time or place changed: calendars must receive an update.
    reschedule: bool = False


class MeetingCancelled(_Payload, frozen=True, tag="meeting.cancelled"):
    meeting_id: UUID
    sequence: int
    revision: int
    reason: str = ""


class MeetingEnded(_Payload, frozen=True, tag="meeting.ended"):
    meeting_id: UUID


RegistrationStatus = Literal["confirmed", "waitlisted", "offered", "cancelled", "declined"]


class RegistrationConfirmed(_Payload, frozen=True, tag="registration.confirmed"):
    registration_id: UUID
    meeting_id: UUID
    participant_id: UUID
    # "offered" when a held seat was accepted; empty for a seat taken on registering.
    previous_status: str = ""


class RegistrationWaitlisted(_Payload, frozen=True, tag="registration.waitlisted"):
    registration_id: UUID
    meeting_id: UUID
    participant_id: UUID
    position: int


class RegistrationPromoted(_Payload, frozen=True, tag="registration.promoted"):
    registration_id: UUID
    meeting_id: UUID
    participant_id: UUID
    # "auto": confirmed at once; "offer": a seat is held until `offer_expires_at`.
    mode: Literal["auto", "offer"] = "auto"
    offer_expires_at: datetime | None = None


class RegistrationCancelled(_Payload, frozen=True, tag="registration.cancelled"):
    registration_id: UUID
    meeting_id: UUID
    participant_id: UUID
    previous_status: str
    reason: str = ""


class RegistrationRequested(_Payload, frozen=True, tag="registration.requested"):
    """Someone asked for a seat without proof of address: mail them the confirmation link. Holds no seat."""

    request_id: UUID
    meeting_id: UUID
    participant_id: UUID


class RegistrationRsvpChanged(_Payload, frozen=True, tag="registration.rsvp_changed"):
    registration_id: UUID
    meeting_id: UUID
    participant_id: UUID
    rsvp: Literal["accepted", "tentative", "declined"]


class ParticipantLinkRequested(_Payload, frozen=True, tag="participant.link_requested"):
    """Mail the person a single-use sign-in link (services.participants.links.signin_link)."""

    participant_id: UUID
    created: bool = False
    # The page to return to after signing in (services.web.session.NEXT_PREFIXES); empty: their own page.
    next_path: str = ""


class StaffSignInRequested(_Payload, frozen=True, tag="staff.signin_requested"):
    """Mail a staff address a single-use sign-in link for the organiser's pages (services/auth/staff.py)."""

    staff_id: UUID
    # The language of the sign-in page the link was asked on: the mail speaks it.
    locale: Literal["nl", "en"] = "nl"


class ParticipantErased(_Payload, frozen=True, tag="participant.erased"):
    """Drop anything derived from this person (feed snapshots, queued mail); the row itself is anonymised."""

    participant_id: UUID


class InvitationRequested(_Payload, frozen=True, tag="invitation.requested"):
    batch_id: UUID
    meeting_id: UUID


class AttendanceRecorded(_Payload, frozen=True, tag="attendance.recorded"):
    meeting_id: UUID
    participant_id: UUID
    registration_id: UUID | None = None
    attended: bool = True
    walk_in: bool = False


class EvaluationSubmitted(_Payload, frozen=True, tag="evaluation.submitted"):
    meeting_id: UUID
    participant_id: UUID


class ReminderDue(_Payload, frozen=True, tag="reminder.due"):
    """A reminder's moment has come (services/reminders/service.py fire_due): mail it to the person, once."""

    reminder_id: int
    registration_id: UUID
    meeting_id: UUID


class EvaluationRequested(_Payload, frozen=True, tag="evaluation.requested"):
    """Mail an attendee the evaluation link: round 0 the request, 1 and 2 the nudges (services/evaluations).
    No longer emitted (evaluation.mailing_due replaced it); its job still sends events already in the outbox."""

    request_id: UUID
    meeting_id: UUID
    round: int = 0


class EvaluationMailingDue(_Payload, frozen=True, tag="evaluation.mailing_due"):
    """Requests or nudges of this meeting's evaluation are marked to be mailed (services/evaluations sweep): one job
    sends them all in lanes. Carries no person: `count` is how many the sweep marked."""

    meeting_id: UUID
    count: int = 0


class ReportMailDue(_Payload, frozen=True, tag="report.mail_due"):
    """A subscribed funder report's period is over: mail it (once)."""

    subscription_id: UUID
    period_from: str  # ISO date, inclusive
    period_to: str


class CircleRoundSolveRequested(_Payload, frozen=True, tag="circle_round.solve_requested"):
    """Compose (or repair) a round's circles; `seq` is the round's solve_seq then, so a stale job writes nothing."""

    round_id: UUID
    seq: int
    mode: Literal["compose", "repair"] = "compose"


class CircleRoundPublishRequested(_Payload, frozen=True, tag="circle_round.publish_requested"):
    """Make every circle of a proposed round a series of meetings with its members registered (once)."""

    round_id: UUID


EventPayload = (
    MeetingPublished
    | MeetingUpdated
    | MeetingCancelled
    | MeetingEnded
    | RegistrationConfirmed
    | RegistrationWaitlisted
    | RegistrationPromoted
    | RegistrationCancelled
    | RegistrationRequested
    | RegistrationRsvpChanged
    | ParticipantLinkRequested
    | ParticipantErased
    | StaffSignInRequested
    | InvitationRequested
    | AttendanceRecorded
    | EvaluationSubmitted
    | ReminderDue
    | EvaluationRequested
    | EvaluationMailingDue
    | ReportMailDue
    | CircleRoundSolveRequested
    | CircleRoundPublishRequested
)

EVENT_TYPES: tuple[str, ...] = tuple(
    str(t.__struct_config__.tag)
    for t in (
        MeetingPublished,
        MeetingUpdated,
        MeetingCancelled,
        MeetingEnded,
        RegistrationConfirmed,
        RegistrationWaitlisted,
        RegistrationPromoted,
        RegistrationCancelled,
        RegistrationRequested,
        RegistrationRsvpChanged,
        ParticipantLinkRequested,
        ParticipantErased,
        StaffSignInRequested,
        InvitationRequested,
        AttendanceRecorded,
        EvaluationSubmitted,
        ReminderDue,
        EvaluationRequested,
        EvaluationMailingDue,
        ReportMailDue,
        CircleRoundSolveRequested,
        CircleRoundPublishRequested,
    )
)


def event_type(payload: EventPayload) -> str:
    return str(payload.__struct_config__.tag)


class Event(msgspec.Struct, frozen=True, kw_only=True):
    """The envelope every consumer sees: in the event log, on webhooks and in job arguments."""

    id: UUID
    seq: int
    type: str
    occurred_at: datetime
    aggregate_id: UUID
    version: int
    payload: EventPayload
