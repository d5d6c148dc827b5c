"""The bundled catalog passes its own check and every bundled scenario solves against it."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

import planner
from planner.cli import app

ROOT = Path(__file__).parent.parent


def test_bundled_catalog_passes_check():
    result = CliRunner().invoke(app, ["catalog", "check", str(ROOT / "catalogs" / "default")])
    assert result.exit_code == 0, result.output
    assert "families (4): gpu, inferentia, tpu, trainium" in result.stdout


@pytest.mark.parametrize("name,status", [("inference-2027h1", "optimal"),
                                         ("committed-resilient", "optimal"),
                                         ("short-capacity", "unmet_demand"),
                                         ("team-eu-uk", "optimal"),
                                         ("uncertain-demand", "optimal")])
def test_bundled_scenario_solves_in_whole_instances(name, status):
    plan = planner.solve(ROOT / "scenarios" / f"{name}.yaml")
    assert plan.scenario.integer
    if name == "uncertain-demand":
        for what in (plan.vss, plan.evpi):  # proven, or an interval
            assert 0 <= what.low <= what.high
            assert what.value is None or what.value >= -1e-6
        assert len(plan.commitments())
        return
    assert plan.status == status
    assert plan.total_cost > 0
    assert plan.solver["gap"] <= 1e-3
    assert (plan.purchases["instances"] == plan.purchases["instances"].round()).all()
