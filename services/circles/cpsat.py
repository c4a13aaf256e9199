"""The circle round as a CP-SAT model (OR-Tools): hard constraints as constraints, soft goals as one weighted sum.

x[i][c] says person i sits in circle c. Hard: one circle each; sizes within the plan's bounds; per municipality at
most its cap per circle (1 when feasible); "not together" pairs apart; pinned people where pinned. Soft, weighted
(services/circles/problem.py Goals): pairs that met in an earlier round, region spread (or sameness), an even
share of experienced members; in repair also every person moved. The greedy assignment is a complete hint, so
the first solution is there at once and the time limit is spent improving it; the answer reports the objective
and CP-SAT's lower bound, so the gap is known.
"""

from __future__ import annotations

import time
from collections import defaultdict
from dataclasses import dataclass, field

from ortools.sat.python import cp_model

from services.circles.problem import Plan, Problem, evaluate, experience_band

# Above this many (pair x circle) constraints a repeat pair gets one "not the same circle number" constraint
# instead of one per circle: weaker propagation, but the model stays linear in size for 2,000 people.
STRONG_PAIR_LIMIT = 300_000


@dataclass(slots=True)
class Solution:
    assignment: list[int]
    plan: Plan
    status: str  # OPTIMAL, FEASIBLE (time limit: best found), INFEASIBLE, UNKNOWN (nothing better than greedy)
    objective: int
    bound: int
    greedy_objective: int
    seconds: float
    first_solution_seconds: float | None
    # (seconds, objective) for every improving solution: the benchmark's time to feasible and near-optimal.
    progress: list[tuple[float, int]] = field(default_factory=list)

    @property
    def gap(self) -> float:
        return 0.0 if self.objective <= 0 else max(0.0, (self.objective - self.bound) / self.objective)


class _Progress(cp_model.CpSolverSolutionCallback):
    def __init__(self, started: float) -> None:
        super().__init__()
        self.started = started
        self.found: list[tuple[float, int]] = []

    def on_solution_callback(self) -> None:
        self.found.append((time.monotonic() - self.started, round(self.objective_value)))


