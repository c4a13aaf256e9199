"""SQL for meetings; rows become `Meeting` Structs here so no asyncpg Record leaks out."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any, Literal
from uuid import UUID
from zoneinfo import ZoneInfo

import asyncpg

from schemas.meetings import Audience, Meeting, MeetingStatus, PendingUpdate, Venue
from services.dates import DUTCH_ZONE
from services.db import Connection, required
from services.evaluations.service import settings_of as evaluation_settings
from services.reminders import rules as reminder_rules

# The scheduled task (services/scheduling) that sends a meeting's debounced update mail; workers/jobs/invitations.py
# schedules and handles it, the meeting's API answer shows it while it waits.
UPDATE_MAIL_TASK = "invitations.update_mail"

COLUMNS = (
    "id, title, description, themes, format, starts_at, ends_at, timezone, venue_name, venue_address, venue_city, "
    "online_url, capacity, registration_opens_at, registration_closes_at, audience_groups, audience_organisations, "
    "audience_regions, organiser_codes, funder_codes, series_id, status, sequence, revision, created_at, updated_at, "
    "published_at, cancelled_at, waitlist_enabled, waitlist_mode, offer_hours, confirmed_count, offered_count, "
    "waitlisted_count, "
    # Reminder rules: the meeting's own and, for those without, its series' (services/reminders/rules.py).
    "reminders, (SELECT s.reminders FROM series s WHERE s.id = series_id) AS series_reminders, evaluation, "
    "questionnaire_id, listed"
)

# Columns an update may set; everything else is managed by the service.
EDITABLE = frozenset(
    {
        "title",
        "description",
        "themes",
        "format",
        "starts_at",
        "ends_at",
        "timezone",
        "venue_name",
        "venue_address",
        "venue_city",
        "online_url",
        "capacity",
        "registration_opens_at",
        "registration_closes_at",
        "audience_groups",
        "audience_organisations",
        "audience_regions",
        "organiser_codes",
        "funder_codes",
        "series_id",
        "waitlist_enabled",
        "waitlist_mode",
        "offer_hours",
        "reminders",
        "listed",
        "evaluation",
        "questionnaire_id",
    }
)


def effective_status(status: str, ends_at: datetime, now: datetime | None = None) -> MeetingStatus:
    """'ended' is not stored: a published meeting whose end has passed has ended."""
    if status == "published" and ends_at <= (now or datetime.now(UTC)):
        return "ended"
    if status in ("draft", "published", "cancelled"):
        return status  # type: ignore[return-value]
    raise ValueError(status)


def to_meeting(row: asyncpg.Record) -> Meeting:
    zone = ZoneInfo(row["timezone"])

    def local(value: datetime | None) -> datetime | None:
        return None if value is None else value.astimezone(zone)

    venue = None
    if row["venue_name"]:
        venue = Venue(name=row["venue_name"], address=row["venue_address"] or "", city=row["venue_city"] or "")
    return Meeting(
        id=row["id"],
        title=row["title"],
        description=row["description"],
        themes=list(row["themes"]),
        format=row["format"],
        starts_at=row["starts_at"].astimezone(zone),
        ends_at=row["ends_at"].astimezone(zone),
        timezone=row["timezone"],
        venue=venue,
        online_url=row["online_url"],
        online=bool(row["online_url"]),
        capacity=row["capacity"],
        registration_opens_at=local(row["registration_opens_at"]),
        registration_closes_at=local(row["registration_closes_at"]),
        audience=Audience(
            groups=list(row["audience_groups"]),
            organisations=list(row["audience_organisations"]),
            regions=list(row["audience_regions"]),
        ),
        organiser_codes=list(row["organiser_codes"]),
        funder_codes=list(row["funder_codes"]),
        series_id=row["series_id"],
        status=effective_status(row["status"], row["ends_at"]),
        sequence=row["sequence"],
        revision=row["revision"],
        created_at=row["created_at"],
        updated_at=row["updated_at"],
        published_at=row["published_at"],
        cancelled_at=row["cancelled_at"],
        waitlist_enabled=row["waitlist_enabled"],
        waitlist_mode=row["waitlist_mode"],
        offer_hours=row["offer_hours"],
        seats_available=max(0, row["capacity"] - row["confirmed_count"] - row["offered_count"]),
        waitlist_length=row["waitlisted_count"],
        reminders=list(reminder_rules.effective(row["reminders"], row["series_reminders"])),
        reminders_from=_reminders_from(row),
        evaluation=evaluation_settings(row["evaluation"]),
        questionnaire_id=row["questionnaire_id"],
        listed=row["listed"],
    )


def _reminders_from(row: asyncpg.Record) -> Literal["meeting", "series", "default"]:
    if row["reminders"] is not None:
        return "meeting"
    return "series" if row["series_reminders"] is not None else "default"


async def insert_meeting(conn: Connection, values: Mapping[str, Any]) -> asyncpg.Record:
    names = [name for name in values if name in EDITABLE]
    placeholders = ", ".join(f"${i}" for i in range(1, len(names) + 1))
    row = await conn.fetchrow(
        f"INSERT INTO meetings ({', '.join(names)}) VALUES ({placeholders}) RETURNING {COLUMNS}",
        *(values[name] for name in names),
    )
    return required(row)


async def get_meeting(conn: Connection, meeting_id: UUID, *, for_update: bool = False) -> asyncpg.Record | None:
    lock = " FOR UPDATE" if for_update else ""
    return await conn.fetchrow(f"SELECT {COLUMNS} FROM meetings WHERE id = $1{lock}", meeting_id)


async def update_meeting(
    conn: Connection, meeting_id: UUID, values: Mapping[str, Any], *, bump_sequence: bool, status: str | None = None
) -> asyncpg.Record:
    """Set the given editable columns, raise the revision (and the sequence when asked) in one statement."""
    names = [name for name in values if name in EDITABLE]
    assignments = [f"{name} = ${i}" for i, name in enumerate(names, start=2)]
    assignments += ["revision = revision + 1", "updated_at = now()"]
    if bump_sequence:
        assignments.append("sequence = sequence + 1")
    params: list[Any] = [meeting_id, *(values[name] for name in names)]
    if status is not None:
        params.append(status)
        n = len(params)
        assignments.append(f"status = ${n}")
        assignments.append(f"published_at = CASE WHEN ${n} = 'published' THEN now() ELSE published_at END")
        assignments.append(f"cancelled_at = CASE WHEN ${n} = 'cancelled' THEN now() ELSE cancelled_at END")
    row = await conn.fetchrow(
        f"UPDATE meetings SET {', '.join(assignments)} WHERE id = $1 RETURNING {COLUMNS}",
        *params,
    )
    return required(row)


_LIST = f"""
SELECT {COLUMNS} FROM meetings m
WHERE ($1::text IS NULL OR $1 = ANY(m.themes))
  AND ($2::timestamptz IS NULL OR m.ends_at > $2)
  AND ($3::timestamptz IS NULL OR m.starts_at < $3)
  AND (
        $4::text IS NULL
     OR ($4 = 'ended' AND m.status = 'published' AND m.ends_at <= now())
     OR ($4 = 'published' AND m.status = 'published' AND m.ends_at > now())
     OR ($4 IN ('draft', 'cancelled') AND m.status = $4)
  )
  AND ($5::text IS NULL OR $5 = ANY(m.organiser_codes))
  AND ($6::text IS NULL OR $6 = ANY(m.funder_codes))
  AND ($7::text IS NULL OR $7 = ANY(m.audience_groups))
  AND ($8::text[] IS NULL OR m.audience_organisations && $8 OR m.audience_regions && $8)
  AND ($9::uuid IS NULL OR m.series_id = $9)
  -- visibility: drafts only for their organisers (or everybody when $10 is NULL, i.e. admin); meetings off the
  -- agenda only for their organisers and funders
  AND (m.status <> 'draft' OR $10::boolean IS NULL OR ($11::text IS NOT NULL AND $11 = ANY(m.organiser_codes)))
  AND (m.listed OR $10::boolean IS NULL OR ($11::text IS NOT NULL AND $11 = ANY(m.organiser_codes))
       OR ($12::text IS NOT NULL AND $12 = ANY(m.funder_codes)))
  AND ($12::text IS NULL OR $12 = ANY(m.funder_codes))
  AND ($13::timestamptz IS NULL OR (m.starts_at, m.id) > ($13, $14::uuid))
  -- online: true = can be followed online, false = has a place to go to
  AND ($16::boolean IS NULL OR ($16 AND m.online_url IS NOT NULL)
       OR (NOT $16 AND coalesce(m.venue_name, m.venue_address, m.venue_city) IS NOT NULL))
  -- a word from the title, the description or the city (the agenda's search box); % and _ are taken literally
  AND ($17::text IS NULL OR concat_ws(' ', m.title, m.description, m.venue_city) ILIKE
       '%' || replace(replace(replace($17, '\\', '\\\\'), '%', '\\%'), '_', '\\_') || '%')
ORDER BY m.starts_at, m.id
LIMIT $15
"""


async def list_meetings(conn: Connection, **f: Any) -> list[Meeting]:
    rows = await conn.fetch(
        _LIST,
        f["theme"],
        f["from_"],
        f["to"],
        f["status"],
        f["organisation"],
        f["funder"],
        f["audience_group"],
        f["audience_codes"],
        f["series_id"],
        f["restrict_drafts"],
        f["own_organisation"],
        f["only_funder"],
        f["after_starts_at"],
        f["after_id"],
        f["limit"],
        f.get("online"),
        f.get("text") or None,
    )
    return [to_meeting(r) for r in rows]


async def audience_codes_for(conn: Connection, code: str) -> list[str]:
    """An organisation is reached by its own code, its province, its safety region and the regions it belongs to."""
    row = await conn.fetchrow(
        """
        SELECT array_remove(ARRAY[o.code, o.province_code, o.safety_region_code], NULL)
               || coalesce((SELECT array_agg(r.code) FROM organisations r
                            WHERE r.kind = 'region' AND o.code = ANY(r.member_codes)), '{}') AS codes
        FROM organisations o WHERE o.code = $1
        """,
        code,
    )
    return [code] if row is None else list(row["codes"])


async def pending_update(conn: Connection, meeting_id: UUID, now: datetime | None = None) -> PendingUpdate | None:
    """The meeting's update mail while it waits for more edits, with when it goes out in Dutch local time."""
    due: datetime | None = await conn.fetchval(
        "SELECT min(due_at) FROM scheduled_tasks WHERE kind = $1 AND aggregate_id = $2 AND status = 'pending'",
        UPDATE_MAIL_TASK,
        meeting_id,
    )
    if due is None:
        return None
    if due <= (now or datetime.now(UTC)):
        return PendingUpdate(send_at=due, message="Bijwerking wordt nu verstuurd")
    # Rounded up to the minute: the mail leaves at the due time or a moment after, never before "14:05".
    shown = due if due.second == 0 and due.microsecond == 0 else due + timedelta(minutes=1)
    return PendingUpdate(
        send_at=due, message=f"Bijwerking wordt verstuurd om {shown.astimezone(ZoneInfo(DUTCH_ZONE)):%H:%M}"
    )
