"""Sweeps worked out by hand, the same answers from every executor, and the sweep's CLI.

One month (February 2027: 672 hours), fractional chips, demand us-east 8000 tokens/s: 4
h100-sxm chips at 2000 tokens/s each, cheapest on aws at 10 per chip-hour less its discount.
"""

from __future__ import annotations

import importlib.util
import io
import json
import sys

import pandas as pd
import pytest
from typer.testing import CliRunner

import planner
from planner.cli import app
from planner.errors import PlanError
from planner.run.executor import executor
from planner.run.sweep import parse_settings, sweep

from conftest import workload

FEB = "horizon: {start: 2027-02, months: 1}\npurchase: {integer: false}\n"
SETTINGS = {"providers.aws.discount": [0, 0.1], "demand": [1, 2]}
COSTS = [4 * 10 * 672, 8 * 10 * 672, 4 * 9 * 672, 8 * 9 * 672]  # the last key varies fastest


@pytest.fixture
def scenario(make):
    return make(FEB + workload("{us-east: 8000}"))


def test_hand_computed_sweep(scenario):
    planner.solve(scenario)  # HiGHS's threads started by a solve of default settings first
    with executor(workers=1) as here:
        table = sweep(scenario, SETTINGS, here)
    assert list(table.columns) == ["providers.aws.discount", "demand", "status", "total_cost",
                                   "unmet", "unprotected", "provider:aws",
                                   "accelerator:h100-sxm"]
    assert table["providers.aws.discount"].tolist() == [0, 0, 0.1, 0.1]
    assert table["demand"].tolist() == [1, 2, 1, 2]
    assert table["status"].eq("optimal").all()
    assert table["total_cost"].tolist() == pytest.approx(COSTS)
    assert table["provider:aws"].tolist() == pytest.approx(COSTS)
    assert table["accelerator:h100-sxm"].tolist() == pytest.approx(COSTS)
    assert (table[["unmet", "unprotected"]] == 0).all().all()


def test_unmet_and_costs_per_provider(make):
    # aws capped at 1 chip: 1 aws chip (10) + 3 gcp chips (11); with gcp capped at 1 chip
    # too, 2 chips serve 4000 of the 8000 tokens/s. (LPs are solved by an interior point
    # method: chips within 1e-5 of the hand-computed ones.)
    path = make(FEB + workload("{us-east: 8000}") +
                "limits:\n  - {provider: aws, chips: 1}\n  - {provider: gcp, chips: 8}\n")
    with executor(workers=1) as here:
        table = sweep(path, {"limits[1].chips": [8, 1]}, here)
    first, second = table.to_dict("records")
    assert first["status"] == "optimal"
    assert first["provider:aws"] == pytest.approx(1 * 10 * 672, abs=0.1)
    assert first["provider:gcp"] == pytest.approx(3 * 11 * 672, abs=0.1)
    assert second["status"] == "unmet_demand"
    assert second["unmet"] == pytest.approx(4000, abs=0.01)
    assert second["total_cost"] == pytest.approx((10 + 11) * 672, abs=0.1)


def test_local_processes_answer_as_in_process(scenario):
    with executor(workers=1) as here, executor(workers=2) as pool:
        pd.testing.assert_frame_equal(sweep(scenario, SETTINGS, here),
                                      sweep(scenario, SETTINGS, pool), check_exact=True)


@pytest.mark.skipif(importlib.util.find_spec("ray") is None, reason="Ray is not installed")
def test_ray_answers_as_local_processes(scenario):
    import ray

    with executor(workers=2) as pool:
        local = sweep(scenario, SETTINGS, pool)
    try:
        with executor(workers=2, ray=True) as on_ray:  # a local Ray of 2 CPUs
            remote = sweep(scenario, SETTINGS, on_ray)
            assert ray.is_initialized()
        assert not ray.is_initialized()  # started by the executor, shut down by it
    finally:
        ray.shutdown()
    pd.testing.assert_frame_equal(local, remote, check_exact=True)
    assert remote["total_cost"].round(2).tolist() == COSTS


