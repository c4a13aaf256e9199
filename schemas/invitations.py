"""Invitation bodies: who an organiser invites, what comes back at once, and the progress they follow."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal
from uuid import UUID

import msgspec

from schemas.common import Name
from schemas.meetings import CodeList, RegionCode, SlugList

Resend = Literal["none", "not_responded"]
BatchKind = Literal["invitation", "update", "cancellation"]
BatchState = Literal["requested", "resolving", "sending", "done"]
InviteeStatus = Literal["queued", "sent", "failed", "bounced"]
PreviewKind = Literal["invitation", "confirmation", "update", "cancellation", "registration_cancelled"]
Locale = Literal["nl", "en"]

# Raw pasted values: checked one by one in the service so that bad ones are reported, not fatal to the request.
PastedAddress = Annotated[str, msgspec.Meta(max_length=400)]
MAX_PASTED = 10_000
Note = Annotated[str, msgspec.Meta(max_length=2_000, pattern=r"^[^\x00-\x08\x0b\x0c\x0e-\x1f\x7f]*$")]


class AudienceCriteria(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """Participants of these professional groups AND (these organisations OR organisations in these regions).

    An empty side does not restrict: only `groups` invites that group nationwide. Regions are safety regions
    (VRxx) and provinces (PVxx); a region-kind organisation also reaches its member municipalities.
    """

    groups: SlugList = msgspec.field(default_factory=list)
    organisations: CodeList = msgspec.field(default_factory=list)
    regions: Annotated[list[RegionCode], msgspec.Meta(max_length=40)] = msgspec.field(default_factory=list)

    def is_empty(self) -> bool:
        return not (self.groups or self.organisations or self.regions)


class InvitationsIn(AudienceCriteria, kw_only=True, forbid_unknown_fields=True):
    emails: Annotated[list[PastedAddress], msgspec.Meta(max_length=MAX_PASTED)] = msgspec.field(default_factory=list)
    lists: Annotated[list[UUID], msgspec.Meta(max_length=20)] = msgspec.field(default_factory=list)
    # "not_responded": invite again those invited before who neither registered nor declined.
    resend: Resend = "none"
    note: Note = ""


class RejectedAddress(msgspec.Struct, kw_only=True):
    value: str
    reason: str


class InvitationCounts(msgspec.Struct, kw_only=True):
    total: int = 0
    queued: int = 0
    sent: int = 0
    failed: int = 0
    bounced: int = 0
    # Left out because they were invited before, registered or answered already (or listed twice).
    skipped: int = 0


class InvitationBatch(msgspec.Struct, kw_only=True):
    id: UUID
    meeting_id: UUID
    kind: BatchKind
    state: BatchState
    resend: Resend
    groups: list[str]
    organisations: list[str]
    regions: list[str]
    lists: list[UUID]
    email_count: int
    counts: InvitationCounts
    created_at: datetime
    resolved_at: datetime | None
    finished_at: datetime | None
    # "wacht op mailserver" while the senders wait for the mail server to come back (nothing is lost meanwhile).
    waiting: str | None = None
    waiting_since: datetime | None = None


class InvitationsAccepted(msgspec.Struct, kw_only=True):
    """202: the batch is recorded; workers resolve the audience and send. Follow `progress_url`."""

    batch: InvitationBatch
    progress_url: str
    accepted_emails: int
    rejected: list[RejectedAddress]
    duplicates: list[str]


class Invitee(msgspec.Struct, kw_only=True):
    id: int
    # Personal data only of people known to the organising body, and addresses it typed in itself (see
    # services/invitations/queries.py list_invitees); null and "" for the rest of an audience.
    email: str | None
    name: str
    participant_id: UUID | None
    locale: str
    status: InviteeStatus
    attempts: int
    last_error: str | None
    sequence: int | None
    sent_at: datetime | None
    response: str | None


class InvitationPreview(msgspec.Struct, kw_only=True):
    kind: PreviewKind
    locale: Locale
    subject: str
    text: str
    html: str
    ics: str
    content_type: str


class AudienceListIn(AudienceCriteria, kw_only=True, forbid_unknown_fields=True):
    name: Name
    emails: Annotated[list[PastedAddress], msgspec.Meta(max_length=MAX_PASTED)] = msgspec.field(default_factory=list)


class AudienceList(msgspec.Struct, kw_only=True):
    id: UUID
    organisation_code: str
    name: str
    groups: list[str]
    organisations: list[str]
    regions: list[str]
    email_count: int
    created_at: datetime
    updated_at: datetime


class AudienceListCreated(msgspec.Struct, kw_only=True):
    audience_list: AudienceList
    rejected: list[RejectedAddress]
    duplicates: list[str]


class MailQuota(msgspec.Struct, kw_only=True):
    """How many invitations an organising body may mail in 24 hours, and how many it has used (rolling)."""

    organisation_code: str
    daily_limit: int
    used: int
    remaining: int
    custom: bool  # set by an admin for this body; otherwise LEERKRING_MAIL_QUOTA_PER_DAY


class MailQuotaIn(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    daily_limit: Annotated[int, msgspec.Meta(ge=0, le=10_000_000)]
