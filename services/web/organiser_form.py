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
from services.dates import DUTCH_ZONE, skipped
from services.errors import FieldError, InvalidInput
from services.web import forms
from services.web.i18n import N_
from services.web.i18n import gettext as _
from services.web.render import field_errors

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
SKIPPED_TIME = N_("Deze tijd bestaat niet op die dag: de klok gaat dan een uur vooruit (begin van de zomertijd)")
# The form's fields longer than forms.MAX_FIELD: the description takes what the API takes.
LONGER = {"description": forms.LONG_TEXT}
FIELDS = ("title", "description", "format", "theme", "group", "date", "start", "end", "capacity",
          "venue_name", "venue_address", "venue_city", "online_url", "waitlist", "series")  # fmt: skip


def formats() -> list[tuple[str, str]]:
    return [(code, _(label)) for code, label in FORMATS]


def form_field(api_field: str) -> str:
    return _FIELD.get(api_field, api_field.rsplit(".", 1)[-1])


def errors_at_fields(errors: list[FieldError]) -> dict[str, str]:
    return field_errors(errors, _FIELD)


def _whole(text: str) -> Any:
    """A whole number as typed ("-1" too, so the message is about its size, not its kind); other text as it is."""
    try:
        return int(text)
    except ValueError:
        return text


def values(form: Mapping[str, str]) -> tuple[dict[str, Any], list[FieldError]]:
    """The API body of a posted form, and the errors of what it could not read (date, times: form field names).
    A field it could not read is left out of the body, so the API's check does not report it a second time."""
    errors: list[FieldError] = []
    day = clock_start = clock_end = None
    try:
        day = date.fromisoformat(form.get("date", ""))
    except ValueError:
        errors.append(FieldError(field="date", message=_("Vul een datum in als 2027-03-02")))
    zone = ZoneInfo(DUTCH_ZONE)
    for name in ("start", "end"):
        try:
            clock = time.fromisoformat(form.get(name, ""))
        except ValueError:
            errors.append(FieldError(field=name, message=_("Vul een tijd in als 13:30")))
            continue
        if day is not None and skipped(day, clock, zone):
            # Read with the offset from before the change, 02:30 would lie before a 03:15 end: "end before start".
            errors.append(FieldError(field=name, message=_(SKIPPED_TIME)))
            continue
        if name == "start":
            clock_start = clock
        else:
            clock_end = clock
    moments = {}
    if day is not None and clock_start is not None and clock_end is not None:
        moments = {
            "starts_at": datetime.combine(day, clock_start, tzinfo=zone).isoformat(),
            "ends_at": datetime.combine(day, clock_end, tzinfo=zone).isoformat(),
        }
    venue = {k: form.get(f"venue_{k}", "") for k in ("name", "address", "city")}
    body = {
        "title": form.get("title", ""),
        "description": form.get("description", ""),
        "format": form.get("format", ""),
        "themes": [form["theme"]] if form.get("theme") else [],
        "audience": {"groups": [form["group"]] if form.get("group") else []},
        **moments,
        "timezone": DUTCH_ZONE,
        "capacity": _whole(form.get("capacity", "")),
        "venue": venue if any(venue.values()) else None,
        "online_url": form.get("online_url") or None,
        "waitlist_enabled": form.get("waitlist") == "ja",
        "series_id": form.get("series") or None,
    }
    return body, errors


def decode(form: Mapping[str, str], into: type[T]) -> T:
    """The form as `into` (MeetingIn or MeetingPatch). Raises InvalidInput naming every wrong field by the form's
    name, all at once: what it could not read first, then what the API's check refuses."""
    body, errors = values(form)
    try:
        decoded = forms.decode(body, into)
    except InvalidInput as exc:
        # When the date or a time could not be read, the moments are left out: not a second error for them.
        unread = {"starts_at", "ends_at"} if errors else set()
        errors += [e for e in exc.errors if e.field not in unread]
    else:
        if not errors:
            return decoded
    shown = [FieldError(field=form_field(e.field), message=e.message) for e in errors]
    shown = [FieldError(field=e.field, message=_unfilled(e.field, form) or e.message) for e in shown]
    shown.sort(key=lambda e: FIELDS.index(e.field) if e.field in FIELDS else len(FIELDS))  # as the page has them
    raise InvalidInput(shown[0].message, errors=shown)


def _unfilled(field: str, form: Mapping[str, str]) -> str | None:
    """What to say of a choice or number left empty (the API's check calls "" an unknown value, or text)."""
    if form.get(field, "").strip():
        return None
    return {"format": _("Kies een werkvorm"), "capacity": _("Vul het aantal plaatsen in")}.get(field)


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
