"""Two scenarios whose difference is known by hand."""

from __future__ import annotations

import io
import json

import pandas as pd
import pytest
from typer.testing import CliRunner

import planner
from planner.cli import app
from planner.reports.diff import diff

from conftest import workload

FEB = "horizon: {start: 2027-02, months: 1}\npurchase: {integer: false}\n"


def test_discount_and_limit_deltas(make, tmp_path):
    a = make(FEB + workload("{us-east: 8000}"))
    plan_a = planner.solve(a)
    # B: aws capped at 1 chip -> 1 aws chip (10) + 3 gcp chips (11) instead of 4 aws chips
    b = make(FEB + workload("{us-east: 8000}") +
             "limits:\n  - {provider: aws, chips: 1}\n")
    plan_b = planner.solve(b)
    tables = diff(plan_a, plan_b)
    total = tables["total"].iloc[0]
    assert total["a"] == pytest.approx(4 * 10 * 672)
    assert total["delta"] == pytest.approx(3 * 672)
    assert total["pct"] == pytest.approx(3 * 672 / (40 * 672))
    prov = tables["provider"].set_index("provider")["delta"]
    assert prov["aws"] == pytest.approx(-3 * 10 * 672)
    assert prov["gcp"] == pytest.approx(3 * 11 * 672)
    bought = tables["purchases"].set_index("provider")
    assert (bought["instances_b"] - bought["instances_a"])["gcp"] == pytest.approx(3 / 8)

    # the same through the CLI, reading one side from a saved JSON result
    saved = tmp_path / "a.json"
    saved.write_text(json.dumps(plan_a.to_dict()))
    result = CliRunner().invoke(app, ["diff", str(saved), str(b), "--format", "json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["total"][0]["delta"] == pytest.approx(3 * 672)
    result = CliRunner().invoke(app, ["diff", str(saved), str(b), "--format", "csv"])
    rows = pd.read_csv(io.StringIO(result.stdout))
    assert set(rows["table"]) == {"sides", "total", "month", "provider", "accelerator", "kind",
                                  "purchases"}
    gcp = rows[(rows["table"] == "provider") & (rows["provider"] == "gcp")]
    assert gcp["delta"].iloc[0] == pytest.approx(3 * 11 * 672)


def test_diff_of_plans_that_buy_nothing_or_leave_demand_unmet(make, tmp_path):
    # A serves 8000 tok/s on one whole p5 (80 $/h); B's budget buys nothing (all unmet);
    # C has no demand
    a = make("horizon: {start: 2027-02, months: 1}\n" + workload("{us-east: 8000}"))
    b = tmp_path / "b.yaml"
    b.write_text(a.read_text() + "budget: {monthly_max: 1}\n")
    c = tmp_path / "c.yaml"
    c.write_text(a.read_text().replace("{us-east: 8000}", "{us-east: 0}"))
    result = CliRunner().invoke(app, ["diff", str(a), str(b)], env={"COLUMNS": "120"})
    assert result.exit_code == 0, result.output
    first = result.stdout.splitlines()[0]
    assert first.startswith("B leaves 100.0% of demand unmet (the other 0.0%)")
    assert "B costs less than A" in result.stdout
    for pair in ((b, c), (c, b), (b, b)):  # none, one or both buying nothing
        result = CliRunner().invoke(app, ["diff", *map(str, pair), "--format", "json"])
        assert result.exit_code == 0, result.output
        assert json.loads(result.stdout)["purchases"] == []
    # a saved JSON of a plan that buys nothing, against a plan across futures
    saved = tmp_path / "b.json"
    saved.write_text(json.dumps(planner.solve(b).to_dict()))
    futures = tmp_path / "f.yaml"
    futures.write_text(a.read_text() + "uncertainty:\n  futures:\n    low: {probability: 0.5, "
                       "demand: 0.5}\n    high: {probability: 0.5, demand: 2}\n")
    result = CliRunner().invoke(app, ["diff", str(saved), str(futures), "--format", "csv"])
    assert result.exit_code == 0, result.output
    rows = pd.read_csv(io.StringIO(result.stdout))
    assert "sides" in set(rows["table"])
    result = CliRunner().invoke(app, ["diff", str(futures), str(saved)], env={"COLUMNS": "80"})
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("B leaves 100.0% of demand unmet")


def test_no_change_reads_the_same_everywhere_and_csv_names_its_table_once(make):
    from planner.reports.diff import long_table
    from planner.reports.format import signed_money, signed_percent

    assert (signed_money(1e-9), signed_percent(1e-12)) == ("$0", "0.0%")
    assert (signed_money(-0.004), signed_money(12.5)) == ("$0", "+$12.50")
    a = make(FEB + workload("{us-east: 8000}"))
    plan = planner.solve(a)
    table = long_table(diff(plan, plan))
    assert list(table.columns).count("table") == 1 and table.columns[0] == "table"
