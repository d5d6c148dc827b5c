"""Turn a solution into the plan's tables (spec section 5), all pandas DataFrames."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from planner.model import CONTRACT, PlanModel
from planner.scenario import Scenario, month_hours
from planner.solver import Solution

EPS = 1e-7
UNMET_TOL = 1e-4  # tokens/s below this are solver noise, not unmet demand
ASSIGNMENT_COLUMNS = ["workload", "market", "provider", "region", "instance", "accelerator",
                      "kind", "month", "chips", "instances", "tokens_per_s", "cost"]
PURCHASE_COLUMNS = ["provider", "region", "instance", "accelerator", "kind", "term_months",
                    "start", "instances", "chips", "monthly_cost", "cost_in_horizon",
                    "cost_after_horizon", "total_cost"]
SPEND_COLUMNS = ["month", "provider", "region", "instance", "accelerator", "kind", "chips",
                 "cost"]


@dataclass
class Plan:
    """A solved scenario: status, totals and the tables finance and capacity teams read."""

    scenario: Scenario
    status: str  # "optimal", "unmet_demand" or "time_limit"
    spend: pd.DataFrame  # in-horizon cost per month and holding: SPEND_COLUMNS
    assignments: pd.DataFrame  # ASSIGNMENT_COLUMNS
    purchases: pd.DataFrame  # PURCHASE_COLUMNS (commitments, on-demand and spot bought)
    unmet: pd.DataFrame  # workload, market, month, demand, tokens_per_s
    served: pd.DataFrame  # workload, market, month, demand, served tokens/s
    solver: dict = field(default_factory=dict)

    @property
    def cost_after_horizon(self) -> float:
        return float(self.purchases["cost_after_horizon"].sum())

    @property
    def total_cost(self) -> float:
        """Spend inside the horizon plus what bought commitments still cost after it."""
        return float(self.spend["cost"].sum()) + self.cost_after_horizon

    @property
    def cost_by_month(self) -> pd.Series:
        return self.cost_by("month").reindex(self.scenario.month_labels, fill_value=0.0)

    def cost_by(self, column: str) -> pd.Series:
        """In-horizon spend grouped by a spend column (month, provider, accelerator, kind)."""
        return self.spend.groupby(column)["cost"].sum().rename("cost")

    @property
    def output_tokens(self) -> float:
        """Output tokens served over the horizon, at each month's peak rate all month."""
        hours = self.scenario.hours
        month = {m: i for i, m in enumerate(self.scenario.month_labels)}
        return float((self.served["served"] * hours[self.served["month"].map(month)]).sum()
                     * 3600)

    @property
    def cost_per_million_tokens(self) -> float:
        tokens = self.output_tokens
        return float(self.spend["cost"].sum()) / tokens * 1e6 if tokens else float("nan")

    def summary(self) -> pd.DataFrame:
        rows = [("total cost (USD)", self.total_cost),
                ("spend inside the horizon", float(self.spend["cost"].sum())),
                ("commitments after the horizon", self.cost_after_horizon),
                ("signed contracts (inside the horizon)",
                 float(self.spend.loc[self.spend["kind"] == CONTRACT, "cost"].sum())),
                ("unmet demand (token/s-months)", float(self.unmet["tokens_per_s"].sum())),
                ("$ per 1M output tokens (served at peak all month)",
                 self.cost_per_million_tokens)]
        return pd.DataFrame(rows, columns=["item", "value"])

    def tables(self) -> dict[str, pd.DataFrame]:
        return {"summary": self.summary(),
                "cost_by_month": self.cost_by_month.rename_axis("month").reset_index(),
                "cost_by_provider": self.cost_by("provider").reset_index(),
                "cost_by_accelerator": self.cost_by("accelerator").reset_index(),
                "cost_by_kind": self.cost_by("kind").reset_index(),
                "spend": self.spend, "assignments": self.assignments,
                "purchases": self.purchases, "unmet": self.unmet}

    def to_dict(self) -> dict:
        def records(df: pd.DataFrame) -> list[dict]:
            return json.loads(df.to_json(orient="records"))
        return {"scenario": self.scenario.name, "status": self.status,
                "total_cost": self.total_cost,
                "cost_after_horizon": self.cost_after_horizon,
                "cost_per_million_tokens": self.cost_per_million_tokens,
                "cost_by_month": self.cost_by_month.to_dict(),
                "cost_by_provider": self.cost_by("provider").to_dict(),
                "cost_by_accelerator": self.cost_by("accelerator").to_dict(),
                "cost_by_kind": self.cost_by("kind").to_dict(),
                "assignments": records(self.assignments),
                "purchases": records(self.purchases),
                "unmet": records(self.unmet[["workload", "market", "month", "tokens_per_s"]]),
                "solver": self.solver}

    def write_csv(self, folder: Path) -> list[Path]:
        folder.mkdir(parents=True, exist_ok=True)
        written = []
        for name, table in self.tables().items():
            table.to_csv(folder / f"{name}.csv", index=False)
            written.append(folder / f"{name}.csv")
        return written


