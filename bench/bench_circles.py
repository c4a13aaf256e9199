"""Learning circles: CP-SAT against a greedy and a random baseline, measured in the same run.

    .venv/bin/python bench/bench_circles.py                      # 400 people, circles of 6-8, 1 round, 10 s
    .venv/bin/python bench/bench_circles.py --people 2000 --rounds 4 --time-limit 30

A population like the real one: officials of the 342 municipalities (bigger ones send more, by a Zipf-like
weight), each municipality's own province, 30 % experienced. Round after round the pairs that shared a circle
before are "met before" for the next (the solver's own history); in every round the same problem is also given
to the greedy assignment (the solver's starting point) and to a random one (sizes only, like a shuffled list).
Prints per round: time to the first feasible answer and to within 5 % of the final objective, the objective of
CP-SAT, greedy and random, CP-SAT / greedy, the lower bound, repeat pairs and hard violations of each.

Pure Python and OR-Tools; no database. services/circles/cpsat.py is what the worker runs.
"""

from __future__ import annotations

import argparse
import csv
import random
import sys
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from services.circles.greedy import greedy, target_sizes  # noqa: E402
from services.circles.problem import Person, Problem, evaluate, plan  # noqa: E402
from services.circles.solver import solve  # noqa: E402

MUNICIPALITIES = ROOT / "services" / "organisations" / "data" / "municipalities.csv"


def population(n: int, seed: int) -> list[Person]:
    with MUNICIPALITIES.open(encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    rng = random.Random(seed)
    weights = [1 / (rank + 10) for rank in range(len(rows))]
    chosen = rng.choices(rows, weights=weights, k=n)
    return [Person(municipality=r["cbs_code"], region=r["province"], experienced=rng.random() < 0.3) for r in chosen]


def random_assignment(problem: Problem, k: int, seed: int) -> list[int]:
    p = plan(problem)
    slots = [
        c for c, size in enumerate(target_sizes(len(problem.people), k, p.size_lo, p.size_hi)) for _ in range(size)
    ]
    random.Random(seed).shuffle(slots)
    return slots


def pairs_of(assignment: list[int]) -> set[tuple[int, int]]:
    members: dict[int, list[int]] = {}
    for i, c in enumerate(assignment):
        members.setdefault(c, []).append(i)
    return {(a, b) for ids in members.values() for x, a in enumerate(ids) for b in ids[x + 1 :]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--people", type=int, default=400)
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--size-min", type=int, default=6)
    parser.add_argument("--size-max", type=int, default=8)
    parser.add_argument("--time-limit", type=float, default=10.0)
    parser.add_argument("--workers", type=int, default=2, help="CP-SAT search threads (the worker uses 2)")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()

    people = population(args.people, args.seed)
    towns = Counter(p.municipality for p in people)
    print(
        f"{args.people} people from {len(towns)} municipalities (largest {towns.most_common(1)[0][1]}), "
        f"circles of {args.size_min}-{args.size_max}, {args.rounds} round(s), time limit {args.time_limit:g} s, "
        f"{args.workers} search threads"
    )
    history: set[tuple[int, int]] = set()
    header = (
        f"{'round':>5} {'circles':>7} {'first s':>8} {'5% s':>6} {'total s':>8} {'status':>9} "
        f"{'cp-sat':>7} {'greedy':>7} {'random':>7} {'ratio':>6} {'bound':>6} "
        f"{'repeat cp/gr/rnd':>17} {'hard cp/gr/rnd':>15}"
    )
    print(header)
    for r in range(1, args.rounds + 1):
        problem = Problem(people=people, size_min=args.size_min, size_max=args.size_max, met_before=sorted(history))
        p = plan(problem)
        started = time.monotonic()
        start = greedy(problem, p, seed=args.seed)
        greedy_seconds = time.monotonic() - started
        solution = solve(problem, time_limit=args.time_limit, workers=args.workers, seed=args.seed)
        k = solution.plan.circles
        shuffled = random_assignment(problem, k, args.seed + r)
        scores = [evaluate(problem, a, k) for a in (solution.assignment, start, shuffled)]
        final = solution.objective
        near = next((t for t, obj in solution.progress if obj <= final * 1.05), solution.seconds)
        first = solution.first_solution_seconds
        repeats = "/".join(str(sum(c.repeat_pairs for c in s.circles)) for s in scores)
        hard = "/".join(str(len(s.violations)) for s in scores)
        ratio = scores[0].total / scores[1].total if scores[1].total else 1.0
        print(
            f"{r:>5} {k:>7} {first if first is not None else float('nan'):>8.2f} {near:>6.2f} "
            f"{solution.seconds:>8.2f} {solution.status:>9} {scores[0].total:>7} {scores[1].total:>7} "
            f"{scores[2].total:>7} {ratio:>6.2f} {solution.bound:>6} {repeats:>17} {hard:>15}"
        )
        print(f"      (greedy alone: {greedy_seconds:.2f} s)")
        history |= pairs_of(solution.assignment)


if __name__ == "__main__":
    main()