class _Model:
    def __init__(self, problem: Problem, p: Plan) -> None:
        self.problem, self.plan = problem, p
        self.m = cp_model.CpModel()
        n, k = len(problem.people), p.circles
        self.x = [[self.m.new_bool_var(f"x{i}_{c}") for c in range(k)] for i in range(n)]
        self.terms: list[cp_model.LinearExprT] = []
        self.number: list[cp_model.IntVar] = []  # each person's circle as an integer (big repeat-pair models)
        self.constant = 0
        self._hard()
        self._repeats()
        self._regions()
        self._experience()
        self._moves()
        self.m.minimize(sum(self.terms) + self.constant)

    def _hard(self) -> None:
        people, k, x = self.problem.people, self.plan.circles, self.x
        for i, person in enumerate(people):
            self.m.add_exactly_one(x[i])
            if person.pinned is not None:
                self.m.add(x[i][person.pinned] == 1)
        for c in range(k):
            column = [x[i][c] for i in range(len(people))]
            self.m.add_linear_constraint(sum(column), self.plan.size_lo, self.plan.size_hi)
        towns: dict[str, list[int]] = defaultdict(list)
        for i, person in enumerate(people):
            towns[person.municipality].append(i)
        for town, ids in towns.items():
            if len(ids) > 1:
                for c in range(k):
                    self.m.add(sum(x[i][c] for i in ids) <= self.plan.caps[town])
        for a, b in self.problem.apart:
            for c in range(k):
                self.m.add_bool_or([~x[a][c], ~x[b][c]])

    def _repeats(self) -> None:
        pairs, k, x = self.problem.met_before, self.plan.circles, self.x
        if not pairs or self.problem.goals.repeat_weight == 0:
            self.z: list[cp_model.IntVar] = []
            return
        self.z = [self.m.new_bool_var(f"z{a}_{b}") for a, b in pairs]
        if len(pairs) * k <= STRONG_PAIR_LIMIT:
            for z, (a, b) in zip(self.z, pairs, strict=True):
                for c in range(k):
                    self.m.add_bool_or([~x[a][c], ~x[b][c], z])
        else:
            self.number = [self.m.new_int_var(0, k - 1, f"g{i}") for i in range(len(x))]
            for i, row in enumerate(x):
                self.m.add(self.number[i] == sum(c * row[c] for c in range(k)))
            for z, (a, b) in zip(self.z, pairs, strict=True):
                self.m.add(self.number[a] != self.number[b]).only_enforce_if(~z)
        self.terms.append(self.problem.goals.repeat_weight * sum(self.z))

    def _regions(self) -> None:
        goals, people, k, x = self.problem.goals, self.problem.people, self.plan.circles, self.x
        self.r: dict[tuple[str, int], cp_model.IntVar] = {}
        self.appears: dict[str, cp_model.IntVar] = {}
        if goals.region == "none" or goals.region_weight == 0:
            return
        regions: dict[str, list[int]] = defaultdict(list)
        for i, person in enumerate(people):
            regions[person.region].append(i)
        # Per region, the number of circles it appears in, with the bounds that hold in every answer: at most one
        # appearance per circle and per member; at least as many circles as its members need. The objective is
        # written over these counts, so its bound comes from their domains (the LP alone reported the trivial one).
        for region, ids in regions.items():
            present = []
            for c in range(k):
                r = self.m.new_bool_var(f"r{region}_{c}")
                self.r[region, c] = r
                present.append(r)
                if goals.region == "spread":
                    # Counted only when present; as a linear inequality, so the LP knows it too.
                    self.m.add(sum(x[i][c] for i in ids) >= r)
                else:
                    for i in ids:
                        self.m.add_implication(x[i][c], r)
            least = -(-len(ids) // self.plan.size_hi) if goals.region == "same" else 0
            count = self.m.new_int_var(least, min(k, len(ids)), f"n{region}")
            self.m.add(count == sum(present))
            self.appears[region] = count
        total = sum(self.appears.values())
        if goals.region == "spread":  # sum over circles of (size - regions) = n - all appearances
            self.terms.append(-goals.region_weight * total)
            self.constant += goals.region_weight * len(people)
        else:  # sum over circles of (regions - 1)
            self.terms.append(goals.region_weight * total)
            self.constant -= goals.region_weight * k

    def _experience(self) -> None:
        problem, k, x = self.problem, self.plan.circles, self.x
        self.dev: list[cp_model.IntVar] = []
        if problem.goals.experience_weight == 0:
            return
        lo, hi = experience_band(problem, k)
        ids = [i for i, p in enumerate(problem.people) if p.experienced]
        for c in range(k):
            d = self.m.new_int_var(0, len(problem.people), f"d{c}")
            count = sum(x[i][c] for i in ids)
            self.m.add(d >= lo - count)
            self.m.add(d >= count - hi)
            self.dev.append(d)
        self.terms.append(problem.goals.experience_weight * sum(self.dev))

    def _moves(self) -> None:
        if self.problem.move_weight == 0:
            return
        stay = [self.x[i][p.current] for i, p in enumerate(self.problem.people) if p.current is not None]
        self.terms.append(-self.problem.move_weight * sum(stay))
        self.constant += self.problem.move_weight * len(stay)

    def hint(self, assignment: list[int]) -> None:
        """A complete hint: every variable's value in this assignment, so CP-SAT starts from a solution."""
        for i, row in enumerate(self.x):
            for c, var in enumerate(row):
                self.m.add_hint(var, assignment[i] == c)
        for z, (a, b) in zip(self.z, self.problem.met_before, strict=False):
            self.m.add_hint(z, assignment[a] == assignment[b])
        for var, circle in zip(self.number, assignment, strict=False):
            self.m.add_hint(var, circle)
        present = {(self.problem.people[i].region, c) for i, c in enumerate(assignment)}
        for key, var in self.r.items():
            self.m.add_hint(var, key in present)
        for region, count in self.appears.items():
            self.m.add_hint(count, sum(1 for r, _ in present if r == region))
        if self.dev:
            lo, hi = experience_band(self.problem, self.plan.circles)
            for c, d in enumerate(self.dev):
                e = sum(1 for i, p in enumerate(self.problem.people) if p.experienced and assignment[i] == c)
                self.m.add_hint(d, max(0, lo - e, e - hi))


def run(
    problem: Problem, p: Plan, start: list[int], *, time_limit: float, workers: int, seed: int, started: float
) -> Solution:
    """CP-SAT on the whole problem from `start` (a complete hint) until `time_limit` seconds after `started`."""
    greedy_total = evaluate(problem, start, p.circles).total
    model = _Model(problem, p)
    model.hint(start)
    solver = cp_model.CpSolver()
    solver.parameters.max_time_in_seconds = max(0.1, time_limit - (time.monotonic() - started))
    solver.parameters.num_workers = workers
    solver.parameters.random_seed = seed
    # Symmetry breaking in presolve relabels circles and so turns the complete hint "infeasible": CP-SAT then spends
    # seconds on a first solution it was given. Measured on 400 people: the hint survives only without it.
    solver.parameters.symmetry_level = 0
    # Probing is most of presolve on these models and finds little (400 people, round 2: 5.2 s -> 3.4 s to the
    # first solution, same objective or better at the limit).
    solver.parameters.cp_model_probing_level = 0
    progress = _Progress(started)
    status = solver.solve(model.m, progress)
    seconds = time.monotonic() - started
    first = progress.found[0][0] if progress.found else None
    if status in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        assignment = [next(c for c, var in enumerate(row) if solver.value(var)) for row in model.x]
        objective = evaluate(problem, assignment, p.circles).total
        bound = min(objective, max(0, round(solver.best_objective_bound)))
        name = "OPTIMAL" if status == cp_model.OPTIMAL else "FEASIBLE"
        return Solution(assignment, p, name, objective, bound, greedy_total, seconds, first, progress.found)
    # Infeasible (pins or "not together" wishes that cannot all hold) or nothing found in time: greedy, as it is.
    name = "INFEASIBLE" if status == cp_model.INFEASIBLE else "UNKNOWN"
    return Solution(list(start), p, name, greedy_total, 0, greedy_total, seconds, first, progress.found)
