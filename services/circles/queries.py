"""SQL for circle rounds; rows become plain values or Structs here."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

import msgspec

from schemas.circles import CircleRoundIn, CircleRoundSummary
from services.db import Connection, required
from services.participants.queries import KNOWN_TO

ROUND_COLUMNS = (
    "id, organiser_code, title, state, request, solve_seq, solve_mode, circle_count, result, explanation, "
    "created_at, updated_at, published_at"
)

# Experienced: attended three or more meetings before the round was asked for.
_EXPERIENCED = "(SELECT count(*) FROM attendance a WHERE a.participant_id = p.id AND a.status = 'attended') >= 3"

_FROM_SIGNUP = f"""
INSERT INTO circle_members (round_id, participant_id, experienced)
SELECT $1, p.id, {_EXPERIENCED}
FROM registrations r JOIN participants p ON p.id = r.participant_id
WHERE r.meeting_id = $2 AND r.status = 'confirmed' AND p.erased_at IS NULL
ON CONFLICT DO NOTHING
"""

# By criteria only people who proved their address and asked for invitations, as an invitation fan-out does.
_FROM_AUDIENCE = f"""
INSERT INTO circle_members (round_id, participant_id, experienced)
SELECT $1, p.id, {_EXPERIENCED}
FROM participants p LEFT JOIN organisations o ON o.code = p.organisation_code
WHERE p.erased_at IS NULL AND p.verified_at IS NOT NULL AND p.invitation_consent
  AND (cardinality($2::text[]) = 0 OR p.professional_group = ANY($2))
  AND ((cardinality($3::text[]) = 0 AND cardinality($4::text[]) = 0)
       OR p.organisation_code = ANY($3) OR o.province_code = ANY($4) OR o.safety_region_code = ANY($4))
ON CONFLICT DO NOTHING
"""


@dataclass(frozen=True, slots=True)
class RoundRow:
    id: UUID
    organiser_code: str
    title: str
    state: str
    request: CircleRoundIn
    solve_seq: int
    solve_mode: str
    circle_count: int | None
    result: dict[str, Any] | None
    explanation: list[str]
    created_at: Any
    updated_at: Any
    published_at: Any


@dataclass(frozen=True, slots=True)
class MemberRow:
    id: UUID
    participant_id: UUID
    circle: int | None
    pinned: bool
    proposed_circle: int | None
    experienced: bool
    organisation_code: str | None
    region: str | None
    left: bool
    known: bool
    name: str | None


def _round(row: Any) -> RoundRow:
    values = dict(row)
    values["request"] = msgspec.convert(row["request"], CircleRoundIn)
    values["explanation"] = list(row["explanation"])
    return RoundRow(**values)


async def insert_round(conn: Connection, organiser_code: str, data: CircleRoundIn) -> RoundRow:
    row = await conn.fetchrow(
        f"INSERT INTO circle_rounds (organiser_code, title, state, request) VALUES ($1, $2, 'composing', $3) "
        f"RETURNING {ROUND_COLUMNS}",
        organiser_code,
        data.title.strip(),
        msgspec.to_builtins(data),
    )
    return _round(required(row))


async def add_population(conn: Connection, round_id: UUID, data: CircleRoundIn) -> int:
    """Read who may join into circle_members; returns how many."""
    if data.signup_meeting_id is not None:
        status = await conn.execute(_FROM_SIGNUP, round_id, data.signup_meeting_id)
    else:
        groups = list(data.audience.groups) if data.audience else []
        if data.professional_group:
            groups.append(data.professional_group)
        status = await conn.execute(
            _FROM_AUDIENCE,
            round_id,
            groups,
            list(data.audience.organisations) if data.audience else [],
            list(data.audience.regions) if data.audience else [],
        )
    return int(status.split()[-1])


async def add_apart(conn: Connection, round_id: UUID, pairs: list[tuple[UUID, UUID]]) -> None:
    await conn.executemany(
        "INSERT INTO circle_apart (round_id, a, b) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
        [(round_id, min(a, b), max(a, b)) for a, b in pairs if a != b],
    )


async def list_rounds(
    conn: Connection, organiser_code: str | None, after: tuple[datetime, UUID] | None, limit: int
) -> list[CircleRoundSummary]:
    """A body's rounds (every body's for None), newest first, a page after `after` (created_at, id)."""
    rows = await conn.fetch(
        """
        SELECT r.id, r.title, r.organiser_code, r.state, r.circle_count AS circles, r.created_at, r.published_at,
               (SELECT count(*) FROM circle_members m WHERE m.round_id = r.id AND m.left_at IS NULL) AS members
        FROM circle_rounds r
        WHERE ($1::text IS NULL OR r.organiser_code = $1)
          AND ($2::timestamptz IS NULL OR (r.created_at, r.id) < ($2::timestamptz, $3::uuid))
        ORDER BY r.created_at DESC, r.id DESC
        LIMIT $4
        """,
        organiser_code,
        after[0] if after else None,
        after[1] if after else None,
        limit,
    )
    return [CircleRoundSummary(**dict(r)) for r in rows]


async def get_round(conn: Connection, round_id: UUID, *, lock: bool = False) -> RoundRow | None:
    suffix = " FOR UPDATE" if lock else ""
    row = await conn.fetchrow(f"SELECT {ROUND_COLUMNS} FROM circle_rounds WHERE id = $1{suffix}", round_id)
    return None if row is None else _round(row)


async def members(conn: Connection, round_id: UUID, viewer: str | None) -> list[MemberRow]:
    """Everyone in the round (those who left too); `known` and the name only where `viewer` knows them (None:
    an admin or a worker, who may)."""
    known = "true" if viewer is None else KNOWN_TO.format(participant="p.id", organisation="$2")
    rows = await conn.fetch(
        f"""
        SELECT m.id, m.participant_id, m.circle, m.pinned, m.proposed_circle, m.experienced,
               p.organisation_code, o.province_code AS region, m.left_at IS NOT NULL AS left,
               {known} AS known, p.name
        FROM circle_members m JOIN participants p ON p.id = m.participant_id
        LEFT JOIN organisations o ON o.code = p.organisation_code
        WHERE m.round_id = $1 {"AND $2::text IS NULL" if viewer is None else ""}
        ORDER BY m.circle NULLS LAST, m.joined_at, m.id
        """,
        round_id,
        viewer,
    )
    return [MemberRow(**{**dict(r), "name": r["name"] if r["known"] else None}) for r in rows]


async def apart_pairs(conn: Connection, round_id: UUID) -> list[tuple[UUID, UUID]]:
    rows = await conn.fetch("SELECT a, b FROM circle_apart WHERE round_id = $1", round_id)
    return [(r["a"], r["b"]) for r in rows]


async def met_before(conn: Connection, round_id: UUID, organiser_code: str) -> list[tuple[UUID, UUID]]:
    """Pairs of this round's people who shared a circle in an earlier published round of the same body."""
    rows = await conn.fetch(
        """
        SELECT DISTINCT a.participant_id AS a, b.participant_id AS b
        FROM circle_rounds r
        JOIN circle_members a ON a.round_id = r.id AND a.circle IS NOT NULL
        JOIN circle_members b ON b.round_id = r.id AND b.circle = a.circle AND a.participant_id < b.participant_id
        WHERE r.organiser_code = $2 AND r.id <> $1 AND r.state = 'published'
          AND a.participant_id IN (SELECT participant_id FROM circle_members WHERE round_id = $1 AND left_at IS NULL)
          AND b.participant_id IN (SELECT participant_id FROM circle_members WHERE round_id = $1 AND left_at IS NULL)
        """,
        round_id,
        organiser_code,
    )
    return [(r["a"], r["b"]) for r in rows]


