"""Turn a solution into the plan's tables (spec section 5), all pandas DataFrames."""

from __future__ import annotations

import hashlib
import importlib.metadata
import itertools
import json
from dataclasses import dataclass, field
from typing import ClassVar

import numpy as np
import pandas as pd

from planner.catalog.read import fingerprint
from planner.model.build import PlanModel
from planner.model.tiers import Solution
from planner.scenario.kinds import CONTRACT, kind_of
from planner.scenario.read import Scenario, month_hours

EPS = 1e-7
UNPROVEN = ("not_proven", "time_limit")  # a plan whose search stopped before the proof
UNMET_TOL = 1e-4  # tokens/s below this, or below NOISE of the demand, are solver noise:
NOISE = 1e-6  # the tiers hold each other within 1e-7 of their value (tiers.hold_tol)


def short(values: np.ndarray, demand: np.ndarray) -> np.ndarray:
    """Which unmet or unprotected amounts (tokens/s) are more than solver noise."""
    return values > np.maximum(UNMET_TOL, NOISE * demand)
ASSIGNMENT_COLUMNS = ["workload", "market", "provider", "region", "instance", "accelerator",
                      "kind", "month", "chips", "instances", "replicas", "chips_per_replica",
                      "tokens_per_s", "cost", "measured_model", "precision", "ttft_ms",
                      "tpot_ms", "latency_stat"]
DEPLOYMENT_COLUMNS = ["month", "provider", "region", "instance", "accelerator", "kind",
                      "instances", "chips", "replicas", "layout"]
PURCHASE_COLUMNS = ["provider", "region", "instance", "accelerator", "kind", "term_months",
                    "start", "instances", "chips", "monthly_cost", "cost_in_horizon",
                    "cost_after_horizon", "total_cost"]
SPEND_COLUMNS = ["month", "provider", "region", "instance", "accelerator", "kind", "chips",
                 "cost"]


