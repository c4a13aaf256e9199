"""A circle round as a pure problem: who, how big, what must hold and what is wished; and how good an answer is.

No I/O here. People are indices 0..n-1; an assignment is a list of circle numbers (0..k-1), one per person.
The score below is the very objective the CP-SAT model minimises (services/circles/cpsat.py), so the figure an
organiser sees after moving someone by hand compares straight with the solver's.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

RegionGoal = Literal["spread", "same", "none"]


@dataclass(frozen=True, slots=True)
class Person:
    # The organisation the person works for (a municipality, mostly): two of one never share a circle.
    municipality: str
    region: str  # province code; "" when unknown (counts as a region of its own)
    experienced: bool
    pinned: int | None = None  # this circle, whatever else changes
    current: int | None = None  # repair: where they are now; moving them costs Problem.move_weight


@dataclass(frozen=True, slots=True)
class Goals:
    region: RegionGoal = "spread"
    region_weight: int = 3
    experience_weight: int = 2
    repeat_weight: int = 10


@dataclass(frozen=True, slots=True)
class Problem:
    people: Sequence[Person]
    size_min: int = 6
    size_max: int = 8
    apart: Sequence[tuple[int, int]] = ()  # hard: never in one circle
    met_before: Sequence[tuple[int, int]] = ()  # soft: shared a circle in an earlier round
    goals: Goals = field(default_factory=Goals)
    circles: int | None = None  # a fixed number of circles (repair keeps it); None: the fewest that fit
    move_weight: int = 0  # repair: the cost of one person moved; above every soft goal, so moves come first


@dataclass(frozen=True, slots=True)
class Plan:
    """What the solver is asked for after the feasibility check: the bounds that can hold, and why others cannot."""

    circles: int
    size_lo: int
    size_hi: int
    caps: dict[str, int]  # per municipality, members per circle at most (1 unless infeasible)
    issues: list[str]  # Dutch, one sentence per hard constraint that cannot hold, with by how much

    @property
    def feasible(self) -> bool:
        return not self.issues


def _sizes_plan(n: int, lo: int, hi: int, fixed: int | None) -> tuple[int, int, int, list[str]]:
    if fixed is not None:
        k = fixed
        if k * lo <= n <= k * hi:
            return k, lo, hi, []
        short, extra = k * lo - n, n - k * hi
        why = f"{short} te weinig" if short > 0 else f"{extra} te veel"
        return (
            k,
            min(lo, n // k),
            max(hi, -(-n // k)),
            [f"{n} deelnemers passen niet in {k} kringen van {lo}–{hi} ({why})"],
        )
    k = max(1, -(-n // hi))
    if k * lo <= n:
        return k, lo, hi, []
    # No number of circles works: k circles need more people, k-1 circles hold too few seats. Take the nearer one.
    short = k * lo - n
    fewer = k - 1
    extra = n - fewer * hi if fewer else n
    issue = (
        f"Met {n} deelnemers lukt geen indeling in kringen van {lo}–{hi}: {_circles(k)} "
        f"{'vraagt' if k == 1 else 'vragen'} er ten minste {k * lo} ({short} te weinig)"
        + (
            f", {_circles(fewer)} {'heeft' if fewer == 1 else 'hebben'} plaats voor hoogstens {fewer * hi} "
            f"({extra} te veel)"
            if fewer
            else ""
        )
    )
    if fewer and extra < short:
        k = fewer
    return k, min(lo, n // k), max(hi, -(-n // k)), [issue]


def _circles(k: int) -> str:
    return "1 kring" if k == 1 else f"{k} kringen"


def plan(problem: Problem) -> Plan:
    """The number of circles and the bounds; where a hard constraint cannot hold, the nearest that can and why."""
    n = len(problem.people)
    if n == 0:
        return Plan(circles=0, size_lo=0, size_hi=0, caps={}, issues=["Er doet niemand mee"])
    k, lo, hi, issues = _sizes_plan(n, problem.size_min, problem.size_max, problem.circles)
    caps: dict[str, int] = {}
    for municipality, count in sorted(Counter(p.municipality for p in problem.people).items()):
        caps[municipality] = -(-count // k)
        if count > k:
            issues.append(
                f"Uit {municipality} doen {count} mensen mee en er {'is' if k == 1 else 'zijn'} {_circles(k)}: "
                f"{count - k} te veel om ieder in een andere kring te zetten"
            )
    return Plan(circles=k, size_lo=lo, size_hi=hi, caps=caps, issues=issues)


@dataclass(frozen=True, slots=True)
class CircleScore:
    size: int
    regions: int  # distinct regions
    experienced: int
    repeat_pairs: int
    penalty: int  # this circle's part of the objective (without moves)


@dataclass(frozen=True, slots=True)
class Score:
    total: int
    circles: list[CircleScore]
    moved: int
    violations: list[str]  # hard constraints the assignment breaks (a hand move can), Dutch


def experience_band(problem: Problem, k: int) -> tuple[int, int]:
    """How many experienced members each circle should have: an even share, rounded both ways."""
    total = sum(p.experienced for p in problem.people)
    return total // k, -(-total // k)


def region_penalty(goal: RegionGoal, size: int, regions: int) -> int:
    """Spread: members beyond the first of a region; same: regions beyond the first."""
    if size == 0 or goal == "none":
        return 0
    return size - regions if goal == "spread" else regions - 1


def evaluate(problem: Problem, assignment: Sequence[int], k: int) -> Score:
    """The objective of an assignment, per circle and in all, and the hard constraints it breaks."""
    goals = problem.goals
    members: dict[int, list[int]] = defaultdict(list)
    for person, circle in enumerate(assignment):
        members[circle].append(person)
    lo, hi = experience_band(problem, k)
    circle_of = list(assignment)
    repeats: Counter[int] = Counter(circle_of[a] for a, b in problem.met_before if circle_of[a] == circle_of[b])
    circles: list[CircleScore] = []
    violations: list[str] = []
    for c in range(k):
        people = [problem.people[i] for i in members.get(c, [])]
        size, regions = len(people), len({p.region for p in people})
        experienced = sum(p.experienced for p in people)
        penalty = (
            goals.repeat_weight * repeats[c]
            + goals.region_weight * region_penalty(goals.region, size, regions)
            + goals.experience_weight * max(0, lo - experienced, experienced - hi)
        )
        circles.append(CircleScore(size, regions, experienced, repeats[c], penalty))
        if not problem.size_min <= size <= problem.size_max:
            violations.append(f"Kring {c + 1} heeft {size} leden (grenzen {problem.size_min}–{problem.size_max})")
        for municipality, count in Counter(p.municipality for p in people).items():
            if count > 1:
                violations.append(f"Kring {c + 1} heeft {count} leden uit {municipality}")
    for a, b in problem.apart:
        if circle_of[a] == circle_of[b]:
            violations.append(f"Kring {circle_of[a] + 1} heeft twee mensen die niet samen willen")
    moved = sum(1 for i, p in enumerate(problem.people) if p.current is not None and p.current != circle_of[i])
    total = sum(c.penalty for c in circles) + problem.move_weight * moved
    return Score(total=total, circles=circles, moved=moved, violations=violations)


def restrict(problem: Problem, keep: Sequence[int]) -> Problem:
    """The same problem for only these people (renumbered in this order); pairs with someone left out drop."""
    index = {i: j for j, i in enumerate(keep)}

    def inside(pairs: Sequence[tuple[int, int]]) -> list[tuple[int, int]]:
        return [(index[a], index[b]) for a, b in pairs if a in index and b in index]

    return Problem(
        people=[problem.people[i] for i in keep],
        size_min=problem.size_min,
        size_max=problem.size_max,
        apart=inside(problem.apart),
        met_before=inside(problem.met_before),
        goals=problem.goals,
        circles=problem.circles,
        move_weight=problem.move_weight,
    )
