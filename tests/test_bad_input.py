"""Bad input never costs time, memory or a wrong plan: each mistake exits 2 with one short
line naming file:line and the key path, or, where the value is valid but useless, a warning.
"""

from __future__ import annotations

import time

import pytest
from typer.testing import CliRunner

import planner.scenario.read
from planner.cli import app
from planner.scenario.read import load_scenario

from conftest import TABLES, workload

# lines: 1 catalog, 2 blank, 3-5 markets, 6 horizon, 7 workloads, 8 chat, 9 model, 10 slo,
# 11 demand
BASE = "horizon: {start: 2027-01, months: 3}\n" + workload("{us-east: 8000}")
CONTRACT = ("contracts:\n  - {provider: aws, region: us-east-1, accelerator: h100-sxm, "
            "chips: 8, start: 2027-01, months: 3, price_per_chip_hour: 3.0}\n")


def run(*args: str):
    return CliRunner().invoke(app, list(args))


def refused(path, where: object, *parts: str, command: str = "validate",
            seconds: float = 10) -> str:
    """`command path` exits 2 within `seconds` with one line `error: <where>: ...` holding
    every part; where is a line of `path`, or a file (and line) of its catalog."""
    started = time.perf_counter()
    result = run(command, str(path))
    assert time.perf_counter() - started < seconds
    assert result.exit_code == 2, result.output
    message = result.stderr.strip()
    assert len(message.splitlines()) == 1 and "Traceback" not in result.output, message
    where = f"{path}:{where}" if isinstance(where, int) else where
    assert message.startswith(f"error: {where}: "), message
    for part in parts:
        assert part in message, message
    return message


def table(path, name: str, line: int | None = None) -> str:
    """`<catalog>/<name>.csv:<line>` beside the scenario `path` (conftest's `make`)."""
    return f"{path.parent / 'cat' / name}.csv" + (f":{line}" if line else "")


def catalog_row(name: str, old: str, new: str) -> dict:
    rows = TABLES[name]
    assert any(old in r for r in rows)
    return {name: [r.replace(old, new, 1) for r in rows]}


# --- hangs and resource blow-ups -------------------------------------------------------------

def bomb(indent: str, item: str) -> str:
    """Billion laughs: 9 levels of 9 aliases, as list items or keys (`item` "- " or "l")."""
    def line(i: int) -> str:
        head = item if item == "- " else f"l{i}: "
        values = ["lol"] * 9 if i == 0 else [f"*l{i - 1}"] * 9
        return f"{indent}{head}&l{i} [{', '.join(values)}]\n"
    return "".join(line(i) for i in range(10))


def test_alias_bomb_as_name_is_refused_at_once(make):
    refused(make(BASE + "name:\n" + bomb("  ", "- ")), 12,
            "name: more than 100,000 values, counting every use of an alias", seconds=5)


def test_alias_bomb_as_demand_is_refused_at_once(make):
    body = BASE.replace("demand: {us-east: 8000}", "demand:\n      us-east:\n"
                        + bomb("        ", "l"))
    refused(make(body), 7, "workloads: more than 100,000 values, counting every use of an alias",
            seconds=5)


def test_alias_inside_itself(make):
    refused(make(BASE + "network: &n {rtt_ms: *n}\n"), 12,
            "network: nesting deeper than 20 levels")


def test_many_values_are_not_read(make):
    refused(make(BASE + "name: [" + "1, " * 150_000 + "1]\n"), 12, "more than 100,000 values")


def test_huge_scenario_file_is_not_read(make):
    path = make(BASE + "# padding\n" * 300_000)
    refused(path, path, "the scenario file is larger than 2 MB")


def test_horizon_is_bounded(make):
    refused(make(BASE.replace("months: 3", "months: 100000")), 6,
            "horizon.months: expected an integer >= 1 and <= 120, got 100000")


def test_model_larger_than_memory_is_refused_up_front(make, monkeypatch):
    monkeypatch.setattr(planner.scenario.read, "memory_bytes", lambda: 2**20)
    message = refused(make(BASE.replace("months: 3", "months: 120")), 6, "horizon.months",
                      "the model would have about", "more than this machine's")
    assert "GB" in message


