"""plan.xlsx read back with the same totals; report.html self-contained with its charts."""

from __future__ import annotations

import json
import re

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


def test_out_into_an_impossible_place_solves_and_writes_nothing(make, tmp_path):
    path = make(BODY)
    blocker = tmp_path / "a-file"
    blocker.write_text("x")
    result = CliRunner().invoke(app, ["solve", str(path), "--out", str(blocker / "out")])
    assert result.exit_code == 2
    assert result.stderr.count("\n") == 1 and "is a file" in result.stderr
    assert "Summary" not in result.stdout  # nothing solved
    # report.html is a folder there: refused before solving, nothing written
    out = tmp_path / "out"
    (out / "report.html").mkdir(parents=True)
    result = CliRunner().invoke(app, ["solve", str(path), "--out", str(out)])
    assert result.exit_code == 2 and "report.html is a folder" in result.stderr
    assert sorted(p.name for p in out.iterdir()) == ["report.html"]


def test_an_interrupted_write_leaves_nothing(tmp_path):
    from planner.reports.files import staged

    target = tmp_path / "deep" / "out"
    with pytest.raises(KeyboardInterrupt), staged(target) as tmp:
        (tmp / "summary.csv").write_text("half")
        raise KeyboardInterrupt
    assert not (tmp_path / "deep").exists()


def test_csv_and_xlsx_carry_no_float_noise(make, tmp_path):
    out = tmp_path / "out"
    result = CliRunner().invoke(app, ["solve", str(make(BODY)), "--out", str(out)])
    assert result.exit_code == 0, result.output
    for name in ("purchases", "spend", "assignments"):
        text = (out / f"{name}.csv").read_text()
        assert not re.search(r"\d\.\d{5,}", text.replace("e-", "")), (name, text[:300])
    from openpyxl import load_workbook

    sheet = load_workbook(out / "plan.xlsx")["purchases"]
    heads = {c.value: c.column for c in sheet[1]}
    assert sheet.cell(row=2, column=heads["total cost"]).number_format == '"$"#,##0.00'
    assert sheet.cell(row=2, column=heads["start"]).is_date
    assert sheet.freeze_panes == "A2"


def test_catalog_is_taken_from_the_scenarios_own_tree(tmp_path):
    # a checkout with its own catalogs/default whose p5 costs 160 $/h instead of 80
    from conftest import MARKETS, TABLES

    cat = tmp_path / "catalogs" / "default"
    cat.mkdir(parents=True)
    for name, lines in TABLES.items():
        lines = [line.replace("p5,h100-sxm,8,80,40", "p5,h100-sxm,8,160,40") for line in lines]
        (cat / f"{name}.csv").write_text("\n".join(lines) + "\n")
    (tmp_path / "scenarios").mkdir()
    scenario = tmp_path / "scenarios" / "s.yaml"
    scenario.write_text("catalog: default\nhorizon: {start: 2027-02, months: 1}\n" + MARKETS +
                        workload("{us-east: 8000}"))
    result = CliRunner().invoke(app, ["solve", str(scenario), "--format", "json"])
    answer = json.loads(result.stdout)
    assert answer["catalog"] == str(cat)
    assert answer["total_cost"] == pytest.approx(88 * 672)  # gcp a3 is now cheaper


def test_files_add_up_to_the_total_to_the_cent(make, tmp_path):
    # a year of growing demand: many rows whose cents must add up; idle chips on its own
    body = ("horizon: {start: 2027-01, months: 12}\n" + workload(
        "{us-east: {start: 3333.3, growth: 0.071}, eu: 5100}", utilization="0.7") +
        "purchase: {terms: [12]}\n")
    out = tmp_path / "out"
    result = CliRunner().invoke(app, ["solve", str(make(body)), "--out", str(out),
                                      "--format", "json"])
    assert result.exit_code == 0, result.output
    plan = json.loads(result.stdout)
    total, after = round(plan["total_cost"], 2), round(plan["cost_after_horizon"], 2)
    inside = pd.read_csv(out / "summary.csv").set_index("item")["value"].astype(float)[
        "spend inside the horizon"]
    assert abs(inside + after - total) <= 0.011
    for name in ("spend", "cost_by_month", "cost_by_provider", "cost_by_kind"):
        assert round(pd.read_csv(out / f"{name}.csv")["cost"].sum(), 2) == inside, name
    used = pd.read_csv(out / "assignments.csv")["cost"].sum()
    idle = pd.read_csv(out / "idle.csv")["cost"].sum()
    assert abs(used + idle - inside) <= 0.011  # two tables, each to the cent
    for name, frame in pd.read_csv(out / "spend.csv").items():
        if name == "cost":
            assert (frame.round(2) == frame).all()  # whole cents, no 3852650.399999999
    sheets = pd.read_excel(out / "plan.xlsx", sheet_name=None)
    assert round(sheets["cost_by_month"]["cost"].sum(), 2) == inside


def test_a_reports_colours_do_not_depend_on_earlier_reports():
    from planner.reports import html

    html.page("whatever was drawn before", [], [], {})
    first = html.colour("workload", "chat")
    html.page("one report", [], [], {})
    html.colour("workload", "batch")  # another report, drawn in the same process
    html.page("another", [], [], {})
    assert html.colour("workload", "chat") == first == html.POOLS["workload"][0]
    assert html.colour("workload", "batch") == html.POOLS["workload"][1]  # same report