@dataclass
class Plan:
    """A solved scenario: status, totals and the tables finance and capacity teams read."""

    TABLES: ClassVar[tuple[str, ...]] = (
        "summary", "cost_by_month", "cost_by_provider", "cost_by_accelerator", "cost_by_kind",
        "unit_costs", "spend", "deployment", "assignments", "idle", "purchases", "contracts",
        "unmet", "unprotected", "fingerprint")

    scenario: Scenario
    status: str  # "optimal", "unmet_demand", "unprotected", "not_proven" or "time_limit"
    spend: pd.DataFrame  # in-horizon cost per month and holding: SPEND_COLUMNS
    assignments: pd.DataFrame  # ASSIGNMENT_COLUMNS
    purchases: pd.DataFrame  # PURCHASE_COLUMNS (commitments, on-demand and spot bought)
    unmet: pd.DataFrame  # workload, market, month, demand, tokens_per_s
    served: pd.DataFrame  # workload, market, month, demand, served tokens/s
    unprotected: pd.DataFrame  # workload, market, month, failed, tokens_per_s
    solver: dict = field(default_factory=dict)
    deployment: pd.DataFrame = field(  # what to deploy: DEPLOYMENT_COLUMNS
        default_factory=lambda: pd.DataFrame(columns=DEPLOYMENT_COLUMNS))
    warnings: list[str] = field(default_factory=list)  # said with every output

    @property
    def fingerprint(self) -> dict:
        """What the plan was made from: sha256 of the scenario file and of each catalog
        table, the planner's and the solver's versions. The same fingerprint gives the
        same plan on any machine (unless a --time-limit stopped the search)."""
        return inputs_fingerprint(self.scenario, self.solver.get("name", ""))

    @property
    def shortfall(self) -> str | None:
        """"unmet" when demand is left unserved, else "unprotected" when some would be lost
        beyond the kept share if a provider (or region) failed, else None."""
        if len(self.unmet):
            return "unmet"
        return "unprotected" if len(self.unprotected) else None

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

    def served_millions(self) -> pd.Series:
        """Millions of output tokens served per `served` row: peak rate held all month."""
        hours = dict(zip(self.scenario.month_labels, self.scenario.hours))
        return self.served["served"] * self.served["month"].map(hours) * 3600 / 1e6

    @property
    def output_tokens(self) -> float:
        """Output tokens served over the horizon, at each month's peak rate all month."""
        return float(self.served_millions().sum() * 1e6)

    @property
    def cost_per_million_tokens(self) -> float:
        tokens = self.output_tokens
        return float(self.spend["cost"].sum()) / tokens * 1e6 if tokens else float("nan")

    def unit_costs(self) -> pd.DataFrame:
        """$ per 1M output tokens per workload and month, fully loaded: each month's spend
        is shared over workloads in proportion to the cost of the chips they use; tokens
        are the served peak tokens/s all month, on capacity planned at `utilization`."""
        tokens = self.served.assign(tokens_m=self.served_millions()).groupby(
            ["workload", "month"])["tokens_m"].sum()
        used = self.assignments.groupby(["workload", "month"])["cost"].sum()
        share = used / used.groupby(level="month").transform("sum")
        spend = self.cost_by_month
        cost = share * spend.reindex(share.index.get_level_values("month")).to_numpy()
        table = pd.DataFrame({"tokens_millions": tokens, "cost": cost}).fillna(0.0)
        table["usd_per_1m_tokens"] = table["cost"] / table["tokens_millions"].where(
            table["tokens_millions"] > 0)
        table["utilization"] = table.index.get_level_values("workload").map(
            {w.name: w.utilization for w in self.scenario.workloads.values()})
        return table.reset_index()

    def contracts(self) -> pd.DataFrame:
        """Signed contracts inside the horizon, per provider, region and accelerator:
        months, chips held, cost (paid whatever the plan does) and the share of the held
        chip-months that serve demand."""
        keys = ["provider", "region", "accelerator"]
        held = self.spend[self.spend["kind"] == CONTRACT].groupby(keys).agg(
            months=("month", "nunique"), chips=("chips", "max"), chip_months=("chips", "sum"),
            cost=("cost", "sum"))
        used = self.assignments[self.assignments["kind"] == CONTRACT].groupby(keys)[
            "chips"].sum()
        held["used_share"] = used.reindex(held.index, fill_value=0.0) / held["chip_months"]
        return held.drop(columns="chip_months").reset_index()

    def idle(self) -> pd.DataFrame:
        """Chips held but holding no replica, per month and holding, and what they cost:
        assignments plus idle add up to the spend inside the horizon."""
        keys = ["month", "provider", "region", "instance", "accelerator", "kind"]
        held = self.spend.groupby(keys)[["chips", "cost"]].sum()
        used = self.assignments.groupby(keys)[["chips", "cost"]].sum().reindex(
            held.index, fill_value=0.0)
        idle = (held - used).reset_index()
        return idle[idle["chips"] > 1e-6].reset_index(drop=True)

    def cost_per_workload(self) -> pd.DataFrame:
        """Per workload over the horizon: tokens (millions), cost, $ per 1M tokens."""
        table = self.unit_costs().groupby("workload").agg(
            tokens_millions=("tokens_millions", "sum"), cost=("cost", "sum"),
            utilization=("utilization", "first"))
        table["usd_per_1m_tokens"] = table["cost"] / table["tokens_millions"].where(
            table["tokens_millions"] > 0)
        return table.reset_index()

    @property
    def demand_total(self) -> float:
        """Demand summed over workloads, markets and months (tokens/s-months)."""
        return float(self.served["demand"].sum())

    def summary(self) -> pd.DataFrame:
        """The headline figures: item, value, unit (USD, USD per 1M tokens, tokens/s-months,
        share of demand)."""
        unmet = float(self.unmet["tokens_per_s"].sum())
        unprotected = float(self.unprotected["tokens_per_s"].sum())
        demand = self.demand_total or float("nan")
        rows = [("total cost", self.total_cost, "USD"),
                ("spend inside the horizon", float(self.spend["cost"].sum()), "USD"),
                ("commitments after the horizon", self.cost_after_horizon, "USD"),
                ("signed contracts (inside the horizon)",
                 float(self.spend.loc[self.spend["kind"] == CONTRACT, "cost"].sum()), "USD"),
                ("cost per 1M output tokens (peak rate all month)",
                 self.cost_per_million_tokens, "USD per 1M tokens"),
                ("unmet demand", unmet, "tokens/s-months"),
                ("unmet share of demand", unmet / demand, "share"),
                ("unprotected demand", unprotected, "tokens/s-months"),
                ("unprotected share of demand", unprotected / demand, "share")]
        return pd.DataFrame(rows, columns=["item", "value", "unit"])

    def tables(self) -> dict[str, pd.DataFrame]:
        """Every table of TABLES, by name."""
        return {"summary": self.summary(),
                "cost_by_month": self.cost_by_month.rename_axis("month").reset_index(),
                "cost_by_provider": self.cost_by("provider").reset_index(),
                "cost_by_accelerator": self.cost_by("accelerator").reset_index(),
                "cost_by_kind": self.cost_by("kind").reset_index(),
                "unit_costs": self.unit_costs(),
                "spend": self.spend, "deployment": self.deployment,
                "assignments": self.assignments, "idle": self.idle(),
                "purchases": self.purchases, "contracts": self.contracts(),
                "unmet": self.unmet,
                "unprotected": self.unprotected,
                "fingerprint": fingerprint_table(self.fingerprint)}

    def to_dict(self) -> dict:
        def records(df: pd.DataFrame) -> list[dict]:
            return json.loads(df.to_json(orient="records"))
        return {"scenario": self.scenario.name, "status": self.status,
                "catalog": str(self.scenario.catalog.path),
                "total_cost": self.total_cost,
                "cost_after_horizon": self.cost_after_horizon,
                "cost_per_million_tokens": self.cost_per_million_tokens,
                "demand_total": self.demand_total,
                "unmet_total": float(self.unmet["tokens_per_s"].sum()),
                "unprotected_total": float(self.unprotected["tokens_per_s"].sum()),
                "cost_by_month": self.cost_by_month.to_dict(),
                "cost_by_provider": self.cost_by("provider").to_dict(),
                "cost_by_accelerator": self.cost_by("accelerator").to_dict(),
                "cost_by_kind": self.cost_by("kind").to_dict(),
                "deployment": records(self.deployment),
                "assignments": records(self.assignments),
                "purchases": records(self.purchases),
                "unmet": records(self.unmet[["workload", "market", "month", "tokens_per_s"]]),
                "unprotected": records(self.unprotected),
                "unit_costs": records(self.unit_costs()),
                "solver": self.solver, "warnings": self.warnings,
                "fingerprint": self.fingerprint}



