"""plan.xlsx read back with the same totals; report.html self-contained with its charts."""

from __future__ import annotations

import pandas as pd
import pytest
from typer.testing import CliRunner

from planner.cli import app

from conftest import workload

BODY = ("horizon: {start: 2027-01, months: 3}\npurchase: {terms: [12]}\n"
        + workload("{us-east: [8000, 12000, 16000]}", spot="0.25")
        + "limits:\n  - {provider: aws, accelerator: h100-sxm, chips: 8}\n")


def test_out_writes_csv_xlsx_and_html(make, tmp_path):
    out = tmp_path / "out"
    result = CliRunner().invoke(app, ["solve", str(make(BODY)), "--out", str(out),
                                      "--format", "json"])
    assert result.exit_code == 0, result.output
    import json
    plan = json.loads(result.stdout)

    sheets = pd.read_excel(out / "plan.xlsx", sheet_name=None)
    assert next(iter(sheets)) == "summary"
    assert sheets["cost_by_month"]["cost"].sum() == pytest.approx(
        plan["total_cost"] - plan["cost_after_horizon"])
    assert sheets["purchases"]["total cost"].sum() == pytest.approx(
        sum(p["total_cost"] for p in plan["purchases"]))
    summary = sheets["summary"].set_index("item")["value"]
    assert float(summary["total cost"]) == pytest.approx(plan["total_cost"])

    page = (out / "report.html").read_text()
    assert page.count("<svg") >= 4
    for external in ('src="http', "src='http", 'href="http', "<script src", "<link "):
        assert external not in page
    assert f"${plan['total_cost']:,.0f}" in page
    assert (out / "assignments.csv").is_file()