@pytest.mark.parametrize("demand,message", [
    ("{us-east: {start: 2000000, growth: 1000}}",
     ("workloads.chat.demand.us-east: expected at most 1e+12 tokens/s in any month, got 2e+12 "
      "in 2027-03 from {start: 2e+06, growth: 1000}")),
    ("{us-east: 1e308}",
     "workloads.chat.demand.us-east: expected a number >= 0 and <= 1e+12, got 1e+308"),
    ("{us-east: [1, 2, 1e13]}",
     "workloads.chat.demand.us-east[2]: expected a number >= 0 and <= 1e+12, got 10000000000000.0"),
    ("{us-east: " + "9" * 400 + "}",
     "workloads.chat.demand.us-east: expected a number >= 0 and <= 1e+12, got 99999"),
    ("{us-east: {start: 1, growth: 1e308}}", "got 1e+308 in 2027-02"),
    ("{us-east: {start: 2, growth: 1e308}}", "got inf in 2027-02"),
])
def test_absurd_demand(make, demand, message):
    refused(make(BASE.replace("{us-east: 8000}", demand)), 11, message)


def test_demand_growth_of_the_issue(make):
    body = BASE.replace("months: 3", "months: 12").replace(
        "{us-east: 8000}", "{us-east: {start: 200000, growth: 1000}}")
    refused(make(body), 11, "workloads.chat.demand.us-east: expected at most 1e+12 tokens/s "
                            "in any month, got 2.01e+14 in 2027-04")


def test_deep_nesting(make):
    refused(make(BASE + "network: " + "[" * 5000 + "]" * 5000 + "\n"), 12,
            "nesting deeper than 20 levels")


# --- internal errors where the input was at fault ----------------------------------------------

def test_custom_tag(make):
    path = make(BASE)
    path.write_text(path.read_text().replace("catalog: cat", "catalog: !mytag cat"))
    refused(path, 1, "catalog: unsupported tag '!mytag'; a scenario is plain YAML")


def test_merge_keys_work(make):
    body = ("horizon: {start: 2027-01, months: 3}\nworkloads:\n"
            "  chat:\n    model: llama\n    slo: &slo {ttft_ms: 2000, tpot_ms: 200}\n"
            "    demand: {us-east: 8000}\n"
            "  batch:\n    model: llama\n    slo: {<<: *slo, tpot_ms: 100}\n"
            "    demand: {<<: [{us-east: 1000}, {us-east: 5, eu: 2000}]}\n"
            "  quick:\n    model: llama\n    slo: {<<: {ttft_ms: 2000}, tpot_ms: 100}\n"
            "    demand: {us-east: 10}\n")
    path = make(body)
    assert run("validate", str(path)).exit_code == 0
    scn = load_scenario(path)
    batch, quick = scn.workloads["batch"], scn.workloads["quick"]
    assert (batch.ttft_ms, batch.tpot_ms) == (2000, 100)  # the mapping's own key wins
    assert batch.demand["us-east"][0] == 1000 and batch.demand["eu"][0] == 2000  # first wins
    assert (quick.ttft_ms, quick.tpot_ms) == (2000, 100)


def test_merge_of_a_number(make):
    refused(make(BASE.replace("slo: {", "slo: {<<: 5, ")), 10,
            "workloads.chat.slo.<<: expected a mapping, or a list of mappings, to merge")


def test_key_that_is_a_list(make):
    refused(make(BASE + "? [a, b]\n: 1\n"), 12, "expected a name as the key, got a list")


@pytest.mark.parametrize("chips,expected", [("inf", "an integer <= 100000, got 'inf'"),
                                            ("1e308", "an integer <= 100000, got '1e308'")])
def test_catalog_chips_beyond_any_integer(make, chips, expected):
    path = make(BASE, replace=catalog_row("offerings", ",8,80,40,", f",{chips},80,40,"))
    refused(path, table(path, "offerings", 2), f"chips: expected {expected}")


