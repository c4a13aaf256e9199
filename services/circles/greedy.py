"""A greedy assignment: the solver's starting point (hint) and the baseline the benchmark compares against.

Deal people out like cards, the biggest municipality first, each into the open circle where they break nothing
and cost least. It is fast and usually feasible; CP-SAT then improves it (or repairs what greedy broke).
"""

from __future__ import annotations

import random
from collections import Counter, defaultdict

from services.circles.problem import Plan, Problem, experience_band


def target_sizes(n: int, k: int, lo: int, hi: int) -> list[int]:
    """Sizes as even as possible: the first n % k circles take one more."""
    base, extra = divmod(n, k)
    return [max(lo, min(hi, base + (1 if c < extra else 0))) for c in range(k)]


def _order(problem: Problem, seed: int) -> list[int]:
    counts = Counter(p.municipality for p in problem.people)
    degree: Counter[int] = Counter()
    for a, b in problem.apart:
        degree[a] += 1
        degree[b] += 1
    rng = random.Random(seed)  # noqa: S311 - ties broken reproducibly, nothing secret
    ties = {i: rng.random() for i in range(len(problem.people))}
    free = [i for i, p in enumerate(problem.people) if p.pinned is None and p.current is None]
    return sorted(free, key=lambda i: (-counts[problem.people[i].municipality], -degree[i], ties[i]))


def greedy(problem: Problem, plan: Plan, *, seed: int = 0) -> list[int]:
    """One circle per person; pinned people where pinned, in repair everyone else where they are now."""
    n, k = len(problem.people), plan.circles
    sizes = target_sizes(n, k, plan.size_lo, plan.size_hi)
    assignment = [-1] * n
    members: dict[int, list[int]] = defaultdict(list)
    for i, p in enumerate(problem.people):
        placed = p.pinned if p.pinned is not None else p.current
        if placed is not None:
            assignment[i] = placed
            members[placed].append(i)
    partners: dict[int, set[int]] = defaultdict(set)
    for a, b in problem.apart:
        partners[a].add(b)
        partners[b].add(a)
    met: dict[int, set[int]] = defaultdict(set)
    for a, b in problem.met_before:
        met[a].add(b)
        met[b].add(a)
    band = experience_band(problem, k)
    for i in _order(problem, seed):
        costs = [_cost(problem, plan, band, members[c], sizes[c], i, partners[i], met[i]) for c in range(k)]
        best = min(range(k), key=costs.__getitem__)
        assignment[i] = best
        members[best].append(i)
    _balance(problem, plan, assignment, members)
    return assignment


def _balance(problem: Problem, plan: Plan, assignment: list[int], members: dict[int, list[int]]) -> None:
    """Repair: someone left a circle below its minimum (or joiners pushed one past its maximum); move one person
    at a time from the fullest circle that can spare one, choosing someone who breaks no rule where they land."""
    people = problem.people
    apart = {frozenset(pair) for pair in problem.apart}

    def fits(i: int, c: int) -> bool:
        inside = members[c]
        town = sum(people[j].municipality == people[i].municipality for j in inside)
        return town < plan.caps[people[i].municipality] and not any(frozenset((i, j)) in apart for j in inside)

    for _ in range(len(people)):
        short = [c for c in range(plan.circles) if len(members[c]) < plan.size_lo]
        over = [c for c in range(plan.circles) if len(members[c]) > plan.size_hi]
        if short:
            to, sources = short[0], [c for c in range(plan.circles) if len(members[c]) > plan.size_lo]
        elif over:
            to, sources = -1, over
        else:
            return
        moved = False
        for source in sorted(sources, key=lambda c: -len(members[c])):
            targets = [to] if to >= 0 else [c for c in range(plan.circles) if len(members[c]) < plan.size_hi]
            for i in members[source]:
                target = next((c for c in targets if people[i].pinned is None and fits(i, c)), None)
                if target is not None:
                    members[source].remove(i)
                    members[target].append(i)
                    assignment[i] = target
                    moved = True
                    break
            if moved:
                break
        if not moved:
            return  # nobody can move without breaking a rule: CP-SAT (or the explanation) has to say more


def _cost(
    problem: Problem,
    plan: Plan,
    band: tuple[int, int],
    inside: list[int],
    size: int,
    i: int,
    partners: set[int],
    met: set[int],
) -> tuple[int, int, int]:
    """What putting person i into a circle with `inside` breaks (first) and costs (then); fuller circles last."""
    person, people, goals = problem.people[i], problem.people, problem.goals
    lo, hi = band
    same_town = sum(people[j].municipality == person.municipality for j in inside)
    broken = (
        (len(inside) >= size) * 4
        + (same_town >= plan.caps[person.municipality]) * 2
        + any(j in partners for j in inside)
    )
    regions = {people[j].region for j in inside}
    soft = goals.repeat_weight * sum(j in met for j in inside)
    present = person.region in regions
    if (goals.region == "spread" and present) or (goals.region == "same" and inside and not present):
        soft += goals.region_weight
    experienced = sum(people[j].experienced for j in inside)
    if person.experienced and experienced >= hi:
        soft += goals.experience_weight
    if not person.experienced and len(inside) - experienced >= size - lo:
        soft += goals.experience_weight
    return broken, soft, len(inside) - size
