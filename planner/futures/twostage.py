"""Two-stage plans across futures (spec section 7).

First stage, the same in every future: the commitments bought (every term, every purchase
month). Second stage, per future f: on-demand and spot, serving, unmet and unprotected
demand, with every constraint of section 4 in every future. The extensive form stacks one
model per future (planner.model.build, demand scaled by the future's multipliers) and ties their
commitment columns together:
    buy_commit[f] = buy_commit[0]                    for every future f
Tiers, as in section 4, on expectations (tiers.py solves it like any model):
    (1) sum_f p_f unmet_f   (2) sum_f p_f unprotected_f
    (3) (1 - w) sum_f p_f cost_f + w CVaR_alpha(cost_f), by Rockafellar-Uryasev:
        CVaR = eta + 1 / (1 - alpha) sum_f p_f s_f,   s_f >= cost_f - eta,   s_f >= 0
    (4) sum_f p_f round trips
cost_f counts commitments, signed contracts (a constant, added back in reports) and future
f's purchases. Blocks for the month-by-month search are (future, month) - or whole futures
when CVaR ties a future's months together through s_f.
"""

from __future__ import annotations

import dataclasses
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from planner.futures.decompose import NotDecomposable, benders, future_plan
from planner.model.build import PlanModel, build_model
from planner.model.linear import LinearModel
from planner.model.plan import UNPROVEN, Plan, inputs_fingerprint, make_plan
from planner.model.solver import DEFAULT_OPTIONS, INF, SolveOptions, SolverFailed
from planner.model.tiers import PROVEN, Solution, solve_tiers
from planner.scenario.read import Scenario
from planner.scenario.uncertainty import future_scenario


@dataclass
class TwoStage:
    """The extensive form: one PlanModel per future, stacked, commitments shared."""

    scenario: Scenario
    models: list[PlanModel]
    lp: LinearModel
    cols: list[int]  # first column of each future's variables
    rows: list[int]  # first row of each future's constraints
    cvar: tuple[int, np.ndarray] | None = None  # (eta column, s columns)

    @property
    def probability(self) -> np.ndarray:
        return self.scenario.futures.probability

    def _place(self, part: Callable[[PlanModel], np.ndarray], weighted: bool) -> np.ndarray:
        out = np.zeros(self.lp.n_cols)
        for f, pm in enumerate(self.models):
            out[self.cols[f]:self.cols[f] + pm.lp.n_cols] = part(pm) * (
                self.probability[f] if weighted else 1.0)
        return out

    def objective(self, tier: str) -> np.ndarray:
        c = self._place(lambda pm: pm.objective(tier), weighted=True)
        if tier == "cost" and self.cvar is not None:
            fut = self.scenario.futures
            eta, s = self.cvar
            c *= 1 - fut.cvar_weight
            c[eta] += fut.cvar_weight
            c[s] += fut.cvar_weight * self.probability / (1 - fut.alpha)
        return c

    def _ids(self, ids: Callable[[PlanModel], np.ndarray]) -> np.ndarray:
        return np.concatenate([self.cols[f] + ids(pm) for f, pm in enumerate(self.models)])

    @property
    def buy_ids(self) -> np.ndarray:
        return self._ids(lambda pm: pm.buy_ids)

    @property
    def paid_cost(self) -> float:
        """Signed contracts, in every future's cost (USD, expected)."""
        return float(self.probability @ [pm.paid_cost for pm in self.models])

    @property
    def rep_ids(self) -> np.ndarray:
        return self._ids(lambda pm: pm.rep_ids)

    @property
    def whole_ids(self) -> np.ndarray:
        return np.concatenate([self.buy_ids, self.rep_ids])

    @property
    def commitment_ids(self) -> np.ndarray:
        return self._ids(lambda pm: pm.commitment_ids)

    def capped_rows(self) -> np.ndarray:
        return np.concatenate([self.rows[f] + pm.capped_rows()
                               for f, pm in enumerate(self.models)])

    def implied_rows(self) -> np.ndarray:
        return np.concatenate([self.rows[f] + pm.implied_rows()
                               for f, pm in enumerate(self.models)])

    def column_blocks(self) -> tuple[np.ndarray, list[str]]:
        names = self.scenario.futures.names
        block = np.full(self.lp.n_cols, -1)
        labels: list[str] = []
        for f, pm in enumerate(self.models):
            month, months = pm.column_blocks()
            mine = slice(self.cols[f], self.cols[f] + pm.lp.n_cols)
            if self.cvar is None:
                block[mine] = np.where(month >= 0, month + len(labels), -1)
                labels += [f"{names[f]} {m}" for m in months]
            else:
                block[mine] = np.where(month >= 0, f, -1)
                labels.append(names[f])
        if self.cvar is not None:
            block[self.cvar[1]] = np.arange(len(self.models))
        return block, labels

    def relaxation(self) -> None:
        return None  # no monthly bound across futures: the LP and MILP bounds stand

    def split(self, sol: Solution) -> list[Solution]:
        """One Solution per future: its columns and its rows' duals."""
        out = []
        for f, pm in enumerate(self.models):
            cols = slice(self.cols[f], self.cols[f] + pm.lp.n_cols)
            rows = slice(self.rows[f], self.rows[f] + pm.lp.n_rows)
            duals = {t: d[rows] for t, d in sol.duals.items() if d is not None}
            out.append(dataclasses.replace(sol, x=sol.x[cols], duals=duals))
        return out


