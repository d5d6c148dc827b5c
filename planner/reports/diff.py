"""What changed between two plans: totals, breakdowns and purchases, with signed deltas."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pandas as pd

from planner.model.plan import PURCHASE_COLUMNS, UNPROVEN

BREAKDOWNS = ("month", "provider", "accelerator", "kind")
TABLES = ("sides", "total", *BREAKDOWNS, "purchases")
PURCHASE_KEY = ["provider", "region", "instance", "accelerator", "kind", "start"]
MONEY = ["instances", "chips", "monthly_cost", "cost_in_horizon", "cost_after_horizon",
         "total_cost", "term_months"]


def plan_summary(plan) -> dict:
    """The comparable parts of a plan, from a Plan, a plan across futures (expected
    figures) or `plan solve --format json`."""
    if not isinstance(plan, dict):
        plan = plan.to_dict()
    purchases = pd.DataFrame(plan["purchases"], columns=PURCHASE_COLUMNS)
    purchases[MONEY] = purchases[MONEY].astype(float)  # none bought: no dtype to infer
    return {"sides": sides(plan), "total": {"total cost": plan["total_cost"]},
            **{by: plan.get(f"cost_by_{by}") or {} for by in BREAKDOWNS},
            "purchases": purchases}


def sides(plan: dict) -> dict:
    """What each side is before what it costs: status, demand left unmet or unprotected,
    the proof gap, cost per 1M output tokens served and total cost."""
    demand = plan.get("demand_total") or float("nan")
    unmet, unprotected = plan.get("unmet_total", 0.0), plan.get("unprotected_total", 0.0)
    gap = (plan.get("solver") or {}).get("gap")
    return {"status": plan["status"], "unmet": unmet, "unmet_share": unmet / demand,
            "unprotected": unprotected, "unprotected_share": unprotected / demand,
            "gap": float("nan") if gap is None else gap,
            "cost_per_1m_tokens": plan.get("cost_per_million_tokens", float("nan")),
            "total_cost": plan["total_cost"], "catalog": _catalog_digest(plan)}


def _catalog_digest(plan: dict) -> str:
    """One sha256 (12 hex digits) over the catalog tables a plan was made from."""
    tables = (plan.get("fingerprint") or {}).get("catalog_sha256") or {}
    text = json.dumps(tables, sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:12] if tables else "unknown"


def headline(tables: dict[str, pd.DataFrame]) -> str:
    """The first line of a diff: when one side serves less demand, that before any
    "cheaper"; then the change in total cost."""
    s = tables["sides"].set_index("side").T.rename(columns=str.lower)
    a, b = s.loc["total_cost", "a"], s.loc["total_cost", "b"]
    ua, ub = (float(s.loc["unmet_share", k]) for k in ("a", "b"))
    pa, pb = (float(s.loc["unprotected_share", k]) for k in ("a", "b"))
    lines = []
    for side, unmet, other in (("A", ua, ub), ("B", ub, ua)):
        if unmet > other + 1e-9:
            lines.append(f"{side} leaves {unmet:.1%} of demand unmet (the other "
                         f"{other:.1%}): it is not a cheaper way to serve the same demand.")
    for side, unprot, other in (("A", pa, pb), ("B", pb, pa)):
        if unprot > other + 1e-9:
            lines.append(f"{side} leaves {unprot:.1%} of demand unprotected (the other "
                         f"{other:.1%}).")
    for side, key in (("A", "a"), ("B", "b")):
        if s.loc["status", key] in UNPROVEN:
            lines.append(f"{side} is not proven optimal ({s.loc['status', key]}).")
    if s.loc["catalog", "a"] != s.loc["catalog", "b"]:
        lines.append("A and B come from different catalogs (their tables' sha256 differ): "
                     "prices and throughput may differ, not only the scenario.")
    change = b - a
    word = "the same total cost" if abs(change) < 0.005 else \
        f"B costs {'more' if change > 0 else 'less'} than A by ${abs(change):,.2f}"
    lines.append(f"{word} (A ${a:,.2f}, B ${b:,.2f}).")
    return " ".join(lines)


def load_result(path: Path) -> dict:
    """A `plan solve --format json` result file."""
    return json.loads(path.read_text(encoding="utf-8"))


def diff(a, b) -> dict[str, pd.DataFrame]:
    """Tables keyed 'sides', 'total', 'month', 'provider', 'accelerator', 'kind',
    'purchases', of two plans: a Plan, a plan across futures or a `plan solve` JSON."""
    sa, sb = plan_summary(a), plan_summary(b)
    out = {"sides": pd.DataFrame([{"side": "A", **sa["sides"]}, {"side": "B", **sb["sides"]}])}
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
                     ignore_index=True).pipe(
        lambda f: f[["table", *(c for c in f.columns if c != "table")]])


def _deltas(frame: pd.DataFrame) -> pd.DataFrame:
    """B - A, and the change as a share of A (NaN where A is 0)."""
    delta = frame["b"] - frame["a"]
    with np.errstate(divide="ignore", invalid="ignore"):
        pct = np.where(frame["a"] != 0, delta / frame["a"].abs(), np.nan)
    return frame.assign(delta=delta, pct=pct)
