"""Rules for meetings: who may change what, and which changes calendars must hear about."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any
from uuid import UUID
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

import asyncpg
import msgspec

from schemas.auth import Principal
from schemas.events import Change, JsonValue, MeetingCancelled, MeetingPublished, MeetingUpdated
from schemas.meetings import Meeting, MeetingIn, MeetingPatch
from services.auth.guards import require_organisation, require_role
from services.catalog.queries import active_slugs
from services.db import Connection
from services.errors import Conflict, FieldError, Forbidden, InvalidInput, NotFound
from services.evaluations.service import check_settings as check_evaluation
from services.evaluations.templates import usable_by as usable_questionnaire
from services.meetings import queries as q
from services.organisations.queries import existing_codes
from services.outbox import emit
from services.reminders import rules as reminder_rules
from services.reminders.service import check_rules
from services.seats import service as seats

# A change to any of these moves the meeting in people's calendars: SEQUENCE must rise (RFC 5546 §2.1.4).
CALENDAR_FIELDS = frozenset(
    {"starts_at", "ends_at", "timezone", "venue_name", "venue_address", "venue_city", "online_url"}
)
MAX_DURATION_DAYS = 14
PAST_START = "Het begin ligt in het verleden; kies een nieuwe begintijd om te publiceren"


def _columns(data: MeetingIn | MeetingPatch) -> dict[str, Any]:
    """Flatten the API shape (venue, audience) onto table columns; absent patch fields stay absent."""
    values = {k: v for k, v in msgspec.structs.asdict(data).items() if v is not msgspec.UNSET}
    if "venue" in values:
        venue = values.pop("venue")
        values["venue_name"] = venue.name.strip() if venue else None
        values["venue_address"] = venue.address.strip() if venue else None
        values["venue_city"] = venue.city.strip() if venue else None
    if "audience" in values:
        audience = values.pop("audience")
        values["audience_groups"] = sorted(set(audience.groups))
        values["audience_organisations"] = sorted(set(audience.organisations))
        values["audience_regions"] = sorted(set(audience.regions))
    for name in ("themes", "organiser_codes", "funder_codes"):
        if name in values:
            values[name] = list(dict.fromkeys(values[name]))
    if "title" in values:
        values["title"] = values["title"].strip()
    if values.get("reminders") is not None:
        check_rules(data.reminders)  # type: ignore[arg-type]
        values["reminders"] = reminder_rules.to_json(values["reminders"])
    if values.get("evaluation") is not None:
        check_evaluation(values["evaluation"])
        values["evaluation"] = msgspec.to_builtins(values["evaluation"])
    return values


FIRST_YEAR, LAST_YEAR = 2000, 2099


def _in_range(moment: datetime) -> bool:
    try:
        return FIRST_YEAR <= moment.astimezone(UTC).year <= LAST_YEAR
    except OverflowError:  # 0001-01-01T00:30+01:00 is in year 0 in UTC
        return False


def _check_times(values: Mapping[str, Any]) -> list[FieldError]:
    errors: list[FieldError] = []
    try:
        if values["timezone"] not in available_timezones():
            raise ZoneInfoNotFoundError(values["timezone"])
        ZoneInfo(values["timezone"])
    except (ZoneInfoNotFoundError, ValueError):
        errors.append(FieldError(field="timezone", message=f"Onbekende tijdzone '{values['timezone']}'"))
    # PostgreSQL and the calendar arithmetic (local dates, reminder moments) break near year 1 and 9999.
    out_of_range = [
        FieldError(field=field, message=f"Kies een datum tussen {FIRST_YEAR} en {LAST_YEAR}")
        for field in ("starts_at", "ends_at", "registration_opens_at", "registration_closes_at")
        if values.get(field) is not None and not _in_range(values[field])
    ]
    if out_of_range:
        return errors + out_of_range
    starts, ends = values["starts_at"], values["ends_at"]
    if ends <= starts:
        errors.append(FieldError(field="ends_at", message="Het einde moet na het begin liggen"))
    elif (ends - starts).days >= MAX_DURATION_DAYS:
        errors.append(
            FieldError(field="ends_at", message=f"Een bijeenkomst duurt korter dan {MAX_DURATION_DAYS} dagen")
        )
    opens, closes = values.get("registration_opens_at"), values.get("registration_closes_at")
    if opens and closes and closes <= opens:
        errors.append(FieldError(field="registration_closes_at", message="De inschrijving moet sluiten na de opening"))
    if closes and closes > ends:
        errors.append(
            FieldError(field="registration_closes_at", message="De inschrijving sluit uiterlijk aan het einde")
        )
    return errors


async def _check_references(
    conn: Connection, values: Mapping[str, Any], organiser_codes: Sequence[str] = ()
) -> list[FieldError]:
    errors: list[FieldError] = []

    async def unknown(field: str, found: set[str]) -> None:
        missing = [v for v in values.get(field, []) if v not in found]
        if missing:
            errors.append(FieldError(field=field, message=f"Onbekend of niet actief: {', '.join(missing)}"))

    await unknown("themes", await active_slugs(conn, "themes", values.get("themes", [])))
    await unknown("audience_groups", await active_slugs(conn, "professional_groups", values.get("audience_groups", [])))
    await unknown("audience_organisations", await existing_codes(conn, values.get("audience_organisations", [])))
    await unknown(
        "organiser_codes", await existing_codes(conn, values.get("organiser_codes", []), ("organiser", "funder"))
    )
    await unknown("funder_codes", await existing_codes(conn, values.get("funder_codes", []), ("funder",)))
    regions = values.get("audience_regions", [])
    if regions:
        rows = await conn.fetch(
            "SELECT code FROM provinces WHERE code = ANY($1) "
            "UNION SELECT code FROM safety_regions WHERE code = ANY($1)",
            regions,
        )
        await unknown("audience_regions", {r["code"] for r in rows})
    if values.get("series_id") is not None:
        # A series is its body's programme: another body's meeting cannot join it (nor tell it exists).
        owner = await conn.fetchval("SELECT organiser_code FROM series WHERE id = $1", values["series_id"])
        if owner is None or owner not in (organiser_codes or values.get("organiser_codes") or ()):
            errors.append(FieldError(field="series_id", message="Deze reeks bestaat niet bij je organisatie"))
    if values.get("questionnaire_id") is not None and not await usable_questionnaire(
        conn, values["questionnaire_id"], organiser_codes or values.get("organiser_codes") or ()
    ):
        errors.append(FieldError(field="questionnaire_id", message="Deze vragenlijst bestaat niet bij je organisatie"))
    return errors


# A published meeting tells people where to go: a venue, a link to join online, or both.
NOWHERE = "Geef een locatie of een link voor online deelnemen op: anders weet niemand waar de bijeenkomst is"


def _check_place(values: Mapping[str, Any]) -> list[FieldError]:
    if (values.get("venue_name") or "").strip() or (values.get("online_url") or "").strip():
        return []
    return [FieldError(field="venue", message=NOWHERE), FieldError(field="online_url", message=NOWHERE)]


def _raise_if(errors: list[FieldError]) -> None:
    if errors:
        raise InvalidInput(f"{errors[0].field}: {errors[0].message}", errors=errors)


async def create(conn: Connection, principal: Principal, data: MeetingIn) -> Meeting:
    """Create a draft. Raises Forbidden for funders or foreign organisers, InvalidInput for bad fields."""
    require_role(principal, "admin", "organiser")
    values = _columns(data)
    if not values["organiser_codes"]:
        if principal.organisation_code is None:
            raise InvalidInput("Geef ten minste één organiserende organisatie op", field="organiser_codes")
        values["organiser_codes"] = [principal.organisation_code]
    require_organisation(principal, values["organiser_codes"], "de opgegeven organiserende organisaties")
    _raise_if(_check_times(values) + await _check_references(conn, values))
    return q.to_meeting(await q.insert_meeting(conn, values))


async def get(conn: Connection, principal: Principal | None, meeting_id: UUID) -> Meeting:
    """Raises NotFound, also for drafts and foreign funded meetings the caller may not see."""
    row = await q.get_meeting(conn, meeting_id)
    if row is None or not _may_see(principal, row):
        raise NotFound("Deze bijeenkomst bestaat niet")
    meeting = shown_to(principal, q.to_meeting(row))
    meeting.pending_update = await q.pending_update(conn, meeting_id)
    return meeting


def _may_see(principal: Principal | None, row: asyncpg.Record) -> bool:
    if principal is not None and principal.is_admin:
        return True
    if principal is not None and principal.role == "funder":
        return principal.organisation_code in row["funder_codes"] and row["status"] != "draft"
    if row["status"] == "draft":
        return principal is not None and principal.organisation_code in row["organiser_codes"]
    return True


async def _lock_for_change(conn: Connection, principal: Principal, meeting_id: UUID) -> asyncpg.Record:
    require_role(principal, "admin", "organiser")
    row = await q.get_meeting(conn, meeting_id, for_update=True)
    if row is None or not _may_see(principal, row):
        raise NotFound("Deze bijeenkomst bestaat niet")
    try:
        require_organisation(principal, row["organiser_codes"])
    except Forbidden:
        raise Forbidden("Alleen de organiserende organisaties mogen deze bijeenkomst wijzigen") from None
    return row


def _json(value: Any) -> JsonValue:
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat()
    if isinstance(value, UUID):
        return str(value)
    if isinstance(value, dict):
        return ",".join(f"{k}={v}" for k, v in sorted(value.items()))  # evaluation settings
    if isinstance(value, list):
        # Reminder rules (dicts) travel as their keys, "P7D@09:00".
        return [
            f"{v['before']}@{v['at']}"
            if isinstance(v, dict) and v.get("at")
            else str(v["before"])
            if isinstance(v, dict)
            else str(v)
            for v in value
        ]
    return value  # type: ignore[no-any-return]


async def update(conn: Connection, principal: Principal, meeting_id: UUID, patch: MeetingPatch) -> Meeting:
    """Apply a partial update. Raises NotFound, Forbidden, Conflict (cancelled or ended), InvalidInput."""
    row = await _lock_for_change(conn, principal, meeting_id)
    status = q.effective_status(row["status"], row["ends_at"])
    if status in ("cancelled", "ended"):
        raise Conflict(
            "Een geannuleerde bijeenkomst kan niet meer worden gewijzigd"
            if status == "cancelled"
            else "Een afgelopen bijeenkomst kan niet meer worden gewijzigd"
        )
    wanted = _columns(patch)
    changed = {k: v for k, v in wanted.items() if row[k] != v}
    if not changed:
        return q.to_meeting(row)
    merged = {**dict(row), **changed}
    if "organiser_codes" in changed:
        require_organisation(principal, merged["organiser_codes"], "de nieuwe organiserende organisaties")
    placed = _check_place(merged) if row["status"] == "published" else []
    _raise_if(_check_times(merged) + placed + await _check_references(conn, changed, merged["organiser_codes"]))
    if "capacity" in changed:
        await seats.check_capacity(conn, row, changed["capacity"])
    reschedule = bool(CALENDAR_FIELDS & changed.keys())
    updated = await q.update_meeting(conn, meeting_id, changed, bump_sequence=reschedule)
    if row["status"] == "published":
        changes = tuple(Change(field=k, old=_json(row[k]), new=_json(v)) for k, v in sorted(changed.items()))
        await emit(
            conn,
            meeting_id,
            MeetingUpdated(
                meeting_id=meeting_id,
                changes=changes,
                sequence=updated["sequence"],
                revision=updated["revision"],
                reschedule=reschedule,
            ),
        )
    if changed.keys() & seats.SEAT_FIELDS:
        # More seats, another waitlist mode or a new start: the waiting list may move up now.
        await seats.after_meeting_change(conn, meeting_id, changed)
        updated = await q.get_meeting(conn, meeting_id) or updated
    meeting = q.to_meeting(updated)
    # The worker (re)times the update mail after this commit; until then an earlier pending one shows here.
    meeting.pending_update = await q.pending_update(conn, meeting_id)
    return meeting


async def publish(conn: Connection, principal: Principal, meeting_id: UUID) -> Meeting:
    """Draft → published. Raises Conflict when it is not a draft or already over, InvalidInput when it has begun
    already (`starts_at`) or has neither a venue nor an online link."""
    row = await _lock_for_change(conn, principal, meeting_id)
    if row["status"] != "draft":
        raise Conflict(
            "Een geannuleerde bijeenkomst kan niet worden gepubliceerd"
            if row["status"] == "cancelled"
            else "Deze bijeenkomst is al gepubliceerd"
        )
    if row["ends_at"] <= datetime.now(UTC):
        raise Conflict("Een bijeenkomst in het verleden kan niet worden gepubliceerd", field="ends_at")
    if row["starts_at"] <= datetime.now(UTC):
        # Under way already: nobody could register in time, and the invitation would land after the start. The draft
        # stays editable; a new start time makes it publishable.
        raise InvalidInput(PAST_START, field="starts_at")
    if errors := _check_place(dict(row)):
        raise InvalidInput(NOWHERE, errors=errors)
    updated = await q.update_meeting(conn, meeting_id, {}, bump_sequence=False, status="published")
    await emit(
        conn,
        meeting_id,
        MeetingPublished(meeting_id=meeting_id, sequence=updated["sequence"], revision=updated["revision"]),
    )
    return q.to_meeting(updated)


async def cancel(conn: Connection, principal: Principal, meeting_id: UUID, reason: str = "") -> Meeting:
    """Draft or published → cancelled; raises the sequence. Raises Conflict when cancelled or ended already."""
    row = await _lock_for_change(conn, principal, meeting_id)
    status = q.effective_status(row["status"], row["ends_at"])
    if status == "cancelled":
        raise Conflict("Deze bijeenkomst is al geannuleerd")
    if status == "ended":
        raise Conflict("Een afgelopen bijeenkomst kan niet meer worden geannuleerd")
    updated = await q.update_meeting(conn, meeting_id, {}, bump_sequence=True, status="cancelled")
    if row["status"] == "published":
        await emit(
            conn,
            meeting_id,
            MeetingCancelled(
                meeting_id=meeting_id, sequence=updated["sequence"], revision=updated["revision"], reason=reason
            ),
        )
    if await seats.cancel_all(conn, meeting_id):
        updated = await q.get_meeting(conn, meeting_id) or updated
    return q.to_meeting(updated)


async def list_visible(
    conn: Connection,
    principal: Principal | None,
    *,
    cursor: tuple[datetime, UUID] | None,
    limit: int,
    audience_organisation: str | None,
    **filters: Any,
) -> list[Meeting]:
    audience_codes = await q.audience_codes_for(conn, audience_organisation) if audience_organisation else None
    is_admin = principal is not None and principal.is_admin
    found = await q.list_meetings(
        conn,
        **filters,
        audience_codes=audience_codes,
        restrict_drafts=None if is_admin else True,
        own_organisation=principal.organisation_code if principal and principal.role == "organiser" else None,
        only_funder=principal.organisation_code if principal and principal.role == "funder" else None,
        after_starts_at=cursor[0] if cursor else None,
        after_id=cursor[1] if cursor else None,
        limit=limit,
    )
    return [shown_to(principal, m) for m in found]


def shown_to(principal: Principal | None, meeting: Meeting) -> Meeting:
    """The meeting as this caller may read it: the online link only for its organisers and admins (a public link
    to a closed online room is an open door; registered participants get it in their own mails and feed)."""
    staff = principal is not None and (
        principal.is_admin or (principal.role == "organiser" and principal.organisation_code in meeting.organiser_codes)
    )
    if not staff:
        meeting.online_url = None
    return meeting
