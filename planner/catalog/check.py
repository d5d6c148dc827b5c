"""What a catalog holds: coverage for `plan catalog check`, prices for `plan catalog show`."""

from __future__ import annotations

import pandas as pd

from planner.catalog.read import SCHEMA, Catalog
from planner.errors import PlanError, closest


def summary(cat: Catalog) -> pd.DataFrame:
    """One row per table: rows, and the oldest and newest as_of."""
    return pd.DataFrame([{"table": name, "rows": len(cat.table(name)),
                          "oldest as_of": cat.table(name)["as_of"].min(),
                          "newest as_of": cat.table(name)["as_of"].max()}
                         for name in SCHEMA])


def coverage(cat: Catalog) -> dict[str, list[str]]:
    """Names the catalog holds, and the gaps a planner should know about."""
    offered = set(cat.offerings["accelerator"])
    measured = set(cat.throughput["accelerator"])
    return {
        "providers": sorted(set(cat.offerings["provider"])),
        "accelerators": sorted(offered | measured),
        "families": sorted(set(cat.accelerators.loc[
            cat.accelerators["id"].isin(offered | measured), "family"])),
        "models": sorted(set(cat.throughput["model"])),
        "offered without throughput rows (cannot serve)": sorted(offered - measured),
        "measured but never offered": sorted(measured - offered),
        "listed in accelerators.csv, neither offered nor measured":
            sorted(set(cat.accelerators["id"]) - offered - measured),
        "measured per accelerator/model (latency stat; precision; input>output tokens "
        "@ concurrency; ? = not recorded)": _conditions(cat.throughput),
        "throughput rows without latency_stat (what their latencies are is unknown)": sorted(
            _pairs(cat.throughput[cat.throughput["latency_stat"] == ""]).unique()),
    }


SERVING_LOAD = 50.0  # output tokens/s per chip: below it a row is a latency run, not load


def usable(cat: Catalog, ttft_ms: float | None = None, tpot_ms: float | None = None
           ) -> pd.DataFrame:
    """Per family: the accelerators offered somewhere with a row at serving load (at least
    SERVING_LOAD tokens/s per chip, more than one request in flight) that meets the SLO
    (with no round trip), their models and best tokens/s per chip; and per family the rows
    to read with care: only a bound (`limit`) or one request at a time (batch 1)."""
    rows = cat.throughput.merge(cat.accelerators[["id", "family"]], left_on="accelerator",
                                right_on="id")
    rows = rows[rows["accelerator"].isin(cat.offerings["accelerator"])]
    fast = pd.Series(True, index=rows.index)
    if ttft_ms is not None:
        fast &= rows["ttft_ms"] <= ttft_ms
    if tpot_ms is not None:
        fast &= rows["tpot_ms"] <= tpot_ms
    load = (rows["tokens_per_s_per_chip"] >= SERVING_LOAD) & (rows["concurrency"] != 1)
    out = []
    for family, mine in rows.groupby("family"):
        good = mine[fast[mine.index] & load[mine.index]]
        best = good.groupby("accelerator")["tokens_per_s_per_chip"].max()
        out.append({"family": family, "usable": len(best),
                    "accelerators (best tokens/s per chip)": ", ".join(
                        f"{a} ({v:,.0f})" for a, v in best.items()) or "-",
                    "models": ", ".join(sorted(set(good["model"]))) or "-",
                    "bound only (limit)": int((mine["latency_stat"] == "limit").sum()),
                    "batch 1": int((mine["concurrency"] == 1).sum())})
    return pd.DataFrame(out)


def _pairs(rows: pd.DataFrame) -> pd.Series:
    return rows["accelerator"] + "/" + rows["model"]