def build_two_stage(scn: Scenario) -> TwoStage:
    fut = scn.futures
    models = [build_model(future_scenario(scn, f)) for f in range(len(fut))]
    lp, cols, rows = LinearModel(), [], []
    for name, pm in zip(fut.names, models):
        c, r = lp.append(pm.lp, name)
        cols.append(c)
        rows.append(r)
    commit = models[0].commitment_ids
    if len(commit) and len(models) > 1:  # the same commitments in every future
        f = np.repeat(np.arange(1, len(models)), len(commit))
        k = np.tile(np.arange(len(commit)), len(models) - 1)
        row = np.arange(len(f))
        lp.add_constraints(
            "same_commitments", pd.DataFrame({"future": np.array(fut.names)[f], "k": k}),
            np.concatenate([row, row]),
            np.concatenate([np.asarray(cols)[f] + commit[k], cols[0] + commit[k]]),
            np.concatenate([np.ones(len(f)), -np.ones(len(f))]), lower=0.0, upper=0.0)
    ts = TwoStage(scn, models, lp, cols, rows)
    if fut.cvar_weight > 0:
        ts.cvar = _define_cvar(ts)
    return ts


def _define_cvar(ts: TwoStage) -> tuple[int, np.ndarray]:
    """s_f + eta - cost_f >= 0: the excess of each future's cost over the threshold eta."""
    names = ts.scenario.futures.names
    lp = ts.lp
    cost = ts._place(lambda pm: pm.objective("cost"), weighted=False)
    eta = int(lp.add_variables("cvar_threshold", pd.DataFrame({"k": [0]}), cost=0.0)[0])
    s = lp.add_variables("cvar_excess", pd.DataFrame({"future": list(names)}), cost=0.0)
    rows, cols, coefs = [], [], []
    for f, pm in enumerate(ts.models):
        mine = np.flatnonzero(cost[ts.cols[f]:ts.cols[f] + pm.lp.n_cols]) + ts.cols[f]
        rows += [np.full(len(mine) + 2, f)]
        cols += [mine, [s[f], eta]]
        coefs += [-cost[mine], [1.0, 1.0]]
    lp.add_constraints("cvar", pd.DataFrame({"future": list(names)}), np.concatenate(rows),
                       np.concatenate(cols), np.concatenate(coefs), lower=0.0)
    return eta, s


@dataclass(frozen=True)
class Bounded:
    """A difference of expected costs (VSS, EVPI) whose plans may not all be proven: the
    interval the plans' costs and proven bounds allow (never below zero, as the true value
    is not), and the difference of the plans found (`value`) only when every plan behind
    it is proven and it lies in that interval."""

    low: float
    high: float
    value: float | None

    @classmethod
    def of(cls, more: tuple[float, float, bool], less: tuple[float, float, bool]) -> Bounded:
        """`more` - `less`, each (cost found, proven lower bound, proven)."""
        low, high = max(more[1] - less[0], 0.0), more[0] - less[1]
        point = more[0] - less[0]
        proven = more[2] and less[2] and low - 1e-6 <= point
        return cls(low, max(high, low), point if proven else None)


