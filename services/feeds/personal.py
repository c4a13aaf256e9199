"""A participant's personal feed: one indexed query (registrations by participant, fragments by primary key) and a
join of the stored texts. Not cached: each feed has one subscriber, and the query is about as cheap as a cache
check would be.

Which text: a confirmed seat gets the meeting's feed text with the online link (vevent_confirmed); a place on the
waiting list or an offered seat the tentative variant (no link); a registration ended by the meeting's
cancellation keeps the meeting visible as cancelled. Optionally (`?beroepsgroep=true`) meetings aimed at the
person's professional group and organisation are added. Window (services/feeds/windows.py): registrations from
4 weeks back to a year ahead, the added meetings 3 months.

An alarm (VALARM, RFC 5545 3.6.6) is added to the person's confirmed seats when they chose one on their page
(`participants.feed_alarm_minutes`): inserted into the shared fragment text at assembly, so fragments stay the same
for everyone; the choice is part of the ETag, and changing it moves Last-Modified.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import datetime
from uuid import UUID

import msgspec

from services.calendar import assemble, feed_header
from services.db import Connection
from services.feeds import windows
from services.feeds.respond import PRIVATE_CACHE_CONTROL, PRIVATE_HEADERS, Representation, http_seconds, make_etag
from services.feeds.service import APP, DASH, FORMAT, FORMAT_SINCE, TRAILER

PERSONAL_NAME = f"{APP}{DASH}mijn bijeenkomsten"
PERSONAL_DESCRIPTION = (
    "Je inschrijvingen bij Leerkring (wachtlijst en aangeboden plekken als onder voorbehoud). "
    "Deze link is persoonlijk: deel hem niet."
)

# Every registration of the person, so that Last-Modified also moves when one ends (its row's updated_at) or
# its meeting drops out of the window; only those shown carry their text.
_SHOWN = """(r.status IN ('confirmed', 'waitlisted', 'offered')
              OR (r.status = 'cancelled' AND r.end_reason = 'meeting_cancelled'))"""
_REGISTRATIONS = f"""
SELECT f.meeting_id, f.starts_at, r.status, f.tzid, f.content_hash,
       CASE WHEN f.ends_at > $2 AND f.starts_at < $3 AND {_SHOWN}
            THEN CASE r.status WHEN 'waitlisted' THEN coalesce(f.vevent_waitlisted, f.vevent)
                               WHEN 'offered' THEN coalesce(f.vevent_offered, f.vevent)
                               WHEN 'confirmed' THEN coalesce(f.vevent_confirmed, f.vevent)
                               ELSE f.vevent END
       END,
       extract(epoch FROM greatest(r.updated_at, CASE WHEN {_SHOWN} THEN f.updated_at END))::float8,
       CASE WHEN f.ends_at <= $2 AND {_SHOWN} THEN f.ends_at END
FROM registrations r LEFT JOIN meeting_fragments f ON f.meeting_id = r.meeting_id
WHERE r.participant_id = $1
ORDER BY f.starts_at, f.meeting_id, r.n DESC
"""

# Meetings aimed explicitly at the person's professional group, and at their organisation (the same reach as
# services.meetings.queries.audience_codes_for) or at every organisation. The first row carries the change marks.
_GROUP = """
WITH p AS (
    SELECT professional_group, organisation_code, updated_at FROM participants WHERE id = $1
), codes AS (
    SELECT array_remove(ARRAY[o.code, o.province_code, o.safety_region_code], NULL)
           || coalesce((SELECT array_agg(r.code) FROM organisations r
                        WHERE r.kind = 'region' AND o.code = ANY(r.member_codes)), '{}') AS codes
    FROM p JOIN organisations o ON o.code = p.organisation_code
), meta AS (
    SELECT greatest((SELECT updated_at FROM p),
                    (SELECT max(c.changed_at) FROM feed_changes c
                     WHERE c.key IN ('org:*', 'group:' || (SELECT professional_group FROM p)))) AS changed_at,
           (SELECT max(f.ends_at) FROM p, meeting_fragments f
            WHERE f.ends_at <= $2 AND p.professional_group = ANY(f.audience_groups)) AS last_gone
)
SELECT meta.changed_at, meta.last_gone, f.meeting_id, f.starts_at, f.updated_at, f.tzid, f.content_hash, f.vevent
FROM meta LEFT JOIN (
    p JOIN meeting_fragments f ON f.ends_at > $2 AND f.starts_at < $3 AND p.professional_group = ANY(f.audience_groups)
      AND (cardinality(f.audience_codes) = 0 OR f.audience_codes && (SELECT codes FROM codes))
) ON true
ORDER BY f.starts_at, f.meeting_id
"""


ALARM_CHOICES = (15, 60, 1440)  # minutes before the start a participant can choose (the column's CHECK)
_END = b"END:VEVENT\r\n"


def alarm_block(minutes: int) -> bytes:
    """A display alarm `minutes` before the start (unfolded lines, all well under 75 octets)."""
    trigger = f"-PT{minutes}M" if minutes < 1440 else f"-P{minutes // 1440}D"
    return (f"BEGIN:VALARM\r\nACTION:DISPLAY\r\nDESCRIPTION:Herinnering\r\nTRIGGER:{trigger}\r\nEND:VALARM\r\n").encode(
        "ascii"
    )


def with_alarm(vevent: bytes, alarm: bytes) -> bytes:
    """The fragment with the alarm inside its (last) VEVENT: a VALARM is a component of the event."""
    at = vevent.rfind(_END)
    return vevent if at < 0 else vevent[:at] + alarm + vevent[at:]


class PersonalRow(msgspec.Struct, frozen=True, kw_only=True, array_like=True):
    kind: str  # confirmed | waitlisted | offered | cancelled (the meeting was) | group
    vevent: bytes
    tzid: str
    content_hash: int


class PersonalFeed(msgspec.Struct, frozen=True, kw_only=True):
    etag: str
    last_modified: int
    tzids: frozenset[str]
    fragments: Sequence[bytes]  # in start order

    def body(self) -> bytes:
        header = feed_header(PERSONAL_NAME, self.tzids, description=PERSONAL_DESCRIPTION)
        return assemble(header, self.fragments)

    def representation(self, *, with_body: bool) -> Representation:
        """The response for it; without the body (for a 304) the join is skipped, and so is its Content-Length."""
        body = self.body() if with_body else b""
        return Representation(body, self.etag, self.last_modified, PRIVATE_CACHE_CONTROL, PRIVATE_HEADERS)


async def _alarms(
    conn: Connection, participant_id: UUID, rows: list[PersonalRow], moments: list[datetime | None]
) -> tuple[list[PersonalRow], int | None]:
    """The rows with the person's chosen alarm in their confirmed seats, and the choice (None: no alarm)."""
    alarm = await conn.fetchrow(
        "SELECT feed_alarm_minutes, feed_alarm_changed_at FROM participants WHERE id = $1", participant_id
    )
    if alarm is None:
        return rows, None
    moments.append(alarm["feed_alarm_changed_at"])
    minutes: int | None = alarm["feed_alarm_minutes"]
    if not minutes:
        return rows, None
    block = alarm_block(minutes)
    return [msgspec.structs.replace(r, vevent=with_alarm(r.vevent, block)) if r.kind == "confirmed" else r
            for r in rows], minutes  # fmt: skip


