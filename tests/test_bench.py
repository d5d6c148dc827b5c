"""The benchmark's smallest size as a smoke test (correctness only, no timing)."""

from __future__ import annotations

import pytest

from planner.run import bench
from planner.run.pipeline import solve
from planner.scenario.read import load_scenario


def test_fleet_s_runs_and_matches_the_straightforward_path(tmp_path):
    result = bench.measure("S", tmp_path)
    assert result["status"] in ("optimal", "unmet_demand", "unprotected")
    assert result["variables"] > 0 and result["nonzeros"] > 0
    scn = load_scenario(tmp_path / "fleet-S.yaml")
    fast = solve(scn)
    assert fast.total_cost == pytest.approx(result["total_cost"], rel=1e-6)
    # PuLP builds the same matrix row by row and solves it through its own HiGHS interface
    slow = solve(scn, solver="pulp-highs")
    assert slow.total_cost == pytest.approx(fast.total_cost, rel=1e-6)


def test_fleet_scenarios_are_reproducible():
    assert bench.fleet_scenario("M", seed=3) == bench.fleet_scenario("M", seed=3)
    assert bench.fleet_scenario("M", seed=3) != bench.fleet_scenario("M", seed=4)