@dataclass
class FuturesPlan:
    """A plan across futures: the commitments to sign, and each future's plan under them."""

    scenario: Scenario
    status: str
    plans: list[Plan]
    solver: dict
    vss: Bounded | None = None
    evpi: Bounded | None = None
    extra: dict = field(default_factory=dict)

    @property
    def probability(self) -> np.ndarray:
        return self.scenario.futures.probability

    def futures(self) -> pd.DataFrame:
        """One row per future: probability, total cost, unmet and unprotected."""
        return pd.DataFrame({
            "future": list(self.scenario.futures.names), "probability": self.probability,
            "total_cost": [p.total_cost for p in self.plans],
            "unmet": [float(p.unmet["tokens_per_s"].sum()) for p in self.plans],
            "unprotected": [float(p.unprotected["tokens_per_s"].sum()) for p in self.plans]})

    @property
    def total_cost(self) -> float:
        """The expected total cost (what `plan solve` reports as total_cost)."""
        return self.expected_cost

    @property
    def expected_cost(self) -> float:
        return float(self.probability @ self.futures()["total_cost"])

    def quantile(self, q: float) -> float:
        """The cost below which the futures of total probability q fall (weighted)."""
        table = self.futures().sort_values("total_cost")
        reached = table["probability"].cumsum().to_numpy()
        return float(table["total_cost"].to_numpy()[np.searchsorted(reached, q - 1e-12)])

    @property
    def cvar(self) -> float:
        """CVaR_alpha: the expected cost of the worst 1 - alpha of probability."""
        alpha = self.scenario.futures.alpha
        table = self.futures().sort_values("total_cost", ascending=False)
        tail, left = 0.0, 1 - alpha
        for cost, p in zip(table["total_cost"], table["probability"]):
            take = min(p, left)
            tail, left = tail + take * cost, left - take
            if left <= 1e-12:
                break
        return tail / (1 - alpha) if alpha < 1 else float(table["total_cost"].max())

    @property
    def shortfall(self) -> str | None:
        if any(len(p.unmet) for p in self.plans):
            return "unmet"
        return "unprotected" if any(len(p.unprotected) for p in self.plans) else None

    def commitments(self) -> pd.DataFrame:
        bought = self.plans[0].purchases
        return bought[bought["kind"].str.startswith("commit")].reset_index(drop=True)

    def flexible(self) -> pd.DataFrame:
        """What each future buys on demand or on spot, per month: future, provider, region,
        instance, accelerator, kind, month, instances, chips, cost."""
        frames = [p.purchases[~p.purchases["kind"].str.startswith("commit")].assign(future=name)
                  for name, p in zip(self.scenario.futures.names, self.plans)]
        table = pd.concat(frames, ignore_index=True).rename(columns={"start": "month"})
        return table[["future", "provider", "region", "instance", "accelerator", "kind",
                      "month", "instances", "chips", "total_cost"]].rename(
            columns={"total_cost": "cost"})

    def cost_by_month(self) -> pd.DataFrame:
        """future x month: cost inside the horizon."""
        return pd.DataFrame({name: p.cost_by_month for name, p in
                             zip(self.scenario.futures.names, self.plans)}).T

    def summary(self) -> pd.DataFrame:
        rows = [("expected cost", self.expected_cost, "USD"),
                ("P10 cost", self.quantile(0.1), "USD"), ("P50 cost", self.quantile(0.5), "USD"),
                ("P90 cost", self.quantile(0.9), "USD"),
                ((f"CVaR {self.scenario.futures.alpha:.0%} (mean of the worst "
                 f"{1 - self.scenario.futures.alpha:.0%})"), self.cvar, "USD"),
                *self._bounded("value of the stochastic solution (VSS)", self.vss),
                *self._bounded("expected value of perfect information (EVPI)", self.evpi),
                ("commitments signed (total cost)", float(self.commitments()["total_cost"].sum()),
                 "USD")]
        return pd.DataFrame(rows, columns=["item", "value", "unit"])

    @staticmethod
    def _bounded(name: str, what: Bounded | None) -> list[tuple]:
        """The value when its plans are proven, else the interval their bounds prove."""
        if what is None or what.value is not None:
            return [(name, None if what is None else what.value, "USD")]
        return [(f"{name}, at least", what.low, "USD"), (f"{name}, at most", what.high, "USD")]

    def to_dict(self) -> dict:
        futures = self.futures()
        by_month = self.cost_by_month().rename_axis("future").reset_index().melt(
            id_vars="future", var_name="month", value_name="cost")
        names = self.scenario.futures.names

        def rows(table: str) -> list[dict]:
            frames = [getattr(p, table).assign(future=name) for name, p in zip(names, self.plans)]
            return json.loads(pd.concat(frames, ignore_index=True).to_json(orient="records"))

        expected = (self.cost_by_month().T @ self.probability).to_dict()
        return {"scenario": self.scenario.name, "status": self.status,
                "catalog": str(self.scenario.catalog.path),
                "expected_cost": self.expected_cost, "total_cost": self.expected_cost,
                "cost_by_month": expected,
                "demand_total": float(self.probability @ [p.demand_total for p in self.plans]),
                "unmet_total": float(self.probability @ futures["unmet"]),
                "unprotected_total": float(self.probability @ futures["unprotected"]),
                "cost_per_million_tokens": float(self.probability @ [
                    p.cost_per_million_tokens for p in self.plans]),
                "purchases": json.loads(self.commitments().to_json(orient="records")),
                "unmet": rows("unmet"), "unprotected": rows("unprotected"),
                "cvar": self.cvar,
                **{f"{name}{part}": getattr(what, key) if what is not None else None
                   for name, what in (("vss", self.vss), ("evpi", self.evpi))
                   for part, key in (("", "value"), ("_low", "low"), ("_high", "high"))},
                "p10": self.quantile(0.1), "p50": self.quantile(0.5),
                "p90": self.quantile(0.9),
                "commitments": self.commitments().to_dict(orient="records"),
                "flexible": json.loads(self.flexible().to_json(orient="records")),
                "futures": futures.to_dict(orient="records"),
                "cost_by_future_and_month": by_month.to_dict(orient="records"),
                "solver": self.solver,
                "fingerprint": inputs_fingerprint(self.scenario, self.solver.get("name", ""))}


