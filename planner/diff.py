"""What changed between two plans: totals, breakdowns and purchases, with signed deltas."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

from planner.report import PURCHASE_COLUMNS, Plan

BREAKDOWNS = ("month", "provider", "accelerator", "kind")
TABLES = ("total", *BREAKDOWNS, "purchases")
PURCHASE_KEY = ["provider", "region", "instance", "accelerator", "kind", "start"]


def plan_summary(plan: Plan | dict) -> dict:
    """The comparable parts of a plan, from a Plan or from `plan solve --format json`."""
    if isinstance(plan, Plan):
        plan = plan.to_dict()
    return {"total": {"total cost": plan["total_cost"]},
            **{by: plan[f"cost_by_{by}"] for by in BREAKDOWNS},
            "purchases": pd.DataFrame(plan["purchases"], columns=PURCHASE_COLUMNS)}


def load_result(path: Path) -> dict:
    """A `plan solve --format json` result file."""
    return json.loads(path.read_text(encoding="utf-8"))


def diff(a: Plan | dict, b: Plan | dict) -> dict[str, pd.DataFrame]:
    """Tables keyed 'total', 'month', 'provider', 'accelerator', 'kind', 'purchases'."""
    sa, sb = plan_summary(a), plan_summary(b)
    out = {}
    for name in ("total", *BREAKDOWNS):
        both = pd.DataFrame({"a": pd.Series(sa[name], dtype=float),
                             "b": pd.Series(sb[name], dtype=float)}).fillna(0.0)
        both = both.rename_axis(name).reset_index()
        out[name] = _deltas(both)
    pa = sa["purchases"].groupby(PURCHASE_KEY, as_index=False)[["instances",
                                                                  "total_cost"]].sum()
    pb = sb["purchases"].groupby(PURCHASE_KEY, as_index=False)[["instances",
                                                                  "total_cost"]].sum()
    merged = pa.merge(pb, on=PURCHASE_KEY, how="outer", suffixes=("_a", "_b")).fillna(
        {"instances_a": 0.0, "instances_b": 0.0, "total_cost_a": 0.0, "total_cost_b": 0.0})
    merged = merged[~np.isclose(merged["instances_a"], merged["instances_b"])]
    purchases = _deltas(merged.rename(columns={"total_cost_a": "a", "total_cost_b": "b"}))
    out["purchases"] = purchases.sort_values("delta", key=np.abs, ascending=False,
                                             ignore_index=True)[
        ["provider", "region", "instance", "accelerator", "kind", "start", "instances_a",
         "instances_b", "a", "b", "delta", "pct"]]
    return out


def long_table(tables: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """Every table of `diff` in one long table: a `table` column, then the union of the
    columns (a breakdown's key column is named after it: month, provider, ...)."""
    return pd.concat([t.assign(table=name) for name, t in tables.items()],
                     ignore_index=True).pipe(lambda f: f[["table", *f.columns[:-1]]])


def _deltas(frame: pd.DataFrame) -> pd.DataFrame:
    """B - A, and the change as a share of A (NaN where A is 0)."""
    delta = frame["b"] - frame["a"]
    with np.errstate(divide="ignore", invalid="ignore"):
        pct = np.where(frame["a"] != 0, delta / frame["a"].abs(), np.nan)
    return frame.assign(delta=delta, pct=pct)