def test_overrides_and_their_errors(scenario):
    scn = planner.load_scenario(scenario, overrides={"budget.monthly_max": 5.0e7,
                                                     "providers.gcp.discount": 0.2})
    assert scn.monthly_max == 5.0e7 and scn.discount == {"gcp": 0.2}
    cases = {
        # a bad value: where it was set, the key, what was expected
        "budget.monthly_max": (-1, ("s.yaml:--set budget.monthly_max=-1: budget.monthly_max: "
                                   "expected a positive number, got -1")),
        "purchase.integer": ("maybe", ("--set purchase.integer=maybe: purchase.integer: "
                                      "expected true or false")),
        # not a scenario key: the closest known ones
        "providers.aws.discont": (0.1, ("providers.aws.discont: unknown key 'discont'; "
                                       "closest known: discount")),
        "workloads.chatt.slo.ttft_ms": (100, ("workloads.chatt: unknown workload 'chatt'; "
                                             "closest known: chat")),
        "providers.awz.discount": (0.1, "unknown provider 'awz'; closest known: aws"),
        "limits[0].chips": (1, "limits: expected a list with an item 0 to set"),
    }
    for key, (value, message) in cases.items():
        with pytest.raises(PlanError) as caught:
            planner.load_scenario(scenario, overrides={key: value})
        assert message in str(caught.value)


def test_settings_read_as_yaml_scalars():
    assert parse_settings(["budget.monthly_max=5.0e7,1e6", "purchase.integer=true,false",
                           "resilience.survive=region"]) == {
        "budget.monthly_max": [5.0e7, 1e6], "purchase.integer": [True, False],
        "resilience.survive": ["region"]}
    for bad, message in (("demand", "--set: expected KEY=V1,V2,..., got 'demand'"),
                         ("demand=1,", ("--set demand: expected a number, true, false or a "
                                       "name, got ''"))):
        with pytest.raises(PlanError, match=message):
            parse_settings([bad])
    with pytest.raises(PlanError, match="demand is set twice"):
        parse_settings(["demand=1", "demand=2"])


def test_cli_outputs(scenario, tmp_path):
    args = ["sweep", str(scenario), "--set", "providers.aws.discount=0,0.1", "--set",
            "demand=1,2", "--workers", "1"]
    result = CliRunner().invoke(app, [*args, "--format", "csv"])
    assert result.exit_code == 0, result.output
    rows = pd.read_csv(io.StringIO(result.stdout))
    assert rows["total_cost"].tolist() == pytest.approx(COSTS)

    result = CliRunner().invoke(app, [*args, "--format", "json"])
    answer = json.loads(result.stdout)
    assert answer["settings"] == {"providers.aws.discount": [0, 0.1], "demand": [1, 2]}
    assert [v["total_cost"] for v in answer["variants"]] == pytest.approx(COSTS)

    out = tmp_path / "out"
    result = CliRunner().invoke(app, [*args, "--out", str(out)], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    assert "$24,192" in result.stdout and "0.1" in result.stdout
    assert sorted(p.name for p in out.iterdir()) == ["sweep.csv", "sweep.html", "sweep.xlsx"]
    sheet = pd.read_excel(out / "sweep.xlsx")
    assert sheet["total cost"].tolist() == pytest.approx(COSTS)
    page = (out / "sweep.html").read_text()
    assert page.count("<svg") == 1 and "#EE7733" in page  # aws in its fixed colour
    assert pd.read_csv(out / "sweep.csv")["provider:aws"].tolist() == pytest.approx(COSTS)


def test_cli_errors(scenario, monkeypatch):
    def run(*args: str):
        result = CliRunner().invoke(app, ["sweep", str(scenario), *args])
        assert result.exit_code == 2, result.output
        assert len(result.stderr.strip().splitlines()) == 1, result.stderr
        return result.stderr

    assert "unknown key 'discont'; closest known: discount" in run(
        "--set", "providers.aws.discont=0,0.1")
    assert "--set providers.aws.discount=2: providers.aws.discount: expected a number >= 0 " \
           "and <= 0.9, got 2" in run("--set", "providers.aws.discount=0,2")
    assert "--set demand: expected a multiplier >= 0" in run("--set", "demand=-1")
    monkeypatch.setitem(sys.modules, "ray", None)  # as if Ray were not installed
    assert "pip install 'inference-capacity-planner[ray]'" in run("--set", "demand=1",
                                                                  "--ray")