def inputs_fingerprint(scn: Scenario, solver: str) -> dict:
    """sha256 of the scenario file and of each catalog table, and the versions used."""
    try:
        version = importlib.metadata.version("inference-capacity-planner")
    except importlib.metadata.PackageNotFoundError:  # a source tree, not installed
        version = "source"
    scenario = hashlib.sha256(scn.file.read_bytes()).hexdigest() if scn.file.is_file() else ""
    return {"scenario_sha256": scenario, "catalog_sha256": fingerprint(scn.catalog.path),
            "planner": version, "solver": solver}


def fingerprint_table(fp: dict) -> pd.DataFrame:
    """The fingerprint as rows of (input, sha256 or version)."""
    rows = [("scenario file", fp["scenario_sha256"]),
            *((f"catalog {t}", h or "(absent)") for t, h in fp["catalog_sha256"].items()),
            ("planner version", fp["planner"]), ("solver", fp["solver"])]
    return pd.DataFrame(rows, columns=["input", "fingerprint"])


def make_plan(pm: PlanModel, sol: Solution) -> Plan:
    scn = pm.scenario
    labels = np.array(scn.month_labels)
    bought = _bought(pm, sol.x)
    held = _held(pm, bought)
    spend = held.assign(month=labels[held["t"]],
                        cost=held["chips"] * held["price"] * scn.hours[held["t"]])
    placed = _placed(pm, sol.x, held)
    assignments = _assignments(pm, sol.x, placed)
    unmet_v = pm.lp.values("unmet", sol.x)["value"].to_numpy()
    d = pm.demand.assign(month=labels[pm.demand["t"]], demand=pm.demand["tokens_per_s"])
    served = d.assign(served=d["demand"] - unmet_v)[["workload", "market", "month", "demand",
                                                      "served"]]
    unmet = d.assign(tokens_per_s=unmet_v)[short(unmet_v, d["demand"].to_numpy())][
        ["workload", "market", "month", "demand", "tokens_per_s"]].reset_index(drop=True)
    unprotected = _unprotected(pm, sol.x)
    status = sol.status if sol.status != "optimal" else \
        "unmet_demand" if len(unmet) else "unprotected" if len(unprotected) else "optimal"
    signed = float(pm.contract_cost.sum())  # a constant: in total_cost, not in the objective
    solver = {"name": sol.solver, "seconds": round(sol.seconds, 3), "gap": sol.gap,
              "bound": sol.bound + signed, "variables": pm.lp.n_cols,
              "constraints": pm.lp.n_rows, "stages": sol.stages}
    plan = Plan(scn, status, spend[SPEND_COLUMNS], assignments,
                _purchases(pm, bought, labels), unmet, served, unprotected, solver,
                deployment(pm, placed, held), memory_warnings(pm))
    total = plan.total_cost  # the gap is relative to the cost reported, contracts included
    if not np.isfinite(solver["bound"]):  # no bound proven: JSON has no infinity
        solver["bound"], solver["gap"] = None, None
    else:
        solver["gap"] = max(total - solver["bound"], 0.0) / total if total > 0 else 0.0
    return plan


