"""SQL for feeds and fragments; rows become Structs here so no asyncpg Record leaks out.

Feed reads are plain statements outside any explicit transaction: they take no lock and write nothing.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from uuid import UUID

import msgspec

from services.db import Connection, required


class MeetingSource(msgspec.Struct, frozen=True, kw_only=True):
    """Everything a meeting's calendar text is made of, read in one statement."""

    id: UUID
    title: str
    description: str
    themes: list[str]
    theme_names: list[str]
    starts_at: datetime
    ends_at: datetime
    timezone: str
    venue_name: str | None
    venue_address: str | None
    venue_city: str | None
    online_url: str | None
    audience_groups: list[str]
    audience_organisations: list[str]
    audience_regions: list[str]
    organiser_codes: list[str]
    funder_codes: list[str]
    organiser_name: str
    status: str
    sequence: int
    revision: int
    updated_at: datetime
    published_at: datetime | None
    listed: bool = True

    @property
    def public(self) -> bool:
        """Published, or cancelled after it was published; a draft (even a cancelled one) never reaches a feed."""
        return self.published_at is not None and self.status in ("published", "cancelled")


_SOURCE = """
SELECT m.id, m.title, m.description, m.themes, m.starts_at, m.ends_at, m.timezone, m.venue_name, m.venue_address,
       m.venue_city, m.online_url, m.audience_groups, m.audience_organisations, m.audience_regions, m.status,
       m.organiser_codes, m.funder_codes,
       m.sequence, m.revision, m.updated_at, m.published_at, m.listed,
       coalesce((SELECT string_agg(o.name, ', ' ORDER BY array_position(m.organiser_codes, o.code))
                 FROM organisations o WHERE o.code = ANY(m.organiser_codes)), '') AS organiser_name,
       ARRAY(SELECT t.name FROM unnest(m.themes) WITH ORDINALITY AS u(slug, i) JOIN themes t ON t.slug = u.slug
             ORDER BY u.i) AS theme_names
FROM meetings m WHERE m.id = $1
"""
_SOURCE_FIELDS = MeetingSource.__struct_fields__


async def meeting_source(conn: Connection, meeting_id: UUID) -> MeetingSource | None:
    row = await conn.fetchrow(_SOURCE, meeting_id)
    return None if row is None else MeetingSource(**{k: row[k] for k in _SOURCE_FIELDS})


class StoredFragment(msgspec.Struct, frozen=True, kw_only=True):
    """What the fragment job needs to know about the text it is about to replace."""

    revision: int
    render_version: int
    content_hash: int
    themes: list[str]
    audience_groups: list[str]
    audience_codes: list[str]
    body_codes: list[str]
    listed: bool
    rendered_for: str


async def lock_fragment(conn: Connection, meeting_id: UUID) -> StoredFragment | None:
    """Serialise fragment writers for one meeting (a transaction-scoped advisory lock) and read the current row."""
    await conn.execute("SELECT pg_advisory_xact_lock(hashtextextended($1::uuid::text, 5545))", meeting_id)
    row = await conn.fetchrow(
        "SELECT revision, render_version, content_hash, themes, audience_groups, audience_codes, body_codes, "
        "listed, rendered_for FROM meeting_fragments WHERE meeting_id = $1",
        meeting_id,
    )
    return None if row is None else StoredFragment(**dict(row))


class NewFragment(msgspec.Struct, frozen=True, kw_only=True):
    meeting_id: UUID
    revision: int
    sequence: int
    render_version: int
    cancelled: bool
    starts_at: datetime
    ends_at: datetime
    tzid: str
    themes: list[str]
    audience_groups: list[str]
    audience_codes: list[str]
    body_codes: list[str]
    listed: bool
    rendered_for: str
    vevent: bytes
    vevent_waitlisted: bytes | None
    vevent_offered: bytes | None
    vevent_confirmed: bytes | None
    content_hash: int
    dtstamp: datetime


_FRAGMENT_FIELDS = NewFragment.__struct_fields__
_UPSERT = f"""
INSERT INTO meeting_fragments ({", ".join(_FRAGMENT_FIELDS)}, updated_at)
VALUES ({", ".join(f"${i}" for i in range(1, len(_FRAGMENT_FIELDS) + 1))}, clock_timestamp())
ON CONFLICT (meeting_id) DO UPDATE SET
{", ".join(f"{name} = excluded.{name}" for name in _FRAGMENT_FIELDS[1:])}, updated_at = excluded.updated_at
"""


async def upsert_fragment(conn: Connection, fragment: NewFragment) -> None:
    await conn.execute(_UPSERT, *(getattr(fragment, name) for name in _FRAGMENT_FIELDS))


async def delete_fragment(conn: Connection, meeting_id: UUID) -> None:
    await conn.execute("DELETE FROM meeting_fragments WHERE meeting_id = $1", meeting_id)


