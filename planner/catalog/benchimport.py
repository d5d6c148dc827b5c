"""Benchmark result files -> throughput rows (spec section 8, `plan catalog import-bench`).

One small parser per tool reads a file's content into load points; the shared helpers pick
the latency statistic (the strictest the file gives for both TTFT and TPOT: p99, p95, p90,
p50, then mean), divide the system's output tokens/s by the chips, and append the rows to a
catalog. Each row's source names the file, its sha256 prefix and the statistics read, so the
same file imported twice adds nothing.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date, datetime, timezone
from pathlib import Path

import pandas as pd

from planner.catalog.read import SCHEMA, read_table
from planner.errors import PlanError, closest

FORMATS = ("vLLM `vllm bench serve --save-result` (or benchmark_serving.py) JSON",
           "GuideLLM benchmark report JSON", "GenAI-Perf profile_export_genai_perf.json",
           "LLMPerf *_summary.json", "MLPerf loadgen mlperf_log_summary.txt")
PREFERENCE = ("p99", "p95", "p90", "p50", "mean")
# A statistic read: its place in the file and its value in ms.
Stats = dict[str, tuple[str, float]]


@dataclass(frozen=True)
class Point:
    """One measured load point of a result file."""

    tool: str
    label: str  # which load point of the file: its rate, concurrency or benchmark
    throughput: tuple[str, float]  # (where read, output tokens/s of the measured system)
    latency_stat: str
    ttft: tuple[str, float]  # (where read, ms)
    tpot: tuple[str, float]
    shape: tuple[str, float | None, float | None]  # (where read, mean input, mean output)
    concurrency: float | None = None
    as_of: str | None = None  # the date the file gives, YYYY-MM-DD


@dataclass(frozen=True)
class Imported:
    """What `import_files` did: the table written, the rows added, how many were there."""

    table: Path
    added: pd.DataFrame
    already_present: int
    new_model: bool


def strictest(ttft: Stats, tpot: Stats) -> tuple[str, tuple[str, float], tuple[str, float]]:
    """The first statistic of PREFERENCE that the file gives for both TTFT and TPOT."""
    for stat in PREFERENCE:
        if _given(ttft.get(stat)) and _given(tpot.get(stat)):
            return stat, ttft[stat], tpot[stat]
    raise PlanError("no TTFT and TPOT statistic (p99, p95, p90, p50 or mean) given for both")


def _given(entry: tuple[str, float] | None) -> bool:
    return entry is not None and entry[1] is not None


def _point(tool: str, label: str, throughput: tuple[str, float], ttft: Stats, tpot: Stats,
           shape: tuple[str, float | None, float | None], concurrency: float | None,
           as_of: str | None) -> Point:
    stat, first, per_token = strictest(ttft, tpot)
    return Point(tool, label, (throughput[0], float(throughput[1])), stat, first, per_token,
                 shape, None if concurrency is None else float(concurrency), as_of)


def _day(seconds: float) -> str:
    return datetime.fromtimestamp(seconds, tz=timezone.utc).date().isoformat()


def parse_vllm(d: dict) -> list[Point]:
    """`vllm bench serve --save-result`: one load point (the request rate or concurrency)."""
    def stats(metric: str) -> Stats:
        names = {"mean": f"mean_{metric}_ms", "p50": f"median_{metric}_ms",
                 **{p: f"{p}_{metric}_ms" for p in ("p99", "p95", "p90")}}
        return {stat: (key, d[key]) for stat, key in names.items() if key in d}

    done = d["completed"]
    shape = ("total_input_tokens / completed, total_output_tokens / completed",
             d["total_input_tokens"] / done, d["total_output_tokens"] / done)
    run_date = datetime.strptime(d["date"], "%Y%m%d-%H%M%S").date().isoformat()
    label = f"request_rate {d['request_rate']}" + (
        f", max_concurrency {d['max_concurrency']}" if d.get("max_concurrency") else "")
    return [_point("vLLM bench serve", label, ("output_throughput", d["output_throughput"]),
                   stats("ttft"), stats("tpot"), shape, d.get("max_concurrency"), run_date)]


def parse_guidellm(d: dict) -> list[Point]:
    """GuideLLM report: one load point per benchmark (a sweep gives a curve)."""
    points = []
    for i, bench in enumerate(d["benchmarks"], start=1):
        m = bench["metrics"]

        def stats(metric: str, m=m) -> Stats:
            s = m[metric]["successful"]
            return {"mean": (f"{metric}.mean", s["mean"]),
                    **{p: (f"{metric}.{p}", s["percentiles"][p])
                       for p in ("p99", "p95", "p90", "p50")}}

        strategy = bench["config"]["strategy"]
        kind = strategy["type_"]
        concurrency = {"synchronous": 1, "concurrent": strategy.get("streams")}.get(kind)
        shape = ("prompt_token_count.mean, output_token_count.mean",
                 m["prompt_token_count"]["successful"]["mean"],
                 m["output_token_count"]["successful"]["mean"])
        points.append(_point(
            "GuideLLM", f"benchmark {i} of {len(d['benchmarks'])}, {kind}",
            ("output_tokens_per_second.mean", m["output_tokens_per_second"]["successful"]["mean"]),
            stats("time_to_first_token_ms"), stats("inter_token_latency_ms"), shape, concurrency,
            _day(bench["start_time"])))
    return points


def parse_genai_perf(d: dict) -> list[Point]:
    """GenAI-Perf profile export: one load point (its concurrency or request rate)."""
    def stats(metric: str) -> Stats:
        s = d[metric]
        return {"mean": (f"{metric}.avg", s["avg"]),
                **{p: (f"{metric}.{p}", s[p]) for p in ("p99", "p95", "p90", "p50") if p in s}}

    config = d["input_config"]
    # older exports keep the load in input_config, newer ones under perf_analyzer.stimulus
    load = config if "concurrency" in config else config["perf_analyzer"]["stimulus"]
    shape = ("input_sequence_length.avg, output_sequence_length.avg",
             d["input_sequence_length"]["avg"], d["output_sequence_length"]["avg"])
    return [_point("GenAI-Perf", f"concurrency {load.get('concurrency')}",
                   ("output_token_throughput.avg", d["output_token_throughput"]["avg"]),
                   stats("time_to_first_token"), stats("inter_token_latency"), shape,
                   load.get("concurrency"), None)]


def parse_llmperf(d: dict) -> list[Point]:
    """LLMPerf summary: one load point (num_concurrent_requests). Its inter-token latency is
    request latency / output tokens, the first token included."""
    def stats(metric: str) -> Stats:
        base = f"results_{metric}_s"
        return {"mean": (f"{base}_mean", d[f"{base}_mean"] * 1000),
                **{p: (f"{base}_quantiles_{p}", d[f"{base}_quantiles_{p}"] * 1000)
                   for p in ("p99", "p95", "p90", "p50") if f"{base}_quantiles_{p}" in d}}

    shape = ("results_number_input_tokens_mean, results_number_output_tokens_mean",
             d["results_number_input_tokens_mean"], d["results_number_output_tokens_mean"])
    return [_point("LLMPerf", f"num_concurrent_requests {d['num_concurrent_requests']}",
                   ("results_mean_output_throughput_token_per_s",
                    d["results_mean_output_throughput_token_per_s"]),
                   stats("ttft"), stats("inter_token_latency"), shape,
                   d["num_concurrent_requests"], _day(d["timestamp"]) if "timestamp" in d
                   else None)]


def parse_mlperf(text: str) -> list[Point]:
    """MLPerf loadgen summary of a Server (or Interactive) run: the throughput reached and the
    99th-percentile TTFT and TPOT the run measured (`p99`), the bounds it had to meet named
    beside them; a summary without the percentiles records the bounds (`limit`)."""
    fields = dict(re.findall(r"^\s*([^:\n]*?)\s*:\s*(\S+)\s*$", text, flags=re.MULTILINE))
    if fields["Scenario"] != "Server":
        raise PlanError(f"an MLPerf {fields['Scenario']} run has no latency bound; import the "
                        "Server or Interactive run")
    if fields["Result is"] != "VALID":
        raise PlanError(f"the MLPerf result is {fields['Result is']}: the run missed its bounds")
    bound = {name: float(fields[f"{name} (ns)"]) / 1e6 for name in ("ttft_latency",
                                                                     "tpot_latency")}
    throughput = ("Completed tokens per second", float(fields["Completed tokens per second"]))
    measured = {"ttft_latency": "99.00 percentile first token latency (ns)",
                "tpot_latency": "99.00 percentile time to output token (ns)"}
    if all(m in fields for m in measured.values()):
        read = {k: (f"{m} (bound {k} {_fmt(bound[k])} ms)", float(fields[m]) / 1e6)
                for k, m in measured.items()}
        stat = "p99"
    else:
        read = {k: (f"{k} (ns), the bound", v) for k, v in bound.items()}
        stat = "limit"
    return [Point("MLPerf loadgen", "Server scenario", throughput, stat,
                  read["ttft_latency"], read["tpot_latency"], ("", None, None))]


# (tool, does a JSON object look like its output, parser)
JSON_PARSERS: tuple[tuple[str, Callable[[dict], bool], Callable[[dict], list[Point]]], ...] = (
    ("vLLM", lambda d: {"output_throughput", "completed", "date"} <= d.keys(), parse_vllm),
    ("GuideLLM", lambda d: isinstance(d.get("benchmarks"), list) and all(
        isinstance(b, dict) and "metrics" in b for b in d["benchmarks"]), parse_guidellm),
    ("GenAI-Perf", lambda d: {"output_token_throughput", "time_to_first_token",
                              "input_config"} <= d.keys(), parse_genai_perf),
    ("LLMPerf", lambda d: "results_mean_output_throughput_token_per_s" in d, parse_llmperf),
)


def read_points(path: Path) -> list[Point]:
    """The load points of one result file, whichever tool wrote it."""
    if not path.is_file():
        raise PlanError("file not found", file=str(path))
    text = path.read_bytes().decode("utf-8", errors="replace")
    if "MLPerf Results Summary" in text:
        return _guarded(path, "MLPerf loadgen", lambda: parse_mlperf(text))
    try:
        data = json.loads(text)
    except ValueError:
        data = None
    for tool, looks_like, parse in JSON_PARSERS:
        if isinstance(data, dict) and looks_like(data):
            return _guarded(path, tool, lambda parse=parse: parse(data))
    raise PlanError(f"expected one of: {'; '.join(FORMATS)}; found {_describe(data, text)}",
                    file=str(path))


def _guarded(path: Path, tool: str, parse: Callable[[], list[Point]]) -> list[Point]:
    """Run a parser; a missing field or a bad value is the user's file, not a crash."""
    try:
        points = parse()
    except PlanError as exc:
        raise PlanError(f"{tool} result: {exc.message}", file=str(path)) from None
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise PlanError(f"looks like {tool} output but cannot be read ({type(exc).__name__}: "
                        f"{exc})", file=str(path)) from None
    if not points:
        raise PlanError(f"{tool} result with no load point", file=str(path))
    return points


