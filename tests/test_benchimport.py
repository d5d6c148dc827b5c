"""`plan catalog import-bench` on real result files of each tool (tests/fixtures/bench/).

Every expected figure is read by hand from the fixture named in the comment; SOURCES.md there
says where each file comes from. The accelerator ids are those of the run where the file or
its repository says so, and `gpu` where it does not.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from planner.cli import app

from conftest import SRC, TABLES

BENCH = Path(__file__).parent / "fixtures" / "bench"
VLLM = sorted((BENCH / "vllm").glob("*.json"))  # request rates 1, 16, 4, inf (name order)
GUIDELLM = BENCH / "guidellm" / "Qwen_Qwen3-4B-Thinking-2507_tp4_quant-fp8_benchmarks.json"
GENAI_PERF = BENCH / "genai_perf" / "profile_export_genai_perf.json"
GENAI_PERF_V2 = BENCH / "genai_perf" / "config-v2" / "profile_export_genai_perf.json"
LLMPERF = BENCH / "llmperf" / "anyscale_70b.json"
MLPERF = BENCH / "mlperf" / "amd-8xmi300x-v4.1-llama2-70b-server" / "mlperf_log_summary.txt"
MLPERF_INTERACTIVE = (BENCH / "mlperf" / "nvidia-b200-v5.1-llama2-70b-interactive"
                      / "mlperf_log_summary.txt")
MLPERF_OFFLINE = BENCH / "mlperf" / "amd-8xmi300x-v4.1-llama2-70b-offline" / "mlperf_log_summary.txt"
ACCELERATORS = ["a100-40gb,nvidia,gpu,40", "mi300x,amd,gpu,192", "b200,nvidia,gpu,180",
                "intel-xpu,intel,gpu,24", "gpu,unstated,gpu,80"]


@pytest.fixture
def catalog(tmp_path: Path) -> Path:
    folder = tmp_path / "cat"
    folder.mkdir()
    for name, lines in TABLES.items():
        extra = [f"{row},{SRC}" for row in ACCELERATORS] if name == "accelerators" else []
        (folder / f"{name}.csv").write_text("\n".join(lines + extra) + "\n")
    return folder


def run(*args: object):
    return CliRunner().invoke(app, ["catalog", "import-bench", *map(str, args)])


def imported(folder: Path, source_part: str) -> pd.Series:
    table = pd.read_csv(folder / "throughput.csv", dtype=str, keep_default_na=False)
    rows = table[table["source"].str.contains(source_part, regex=False)]
    assert len(rows) == 1, rows
    return rows.iloc[0]


def test_vllm_sweep_gives_a_curve(catalog):
    result = run(*VLLM, "--accelerator", "a100-40gb", "--model", "llama-3.3-70b",
                 "--chips", 8, "--to", catalog)
    assert result.exit_code == 0, result.output
    assert "4 row(s) added, 0 already there" in result.stdout
    assert "model 'llama-3.3-70b' is new to this catalog" in result.stdout
    row = imported(catalog, "qps_04.json")
    # qps_04.json: "output_throughput": 673.9184869835061 tok/s over 8 A100s (tp8)
    assert float(row["tokens_per_s_per_chip"]) == pytest.approx(673.9184869835061 / 8, abs=0.005)
    # "p99_ttft_ms": 67.56385031015722, "p99_tpot_ms": 27.912823145449423
    assert (row["latency_stat"], row["ttft_ms"], row["tpot_ms"]) == ("p99", "67.56", "27.91")
    # "total_input_tokens": 42659, "total_output_tokens": 42449, "completed": 200
    assert float(row["input_tokens"]) == pytest.approx(42659 / 200, abs=0.005)
    assert float(row["output_tokens"]) == pytest.approx(42449 / 200, abs=0.005)
    # "max_concurrency": null (a request rate, not a concurrency); "date": "20250414-141621"
    assert (row["concurrency"], row["as_of"]) == ("", "2025-04-14")
    assert "sha256:885c41eaa14f" in row["source"] and "p99_tpot_ms" in row["source"]
    # qps_inf.json: "output_throughput": 1780.3566341089636, "p99_ttft_ms": 450.3786364301777
    row = imported(catalog, "qps_inf.json")
    assert (row["tokens_per_s_per_chip"], row["ttft_ms"]) == ("222.54", "450.38")
    check = CliRunner().invoke(app, ["catalog", "check", str(catalog)])
    assert check.exit_code == 0, check.output


def test_guidellm_report(catalog):
    result = run(GUIDELLM, "--accelerator", "intel-xpu", "--model", "qwen3-4b", "--chips", 4,
                 "--precision", "fp8", "--stack", "vLLM (intel/vllm:0.14.1-xpu)", "--to", catalog)
    assert result.exit_code == 0, result.output
    row = imported(catalog, GUIDELLM.name)
    # benchmarks[0].metrics.output_tokens_per_second.successful.mean: 165.59511945248636, tp 4
    assert float(row["tokens_per_s_per_chip"]) == pytest.approx(165.59511945248636 / 4, abs=0.005)
    # time_to_first_token_ms ... percentiles.p99: 172.63293266296387;
    # inter_token_latency_ms ... percentiles.p99: 24.178931207367867 (first token excluded)
    assert (row["latency_stat"], row["ttft_ms"], row["tpot_ms"]) == ("p99", "172.63", "24.18")
    # prompt_token_count mean 99.0, output_token_count mean 1024.0; strategy concurrent, streams 4
    assert (row["input_tokens"], row["output_tokens"], row["concurrency"]) == ("99", "1024", "4")
    # benchmarks[0].start_time: 1772470696.6793344 = 2026-03-02 UTC
    assert row["as_of"] == "2026-03-02"
    assert (row["precision"], row["stack"]) == ("fp8", "vLLM (intel/vllm:0.14.1-xpu)")


@pytest.mark.parametrize("path,expected", [
    # output_token_throughput.avg 25.824770552328115; time_to_first_token.p99
    # 4323.045905799997; inter_token_latency.p99 11.535691549999992; input_sequence_length.avg
    # 152.5, output_sequence_length.avg 124.39393939393939; input_config.concurrency 1
    (GENAI_PERF, ("25.82", "4323.05", "11.54", "152.5", "124.39", "1")),
    # the newer config layout: concurrency under input_config.perf_analyzer.stimulus;
    # 12.095750218698175 tok/s, TTFT p99 2342.05304546, ITL p99 9.243265319999992,
    # ISL avg 152.65714285714284, OSL avg 73.51428571428572
    (GENAI_PERF_V2, ("12.1", "2342.05", "9.243", "152.66", "73.51", "1")),
])
def test_genai_perf_export(catalog, path, expected):
    result = run(path, "--accelerator", "gpu", "--model", "gpt-oss-20b", "--chips", 1,
                 "--to", catalog)
    assert result.exit_code == 0, result.output
    row = imported(catalog, path.name)
    assert tuple(row[["tokens_per_s_per_chip", "ttft_ms", "tpot_ms", "input_tokens",
                      "output_tokens", "concurrency"]]) == expected
    assert row["latency_stat"] == "p99"
    assert row["as_of"] == date.today().isoformat()  # the export carries no date


def test_llmperf_summary(catalog):
    result = run(LLMPERF, "--accelerator", "gpu", "--model", "llama-2-70b", "--chips", 1,
                 "--to", catalog)
    assert result.exit_code == 0, result.output
    row = imported(catalog, LLMPERF.name)
    # "results_mean_output_throughput_token_per_s": 207.52121071152493
    # "results_ttft_s_quantiles_p99": 0.4745305190600024 (s)
    # "results_inter_token_latency_s_quantiles_p99": 0.03873539747323499 (s)
    assert tuple(row[["tokens_per_s_per_chip", "ttft_ms", "tpot_ms", "latency_stat"]]) == \
        ("207.52", "474.53", "38.74", "p99")
    # "results_number_input_tokens_mean": 550.0, "results_number_output_tokens_mean":
    # 146.94666666666666, "num_concurrent_requests": 5, "timestamp": 1703136129 (2023-12-21)
    assert tuple(row[["input_tokens", "output_tokens", "concurrency", "as_of"]]) == \
        ("550", "146.95", "5", "2023-12-21")


@pytest.mark.parametrize("path,accelerator,expected", [
    # "Completed tokens per second: 21028.23" on 8x MI300X; "99.00 percentile first token
    # latency (ns) : 1604171041", "99.00 percentile time to output token (ns) : 197873909";
    # bounds (Test Parameters Used) ttft_latency 2000000000 ns, tpot_latency 200000000 ns
    (MLPERF, "mi300x", ("2628.53", "1604.17", "197.87", "2000", "200")),
    # the v5.1 Interactive run (its log says Scenario : Server): 59545.45 tok/s on 8x B200,
    # p99 140376101 / 38148975 ns; bounds 450000000 / 40000000 ns
    (MLPERF_INTERACTIVE, "b200", ("7443.18", "140.38", "38.15", "450", "40")),
])
def test_mlperf_summary_records_the_measured_p99(catalog, path, accelerator, expected):
    result = run(path, "--accelerator", accelerator, "--model", "llama-2-70b", "--chips", 8,
                 "--precision", "fp8", "--to", catalog)
    assert result.exit_code == 0, result.output
    row = imported(catalog, "mlperf_log_summary.txt")
    assert tuple(row[["tokens_per_s_per_chip", "ttft_ms", "tpot_ms"]]) == expected[:3]
    assert row["latency_stat"] == "p99"
    assert f"bound ttft_latency {expected[3]} ms" in row["source"]
    assert f"bound tpot_latency {expected[4]} ms" in row["source"]
    assert (row["input_tokens"], row["output_tokens"], row["concurrency"]) == ("", "", "")


@pytest.mark.parametrize("path,message", [
    (Path(__file__).parent / "fixtures" / "skypilot_vms.csv",
     ("expected one of: vLLM `vllm bench serve --save-result` (or benchmark_serving.py) JSON; "
     "GuideLLM benchmark report JSON; GenAI-Perf profile_export_genai_perf.json; LLMPerf "
     "*_summary.json; MLPerf loadgen mlperf_log_summary.txt; found text starting "
     "'InstanceType,")),
    (MLPERF_OFFLINE, "an MLPerf Offline run has no latency bound"),
    (BENCH / "missing.json", "missing.json: file not found"),
])
def test_a_file_of_another_shape_exits_2(catalog, path, message):
    before = (catalog / "throughput.csv").read_text()
    result = run(LLMPERF, path, "--accelerator", "gpu", "--model", "m", "--chips", 1,
                 "--to", catalog)
    assert result.exit_code == 2
    assert message in result.stderr and len(result.stderr.strip().splitlines()) == 1
    assert (catalog / "throughput.csv").read_text() == before  # nothing written


def test_importing_twice_adds_nothing(catalog):
    args = [VLLM[0], LLMPERF, "--accelerator", "gpu", "--model", "llama-2-70b", "--chips", 8,
            "--to", catalog]
    assert run(*args).exit_code == 0
    once = (catalog / "throughput.csv").read_text()
    result = run(*args)
    assert result.exit_code == 0, result.output
    assert "0 row(s) added, 2 already there" in result.stdout
    assert (catalog / "throughput.csv").read_text() == once


def test_old_header_gains_the_columns_and_keeps_its_rows(catalog):
    assert run(LLMPERF, "--accelerator", "h100-sxm", "--model", "llama", "--chips", 2,
               "--to", catalog).exit_code == 0
    table = pd.read_csv(catalog / "throughput.csv", dtype=str, keep_default_na=False)
    assert list(table.columns)[-7:] == ["latency_stat", "precision", "input_tokens",
                                        "output_tokens", "concurrency", "stack",
                                        "chips_per_replica"]
    assert list(table["tokens_per_s_per_chip"]) == ["1000", "2000", "103.76"]  # 207.52 / 2


def test_folder_table_and_missing_table(catalog):
    folder = catalog / "throughput"
    folder.mkdir()
    (catalog / "throughput.csv").rename(folder / "mine.csv")
    assert run(LLMPERF, "--accelerator", "gpu", "--model", "m", "--chips", 1,
               "--to", catalog).exit_code == 0
    assert (folder / "imported.csv").is_file()
    for f in folder.iterdir():
        f.unlink()
    folder.rmdir()
    result = run(LLMPERF, "--accelerator", "gpu", "--model", "m", "--chips", 1, "--to", catalog)
    assert result.exit_code == 0, result.output
    header = (catalog / "throughput.csv").read_text().splitlines()[0]
    assert header == ("accelerator,model,tokens_per_s_per_chip,ttft_ms,tpot_ms,source,as_of,"
                      "latency_stat,precision,input_tokens,output_tokens,concurrency,stack,"
                      "chips_per_replica")


def test_unknown_accelerator_and_a_clash_leave_the_table_as_it_was(catalog):
    result = run(LLMPERF, "--accelerator", "h100", "--model", "m", "--chips", 1, "--to", catalog)
    assert result.exit_code == 2
    assert "--accelerator: unknown accelerator 'h100'; closest known: h100-sxm" in result.stderr
    assert run(LLMPERF, "--accelerator", "gpu", "--model", "m", "--chips", 1,
               "--to", catalog).exit_code == 0
    # the same measurement under another source text: the import would duplicate a key
    table = catalog / "throughput.csv"
    edited = table.read_text().replace("anyscale_70b.json sha256", "renamed.json sha256")
    table.write_text(edited)
    result = run(LLMPERF, "--accelerator", "gpu", "--model", "m", "--chips", 1, "--to", catalog)
    assert result.exit_code == 2 and "duplicate key" in result.stderr
    assert table.read_text() == edited
