"""Compose circles: greedy first, then CP-SAT on the whole round, or on blocks of circles for big rounds.

A round of 400 people (50 circles, 20,000 assignment variables) solves as one CP-SAT model. At 2,000 people the
model alone takes Python 14 s to build and CP-SAT longer to presolve than a time limit allows, so big rounds are
improved block by block (services/circles/blocks.py): the same model over ~30 circles at a time.
"""

from __future__ import annotations

import time

from services.circles import blocks, cpsat
from services.circles.cpsat import Solution
from services.circles.greedy import greedy
from services.circles.problem import Problem, plan


def solve(problem: Problem, *, time_limit: float = 10.0, workers: int = 2, seed: int = 0) -> Solution:
    """The best assignment found within `time_limit` seconds; never worse than a greedy start that
    keeps the same hard rules (it starts from greedy, which may break a "not together" wish that CP-SAT keeps)."""
    started = time.monotonic()
    p = plan(problem)
    if p.circles == 0:
        return Solution([], p, "INFEASIBLE", 0, 0, 0, 0.0, None)
    start = greedy(problem, p, seed=seed)
    run = blocks.run if p.circles > blocks.BLOCK_CIRCLES else cpsat.run
    return run(problem, p, start, time_limit=time_limit, workers=workers, seed=seed, started=started)
