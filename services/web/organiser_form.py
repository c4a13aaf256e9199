"""The organiser's meeting form: its fields to and from the API's MeetingIn / MeetingPatch, and the API's field
names back to the form's, so an error the service raises ("ends_at") shows at the field that holds it ("end").

Dates and times are typed as the organiser reads them, in Dutch local time; the zone is the meeting's.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime, time
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

from schemas.meetings import Meeting, MeetingFormat
from services.dates import DUTCH_ZONE
from services.errors import FieldError, InvalidInput
from services.web import forms
from services.web.i18n import N_
from services.web.i18n import gettext as _

T = TypeVar("T")
FORMATS: list[tuple[MeetingFormat, str]] = [
    ("casuistiekbespreking", N_("Casuïstiekbespreking")),
    ("intervisie", N_("Intervisie")),
    ("teamcoaching", N_("Teamcoaching")),
    ("rollenspel", N_("Rollenspel")),
    ("leren-op-locatie", N_("Leren op locatie")),
    ("werksessie", N_("Werksessie")),
    ("lezing", N_("Lezing")),
    ("webinar", N_("Webinar")),
]
# API field (as the service and msgspec name it) -> the form's field
_FIELD = {
    "starts_at": "start",
    "ends_at": "end",
    "venue.name": "venue_name",
    "venue.address": "venue_address",
    "venue.city": "venue_city",
    "venue": "venue_name",
    "themes": "theme",
    "audience.groups": "group",
    "audience": "group",
    "series_id": "series",
}
FIELDS = ("title", "description", "format", "theme", "group", "date", "start", "end", "capacity",
          "venue_name", "venue_address", "venue_city", "online_url", "waitlist", "series")  # fmt: skip


def formats() -> list[tuple[str, str]]:
    return [(code, _(label)) for code, label in FORMATS]


def form_field(api_field: str) -> str:
    return _FIELD.get(api_field, api_field.rsplit(".", 1)[-1])


def errors_at_fields(errors: list[FieldError]) -> dict[str, str]:
    found: dict[str, str] = {}
    for error in errors:
        found.setdefault(form_field(error.field), _(error.message))
    return found


def _moment(day: date, text: str, field: str) -> datetime:
    try:
        clock = time.fromisoformat(text)
    except ValueError:
        raise InvalidInput(_("Vul een tijd in als 13:30"), field=field) from None
    return datetime.combine(day, clock, tzinfo=ZoneInfo(DUTCH_ZONE))


def values(form: Mapping[str, str]) -> dict[str, Any]:
    """The API body of a posted form. Raises InvalidInput (form field names) for a date or time it cannot read."""
    try:
        day = date.fromisoformat(form.get("date", ""))
    except ValueError:
        raise InvalidInput(_("Vul een datum in als 2027-03-02"), field="date") from None
    starts_at, ends_at = _moment(day, form.get("start", ""), "start"), _moment(day, form.get("end", ""), "end")
    venue = {k: form.get(f"venue_{k}", "") for k in ("name", "address", "city")}
    capacity: Any = form.get("capacity", "")
    return {
        "title": form.get("title", ""),
        "description": form.get("description", ""),
        "format": form.get("format", ""),
        "themes": [form["theme"]] if form.get("theme") else [],
        "audience": {"groups": [form["group"]] if form.get("group") else []},
        "starts_at": starts_at.isoformat(),
        "ends_at": ends_at.isoformat(),
        "timezone": DUTCH_ZONE,
        "capacity": int(capacity) if capacity.isdigit() else capacity,
        "venue": venue if any(venue.values()) else None,
        "online_url": form.get("online_url") or None,
        "waitlist_enabled": form.get("waitlist") == "ja",
        "series_id": form.get("series") or None,
    }


def decode(form: Mapping[str, str], into: type[T]) -> T:
    """The form as `into` (MeetingIn or MeetingPatch). Raises InvalidInput naming the form's field."""
    try:
        return forms.decode(values(form), into)
    except InvalidInput as exc:
        raise InvalidInput(exc.errors[0].message, field=form_field(exc.errors[0].field)) from None


def from_meeting(meeting: Meeting) -> dict[str, str]:
    """A meeting as the form's values, to edit it."""
    zone = ZoneInfo(meeting.timezone)
    start, end = meeting.starts_at.astimezone(zone), meeting.ends_at.astimezone(zone)
    venue = meeting.venue
    return {
        "title": meeting.title,
        "description": meeting.description,
        "format": meeting.format,
        "theme": meeting.themes[0] if meeting.themes else "",
        "group": meeting.audience.groups[0] if meeting.audience.groups else "",
        "date": start.date().isoformat(),
        "start": f"{start:%H:%M}",
        "end": f"{end:%H:%M}",
        "capacity": str(meeting.capacity),
        "venue_name": venue.name if venue else "",
        "venue_address": venue.address if venue else "",
        "venue_city": venue.city if venue else "",
        "online_url": meeting.online_url or "",
        "waitlist": "ja" if meeting.waitlist_enabled else "",
        "series": str(meeting.series_id) if meeting.series_id else "",
    }


def empty() -> dict[str, str]:
    return dict.fromkeys(FIELDS, "") | {"format": "intervisie", "capacity": "20", "waitlist": "ja"}


def as_posted(form: Mapping[str, str]) -> dict[str, str]:
    """What was posted, every field present (a hand-made post may leave some out), to show the form again."""
    return dict.fromkeys(FIELDS, "") | {k: v for k, v in form.items() if k in FIELDS}