def make_plan(pm: PlanModel, sol: Solution) -> Plan:
    scn = pm.scenario
    labels = np.array(scn.month_labels)
    spend, purchases = _holdings(pm, sol.x, labels)
    assignments = _assignments(pm, sol.x, labels)
    unmet_v = pm.lp.values("unmet", sol.x)["value"].to_numpy()
    d = pm.demand.assign(month=labels[pm.demand["t"]], demand=pm.demand["tokens_per_s"])
    served = d.assign(served=d["demand"] - unmet_v)[["workload", "market", "month", "demand",
                                                      "served"]]
    unmet = d.assign(tokens_per_s=unmet_v)[unmet_v > UNMET_TOL][
        ["workload", "market", "month", "demand", "tokens_per_s"]].reset_index(drop=True)
    status = sol.status if sol.status != "optimal" else \
        ("unmet_demand" if len(unmet) else "optimal")
    solver = {"name": sol.solver, "seconds": round(sol.seconds, 3), "gap": sol.gap,
              "variables": pm.lp.n_cols, "constraints": pm.lp.n_rows}
    return Plan(scn, status, spend, assignments, purchases, unmet, served, solver)


def _holdings(pm: PlanModel, x: np.ndarray, labels: np.ndarray
              ) -> tuple[pd.DataFrame, pd.DataFrame]:
    scn, cls, T = pm.scenario, pm.classes, pm.months
    bought = pm.lp.values("buy", x)["value"].to_numpy().reshape(len(cls), T) \
        if len(cls) else np.zeros((0, T))
    bought = np.where(bought > EPS, bought, 0.0)
    if scn.integer:
        bought = np.round(bought)
    inst_price = (cls["chips"] * cls["price"]).to_numpy()
    site = ["provider", "region", "instance", "accelerator", "kind"]

    # spend: held instances x instance price x hours, per class and month
    h, t, tb = pm.active
    held = np.zeros((len(cls), T))
    np.add.at(held, (h, t), bought[h, tb])
    hh, tt = np.nonzero(held > EPS)
    spend = cls.iloc[hh][site].assign(
        month=labels[tt], chips=held[hh, tt] * cls["chips"].to_numpy()[hh],
        cost=held[hh, tt] * inst_price[hh] * scn.hours[tt])
    gg, tg = np.nonzero(pm.contract_chips > 0)
    signed = pm.groups.iloc[gg].assign(
        instance="", kind=CONTRACT, month=labels[tg], chips=pm.contract_chips[gg, tg],
        cost=pm.contract_cost[gg, tg])
    spend = pd.concat([spend, signed], ignore_index=True)[SPEND_COLUMNS]

    # purchases: one row per class and purchase month
    hb, tb = np.nonzero(bought)
    term = cls["term"].to_numpy()[hb]
    hours = month_hours(scn.start, T + int(term.max(initial=1)))
    cum = np.concatenate([[0.0], np.cumsum(hours)])
    inside = cum[np.minimum(tb + term, T)] - cum[tb]
    whole = cum[tb + term] - cum[tb]
    per_hour = bought[hb, tb] * inst_price[hb]
    purchases = cls.iloc[hb][site].assign(
        term_months=term, start=labels[tb], instances=bought[hb, tb],
        chips=bought[hb, tb] * cls["chips"].to_numpy()[hb],
        monthly_cost=per_hour * whole / term, cost_in_horizon=per_hour * inside,
        cost_after_horizon=per_hour * (whole - inside), total_cost=per_hour * whole)
    purchases = purchases.sort_values(["kind", "start", "provider", "region", "instance"])
    return spend, purchases[PURCHASE_COLUMNS].reset_index(drop=True)


def _assignments(pm: PlanModel, x: np.ndarray, labels: np.ndarray) -> pd.DataFrame:
    T = pm.months
    chips = pm.lp.values("serve", x)["value"].to_numpy().reshape(len(pm.options), T) \
        if len(pm.options) else np.zeros((0, T))
    s, t = np.nonzero(chips > EPS)
    opts = pm.options.iloc[s].reset_index(drop=True)
    c = chips[s, t]
    g = opts["g"].to_numpy()
    price = opts["price"].to_numpy(dtype=float, na_value=0.0, copy=True)
    signed = g >= 0  # a contract's price: the chip-weighted price of its group's contracts
    price[signed] = pm.contract_cost[g[signed], t[signed]] / (
        pm.contract_chips[g[signed], t[signed]] * pm.scenario.hours[t[signed]])
    return opts.assign(month=labels[t], chips=c, instances=c / opts["chips"],
                       tokens_per_s=c * opts["tp"].to_numpy(),
                       cost=c * price * pm.scenario.hours[t])[ASSIGNMENT_COLUMNS]
