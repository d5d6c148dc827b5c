"""The library API: catalog -> scenario -> model -> solve -> plan."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from planner.explain import Explanation, explain
from planner.model import build_model
from planner.report import Plan, make_plan
from planner.scenario import Scenario, load_scenario
from planner.solver import Progress
from planner.tiers import solve_tiers


def solve(scenario: str | Path | Scenario, *, solver: str = "auto",
          time_limit: float | None = None, gap: float | None = None,
          threads: int | None = None, progress: Callable[[Progress], None] | None = None
          ) -> Plan:
    """Solve a scenario (a path or a loaded Scenario) and return its Plan of DataFrames."""
    return solve_and_explain(scenario, solver=solver, time_limit=time_limit, gap=gap,
                             threads=threads, progress=progress, why=False)[0]


def solve_and_explain(scenario: str | Path | Scenario, *, solver: str = "auto",
                      time_limit: float | None = None, gap: float | None = None,
                      threads: int | None = None,
                      progress: Callable[[Progress], None] | None = None, why: bool = True
                      ) -> tuple[Plan, Explanation | None]:
    """Solve, and with `why` say which constraints bind and what stood in the way."""
    scn = scenario if isinstance(scenario, Scenario) else load_scenario(scenario)
    pm = build_model(scn)
    sol = solve_tiers(pm, solver, time_limit, gap, threads, progress)
    return make_plan(pm, sol), (explain(pm, sol) if why else None)
