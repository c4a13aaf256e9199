"""Circle rounds: ask for one (POST, the worker composes), read it with its circles and score.

The review (move, pin, re-solve, publish) is services/circles/review.py, repair services/circles/repair.py, the
publishing job's transaction services/circles/publish.py.
"""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from uuid import UUID
from zoneinfo import ZoneInfo, available_timezones

from schemas.auth import Principal
from schemas.circles import (
    Circle,
    CircleRound,
    CircleRoundIn,
    CircleRoundSummary,
    CircleScore,
    Member,
    Repair,
    RoundScore,
    Session,
)
from schemas.events import CircleRoundSolveRequested
from schemas.meetings import Venue
from services.auth.guards import require_organisation, require_role
from services.catalog.queries import active_slugs
from services.circles import queries as q
from services.circles.loading import load
from services.circles.problem import Plan, evaluate, plan, restrict
from services.dates import skipped
from services.db import Connection
from services.errors import FieldError, InvalidInput, NotFound
from services.organisations.queries import existing_codes
from services.outbox import emit
from services.participants.queries import known_to

SKIPPED_TIME = "Deze tijd bestaat niet op een van de dagen van het schema: de klok gaat dan vooruit (zomertijd)"
# One round is solved as one problem; past this the solver's time limit buys too little (bench/README.md).
MAX_MEMBERS = 5_000


def sessions_of(data: CircleRoundIn) -> list[tuple[datetime, datetime]]:
    """The sessions as UTC (start, end): given, or expanded from the rule in the round's time zone."""
    if data.sessions is not None:
        return [(s.starts_at.astimezone(UTC), s.ends_at.astimezone(UTC)) for s in data.sessions]
    if data.schedule is None:
        return []
    rule, zone = data.schedule, ZoneInfo(data.timezone)
    start, end = time.fromisoformat(rule.start_time), time.fromisoformat(rule.end_time)
    out = []
    for n in range(rule.count):
        day = rule.first_date + timedelta(weeks=n * rule.every_weeks)
        out.append(
            (
                datetime.combine(day, start, zone).astimezone(UTC),
                datetime.combine(day, end, zone).astimezone(UTC),
            )
        )
    return out


def _check_shape(data: CircleRoundIn) -> list[FieldError]:
    errors: list[FieldError] = []
    sources = [data.signup_meeting_id, data.professional_group, data.audience]
    if sum(s is not None for s in sources) != 1:
        errors.append(
            FieldError(
                field="signup_meeting_id",
                message="Geef precies één van signup_meeting_id, professional_group of audience op",
            )
        )
    if data.size_min > data.size_max:
        errors.append(FieldError(field="size_max", message="De grootste kring (size_max) is kleiner dan de kleinste"))
    if (data.sessions is None) == (data.schedule is None):
        errors.append(FieldError(field="sessions", message="Geef de bijeenkomsten (sessions) óf een schema (schedule)"))
    if data.timezone not in available_timezones():
        errors.append(FieldError(field="timezone", message=f"Onbekende tijdzone '{data.timezone}'"))
        return errors
    if data.schedule is not None and data.schedule.end_time <= data.schedule.start_time:
        errors.append(FieldError(field="schedule.end_time", message="Het einde moet na het begin liggen"))
    if data.schedule is not None and not any(e.field.startswith("schedule") for e in errors):
        # A time the clock skips on one of the days (02:30 on the last Sunday of March in Amsterdam) would be read
        # with the offset from before the change: a session an hour off, or one that ends before it starts.
        rule, zone = data.schedule, ZoneInfo(data.timezone)
        days = [rule.first_date + timedelta(weeks=n * rule.every_weeks) for n in range(rule.count)]
        for field, at in (("schedule.start_time", rule.start_time), ("schedule.end_time", rule.end_time)):
            if any(skipped(d, time.fromisoformat(at), zone) for d in days):
                errors.append(FieldError(field=field, message=SKIPPED_TIME))
    now = datetime.now(UTC)
    for i, (starts, ends) in enumerate(sessions_of(data) if not errors else []):
        name = f"sessions[{i}]" if data.sessions is not None else "schedule.first_date"
        if ends <= starts:
            errors.append(FieldError(field=f"{name}.ends_at", message="Het einde moet na het begin liggen"))
        elif starts <= now:
            errors.append(FieldError(field=name, message="Deze bijeenkomst ligt in het verleden"))
    return errors