DECOMPOSE_ABOVE = 8  # futures: more are decomposed by future (decompose.py)


def solve_futures(scn: Scenario, options: SolveOptions = DEFAULT_OPTIONS, progress=None,
                  run_map: Callable = map, values: bool = True,
                  decompose: bool | None = None) -> FuturesPlan:
    """The two-stage plan, and with `values` the VSS and EVPI (2 x futures + 1 more solves).
    Many futures (or `decompose`) are solved by L-shaped cuts with each future's solves
    handed to `run_map` (an executor's map); few as one extensive form."""
    started = time.perf_counter()
    gap = options.gap
    contracts = float(build_model(future_scenario(scn, 0)).contract_cost.sum())
    plans, info = None, {}
    if decompose or (decompose is None and len(scn.futures) > DECOMPOSE_ABOVE):
        try:
            plans, info = _decomposed(scn, run_map, options)
        except NotDecomposable as why:
            info = {"decomposition": f"not used: {why}"}
    hindsight = None
    if plans is None:
        ts = build_two_stage(scn)
        floor = -INF
        if scn.integer and scn.futures.cvar_weight == 0:  # the whole search stops on it
            hindsight = _hindsight(scn, _left(options, started), run_map)
            floor = float(scn.futures.probability @ hindsight[:, 1]) - contracts
        sol = solve_tiers(ts, **_left(options, started).kw(), progress=progress,
                          floor=floor)
        plans = [make_plan(pm, s) for pm, s in zip(ts.models, ts.split(sol))]
        info = {"name": sol.solver, "seconds": round(sol.seconds, 3), "gap": sol.gap,
                "bound": sol.bound + contracts, "proven": sol.status == "optimal",
                "stopped": sol.status,
                "variables": ts.lp.n_cols, "constraints": ts.lp.n_rows, **info}
    else:
        info["bound"] += contracts
    expected = float(scn.futures.probability @ [p.total_cost for p in plans])
    info["gap"] = max(expected - info["bound"], 0.0) / expected if expected > 0 else 0.0
    proven = info.pop("proven") and info["gap"] <= (gap if gap is not None else PROVEN)
    if not np.isfinite(info["bound"]):  # no bound proven: JSON has no infinity
        info["bound"], info["gap"] = None, None
    stopped = info.pop("stopped", "not_proven")
    status = (stopped if stopped in UNPROVEN else "not_proven") if not proven else \
        "unmet_demand" if any(len(p.unmet) for p in plans) else \
        "unprotected" if any(len(p.unprotected) for p in plans) else "optimal"
    result = FuturesPlan(scn, status, plans, {**info, "futures": len(plans)})
    if values:
        result.vss, result.evpi = _values(scn, result, _left(options, started), run_map, gap,
                                          hindsight)
    return result


def _left(options: SolveOptions, started: float) -> SolveOptions:
    """`options` with what is left of its time limit since `started`."""
    if options.time_limit is None:
        return options
    return options.within(options.time_limit - (time.perf_counter() - started))


