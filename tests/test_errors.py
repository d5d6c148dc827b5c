"""Broken scenarios and catalogs: exit 2, one line naming file:line and the key path."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from planner.cli import app

from conftest import TABLES, workload

GOOD = ("horizon: {start: 2027-01, months: 3}\n" + workload("{us-east: 8000}")
        + "contracts:\n  - {provider: aws, region: us-east-1, accelerator: h100-sxm, chips: 8, "
        "start: 2027-01, months: 3, price_per_chip_hour: 3.0}\n")


def run(*args: str):
    return CliRunner().invoke(app, list(args))


def assert_input_error(path, line: int | None, *parts: str) -> None:
    result = run("solve", str(path))
    assert result.exit_code == 2, result.output
    message = result.stderr.strip()
    assert len(message.splitlines()) == 1, message
    assert "Traceback" not in result.output
    where = f"{path}:{line}:" if line else f"{path}:"
    assert where in message, message
    for part in parts:
        assert part in message, message


def test_good_scenario_solves(make):
    result = run("solve", str(make(GOOD)))
    assert result.exit_code == 0, result.output
    assert "$" in result.stdout


# lines: 1 catalog, 2 blank, 3-5 markets, 6 horizon, 7 workloads, 8 chat, 9 model, 10 slo,
# 11 demand, 12 contracts, 13 the contract, 14 limits
@pytest.mark.parametrize("old,new,line,parts", [
    ("demand:", "demnad:", 11, ["workloads.chat.demnad", "closest known: demand"]),
    ("ttft_ms: 2000", "ttft_ms: fast", 10, ["workloads.chat.slo.ttft_ms",
                                           "expected a positive number, got 'fast'"]),
    ("start: 2027-01, months: 3}", "start: 2027-1, months: 3}", 6,
     ["horizon.start", "expected a month YYYY-MM"]),
    ("{us-east: 8000}", "{us-east: -1}", 11, ["workloads.chat.demand.us-east", ">= 0"]),
    ("{us-east: 8000}", "{us-east: [1, 2]}", 11, ["expected a list of 3 numbers", "got 2"]),
    ("accelerator: h100-sxm", "accelerator: h100", 13, ["contracts[0].accelerator",
                                                        "closest known: h100-sxm"]),
    ("region: us-east-1", "region: us-east-7", 13, ["contracts[0].region", "us-east-1"]),
    ("{us-east: 8000}", "{us-west: 8000}", 11, ["workloads.chat.demand.us-west",
                                                "unknown market", "us-east"]),
    ("model: llama", "model: lama", 9, ["workloads.chat.model", "closest known: llama"]),
    ("chips: 8,", "chips: many,", 13, ["contracts[0].chips", "expected an integer"]),
])
def test_broken_scenario(make, old, new, line, parts):
    assert old in GOOD
    assert_input_error(make(GOOD.replace(old, new, 1)), line, *parts)


def test_limit_below_signed_contracts(make):
    path = make(GOOD + "limits:\n  - {provider: aws, chips: 4}\n")
    assert_input_error(path, 15, "limits[0].chips", "8 chips signed")


def test_missing_catalog(make):
    path = make(GOOD)
    path.write_text(path.read_text().replace("catalog: cat", "catalog: nowhere"))
    assert_input_error(path, 1, "catalog folder not found")


def test_bad_csv_cell(make):
    rows = [r.replace(",80,40,", ",eighty,40,") for r in TABLES["offerings"]]
    path = make(GOOD, replace={"offerings": rows})
    result = run("solve", str(path))
    assert result.exit_code == 2
    assert "offerings.csv:2: on_demand_hourly: expected a number, got 'eighty'" in result.stderr


def test_unknown_accelerator_in_catalog(make):
    path = make(GOOD, throughput=["h100-pcie,llama,900,500,50"])
    result = run("solve", str(path))
    assert result.exit_code == 2
    assert "throughput.csv:4: accelerator: unknown accelerator 'h100-pcie'" in result.stderr


def test_duplicate_catalog_key(make):
    path = make(GOOD, offerings=["aws,us-east-1,p5,h100-sxm,8,81,"])
    result = run("solve", str(path))
    assert result.exit_code == 2
    assert "offerings.csv:5:" in result.stderr and "duplicate key" in result.stderr


def test_empty_malformed_and_missing_files(tmp_path):
    empty = tmp_path / "empty.yaml"
    empty.write_text("\n")
    assert_input_error(empty, None, "empty")
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: x\nmarkets: [1, 2\nworkloads: 3\n")
    assert_input_error(bad, 3, "malformed YAML")
    assert_input_error(tmp_path / "missing.yaml", None, "not found")


def test_validate_reports_without_solving(make):
    result = run("validate", str(make(GOOD)))
    assert result.exit_code == 0 and "ok" in result.stdout
    result = run("validate", str(make(GOOD.replace("model: llama", "model: x"))))
    assert result.exit_code == 2


def test_unmet_demand_exits_3_with_json(make):
    body = ("horizon: {start: 2027-02, months: 1}\n" + workload("{us-east: 8000}")
            + "budget: {monthly_max: 1000}\n")
    result = run("solve", str(make(body)), "--format", "json")
    assert result.exit_code == 3
    import json
    data = json.loads(result.stdout)
    assert data["status"] == "unmet_demand"
    assert data["unmet"][0]["market"] == "us-east"
    assert set(data) >= {"status", "total_cost", "cost_by_month", "assignments", "purchases",
                         "unmet", "solver"}


def test_scientific_notation_numbers(make):
    # YAML 1.1 reads 5.0e7 as text; the spec writes budgets that way
    result = run("validate", str(make(GOOD + "budget: {monthly_max: 5.0e7}\n")))
    assert result.exit_code == 0, result.output
