"""Registration, waiting-list and attendance bodies."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal
from uuid import UUID

import msgspec

from schemas.common import ShortText
from schemas.participants import Participant, ParticipantIn, ParticipantSummary, TokenInfo

RegistrationStatus = Literal["confirmed", "waitlisted", "offered", "cancelled", "declined"]
ActiveStatus = Literal["confirmed", "waitlisted", "offered"]
Rsvp = Literal["accepted", "tentative", "declined"]
AttendanceStatus = Literal["attended", "no_show"]
CheckinCode = Annotated[str, msgspec.Meta(min_length=6, max_length=6, pattern=r"^[A-Za-z0-9]{6}$")]


class RegistrationIn(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """Who to register. A participant with a personal token sends `{}`; anyone may send `participant`
    (found or created by e-mail); organisers may also name an existing `participant_id`."""

    participant_id: UUID | None = None
    participant: ParticipantIn | None = None


class RegistrationRequested(msgspec.Struct, kw_only=True):
    """The answer to a registration without proof of address: the same whoever the address belongs to."""

    status: Literal["bevestig_per_mail"] = "bevestig_per_mail"
    detail: str


class ConfirmIn(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """The token from the confirmation link in the mail."""

    token: Annotated[str, msgspec.Meta(min_length=20, max_length=200)]


class Registration(msgspec.Struct, kw_only=True):
    id: UUID
    meeting_id: UUID
    participant_id: UUID
    status: RegistrationStatus
    # The waiting-list number handed out on arrival (never reused); only while waiting: null once promoted.
    position: int | None
    # How many people are ahead, plus one: 1 means "next in line". Only while waitlisted.
    waitlist_rank: int | None = None
    rsvp: Rsvp
    offer_expires_at: datetime | None
    source: Literal["self", "organiser"]
    end_reason: str | None
    created_at: datetime
    updated_at: datetime
    confirmed_at: datetime | None
    cancelled_at: datetime | None


class RegistrationListItem(Registration, kw_only=True):
    participant: ParticipantSummary
    attendance: AttendanceStatus | None = None


class MeetingSummary(msgspec.Struct, kw_only=True):
    id: UUID
    title: str
    starts_at: datetime
    ends_at: datetime
    timezone: str
    status: str


class MyRegistration(Registration, kw_only=True):
    meeting: MeetingSummary


class CancelRegistrationIn(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    reason: ShortText = ""


class RsvpIn(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    rsvp: Rsvp


class AttendanceMark(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """One line of an attendance list: name the person by registration, participant or (walk-in) details."""

    registration_id: UUID | None = None
    participant_id: UUID | None = None
    participant: ParticipantIn | None = None
    status: AttendanceStatus = "attended"


class AttendanceIn(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    records: Annotated[list[AttendanceMark], msgspec.Meta(min_length=1, max_length=500)]


class Attendance(msgspec.Struct, kw_only=True):
    meeting_id: UUID
    participant_id: UUID
    registration_id: UUID | None
    status: AttendanceStatus
    walk_in: bool
    method: Literal["organiser", "self"]
    recorded_at: datetime


class AttendanceListItem(Attendance, kw_only=True):
    participant: ParticipantSummary


class SelfCheckinIn(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """Self check-in: the code shown at the venue, plus either a personal token or the person's details."""

    code: CheckinCode
    participant: ParticipantIn | None = None


class CheckinInfo(msgspec.Struct, kw_only=True):
    meeting_id: UUID
    code: str
    url: str
    opens_at: datetime
    closes_at: datetime


class Released(msgspec.Struct, kw_only=True):
    released: int
    promoted: int


class ParticipantExport(msgspec.Struct, kw_only=True):
    """Everything we hold about one person (GDPR art. 15/20), as they asked for it."""

    participant: Participant
    registrations: list[MyRegistration]
    attendance: list[Attendance]
    tokens: list[TokenInfo]
    exported_at: datetime