def _describe(data: object, text: str) -> str:
    if isinstance(data, dict):
        keys = list(data)
        return f"a JSON object with keys {', '.join(keys[:8])}" + (", ..." if keys[8:] else "")
    if data is not None:
        return f"JSON of type {type(data).__name__}"
    first = next((line.strip() for line in text.splitlines() if line.strip()), "")
    return f"text starting {first[:60]!r}" if first else "an empty file"


def _fmt(value: float | None) -> str:
    """2 decimals, 3 below 10 (as the bundled catalog), trailing zeros dropped."""
    if value is None or pd.isna(value):
        return ""
    digits = 2 if abs(value) >= 10 else 3
    return f"{value:.{digits}f}".rstrip("0").rstrip(".")


def to_rows(points: Iterable[Point], path: Path, accelerator: str, model: str, chips: int,
            precision: str | None, stack: str | None, today: str) -> list[dict[str, str]]:
    """Catalog rows: tokens/s per chip, the latencies, and a source naming what was read."""
    digest = hashlib.sha256(path.read_bytes()).hexdigest()[:12]
    rows = []
    for p in points:
        what = ", ".join(f for f in (p.tool, p.label) if f)
        read = "; ".join(f for f in (p.throughput[0], p.ttft[0], p.tpot[0], p.shape[0]) if f)
        rows.append({
            "accelerator": accelerator, "model": model,
            "tokens_per_s_per_chip": _fmt(p.throughput[1] / chips),
            "ttft_ms": _fmt(p.ttft[1]), "tpot_ms": _fmt(p.tpot[1]),
            "source": f"{path.name} sha256:{digest} ({what}): {read}; "
                      f"{_fmt(p.throughput[1])} output tok/s / {chips} chip{'s' * (chips > 1)}",
            "as_of": p.as_of or today, "latency_stat": p.latency_stat,
            "precision": precision or "", "input_tokens": _fmt(p.shape[1]),
            "output_tokens": _fmt(p.shape[2]), "concurrency": _fmt(p.concurrency),
            "stack": stack or ""})
    return rows


