"""Request bodies for tests: valid by default, override what a test is about."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any


def meeting_body(**overrides: Any) -> dict[str, Any]:
    start = (datetime.now(UTC) + timedelta(days=30)).replace(hour=8, minute=0, second=0, microsecond=0)
    body: dict[str, Any] = {
        "title": "Casuïstiek in het sociaal domein",
        "description": "We bespreken casussen uit de praktijk.",
        "themes": ["de-bedoeling"],
        "format": "casuistiekbespreking",
        "starts_at": start.isoformat(),
        "ends_at": (start + timedelta(hours=3)).isoformat(),
        "timezone": "Europe/Amsterdam",
        "venue": {"name": "Stadhuis", "address": "Spui 70", "city": "Den Haag"},
        "capacity": 30,
        "audience": {"groups": ["wmo-consulent"], "organisations": [], "regions": []},
        "funder_codes": ["AOF"],
    }
    body.update(overrides)
    return body


def participant_body(n: int = 0, **overrides: Any) -> dict[str, Any]:
    """A participant's details; `n` makes the e-mail address unique."""
    body: dict[str, Any] = {
        "email": f"deelnemer{n}@gemeente.example.nl",
        "name": f"Deelnemer {n}",
        "organisation_code": "GM0518",
        "professional_group": "wmo-consulent",
    }
    body.update(overrides)
    return body


def spring_change() -> date:
    """The next year's last Sunday of March: the day Dutch clocks go from 02:00 to 03:00."""
    last = date(datetime.now(UTC).year + 1, 3, 31)
    return last - timedelta(days=(last.weekday() + 1) % 7)
