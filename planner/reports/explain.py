"""Why the plan is what it is: binding constraints, what one more unit is worth, unmet demand.

Values are row duals of the LP of one tier (tiers.py): of the cost tier when all demand is
met (dollars saved per extra unit), of the unmet tier when demand is short (tokens/s more
served per extra unit: penalty dollars never reach a reader). For a whole-instance plan they
come from its LP relaxation, where one more chip is worth what it saves before rounding;
`Explanation.basis` says so.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from planner.model.build import FAMILIES, SITE, PlanModel
from planner.model.plan import short
from planner.model.serving import PAIR, candidates, priced_offerings, workload_rows
from planner.model.tiers import Solution

TOL = 1e-6
BINDING_COLUMNS = ["constraint", "subject", "month", "value", "unit", "meaning"]
ORDER = [f.explained_as for f in FAMILIES if f.explained_as]  # binding rows, in this order


@dataclass
class Explanation:
    binding: pd.DataFrame  # BINDING_COLUMNS, by constraint family, largest value first
    residency: pd.DataFrame  # workload, market, allowed, marginal, excluded_best, meaning
    unmet: pd.DataFrame  # workload, market, months, tokens_per_s, reason
    fit: pd.DataFrame  # workload, accelerator, instance, reason: no replica fits it
    unit: str  # "USD" (cost saved) or "tokens/s" (more demand served)
    basis: str  # "plan" (an LP plan's own duals) or "relaxation" (of a whole-instance plan)


def explain(pm: PlanModel, sol: Solution) -> Explanation:
    unmet = pm.lp.values("unmet", sol.x)["value"].to_numpy()
    is_short = short(unmet, pm.demand["tokens_per_s"].to_numpy())
    unit = "tokens/s" if is_short.any() else "USD"
    duals = sol.duals.get("unmet" if is_short.any() else "cost")
    if duals is None:
        duals = np.zeros(pm.lp.n_rows)
    binding = binding_constraints(pm, sol.x, duals, unit)
    short_pairs = set(map(tuple, pm.demand.loc[is_short, PAIR].to_numpy()))
    fit = replica_fit(pm.scenario)
    return Explanation(binding, residency_cost(pm, sol.duals.get("cost"), short_pairs),
                       unmet_reasons(pm, sol.x, binding, fit), fit, unit,
                       "relaxation" if sol.relaxed else "plan")


def replica_fit(scn) -> pd.DataFrame:
    """Instances a workload's rows cannot use because no replica of it fits them (spec
    section 4: a replica never spans instances), with the figures: `h100-sxm: llama-2-70b
    bf16 needs 168 GB with 20 % headroom -> 4 chips per replica; p5.4xlarge has 1`."""
    rows = workload_rows(scn)
    allowed = {w.name: w.accelerators for w in scn.workloads.values()}
    rows = rows[[allowed[w] is None or a in allowed[w]
                 for w, a in zip(rows["workload"], rows["accelerator"])]]
    offers = scn.catalog.offerings[["instance", "accelerator", "chips"]].drop_duplicates(
        ["instance", "accelerator"])
    pairs = rows.merge(offers, on="accelerator")
    fits = (pairs["chips"] % pairs["size"] == 0).groupby(
        [pairs["workload"], pairs["instance"]]).transform("any")
    out = pairs[~fits.to_numpy()].sort_values(["workload", "accelerator", "size", "instance"])
    out = out.drop_duplicates(["workload", "instance"])
    model = out["workload"].map({w.name: w.model for w in scn.workloads.values()})
    precision = out["precision"].replace("", "bf16 (unstated)")
    sized = np.where(
        out["given"], out["accelerator"] + ": the row measured " + out["measured_model"]
        + " on " + out["size"].astype(str) + " chips per replica",
        out["accelerator"] + ": " + model + " " + precision + " needs "
        + out["needed_gb"].map(lambda g: f"{g:,.0f}") + " GB with "
        + out["headroom"].map(lambda h: f"{h:.0%}") + " headroom -> "
        + out["size"].astype(str) + " chips per replica")
    reason = sized + "; " + out["instance"] + " has " + out["chips"].astype(str)
    return pd.DataFrame({"workload": out["workload"], "accelerator": out["accelerator"],
                         "instance": out["instance"], "reason": reason}).reset_index(drop=True)


def _rows(pm: PlanModel, name: str, duals: np.ndarray) -> pd.DataFrame:
    block = pm.lp.constraints.get(name)
    if block is None:
        return pd.DataFrame(columns=["dual", "t"])
    return block.labels.assign(dual=duals[block.ids])


def amount(value: float, unit: str) -> str:
    return f"${value:,.2f}" if unit == "USD" else f"{value:,.4g} tokens/s"


def binding_constraints(pm: PlanModel, x: np.ndarray, duals: np.ndarray,
                        unit: str = "USD") -> pd.DataFrame:
    """Every constraint with a non-zero dual, said as what one more unit is worth: dollars
    saved (unit USD) or tokens/s more served (unit tokens/s)."""
    scn, months = pm.scenario, np.array(pm.scenario.month_labels)
    gain = "saved" if unit == "USD" else "more served"
    out = []

    def add(frame: pd.DataFrame, constraint: str, subject, value, per) -> None:
        frame = frame[np.abs(frame["dual"]) > TOL]
        if len(frame):
            v = value(frame)
            out.append(pd.DataFrame({
                "constraint": constraint, "subject": subject(frame),
                "month": months[frame["t"].to_numpy()], "value": v, "unit": unit,
                "meaning": v.map(lambda a: amount(a, unit)) + f" {gain} per " + per(frame)
                + " in " + months[frame["t"]]}))

    lim = _rows(pm, "limits", duals)
    names = [" / ".join(str(getattr(li, c) or "any") for c in ("provider", "region",
                                                                "accelerator"))
             for li in scn.limits]
    add(lim, "limit", lambda f: f["limit"].map(lambda i: f"limits[{i}] {names[i]}"),
        lambda f: -f["dual"], lambda f: "extra chip of " + f["limit"].map(lambda i: names[i]))

    signed = _rows(pm, "supply", duals)
    if len(signed):
        signed = signed[pm.contract_chips[signed["holder"], signed["t"]] > 0]
        signed = signed.merge(pm.holders[SITE], left_on="holder", right_index=True)
        where = lambda f: f["accelerator"] + " in " + f["provider"] + "/" + f["region"]
        add(signed, "contract", lambda f: "signed " + where(f), lambda f: -f["dual"],
            lambda f: "extra signed chip of " + where(f))

    budget = _rows(pm, "budget", duals)
    add(budget, "budget", lambda f: pd.Series("monthly_max", index=f.index),
        lambda f: -f["dual"] * 1000, lambda f: pd.Series("extra $1,000 of budget",
                                                         index=f.index))

    # max_share: raising the cap by one point adds 1 % of the month's planned throughput
    serve = pm.lp.values("serve", x)["value"].to_numpy().reshape(len(pm.options), pm.months)
    tp = pm.options["tp"].to_numpy()[:, None]
    throughput = (serve * tp).sum(axis=0)
    share = _rows(pm, "max_share", duals)
    add(share, "max_share", lambda f: f["provider"] + " share cap",
        lambda f: -f["dual"] * throughput[f["t"]] * 0.01,
        lambda f: "extra point of " + f["provider"] + "'s share")

    spot = _rows(pm, "spot", duals)
    per_w = pd.DataFrame(serve * tp).groupby(pm.options["workload"].to_numpy()).sum()
    add(spot, "spot", lambda f: f["workload"] + " spot share",
        lambda f: -f["dual"] * per_w.to_numpy()[per_w.index.get_indexer(f["workload"]),
                                                f["t"]] * 0.01,
        lambda f: "extra point of spot for " + f["workload"])

    res = _rows(pm, "resilience", duals)
    add(res, "resilience", lambda f: f["workload"] + "/" + f["market"] + " without " +
        f["site"], lambda f: -f["dual"],
        lambda f: "token/s less that must survive losing " + f["site"] + " (" +
        f["workload"] + "/" + f["market"] + ")")

    if not out:
        return pd.DataFrame(columns=BINDING_COLUMNS)
    table = pd.concat(out, ignore_index=True)
    table["rank"] = table["constraint"].map(ORDER.index)
    table["size"] = -table["value"].abs()
    return table.sort_values(["rank", "size"]).drop(columns=["rank", "size"]
                                                    ).reset_index(drop=True)


def residency_cost(pm: PlanModel, duals: np.ndarray | None,
                   short: set[tuple[str, str]] = frozenset()) -> pd.DataFrame:
    """For each market held to its jurisdictions: what a token/s-month costs there at the
    margin (none where demand is short: more is not to be had), and what the cheapest
    excluded region would cost on-demand."""
    scn = pm.scenario
    demand = _rows(pm, "demand", duals if duals is not None else np.zeros(pm.lp.n_rows))
    offers = priced_offerings(scn)
    cand = candidates(scn, offers[SITE])
    util = {w.name: w.utilization for w in scn.workloads.values()}
    rows = []
    for w in scn.workloads.values():
        for m, allowed in w.residency.items():
            mine = demand[(demand["workload"] == w.name) & (demand["market"] == m)]
            if mine.empty:
                continue
            marginal = float(mine["dual"].mean()) if (w.name, m) not in short else np.nan
            inside = (f"${marginal:,.2f} per token/s-month inside " if (w.name, m) not in short
                      else "demand is short (unmet) inside ")
            out = cand[(cand["workload"] == w.name) & (cand["market"] == m)
                       & cand["listed"] & ~cand["resident"] & cand["tp"].notna()]
            out = out.merge(offers[[*SITE, "on-demand"]], on=SITE)
            best, meaning = np.nan, "no excluded region could serve it either"
            if len(out):
                month_cost = out["on-demand"] * scn.hours.mean() / (out["tp"] * util[w.name])
                i = int(np.argmin(month_cost.to_numpy()))
                best = float(month_cost.iloc[i])
                meaning = (f"{inside}{', '.join(sorted(allowed))}; "
                           f"{out['provider'].iloc[i]}/{out['region'].iloc[i]} outside would "
                           f"cost ${best:,.2f} per token/s-month on-demand")
            rows.append({"workload": w.name, "market": m, "allowed": ", ".join(sorted(allowed)),
                         "marginal": marginal, "excluded_best": best, "meaning": meaning})
    return pd.DataFrame(rows, columns=["workload", "market", "allowed", "marginal",
                                       "excluded_best", "meaning"])


def unmet_reasons(pm: PlanModel, x: np.ndarray, binding: pd.DataFrame,
                  fit: pd.DataFrame) -> pd.DataFrame:
    """Each (workload, market) left short: how much, when, and what stood in the way."""
    scn = pm.scenario
    unmet = pm.lp.values("unmet", x)
    d = pm.demand.assign(unmet=unmet["value"].to_numpy())
    d = d[short(d["unmet"].to_numpy(), d["tokens_per_s"].to_numpy())]
    if d.empty:
        return pd.DataFrame(columns=["workload", "market", "months", "tokens_per_s", "reason"])
    cand = candidates(scn, pd.concat([pm.holders[SITE], priced_offerings(scn)[SITE]]))
    months = np.array(scn.month_labels)
    rows = []
    for (w, m), gone in d.groupby(PAIR, sort=False):
        mine = cand[(cand["workload"] == w) & (cand["market"] == m)]
        rows.append({"workload": w, "market": m,
                     "months": f"{months[gone['t'].min()]}..{months[gone['t'].max()]}",
                     "tokens_per_s": float(gone["unmet"].max()),
                     "reason": _why(scn.workloads[w], m, mine, binding, fit,
                                    served=(pm.options["workload"] == w).any(),
                                    rows=scn.catalog.throughput)})
    return pd.DataFrame(rows)


def _why(w, market: str, cand: pd.DataFrame, binding: pd.DataFrame, fit: pd.DataFrame,
         served: bool, rows: pd.DataFrame) -> str:
    listed = cand[cand["listed"]]
    resident = listed[listed["resident"]]
    fast = resident[resident["tp"].notna()]
    if listed.empty:
        return "the workload's provider/accelerator allow-lists admit no offering"
    if resident.empty:
        return (f"residency ({', '.join(sorted(w.residency.get(market, [])))}) admits none of the "
                f"{len(listed)} allowed sites")
    if fast.empty:
        rows = rows[rows["model"].isin(w.row_models)]
        if rows.empty:
            return f"no throughput row of {', '.join(w.row_models)} in the catalog"
        ttft, tpot = rows.loc[rows["ttft_ms"].idxmin()], rows.loc[rows["tpot_ms"].idxmin()]
        best = (f"best measured: ttft {ttft['ttft_ms']:g} ms ({ttft['accelerator']}), tpot "
                f"{tpot['tpot_ms']:g} ms ({tpot['accelerator']})")
        if ((rows["ttft_ms"] <= w.ttft_ms) & (rows["tpot_ms"] <= w.tpot_ms)).any():
            return (f"no admitted site meets the SLO (ttft {w.ttft_ms:g} ms including the "
                    f"round trip, tpot {w.tpot_ms:g} ms) for {w.model}: the nearest of the "
                    f"{len(resident)} admitted sites is {resident['rtt_ms'].min():.0f} ms "
                    f"away, or its rows are measured otherwise (percentile, precision, "
                    f"request shape); {best}")
        return (f"no throughput row of {', '.join(w.row_models)} meets ttft {w.ttft_ms:g} ms "
                f"and tpot {w.tpot_ms:g} ms anywhere; {best}")
    if not served:
        fits = fit.loc[fit["workload"] == w.name, "reason"]
        return ("no instance holds a replica (a replica never spans instances): "
                + "; ".join(fits.head(3)) if len(fits) else "no instance holds a replica")
    mine = binding[binding["constraint"].isin(["limit", "budget", "max_share", "contract"])
                   | binding["subject"].str.startswith(f"{w.name}/{market} ")]
    if mine.empty:
        return f"{len(fast)} site(s) can serve it; no single constraint stands out"
    names = mine.groupby(["constraint", "subject"], sort=False).size().index
    return "binding: " + "; ".join(f"{c} {s}" for c, s in names[:4])