async def personal_feed(conn: Connection, participant_id: UUID, *, with_group: bool) -> PersonalFeed:
    """A participant's feed (see the module docstring). Reads only."""
    window = windows.PERSONAL
    start, end = windows.bounds(window, windows.today())
    group_end = windows.today() + windows.PERSONAL_GROUP_AHEAD
    moments: list[datetime | None] = [FORMAT_SINCE]
    newest = 0.0  # POSIX seconds: registration changes and the texts shown
    picked: dict[UUID, tuple[datetime, PersonalRow]] = {}
    latest: datetime | None = None
    for meeting_id, starts_at, status, tzid, content_hash, vevent, changed, gone in await conn.fetch(
        _REGISTRATIONS, participant_id, start, end
    ):
        newest = max(newest, changed)
        if gone is not None:
            moments.append(windows.left_window_at(gone, window.back))
        if vevent is not None and meeting_id not in picked:
            row = PersonalRow(kind=status, vevent=vevent, tzid=tzid, content_hash=content_hash)
            picked[meeting_id] = (starts_at, row)
            latest = starts_at if latest is None else max(latest, starts_at)
    if latest is not None:  # the latest one shown came into the window at a midnight: a change too
        moments.append(windows.entered_window_at(latest, window.ahead))
    rows = [row for _, row in picked.values()]
    if with_group:
        added = False
        latest_group: datetime | None = None
        for changed_at, gone, meeting_id, starts_at, frag_updated, tzid, content_hash, vevent in await conn.fetch(
            _GROUP, participant_id, start, group_end
        ):
            left = windows.left_window_at(gone, window.back) if gone is not None else None
            moments += [changed_at, left, frag_updated]
            if starts_at is not None:
                latest_group = starts_at if latest_group is None else max(latest_group, starts_at)
            if vevent is not None and meeting_id not in picked:
                row = PersonalRow(kind="group", vevent=vevent, tzid=tzid, content_hash=content_hash)
                picked[meeting_id] = (starts_at, row)
                added = True
        if latest_group is not None:
            moments.append(windows.entered_window_at(latest_group, windows.PERSONAL_GROUP_AHEAD))
        if added:
            rows = [row for _, (_, row) in sorted(picked.items(), key=lambda item: (item[1][0], item[0]))]
    rows, minutes = await _alarms(conn, participant_id, rows, moments)
    header = feed_header(PERSONAL_NAME, {r.tzid for r in rows}, description=PERSONAL_DESCRIPTION)
    # Named without anything personal in the log line.
    rows = rows[: windows.fit("p/…", len(header.data) + TRAILER, [len(r.vevent) for r in rows])]
    etag = make_etag(FORMAT, PERSONAL_NAME, f"alarm:{minutes}", *(f"{r.kind}:{r.content_hash}" for r in rows))
    return PersonalFeed(
        etag=etag,
        last_modified=max(http_seconds(moments), math.ceil(newest)),
        tzids=frozenset(r.tzid for r in rows),
        fragments=[r.vevent for r in rows],
    )
