"""The library API: catalog -> scenario -> model -> solve -> plan."""

from __future__ import annotations

from pathlib import Path

from planner.explain import Explanation, explain
from planner.model import build_model
from planner.report import Plan, make_plan
from planner.scenario import Scenario, load_scenario
from planner.solver import solve_lp


def solve(scenario: str | Path | Scenario, *, solver: str = "auto",
          time_limit: float | None = None, gap: float | None = None,
          threads: int | None = None) -> Plan:
    """Solve a scenario (a path or a loaded Scenario) and return its Plan of DataFrames."""
    return solve_and_explain(scenario, solver=solver, time_limit=time_limit, gap=gap,
                             threads=threads, why=False)[0]


def solve_and_explain(scenario: str | Path | Scenario, *, solver: str = "auto",
                      time_limit: float | None = None, gap: float | None = None,
                      threads: int | None = None, why: bool = True
                      ) -> tuple[Plan, Explanation | None]:
    """Solve, and with `why` say which constraints bind and what stood in the way."""
    scn = scenario if isinstance(scenario, Scenario) else load_scenario(scenario)
    pm = build_model(scn)
    sol = solve_lp(pm.lp, solver, time_limit, gap, threads)
    return make_plan(pm, sol), (explain(pm, sol) if why else None)
