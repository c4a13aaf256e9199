"""Publishing a round: every circle a series, every session a published meeting, every member registered.

All of it in the publishing job's one transaction, under the round's row lock: a crash before COMMIT leaves
nothing (the job runs again and finds the round still `publishing`), after COMMIT the round is `published` and a
second run does nothing. The mails are not sent here: each registration writes registration.confirmed to the
outbox in the same transaction, and the registration_mail job sends each member the calendar invitation (iMIP
REQUEST) for each session, with their manage and feed links; the sessions appear in their personal feed.
"""

from __future__ import annotations

from datetime import UTC, datetime
from uuid import UUID

from schemas.events import MeetingPublished
from services.circles import queries as q
from services.circles.service import place_of, sessions_of
from services.db import Connection
from services.meetings import queries as mq
from services.outbox import emit
from services.registrations.admission import take_seat

# Seats per circle meeting beyond size_max: a repair may place a joiner in a full circle until the next session.
SPARE_SEATS = 2


def circle_title(title: str, circle: int) -> str:
    return f"{title} – kring {circle + 1}"


async def publish_round(conn: Connection, round_id: UUID) -> bool:
    """Create the series, meetings and registrations once; False when there was nothing to do."""
    round_ = await q.get_round(conn, round_id, lock=True)
    if round_ is None or round_.state != "publishing":
        return False
    data = round_.request
    members = [m for m in await q.members(conn, round_id, None) if not m.left and m.circle is not None]
    sessions = sessions_of(data)
    now = datetime.now(UTC)
    places = await q.places(conn, round_id)
    for circle in sorted({m.circle for m in members if m.circle is not None}):
        series_id = await conn.fetchval(
            "INSERT INTO series (title, organiser_code) VALUES ($1, $2) RETURNING id",
            circle_title(round_.title, circle),
            round_.organiser_code,
        )
        await conn.execute(
            "INSERT INTO circle_series (round_id, circle, series_id) VALUES ($1, $2, $3)", round_id, circle, series_id
        )
        venue, online_url = place_of(data, places, circle)
        for n, (starts, ends) in enumerate(sessions, start=1):
            meeting = await mq.insert_meeting(
                conn,
                {
                    "title": f"{circle_title(round_.title, circle)} ({n}/{len(sessions)})",
                    "description": "Bijeenkomst van je leerkring. Alleen de leden van de kring zijn ingeschreven.",
                    "themes": list(data.themes),
                    "format": data.format,
                    "starts_at": starts,
                    "ends_at": ends,
                    "timezone": data.timezone,
                    "venue_name": venue.name if venue else None,
                    "venue_address": venue.address if venue else None,
                    "venue_city": venue.city if venue else None,
                    "online_url": online_url,
                    "capacity": data.size_max + SPARE_SEATS,
                    # A circle is closed: nobody registers themselves; its organisers register at any time.
                    "registration_closes_at": now,
                    "organiser_codes": [round_.organiser_code],
                    "funder_codes": list(data.funder_codes),
                    "series_id": series_id,
                    "waitlist_enabled": False,
                    "listed": False,  # only the circle's members are in it: off the agenda and the shared feeds
                },
            )
            updated = await mq.update_meeting(conn, meeting["id"], {}, bump_sequence=False, status="published")
            await emit(
                conn,
                meeting["id"],
                MeetingPublished(meeting_id=meeting["id"], sequence=updated["sequence"], revision=updated["revision"]),
            )
            for m in members:
                if m.circle == circle:
                    await take_seat(
                        conn, meeting_id=meeting["id"], participant_id=m.participant_id, staff=True, created_by=None
                    )
    await q.set_state(conn, round_id, "published")
    return True


async def future_meetings(conn: Connection, round_id: UUID, circle: int) -> list[UUID]:
    """The circle's meetings that have not started yet."""
    rows = await conn.fetch(
        """
        SELECT m.id FROM circle_series cs JOIN meetings m ON m.series_id = cs.series_id
        WHERE cs.round_id = $1 AND cs.circle = $2 AND m.status = 'published' AND m.starts_at > now()
        ORDER BY m.starts_at
        """,
        round_id,
        circle,
    )
    return [r["id"] for r in rows]
