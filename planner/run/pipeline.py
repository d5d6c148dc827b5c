"""The library API: catalog -> scenario -> model -> solve -> plan (or a plan across futures)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from planner.errors import PlanError
from planner.futures.twostage import FuturesPlan, solve_futures
from planner.model.build import build_model
from planner.model.plan import Plan, make_plan
from planner.model.solver import Progress, SolveOptions
from planner.model.tiers import solve_tiers
from planner.reports.explain import Explanation, explain
from planner.scenario.read import Scenario, load_scenario


def solve(scenario: str | Path | Scenario, *, solver: str = "auto",
          time_limit: float | None = None, gap: float | None = None,
          threads: int | None = None, progress: Callable[[Progress], None] | None = None,
          run_map: Callable = map) -> Plan | FuturesPlan:
    """Solve a scenario (a path or a loaded Scenario) and return its Plan of DataFrames, or
    for a scenario with `uncertainty` its FuturesPlan (`run_map` runs the extra solves of
    VSS and EVPI: an executor's map)."""
    scn = scenario if isinstance(scenario, Scenario) else load_scenario(scenario)
    if scn.futures is not None:
        return solve_futures(scn, SolveOptions(solver, time_limit, gap, threads), progress,
                             run_map)
    return solve_and_explain(scn, solver=solver, time_limit=time_limit, gap=gap,
                             threads=threads, progress=progress, why=False)[0]


def solve_and_explain(scenario: str | Path | Scenario, *, solver: str = "auto",
                      time_limit: float | None = None, gap: float | None = None,
                      threads: int | None = None,
                      progress: Callable[[Progress], None] | None = None, why: bool = True
                      ) -> tuple[Plan, Explanation | None]:
    """Solve, and with `why` say which constraints bind and what stood in the way."""
    scn = scenario if isinstance(scenario, Scenario) else load_scenario(scenario)
    if scn.futures is not None:
        raise PlanError("explain works on one future: this scenario has `uncertainty` "
                        "(remove it to explain one demand forecast)", file=str(scn.file),
                        path="uncertainty")
    pm = build_model(scn)
    sol = solve_tiers(pm, solver, time_limit, gap, threads, progress)
    return make_plan(pm, sol), (explain(pm, sol) if why else None)