def _unprotected(pm: PlanModel, x: np.ndarray) -> pd.DataFrame:
    """What would be lost beyond the kept share if each provider (or region) failed."""
    columns = ["workload", "market", "month", "failed", "tokens_per_s"]
    if "unprotected" not in pm.lp.variables:
        return pd.DataFrame(columns=columns)
    v = pm.lp.values("unprotected", x).merge(pm.demand[["workload", "market", "t",
                                                        "tokens_per_s"]],
                                             on=["workload", "market", "t"])
    v = v[short(v["value"].to_numpy(), v["tokens_per_s"].to_numpy())]
    return v.assign(month=np.array(pm.scenario.month_labels)[v["t"]], failed=v["site"],
                    tokens_per_s=v["value"])[columns].reset_index(drop=True)


def _bought(pm: PlanModel, x: np.ndarray) -> np.ndarray:
    """Instances bought per class and month (whole numbers when the plan is integer)."""
    bought = pm.lp.values("buy", x)["value"].to_numpy().reshape(len(pm.classes), pm.months)
    bought = np.where(bought > EPS, bought, 0.0)
    return np.round(bought) if pm.scenario.integer else bought


def _held(pm: PlanModel, bought: np.ndarray) -> pd.DataFrame:
    """Chips held per holder, month and kind, in the order replicas fill them: contracts,
    commitments (longest first), on-demand (spot holders hold only spot)."""
    cls, T = pm.classes, pm.months
    h, t, tb = pm.active
    instances = np.zeros((len(cls), T))
    np.add.at(instances, (h, t), bought[h, tb])
    hh, tt = np.nonzero(instances > EPS)
    per = cls["chips"].to_numpy(dtype=float)
    held = cls.iloc[hh][["provider", "region", "instance", "accelerator", "kind", "holder",
                         "price"]].assign(t=tt, chips=instances[hh, tt] * per[hh],
                                          per_instance=per[hh])
    gg, tg = np.nonzero(pm.contract_chips > 0)
    signed = pm.holders.iloc[gg][["provider", "region", "accelerator"]].assign(
        instance="", kind=CONTRACT, holder=gg, t=tg, chips=pm.contract_chips[gg, tg],
        price=pm.contract_cost[gg, tg] / (pm.contract_chips[gg, tg] * pm.scenario.hours[tg]),
        per_instance=np.nan)
    held = pd.concat([signed, held], ignore_index=True)
    held["order"] = held["kind"].map(lambda k: kind_of(k).order)
    return held.sort_values(["holder", "t", "order", "instance"], ignore_index=True)


def _purchases(pm: PlanModel, bought: np.ndarray, labels: np.ndarray) -> pd.DataFrame:
    """One row per class and purchase month, with what it costs inside and after."""
    cls, T = pm.classes, pm.months
    hb, tb = np.nonzero(bought)
    term = cls["term"].to_numpy()[hb]
    cum = np.concatenate([[0.0], np.cumsum(month_hours(pm.scenario.start,
                                                       T + int(term.max(initial=1))))])
    inside = cum[np.minimum(tb + term, T)] - cum[tb]
    whole = cum[tb + term] - cum[tb]
    per_hour = bought[hb, tb] * (cls["chips"] * cls["price"]).to_numpy()[hb]
    purchases = cls.iloc[hb].assign(
        term_months=term, start=labels[tb], instances=bought[hb, tb],
        chips=bought[hb, tb] * cls["chips"].to_numpy()[hb],
        monthly_cost=per_hour * whole / term, cost_in_horizon=per_hour * inside,
        cost_after_horizon=per_hour * (whole - inside), total_cost=per_hour * whole)
    purchases = purchases.sort_values(["kind", "start", "provider", "region", "instance"])
    return purchases[PURCHASE_COLUMNS].reset_index(drop=True)


