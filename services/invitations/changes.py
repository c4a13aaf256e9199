"""The short "old → new" summary in update mails, and the debounce baseline it is computed from.

Several edits within the debounce window become one mail, so the summary compares the meeting as it was before
the *first* edit of the window (the baseline) with the meeting as it is when the mail goes out. Edits that undo
each other therefore produce no line at all.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

import msgspec

from schemas.events import Change
from services.dates import format_when
from services.invitations.messages import STRINGS, Locale

# The fields whose change moves a meeting in people's calendars (the same set that raises SEQUENCE).
CALENDAR_FIELDS = frozenset(
    {"starts_at", "ends_at", "timezone", "venue_name", "venue_address", "venue_city", "online_url"}
)


class Placement(msgspec.Struct, frozen=True, kw_only=True):
    """Where and when a meeting is: all an update summary talks about."""

    starts_at: datetime
    ends_at: datetime
    timezone: str
    venue_name: str | None = None
    venue_address: str | None = None
    venue_city: str | None = None
    online_url: str | None = None

    @property
    def location(self) -> str:
        return ", ".join(p.strip() for p in (self.venue_name, self.venue_address, self.venue_city) if p and p.strip())


class ChangeLine(msgspec.Struct, frozen=True, kw_only=True):
    label: str
    old: str
    new: str
    # For people with a seat only (the online link): compose leaves it out for everyone else.
    confidential: bool = False


def baseline_from(changes: Iterable[Change], sequence: int) -> dict[str, dict[str, Any]]:
    """Turn the changes of one meeting.updated event into baseline entries tagged with the event's sequence."""
    return {c.field: {"seq": sequence, "old": c.old} for c in changes if c.field in CALENDAR_FIELDS}


def merge_baseline(current: Mapping[str, Any], incoming: Mapping[str, Any]) -> dict[str, Any]:
    """Keep, per field, the entry of the earliest change: events may be handled out of order by several workers."""
    merged = dict(current)
    for field, entry in incoming.items():
        known = merged.get(field)
        if known is None or int(entry["seq"]) < int(known["seq"]):
            merged[field] = entry
    return merged


def _as_datetime(value: Any, fallback: datetime) -> datetime:
    if isinstance(value, datetime):
        return value
    if isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value)
        except ValueError:
            return fallback
        return parsed if parsed.tzinfo else fallback
    return fallback


def previous(current: Placement, baseline: Mapping[str, Any]) -> Placement:
    """The placement before the window's first edit: current values overridden by the baseline's old ones."""
    old = {field: entry["old"] for field, entry in baseline.items() if field in CALENDAR_FIELDS}
    return Placement(
        starts_at=_as_datetime(old.get("starts_at"), current.starts_at),
        ends_at=_as_datetime(old.get("ends_at"), current.ends_at),
        timezone=str(old["timezone"]) if old.get("timezone") else current.timezone,
        venue_name=old.get("venue_name", current.venue_name),
        venue_address=old.get("venue_address", current.venue_address),
        venue_city=old.get("venue_city", current.venue_city),
        online_url=old.get("online_url", current.online_url),
    )


def summarise(before: Placement, after: Placement, locale: Locale) -> list[ChangeLine]:
    """Lines for what differs between two placements, in the reader's language; empty when nothing does."""
    t = STRINGS[locale]
    lines: list[ChangeLine] = []
    old_when = format_when(before.starts_at, before.ends_at, before.timezone, locale)
    new_when = format_when(after.starts_at, after.ends_at, after.timezone, locale)
    same_instants = (before.starts_at, before.ends_at) == (after.starts_at, after.ends_at)
    if not same_instants or old_when != new_when:
        lines.append(ChangeLine(label=t["field_time"], old=old_when, new=new_when))
    if before.location != after.location:
        lines.append(
            ChangeLine(label=t["field_location"], old=before.location or t["none"], new=after.location or t["none"])
        )
    if (before.online_url or "") != (after.online_url or ""):
        lines.append(
            ChangeLine(
                label=t["field_online"],
                old=before.online_url or t["none"],
                new=after.online_url or t["none"],
                confidential=True,
            )
        )
    return lines