def _decomposed(scn: Scenario, run_map, options: SolveOptions) -> tuple[list[Plan], dict]:
    """L-shaped cuts for the LP, then each future with the (whole-instance) commitments."""
    started = time.perf_counter()
    y, lower, _, figures = benders(scn, run_map, options)
    if scn.integer:
        y = np.round(y)
    jobs = _jobs(scn, y, _left(options, started))
    try:
        plans = list(run_map(future_plan, jobs))
    except SolverFailed:  # the rounded commitments break a limit or the budget
        raise NotDecomposable("whole commitments rounded from the cuts break a limit or "
                              "the budget") from None
    name = plans[0].solver["name"]
    stopped = figures.pop("stopped") or any(p.status in UNPROVEN for p in plans)
    return plans, {"name": f"{name}, L-shaped by future", "seconds": figures["seconds"],
                   "bound": lower, "proven": not stopped,
                   "stopped": "time_limit" if options.time_limit is not None else "not_proven",
                   **figures}


def _jobs(scn: Scenario, commit: np.ndarray | None, options: SolveOptions) -> list[tuple]:
    """One solve of every future, its commitments free (None) or held at `commit`."""
    return [(scn, f, commit, options) for f in range(len(scn.futures))]


def _hindsight(scn: Scenario, options: SolveOptions, run_map) -> np.ndarray:
    """Each future solved alone, known in advance: (cost, bound, proven) per future."""
    return np.array(list(run_map(future_cost, _jobs(scn, None, options))))


def _values(scn: Scenario, plan: FuturesPlan, options: SolveOptions, run_map,
            gap: float | None = None, hindsight: np.ndarray | None = None) -> tuple[
        Bounded, Bounded]:
    """VSS = E[cost with the expected-demand plan's commitments] - E[cost of this plan];
    EVPI = E[cost of this plan] - E[cost with each future known in advance]; each as the
    interval the plans' proven bounds give (a plan not proven makes it wider). Knowing
    each future in advance costs no more, so its expected bound bounds `plan` too (each
    future alone has the monthly-commitment bound, the futures together do not): `plan`'s
    bound, gap and status are tightened by it when expected cost is the objective (no CVaR)
    and nothing is unmet or unprotected (tiers 1-2 at zero in every future, their least)."""
    ev = build_model(future_scenario(scn, None))
    commit = ev.commitment_ids
    ev_commit = solve_tiers(ev, **options.kw(), tie_break=False).x[commit] if len(commit) \
        else np.zeros(0)
    jobs = _jobs(scn, ev_commit, options)
    if hindsight is None:  # in the same map, so that the workers share all of them
        jobs = _jobs(scn, None, options) + jobs
    found = np.array(list(run_map(future_cost, jobs)))  # cost, bound, proven per solve
    hindsight, with_ev = np.split(found, 2) if hindsight is None else (hindsight, found)
    p = scn.futures.probability

    def expected(rows: np.ndarray) -> tuple[float, float, bool]:
        return float(p @ rows[:, 0]), float(p @ rows[:, 1]), bool(rows[:, 2].all())

    _tighten(plan, expected(hindsight)[1], gap)
    bound = plan.solver.get("bound")
    this = (plan.expected_cost, -INF if bound is None else bound,
            plan.status not in UNPROVEN)
    return Bounded.of(expected(with_ev), this), Bounded.of(this, expected(hindsight))


def _tighten(plan: FuturesPlan, bound: float, gap: float | None) -> None:
    """`plan`'s bound raised to `bound` (see `_values` for when that holds)."""
    unsettled = any(len(p.unmet) or len(p.unprotected) for p in plan.plans)
    now = plan.solver.get("bound")
    if plan.scenario.futures.cvar_weight > 0 or unsettled or not np.isfinite(bound) or \
            (now is not None and now >= bound):
        return
    cost = plan.expected_cost
    plan.solver["bound"] = min(bound, cost)
    plan.solver["gap"] = max(cost - plan.solver["bound"], 0.0) / cost if cost > 0 else 0.0
    if plan.status in UNPROVEN and plan.solver["gap"] <= (gap if gap is not None else PROVEN):
        plan.status = "optimal"


def future_cost(job) -> tuple[float, float, bool]:
    """One future solved alone, its commitments free or held at `commit`: (total cost, its
    proven lower bound, proven). Only its cost is wanted: no nearest-region tie-break."""
    scn, f, commit, options = job
    pm = build_model(future_scenario(scn, f))
    fix = (pm.commitment_ids, commit) if commit is not None else None
    plan = make_plan(pm, solve_tiers(pm, **options.kw(), fix=fix, tie_break=False))
    bound = plan.solver["bound"]
    return (plan.total_cost, -INF if bound is None else bound,
            float(plan.status not in UNPROVEN))
