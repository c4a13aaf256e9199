"""Big rounds, block by block: CP-SAT on ~30 circles at a time, the rest held fixed (a large neighbourhood search).

Every soft goal and hard rule is a sum over circles (repeat pairs, "not together" and moves count inside a
circle or a person), so improving one block's circles without touching the others improves the whole by exactly
as much. The first pass takes the greedy circles in order; later passes reshuffle which circles share a block, so
people can move between any two circles over time. A block's answer is kept only when the whole scores no worse.
The bound is the closed form of the region goal (each province appears at most once per circle and at most once
per member), valid for the whole round; the other goals can be zero.
"""

from __future__ import annotations

import dataclasses
import random
import time
from collections.abc import Sequence

from services.circles import cpsat
from services.circles.cpsat import Solution
from services.circles.problem import Plan, Problem, evaluate, plan

BLOCK_CIRCLES = 30
# A block gets its share of the time left, but at least this long (presolve and the hint come first).
MIN_BLOCK_SECONDS = 1.5


def region_bound(problem: Problem, p: Plan) -> int:
    """A lower bound on the whole objective from the region goal alone."""
    goals = problem.goals
    sizes: dict[str, int] = {}
    for person in problem.people:
        sizes[person.region] = sizes.get(person.region, 0) + 1
    if goals.region == "spread":
        return goals.region_weight * max(0, len(problem.people) - sum(min(p.circles, n) for n in sizes.values()))
    if goals.region == "same":
        return goals.region_weight * max(0, sum(-(-n // p.size_hi) for n in sizes.values()) - p.circles)
    return 0


def _sub(problem: Problem, p: Plan, assignment: list[int], block: list[int]) -> tuple[Problem, list[int], list[int]]:
    """The block as a problem of its own: (problem, its people's global indices, their local start circles)."""
    local = {c: j for j, c in enumerate(block)}
    ids = [i for i, c in enumerate(assignment) if c in local]
    index = {i: j for j, i in enumerate(ids)}
    people = []
    for i in ids:
        person = problem.people[i]
        # A pinned person sits in their circle (greedy put them there), so it is in this block; someone whose
        # current circle lies outside the block has moved already and costs the same whatever the block does.
        pinned = None if person.pinned is None else local[person.pinned]
        current = None if person.current is None else local.get(person.current)
        people.append(dataclasses.replace(person, pinned=pinned, current=current))

    def inside(pairs: Sequence[tuple[int, int]]) -> list[tuple[int, int]]:
        return [(index[a], index[b]) for a, b in pairs if a in index and b in index]

    sub = Problem(
        people=people,
        size_min=p.size_lo,
        size_max=p.size_hi,
        apart=inside(problem.apart),
        met_before=inside(problem.met_before),
        goals=problem.goals,
        circles=len(block),
        move_weight=problem.move_weight,
    )
    return sub, ids, [local[assignment[i]] for i in ids]


def run(
    problem: Problem, p: Plan, start: list[int], *, time_limit: float, workers: int, seed: int, started: float
) -> Solution:
    """Improve `start` block by block until `time_limit` seconds after `started`."""
    greedy_total = evaluate(problem, start, p.circles).total
    best, best_total = list(start), greedy_total
    progress = [(time.monotonic() - started, best_total)]
    rng = random.Random(seed)  # noqa: S311 - which circles share a block, nothing secret
    order = list(range(p.circles))
    passes = 0
    floor = region_bound(problem, p)
    while time.monotonic() - started < time_limit - MIN_BLOCK_SECONDS and best_total > floor:
        if passes:
            rng.shuffle(order)
        chunks = [order[i : i + BLOCK_CIRCLES] for i in range(0, len(order), BLOCK_CIRCLES)]
        for n, block in enumerate(chunks):
            left = time_limit - (time.monotonic() - started)
            if left < MIN_BLOCK_SECONDS or best_total <= floor:
                break
            share = max(MIN_BLOCK_SECONDS, left / (len(chunks) - n))
            sub, ids, local_start = _sub(problem, p, best, block)
            found = cpsat.run(
                sub, plan(sub), local_start, time_limit=share, workers=workers, seed=seed, started=time.monotonic()
            )
            if found.status not in ("OPTIMAL", "FEASIBLE"):
                continue
            candidate = list(best)
            for i, c in zip(ids, found.assignment, strict=True):
                candidate[i] = block[c]
            total = evaluate(problem, candidate, p.circles).total
            if total < best_total:
                best, best_total = candidate, total
                progress.append((time.monotonic() - started, best_total))
        passes += 1
    seconds = time.monotonic() - started
    bound = min(best_total, floor)
    status = "OPTIMAL" if best_total == bound else "FEASIBLE"  # the bound is reached: nothing can be better
    return Solution(best, p, status, best_total, bound, greedy_total, seconds, progress[0][0], progress)