def _conditions(rows: pd.DataFrame) -> list[str]:
    """`acc/model: limit / p99; fp8; 294.45>? @ 1`: the distinct values of each condition."""
    def cell(value) -> str:
        if pd.isna(value) or value == "":
            return "?"
        return f"{value:g}" if isinstance(value, float) else str(value)

    shapes = rows.assign(request=[f"{cell(i)}>{cell(o)}" + ("" if pd.isna(c) else f" @ {c:g}")
                                for i, o, c in zip(rows["input_tokens"], rows["output_tokens"],
                                                   rows["concurrency"])])

    def joined(values: pd.Series) -> str:
        return " / ".join(sorted({cell(v) for v in values}))

    per_pair = shapes.groupby(_pairs(shapes)).agg(
        stat=("latency_stat", joined), precision=("precision", joined),
        request=("request", joined))
    return [f"{pair}: {r['stat']}; {r['precision']}; {r['request']}"
            for pair, r in per_pair.iterrows()]


def price_table(cat: Catalog, provider: str | None = None, accelerator: str | None = None,
                model: str | None = None, ttft_ms: float | None = None,
                tpot_ms: float | None = None) -> pd.DataFrame:
    """Per (provider, instance, model): cheapest region's price per chip-hour, the best
    tokens/s per chip among rows measured within `ttft_ms`/`tpot_ms` (any, when not given)
    with the latencies it was measured at, and $ per 1M output tokens at full load."""
    off = cat.offerings.assign(chip_hour=cat.offerings["on_demand_hourly"]
                               / cat.offerings["chips"].astype(float))
    curve = cat.throughput
    if ttft_ms is not None:
        curve = curve[curve["ttft_ms"] <= ttft_ms]
    if tpot_ms is not None:
        curve = curve[curve["tpot_ms"] <= tpot_ms]
    best = curve.sort_values("tokens_per_s_per_chip", ascending=False).drop_duplicates(
        ["accelerator", "model"])[["accelerator", "model", "tokens_per_s_per_chip", "ttft_ms",
                                   "tpot_ms"]]
    rows = off.merge(best, on="accelerator")
    known = {"provider": off["provider"], "accelerator": cat.accelerators["id"],
             "model": cat.throughput["model"]}
    for column, value in (("provider", provider), ("accelerator", accelerator),
                          ("model", model)):
        if value is None:
            continue
        if value not in set(known[column]):
            raise PlanError(closest(value, known[column], column), path=f"--{column}")
        rows = rows[rows[column] == value]
    rows = rows.sort_values("chip_hour").groupby(
        ["model", "provider", "instance", "accelerator"], as_index=False).agg(
        chips=("chips", "first"), regions=("region", "nunique"),
        cheapest=("region", "first"), usd_per_chip_hour=("chip_hour", "first"),
        tokens_per_s_per_chip=("tokens_per_s_per_chip", "first"), ttft_ms=("ttft_ms", "first"),
        tpot_ms=("tpot_ms", "first"))
    rows["usd_per_1m_tokens"] = rows["usd_per_chip_hour"] / (
        rows["tokens_per_s_per_chip"] * 3600) * 1e6
    return rows.sort_values(["model", "usd_per_1m_tokens"], ignore_index=True)


def curves(cat: Catalog, model: str) -> pd.DataFrame:
    """Per accelerator, every throughput row of `model` (the throughput/latency curve) with
    the cheapest on-demand price per chip-hour and the $ per 1M output tokens at that point.
    Accelerators without an offering keep their rows, without a price."""
    if model not in set(cat.throughput["model"]):
        raise PlanError(closest(model, cat.throughput["model"], "model"), path="--model")
    off = cat.offerings.assign(usd_per_chip_hour=cat.offerings["on_demand_hourly"]
                               / cat.offerings["chips"].astype(float))
    cheapest = off.sort_values("usd_per_chip_hour").drop_duplicates("accelerator")[
        ["accelerator", "provider", "instance", "usd_per_chip_hour"]]
    rows = cat.throughput[cat.throughput["model"] == model].merge(
        cheapest, on="accelerator", how="left")
    rows["usd_per_1m_tokens"] = rows["usd_per_chip_hour"] / (
        rows["tokens_per_s_per_chip"] * 3600) * 1e6
    columns = ["accelerator", "tpot_ms", "ttft_ms", "tokens_per_s_per_chip", "latency_stat",
               "precision", "usd_per_1m_tokens", "usd_per_chip_hour", "provider", "instance"]
    return rows.sort_values(["accelerator", "tpot_ms"])[columns].reset_index(drop=True)