def _placed(pm: PlanModel, x: np.ndarray, held: pd.DataFrame) -> pd.DataFrame:
    """Each holder's replicas placed on its chips, largest first, in the order `held` fills
    them: one row per (point, month, holding) with the replicas and chips placed there
    (columns of `held` and of the point, `replicas`, `chips`, and `first`: the chip, from
    0 in the holder's month, where they start)."""
    reps = pm.replicas(x)
    if pm.scenario.integer:
        reps = np.round(reps)
    p, t = np.nonzero(reps > EPS)
    pts = pm.points.iloc[p].reset_index()
    use = pts.assign(t=t, span=reps[p, t] * pts["size"].to_numpy())
    use = use.sort_values(["holder", "t", "size", "point"], ascending=[True, True, False, True],
                          kind="stable")
    use["b"] = use.groupby(["holder", "t"])["span"].cumsum()
    held = held.assign(d=held.groupby(["holder", "t"])["chips"].cumsum())
    rows = use.merge(held.drop(columns=["provider", "region", "accelerator", "instance"]),
                     on=["holder", "t"], suffixes=("", "_held"))
    lo = np.maximum(rows["b"] - rows["span"], rows["d"] - rows["chips"])
    overlap = np.minimum(rows["b"], rows["d"]) - lo
    rows = rows.assign(first=lo, chips=overlap, replicas=overlap / rows["size"])
    return rows[overlap > EPS].reset_index(drop=True)


def _assignments(pm: PlanModel, x: np.ndarray, placed: pd.DataFrame) -> pd.DataFrame:
    """The placed replicas split over the markets they serve, in proportion to the chips
    serving each: what each (workload, market) uses, of which kind, at what cost. Chips
    held but holding no replica are idle and in no row."""
    T = pm.months
    chips = pm.lp.values("serve", x)["value"].to_numpy().reshape(len(pm.options), T)
    o, t = np.nonzero(chips > EPS)
    use = pm.options.iloc[o][["market", "point"]].assign(t=t, used=chips[o, t])
    use["share"] = use["used"] / use.groupby(["point", "t"])["used"].transform("sum")
    placed = placed.assign(part=placed["chips"] / placed.groupby(["point", "t"])[
        "chips"].transform("sum"))
    rows = placed.merge(use, on=["point", "t"])
    return rows.assign(
        month=np.array(pm.scenario.month_labels)[rows["t"]],
        chips=rows["chips"] * rows["share"], replicas=rows["replicas"] * rows["share"],
        instances=rows["chips"] * rows["share"] / rows["per_instance"],
        chips_per_replica=rows["size"], tokens_per_s=rows["used"] * rows["tp"] * rows["part"],
        cost=rows["chips"] * rows["share"] * rows["price"] * pm.scenario.hours[rows["t"]],
    ).sort_values(["month", "workload", "market", "provider", "region", "instance", "kind"],
                  kind="stable")[ASSIGNMENT_COLUMNS].reset_index(drop=True)


def deployment(pm: PlanModel, placed: pd.DataFrame, held: pd.DataFrame) -> pd.DataFrame:
    """What to deploy: per month, holder and kind, runs of instances with the same replicas
    on each (placed largest first), e.g. `8 x p5.48xlarge: 2 replicas of chat (llama-2-70b,
    4 chips, fp8)`; instances holding no replica are `idle`; a signed contract's chips are
    one pool. A fractional plan (`integer: false`) lists each kind's replicas with the
    fraction of instances they fill."""
    labels = np.array(pm.scenario.month_labels)
    held = held.assign(start=held.groupby(["holder", "t"])["chips"].cumsum() - held["chips"])
    placed = placed.assign(start=placed["first"])
    by_holding = dict(iter(placed.groupby(["holder", "t", "kind"], sort=False)))
    none = placed.iloc[:0]
    out = []
    for h in held.itertuples(index=False):
        here = by_holding.get((h.holder, h.t, h.kind), none)
        base = {"month": labels[h.t], "provider": h.provider, "region": h.region,
                "instance": h.instance, "accelerator": h.accelerator, "kind": h.kind}
        if not np.isfinite(h.per_instance) or not pm.scenario.integer:
            out += [{**base, **run} for run in _pooled(here, h.chips, h.per_instance)]
        else:
            out += [{**base, **run} for run in _instance_runs(here, h.start, h.chips,
                                                               h.per_instance)]
    return pd.DataFrame(out, columns=DEPLOYMENT_COLUMNS).sort_values(
        ["month", "provider", "region", "instance", "kind"], kind="stable", ignore_index=True)