async def save_solution(
    conn: Connection,
    round_id: UUID,
    *,
    state: str,
    circle_count: int,
    result: dict[str, Any],
    explanation: list[str],
    placement: list[tuple[UUID, int]],
    proposed: bool,
) -> None:
    """Write a solver's answer: the circles themselves, or (a repair of a published round) only proposals."""
    column = "proposed_circle" if proposed else "circle"
    if proposed:  # a new repair replaces any earlier proposal that was not applied
        await conn.execute("UPDATE circle_members SET proposed_circle = NULL WHERE round_id = $1", round_id)
    await conn.executemany(
        f"UPDATE circle_members SET {column} = $2 WHERE id = $1",
        [(member_id, circle) for member_id, circle in placement],
    )
    await conn.execute(
        "UPDATE circle_rounds SET state = $2, circle_count = $3, result = $4, explanation = $5, updated_at = now() "
        "WHERE id = $1",
        round_id,
        state,
        circle_count,
        result,
        explanation,
    )


async def set_state(conn: Connection, round_id: UUID, state: str, *, bump: bool = False, mode: str = "compose") -> int:
    """Change the state; `bump` starts a new solve (its seq is returned)."""
    seq = await conn.fetchval(
        "UPDATE circle_rounds SET state = $2, updated_at = now(), "
        "solve_seq = solve_seq + CASE WHEN $3 THEN 1 ELSE 0 END, "
        "solve_mode = CASE WHEN $3 THEN $4 ELSE solve_mode END, "
        "published_at = CASE WHEN $2 = 'published' THEN now() ELSE published_at END "
        "WHERE id = $1 RETURNING solve_seq",
        round_id,
        state,
        bump,
        mode,
    )
    return int(seq)


async def circle_series(conn: Connection, round_id: UUID) -> dict[int, UUID]:
    rows = await conn.fetch("SELECT circle, series_id FROM circle_series WHERE round_id = $1", round_id)
    return {r["circle"]: r["series_id"] for r in rows}


async def places(conn: Connection, round_id: UUID) -> dict[int, tuple[dict[str, str] | None, str | None]]:
    """Each circle's own place, where one was set: (venue, online_url)."""
    rows = await conn.fetch("SELECT circle, venue, online_url FROM circle_places WHERE round_id = $1", round_id)
    return {r["circle"]: (r["venue"], r["online_url"]) for r in rows}


async def set_place(
    conn: Connection, round_id: UUID, circle: int, venue: dict[str, str] | None, online_url: str | None
) -> None:
    await conn.execute(
        "INSERT INTO circle_places (round_id, circle, venue, online_url) VALUES ($1, $2, $3, $4) "
        "ON CONFLICT (round_id, circle) DO UPDATE SET venue = EXCLUDED.venue, online_url = EXCLUDED.online_url",
        round_id,
        circle,
        venue,
        online_url,
    )