def test_latin1_scenario(make):
    path = make(BASE)
    path.write_bytes(path.read_bytes().replace(b"model: llama", "model: llamà".encode("latin-1")))
    refused(path, 9, "not UTF-8 text: byte 0xe0 is not UTF-8")


def test_utf16_scenario(make):
    path = make(BASE)
    path.write_bytes(path.read_text().encode("utf-16"))
    refused(path, path, "not UTF-8 text: the file is UTF-16")


def test_nul_byte_in_scenario(make):
    path = make(BASE)
    path.write_bytes(path.read_bytes().replace(b"model: llama", b"model: lla\0ma"))
    refused(path, 9, "not UTF-8 text: a NUL byte")


def test_control_character_in_scenario(make):
    refused(make(BASE.replace("model: llama", "model: lla\x07ma")), 9,
            "malformed YAML: unacceptable character #x0007")


def test_latin1_catalog(make):
    path = make(BASE, replace=catalog_row("throughput", "test,", "tést,"))
    cat = path.parent / "cat" / "throughput.csv"
    cat.write_bytes(cat.read_text().encode("latin-1"))
    refused(path, table(path, "throughput", 2), "not UTF-8 text: byte 0xe9")


@pytest.mark.parametrize("key,line", [("model", 9), ("catalog", 1), ("name", 12)])
def test_long_values_are_cut(make, key, line):
    long = "x" * 5000
    path = make(BASE.replace("model: llama", f"model: {long}") if key == "model"
                else BASE + f"name: {long}\n" if key == "name" else BASE)
    path.write_text(path.read_text().replace("catalog: cat", f"catalog: {long}"
                                             if key == "catalog" else "catalog: cat"))
    message = refused(path, line, key, "...", ",0", " characters)")
    assert len(message) < 400, message


def test_long_key_is_cut(make):
    message = refused(make(BASE.replace("demand:", "x" * 1000 + ":")), 11,
                      "(1,000 characters)", "unknown key")
    assert len(message) < 400, message


def test_long_yaml_problem_is_cut(make):
    message = refused(make(BASE + "name: *" + "a" * 5000 + "\n"), 12,
                      "malformed YAML: found undefined alias 'aaa", "...")
    assert len(message) < 400, message


def test_long_catalog_cell_is_cut(make):
    path = make(BASE, replace=catalog_row("regions", "gcp,us-central1", "gcp," + "y" * 5000))
    message = refused(path, table(path, "regions", 4), "region: expected a name",
                      "(5,000 characters)")
    assert len(message) < 600, message


@pytest.mark.parametrize("name,old,new,line,parts", [
    ("offerings", ",8,80,40,", ",8,80,40,extra,", 2,
     ["not a readable CSV table: this row has 10 cell(s), the header 9"]),
    ("regions", "gcp,us-central1,39.0,-77.5,us,", "stray\ngcp,us-central1,39.0,-77.5,us,", 4,
     ["not a readable CSV table: this row has 1 cell(s), the header 7"]),
    ("accelerators", "trn2,aws,", '"trn2,aws,', 3, ["not a readable CSV table"]),
])
def test_csv_rows_that_do_not_parse(make, name, old, new, line, parts):
    path = make(BASE, replace=catalog_row(name, old, new))
    refused(path, table(path, name, line), *parts)


def test_empty_catalog_table(make):
    path = make(BASE)
    (path.parent / "cat" / "commitments.csv").write_text("")
    refused(path, table(path, "commitments"), "the table file is empty")


def test_line_numbers_count_blank_lines_and_quoted_newlines(make):
    path = make(BASE, replace=catalog_row("offerings", "gcp,", '\n\ngcp,'))
    cat = path.parent / "cat" / "offerings.csv"
    cat.write_text(cat.read_text().replace(",88,", ",0,").replace(
        "aws,eu-central-1,p5,h100-sxm,8,96,,test", 'aws,eu-central-1,p5,h100-sxm,8,96,,"te\nst"'))
    refused(path, table(path, "offerings", 7), "on_demand_hourly: expected a number > 0, got '0'")


