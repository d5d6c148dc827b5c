"""`plan catalog import-skypilot`, `check` and `show`."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from planner.cli import app

from conftest import SRC, TABLES

FIXTURE = Path(__file__).parent / "fixtures" / "skypilot_vms.csv"


def write_catalog(folder: Path) -> Path:
    folder.mkdir()
    for name, lines in TABLES.items():
        (folder / f"{name}.csv").write_text("\n".join(lines) + "\n")
    return folder


def test_import_skypilot_fixture(tmp_path):
    cat = write_catalog(tmp_path / "cat")
    result = CliRunner().invoke(app, ["catalog", "import-skypilot", str(FIXTURE),
                                      "--provider", "aws", "--as-of", "2025-10-01",
                                      "--catalog", str(cat)])
    assert result.exit_code == 0, result.output
    assert "us-west-9" in result.stdout  # no coordinates: left out and said so
    got = pd.read_csv(cat / "offerings" / "aws.csv").set_index("instance")
    assert sorted(got.index) == ["g6.xlarge", "inf2.48xlarge", "p5.48xlarge", "tpu-v5p-8",
                                 "tpu-v6e-4"]
    p5 = got.loc["p5.48xlarge"]
    assert (p5["accelerator"], p5["chips"], p5["on_demand_hourly"], p5["spot_hourly"]) == \
        ("h100-sxm", 8, 98.32, 38.5)  # spot: the lowest zone
    assert got.loc["tpu-v5p-8", "chips"] == 4  # v5p-8 counts TensorCores
    assert got.loc["tpu-v6e-4", "chips"] == 4
    assert got.loc["inf2.48xlarge", "chips"] == 12
    assert (got["as_of"] == "2025-10-01").all() and got["source"].str.len().gt(0).all()


def test_check_reports_coverage_and_bad_cells(tmp_path):
    cat = write_catalog(tmp_path / "cat")
    result = CliRunner().invoke(app, ["catalog", "check", str(cat)])
    assert result.exit_code == 0, result.output
    assert "providers (2): aws, gcp" in result.stdout
    assert "neither offered nor measured (1): trn2" in result.stdout
    bad = (cat / "throughput.csv").read_text().replace("1000,500", "-5,500")
    (cat / "throughput.csv").write_text(bad)
    result = CliRunner().invoke(app, ["catalog", "check", str(cat)])
    assert result.exit_code == 2
    assert "throughput.csv:2: tokens_per_s_per_chip: expected a number > 0, got '-5'" in \
        result.stderr


@pytest.mark.parametrize("row,message", [
    (f"aws,us-east-1,p6,h100-sxm,8,80,,{SRC},extra", "not a readable CSV"),
    (f"aws,us-east-1,p6,h100-sxm,0,80,,{SRC}", "chips: expected an integer > 0"),
    (f"aws,nowhere-1,p6,h100-sxm,8,80,,{SRC}", "region 'nowhere-1'"),
    ("aws,us-east-1,p6,h100-sxm,8,80,,test,2025-13-01", "as_of: expected a date"),
])
def test_check_broken_offerings(tmp_path, row, message):
    cat = write_catalog(tmp_path / "cat")
    with (cat / "offerings.csv").open("a") as f:
        f.write(row + "\n")
    result = CliRunner().invoke(app, ["catalog", "check", str(cat)])
    assert result.exit_code == 2
    assert message in result.stderr
    assert "offerings.csv" in result.stderr


def test_show_sorts_cheapest_first(tmp_path):
    cat = write_catalog(tmp_path / "cat")
    result = CliRunner().invoke(app, ["catalog", "show", "--catalog", str(cat)],
                                env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    lines = [line for line in result.stdout.splitlines() if "h100-sxm" in line]
    # aws p5 at 10 $/chip-h and 2000 tok/s: 10 / (2000 x 3600) x 1e6 = $1.389 per 1M tokens
    assert "aws" in lines[0] and "$1.389" in lines[0]
    assert "gcp" in lines[1]
    # at TTFT <= 1000 ms only the 1000 tok/s row is usable: $2.778
    result = CliRunner().invoke(app, ["catalog", "show", "--catalog", str(cat), "--ttft-ms",
                                      "1000"], env={"COLUMNS": "200"})
    lines = [line for line in result.stdout.splitlines() if "h100-sxm" in line]
    assert "aws" in lines[0] and "$2.778" in lines[0]


def test_show_filters_by_known_names_only(tmp_path):
    cat = write_catalog(tmp_path / "cat")
    show = ["catalog", "show", "--catalog", str(cat)]
    result = CliRunner().invoke(app, show + ["--model", "lama"])
    assert result.exit_code == 2
    assert "--model: unknown model 'lama'; closest known: llama" in result.stderr
    # trn2 is a known accelerator with no offering: said, not an empty table
    result = CliRunner().invoke(app, show + ["--accelerator", "trn2"])
    assert result.exit_code == 0 and "No offering" in result.stdout
    result = CliRunner().invoke(app, show + ["--provider", "gcp"], env={"COLUMNS": "200"})
    assert "aws" not in result.stdout and "$1.528" in result.stdout  # 11 / (2000 x 3600) x 1e6


MEASURED = ("accelerator,model,tokens_per_s_per_chip,ttft_ms,tpot_ms,source,as_of,latency_stat,"
            "precision,input_tokens,output_tokens,concurrency,stack")


def test_measurement_columns_are_optional_and_typed(tmp_path):
    cat = write_catalog(tmp_path / "cat")  # conftest's throughput.csv has none of them
    result = CliRunner().invoke(app, ["catalog", "check", str(cat)])
    assert result.exit_code == 0, result.output
    said = " ".join(result.stdout.split())
    assert "h100-sxm/llama: ?; ?; ?>?" in said
    assert "without latency_stat (what their latencies are is unknown) (1): h100-sxm/llama" in said
    (cat / "throughput.csv").write_text("\n".join([
        MEASURED, f"h100-sxm,llama,1000,500,50,{SRC},p99,fp8,512,128,8,vLLM 0.9",
        f"h100-sxm,llama,2000,1950,150,{SRC},,,,,,"]) + "\n")
    result = CliRunner().invoke(app, ["catalog", "check", str(cat)])
    assert result.exit_code == 0, result.output
    assert "h100-sxm/llama: ? / p99; ? / fp8; 512>128 @ 8 / ?>?" in " ".join(result.stdout.split())


@pytest.mark.parametrize("row,message", [
    (f"h100-sxm,llama,900,500,50,{SRC},p98,fp8,512,128,,",
     "throughput.csv:3: latency_stat: expected one of limit, p99, p95, p90, p50, mean, got 'p98'"),
    (f"h100-sxm,llama,900,500,50,{SRC},p99,fp8,0,128,,",
     "throughput.csv:3: input_tokens: expected a number > 0, got '0'"),
    (f"h100-sxm,llama,900,500,50,{SRC},p99,fp8,512,128,,",  # same conditions as line 2
     ("throughput.csv:3: accelerator, model, ttft_ms, tpot_ms, latency_stat, precision, "
      "input_tokens, output_tokens, concurrency, stack, chips_per_replica: duplicate key")),
])
def test_measurement_columns_checked(tmp_path, row, message):
    cat = write_catalog(tmp_path / "cat")
    (cat / "throughput.csv").write_text("\n".join([
        MEASURED, f"h100-sxm,llama,1000,500,50,{SRC},p99,fp8,512,128,,", row]) + "\n")
    result = CliRunner().invoke(app, ["catalog", "check", str(cat)])
    assert result.exit_code == 2
    assert message in result.stderr


def test_same_latency_at_other_shapes_coexists(tmp_path):
    cat = write_catalog(tmp_path / "cat")
    (cat / "throughput.csv").write_text("\n".join([
        MEASURED, f"h100-sxm,llama,1000,500,50,{SRC},p99,fp8,512,128,,",
        f"h100-sxm,llama,800,500,50,{SRC},p99,fp8,4096,512,,",
        f"h100-sxm,llama,900,500,50,{SRC},p99,bf16,512,128,,"]) + "\n")
    result = CliRunner().invoke(app, ["catalog", "check", str(cat)])
    assert result.exit_code == 0, result.output


def test_bundled_rows_say_what_their_latencies_are():
    from planner.catalog.read import BUNDLED, load_catalog

    tp = load_catalog(BUNDLED / "default").throughput
    assert (tp["latency_stat"] != "").all() and (tp["stack"] != "").all()
    # trn2 at one request in flight (NxD tutorials): P50 only, never a p99 figure
    trn2 = tp[(tp["accelerator"] == "trn2") & (tp["concurrency"] == 1)]
    assert len(trn2) and set(trn2["latency_stat"]) == {"p50"}
    # MLPerf Server/Interactive: the measured p99 read from the run's summary, its bound
    # named in the source; Poisson arrivals, so no concurrency. No row is only a bound.
    mlperf = tp[tp["source"].str.startswith("MLPerf")]
    assert set(mlperf["latency_stat"]) == {"p99"}
    assert mlperf["concurrency"].isna().all()
    assert mlperf["source"].str.contains("bound").all()
    # every family has a row at serving load (more than 50 output tokens/s per chip)
    family = tp["accelerator"].map(load_catalog(BUNDLED / "default").accelerators.set_index(
        "id")["family"])
    assert set(family[tp["tokens_per_s_per_chip"] >= 50]) == {"gpu", "tpu", "trainium",
                                                               "inferentia"}


def test_curves_per_accelerator_with_cost_at_each_point(tmp_path):
    cat = write_catalog(tmp_path / "cat")
    out = tmp_path / "out"
    result = CliRunner().invoke(app, ["catalog", "curves", "--model", "llama", "--catalog",
                                      str(cat), "--out", str(out)], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    table = pd.read_csv(out / "curves.csv")
    h100 = table[table["accelerator"] == "h100-sxm"].sort_values("tpot_ms")
    assert h100["tokens_per_s_per_chip"].tolist() == [1000, 2000]
    # cheapest h100 chip-hour: aws p5 80 / 8 = 10 $; 10 / (1000 x 3600) x 1e6 = $2.778
    assert h100["usd_per_1m_tokens"].tolist() == pytest.approx([2.777778, 1.388889])
    assert (out / "curves.html").read_text().count("<svg") == 3
    bad = CliRunner().invoke(app, ["catalog", "curves", "--model", "lama", "--catalog",
                                   str(cat)])
    assert bad.exit_code == 2 and "closest known: llama" in bad.stderr


def test_commands_that_write_need_the_catalog_named(tmp_path):
    result = CliRunner().invoke(app, ["catalog", "import-skypilot", str(FIXTURE),
                                      "--provider", "aws", "--as-of", "2025-10-01"])
    assert result.exit_code == 2
    assert "--catalog: name the catalog folder to write" in result.stderr


def test_check_says_per_family_what_is_usable_at_serving_load():
    from planner.catalog.check import usable
    from planner.catalog.read import BUNDLED, load_catalog

    table = usable(load_catalog(BUNDLED / "default")).set_index("family")
    assert set(table.index) == {"gpu", "tpu", "trainium", "inferentia"}
    assert (table["usable"] >= 1).all()
    assert table.loc["trainium", "batch 1"] >= 1  # the Neuron tutorial rows, flagged
    tight = usable(load_catalog(BUNDLED / "default"), ttft_ms=1000, tpot_ms=50)
    assert tight.set_index("family").loc["tpu", "usable"] == 0  # v6e measured at 2.5 s