def table_file(catalog: Path) -> Path:
    """Where imported rows go: throughput.csv, or throughput/imported.csv in a folder table."""
    folder = catalog / "throughput"
    return folder / "imported.csv" if folder.is_dir() else catalog / "throughput.csv"


def import_files(files: Iterable[Path], catalog: Path, accelerator: str, model: str,
                 chips: int, precision: str | None = None, stack: str | None = None,
                 today: str | None = None) -> Imported:
    """Append one row per load point of `files` to the catalog's throughput table.

    Rows already there (same accelerator, model, source and request shape) are skipped; the
    table is checked after writing and restored if the result would not load.
    """
    catalog = Path(catalog)
    known = set(read_table(catalog, "accelerators")["id"])
    if accelerator not in known:
        raise PlanError(closest(accelerator, known, "accelerator"), path="--accelerator")
    today = today or date.today().isoformat()
    new = pd.DataFrame([row for f in files for row in to_rows(
        read_points(Path(f)), Path(f), accelerator, model, chips, precision, stack, today)],
        columns=[c.name for c in SCHEMA["throughput"]])

    target = table_file(catalog)
    before = target.read_bytes() if target.is_file() else None
    old = pd.read_csv(target, dtype=str, keep_default_na=False) if before else \
        pd.DataFrame(columns=new.columns, dtype=str)
    identity = ["accelerator", "model", "source", "input_tokens", "output_tokens", "concurrency"]
    seen = old.reindex(columns=identity, fill_value="").drop_duplicates()
    fresh = new.drop_duplicates(identity).merge(seen, how="left", on=identity, indicator=True)
    added = fresh[fresh["_merge"] == "left_only"].drop(columns="_merge")
    columns = [*old.columns, *(c for c in new.columns if c not in old.columns)]
    pd.concat([old, added], ignore_index=True).reindex(columns=columns).astype(object) \
        .fillna("").to_csv(target, index=False)
    try:
        table = read_table(catalog, "throughput")
    except PlanError:
        if before is None:
            target.unlink()
        else:
            target.write_bytes(before)
        raise
    mine = int((table["model"] == model).sum())
    return Imported(target, added.reset_index(drop=True), len(new) - len(added),
                    0 < mine == len(added))