async def _check_references(conn: Connection, organiser: str, data: CircleRoundIn) -> list[FieldError]:
    errors: list[FieldError] = []
    if data.signup_meeting_id is not None:
        owners = await conn.fetchval("SELECT organiser_codes FROM meetings WHERE id = $1", data.signup_meeting_id)
        if owners is None or organiser not in owners:
            errors.append(
                FieldError(field="signup_meeting_id", message="Deze bijeenkomst bestaat niet bij je organisatie")
            )
    groups = [data.professional_group] if data.professional_group else []
    groups += data.audience.groups if data.audience else []
    found = await active_slugs(conn, "professional_groups", groups)
    if missing := [g for g in groups if g not in found]:
        field = "professional_group" if data.professional_group in missing else "audience.groups"
        errors.append(FieldError(field=field, message=f"Onbekende beroepsgroep: {', '.join(missing)}"))
    themes = await active_slugs(conn, "themes", data.themes)
    if missing := [t for t in data.themes if t not in themes]:
        errors.append(FieldError(field="themes", message=f"Onbekend of niet actief: {', '.join(missing)}"))
    funders = await existing_codes(conn, data.funder_codes, ("funder",))
    if missing := [f for f in data.funder_codes if f not in funders]:
        errors.append(FieldError(field="funder_codes", message=f"Onbekende financier: {', '.join(missing)}"))
    return errors


def _raise(errors: list[FieldError]) -> None:
    if errors:
        raise InvalidInput(f"{errors[0].field}: {errors[0].message}", errors=errors)


def plan_errors(p: Plan) -> list[FieldError]:
    """A plan's issues as field errors: sizes name size_min, a municipality with too many people size_max (smaller
    circles make more of them)."""
    return [FieldError(field="size_max" if i.startswith("Uit ") else "size_min", message=i) for i in p.issues]


async def create(conn: Connection, principal: Principal, data: CircleRoundIn, *, best_effort: bool) -> CircleRound:
    """Read who may join, check the hard constraints can hold, and ask a worker to compose. Raises InvalidInput
    (naming the field, also for a constraint that cannot hold unless `best_effort`), Forbidden."""
    require_role(principal, "admin", "organiser")
    organiser = data.organiser_code or principal.organisation_code
    if organiser is None:
        raise InvalidInput("Geef de organiserende organisatie op", field="organiser_code")
    require_organisation(principal, [organiser], "deze kringronde")
    _raise(_check_shape(data))
    _raise(await _check_references(conn, organiser, data))
    round_ = await q.insert_round(conn, organiser, data)
    count = await q.add_population(conn, round_.id, data)
    if count == 0:
        field = (
            "signup_meeting_id"
            if data.signup_meeting_id
            else "professional_group"
            if data.professional_group
            else "audience"
        )
        raise InvalidInput("Niemand voldoet aan wie mag meedoen", field=field)
    await _check_apart(conn, principal, round_.id, data)
    loaded = await load(conn, round_, mode="compose")
    p = plan(loaded.problem)
    if p.issues and not best_effort:
        errors = plan_errors(p)
        raise InvalidInput(
            "Deze kringen kunnen niet aan alle harde eisen voldoen: "
            + "; ".join(p.issues)
            + ". Stuur ?bestEffort=true voor de indeling die er het dichtst bij komt.",
            errors=errors,
        )
    await emit(conn, round_.id, CircleRoundSolveRequested(round_id=round_.id, seq=round_.solve_seq))
    return await view(conn, principal, round_.id)


async def _check_apart(conn: Connection, principal: Principal, round_id: UUID, data: CircleRoundIn) -> None:
    """ "Not together" may name only people in this round whom the body knows (an admin: anyone in it)."""
    in_round = {
        r["participant_id"]
        for r in await conn.fetch("SELECT participant_id FROM circle_members WHERE round_id = $1", round_id)
    }
    for i, pair in enumerate(data.apart):
        for pid in pair:
            known = principal.is_admin or (
                principal.organisation_code is not None and await known_to(conn, principal.organisation_code, pid)
            )
            if pid not in in_round or not known:
                raise InvalidInput("Deze deelnemer hoort niet bij deze kringronde", field=f"apart[{i}]")
        if pair[0] == pair[1]:
            raise InvalidInput("Twee verschillende deelnemers graag", field=f"apart[{i}]")
    await q.add_apart(conn, round_id, data.apart)


async def list_rounds(
    conn: Connection, principal: Principal, after: tuple[datetime, UUID] | None, limit: int
) -> list[CircleRoundSummary]:
    """The rounds of the caller's body, every body's for an admin; newest first."""
    require_role(principal, "admin", "organiser")
    return await q.list_rounds(conn, None if principal.is_admin else principal.organisation_code, after, limit)