async def mark_changed(conn: Connection, keys: Iterable[str]) -> None:
    """Record that these feeds changed now (their Last-Modified); the trigger bumps feed_state.generation."""
    await conn.execute(
        "INSERT INTO feed_changes (key, changed_at) SELECT k, clock_timestamp() FROM unnest($1::text[]) AS k "
        "ON CONFLICT (key) DO UPDATE SET changed_at = excluded.changed_at",
        sorted(set(keys)),
    )


async def stale_meetings(
    conn: Connection, cutoff: datetime, render_version: int, rendered_for: str, limit: int
) -> list[UUID]:
    """Public meetings still inside the widest feed window whose fragment is missing, older than the meeting, of an
    older RENDER_VERSION (or marked stale by a rename: render_version 0), or rendered for another base URL."""
    rows = await conn.fetch(
        """
        SELECT m.id FROM meetings m LEFT JOIN meeting_fragments f ON f.meeting_id = m.id
        WHERE m.published_at IS NOT NULL AND m.status IN ('published', 'cancelled') AND m.ends_at > $1
          AND (f.meeting_id IS NULL OR f.revision < m.revision OR f.render_version < $2 OR f.rendered_for <> $3)
        ORDER BY m.updated_at, m.id
        LIMIT $4
        """,
        cutoff,
        render_version,
        rendered_for,
        limit,
    )
    return [r["id"] for r in rows]


async def generation(conn: Connection) -> int:
    value = await conn.fetchval("SELECT generation FROM feed_state")
    return int(value or 0)


# --- reading feeds -------------------------------------------------------------------------------------------------


class FeedFilter(msgspec.Struct, frozen=True, kw_only=True):
    """Which fragments a shared feed holds; None means "no condition". Empty audiences mean everybody."""

    theme: str | None = None
    group: str | None = None
    codes: tuple[str, ...] | None = None  # an organisation's own code, province, safety region and regions
    bodies: tuple[str, ...] | None = None  # organising or funding bodies: meetings they organise or fund


def _where(a: str) -> str:
    # $1 window start (ends after it), $2 window end (starts before it), $3 theme, $4 group, $5 audience codes,
    # $6 bodies. Every shared feed is public (a body's too): a meeting off the agenda is in none of them.
    return (
        f"{a}.listed AND ({a}.starts_at < $2)"
        f" AND ($3::text IS NULL OR $3 = ANY({a}.themes))"
        f" AND ($4::text IS NULL OR cardinality({a}.audience_groups) = 0 OR $4 = ANY({a}.audience_groups))"
        f" AND ($5::text[] IS NULL OR cardinality({a}.audience_codes) = 0 OR {a}.audience_codes && $5)"
        f" AND ($6::text[] IS NULL OR {a}.body_codes && $6)"
    )


# last_gone: the end of the latest meeting that has dropped out at the back; last_in: the start of the latest one
# inside, which came in at the front (its midnight is a change of the feed too, for Last-Modified).
_VERSION = f"""
SELECT count(*) AS n, coalesce(bit_xor(f.content_hash), 0) AS x, max(f.starts_at) AS last_in,
       (SELECT max(c.changed_at) FROM feed_changes c WHERE c.key = ANY($7::text[])) AS changed_at,
       (SELECT max(g.ends_at) FROM meeting_fragments g WHERE g.ends_at <= $1 AND {_where("g")}) AS last_gone
FROM meeting_fragments f WHERE f.ends_at > $1 AND {_where("f")}
"""
_ROWS = f"""
SELECT f.vevent, f.tzid, f.content_hash FROM meeting_fragments f
WHERE f.ends_at > $1 AND {_where("f")}
ORDER BY f.starts_at, f.meeting_id
"""


class FeedVersion(msgspec.Struct, frozen=True, kw_only=True):
    count: int
    xor: int  # of the fragments' content hashes: any change to the set or to one text changes it
    changed_at: datetime | None  # the latest feed_changes mark among the feed's keys
    last_gone: datetime | None  # end of the latest meeting that has dropped out of the window
    last_in: datetime | None  # start of the latest meeting in the window


class FragmentRow(msgspec.Struct, frozen=True, kw_only=True, array_like=True):
    vevent: bytes
    tzid: str
    content_hash: int


def _args(f: FeedFilter, start: datetime, end: datetime) -> tuple[object, ...]:
    return (
        start,
        end,
        f.theme,
        f.group,
        list(f.codes) if f.codes is not None else None,
        list(f.bodies) if f.bodies is not None else None,
    )


async def feed_version(
    conn: Connection, f: FeedFilter, start: datetime, end: datetime, keys: Iterable[str]
) -> FeedVersion:
    row = required(await conn.fetchrow(_VERSION, *_args(f, start, end), list(keys)))  # an aggregate: always one row
    return FeedVersion(
        count=row["n"], xor=row["x"], changed_at=row["changed_at"], last_gone=row["last_gone"], last_in=row["last_in"]
    )


async def feed_rows(conn: Connection, f: FeedFilter, start: datetime, end: datetime) -> list[FragmentRow]:
    rows = await conn.fetch(_ROWS, *_args(f, start, end))
    return [FragmentRow(vevent=r[0], tzid=r[1], content_hash=r[2]) for r in rows]
