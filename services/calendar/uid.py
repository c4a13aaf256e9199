"""The one UID a meeting has in every calendar object we ever write: feeds, invitations, updates, cancellations.

Clients match updates and cancellations by UID alone (CALENDAR-INTEROP A7), so this format is frozen: changing it
would duplicate every meeting in every subscribed calendar and orphan every invitation already sent.
"""

from __future__ import annotations

from uuid import UUID

UID_DOMAIN = "leerkring.nl"


def meeting_uid(meeting_id: UUID | str) -> str:
    """The iCalendar UID of a meeting, e.g. '0b6f3c1e-…-5e1f0c2b7a10@leerkring.nl'; raises ValueError for a non-UUID."""
    return f"{UUID(str(meeting_id))}@{UID_DOMAIN}"