LAYOUT = ["workload", "measured_model", "size", "precision", "replicas", "chips"]


def _layout(reps: pd.DataFrame, per_instance: float = 1.0) -> str:
    """`2 replicas of chat (llama-2-70b, 4 chips, fp8) + 1 replica of ...`: the replicas of
    `reps`, divided by `per_instance`."""
    return " + ".join(_replicas(r, per_instance)
                      for r in reps[LAYOUT].itertuples(index=False)) or "idle"


def _replicas(r, per_instance: float = 1.0) -> str:
    """`2 replicas of chat (llama-2-70b, 4 chips, fp8)`: one row of replicas."""
    n = r.replicas / per_instance
    count = f"{round(n):d}" if abs(n - round(n)) < 1e-6 else f"{n:.2f}"
    what = f"{r.measured_model}, {r.size:g} chip{'s' if r.size != 1 else ''}"
    if r.precision:
        what += f", {r.precision}"
    return f"{count} replica{'' if count == '1' else 's'} of {r.workload} ({what})"


def _pooled(reps: pd.DataFrame, chips: float, per: float) -> list[dict]:
    """A signed pool, or a fractional plan's holding: its replicas, then what is idle."""
    rows = [{"instances": r.chips / per, "chips": r.chips, "replicas": r.replicas,
             "layout": _replicas(r)} for r in reps[LAYOUT].itertuples(index=False)]
    idle = chips - reps["chips"].sum()
    if idle > 1e-6:
        rows.append({"instances": idle / per, "chips": idle, "replicas": 0.0,
                     "layout": "idle"})
    return rows


def _instance_runs(reps: pd.DataFrame, start: float, chips: float, per: float) -> list[dict]:
    """Instances of `per` chips over [start, start + chips), grouped into runs holding the
    same replicas: {instances, chips, replicas, layout}. Between two replica boundaries one
    kind of replica (or none) fills whole instances; an instance across a boundary holds
    a mix, read off the replicas that overlap it."""
    def on(lo: float, hi: float) -> pd.DataFrame:
        a = np.maximum(reps["start"], lo)
        b = np.minimum(reps["start"] + reps["chips"], hi)
        part = reps.assign(chips=b - a, replicas=(b - a) / reps["size"])
        return part[part["chips"] > 1e-9]

    count = round(chips / per)
    cuts = {round((c - start) / per * 1e6) for c in
            [*reps["start"], *(reps["start"] + reps["chips"])]}  # in 1e-6 instances
    mixed = sorted({c // 10**6 for c in cuts if c % 10**6 and c // 10**6 < count})
    edges = sorted({0, count, *mixed, *(m + 1 for m in mixed),
                    *(c // 10**6 for c in cuts if c % 10**6 == 0 and c // 10**6 <= count)})
    runs: list[dict] = []
    for a, b in itertools.pairwise(edges):
        inside = on(start + a * per, start + b * per)
        layout = _layout(inside, b - a)
        if runs and runs[-1]["layout"] == layout:
            last = runs[-1]
            last.update(instances=last["instances"] + b - a, chips=last["chips"] + (b - a) * per,
                        replicas=last["replicas"] + inside["replicas"].sum())
        else:
            runs.append({"instances": b - a, "chips": (b - a) * per,
                         "replicas": inside["replicas"].sum(), "layout": layout})
    return runs


def memory_warnings(pm: PlanModel) -> list[str]:
    """Spec section 2: a model the catalog's models.csv does not know has one-chip replicas
    (unless a row says), and every output says that its memory fit was not checked."""
    unknown = sorted(set(pm.points.loc[pm.points["needed_gb"].isna(), "workload"].map(
        {w.name: w.model for w in pm.scenario.workloads.values()})))
    return [f"warning: model {m} is not in the catalog's models.csv: its replicas are one "
            f"chip unless a throughput row gives chips_per_replica, and memory fit was not "
            f"checked" for m in unknown]
