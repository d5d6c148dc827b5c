"""Every CLI table at 80 columns: the names that identify a row appear whole."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pandas as pd
import pytest
from rich.console import Console
from typer.testing import CliRunner

import planner
import planner.cli
from planner.cli import app
from planner.reports import terminal

from conftest import workload

ROOT = Path(__file__).parent.parent
YEAR = "horizon: {start: 2027-01, months: 12}\n"


@pytest.fixture
def narrow(monkeypatch):
    monkeypatch.setattr(planner.cli, "out", Console(width=80))


def words(text: str) -> set[str]:
    return set(re.split(r"[\s│┃|]+", text))


def test_solve_at_80_columns(make, narrow):
    body = YEAR + workload("{us-east: {start: 30000, growth: 0.1}, eu: 9000}", spot="0.2") + \
        "purchase: {terms: [12]}\n"
    path = make(body)
    result = CliRunner().invoke(app, ["solve", str(path)])
    assert result.exit_code == 0, result.output
    plan = planner.solve(path)
    seen = words(result.stdout)
    for row in plan.purchases.itertuples():
        assert {row.provider, row.region, row.instance, row.kind} <= seen
    assert max(map(len, result.stdout.splitlines())) <= 80


def test_diff_at_80_columns(make, narrow, tmp_path):
    a = make(YEAR + workload("{us-east: {start: 30000, growth: 0.1}}"))
    saved = tmp_path / "a.json"
    saved.write_text(json.dumps(planner.solve(a).to_dict()))
    b = make(YEAR + workload("{us-east: {start: 30000, growth: 0.1}, eu: 9000}"))
    result = CliRunner().invoke(app, ["diff", str(saved), str(b)])
    assert result.exit_code == 0, result.output
    seen = words(result.stdout)
    assert {"eu-central-1", "us-east-1", "p5", "on-demand"} <= seen
    assert max(map(len, result.stdout.splitlines())) <= 80


def test_catalog_show_at_80_columns(narrow):
    result = CliRunner().invoke(app, ["catalog", "show", "--model", "llama-2-70b"])
    assert result.exit_code == 0, result.output
    seen = words(result.stdout)
    cat = planner.load_catalog(ROOT / "catalogs" / "default")
    shown = cat.offerings[cat.offerings["accelerator"].isin(
        cat.throughput.loc[cat.throughput["model"] == "llama-2-70b", "accelerator"])]
    assert set(shown["instance"]) <= seen
    assert max(map(len, result.stdout.splitlines())) <= 80


def test_bench_table_at_80_columns():
    row = {"size": "L-milp", "status": "optimal", "gap": 1e-4, "to_1pct_s": 41.2,
           "to_0.1pct_s": 98.0, "variables": 120960, "constraints": 25524,
           "nonzeros": 1566228, "load_s": 0.05, "build_s": 0.47, "handoff_s": 0.16,
           "solve_s": 114.5, "report_s": 0.04, "total_s": 115.9, "peak_mib": 584.1}
    console = Console(width=80, record=True)
    terminal.show(console, pd.DataFrame([row, {**row, "size": "S"}]), "Benchmark")
    text = console.export_text()
    assert {"L-milp", "S", "optimal"} <= words(text)
    assert max(map(len, text.splitlines())) <= 80