async def own_round(conn: Connection, principal: Principal, round_id: UUID, *, lock: bool = False) -> q.RoundRow:
    """The round, for its body or an admin; anyone else's answers like none. Raises NotFound."""
    require_role(principal, "admin", "organiser")
    round_ = await q.get_round(conn, round_id, lock=lock)
    if round_ is None or not (principal.is_admin or principal.organisation_code == round_.organiser_code):
        raise NotFound("Deze kringronde bestaat niet")
    return round_


def place_of(
    data: CircleRoundIn, places: dict[int, tuple[dict[str, str] | None, str | None]], circle: int
) -> tuple[Venue | None, str | None]:
    """Where a circle meets: its own place if one was set, else the round's venue and online link."""
    if circle in places:
        venue, online_url = places[circle]
        return (None if venue is None else Venue(**venue)), online_url
    return data.venue, data.online_url


def _member(m: q.MemberRow) -> Member:
    return Member(
        member_id=m.id,
        participant_id=m.participant_id if m.known else None,
        name=m.name,
        organisation_code=m.organisation_code,
        region=m.region,
        experienced=m.experienced,
        pinned=m.pinned,
        proposed_circle=None if m.proposed_circle is None else m.proposed_circle + 1,
    )


async def view(conn: Connection, principal: Principal, round_id: UUID) -> CircleRound:
    """The round as its organiser sees it: circles, members (details of people the body knows), score."""
    round_ = await own_round(conn, principal, round_id)
    viewer = None if principal.is_admin else round_.organiser_code
    loaded = await load(conn, round_, mode="view", viewer=viewer)
    k = loaded.circles
    placed = [m for m in loaded.members if m.circle is not None and m.circle < k]
    circles: list[Circle] = []
    score = None
    series = await q.circle_series(conn, round_id)
    places = await q.places(conn, round_id)
    if k and placed:
        # Joiners not placed yet are listed apart (`unplaced`); the circles are scored as they stand.
        keep = [i for i, m in enumerate(loaded.members) if m.circle is not None and m.circle < k]
        s = evaluate(restrict(loaded.problem, keep), [m.circle for m in placed if m.circle is not None], k)
        for c in range(k):
            cs = s.circles[c]
            circles.append(
                Circle(
                    number=c + 1,
                    members=[_member(m) for m in placed if m.circle == c],
                    score=CircleScore(
                        penalty=cs.penalty,
                        size=cs.size,
                        regions=cs.regions,
                        experienced=cs.experienced,
                        repeat_pairs=cs.repeat_pairs,
                    ),
                    series_id=series.get(c),
                    venue=place_of(round_.request, places, c)[0],
                    online_url=place_of(round_.request, places, c)[1],
                )
            )
        result = round_.result or {}
        bound = min(s.total, int(result.get("bound", 0)))
        score = RoundScore(
            objective=s.total,
            bound=bound,
            gap=0.0 if s.total <= 0 else round((s.total - bound) / s.total, 4),
            greedy_objective=int(result.get("greedy_objective", s.total)),
            solver_status=str(result.get("status", "")),
            seconds=float(result.get("seconds", 0.0)),
            violations=s.violations,
        )
    unplaced = [_member(m) for m in loaded.members if m.circle is None or m.circle >= k]
    proposals = [m for m in loaded.members if m.proposed_circle is not None and m.proposed_circle != m.circle]
    moves = sum(1 for m in proposals if m.circle is not None)
    repair = None
    if proposals:
        parts = [f"{moves} {'lid gaat' if moves == 1 else 'leden gaan'} naar een andere kring"] if moves else []
        if newcomers := len(proposals) - moves:
            who = "nieuw lid krijgt" if newcomers == 1 else "nieuwe leden krijgen"
            parts.append(f"{newcomers} {who} een kring")
        repair = Repair(moves=moves, placed=newcomers, message="Herstel: " + " en ".join(parts))
    return CircleRound(
        id=round_.id,
        title=round_.title,
        organiser_code=round_.organiser_code,
        state=round_.state,  # type: ignore[arg-type]
        size_min=round_.request.size_min,
        size_max=round_.request.size_max,
        sessions=[Session(starts_at=a, ends_at=b) for a, b in sessions_of(round_.request)],
        members=len(loaded.members),
        circles=circles,
        score=score,
        explanation=round_.explanation,
        unplaced=unplaced,
        repair=repair,
        created_at=round_.created_at,
        published_at=round_.published_at,
    )