# --- accepted today, and the plan was wrong ------------------------------------------------------

@pytest.mark.parametrize("name,old,new,line,message", [
    ("offerings", ",8,80,40,", ",8,0,40,", 2,
     "on_demand_hourly: expected a number > 0, got '0'"),
    ("offerings", ",8,80,40,", ",8,inf,40,", 2,
     "on_demand_hourly: expected a number < 1e+06, got 'inf'"),
    ("offerings", ",8,80,40,", ",8,1e308,40,", 2,
     "on_demand_hourly: expected a number < 1e+06, got '1e308'"),
    ("offerings", ",8,80,40,", ",8,80,0,", 2, "spot_hourly: expected a number > 0, got '0'"),
    ("offerings", ",8,80,40,", ",8,80,inf,", 2, "spot_hourly: expected a number < 1e+06"),
    ("commitments", ",12,0.4,", ",12,1,", 3, "discount: expected a number <= 0.9, got '1'"),
    ("throughput", ",1000,500,", ",inf,500,", 2,
     "tokens_per_s_per_chip: expected a number < 1e+09, got 'inf'"),
    ("throughput", ",1000,500,", ",1000,nan,", 2, "ttft_ms: expected a number, got 'nan'"),
    ("accelerators", ",80,", ",-inf,", 2, "memory_gb: expected a number > 0, got '-inf'"),
])
def test_catalog_numbers_must_be_sensible(make, name, old, new, line, message):
    path = make(BASE, replace=catalog_row(name, old, new))
    refused(path, table(path, name, line), message)


def test_residency_in_a_jurisdiction_no_region_has(make):
    body = BASE.replace("{us-east: 8000}", "{eu: 8000}") + "    residency: {eu: [ue]}\n"
    refused(make(body), 12, "workloads.chat.residency.eu[0]: unknown jurisdiction 'ue'; "
                            "closest known: us, eu")


def test_market_jurisdiction_no_region_has_is_a_warning(make):
    path = make(BASE)
    path.write_text(path.read_text().replace("jurisdiction: eu}", "jurisdiction: ch}"))
    result = run("validate", str(path))
    assert result.exit_code == 0, result.output
    assert f"{path}:5: markets.eu.jurisdiction: warning: no region of the catalog is in " \
           "'ch' (known: eu, us)" in result.stderr


def test_contract_where_the_accelerator_is_not_offered(make):
    refused(make(BASE + CONTRACT.replace("h100-sxm", "trn2")), 13,
            "contracts[0].accelerator: the catalog has no offering of trn2 in aws us-east-1; "
            "offered there: h100-sxm")


def test_contract_price_is_bounded(make):
    refused(make(BASE + CONTRACT.replace("3.0}", "1e308}")), 13,
            "contracts[0].price_per_chip_hour: expected a number >= 0 and < 1e+06")


@pytest.mark.parametrize("discount", ["1", "0.999999999"])
def test_provider_discount_leaves_a_price(make, discount):
    refused(make(BASE + f"providers:\n  aws: {{discount: {discount}}}\n"), 13,
            f"providers.aws.discount: expected a number >= 0 and <= 0.9, got {discount}")


@pytest.mark.parametrize("command", ["validate", "solve"])
def test_term_nobody_sells_is_a_warning(make, command):
    path = make(BASE + "purchase: {terms: [7, 12]}\n")
    result = run(command, str(path))
    assert result.exit_code == 0, result.output
    warning = (f"{path}:12: purchase.terms[0]: warning: no provider in the catalog sells a "
               "7-month commitment, so this term buys nothing (sold: 12)")
    assert warning in result.stderr.splitlines()
    assert load_scenario(path).warnings == [warning]


def test_no_warnings_by_default(make):
    assert load_scenario(make(BASE)).warnings == []


def test_names_are_printable(make):
    refused(make(BASE.replace("  chat:", "  '[/]':")), 8, "workloads.[/]: expected a name")
    path = make(BASE, replace=catalog_row("regions", "gcp,us-central1", "gcp,[red]"))
    refused(path, table(path, "regions", 4), "region: expected a name")
