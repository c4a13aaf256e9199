"""Meeting bodies: what an organiser sends and what everybody reads."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal
from uuid import UUID

import msgspec
from msgspec import UNSET, UnsetType

from schemas.common import HttpUrl, LongText, OrgCode, ShortText, Slug, Title
from schemas.evaluations import EvaluationSettings
from schemas.reminders import ReminderRule, ReminderRules

MeetingFormat = Literal[
    "casuistiekbespreking",
    "intervisie",
    "teamcoaching",
    "rollenspel",
    "leren-op-locatie",
    "werksessie",
    "lezing",
    "webinar",
]
StoredStatus = Literal["draft", "published", "cancelled"]
MeetingStatus = Literal["draft", "published", "cancelled", "ended"]
AwareDatetime = Annotated[datetime, msgspec.Meta(tz=True)]
Timezone = Annotated[str, msgspec.Meta(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_+\-/]+$")]
Capacity = Annotated[int, msgspec.Meta(ge=1, le=100_000)]
# What a freed seat does: "auto" confirms the first on the waiting list at once, "offer" holds it for them.
WaitlistMode = Literal["auto", "offer"]
OfferHours = Annotated[int, msgspec.Meta(ge=1, le=720)]
RegionCode = Annotated[str, msgspec.Meta(pattern=r"^(VR\d{2}|PV\d{2})$")]
CodeList = Annotated[list[OrgCode], msgspec.Meta(max_length=400)]
SlugList = Annotated[list[Slug], msgspec.Meta(max_length=20)]


class Venue(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    name: ShortText
    address: ShortText = ""
    city: ShortText = ""


class Audience(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """Who a meeting is for; an empty audience means everybody."""

    groups: SlugList = msgspec.field(default_factory=list)
    organisations: CodeList = msgspec.field(default_factory=list)
    regions: Annotated[list[RegionCode], msgspec.Meta(max_length=40)] = msgspec.field(default_factory=list)


class MeetingIn(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    title: Title
    description: LongText = ""
    themes: SlugList = msgspec.field(default_factory=list)
    format: MeetingFormat
    starts_at: AwareDatetime
    ends_at: AwareDatetime
    timezone: Timezone = "Europe/Amsterdam"
    venue: Venue | None = None
    online_url: HttpUrl | None = None
    capacity: Capacity
    registration_opens_at: AwareDatetime | None = None
    registration_closes_at: AwareDatetime | None = None
    audience: Audience = msgspec.field(default_factory=Audience)
    organiser_codes: CodeList = msgspec.field(default_factory=list)
    funder_codes: CodeList = msgspec.field(default_factory=list)
    series_id: UUID | None = None
    waitlist_enabled: bool = True
    waitlist_mode: WaitlistMode = "auto"
    offer_hours: OfferHours = 48
    # None: the series' reminder rules, or else the defaults (schemas/reminders.py); []: no reminders.
    reminders: ReminderRules | None = None
    # None: the defaults (schemas/evaluations.py).
    evaluation: EvaluationSettings | None = None
    # The questionnaire template (/api/v1/questionnaires) of its own; None: the series', or else the default.
    questionnaire_id: UUID | None = None
    # False: off the agenda. Not in the public list, the agenda or the shared feeds (an organising body's too: they
    # are public); its page (for who has the link), its registrations and its people's personal feeds keep it.
    listed: bool = True


class MeetingPatch(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """Only the fields present change; `null` clears an optional field."""

    title: Title | UnsetType = UNSET
    description: LongText | UnsetType = UNSET
    themes: SlugList | UnsetType = UNSET
    format: MeetingFormat | UnsetType = UNSET
    starts_at: AwareDatetime | UnsetType = UNSET
    ends_at: AwareDatetime | UnsetType = UNSET
    timezone: Timezone | UnsetType = UNSET
    venue: Venue | UnsetType | None = UNSET
    online_url: HttpUrl | UnsetType | None = UNSET
    capacity: Capacity | UnsetType = UNSET
    registration_opens_at: AwareDatetime | UnsetType | None = UNSET
    registration_closes_at: AwareDatetime | UnsetType | None = UNSET
    audience: Audience | UnsetType = UNSET
    organiser_codes: CodeList | UnsetType = UNSET
    funder_codes: CodeList | UnsetType = UNSET
    series_id: UUID | UnsetType | None = UNSET
    waitlist_enabled: bool | UnsetType = UNSET
    waitlist_mode: WaitlistMode | UnsetType = UNSET
    offer_hours: OfferHours | UnsetType = UNSET
    reminders: ReminderRules | UnsetType | None = UNSET
    evaluation: EvaluationSettings | UnsetType | None = UNSET
    questionnaire_id: UUID | UnsetType | None = UNSET
    listed: bool | UnsetType = UNSET


class PendingUpdate(msgspec.Struct, kw_only=True):
    """An update mail (new time or place) waiting for more edits before it goes to invitees and registrants."""

    send_at: datetime  # when it goes out, at the earliest (RFC 3339, UTC)
    message: str  # Dutch, Dutch local time: "Bijwerking wordt verstuurd om 14:05"


class Meeting(msgspec.Struct, kw_only=True):
    id: UUID
    title: str
    description: str
    themes: list[str]
    format: str
    starts_at: datetime
    ends_at: datetime
    timezone: str
    venue: Venue | None
    # The link to join online: only for the meeting's organisers and admins here (registered participants find it
    # in their confirmation, reminders, personal feed and pages); `online` tells everyone that there is one.
    online_url: str | None
    online: bool
    capacity: int
    registration_opens_at: datetime | None
    registration_closes_at: datetime | None
    audience: Audience
    organiser_codes: list[str]
    funder_codes: list[str]
    series_id: UUID | None
    status: MeetingStatus
    sequence: int
    revision: int
    created_at: datetime
    updated_at: datetime
    published_at: datetime | None
    cancelled_at: datetime | None
    waitlist_enabled: bool = True
    waitlist_mode: WaitlistMode = "auto"
    offer_hours: int = 48
    seats_available: int = 0
    waitlist_length: int = 0
    # Set while an update mail waits (LEERKRING_UPDATE_MAIL_DEBOUNCE); only in the answer for one meeting.
    pending_update: PendingUpdate | None = None
    # The rules in force (the meeting's own, its series', or the defaults) and where they come from.
    reminders: list[ReminderRule] = msgspec.field(default_factory=list)
    reminders_from: Literal["meeting", "series", "default"] = "default"
    # When the attendees are asked for their evaluation (the meeting's settings or the defaults).
    evaluation: EvaluationSettings = msgspec.field(default_factory=EvaluationSettings)
    # Its own questionnaire template; None: its series' (see the series), or else the default.
    questionnaire_id: UUID | None = None
    # False: off the agenda and the shared feeds (MeetingIn.listed); learning-circle sessions are.
    listed: bool = True


class CancelIn(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    reason: LongText = ""


class SeriesIn(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    title: Title
    organiser_code: OrgCode | None = None
    # The reminder rules of the series' meetings that have none of their own; None: the defaults.
    reminders: ReminderRules | None = None
    # The questionnaire of the series' meetings that have none of their own; None: the default.
    questionnaire_id: UUID | None = None


class Series(msgspec.Struct, kw_only=True):
    id: UUID
    title: str
    organiser_code: str
    created_at: datetime
    reminders: list[ReminderRule] | None = None
    questionnaire_id: UUID | None = None
