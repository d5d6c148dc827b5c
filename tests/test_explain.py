"""Shadow prices known by hand, and unmet demand that names what stood in the way."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from planner.cli import app
from planner.run.pipeline import solve_and_explain

from conftest import workload

FEB = "horizon: {start: 2027-02, months: 1}\n"


def test_limit_shadow_price(make):
    # 8 chips needed; aws (10 $/chip-h) capped at 5, the rest at gcp (11): one more aws chip
    # replaces a gcp chip and saves 1 $/chip-h x 672 h
    body = FEB + "purchase: {integer: false}\n" + workload("{us-east: 16000}") + \
        "limits:\n  - {provider: aws, accelerator: h100-sxm, chips: 5}\n"
    _, why = solve_and_explain(make(body))
    row = why.binding.iloc[0]
    assert row["constraint"] == "limit" and row["month"] == "2027-02"
    assert row["value"] == pytest.approx(672)
    assert "aws / any / h100-sxm" in row["meaning"]


def test_integer_plan_prices_come_from_the_relaxation(make):
    # whole instances: aws may hold 5 chips, less than one p5, so one gcp a3 serves it all;
    # the relaxation still prices the aws limit at 1 $/chip-h x 672 h
    body = FEB + workload("{us-east: 16000}") + \
        "limits:\n  - {provider: aws, accelerator: h100-sxm, chips: 5}\n"
    plan, why = solve_and_explain(make(body))
    assert plan.total_cost == pytest.approx(88 * 672)
    assert why.binding.iloc[0]["value"] == pytest.approx(672)


def test_unmet_names_the_binding_limit(make):
    body = FEB + "purchase: {integer: false}\n" + workload("{us-east: 16000}") + \
        "limits:\n  - {accelerator: h100-sxm, chips: 6}\n"
    result = CliRunner().invoke(app, ["explain", str(make(body))])
    assert result.exit_code == 3, result.output
    _, why = solve_and_explain(make(body))
    assert why.unmet.iloc[0]["tokens_per_s"] == pytest.approx(4000)
    assert "limit limits[0] any / any / h100-sxm" in why.unmet.iloc[0]["reason"]


def test_unmet_names_the_slo(make):
    body = FEB + workload("{eu: 1000}", slo="{ttft_ms: 550, tpot_ms: 200}",
                          residency="{eu: [us]}")
    _, why = solve_and_explain(make(body))
    # the 500 ms row meets 550 ms only where the round trip is under 50 ms: the admitted
    # us sites are about 100 ms away
    assert "no admitted site meets the SLO" in why.unmet.iloc[0]["reason"]
    body = FEB + workload("{eu: 1000}", providers="[gcp]", residency="{eu: [eu]}")
    _, why = solve_and_explain(make(body))
    assert "residency (eu) admits none" in why.unmet.iloc[0]["reason"]


def test_residency_cost(make):
    # eu held in eu: eu-central-1 at 12 $/chip-h and 2000 tok/s; us-east-1 excluded (its
    # 1000 tok/s row at 100 ms: 10 $/chip-h / 1000)
    body = FEB + "purchase: {integer: false}\n" + workload("{eu: 8000}",
                                                            residency="{eu: [eu]}")
    _, why = solve_and_explain(make(body))
    row = why.residency.iloc[0]
    assert row["marginal"] == pytest.approx(12 * 672 / 2000)
    assert row["excluded_best"] == pytest.approx(10 * 672 / 1000)
