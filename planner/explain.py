"""Why the plan is what it is: binding constraints, their shadow prices, and unmet demand.

Shadow prices are row duals of the LP (for a plan in whole instances: of its LP
relaxation, where one more chip of a limit is worth what it saves before rounding). A dual is d(objective)/d(right-hand side); the objective
is cost plus 1e6 $ per token/s-month left unmet, so where demand is short the prices carry
that penalty.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from planner.model import SITE, PlanModel
from planner.report import UNMET_TOL
from planner.serving import PAIR, candidates, priced_offerings
from planner.solver import Solution, relaxation

TOL = 1e-6
BINDING_COLUMNS = ["constraint", "subject", "month", "shadow_price", "meaning"]


@dataclass
class Explanation:
    binding: pd.DataFrame  # BINDING_COLUMNS, largest effect first
    residency: pd.DataFrame  # workload, market, allowed, marginal, excluded_best, meaning
    unmet: pd.DataFrame  # workload, market, months, tokens_per_s, reason


def explain(pm: PlanModel, sol: Solution) -> Explanation:
    lp = sol if sol.duals is not None else relaxation(pm.lp)
    binding = binding_constraints(pm, lp.x, lp.duals)
    return Explanation(binding, residency_cost(pm, lp.duals),
                       unmet_reasons(pm, sol.x, binding))


def _rows(pm: PlanModel, name: str, duals: np.ndarray) -> pd.DataFrame:
    block = pm.lp.constraints.get(name)
    if block is None:
        return pd.DataFrame(columns=["dual", "t"])
    return block.labels.assign(dual=duals[block.ids])


def binding_constraints(pm: PlanModel, x: np.ndarray, duals: np.ndarray) -> pd.DataFrame:
    """Every constraint with a non-zero shadow price, said as what one more unit is worth."""
    scn, months = pm.scenario, np.array(pm.scenario.month_labels)
    out = []

    def add(frame: pd.DataFrame, constraint: str, subject, value, meaning) -> None:
        frame = frame[np.abs(frame["dual"]) > TOL]
        if len(frame):
            out.append(pd.DataFrame({
                "constraint": constraint, "subject": subject(frame),
                "month": months[frame["t"].to_numpy()], "shadow_price": value(frame),
                "meaning": meaning(frame)}))

    def usd(v: pd.Series) -> pd.Series:
        return v.map(lambda a: f"${a:,.2f}")

    lim = _rows(pm, "limits", duals)
    names = [" / ".join(str(getattr(li, c) or "any") for c in ("provider", "region",
                                                                "accelerator"))
             for li in scn.limits]
    subject = (lambda f: f["limit"].map(lambda i: f"limits[{i}] {names[i]}"))
    add(lim, "limit", subject, lambda f: -f["dual"],
        lambda f: usd(-f["dual"]) + " saved per extra chip of " +
        f["limit"].map(lambda i: names[i]) + " in " + months[f["t"]])

    # max_share: raising the cap by one point adds 1 % of the month's planned throughput
    serve = pm.lp.values("serve", x)["value"].to_numpy().reshape(len(pm.options), pm.months)
    throughput = (serve * pm.options["tp"].to_numpy()[:, None]).sum(axis=0)
    share = _rows(pm, "max_share", duals)
    per_point = lambda f: -f["dual"] * throughput[f["t"]] * 0.01
    add(share, "max_share", lambda f: f["provider"] + " share cap", per_point,
        lambda f: usd(per_point(f)) + " saved per extra point of " + f["provider"] +
        "'s share in " + months[f["t"]])

    budget = _rows(pm, "budget", duals)
    add(budget, "budget", lambda f: pd.Series("monthly_max", index=f.index),
        lambda f: -f["dual"], lambda f: usd(-f["dual"]) + " of objective per extra $1 of "
        "budget in " + months[f["t"]])

    res = _rows(pm, "resilience", duals)
    add(res, "resilience", lambda f: f["workload"] + "/" + f["market"] + " without " +
        f["site"], lambda f: f["dual"],
        lambda f: usd(f["dual"]) + " per token/s that must survive losing " + f["site"] +
        " (" + f["workload"] + "/" + f["market"] + ", " + months[f["t"]] + ")")

    spot = _rows(pm, "spot", duals)
    chips_w = pd.DataFrame(serve).groupby(pm.options["workload"].to_numpy()).sum()
    spot_value = lambda f: -f["dual"] * chips_w.to_numpy()[
        chips_w.index.get_indexer(f["workload"]), f["t"]] * 0.01
    add(spot, "spot", lambda f: f["workload"] + " spot share", spot_value,
        lambda f: usd(spot_value(f)) + " saved per extra point of spot for " +
        f["workload"] + " in " + months[f["t"]])

    supply = _rows(pm, "supply", duals)
    if len(supply):
        signed = pm.contract_chips[supply["pool"], supply["t"]] > 0
        supply = supply[signed].merge(pm.pools[SITE], left_on="pool", right_index=True)
        where = lambda f: f["accelerator"] + " in " + f["provider"] + "/" + f["region"]
        add(supply, "contract", lambda f: "signed " + where(f), lambda f: -f["dual"],
            lambda f: usd(-f["dual"]) + " saved per extra signed chip of " + where(f) +
            " in " + months[f["t"]])

    if not out:
        return pd.DataFrame(columns=BINDING_COLUMNS)
    table = pd.concat(out, ignore_index=True)
    return table.reindex(table["shadow_price"].abs().sort_values(ascending=False).index
                         ).reset_index(drop=True)


def residency_cost(pm: PlanModel, duals: np.ndarray) -> pd.DataFrame:
    """For each market held to its jurisdictions: what a token/s-month costs there at the
    margin, and what the cheapest excluded region would cost on-demand."""
    scn = pm.scenario
    demand = _rows(pm, "demand", duals)
    offers = priced_offerings(scn)
    cand = candidates(scn, offers[SITE])
    util = {w.name: w.utilization for w in scn.workloads.values()}
    rows = []
    for w in scn.workloads.values():
        for m, allowed in w.residency.items():
            mine = demand[(demand["workload"] == w.name) & (demand["market"] == m)]
            if mine.empty:
                continue
            marginal = float(mine["dual"].mean())
            out = cand[(cand["workload"] == w.name) & (cand["market"] == m)
                       & cand["listed"] & ~cand["resident"] & cand["tp"].notna()]
            out = out.merge(offers[[*SITE, "on-demand"]], on=SITE)
            best, meaning = np.nan, "no excluded region could serve it either"
            if len(out):
                month_cost = out["on-demand"] * scn.hours.mean() / (out["tp"] * util[w.name])
                i = int(np.argmin(month_cost.to_numpy()))
                best = float(month_cost.iloc[i])
                meaning = (f"${marginal:,.2f} per token/s-month inside {sorted(allowed)}; "
                           f"{out['provider'].iloc[i]}/{out['region'].iloc[i]} outside would "
                           f"cost ${best:,.2f} on-demand")
            rows.append({"workload": w.name, "market": m, "allowed": ", ".join(sorted(allowed)),
                         "marginal": marginal, "excluded_best": best, "meaning": meaning})
    return pd.DataFrame(rows, columns=["workload", "market", "allowed", "marginal",
                                       "excluded_best", "meaning"])


def unmet_reasons(pm: PlanModel, x: np.ndarray, binding: pd.DataFrame) -> pd.DataFrame:
    """Each (workload, market) left short: how much, when, and what stood in the way."""
    scn = pm.scenario
    unmet = pm.lp.values("unmet", x)
    d = pm.demand.assign(unmet=unmet["value"].to_numpy())
    d = d[d["unmet"] > UNMET_TOL]
    if d.empty:
        return pd.DataFrame(columns=["workload", "market", "months", "tokens_per_s", "reason"])
    cand = candidates(scn, pd.concat([pm.pools[SITE], priced_offerings(scn)[SITE]]))
    months = np.array(scn.month_labels)
    rows = []
    for (w, m), short in d.groupby(PAIR, sort=False):
        mine = cand[(cand["workload"] == w) & (cand["market"] == m)]
        rows.append({"workload": w, "market": m,
                     "months": f"{months[short['t'].min()]}..{months[short['t'].max()]}",
                     "tokens_per_s": float(short["unmet"].max()),
                     "reason": _why(scn.workloads[w], m, mine, binding)})
    return pd.DataFrame(rows)


def _why(w, market: str, cand: pd.DataFrame, binding: pd.DataFrame) -> str:
    listed = cand[cand["listed"]]
    resident = listed[listed["resident"]]
    fast = resident[resident["tp"].notna()]
    if listed.empty:
        return "the workload's provider/accelerator allow-lists admit no offering"
    if resident.empty:
        return (f"residency {sorted(w.residency.get(market, []))} admits none of the "
                f"{len(listed)} allowed sites")
    if fast.empty:
        near = resident["rtt_ms"].min()
        return (f"no site meets the SLO (ttft {w.ttft_ms:g} ms incl. round trip, tpot "
                f"{w.tpot_ms:g} ms) for {w.model}: the nearest admitted region is "
                f"{near:.0f} ms away; {len(resident)} sites admitted")
    mine = binding[binding["constraint"].isin(["limit", "budget", "max_share", "contract"])
                   | binding["subject"].str.startswith(f"{w.name}/{market} ")]
    if mine.empty:
        return f"{len(fast)} site(s) can serve it; no single constraint stands out"
    names = mine.groupby(["constraint", "subject"], sort=False).size().index
    return "binding: " + "; ".join(f"{c} {s}" for c, s in names[:4])

