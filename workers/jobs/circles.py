"""Learning circles (services/circles/):

    circle_round.solve_requested    -> solve_circle_round: CP-SAT composes (or repairs) the circles
    circle_round.publish_requested  -> publish_circle_round: series, meetings and registrations, once

The solver runs in a thread, outside any transaction, on what it read; the answer is written only if the round
still asks for that solve (its solve_seq), so a re-solve or a repair asked meanwhile wins and a retried job
writes the same answer twice at most.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from schemas.events import CircleRoundPublishRequested, CircleRoundSolveRequested
from services.circles import queries as q
from services.circles.cpsat import Solution
from services.circles.loading import load
from services.circles.problem import Problem, evaluate
from services.circles.publish import publish_round
from services.circles.solver import solve
from workers.context import load_event, pool_of
from workers.registry import job

log = logging.getLogger(__name__)

# CP-SAT's search threads: the worker shares its machine with mail and feeds (two cores here).
SOLVER_THREADS = 2


def _explanation(solution: Solution, problem: Problem, limit: float) -> list[str]:
    issues = list(solution.plan.issues)
    if solution.status == "INFEASIBLE":
        issues.append(
            "De vastgezette leden en de niet-samen-wensen laten samen geen indeling toe; dit is de beste poging"
        )
    elif not issues and evaluate(problem, solution.assignment, solution.plan.circles).violations:
        # Out of time with only greedy's answer, and greedy broke a rule: say so rather than propose it.
        issues.append(
            f"Binnen {limit:g} seconden is geen indeling gevonden die aan alle harde eisen voldoet; "
            "stel opnieuw samen met meer tijd (time_limit_seconds)"
        )
    return issues


@job(timeout=240.0)
async def solve_circle_round(ctx: dict[str, Any], outbox_id: int) -> None:
    payload = (await load_event(ctx, outbox_id)).payload
    if not isinstance(payload, CircleRoundSolveRequested):
        return
    pool = pool_of(ctx)
    async with pool.acquire() as conn:
        round_ = await q.get_round(conn, payload.round_id)
        if round_ is None or round_.solve_seq != payload.seq or round_.state not in ("composing", "published"):
            return
        loaded = await load(conn, round_, mode=payload.mode)
    limit = round_.request.time_limit_seconds
    solution = await asyncio.to_thread(solve, loaded.problem, time_limit=limit, workers=SOLVER_THREADS)
    explanation = _explanation(solution, loaded.problem, limit)
    result = {
        "status": solution.status,
        "objective": solution.objective,
        "bound": solution.bound,
        "greedy_objective": solution.greedy_objective,
        "seconds": round(solution.seconds, 3),
        "first_solution_seconds": solution.first_solution_seconds,
    }
    published = round_.state == "published"
    placement = [
        (m.id, c) for m, c in zip(loaded.members, solution.assignment, strict=True) if not published or m.circle != c
    ]
    async with pool.acquire() as conn, conn.transaction():
        current = await q.get_round(conn, payload.round_id, lock=True)
        if current is None or current.solve_seq != payload.seq or current.state != round_.state:
            return
        state = "published" if published else ("infeasible" if explanation else "proposed")
        await q.save_solution(
            conn,
            payload.round_id,
            state=state,
            circle_count=solution.plan.circles,
            result=result,
            explanation=explanation,
            placement=placement,
            proposed=published,
        )
    log.info("circle round %s: %s, objective %s", payload.round_id, solution.status, solution.objective)


@job(timeout=120.0)
async def publish_circle_round(ctx: dict[str, Any], outbox_id: int) -> None:
    payload = (await load_event(ctx, outbox_id)).payload
    if not isinstance(payload, CircleRoundPublishRequested):
        return
    async with pool_of(ctx).acquire() as conn, conn.transaction():
        await publish_round(conn, payload.round_id)
